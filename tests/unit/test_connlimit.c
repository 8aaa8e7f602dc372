/*
 * Connection admission: the per-address count (admit, open over the
 * limit, release on close, exempt peers, IPv4 and IPv6 apart) and the
 * header deadline, which shuts a socket down past it but not once the
 * headers are in; a client gone in the middle of a body is cut, one whose
 * body is all in or whose bytes are still queued is not.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connlimit.h"
#include "netaddr.h"
#include "test.h"

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	(void)inet_pton(AF_INET, a, &sa.sin_addr);
	return sa;
}

static void
per_address(void)
{
	struct connlimit_config cfg = { .per_address = 2 };
	struct netaddr_set exempt = { 0 };
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
	struct sockaddr_in p = v4("10.0.0.7");
	struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
	struct connlimit_conn *c[6];
	struct connlimit *cl;

	CHECK(netaddr_set_parse(&exempt, "10.0.0.0/8", "test") == 0);
	cfg.exempt = &exempt;
	CHECK((cl = connlimit_new(&cfg)) != NULL);
	if (cl == NULL)
		return;
	(void)inet_pton(AF_INET6, "2001:db8::1", &six.sin6_addr);
	CHECK(connlimit_admit(cl, (struct sockaddr *)&a));
	CHECK((c[0] = connlimit_open(cl, -1, (struct sockaddr *)&a)) != NULL);
	CHECK((c[1] = connlimit_open(cl, -1, (struct sockaddr *)&a)) != NULL);
	CHECK(!connlimit_admit(cl, (struct sockaddr *)&a));
	CHECK(connlimit_open(cl, -1, (struct sockaddr *)&a) == NULL);
	/* Another address, and a proxy that is not counted. */
	CHECK(connlimit_admit(cl, (struct sockaddr *)&b));
	CHECK((c[2] = connlimit_open(cl, -1, (struct sockaddr *)&p)) != NULL);
	CHECK((c[3] = connlimit_open(cl, -1, (struct sockaddr *)&p)) != NULL);
	CHECK((c[4] = connlimit_open(cl, -1, (struct sockaddr *)&p)) != NULL);
	CHECK((c[5] = connlimit_open(cl, -1, (struct sockaddr *)&six)) != NULL);
	CHECK(connlimit_admit(cl, (struct sockaddr *)&p));
	/* A close releases its place. */
	connlimit_close(cl, c[0]);
	CHECK(connlimit_admit(cl, (struct sockaddr *)&a));
	CHECK((c[0] = connlimit_open(cl, -1, (struct sockaddr *)&a)) != NULL);
	for (int i = 0; i < 6; i++)
		connlimit_close(cl, c[i]);
	connlimit_close(cl, NULL);
	CHECK(connlimit_admit(cl, (struct sockaddr *)&a));
	connlimit_free(cl);
	netaddr_set_release(&exempt);
}

/* Whether the peer of sv[1] saw the end of the stream within ms. */
static bool
shut_down(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void
deadline(void)
{
	struct connlimit_config cfg = { .header_timeout = 1, .keepalive = 1 };
	struct sockaddr_in a = v4("192.0.2.1");
	struct connlimit_conn *slow, *fast;
	struct connlimit *cl;
	int s1[2], s2[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s1) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s2) == 0);
	CHECK((cl = connlimit_new(&cfg)) != NULL);
	if (cl == NULL)
		return;
	slow = connlimit_open(cl, s1[0], (struct sockaddr *)&a);
	fast = connlimit_open(cl, s2[0], (struct sockaddr *)&a);
	connlimit_headers_done(fast);
	CHECK(!shut_down(s1[1], 500));
	CHECK(shut_down(s1[1], 1500));
	CHECK(!shut_down(s2[1], 10));
	/* A completed request arms the deadline again: keepalive plus
	 * header_timeout, 2 s here. */
	connlimit_request_done(fast);
	CHECK(!shut_down(s2[1], 1500));
	CHECK(shut_down(s2[1], 1500));
	connlimit_close(cl, slow);
	connlimit_close(cl, fast);
	connlimit_free(cl);
	for (int i = 0; i < 2; i++) {
		close(s1[i]);
		close(s2[i]);
	}
}

/* Clients that half-close (shutdown SHUT_WR) while a body is due: gone
 * mid-body (cut in about a second), with the body all in, with a byte
 * still queued for the server (both left alone). */
static void
vanished(void)
{
	struct connlimit_config cfg = { 0 };
	struct connlimit_conn *cc[3];
	struct connlimit *cl;
	int sv[3][2];

	CHECK((cl = connlimit_new(&cfg)) != NULL);
	if (cl == NULL)
		return;
	for (int i = 0; i < 3; i++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) == 0);
		cc[i] = connlimit_open(cl, sv[i][0], NULL);
		connlimit_headers_done(cc[i]);
		connlimit_body_progress(cc[i]);
	}
	connlimit_body_done(cc[1]);
	CHECK(send(sv[2][1], "x", 1, MSG_NOSIGNAL) == 1);
	for (int i = 0; i < 3; i++)
		shutdown(sv[i][1], SHUT_WR);
	CHECK(!shut_down(sv[0][1], 500));
	CHECK(shut_down(sv[0][1], 2500));
	CHECK(!shut_down(sv[1][1], 10));
	CHECK(!shut_down(sv[2][1], 10));
	for (int i = 0; i < 3; i++) {
		connlimit_close(cl, cc[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	connlimit_free(cl);
}

void
test_connlimit(void)
{
	per_address();
	deadline();
	vanished();
	CHECK(connlimit_raise_nofile() >= 1024);
}
