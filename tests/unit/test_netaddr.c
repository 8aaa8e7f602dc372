/*
 * Addresses and CIDRs for trusted_proxies, and the forwarded-client rule:
 * Forwarded before X-Forwarded-For, the walk from the right, garbage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "netaddr.h"
#include "test.h"

static bool
in_cidr(const char *cidr, const char *addr)
{
	struct netaddr_cidr c;
	struct netaddr a;

	if (netaddr_cidr_parse(cidr, &c) < 0 || netaddr_parse(addr, &a) < 0)
		return false;
	return netaddr_cidr_contains(&c, &a);
}

static void
cidrs(void)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8x", "10.1.2.3/8", "::1/129",
		"10.0.0", "10.0.0.0.0/8", "example.com", "fe80::1%eth0",
		"[::1]/128", "::1/ 64", "10.0.0.0/08a",
	};
	struct netaddr_cidr c;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(netaddr_cidr_parse(bad[i], &c) < 0);
	CHECK(netaddr_cidr_parse("10.0.0.0/8", &c) == 0 && c.bits == 8 &&
	      c.addr.family == 4);
	CHECK(netaddr_cidr_parse("::1", &c) == 0 && c.bits == 128 &&
	      c.addr.family == 6);
	CHECK(netaddr_cidr_parse("0.0.0.0/0", &c) == 0 && c.bits == 0);
	CHECK(in_cidr("10.0.0.0/8", "10.255.1.2"));
	CHECK(!in_cidr("10.0.0.0/8", "11.0.0.1"));
	CHECK(in_cidr("192.168.4.0/22", "192.168.7.255"));
	CHECK(!in_cidr("192.168.4.0/22", "192.168.8.0"));
	CHECK(!in_cidr("192.168.4.0/22", "192.168.3.255"));
	CHECK(in_cidr("127.0.0.1/32", "127.0.0.1"));
	CHECK(!in_cidr("127.0.0.1/32", "127.0.0.2"));
	CHECK(in_cidr("0.0.0.0/0", "203.0.113.9"));
	CHECK(!in_cidr("0.0.0.0/0", "2001:db8::1"));
	CHECK(in_cidr("2001:db8::/32", "2001:db8:ffff::1"));
	CHECK(!in_cidr("2001:db8::/32", "2001:db9::1"));
	CHECK(in_cidr("2001:db8:8000::/33", "2001:db8:8000::1"));
	CHECK(!in_cidr("2001:db8:8000::/33", "2001:db8:7fff::1"));
	CHECK(in_cidr("::1/128", "::1"));
	CHECK(!in_cidr("::1/128", "127.0.0.1"));
	/* A dual-stack socket's mapped addresses count as IPv4. */
	CHECK(in_cidr("10.0.0.0/8", "::ffff:10.1.2.3"));
	CHECK(in_cidr("::ffff:0:0/96", "10.1.2.3"));
	CHECK(in_cidr("::/0", "10.1.2.3"));
}

static void
sets(void)
{
	struct netaddr_set s = { 0 };
	struct netaddr a;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = { .sin_family = AF_INET };

	CHECK(netaddr_set_parse(&s, "", "trusted_proxies") == 0 && s.n == 0);
	netaddr_set_release(&s);
	CHECK(netaddr_set_parse(&s, " 10.0.0.0/8 , ::1/128,192.0.2.7", "t") ==
		      0 &&
	      s.n == 3);
	CHECK(netaddr_parse("10.9.9.9", &a) == 0 && netaddr_set_contains(&s, &a));
	CHECK(netaddr_parse("192.0.2.7", &a) == 0 && netaddr_set_contains(&s, &a));
	CHECK(netaddr_parse("192.0.2.8", &a) == 0 &&
	      !netaddr_set_contains(&s, &a));
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6.sin6_addr);
	CHECK(netaddr_from_sockaddr((struct sockaddr *)&sin6, &a) == 0 &&
	      a.family == 4 && netaddr_set_contains(&s, &a));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	CHECK(netaddr_from_sockaddr((struct sockaddr *)&sin, &a) == 0 &&
	      !netaddr_set_contains(&s, &a));
	netaddr_set_release(&s);
	CHECK(netaddr_set_parse(&s, "10.0.0.0/8, nonsense", "trusted_proxies") <
		      0 &&
	      s.n == 0 && s.v == NULL);
	netaddr_set_release(&s);
}

