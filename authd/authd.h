/*
 * authd's private declarations: settings, the principal a request acts
 * as, prepared statements, and what each module exports.
 */
#ifndef BERTH_AUTHD_H
#define BERTH_AUTHD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "http.h"
#include "jwk.h"
#include "jwt.h"

/* The published keys; the last one signs. Immutable once published. */
struct signing_keys {
	struct jwt_key **keys;
	int n;
	struct signing_keys *older;	/* replaced sets, freed at exit */
};

/* The current set, read once per use so keys and count always agree. */
const struct signing_keys *authd_signing(void);

struct authd_config {
	const char *service;		/* the registry's name: token "aud" */
	const char *issuer;		/* token "iss" */
	long long token_ttl;		/* seconds */
	long long refresh_ttl;
	struct signing_keys *signing;	/* swapped whole by SIGHUP */
	/* Failed password logins delay one account from one address (a
	 * pair), and one address's password logins (NAT: many users), for
	 * lockout_delay * 2^(failures - threshold) s, at most
	 * lockout_duration; forgotten lockout_window s after the last. */
	long long lockout_threshold;	/* a pair's failures */
	long long lockout_addr_threshold; /* an address's */
	long long lockout_window;	/* seconds */
	long long lockout_delay;	/* seconds: the first delay */
	long long lockout_duration;	/* seconds: the longest delay */
	long long cred_cache_ttl;	/* seconds a verified password is cached */
	long long audit_retention_days;	/* 0: records are kept forever */
};

extern struct authd_config authd;

enum authd_route {
	AR_TOKEN,
	AR_JWKS,
	AR_API,
	AR_HEALTHZ,
	AR_READYZ,
	AR_METRICS,
	AR_UNKNOWN,
	AR_COUNT
};

extern const char *const authd_route_names[AR_COUNT];
extern const struct http_handlers authd_handlers;

/* The state of one authd request (http_req.app). */
struct authd_req {
	enum authd_route route;
	struct buf body;	/* form or JSON body, bounded */
	bool too_large;
};

enum principal_kind { P_ANONYMOUS, P_USER, P_SERVICE };

/* Who a request acts as, once its credentials are checked. */
struct principal {
	enum principal_kind kind;
	int64_t id;		/* users.id or service_accounts.id */
	char name[160];		/* "alice", "acme+ci" or "anonymous" */
	bool is_admin;
	/* How it logged in, for the audit trail: "password" (local or
	 * directory), "pat", "service" or "refresh"; NULL for anonymous. */
	const char *via;
	char token_id[37];	/* the token's uuid when via a token, else "" */
	/* Set when the credential was an access token with limits (see
	 * schema/0004_identity.sql). */
	bool token_read_only;	/* pull only */
	bool token_repos;	/* only the repositories of its list */
	/* When a check answers CRED_THROTTLED or CRED_BUSY: the seconds
	 * the client should wait (Retry-After). */
	int retry_after;
};

/* Whether p logged in with a personal access token. */
#define PRINCIPAL_PAT(p) ((p)->via != NULL && !strcmp((p)->via, "pat"))

/* Prepared statements (authsql.c). */
enum authd_stmt {
	A_USER_BY_NAME,
	A_SA_BY_LOGIN,
	A_TOKEN_BY_ID,
	A_TOKEN_TOUCH,
	A_TOKEN_INSERT,
	A_REPO_LEVEL,
	A_TOKEN_LEVEL,
	A_THROTTLE_GET,
	A_THROTTLE_FAIL,
	A_THROTTLE_CLEAR,
	A_THROTTLE_PURGE,
	A_AUDIT,
	A_AUDIT2,
	A_USER_CREATE_NS,
	A_USER_CREATE,
	A_USER_BY_ID,
	A_SA_BY_ID,
	A_LDAP_NS_CREATE,
	A_LDAP_USER_CREATE,
	A_LDAP_USER_UPDATE,
	A_LDAP_TEAMS_ADD,
	A_LDAP_ORGS_ADD,
	A_LDAP_TEAMS_REMOVE,
	A_LDAP_ADMIN_SET,
	A_LDAP_USERS,
	A_LDAP_DISABLE,
	A_LDAP_TEAM_DNS,
	A_PING,
	A_AUDIT_PURGE,
	A_COUNT
};

extern const struct db_stmt authd_stmts[A_COUNT];

/*
 * The management API's statements (apisql.c) are numbered from A_COUNT on
 * and prepared with the rest: main.c joins the two tables.
 */
extern const struct db_stmt api_stmts[];
extern const int api_stmts_count;

/* Answers (endpoint.c): errors as {"errors":[{code,message,detail}]}. */
int authd_error(struct http_req *r, unsigned status, const char *code,
		const char *message);

