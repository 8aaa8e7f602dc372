/*
 * application/x-www-form-urlencoded bodies (authd/form.c): the first
 * valid value wins, duplicates come in order through form_each, '+' and
 * %XX decode in keys and values, and a bad escape, %00 or a raw NUL drops
 * that field only. Bodies are copied to exactly len bytes, so ASan sees
 * any read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "buf.h"
#include "test.h"

/* A body literal and its length, embedded NULs included. */
#define BODY(s) s, sizeof(s) - 1

static bool
get_is(const char *body, size_t len, const char *key, const char *want)
{
	char *copy = xmalloc(len), *got;
	bool ok;

	memcpy(copy, body, len);
	got = form_get(copy, len, key);
	ok = want == NULL ? got == NULL : got != NULL && !strcmp(got, want);
	if (!ok)
		fprintf(stderr, "form_get(\"%.*s\", \"%s\") = %s%s%s\n",
			(int)len, body, key, got ? "\"" : "",
			got ? got : "NULL", got ? "\"" : "");
	free(got);
	free(copy);
	return ok;
}

static void
get_cases(void)
{
	static const struct {
		const char *body;
		size_t len;
		const char *key, *want;	/* want NULL: absent */
	} t[] = {
		{ BODY("grant_type=password&username=alice"), "grant_type",
		  "password" },
		{ BODY("grant_type=password&username=alice"), "username",
		  "alice" },
		{ BODY("grant_type=password"), "password", NULL },
		{ BODY(""), "a", NULL },
		{ BODY("&&a=1&&"), "a", "1" },
		{ BODY("a="), "a", "" },
		{ BODY("a=&a=2"), "a", "" },
		{ BODY("a"), "a", NULL },
		{ BODY("a&a=2"), "a", "2" },
		{ BODY("=1"), "a", NULL },
		{ BODY("a=b=c"), "a", "b=c" },
		/* Keys match whole and by case. */
		{ BODY("ab=1&a=2"), "a", "2" },
		{ BODY("a=1"), "ab", NULL },
		{ BODY("A=1"), "a", NULL },
		/* Duplicates: the first wins. */
		{ BODY("a=1&a=2"), "a", "1" },
		/* Decoding, in values and keys. */
		{ BODY("a=b+c"), "a", "b c" },
		{ BODY("a=b%20c"), "a", "b c" },
		{ BODY("a=%2B%2b"), "a", "++" },
		{ BODY("a=%3D%26"), "a", "=&" },
		{ BODY("a=%2F"), "a", "/" },
		{ BODY("a=%C3%A9"), "a", "\xc3\xa9" },
		{ BODY("%61=1"), "a", "1" },
		{ BODY("grant%5Ftype=refresh_token"), "grant_type",
		  "refresh_token" },
		{ BODY("a+b=1"), "a b", "1" },
		{ BODY("scope=repository%3Aorg%2Fapp%3Apull%2Cpush"), "scope",
		  "repository:org/app:pull,push" },
		/* A bad escape drops its field; a later valid one counts. */
		{ BODY("a=%zz"), "a", NULL },
		{ BODY("a=%"), "a", NULL },
		{ BODY("a=%4"), "a", NULL },
		{ BODY("a=x%"), "a", NULL },
		{ BODY("a=%4g"), "a", NULL },
		{ BODY("a=%g4"), "a", NULL },
		{ BODY("a=%zz&a=ok"), "a", "ok" },
		{ BODY("%zz=1&a=2"), "a", "2" },
		{ BODY("a%=1"), "a", NULL },
		{ BODY("a=%41%"), "a", NULL },
		{ BODY("a=%41%&b=2"), "b", "2" },
		/* No NUL gets into a key or a value, encoded or raw. */
		{ BODY("a=%00"), "a", NULL },
		{ BODY("a=x%00y&a=z"), "a", "z" },
		{ BODY("a%00=1"), "a", NULL },
		{ BODY("a=pass\0word"), "a", NULL },
		{ BODY("a=x\0&a=y"), "a", "y" },
		{ BODY("a\0junk=1"), "a", NULL },
		{ BODY("grant_type\0=password&grant_type=refresh_token"),
		  "grant_type", "refresh_token" },
		/* len, not a NUL, ends the body. */
		{ "a=12345", 4, "a", "12" },
		{ "a=1&b=2", 3, "b", NULL },
		{ "a=%41", 4, "a", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK(get_is(t[i].body, t[i].len, t[i].key, t[i].want));
}

static void
collect(const char *value, void *arg)
{
	struct buf *b = arg;

	if (buf_puts(b, value) < 0 || buf_puts(b, "|") < 0)
		BUG("collect overflow");
}

/* Every valid value of key, in order, each followed by '|'. */
static bool
each_is(const char *body, size_t len, const char *key, const char *want)
{
	struct buf b;
	bool ok;

	buf_init(&b, 4096);
	form_each(body, len, key, collect, &b);
	ok = strcmp(b.data ? b.data : "", want) == 0;
	if (!ok)
		fprintf(stderr, "form_each(\"%.*s\", \"%s\") = \"%s\"\n",
			(int)len, body, key, b.data ? b.data : "");
	buf_release(&b);
	return ok;
}

static void
each_cases(void)
{
	CHECK(each_is(BODY(""), "scope", ""));
	CHECK(each_is(BODY("scope=a"), "scope", "a|"));
	CHECK(each_is(BODY("scope=a&x=1&scope=b+c&scope=&scope=%zz&scope=d"),
		      "scope", "a|b c||d|"));
	CHECK(each_is(BODY("scope=a&scope=a"), "scope", "a|a|"));
	CHECK(each_is(BODY("scope&scope=x%00&scope=%73"), "scope", "s|"));
	CHECK(each_is(BODY("x=1&y=2"), "scope", ""));
}

/* A large body with many fields: the last one is still found. */
static void
many_fields(void)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (int i = 0; i < 10000; i++)
		if (buf_printf(&b, "k%d=v%d&", i, i) < 0)
			BUG("many_fields overflow");
	CHECK(get_is(b.data, b.len, "k9999", "v9999"));
	CHECK(get_is(b.data, b.len, "k0", "v0"));
	CHECK(get_is(b.data, b.len, "k10000", NULL));
	buf_release(&b);
}

void
test_form(void)
{
	get_cases();
	each_cases();
	many_fields();
}
