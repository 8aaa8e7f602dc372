/*
 * The HTTP layer's identity of a request and its log lines: the request
 * id (the client's X-Request-Id when valid), the client address (from a
 * trusted proxy's Forwarded or X-Forwarded-For), the access log line and
 * the log context that names the request in every other line, in the text
 * or json format of lib/log.c.
 */
#ifndef BERTH_HTTPLOG_H
#define BERTH_HTTPLOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "netaddr.h"

/* The longest X-Request-Id kept (longer ones are replaced). */
#define HTTPLOG_ID_MAX 64

/* Whether s may serve as a request id: 1 to 64 of [A-Za-z0-9._:-]. */
bool httplog_id_valid(const char *s);

/*
 * Once the headers are in: keeps a valid X-Request-Id as r->id (else the
 * generated one stays) and, when the peer is inside trusted, takes
 * r->client from its Forwarded or X-Forwarded-For header (see
 * netaddr_forwarded_client; anything unusable keeps the peer).
 */
void httplog_identify(struct http_req *r, const struct netaddr_set *trusted);

/* The access log line (info) of a finished request; route may be NULL. */
void httplog_request(const struct http_req *r, const char *route, bool ok,
		     uint64_t ns);

/*
 * Makes r this thread's log context (log_ctx_set): until httplog_leave,
 * every line the thread logs names r's id, client, user, method and path
 * ("req id=... client=... user=... method=... path=\"...\": msg" in text),
 * and the warnings among them count in r->warnings. r must outlive the
 * context. lib/http.c enters on each callback of a request, leaves on
 * its way out.
 */
void httplog_enter(struct http_req *r);
/* Clears this thread's log context. */
void httplog_leave(void);

/* A warning naming r, in or out of r's context (rlog_warnx's body). */
void httplog_vwarn(struct http_req *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
