/*
 * Request path percent-decoding (http_unescape, libmicrohttpd's unescape
 * callback): %XX becomes its byte, %00 and broken escapes stay as sent,
 * '+' is no space in a path, and nothing is decoded twice.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "test.h"

static bool
unescapes_to(const char *in, const char *want)
{
	char *s = xstrdup(in);
	size_t n = http_unescape(s);
	bool eq = n == strlen(want) && strcmp(s, want) == 0;

	if (!eq)
		fprintf(stderr, "unescape(\"%s\") = \"%s\" (%zu)\n", in, s, n);
	free(s);
	return eq;
}

static void
cases(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "", "" },
		{ "/v2/", "/v2/" },
		{ "/v2/org/app/manifests/v1", "/v2/org/app/manifests/v1" },
		{ "%41", "A" },
		{ "%61%62c", "abc" },
		{ "%2F", "/" },
		{ "%2f", "/" },
		{ "/v2/org%2Fapp/tags/list", "/v2/org/app/tags/list" },
		{ "%20", " " },
		{ "%25", "%" },
		/* One pass: the '%' that %25 yields starts no escape. */
		{ "%2541", "%41" },
		{ "%%41", "%A" },
		{ "%01", "\x01" },
		{ "%ff", "\xff" },
		{ "%C3%A9", "\xc3\xa9" },
		/* %00 stays encoded, wherever it is and however spelt. */
		{ "%00", "%00" },
		{ "a%00b", "a%00b" },
		{ "%00%41", "%00A" },
		{ "%41%00", "A%00" },
		/* Bad hex and cut-off escapes stay as they are. */
		{ "%", "%" },
		{ "a%", "a%" },
		{ "%4", "%4" },
		{ "a%4", "a%4" },
		{ "%G1", "%G1" },
		{ "%1G", "%1G" },
		{ "%g0", "%g0" },
		{ "%-1", "%-1" },
		{ "% 1", "% 1" },
		{ "%0%41", "%0A" },
		/* A path keeps its '+' (only forms make it a space). */
		{ "a+b", "a+b" },
		{ "%2B", "+" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK(unescapes_to(t[i].in, t[i].want));
}

/* A long path decodes whole, and the length counts every byte. */
static void
long_path(void)
{
	size_t n = 4096;
	char *s = xmalloc(3 * n + 1);
	bool all_a = true;

	for (size_t i = 0; i < n; i++)
		memcpy(s + 3 * i, "%41", 3);
	s[3 * n] = '\0';
	CHECK(http_unescape(s) == n);
	for (size_t i = 0; i < n; i++)
		all_a &= s[i] == 'A';
	CHECK(all_a && s[n] == '\0');
	free(s);
}

void
test_path(void)
{
	cases();
	long_path();
}
