/*
 * Tag patterns (authd/tagglob.c): what a rule or policy may store. Each
 * case is a pattern and whether it passes; those that fail say why.
 */
#include <string.h>

#include "tagglob.h"
#include "test.h"

static const struct {
	const char *pattern;
	bool valid;
} cases[] = {
	{ "*", true },
	{ "?", true },
	{ "v*", true },
	{ "release-*", true },
	{ "v1.?.*", true },
	{ "latest", true },
	{ "_private", true },
	{ "**", true },
	{ "*-rc?", true },
	{ "A.b_C-9", true },
	{ "", false },
	{ ".hidden", false },	/* no tag starts with . or - */
	{ "-x", false },
	{ "v%", false },	/* LIKE's own syntax is no tag character */
	{ "v\\_", false },
	{ "a b", false },
	{ "v[0-9]", false },
	{ "v/1", false },
	{ "v:1", false },
	{ "caf\xc3\xa9", false },
	{ "tab\t", false },
	{ "v'1", false },
};

void
test_tagglob(void)
{
	char longest[TAGGLOB_MAX + 2];
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		if (tagglob_valid(cases[i].pattern, &why) != cases[i].valid) {
			fprintf(stderr, "pattern \"%s\"\n", cases[i].pattern);
			CHECK(0);
			continue;
		}
		CHECK(cases[i].valid || (why != NULL && *why != '\0'));
	}
	/* The bound is a tag's: 128 bytes pass, 129 do not. */
	memset(longest, 'a', TAGGLOB_MAX);
	longest[TAGGLOB_MAX] = '\0';
	CHECK(tagglob_valid(longest, &why));
	longest[TAGGLOB_MAX - 1] = '*';
	CHECK(tagglob_valid(longest, &why));
	longest[TAGGLOB_MAX] = 'a';
	longest[TAGGLOB_MAX + 1] = '\0';
	CHECK(!tagglob_valid(longest, &why));
	CHECK(strstr(why, "128") != NULL);
}
