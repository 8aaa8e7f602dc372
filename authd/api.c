/*
 * The management API (JSON under /api/v1): authentication, routing, and
 * the helpers every resource's handlers share. A request is authenticated
 * before anything else, so without credentials every path answers 401 and
 * nothing about the API's objects leaks; then it is routed by method and
 * path pattern to a handler that parses, authorizes, acts and answers.
 * Errors are named from one table (api_errors); statements' results go
 * with the request's arena, and a change commits through api_tx (db_tx),
 * the one transaction boundary. The resources live in apiuser.c,
 * apiorg.c, apisa.c and apirepo.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "log.h"
#include "names.h"

#define API_PREFIX "/api/v1"
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define MAX_SEGS 64

static const struct http_error api_errors[AE_COUNT] = {
	[AE_BAD_REQUEST] = { 400, "BAD_REQUEST", "bad request" },
	[AE_NAME_INVALID] = { 400, "NAME_INVALID", "invalid name" },
	[AE_DENIED] = { 403, "DENIED", "access denied" },
	[AE_NOT_FOUND] = { 404, "NOT_FOUND", "not found" },
	[AE_METHOD] = { 405, "UNSUPPORTED", "method not allowed" },
	[AE_CONFLICT] = { 409, "CONFLICT", "conflict" },
	[AE_UNAVAILABLE] = { 503, "UNAVAILABLE", "database error" },
};

static const struct api_route *const route_tables[] = {
	apiuser_routes,
	apiorg_routes,
	apisa_routes,
	apirepo_routes,
	apigc_routes,
	apiquota_routes,
	apipolicy_routes,
	apiretain_routes,
};

int
api_reply(struct api *c, unsigned status, json_t *doc)
{
	c->rc = authd_json(c->r, status, json_dumps(doc, JSON_COMPACT));
	json_decref(doc);
	return 0;
}

int
api_no_content(struct api *c)
{
	c->rc = http_respond(c->r, 204, http_resp_copy("", 0));
	return 0;
}

int
api_fail(struct api *c, enum api_error e, const char *fmt, ...)
{
	const struct http_error *err = &api_errors[e];
	char msg[512];
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	c->rc = authd_error(c->r, err->status, err->code,
			    fmt != NULL ? msg : err->message);
	return -1;
}

int
api_db_fail(struct api *c, const char *what)
{
	const char *state = db_sqlstate(c->db);

	if (!strcmp(state, "23505"))
		return api_fail(c, AE_CONFLICT, "%s already exists", what);
	if (db_conflict(c->db))
		return api_fail(c, AE_CONFLICT,
				"%s changed concurrently; try again", what);
	return api_fail(c, AE_UNAVAILABLE, NULL);
}

PGresult *
api_exec_what(struct api *c, int stmt, int n, const char *const *p,
	      const char *what)
{
	PGresult *res = db_query(c->db, &c->r->arena, stmt, n, p);

	if (res == NULL)
		api_db_fail(c, what);
	return res;
}

PGresult *
api_exec(struct api *c, int stmt, int n, const char *const *p)
{
	return api_exec_what(c, stmt, n, p, "the object");
}

int
api_exec_count(struct api *c, int stmt, int n, const char *const *p)
{
	PGresult *res = api_exec(c, stmt, n, p);

	return res == NULL ? -1 : (int)db_changed(res);
}

/* What db_tx runs: the API's transaction body with its request. */
struct api_tx_call {
	struct api *c;
	int (*fn)(struct api *c, void *arg);
	void *arg;
};

static int
api_tx_body(struct db *db, void *p)
{
	struct api_tx_call *call = p;

	(void)db;	/* call->c->db, the same connection */
	return call->fn(call->c, call->arg);
}

int
api_tx(struct api *c, int (*fn)(struct api *c, void *arg), void *arg)
{
	struct api_tx_call call = { c, fn, arg };

	if (db_tx(c->db, api_tx_body, &call) >= 0)
		return 0;
	/* fn answered its own failure; BEGIN's and COMMIT's are ours. */
	if (!c->r->responded)
		return api_db_fail(c, "the object");
	return -1;
}

json_t *
api_json_col(const PGresult *res, int row, int col)
{
	json_error_t err;
	const char *text = db_text(res, row, col);
	json_t *doc = text ? json_loads(text, 0, &err) : NULL;

	if (doc == NULL)
		BUG("statement gave bad JSON: %s", text ? err.text : "NULL");
	return doc;
}

