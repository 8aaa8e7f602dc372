/*
 * HTTP serving on libmicrohttpd's thread pool, shared by the daemons.
 * A request moves through the application's handlers: begin (headers in:
 * route, authorize, maybe answer at once), body (each piece of the body as
 * it arrives, for streaming uploads), end (answer) and done (cleanup, also
 * when the client went away). The layer adds the request id, the access
 * log line and the metrics.
 */
#ifndef BERTH_HTTP_H
#define BERTH_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "util.h"

struct http_server;
struct netaddr_set;

struct http_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;	/* percent-decoded; a %00 stays encoded */
	const char *raw_path;	/* as the client sent it, query cut off */
	bool started;		/* the access handler has seen the request */
	/* The client's X-Request-Id when valid (httplog_id_valid), else 16
	 * random hex digits; echoed as X-Request-Id and in the logs. */
	char id[65];
	char client[64];	/* the peer, or whom a trusted proxy names */
	const char *user;	/* authenticated name for the log (the
				 * application sets it; arena or static);
				 * NULL: anonymous */
	uint64_t start_ns;
	unsigned status;
	uint64_t bytes_in, bytes_out;
	int route;		/* metrics index; -1 until routed */
	bool responded;
	bool is_head;
	unsigned warnings;	/* warnings logged while handling it */
	struct arena arena;	/* freed when the request completes */
	void *app;		/* the application's per-request state */
	void *ctx;		/* the application's server-wide context */
};

struct http_handlers {
	/* 0 to go on, -1 to close the connection without an answer. */
	int (*begin)(struct http_req *r);
	int (*body)(struct http_req *r, const char *data, size_t len);
	/* Must answer unless begin or body already did. */
	int (*end)(struct http_req *r);
	/* ok is false when the client went away or the connection failed. */
	void (*done)(struct http_req *r, bool ok);
};

struct http_config {
	const char *listen;	/* "host:port", "[v6]:port" */
	int threads;
	const char *tls_cert;	/* PEM file paths; both or neither */
	const char *tls_key;
	unsigned idle_timeout;	/* seconds */
	/* Seconds from the accept (on a kept-alive connection: idle_timeout
	 * more, from the end of the previous request) until a request's
	 * headers are complete, however slowly they trickle; 0: none. */
	unsigned header_timeout;
	unsigned max_connections;	/* 0: from the open file limit */
	/* Connections one client address may hold (trusted_proxies peers
	 * excepted); 0: no limit. */
	unsigned max_per_address;
	size_t conn_memory;	/* per-connection buffer, bounds body pieces */
	/* Peers whose Forwarded / X-Forwarded-For name the client; NULL or
	 * empty: none. Must outlive the server. */
	const struct netaddr_set *trusted_proxies;
	const char *const *route_names;	/* http_req.route's names, for logs */
	int n_routes;
};

/* Starts serving; NULL (logged) on failure. */
struct http_server *http_start(const struct http_config *cfg,
			       const struct http_handlers *h, void *ctx);
/* Stops accepting, finishes the worker threads and frees the server. */
void http_stop(struct http_server *s);

/*
 * SIGHUP: rereads the server's tls_cert and tls_key files. New connections
 * get the new certificate, open ones keep theirs. A set that does not load
 * is refused (logged) and the old one kept: -1. 0 also without TLS.
 */
int http_tls_reload(struct http_server *s);

/* Whether a listen address parses and resolves (for check-config): 0, or
 * -1 (logged). */
int http_listen_check(const char *listen_addr) MUST_CHECK;
/*
 * The checks of serving settings that serve and check-config share: the
 * listen address resolves, tls_cert and tls_key come together and load as
 * a pair. Each problem is printed as "error: ..." (conf_error); -1 when
 * there was any.
 */
int http_check_serving(const char *listen_addr, const char *tls_cert,
		       const char *tls_key) MUST_CHECK;

/*
 * Percent-decodes s in place (libmicrohttpd's unescape callback) and
 * returns the new length. %XX with two hex digits becomes that byte, %2F a
 * '/', except %00, which stays encoded so no NUL enters a path; a bad or
 * cut-off escape stays as it is, and '+' stays a '+'.
 */
size_t http_unescape(char *s);

/* A request header, a query argument (first of that name), or NULL. */
const char *http_header(struct http_req *r, const char *name);
const char *http_query(struct http_req *r, const char *name);

/* Calls fn for every query argument named name, in order. */
void http_query_each(struct http_req *r, const char *name,
		     void (*fn)(const char *value, void *arg), void *arg);

/* A response from bytes the library copies. */
struct MHD_Response *http_resp_copy(const void *data, size_t len);
/* A response that frees data (malloc'd) when sent. */
struct MHD_Response *http_resp_take(void *data, size_t len);
/* A response streaming len bytes of fd from off (sendfile); closes fd. */
struct MHD_Response *http_resp_fd(int fd, uint64_t off, uint64_t len);
/*
 * A response of len bytes that read(cls, pos, buf, max) produces as they
 * are sent (a count, or MHD_CONTENT_READER_END_WITH_ERROR to abort the
 * connection); done(cls) runs once the response is gone.
 */
struct MHD_Response *http_resp_reader(uint64_t len,
				      ssize_t (*read)(void *cls, uint64_t pos,
						      char *buf, size_t max),
				      void *cls, void (*done)(void *cls));
/* A body-less response announcing len bytes, for HEAD. */
struct MHD_Response *http_resp_head(uint64_t len);
void http_resp_header(struct MHD_Response *resp, const char *name,
		      const char *value);

/* An error as an API's table gives it: status, code, default message. */
struct http_error {
	unsigned status;
	const char *code;	/* e.g. "BLOB_UNKNOWN" */
	const char *message;
};

/*
 * The one writer of error bodies: {"errors":[{"code","message"}]}, with
 * "detail" when not NULL (the distribution spec's shape, which authd's
 * APIs share), as a JSON response for the caller to add headers to and
 * respond with.
 */
struct MHD_Response *http_error_resp(const char *code, const char *message,
				     const char *detail);

/*
 * Queues resp with status (adding X-Request-Id) and drops our reference.
 * Returns 0, or -1 when libmicrohttpd refused (the connection closes).
 */
int http_respond(struct http_req *r, unsigned status,
		 struct MHD_Response *resp);

/* Request-scoped warning: "req id=... client=... user=... method=...
 * path="...": msg" in text, the same as fields in json. Inside r's
 * callbacks log_warnx says the same (see httplog_enter). */
void rlog_warnx(struct http_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
