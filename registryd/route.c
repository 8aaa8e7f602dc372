/*
 * The router: maps each request to its handler, validates the parts of the
 * path, and answers errors in the distribution spec's JSON form. A handler
 * reads top to bottom: parse, authorize, act, respond. What a request
 * holds (query results, the manifest body, files, a temporary upload) is
 * deferred on its arena and goes when libmicrohttpd completes it.
 */
#include <stdlib.h>

#include "authz.h"
#include "blob.h"
#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "names.h"
#include "registryd.h"
#include "regmetrics.h"
#include "route.h"
#include "sql.h"
#include "storage.h"
#include "tag.h"
#include "upload.h"

const char *const route_names[ROUTE_COUNT] = {
	[ROUTE_BASE] = "base",		[ROUTE_CATALOG] = "catalog",
	[ROUTE_TAGS] = "tags",		[ROUTE_MANIFEST] = "manifest",
	[ROUTE_BLOB] = "blob",		[ROUTE_UPLOAD_START] = "upload_start",
	[ROUTE_UPLOAD] = "upload",	[ROUTE_REFERRERS] = "referrers",
	[ROUTE_HEALTHZ] = "healthz",	[ROUTE_READYZ] = "readyz",
	[ROUTE_METRICS] = "metrics",	[ROUTE_UNKNOWN] = "unknown",
};


struct registry reg;

bool
reg_name_valid(const char *name)
{
	return names_repo_valid(name);
}

bool
reg_tag_valid(const char *tag)
{
	return names_tag_valid(tag);
}

