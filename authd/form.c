/*
 * application/x-www-form-urlencoded bodies (OAuth2 POST /token): finds a
 * key's values and decodes them (+ is a space, %XX a byte; %00 refused).
 */
#include <stdlib.h>

#include "authd.h"

/* Decodes s[0..n) into a new string; NULL on a bad escape or a NUL. */
static char *
decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *w = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0') {
			goto bad;	/* raw: "grant_type\0x" is no grant_type */
		} else if (s[i] == '+') {
			*w++ = ' ';
		} else if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = util_hexval(s[i + 1])) < 0 ||
			    (lo = util_hexval(s[i + 2])) < 0 || (hi | lo) == 0)
				goto bad;
			*w++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*w++ = s[i];
		}
	}
	*w = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

void
form_each(const char *body, size_t len, const char *key,
	  void (*fn)(const char *value, void *arg), void *arg)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		size_t end = i, eq;
		char *k, *v;

		while (end < len && body[end] != '&')
			end++;
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		if (eq < end && (k = decode(body + i, eq - i)) != NULL) {
			if (strlen(k) == klen && memcmp(k, key, klen) == 0 &&
			    (v = decode(body + eq + 1, end - eq - 1)) != NULL) {
				fn(v, arg);
				free(v);
			}
			free(k);
		}
		i = end + 1;
	}
}

static void
keep_first(const char *value, void *arg)
{
	char **out = arg;

	if (*out == NULL)
		*out = xstrdup(value);
}

char *
form_get(const char *body, size_t len, const char *key)
{
	char *out = NULL;

	form_each(body, len, key, keep_first, &out);
	return out;
}