int
api_reply_row(struct api *c, unsigned status, int stmt, int n,
	      const char *const *p, const char *what)
{
	PGresult *res = api_exec(c, stmt, n, p);

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return api_fail(c, AE_NOT_FOUND, "%s not found", what);
	return api_reply(c, status, api_json_col(res, 0, 0));
}

const char *
api_after(struct api *c)
{
	const char *after = http_query(c->r, "after");

	return after ? after : "";
}

/* ?limit=: LIST_DEFAULT when absent, at most LIST_MAX; -1 when bad. */
static int
list_limit(struct api *c)
{
	const char *s = http_query(c->r, "limit");
	uint64_t v;

	if (s == NULL)
		return LIST_DEFAULT;
	if (util_parse_u64(s, &v) < 0 || v == 0)
		return api_fail(c, AE_BAD_REQUEST,
				"limit must be a positive integer");
	return v > LIST_MAX ? LIST_MAX : (int)v;
}

int
api_list(struct api *c, int stmt, int n, const char **p)
{
	json_t *items, *next;
	PGresult *res;
	char lim[16];
	int limit, rows;

	if ((limit = list_limit(c)) < 0)
		return -1;
	/* One row more than asked tells whether there is a next page. */
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[n - 1] = lim;
	if ((res = api_exec(c, stmt, n, p)) == NULL)
		return -1;
	rows = PQntuples(res);
	items = json_array();
	for (int i = 0; i < rows && i < limit; i++)
		json_array_append_new(items, api_json_col(res, i, 1));
	next = rows > limit ? json_string(db_text(res, limit - 1, 0))
			    : json_null();
	return api_reply(c, 200,
			 json_pack("{s:o, s:o}", "items", items, "next", next));
}

void
api_audit(struct api *c, const char *action, const char *target, json_t *detail)
{
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;

	audit_write(c->db, c->who.name, action, target, c->r->client, true,
		    text);
	free(text);
	json_decref(detail);
}

int
api_fields(struct api *c, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(c->body, key, v) {
		const char *const *a = allowed;

		while (*a != NULL && strcmp(*a, key) != 0)
			a++;
		if (*a == NULL)
			return api_fail(c, AE_BAD_REQUEST,
					"unknown field \"%.64s\"", key);
	}
	return 0;
}

int
api_str(struct api *c, const char *key, bool required, size_t max,
	const char **out)
{
	json_t *v = json_object_get(c->body, key);
	const char *s;
	size_t len;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return api_fail(c, AE_BAD_REQUEST, "\"%s\" is required",
					key);
		return 0;
	}
	if (!json_is_string(v))
		return api_fail(c, AE_BAD_REQUEST, "\"%s\" must be a string",
				key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > max)
		return api_fail(c, AE_BAD_REQUEST,
				"\"%s\" is longer than %zu bytes", key, max);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return api_fail(c, AE_BAD_REQUEST,
					"\"%s\" holds a control character",
					key);
	*out = s;
	return 0;
}

int
api_bool(struct api *c, const char *key, const char **out)
{
	json_t *v = json_object_get(c->body, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return api_fail(c, AE_BAD_REQUEST,
				"\"%s\" must be true or false", key);
	*out = json_is_true(v) ? "t" : "f";
	return 0;
}

bool
api_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64 || !names_repo_valid(s) || strchr(s, '/'))
		return false;
	/* names_repo_valid also takes "__" and "--"; names take one. */
	for (size_t i = 0; i < len; i++) {
		bool sep = s[i] == '.' || s[i] == '_' || s[i] == '-';

		if (sep && (i + 1 == len || s[i + 1] == '.' ||
			    s[i + 1] == '_' || s[i + 1] == '-'))
			return false;
	}
	return true;
}

int
api_name(struct api *c, const char *key, const char **out)
{
	if (api_str(c, key, true, 64, out) < 0)
		return -1;
	if (!api_name_valid(*out))
		return api_fail(c, AE_NAME_INVALID,
				"\"%s\" must match [a-z0-9]+([._-][a-z0-9]+)* "
				"and be at most 64 bytes",
				key);
	return 0;
}

int
api_level(struct api *c, const char **out)
{
	static const char *const names[] = { "read", "write", "admin" };
	static const char *const values[] = { "1", "2", "3" };
	const char *s;

	if (api_str(c, "level", true, 16, &s) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(s, names[i])) {
			*out = values[i];
			return 0;
		}
	}
	return api_fail(c, AE_BAD_REQUEST,
			"\"level\" must be read, write or admin");
}