bool
reg_uuid_valid(const char *id)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(id) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		char c = id[i];
		if (shape[i] == '-' ? c != '-'
				    : !((c >= '0' && c <= '9') ||
					(c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

bool
reg_digest_valid(const char *digest)
{
	enum digest_alg alg;

	return digest_parse(digest, &alg) == DIGEST_OK;
}

int
reg_respond(struct http_req *r, unsigned status, struct MHD_Response *resp)
{
	http_resp_header(resp, "Docker-Distribution-API-Version",
			 "registry/2.0");
	return http_respond(r, status, resp);
}

int
reg_error_respond(struct http_req *r, enum reg_error e, const char *detail)
{
	struct reg_req *q = r->app;
	struct MHD_Response *resp;

	/* Once: a module's warning (db.c, storage.c) names the request. */
	if ((e == E_INTERNAL || e == E_UNAVAILABLE) && r->warnings == 0)
		rlog_warnx(r, "%s%s%s", error_message(e), detail ? ": " : "",
			   detail ? detail : "");
	/* A quota refusal's numbers are its message: clients show only
	 * that, so the table's message becomes the detail. */
	if (e == E_QUOTA_EXCEEDED && detail != NULL)
		return reg_respond(r, error_status(e),
				   http_error_resp(error_code(e), detail,
						   error_message(e)));
	resp = http_error_resp(error_code(e),
			       e == E_UNAUTHORIZED && q != NULL && q->denied
				       ? q->denied
				       : error_message(e),
			       e != E_INTERNAL ? detail : NULL);
	if (e == E_UNAUTHORIZED && q != NULL && q->challenge != NULL)
		http_resp_header(resp, "WWW-Authenticate", q->challenge);
	if (e == E_METHOD_UNKNOWN)
		http_resp_header(resp, "Allow", "GET, HEAD, PUT, PATCH, POST, "
						"DELETE");
	return reg_respond(r, error_status(e), resp);
}

struct db *
reg_db(struct http_req *r)
{
	(void)r;
	return db_thread();
}

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Splits "<name>/<kind>/<ref>" from the end; the name may hold slashes. */
static enum route
route_parse(struct http_req *r, struct reg_req *q)
{
	const char *p = r->path, *last, *prev;
	size_t len;

	if (!strcmp(p, "/v2") || !strcmp(p, "/v2/"))
		return ROUTE_BASE;
	if (!strcmp(p, "/healthz"))
		return ROUTE_HEALTHZ;
	if (!strcmp(p, "/readyz"))
		return ROUTE_READYZ;
	if (!strcmp(p, "/metrics"))
		return metrics_on_main_port() ? ROUTE_METRICS : ROUTE_UNKNOWN;
	if (strncmp(p, "/v2/", 4) != 0)
		return ROUTE_UNKNOWN;
	p += 4;
	len = strlen(p);
	if (!strcmp(p, "_catalog"))
		return ROUTE_CATALOG;
	if (ends_with(p, len, "/blobs/uploads/") ||
	    ends_with(p, len, "/blobs/uploads")) {
		q->name = arena_strndup(&r->arena, p,
					len - (p[len - 1] == '/' ? 15 : 14));
		return ROUTE_UPLOAD_START;
	}
	if (ends_with(p, len, "/tags/list")) {
		q->name = arena_strndup(&r->arena, p, len - 10);
		return ROUTE_TAGS;
	}
	if ((last = strrchr(p, '/')) == NULL || last == p)
		return ROUTE_UNKNOWN;
	for (prev = last - 1; prev > p && *prev != '/'; prev--)
		;
	if (prev == p)
		return ROUTE_UNKNOWN;
	q->ref = arena_strdup(&r->arena, last + 1);
	q->name = arena_strndup(&r->arena, p, (size_t)(prev - p));
#define PREV_IS(s) ((size_t)(last - prev - 1) == strlen(s) && \
		    !memcmp(prev + 1, s, strlen(s)))
	if (PREV_IS("manifests"))
		return ROUTE_MANIFEST;
	if (PREV_IS("referrers"))
		return ROUTE_REFERRERS;
	if (PREV_IS("blobs"))
		return ROUTE_BLOB;
	if (PREV_IS("uploads") && ends_with(p, (size_t)(prev - p), "/blobs")) {
		q->name[prev - p - 6] = '\0';
		return ROUTE_UPLOAD;
	}
#undef PREV_IS
	return ROUTE_UNKNOWN;
}

static int
respond_text(struct http_req *r, unsigned status, const char *ctype,
	     const char *text)
{
	struct MHD_Response *resp = http_resp_copy(text, strlen(text));

	http_resp_header(resp, "Content-Type", ctype);
	return reg_respond(r, status, resp);
}

static int
readyz(struct http_req *r)
{
	struct db *db = reg_db(r);
	PGresult *res = db ? db_query(db, &r->arena, Q_PING, 0, NULL) : NULL;
	char why[640];

	if (res != NULL && authz_unready(why, sizeof(why)))
		return respond_text(r, 503, "text/plain", why);
	if (res == NULL)
		return respond_text(r, 503, "text/plain",
				    "database unreachable\n");
	if (storage_unready(reg.storage, reg.storage_min_free, why,
			    sizeof(why)))
		return respond_text(r, 503, "text/plain", why);
	return respond_text(r, 200, "text/plain", "ready\n");
}

static bool
method_is(struct http_req *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static int
dispatch(struct http_req *r, struct reg_req *q)
{
	bool get = method_is(r, "GET") || r->is_head;
	enum reg_error e;

	switch (q->route) {
	case ROUTE_BASE:
		if (get && (e = authz_check(r, NULL, 0)) != E_NONE)
			return reg_error_respond(r, e, NULL);
		if (get)
			return respond_text(r, 200, "application/json", "{}");
		break;
	case ROUTE_HEALTHZ:
		if (get)
			return respond_text(r, 200, "text/plain", "ok\n");
		break;
	case ROUTE_READYZ:
		if (get)
			return readyz(r);
		break;
	case ROUTE_METRICS:
		if (get)
			return metrics_respond(r);
		break;
	case ROUTE_CATALOG:
		if (get)
			return catalog_list(r);
		break;
	case ROUTE_TAGS:
		if (get)
			return tags_list(r);
		break;
	case ROUTE_MANIFEST:
		if (get)
			return manifest_get(r);
		if (method_is(r, "DELETE"))
			return manifest_delete(r);
		break;
	case ROUTE_BLOB:
		if (get)
			return blob_get(r);
		if (method_is(r, "DELETE"))
			return blob_delete(r);
		break;
	case ROUTE_UPLOAD_START:
		if (method_is(r, "POST"))
			return upload_begin(r);
		break;
	case ROUTE_UPLOAD:
		if (get)
			return upload_status(r);
		if (method_is(r, "DELETE"))
			return upload_cancel(r);
		break;
	case ROUTE_REFERRERS:
		if (get)
			return referrers_get(r);
		break;
	case ROUTE_UNKNOWN:
	case ROUTE_COUNT:
		return reg_error_respond(r, E_NOT_FOUND, NULL);
	}
	return reg_error_respond(r, E_METHOD_UNKNOWN, NULL);
}

/* Requests whose body streams into a handler set up in begin(). */
static bool
takes_body(struct http_req *r, struct reg_req *q)
{
	if (q->route == ROUTE_MANIFEST)
		return method_is(r, "PUT");
	if (q->route == ROUTE_UPLOAD)
		return method_is(r, "PATCH") || method_is(r, "PUT");
	if (q->route == ROUTE_UPLOAD_START)
		return method_is(r, "POST") && http_query(r, "digest") != NULL;
	return false;
}

static void
body_release(void *b)
{
	buf_release(b);
}

/*
 * Answers only errors here: libmicrohttpd closes the connection after a
 * response queued before the request was read, so successful answers wait
 * for end() and the connection stays open for the next request.
 */
static int
route_begin(struct http_req *r)
{
	struct reg_req *q = arena_alloc(&r->arena, sizeof(*q));
	int ret;

	r->app = q;
	buf_init(&q->body, 0);
	arena_defer(&r->arena, body_release, &q->body);
	q->route = route_parse(r, q);
	r->route = (int)q->route;
	/* An encoded slash would move the line between name and reference. */
	if (strcasestr(r->raw_path, "%2f") != NULL)
		return reg_error_respond(r, E_NAME_INVALID, r->raw_path);
	if (q->name != NULL && !reg_name_valid(q->name))
		return reg_error_respond(r, E_NAME_INVALID, q->name);
	if (!takes_body(r, q))
		return 0;
	if (q->route == ROUTE_MANIFEST)
		return manifest_put_begin(r);
	ret = upload_begin(r);
	if (q->up != NULL)	/* route_done() takes it off */
		metric_add(&regm_uploads_in_progress, 0, 1);
	return ret;
}

static int
route_body(struct http_req *r, const char *data, size_t len)
{
	struct reg_req *q = r->app;

	if (q->up != NULL)
		return upload_body(r, data, len);
	if (q->err != E_NONE || !takes_body(r, q))
		return 0;	/* a body where none belongs is dropped */
	if (buf_append(&q->body, data, len) < 0)
		q->err = E_MANIFEST_TOO_LARGE;
	return 0;
}

static int
route_end(struct http_req *r)
{
	struct reg_req *q = r->app;

	if (q->up != NULL)
		return upload_end(r);
	if (q->err != E_NONE)
		return reg_error_respond(r, q->err, q->err_detail);
	if (takes_body(r, q))
		return manifest_put_end(r);
	return dispatch(r, q);
}

static void
route_done(struct http_req *r, bool ok)
{
	struct reg_req *q = r->app;

	if (q == NULL)
		return;
	/* The upload's file goes with the arena (upload.c). */
	if (q->up != NULL)
		metric_add(&regm_uploads_in_progress, 0, -1);
	/* blob_get() set bytes_out only for an answer with a body. */
	if (ok && q->route == ROUTE_BLOB)
		metric_add(&regm_storage_read, 0, (int64_t)r->bytes_out);
}

const struct http_handlers registry_handlers = {
	.begin = route_begin,
	.body = route_body,
	.end = route_end,
	.done = route_done,
};
