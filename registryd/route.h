/*
 * The router (route.c): the state of one request, the routes, the one
 * place that answers errors, and the checks of the parts of a path. Every
 * handler module includes this header.
 */
#ifndef BERTH_ROUTE_H
#define BERTH_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "http.h"

enum route {
	ROUTE_BASE,
	ROUTE_CATALOG,
	ROUTE_TAGS,
	ROUTE_MANIFEST,
	ROUTE_BLOB,
	ROUTE_UPLOAD_START,
	ROUTE_UPLOAD,
	ROUTE_REFERRERS,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS,
	ROUTE_UNKNOWN,
	ROUTE_COUNT
};

extern const char *const route_names[ROUTE_COUNT];

struct upload_state;

/* The state of one registry request (http_req.app). */
struct reg_req {
	enum route route;
	char *name;		/* repository name, validated */
	char *ref;		/* tag, digest or upload id, as routed */
	enum reg_error err;	/* set by a body handler, answered at end */
	const char *err_detail;
	struct buf body;	/* bounded body (manifests) */
	struct upload_state *up;	/* streaming upload, see upload.c */
	char *challenge;	/* WWW-Authenticate for a 401, see authz.c */
	const char *subject;	/* the token's "sub"; "" when anonymous */
	/* How the subject logged in (the token's "berth" claim), for the
	 * audit log: "password", "pat", "service", "refresh", or NULL. */
	const char *kind;
	const char *tid;	/* the access token's id, or NULL */
	int64_t pid;		/* users.id or service_accounts.id, or 0 */
	const char *denied;	/* why a valid token falls short, see authz.c */
};

extern const struct http_handlers registry_handlers;

/* Answers error e with an optional detail, in the distribution spec's
 * JSON form; E_INTERNAL and E_UNAVAILABLE are logged. */
int reg_error_respond(struct http_req *r, enum reg_error e,
		      const char *detail);
/* A response with the registry's common headers. */
int reg_respond(struct http_req *r, unsigned status,
		struct MHD_Response *resp);
/* The request's database connection; NULL means answer 503. */
struct db *reg_db(struct http_req *r);

/* Validation of the parts of a path. */
bool reg_name_valid(const char *name);
bool reg_tag_valid(const char *tag);
bool reg_uuid_valid(const char *id);
/* A digest of the grammar with an algorithm we support. */
bool reg_digest_valid(const char *digest);

#endif
