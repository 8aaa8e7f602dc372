/*
 * registryd's private declarations: the server-wide settings, the state of
 * one request, the prepared statements, and the handlers each module
 * exports to the router.
 */
#ifndef BERTH_REGISTRYD_H
#define BERTH_REGISTRYD_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "digest.h"
#include "error.h"
#include "http.h"

/* Settings every node needs at request time (read-only after start). */
struct registry {
	const char *storage_root;
	char **foreign_allow;	/* URL prefixes a foreign layer may use */
	int n_foreign_allow;
	char **foreign_deny;
	int n_foreign_deny;
	/* Token auth; off when auth_realm is NULL. */
	const char *auth_realm;		/* authd's /token URL, for challenges */
	const char *auth_service;	/* expected "aud" */
	const char *auth_issuer;	/* expected "iss" */
	const char *auth_jwks_url;	/* authd's JWKS, fetched and cached */
	const char *auth_ca_file;	/* CAs for an https JWKS; NULL: system */
	int auth_leeway;		/* seconds of clock skew allowed */
	bool audit_pulls;		/* audit manifest GETs too */
	/* Uploads (upload.c); 0 means no limit. */
	uint64_t max_blob_size;		/* bytes */
	long long max_uploads_per_user;	/* open sessions per subject */
	long long max_uploads_per_repo;	/* open sessions per repository */
	uint64_t storage_min_free;	/* bytes; less: /readyz says 503 */
};

/* Foreign layer URLs allowed by the configured prefixes (manifest.c). */
bool foreign_url_allowed(const char *url);

extern struct registry reg;

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

/* Prepared statements (registryd/sql.c). */
enum stmt {
	Q_REPO_ID,
	Q_REPO_ENSURE,
	Q_BLOB_IN_REPO,
	Q_BLOB_ANY_REPO,
	Q_BLOB_INSERT,
	Q_BLOB_LINK,
	Q_BLOB_UNLINK,
	Q_UPLOAD_INSERT,
	Q_UPLOAD_GET,
	Q_UPLOAD_UPDATE,
	Q_UPLOAD_DELETE,
	Q_MANIFEST_BY_DIGEST,
	Q_MANIFEST_HEAD_BY_DIGEST,
	Q_MANIFEST_BY_TAG,
	Q_MANIFEST_HEAD_BY_TAG,
	Q_MANIFEST_MISSING_BLOBS,
	Q_MANIFEST_MISSING_CHILDREN,
	Q_MANIFEST_INSERT,
	Q_MANIFEST_REFS_INSERT,
	Q_MANIFEST_DELETE,
	Q_TAG_PUT,
	Q_TAG_DELETE,
	Q_TAGS_LIST,
	Q_CATALOG,
	Q_REFERRERS,
	Q_REFERRERS_FILTERED,
	Q_GC_QUEUE_BLOB,
	Q_GC_QUEUE_MANIFEST_BLOBS,
	Q_UPLOAD_PURGE,
	Q_UPLOAD_EXISTS,
	Q_CATALOG_FOR,
	Q_BLOB_READABLE,
	Q_PING,
	Q_AUDIT_BATCH,
	Q_TAG_OLD,
	Q_UPLOAD_EXPIRE,
	Q_COUNT
};

extern const struct db_stmt registry_stmts[Q_COUNT];

extern const struct http_handlers registry_handlers;

/* Answering (route.c). */
int reg_error_respond(struct http_req *r, enum reg_error e,
		      const char *detail);
/* A response with the registry's common headers. */
int reg_respond(struct http_req *r, unsigned status,
		struct MHD_Response *resp);
/* The request's database connection; NULL means answer 503. */
struct db *reg_db(struct http_req *r);
/* The repository's id, or 0 when unknown; -1 on a database error. */
int64_t reg_repo_id(struct db *db, const char *name);
/* The repository's id, creating the repository; -1 on error. */
int64_t reg_repo_ensure(struct db *db, const char *name);