int
api_need_admin(struct api *c)
{
	if (c->who.kind == P_USER && c->who.is_admin)
		return 0;
	return api_fail(c, AE_DENIED, "system administrators only");
}

int
api_need_user(struct api *c)
{
	if (c->who.kind == P_USER)
		return 0;
	return api_fail(c, AE_DENIED, "not for service accounts");
}

int
api_need_password(struct api *c, const char *what)
{
	if (!PRINCIPAL_PAT(&c->who))
		return 0;
	return api_fail(c, AE_DENIED,
			"a personal access token cannot %s; sign in with the "
			"password",
			what);
}

int
api_user(struct api *c, const char *name, struct api_user *u)
{
	const char *p[1] = { name };
	PGresult *res = api_exec(c, API_USER_FIND, 1, p);
	struct apisql_user row;

	if (res == NULL)
		return -1;
	if (!apisql_user_read(res, &row))
		return api_fail(c, AE_NOT_FOUND, "user \"%.64s\" not found",
				name);
	util_strlcpy(u->id, row.id, sizeof(u->id));
	u->name = row.name;
	u->admin = row.admin;
	u->disabled = row.disabled;
	u->local = row.local;
	return 0;
}

int
api_org(struct api *c, const char *name, bool manage, struct api_org *o)
{
	const char *p[2] = { name, c->uid };
	PGresult *res = api_exec(c, API_ORG_BY_NAME, 2, p);
	bool admin = c->who.kind == P_USER && c->who.is_admin;
	struct apisql_org row;

	if (res == NULL)
		return -1;
	if (!apisql_org_read(res, &row) || (row.role == NULL && !admin))
		return api_fail(c, AE_NOT_FOUND,
				"organization \"%.64s\" not found", name);
	util_strlcpy(o->id, row.id, sizeof(o->id));
	o->name = name;
	o->owner = admin || !strcmp(row.role, "owner");
	if (manage && !o->owner)
		return api_fail(c, AE_DENIED,
				"only the organization's owners may do this");
	return 0;
}

int
api_ns_check_empty(struct api *c, const char *name)
{
	const char *force = http_query(c->r, "force");
	const char *purge = http_query(c->r, "delete_repositories");
	const char *p[1] = { name }, *repo;
	PGresult *res;

	if ((force && !strcmp(force, "true")) ||
	    (purge && !strcmp(purge, "true")))
		return 0;
	if ((res = api_exec(c, API_NS_REPOS, 1, p)) == NULL)
		return -1;
	if ((repo = apisql_ns_repo(res)) != NULL)
		return api_fail(c, AE_CONFLICT,
				"namespace \"%s\" still holds repositories, "
				"such as \"%s\"; ?delete_repositories=true "
				"deletes them with it",
				name, repo);
	return 0;
}

/* ---- routing ------------------------------------------------------------ */

struct segs {
	const char *s[MAX_SEGS];
	size_t len[MAX_SEGS];
	int n;
};

/* Splits path ("users/alice/tokens") into segments; -1 on an empty one. */
static int
split(const char *path, struct segs *sg)
{
	sg->n = 0;
	if (*path == '\0')
		return 0;
	for (;;) {
		size_t len = strcspn(path, "/");

		if (len == 0 || sg->n == MAX_SEGS)
			return -1;
		sg->s[sg->n] = path;
		sg->len[sg->n++] = len;
		if (path[len] == '\0')
			return 0;
		path += len + 1;
	}
}

/* Whether segments [from, from+n) of path match those of pattern. */
static bool
match_run(struct api *c, const struct segs *pat, int pfrom,
	  const struct segs *path, int from, int n, int *nargs)
{
	for (int i = 0; i < n; i++) {
		const char *ps = pat->s[pfrom + i];
		size_t pl = pat->len[pfrom + i];

		if (pl == 1 && *ps == '*') {
			if (*nargs == API_MAX_ARGS)
				BUG("route pattern with too many captures");
			c->arg[(*nargs)++] =
				arena_strndup(&c->r->arena, path->s[from + i],
					      path->len[from + i]);
		} else if (pl != path->len[from + i] ||
			   memcmp(ps, path->s[from + i], pl) != 0) {
			return false;
		}
	}
	return true;
}