/* The client netaddr_forwarded_client finds, as text, or "peer". */
static const char *
client_of(const char *trusted, const char *fwd, const char *xff)
{
	static char out[64];
	struct netaddr_set s = { 0 };
	struct netaddr a;

	if (netaddr_set_parse(&s, trusted, "t") < 0)
		return "bad set";
	if (netaddr_forwarded_client(&s, fwd, xff, &a) < 0)
		util_strlcpy(out, "peer", sizeof(out));
	else
		netaddr_format(&a, out, sizeof(out));
	netaddr_set_release(&s);
	return out;
}

#define CLIENT(want, t, fwd, xff) CHECK(!strcmp(client_of(t, fwd, xff), want))

static void
forwarded(void)
{
	const char *t = "10.0.0.0/8, ::1/128";

	/* X-Forwarded-For: from the right, skipping our proxies. */
	CLIENT("203.0.113.5", t, NULL, "203.0.113.5");
	CLIENT("203.0.113.5", t, NULL, "198.51.100.1, 203.0.113.5, 10.0.0.2");
	CLIENT("203.0.113.5", t, NULL, "garbage, 203.0.113.5,10.1.1.1");
	CLIENT("203.0.113.5", t, NULL, "\"unclosed, 203.0.113.5");
	CLIENT("2001:db8::1", t, NULL, "2001:db8::1, ::1");
	CLIENT("2001:db8::1", t, NULL, "[2001:db8::1]:443");
	CLIENT("203.0.113.5", t, NULL, "203.0.113.5:1234");
	CLIENT("10.0.0.3", t, NULL, "10.0.0.3, 10.0.0.2");	/* all ours */
	CLIENT("peer", t, NULL, "203.0.113.5, garbage");
	CLIENT("peer", t, NULL, "203.0.113.5, 10.0.0.2, ");
	CLIENT("peer", t, NULL, "");
	CLIENT("peer", t, NULL, NULL);
	CLIENT("peer", t, NULL, "203.0.113.5:http");
	CLIENT("peer", t, NULL, "203.0.113.5\n");
	CLIENT("peer", t, NULL, "fe80::1%eth0");
	/* Forwarded wins over X-Forwarded-For; for= only; quotes,
	 * brackets and ports. */
	CLIENT("192.0.2.60", t, "for=192.0.2.60;proto=http;by=203.0.113.43",
	       "198.51.100.9");
	CLIENT("2001:db8:cafe::17", t,
	       "for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\"", NULL);
	CLIENT("192.0.2.43", t, "for=192.0.2.43, For=\"[::1]\";proto=https",
	       NULL);
	CLIENT("192.0.2.43", t, "For=\"192.0.2.43:8080\"", NULL);
	CLIENT("192.0.2.43", t, "proto=https; for=192.0.2.43 ;by=10.0.0.1",
	       NULL);
	CLIENT("192.0.2.43", t, "for=\"_gazonk\", for=192.0.2.43, for=10.2.3.4",
	       NULL);
	CLIENT("192.0.2.43", t, "for=\"x,y\";a=\"b\\\"c\", for=192.0.2.43",
	       NULL);
	CLIENT("peer", t, "for=unknown", "203.0.113.5");
	CLIENT("peer", t, "for=\"_hidden\"", NULL);
	CLIENT("peer", t, "proto=https", "203.0.113.5");
	CLIENT("peer", t, "for=[2001:db8::1", NULL);
	CLIENT("peer", t, "for=\"[2001:db8::1]:x\"", NULL);
	CLIENT("peer", t, "for=192.0.2.43\"", NULL);
	CLIENT("peer", t, "for=\"192.0.2.43", NULL);
	/* An obfuscated port is still a port. */
	CLIENT("2001:db8::1", t, "for=\"[2001:db8::1]:_p1\"", NULL);
	/* Nothing trusted: the rightmost hop. */
	CLIENT("10.0.0.2", "", NULL, "203.0.113.5, 10.0.0.2");
}

void
test_netaddr(void)
{
	cidrs();
	sets();
	forwarded();
}