/* Validation (route.c). */
bool reg_name_valid(const char *name);
bool reg_tag_valid(const char *tag);
bool reg_uuid_valid(const char *id);
/* A digest of the grammar with an algorithm we support. */
bool reg_digest_valid(const char *digest);

/* Authorization seam (authz.c). */
enum authz_action {
	AUTHZ_PULL = 1 << 0,
	AUTHZ_PUSH = 1 << 1,
	AUTHZ_DELETE = 1 << 2,
	AUTHZ_CATALOG = 1 << 3,
};
/*
 * E_NONE when the request's bearer token grants actions on repository
 * name (name NULL: the catalog for AUTHZ_CATALOG, or any valid token for
 * 0). Otherwise E_UNAUTHORIZED with the challenge naming the scope set in
 * the request, for reg_error_respond().
 */
enum reg_error authz_check(struct http_req *r, const char *name,
			   unsigned actions);
/* Adds a scope to the challenge of a refused request (mount's from). */
void authz_challenge_add(struct http_req *r, const char *name,
			 unsigned actions);
/* Loads keys (PEM files, comma-separated) and the JWKS; -1 (logged). */
int authz_init(const char *key_files) MUST_CHECK;
void authz_release(void);
/* Housekeeping: refetches the JWKS when it is a minute old, or a second
 * old while there is no key. */
void authz_tick(void);
/* Whether token auth is on but there is no key to verify with yet. */
bool authz_waiting(void);
/* Then writes why ("no keys to verify tokens with: ...\n") and is true. */
bool authz_unready(char *why, size_t len);

/* Handlers: begin may answer; body and end as in http.h. */
int blob_get(struct http_req *r);
int blob_delete(struct http_req *r);
int upload_begin(struct http_req *r);
int upload_body(struct http_req *r, const char *data, size_t len);
int upload_end(struct http_req *r);
void upload_done(struct http_req *r, bool ok);
int upload_status(struct http_req *r);
int upload_cancel(struct http_req *r);
/*
 * Ends upload sessions idle for more than ttl seconds and removes upload
 * files that no session owns (a crashed monolithic upload's), on any node.
 * A file some request holds locked (a PATCH still arriving) is left alone.
 */
void upload_purge(struct db *db, long long ttl);
int manifest_get(struct http_req *r);
int manifest_put_begin(struct http_req *r);
int manifest_put_end(struct http_req *r);
int manifest_delete(struct http_req *r);
int referrers_get(struct http_req *r);
int tags_list(struct http_req *r);
int catalog_list(struct http_req *r);

/* Audit log (auditlog.c). */
/*
 * Starts the writer thread with a queue of capacity records (0: registry
 * auditing off). -1 (logged) when the thread cannot start.
 */
int auditlog_start(long long capacity) MUST_CHECK;
/* Writes what is queued and stops the writer; after http_stop(). */
void auditlog_stop(void);
/* Whether records are kept (the writer runs). */
bool auditlog_enabled(void);
/*
 * Queues a record of action on the request's repository by the request's
 * subject, with the reference, digest and previous digest (each may be
 * NULL). Never blocks on I/O; drops the record when the queue is full.
 */
void auditlog_add(struct http_req *r, const char *action, const char *ref,
		  const char *digest, const char *old_digest);

/* Parses a Content-Range "start-end" (inclusive); -1 when malformed or
 * when end is 2^63 - 1 or more (a length that would not fit an off_t). */
int range_parse_upload(const char *s, uint64_t *start, uint64_t *end)
	MUST_CHECK;
/*
 * Parses a request Range "bytes=a-b" for a resource of size bytes into an
 * [off, off+len) span. 0 = satisfiable, -1 = malformed (serve it all),
 * -2 = unsatisfiable (416).
 */
int range_parse_request(const char *s, uint64_t size, uint64_t *off,
			uint64_t *len) MUST_CHECK;

#endif
