/*
 * The management API's private declarations: the request every handler
 * works on, the helpers that parse, authorize, run SQL and answer (api.c),
 * grants and tokens shared by several resources (apigrant.c, apitoken.c),
 * and the API's errors; the statements and their rows are in apisql.h.
 *
 * Convention: a helper returns 0 to go on, or -1 once it has answered the
 * request with an error; a handler returns the same, so a failure just
 * propagates with `return -1` and nothing answers twice. Results go with
 * the request's arena: nothing here is PQclear()ed by hand.
 */
#ifndef BERTH_API_H
#define BERTH_API_H

#include <jansson.h>

#include "apisql.h"
#include "authd.h"

#define API_MAX_ARGS 3

/*
 * One management API request, from authentication to its answer. uid and
 * sid are who.id as text for SQL when the caller is a user or a service
 * account (the other is NULL); arg holds the path's captures in order.
 */
struct api {
	struct http_req *r;
	struct db *db;
	struct principal who;
	const char *uid, *sid;
	char idtext[24];
	json_t *body; /* the JSON object sent ({} when none) */
	const char *arg[API_MAX_ARGS];
	int rc; /* what answering returned */
};

/*
 * A route: method, and a pattern of path segments under /api/v1 where "*"
 * captures one segment and "**" one or more (a repository name); the
 * segments after "**" are matched from the end of the path.
 */
struct api_route {
	const char *method;
	const char *pattern;
	int (*handler)(struct api *c);
};

/* Each table ends with a { NULL } entry. */
extern const struct api_route apiuser_routes[];
extern const struct api_route apiorg_routes[];
extern const struct api_route apisa_routes[];
extern const struct api_route apirepo_routes[];
extern const struct api_route apigc_routes[];
extern const struct api_route apiquota_routes[];
extern const struct api_route apipolicy_routes[];
extern const struct api_route apiretain_routes[];

/*
 * The API's errors: api.c's table gives each its status, code and default
 * message, so that a call names only the error and what went wrong.
 */
enum api_error {
	AE_BAD_REQUEST,	 /* 400 BAD_REQUEST: a bad body, field or query */
	AE_NAME_INVALID, /* 400 NAME_INVALID: outside a name's grammar */
	AE_DENIED,	 /* 403 DENIED */
	AE_NOT_FOUND,	 /* 404 NOT_FOUND, also for what one may not see */
	AE_METHOD,	 /* 405 UNSUPPORTED */
	AE_CONFLICT,	 /* 409 CONFLICT */
	AE_UNAVAILABLE,	 /* 503 UNAVAILABLE */
	AE_COUNT
};

/* Answers (api.c). Each steals doc, answers once and returns 0 or -1. */
int api_reply(struct api *c, unsigned status, json_t *doc);
/* 204 No Content; returns 0. */
int api_no_content(struct api *c);
/* Answers error e with the message fmt formats (NULL: the table's);
 * always returns -1. */
