/*
 * authd's router: the token service, the JWKS, the management API under
 * /api/v1, and the health and metrics endpoints. Errors use the same JSON
 * shape as the registry: {"errors":[{"code","message"}]}. The errors of
 * these routes pair status and code once, in authd_errors[] (autherr.c);
 * the management API has a table of its own.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"

#define TOKEN_BODY_MAX (64u * 1024)
#define API_BODY_MAX (1024u * 1024)

const char *const authd_route_names[AR_COUNT] = {
	[AR_TOKEN] = "token",	  [AR_JWKS] = "jwks",
	[AR_API] = "api",	  [AR_HEALTHZ] = "healthz",
	[AR_READYZ] = "readyz",	  [AR_METRICS] = "metrics",
	[AR_UNKNOWN] = "unknown",
};

int
authd_json(struct http_req *r, unsigned status, char *text)
{
	struct MHD_Response *resp;

	if (text == NULL)
		fatalx("could not encode a JSON answer");
	resp = http_resp_take(text, strlen(text));
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	return http_respond(r, status, resp);
}

/* Error e's body, with the table's message. */
static struct MHD_Response *
error_resp(enum authd_err e)
{
	return http_error_resp(authd_errors[e].code, authd_errors[e].message,
			       NULL);
}

int
authd_fail(struct http_req *r, enum authd_err e, const char *message)
{
	const struct http_error *err = &authd_errors[e];

	return authd_error(r, err->status, err->code,
			   message ? message : err->message);
}

int
authd_error(struct http_req *r, unsigned status, const char *code,
	    const char *message)
{
	struct MHD_Response *resp = http_error_resp(code, message, NULL);

	http_resp_header(resp, "Cache-Control", "no-store");
	return http_respond(r, status, resp);
}

int
authd_unauthorized(struct http_req *r)
{
	struct MHD_Response *resp = error_resp(AERR_UNAUTHORIZED);

	http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"berth\"");
	return http_respond(r, authd_errors[AERR_UNAUTHORIZED].status, resp);
}

int
authd_refused(struct http_req *r, enum cred_result cr,
	      const struct principal *p)
{
	enum authd_err e = AERR_DATABASE;
	struct MHD_Response *resp;
	char wait[16];

	if (cr == CRED_BAD || cr == CRED_OK)
		return authd_unauthorized(r);
	if (cr == CRED_THROTTLED)
		e = AERR_THROTTLED;
	else if (cr == CRED_BUSY)
		e = AERR_BUSY;
	resp = error_resp(e);
	http_resp_header(resp, "Cache-Control", "no-store");
	if (cr != CRED_ERROR && p->retry_after > 0) {
		snprintf(wait, sizeof(wait), "%d", p->retry_after);
		http_resp_header(resp, "Retry-After", wait);
	}
	return http_respond(r, authd_errors[e].status, resp);
}

static enum authd_route
route_of(const char *path)
{
	if (!strcmp(path, "/token"))
		return AR_TOKEN;
	if (!strcmp(path, "/jwks") || !strcmp(path, "/.well-known/jwks.json"))
		return AR_JWKS;
	if (!strncmp(path, "/api/v1/", 8) || !strcmp(path, "/api/v1"))
		return AR_API;
	if (!strcmp(path, "/healthz"))
		return AR_HEALTHZ;
	if (!strcmp(path, "/readyz"))
		return AR_READYZ;
	if (!strcmp(path, "/metrics"))
		return metrics_on_main_port() ? AR_METRICS : AR_UNKNOWN;
	return AR_UNKNOWN;
}

static int
text(struct http_req *r, unsigned status, const char *body)
{
	struct MHD_Response *resp = http_resp_copy(body, strlen(body));

	http_resp_header(resp, "Content-Type", "text/plain");
	return http_respond(r, status, resp);
}

static int
dispatch(struct http_req *r, struct authd_req *q)
{
	bool get = !strcmp(r->method, "GET") || r->is_head;
	struct db *db;

	if (q->too_large)
		return authd_fail(r, AERR_BODY_TOO_LARGE, NULL);
	switch (q->route) {
	case AR_TOKEN:
		if (get)
			return token_get(r);
		if (!strcmp(r->method, "POST"))
			return token_post(r);
		break;
	case AR_JWKS:
		if (get)
			return jwks_get(r);
		break;
	case AR_API:
		if (!strcmp(r->path, "/api/v1/ldap/sync"))
			return ldapsync_handle(r);
		return api_handle(r);
	case AR_HEALTHZ:
		return text(r, 200, "ok\n");
	case AR_READYZ:
		if ((db = db_thread()) == NULL ||
		    db_query(db, &r->arena, A_PING, 0, NULL) == NULL)
			return text(r, 503, "database unreachable\n");
		return text(r, 200, "ready\n");
	case AR_METRICS:
		return metrics_respond(r);
	case AR_UNKNOWN:
	case AR_COUNT:
		return authd_fail(r, AERR_NO_ENDPOINT, NULL);
	}
	return authd_fail(r, AERR_METHOD, NULL);
}

static int
authd_begin(struct http_req *r)
{
	struct authd_req *q = arena_alloc(&r->arena, sizeof(*q));

	r->app = q;
	q->route = route_of(r->path);
	r->route = (int)q->route;
	buf_init(&q->body, q->route == AR_API ? API_BODY_MAX : TOKEN_BODY_MAX);
	return 0;
}

static int
authd_body(struct http_req *r, const char *data, size_t len)
{
	struct authd_req *q = r->app;

	if (!q->too_large && buf_append(&q->body, data, len) < 0)
		q->too_large = true;
	return 0;
}

static int
authd_end(struct http_req *r)
{
	return dispatch(r, r->app);
}

static void
authd_done(struct http_req *r, bool ok)
{
	struct authd_req *q = r->app;

	(void)ok;
	if (q != NULL)
		buf_release(&q->body);
}

const struct http_handlers authd_handlers = {
	.begin = authd_begin,
	.body = authd_body,
	.end = authd_end,
	.done = authd_done,
};