/* Matches pattern against path, capturing into c->arg. */
static bool
route_match(struct api *c, const char *pattern, const struct segs *path)
{
	struct segs pat;
	int nargs = 0, rest = -1, tail;

	if (split(pattern, &pat) < 0)
		BUG("bad route pattern \"%s\"", pattern);
	for (int i = 0; i < pat.n; i++)
		if (pat.len[i] == 2 && !memcmp(pat.s[i], "**", 2))
			rest = i;
	if (rest < 0)
		return pat.n == path->n &&
		       match_run(c, &pat, 0, path, 0, pat.n, &nargs);
	/* "**" takes what the segments before and after it leave, >= 1. */
	tail = pat.n - rest - 1;
	if (path->n < pat.n || !match_run(c, &pat, 0, path, 0, rest, &nargs))
		return false;
	if (nargs == API_MAX_ARGS)
		BUG("route pattern with too many captures");
	c->arg[nargs++] = arena_strndup(&c->r->arena, path->s[rest],
					(size_t)(path->s[path->n - tail - 1] +
						 path->len[path->n - tail - 1] -
						 path->s[rest]));
	return match_run(c, &pat, rest + 1, path, path->n - tail, tail, &nargs);
}

/* The handler for the request, or NULL after answering 404 or 405. */
static const struct api_route *
route_find(struct api *c, const char *path)
{
	const char *method = c->r->is_head ? "GET" : c->r->method;
	bool path_known = false;
	struct segs sg;

	if (split(path, &sg) < 0) {
		api_fail(c, AE_NOT_FOUND, "no such endpoint");
		return NULL;
	}
	for (size_t t = 0; t < ARRAY_SIZE(route_tables); t++) {
		for (const struct api_route *rt = route_tables[t]; rt->method;
		     rt++) {
			if (!route_match(c, rt->pattern, &sg))
				continue;
			if (!strcmp(rt->method, method))
				return rt;
			path_known = true;
		}
	}
	if (path_known)
		api_fail(c, AE_METHOD, NULL);
	else
		api_fail(c, AE_NOT_FOUND, "no such endpoint");
	return NULL;
}

/* ---- the request ------------------------------------------------------- */

/* The body as a JSON object: {} when empty, 400 when anything else. */
static int
parse_body(struct api *c)
{
	struct authd_req *q = c->r->app;
	json_error_t err;

	if (q->body.len == 0) {
		c->body = json_object();
		return 0;
	}
	c->body = json_loadb(q->body.data, q->body.len, JSON_REJECT_DUPLICATES,
			     &err);
	if (c->body == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"body is not JSON: %s at line %d", err.text,
				err.line);
	if (!json_is_object(c->body))
		return api_fail(c, AE_BAD_REQUEST,
				"body must be a JSON object");
	return 0;
}

/* Basic credentials: a password, a personal access token or a service
 * account's token, checked (throttled, audited) by credential_check. */
static int
authenticate(struct api *c)
{
	char *user = NULL, *pass = NULL;
	enum cred_result cr = CRED_BAD;

	if (credential_basic(c->r, &user, &pass) == 1)
		cr = credential_check(c->db, c->r->client, user, pass, &c->who);
	free(user);
	free(pass);
	if (cr == CRED_ERROR)
		return api_fail(c, AE_UNAVAILABLE, NULL);
	if (cr != CRED_OK) {
		c->rc = authd_refused(c->r, cr, &c->who);
		return -1;
	}
	c->r->user = arena_strdup(&c->r->arena, c->who.name);
	/* Else a token for some repositories could mint a token for all. */
	if (PRINCIPAL_LIMITED(&c->who))
		return api_fail(c, AE_DENIED,
				"an access token with limits serves only the "
				"registry");
	snprintf(c->idtext, sizeof(c->idtext), "%" PRId64, c->who.id);
	c->uid = c->who.kind == P_USER ? c->idtext : NULL;
	c->sid = c->who.kind == P_SERVICE ? c->idtext : NULL;
	return 0;
}

int
api_handle(struct http_req *r)
{
	struct api c = { .r = r };
	const struct api_route *rt;
	const char *path = r->path + strlen(API_PREFIX);

	if ((c.db = db_thread()) == NULL) {
		api_fail(&c, AE_UNAVAILABLE, "database unreachable");
		return c.rc;
	}
	if (*path == '/')
		path++;
	/* Transactions open and close in api_tx: none outlives a handler. */
	if (authenticate(&c) == 0 && (rt = route_find(&c, path)) != NULL &&
	    parse_body(&c) == 0)
		rt->handler(&c);
	json_decref(c.body);
	if (!r->responded)
		BUG("%s %s: the API did not answer", r->method, r->path);
	return c.rc;
}
