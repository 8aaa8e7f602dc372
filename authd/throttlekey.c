/*
 * The client address as the login delays count it (credential.c): an
 * IPv4 address as it is, an IPv6 one by its /64, since one client (a
 * host, a home network) commonly holds a whole /64 and could otherwise
 * spread its guesses over 2^64 keys. Apart so that unit tests link it
 * alone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "authd.h"

char *
throttlekey_addr(const char *addr)
{
	struct in6_addr a;
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, addr, &a) != 1 || IN6_IS_ADDR_V4MAPPED(&a))
		return xstrdup(addr);
	memset(a.s6_addr + 8, 0, 8);
	inet_ntop(AF_INET6, &a, text, sizeof(text));
	return xasprintf("%s/64", text);
}
