/*
 * IP addresses and CIDR sets, for trusted_proxies: which TCP peers may
 * tell us the client's address, and reading that address from their
 * Forwarded (RFC 7239) or X-Forwarded-For header. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d, what a dual-stack socket reports) count as
 * the IPv4 address they map.
 */
#ifndef BERTH_NETADDR_H
#define BERTH_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util.h"

/* An address: 4 bytes (family 4) or 16 bytes (family 6). */
struct netaddr {
	int family;		/* 4 or 6 */
	unsigned char a[16];
};

struct netaddr_cidr {
	struct netaddr addr;	/* host bits cleared */
	int bits;
};

/* Immutable once parsed; safe to read from any thread. */
struct netaddr_set {
	struct netaddr_cidr *v;
	int n;
};

/* Parses a numeric IPv4 or IPv6 address (no brackets, no port). */
int netaddr_parse(const char *s, struct netaddr *out) MUST_CHECK;

/* The address of a socket address (AF_INET or AF_INET6); -1 otherwise. */
int netaddr_from_sockaddr(const struct sockaddr *sa,
			  struct netaddr *out) MUST_CHECK;

/* Canonical text (inet_ntop); size 46 is always enough. */
void netaddr_format(const struct netaddr *a, char *out, size_t size);

/*
 * Parses "10.0.0.0/8", "::1/128" or a bare address (a host: /32 or
 * /128). Host bits set below the prefix ("10.1.2.3/8") are refused: they
 * usually mean a typo. -1 on anything else.
 */
int netaddr_cidr_parse(const char *s, struct netaddr_cidr *out) MUST_CHECK;

bool netaddr_cidr_contains(const struct netaddr_cidr *c,
			   const struct netaddr *a);

/*
 * Parses a comma-separated list of CIDRs into set (empty list: empty
 * set). On error logs which item of setting (its name, for the message) is
 * bad, leaves set empty and returns -1. Release with netaddr_set_release.
 */
int netaddr_set_parse(struct netaddr_set *set, const char *list,
		      const char *setting) MUST_CHECK;
void netaddr_set_release(struct netaddr_set *set);

bool netaddr_set_contains(const struct netaddr_set *set,
			  const struct netaddr *a);

/*
 * The client behind a trusted peer. forwarded and xff are the joined
 * values of every Forwarded and X-Forwarded-For header (NULL when
 * absent). Forwarded, when present, is used and X-Forwarded-For ignored.
 * The hops are walked from the right, skipping addresses inside trusted;
 * the first one outside is the client (all trusted: the leftmost). A
 * malformed hop on that walk, an obfuscated or "unknown" node, or no
 * header at all: returns -1 and the caller keeps the peer. The caller
 * checks first that the peer itself is trusted.
 */
int netaddr_forwarded_client(const struct netaddr_set *trusted,
			     const char *forwarded, const char *xff,
			     struct netaddr *out) MUST_CHECK;

#endif
