/*
 * Connection admission for the HTTP layer (http.c), against one client
 * holding the server with many slow connections (slowloris): a cap on the
 * connections one address may hold, and a deadline for a request's headers
 * that trickling bytes do not extend (libmicrohttpd's own timeout restarts
 * at every byte received). A janitor thread shuts down the sockets past
 * their deadline; libmicrohttpd then sees the end of the stream and closes
 * the connection on its own thread. The janitor also shuts down a socket
 * whose client went away in the middle of a request body, which
 * libmicrohttpd's edge-triggered epoll can miss (see connlimit.c).
 */
#ifndef BERTH_CONNLIMIT_H
#define BERTH_CONNLIMIT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "util.h"

struct connlimit;
struct connlimit_conn;
struct netaddr_set;

struct connlimit_config {
	unsigned per_address;	/* connections an address may hold; 0: any */
	/* Seconds from the accept (or the end of the previous request on a
	 * kept-alive connection, plus keepalive) until the request's headers
	 * are in; 0: no deadline. */
	unsigned header_timeout;
	unsigned keepalive;	/* seconds, see header_timeout */
	/* Peers not counted (trusted proxies carry many clients); may be
	 * NULL; must outlive the struct. */
	const struct netaddr_set *exempt;
};

/* Starts the janitor thread; NULL (logged) on failure. */
struct connlimit *connlimit_new(const struct connlimit_config *cfg);
/* Stops the janitor and frees; every connection must be closed. */
void connlimit_free(struct connlimit *cl);

/* Whether a new connection from sa may be accepted (accept policy). */
bool connlimit_admit(struct connlimit *cl, const struct sockaddr *sa);

/*
 * A connection started on fd: counts it for its address and arms its
 * header deadline. Returns its handle for the calls below, or NULL when
 * the address is over its limit (the caller then closes it).
 */
struct connlimit_conn *connlimit_open(struct connlimit *cl, int fd,
				      const struct sockaddr *sa);
/* The connection is closing (before its fd is closed); cc may be NULL. */
void connlimit_close(struct connlimit *cl, struct connlimit_conn *cc);

/* The request's headers are in: no deadline until it completes, and its
 * body is being received (watched for a vanished client) until
 * connlimit_body_done. Lock-free; cc may be NULL. */
void connlimit_headers_done(struct connlimit_conn *cc);
/* Some of the body arrived (the watch waits while bytes come in).
 * Lock-free; cc may be NULL. */
void connlimit_body_progress(struct connlimit_conn *cc);
/* The whole body is in (a half-closed client then waits for its answer
 * unharmed). Lock-free; cc may be NULL. */
void connlimit_body_done(struct connlimit_conn *cc);
/* A request completed: the next one's headers get a deadline again. */
void connlimit_request_done(struct connlimit_conn *cc);

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit (once per process) and
 * returns the soft limit in force.
 */
unsigned long connlimit_raise_nofile(void);

#endif
