/*
 * The address part of authd's login delay keys (throttlekey.c): an IPv6
 * client counts by its /64.
 */
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "test.h"

static int
addr_key_is(const char *addr, const char *want)
{
	char *got = throttlekey_addr(addr);
	int eq = strcmp(got, want) == 0;

	if (!eq)
		fprintf(stderr, "addr_key(\"%s\") = \"%s\"\n", addr, got);
	free(got);
	return eq;
}

void
test_throttlekey(void)
{
	CHECK(addr_key_is("192.0.2.7", "192.0.2.7"));
	CHECK(addr_key_is("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"));
	CHECK(addr_key_is("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"));
	CHECK(addr_key_is("::1", "::/64"));
	/* IPv4-mapped: the IPv4 client itself. */
	CHECK(addr_key_is("::ffff:192.0.2.7", "::ffff:192.0.2.7"));
	/* Not an address (a test harness's name, "local"): as it is. */
	CHECK(addr_key_is("local", "local"));
}
