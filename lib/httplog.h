/*
 * The HTTP layer's identity of a request and its log lines: the request
 * id (the client's X-Request-Id when valid), the client address (from a
 * trusted proxy's Forwarded or X-Forwarded-For), the access log line and
 * request-scoped warnings, in the text or json format of lib/log.c.
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

/* A warning naming the request (rlog_warnx's body). */
void httplog_vwarn(const struct http_req *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
