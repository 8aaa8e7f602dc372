/*
 * Byte sizes (lib/bytesize.c): the units and their factors, the edges of
 * the range, what is refused (signs, fractions, unknown units, blanks),
 * and the short form printed back.
 */
#include <string.h>

#include "bytesize.h"
#include "test.h"

static bool
parses(const char *s, uint64_t want)
{
	uint64_t v = 0;

	return bytesize_parse(s, &v) == 0 && v == want;
}

static bool
refused(const char *s)
{
	uint64_t v = 42;

	return bytesize_parse(s, &v) < 0 && v == 42;
}

static bool
formats(uint64_t n, const char *want)
{
	char buf[32];

	bytesize_format(n, buf, sizeof(buf));
	return !strcmp(buf, want);
}

static void
parse_units(void)
{
	CHECK(parses("0", 0));
	CHECK(parses("1048576", 1048576));
	CHECK(parses("512B", 512));
	CHECK(parses("10GiB", UINT64_C(10) << 30));
	CHECK(parses("10 GiB", UINT64_C(10) << 30));
	CHECK(parses("10gib", UINT64_C(10) << 30));
	CHECK(parses("10G", UINT64_C(10) << 30));
	CHECK(parses("3KiB", 3072));
	CHECK(parses("3kB", 3000));
	CHECK(parses("3KB", 3000));
	CHECK(parses("5MB", 5000000));
	CHECK(parses("5MiB", 5242880));
	CHECK(parses("2TB", UINT64_C(2000000000000)));
	CHECK(parses("2TiB", UINT64_C(2) << 40));
	CHECK(parses("1PiB", UINT64_C(1) << 50));
	CHECK(parses("1PB", UINT64_C(1000000000000000)));
	CHECK(parses("4096P", BYTESIZE_MAX));
	CHECK(parses("4611686018427387904", BYTESIZE_MAX));
}

static void
parse_refused(void)
{
	CHECK(refused(""));
	CHECK(refused(" 1"));
	CHECK(refused("1 "));
	CHECK(refused("1  GiB"));
	CHECK(refused("-1"));
	CHECK(refused("+1"));
	CHECK(refused("1.5GiB"));
	CHECK(refused("1e9"));
	CHECK(refused("0x10"));
	CHECK(refused("GiB"));
	CHECK(refused("10 GiBs"));
	CHECK(refused("10 XB"));
	CHECK(refused("10iB"));
	CHECK(refused("4611686018427387905"));
	CHECK(refused("4097P"));
	CHECK(refused("5EiB"));
	CHECK(refused("18446744073709551616"));
	CHECK(refused("99999999999999999999999999"));
	CHECK(refused("9999999999999999999 GiB"));
}

static void
format_short(void)
{
	CHECK(formats(0, "0 B"));
	CHECK(formats(1023, "1023 B"));
	CHECK(formats(1024, "1 KiB"));
	CHECK(formats(1536, "1.5 KiB"));
	CHECK(formats(2047, "1.9 KiB"));
	CHECK(formats(UINT64_C(10) << 30, "10 GiB"));
	CHECK(formats((UINT64_C(10) << 30) - 1, "9.9 GiB"));
	CHECK(formats(BYTESIZE_MAX, "4 EiB"));
	CHECK(formats(UINT64_MAX, "15.9 EiB"));
}

void
test_bytesize(void)
{
	parse_units();
	parse_refused();
	format_short();
}