/*
 * The errors of authd's own routes (the token service, the JWKS, health
 * and the directory sync; the management API has its own table), each a
 * status and code paired once in authd_errors[] (autherr.c).
 */
enum authd_err {
	AERR_BODY_TOO_LARGE,	/* 413 SIZE_INVALID */
	AERR_NO_ENDPOINT,	/* 404 NOT_FOUND */
	AERR_METHOD,		/* 405 UNSUPPORTED */
	AERR_DATABASE,		/* 503 UNAVAILABLE */
	AERR_UNAUTHORIZED,	/* 401 UNAUTHORIZED, asks for Basic */
	AERR_THROTTLED,		/* 429 TOOMANYREQUESTS */
	AERR_BUSY,		/* 503 UNAVAILABLE: every hash slot busy */
	AERR_SIGN,		/* 500 UNKNOWN */
	AERR_SERVICE,		/* 400 UNSUPPORTED: not our service */
	AERR_GRANT_TYPE,	/* 400 UNSUPPORTED */
	AERR_POST_ONLY,		/* 405 UNSUPPORTED */
	AERR_ADMIN_ONLY,	/* 403 DENIED */
	AERR_NO_DIRECTORY,	/* 400 UNSUPPORTED */
	AERR_SYNC_UNREACHABLE,	/* 503 UNAVAILABLE */
	AERR_SYNC_REFUSED,	/* 409 SYNC_REFUSED */
	AERR_COUNT
};
extern const struct http_error authd_errors[AERR_COUNT];
/* Answers error e of the table, through authd_error, with its message
 * or, when message is not NULL, that one. */
int authd_fail(struct http_req *r, enum authd_err e, const char *message);
/* A 401 asking for Basic credentials (AERR_UNAUTHORIZED). */
int authd_unauthorized(struct http_req *r);
/* The address in the login delay keys for client address addr
 * (throttlekey.c): an IPv6 address by its /64, which one client may hold
 * whole; caller frees. */
char *throttlekey_addr(const char *addr);
/* Drops throttle keys quiet for lockout_window (housekeeping). */
void credential_throttle_purge(struct db *db);
int authd_json(struct http_req *r, unsigned status, char *text);

/*
 * Passwords (password.c): argon2id, at most `slots` hashes at once (0: no
 * limit) and as many waiting, each at most wait_ms; the others are shed.
 * Called once before serving.
 */
void password_queue_init(int slots, long wait_ms);
/* A new hash (caller frees), or NULL when shed. */
char *password_hash(const char *password);
enum password_match { PW_MATCH, PW_MISMATCH, PW_BUSY };
enum password_match password_verify(const char *encoded,
				    const char *password);
/* Spends the time of a verification, for unknown users: PW_MISMATCH, or
 * PW_BUSY when shed. */
enum password_match password_verify_dummy(const char *password);
/* A fresh random password of 24 characters (caller frees); it always
 * passes password_policy. */
char *password_generate(void);
#define PASSWORD_MIN 8
#define PASSWORD_MIN_TEXT "8"
#define PASSWORD_MAX 1024
#define PASSWORD_MAX_TEXT "1024"
/*
 * The password policy of every local account, the API's and the
 * bootstrap administrator's alike: NULL when password is acceptable,
 * else why not (a static message).
 */
const char *password_policy(const char *password);

/* Credentials (credential.c). */
enum cred_result {
	CRED_OK,
	CRED_BAD,	/* 401 */
	CRED_ERROR,	/* the database failed: 503 */
	CRED_THROTTLED,	/* too many failures: 429, out->retry_after */
	CRED_BUSY,	/* every hash slot busy: 503, out->retry_after */
};
/*
 * Checks a login name and secret (a password, a personal access token or
 * a service account token) from client address addr, and audits the
 * attempt. A password is refused without being looked at while its
 * (account, address) pair or its address is delayed (CRED_THROTTLED);
 * its failures start or lengthen those delays. Tokens are never
 * throttled, and their failures count toward nothing. The answer for an
 * account an administrator locked or an unknown user is CRED_BAD, as for
 * a wrong password, after the same work and whatever the password.
 */
enum cred_result credential_check(struct db *db, const char *addr,
				  const char *login, const char *secret,
				  struct principal *out);
/*
 * As credential_check, but a success is not audited: the caller records
 * it together with what it did (the token endpoint: one write, not two).
 */
enum cred_result credential_check_unaudited(struct db *db, const char *addr,
					    const char *login,
					    const char *secret,
					    struct principal *out);
/*
 * Reads "Authorization: Basic"; returns 1 with malloc'd *user and *pass,
 * 0 when absent, -1 when malformed.
 */
int credential_basic(struct http_req *r, char **user, char **pass);
/* A token secret for kind ('personal', 'service', 'refresh') of owner,
 * stored hashed; returns the secret to show once (caller frees). */
char *credential_token_create(struct db *db, const char *kind,
			      const struct principal *owner, const char *name,
			      long long ttl);
