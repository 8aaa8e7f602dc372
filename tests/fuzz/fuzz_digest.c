/*
 * libFuzzer target for lib/digest.c: the input is parsed as a digest
 * string, and imported as an exported hash state, which must either be
 * refused or be usable.
 */
#include <stdint.h>
#include <stdlib.h>

#include "digest.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse_string(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	char out[DIGEST_MAX];
	enum digest_alg alg;
	enum digest_status st = digest_parse(s, &alg);

	if (st != DIGEST_OK && st != DIGEST_BAD && st != DIGEST_UNSUPPORTED)
		abort();
	if (st == DIGEST_OK) {
		/* a parsed digest is exactly what we would produce */
		digest_buffer(alg, data, size, out);
		if (strlen(s) != strlen(out) ||
		    strncmp(s, out, 7) != 0 ||
		    strlen(digest_hex(s)) != strlen(out) - 7)
			abort();
	}
	free(s);
}

static void
import_state(const uint8_t *data, size_t size)
{
	struct digest_ctx c;
	unsigned char again[DIGEST_STATE_MAX];
	char out[DIGEST_MAX];
	size_t n;

	if (digest_import(&c, data, size) != 0)
		return;
	/*
	 * An accepted state exports to the same hash state (the header's
	 * two reserved bytes are not checked) and keeps hashing.
	 */
	n = digest_export(&c, again);
	if (n != size || memcmp(again, data, 6) != 0 ||
	    memcmp(again + 8, data + 8, n - 8) != 0)
		abort();
	digest_update(&c, data, size);
	digest_final(&c, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_string(data, size);
	import_state(data, size);
	return 0;
}
