/*
 * libFuzzer target for what turns client bytes into log text and client
 * addresses: log_escape in every mode and at every buffer size must give
 * one line of valid UTF-8 without control bytes (json: a string jansson
 * parses), and the Forwarded / X-Forwarded-For walk must either refuse or
 * name an address that parses again.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "netaddr.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
escape(const char *s, size_t size, unsigned flags)
{
	char *out = xmalloc(size), *doc;
	size_t n = log_escape(out, size, s, flags);
	json_t *j;

	if (n >= size || strlen(out) != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
	doc = xasprintf("[\"%s\"]", out);
	j = json_loads(doc, 0, NULL);
	/* Every mode gives valid UTF-8; json mode a valid string too. */
	if ((flags & LOG_ESC_JSON) && j == NULL)
		abort();
	json_decref(j);
	if ((j = json_stringn(out, n)) == NULL)
		abort();
	json_decref(j);
	free(doc);
	free(out);
}

static void
forwarded(const char *s)
{
	static struct netaddr_set trusted;
	struct netaddr a, again;
	struct netaddr_cidr c;
	char text[64];

	if (trusted.v == NULL &&
	    netaddr_set_parse(&trusted, "10.0.0.0/8, ::1/128", "fuzz") < 0)
		abort();
	for (int xff = 0; xff < 2; xff++) {
		if (netaddr_forwarded_client(&trusted, xff ? NULL : s,
					     xff ? s : NULL, &a) < 0)
			continue;
		netaddr_format(&a, text, sizeof(text));
		if (netaddr_parse(text, &again) < 0 ||
		    memcmp(&a, &again, sizeof(a)) != 0)
			abort();
	}
	if (netaddr_cidr_parse(s, &c) == 0 &&
	    (c.bits < 0 || c.bits > (c.addr.family == 4 ? 32 : 128) ||
	     !netaddr_cidr_contains(&c, &c.addr)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	size_t cap = 8 + (size ? data[0] % 64 : 0);

	escape(s, cap, 0);
	escape(s, cap, LOG_ESC_QUOTE);
	escape(s, cap, LOG_ESC_JSON);
	escape(s, 4 * size + 8, LOG_ESC_JSON);
	forwarded(s);
	free(s);
	return 0;
}
