/*
 * Repository names, tags and upload ids against the distribution spec's
 * grammars.
 */
#include "route.h"
#include "test.h"

void
test_reference(void)
{
	static const char *good_names[] = {
		"a", "library/alpine", "a0/b-c/d.e/f_g/h__i", "a--b",
		"0/1", "my.org/team/app",
	};
	static const char *bad_names[] = {
		"", "A", "a/", "/a", "a//b", "a/../b", "..", "a..b", "a___b",
		"-a", "a-", "a_", "a.", ".a", "a/B", "a b", "a%2fb", "a:b",
		"a/./b",
	};
	static const char *good_tags[] = { "latest", "v1.0.0", "_x", "A-b.c_D",
					   "1" };
	static const char *bad_tags[] = { "", ".x", "-x", "a/b", "a:b",
					  "a b", "a+b" };
	char long_name[300];

	for (size_t i = 0; i < ARRAY_SIZE(good_names); i++)
		CHECK(reg_name_valid(good_names[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++)
		CHECK(!reg_name_valid(bad_names[i]));
	memset(long_name, 'a', sizeof(long_name));
	long_name[255] = '\0';
	CHECK(reg_name_valid(long_name));
	long_name[255] = 'a';
	long_name[256] = '\0';
	CHECK(!reg_name_valid(long_name));

	for (size_t i = 0; i < ARRAY_SIZE(good_tags); i++)
		CHECK(reg_tag_valid(good_tags[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad_tags); i++)
		CHECK(!reg_tag_valid(bad_tags[i]));
	memset(long_name, 'a', 129);
	long_name[128] = '\0';
	CHECK(reg_tag_valid(long_name));
	long_name[128] = 'a';
	long_name[129] = '\0';
	CHECK(!reg_tag_valid(long_name));

	CHECK(reg_uuid_valid("0b1e5d6c-6f3a-4c1a-9a52-1d2e3f4a5b6c"));
	CHECK(!reg_uuid_valid("0B1E5D6C-6F3A-4C1A-9A52-1D2E3F4A5B6C"));
	CHECK(!reg_uuid_valid("0b1e5d6c6f3a4c1a9a521d2e3f4a5b6c"));
	CHECK(!reg_uuid_valid("../../etc/passwd"));
	CHECK(!reg_uuid_valid(""));

	CHECK(reg_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(!reg_digest_valid("sha256:../../x"));
	CHECK(!reg_digest_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
}