/*
 * As credential_token_create, with limits: read_only "t" or "f" and
 * repos_json a JSON array of names and "ns/..." prefixes, each NULL to keep
 * those of the token owner->token_id names (none when it is empty).
 * credential_token_create passes NULL for both: a refresh token issued to
 * a limited token's login is just as limited.
 */
char *credential_token_create_limited(struct db *db, const char *kind,
				      const struct principal *owner,
				      const char *name, long long ttl,
				      const char *read_only,
				      const char *repos_json);
/* Whether p logged in with an access token that has limits. */
#define PRINCIPAL_LIMITED(p) ((p)->token_read_only || (p)->token_repos)
/* The answer (endpoint.c) for a refused credential check: 401, 429 or 503 (with
 * Retry-After when p says how long). */
int authd_refused(struct http_req *r, enum cred_result cr,
		  const struct principal *p);
/* Resolves a refresh token to its owner; CRED_BAD when unusable. */
enum cred_result credential_refresh(struct db *db, const char *token,
				    struct principal *out);

/* Scopes (scope.c). */
/*
 * Parses one scope "type:name:actions" (name may hold a port colon, as in
 * "repository:host:5000/x:pull"). -1 when malformed.
 */
int scope_parse(const char *s, struct jwt_access *out) MUST_CHECK;
/* Narrows a->actions to what p may do (possibly to none); the query
 * results go with arena (the request's). -1 on a database error. */
int scope_grant(struct db *db, struct arena *arena, const struct principal *p,
		struct jwt_access *a) MUST_CHECK;

/* Tokens (token.c). */
int token_get(struct http_req *r);
int token_post(struct http_req *r);
int jwks_get(struct http_req *r);

/* Audit (audit.c): never fails the caller; a failed write is logged. */
void audit_write(struct db *db, const char *actor, const char *action,
		 const char *target, const char *client, bool success,
		 const char *detail_json);
/*
 * Token issuing's records, by one actor in one write, committed without
 * waiting for the disk (action2 may be NULL for a single record).
 */
void audit_write2(struct db *db, const char *actor, const char *client,
		  const char *action1, const char *target1,
		  const char *detail1, const char *action2,
		  const char *target2, const char *detail2);

/*
 * Deletes audit records older than authd.audit_retention_days, at most
 * max_batches batches of AUDIT_PURGE_BATCH rows (0: until none is left).
 * Returns the number deleted, or -1 (logged) on a database error.
 */
long long audit_purge(struct db *db, int max_batches);
#define AUDIT_PURGE_BATCH 10000

/* Directory users (ldapsync.c). */
struct ldapauth_user;
/*
 * Creates or refreshes the Berth user for a directory login and syncs the
 * teams linked to the user's groups (and system administration, when an
 * admin group is set). Refuses a name that a local account or an
 * organization holds. Fills *out on success.
 */
int ldapsync_provision(struct db *db, const struct ldapauth_user *u,
		       struct principal *out) MUST_CHECK;
/* Whether directory user id (name) is still valid; cached for
 * credential_cache_ttl seconds. */
bool ldapsync_still_valid(int64_t id, const char *name);
/* What a full sync did, or why it disabled nobody. */
struct ldapsync_report {
	int users;		/* directory users checked */
	int gone;		/* found gone or disabled in the directory */
	int disabled;		/* disabled in Berth (0 when aborted) */
	char why[256];		/* "" or why nobody was disabled */
	bool unreachable;	/* searches failed (else: the share limit) */
};
/*
 * Rechecks every directory user: syncs the teams of those found and
 * disables the gone, unless a search failed or more than
 * ldapsync_max_disable_percent of the users (and more than one) would go:
 * then it disables nobody, and logs and audits why. Fills *rep; returns
 * the number disabled, or -1 when it disabled nobody for one of those
 * reasons (or the database failed).
 */
int ldapsync_run(struct db *db, struct ldapsync_report *rep);
/* ldapsync_run without the report. */
int ldapsync_all(struct db *db);
extern int ldapsync_max_disable_percent;
/* POST /api/v1/ldap/sync (system administrators). */
int ldapsync_handle(struct http_req *r);
/* The group whose members are system administrators, or NULL. */
extern const char *ldapsync_admin_group;
/* Whether the directory is Active Directory (login name forms). */
extern bool authd_ldap_ad;

/* Management API (api.c). */
int api_handle(struct http_req *r);

/* Forms (form.c): application/x-www-form-urlencoded and query decoding. */
/* The decoded value of key in an urlencoded body, or NULL (caller frees). */
char *form_get(const char *body, size_t len, const char *key);
/* Calls fn for each value of key, decoded. */
void form_each(const char *body, size_t len, const char *key,
	       void (*fn)(const char *value, void *arg), void *arg);

#endif