int api_fail(struct api *c, enum api_error e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answers for the last failed statement (409 on a conflict, else 503). */
int api_db_fail(struct api *c, const char *what);

/* SQL (api.c). */
/* db_query in the request's arena (the result goes with the request);
 * NULL after answering the failure (caller just returns -1). */
PGresult *api_exec(struct api *c, int stmt, int n, const char *const *p);
/* As api_exec, with what (freed with the request) naming the object in a
 * conflict's answer: "name \"acme\" already exists". */
PGresult *api_exec_what(struct api *c, int stmt, int n, const char *const *p,
			const char *what);
/* Runs an UPDATE or DELETE: the rows it touched, or -1 (answered). */
int api_exec_count(struct api *c, int stmt, int n, const char *const *p);
/*
 * Runs fn(c, arg) in one transaction (db_tx): 0 once committed; -1 once
 * answered, after fn's own failure (answered by fn) or BEGIN's or
 * COMMIT's (409 on a conflict, else 503), all rolled back. fn answers
 * only errors: the handler answers success after the commit.
 */
int api_tx(struct api *c, int (*fn)(struct api *c, void *arg), void *arg);
/* The JSON text in column col of row (caller decrefs); aborts on a bad
 * document, which only our own SQL produces. */
json_t *api_json_col(const PGresult *res, int row, int col);
/*
 * Runs stmt, whose first column is the JSON object to send, and answers
 * status with it; 404 "<what> not found" when there is no row.
 */
int api_reply_row(struct api *c, unsigned status, int stmt, int n,
		  const char *const *p, const char *what);
/*
 * A page of a list: stmt returns (cursor key, JSON object) rows; p[n-1] is
 * left for the limit, which comes from ?limit= (default 100, at most
 * 1000), and the caller sets the cursor parameter (api_after()). Answers
 * {"items":[...],"next":key or null}.
 */
int api_list(struct api *c, int stmt, int n, const char **p);
/* ?after=, or "" (before every name). */
const char *api_after(struct api *c);

/* The change log: action ("user.create") on target by the caller, with
 * detail (stolen; NULL for none). */
void api_audit(struct api *c, const char *action, const char *target,
	       json_t *detail);

/* Body fields (api.c); each answers 400 on a bad value. */
/* Refuses fields other than those listed (NULL-terminated). */
int api_fields(struct api *c, const char *const *allowed);
/* A string of at most max bytes without control characters; absent or
 * null gives NULL unless required. */
int api_str(struct api *c, const char *key, bool required, size_t max,
	    const char **out);
/* A boolean as "t" or "f" for SQL, or NULL when absent. */
int api_bool(struct api *c, const char *key, const char **out);
/* A required name (users, organizations, teams, service accounts). */
int api_name(struct api *c, const char *key, const char **out);
/* A required "level": "read", "write" or "admin", as "1" to "3". */
int api_level(struct api *c, const char **out);
/* [a-z0-9]+([._-][a-z0-9]+)*, at most 64 bytes: a namespace component. */
bool api_name_valid(const char *s);

/* Authorization (api.c). */
int api_need_admin(struct api *c);
/* Refuses service accounts (403). */
int api_need_user(struct api *c);
/*
 * Refuses (403) a caller that logged in with a personal access token: it
 * may not do what (mint tokens, change a password), which would outlive
 * the token or take the account over.
 */
int api_need_password(struct api *c, const char *what);

/* A user looked up by name: 404 when there is none. */
struct api_user {
	char id[24];
	const char *name;
	bool admin, disabled, local;
};
int api_user(struct api *c, const char *name, struct api_user *u);

/* An organization and the caller's relation to it. */
struct api_org {
	char id[24];
	const char *name;
	bool owner; /* an owner, or a system administrator */
};
/*
 * Finds organization name for the caller: 404 when it does not exist or
 * the caller is neither a member nor an administrator; with manage, 403
 * unless the caller is an owner or an administrator.
 */
int api_org(struct api *c, const char *name, bool manage, struct api_org *o);
/*
 * Refuses (409) to delete namespace name while repositories remain in it,
 * unless ?delete_repositories=true (or its older spelling ?force=true)
 * asks to delete them with it: whoever took the name next would own them.
 */
int api_ns_check_empty(struct api *c, const char *name);
/*
 * In the caller's transaction, deletes every repository of namespace name
 * (tags, manifests, blob links; the blobs queued for garbage collection)
 * and the grants on them; *n is how many. Called by every namespace
 * delete, after api_ns_check_empty, so that a repository pushed in
 * between goes too rather than to the name's next owner.
 */
int apirepo_purge_ns(struct api *c, const char *name, long long *n);
/*
 * What an organization owns besides members: teams and service accounts
 * (apiorg.c). Both are named within the organization and answer alike.
 */
struct api_kind {
	const char *what;   /* "team", for messages */
	const char *action; /* audit action prefix: "team", "sa" */
	char sep;	    /* in labels, between org and name: '/', '+' */
	bool members_read;  /* plain members may read them */
	bool ldap_group;    /* created with "ldap_group" (teams), insert's $4 */
	int get, list, insert, del; /* statements; get gives (json, id) */
};

/* One of them: the organization, the object's id, name and label. */
struct api_child {
	struct api_org o;
	char id[24];
	const char *name;
	const char *label; /* "acme/devs", "acme+ci" */
};

/*
 * Finds the object of the path (orgs/{org}/<kind>/{name}...): 404 when
 * missing; write (or a kind members may not read) needs an owner (403).
 */
int apiorg_child_find(struct api *c, const struct api_kind *k, bool write,
		      struct api_child *ch);
/*
 * GET the list, POST {name, description, ldap_group when the kind takes
 * it}, GET one, DELETE one.
 */
int apiorg_child_list(struct api *c, const struct api_kind *k);
int apiorg_child_create(struct api *c, const struct api_kind *k);
int apiorg_child_get(struct api *c, const struct api_kind *k);
int apiorg_child_delete(struct api *c, const struct api_kind *k);

/* Grants (apigrant.c): to one of a team, a user or a service account. */
struct apigrant_to {
	const char *team_id, *user_id, *sa_id;
	const char *kind;    /* audit action prefix: "team", "sa", "repo" */
	const char *target;  /* audit target: "acme/devs" */
	const char *grantee; /* for the audit detail: "team acme/devs" */
};
/*
 * A grantee's grants in organization o, by method: GET lists them
 * (paginated by repository), PUT {repository: "org/x" or null, level}
 * sets one, DELETE ?repository= (absent: organization-wide) removes one.
 */
int apigrant_handle(struct api *c, const struct api_org *o,
		    const struct apigrant_to *to);
/* Sets level on repo (NULL: all of ns) and answers 200 with the grant. */
int apigrant_set(struct api *c, const char *ns, const char *repo,
		 const char *level, const struct apigrant_to *to);
/* Removes the grant on repo (NULL: all of ns); 404 when none; 204. */
int apigrant_remove(struct api *c, const char *ns, const char *repo,
		    const struct apigrant_to *to);

/*
 * Where a policy applies (apipolicy.c): one repository, or every
 * repository of a namespace. label is what messages and audit targets
 * name: the repository, or the namespace.
 */
struct api_scope {
	const char *ns;
	const char *repo;	/* NULL: the whole namespace */
	const char *label;
};
/*
 * The scope of "namespace" or "repository" (exactly one), from the body
 * (from_body) or the query, checked against the caller: 404 when it may
 * not read it or the namespace does not exist, 403 when it holds less
 * than need (3, admin: the namespace's owners, its own user, admin grants
 * on it or on the repository, system administrators; 1 to read).
 */
int apipolicy_scope(struct api *c, bool from_body, int need,
		    struct api_scope *s);
/* Checks a stored scope (ns, repo) against the caller, as above. */
int apipolicy_scope_check(struct api *c, int need, struct api_scope *s);
/* The id in path capture i, a positive integer (else 404 as what). */
int apipolicy_id(struct api *c, int i, const char *what, const char **id);
/* A required tag pattern in body field key (tagglob.h): 400 when bad. */
int apipolicy_pattern(struct api *c, const char *key, const char **out);
/* GET of a list of rules or policies (stmt) in the scope of ?namespace=
 * or ?repository=, for its readers: a page of api_list. */
int apipolicy_list(struct api *c, int stmt);

/*
 * Tokens (apitoken.c) of owner, a user (personal) or a service account,
 * by method: POST {name, expires_in} creates one and answers 201 with the
 * secret, shown this once; GET lists them, never with secrets; DELETE
 * revokes token id (404 unless the owner's). Audited under owner->name.
 */
int apitoken_handle(struct api *c, const struct principal *owner,
		    const char *id);

#endif
