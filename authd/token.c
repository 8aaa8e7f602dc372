/*
 * The token service (docker-token-auth-token and -oauth): GET /token with
 * Basic credentials or anonymously, POST /token with the OAuth2 password
 * and refresh_token grants, and the JWKS that registryd and CNCF
 * Distribution verify tokens with.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "authd.h"
#include "authmetrics.h"
#include "log.h"

#define MAX_SCOPES 32

struct grant {
	struct jwt_access access[MAX_SCOPES];
	int n;
	struct db *db;
	struct arena *arena;	/* the request's: scope_grant's results */
	const struct principal *who;
	bool failed;
};

static void
access_release(struct jwt_access *a)
{
	free(a->type);
	free(a->name);
	for (int j = 0; j < a->n_actions; j++)
		free(a->actions[j]);
	free(a->actions);
}

static void
release_grant(struct grant *g)
{
	for (int i = 0; i < g->n; i++)
		access_release(&g->access[i]);
	g->n = 0;
}

/* One scope parameter may hold several scopes separated by spaces. */
static void
add_scopes(const char *value, void *arg)
{
	struct grant *g = arg;
	char *copy = xstrdup(value), *save = NULL, *tok;

	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		struct jwt_access a;

		if (g->n == MAX_SCOPES)
			break;
		if (scope_parse(tok, &a) < 0) {
			access_release(&a);
			continue;
		}
		if (scope_grant(g->db, g->arena, g->who, &a) < 0)
			g->failed = true;
		g->access[g->n++] = a;
	}
	free(copy);
}

static json_t *
granted_json(const struct grant *g)
{
	json_t *list = json_array();

	for (int i = 0; i < g->n; i++) {
		json_t *acts;

		if (g->access[i].n_actions == 0)
			continue;
		acts = json_array();
		for (int j = 0; j < g->access[i].n_actions; j++)
			json_array_append_new(acts,
					      json_string(g->access[i].actions[j]));
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:o}", "type",
					g->access[i].type, "name",
					g->access[i].name, "actions", acts));
	}
	return list;
}

/* "repository:a:pull,push repository:b:pull" as granted, for OAuth2. */
static char *
granted_scope_string(const struct grant *g)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	for (int i = 0; i < g->n; i++) {
		const struct jwt_access *a = &g->access[i];

		if (a->n_actions == 0)
			continue;
		if ((b.len && buf_puts(&b, " ") < 0) ||
		    buf_printf(&b, "%s:%s:", a->type, a->name) < 0)
			break;
		for (int j = 0; j < a->n_actions; j++)
			if (buf_printf(&b, "%s%s", j ? "," : "", a->actions[j]) < 0)
				break;
	}
	return buf_detach(&b, NULL);
}

static char *
sign(const struct principal *who, const struct grant *g, time_t now)
{
	const struct signing_keys *ks;
	struct jwt_access kept[MAX_SCOPES];
	unsigned char rnd[16];
	char jti[33];
	int n = 0;
	struct jwt_claims c = {
		.iss = (char *)authd.issuer,
		.sub = (char *)(who->kind == P_ANONYMOUS ? "" : who->name),
		.aud = (char *)authd.service,
		.jti = jti,
		.iat = now,
		.nbf = now - 1,
		.exp = now + authd.token_ttl,
		/* Who logged in how, for registryd's audit records. */
		.kind = (char *)who->via,
		.tid = (char *)(who->token_id[0] ? who->token_id : NULL),
		.id = who->via != NULL ? who->id : 0,
	};

	for (int i = 0; i < g->n; i++)
		if (g->access[i].n_actions > 0)
			kept[n++] = g->access[i];
	c.access = kept;
	c.n_access = n;
	util_random(rnd, sizeof(rnd));
	util_hex(jti, rnd, sizeof(rnd));
	ks = authd_signing();
	return jwt_sign(ks->keys[ks->n - 1], &c);
}

static void
iso8601(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* {"kind", "tid"}: how who logged in, for the audit log; caller frees. */
static char *
login_detail(const struct principal *who)
{
	json_t *o = json_object();
	char *text;

	if (who->via != NULL)
		json_object_set_new(o, "kind", json_string(who->via));
	if (who->token_id[0] != '\0')
		json_object_set_new(o, "tid", json_string(who->token_id));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Issues the token for who and answers; audit records the grant. */
static int
issue(struct http_req *r, struct db *db, const struct principal *who,
      struct grant *g, bool offline, const char *refresh_in, bool oauth,
      bool logged_in)
{
	time_t now = time(NULL);
	char issued[32], *token, *refresh = NULL, *scopes, *detail, *how;
	json_t *doc, *detail_doc, *granted = granted_json(g);
	int ret;

	if (who->kind != P_ANONYMOUS)
		r->user = arena_strdup(&r->arena, who->name);
	if ((token = sign(who, g, now)) == NULL) {
		json_decref(granted);
		return authd_fail(r, AERR_SIGN, NULL);
	}
	if (offline && who->kind != P_ANONYMOUS && refresh_in == NULL)
		refresh = credential_token_create(db, "refresh", who, "refresh",
						  authd.refresh_ttl);
	iso8601(now, issued, sizeof(issued));
	doc = json_pack("{s:s, s:s, s:I, s:s}", "token", token,
			"access_token", token, "expires_in",
			(json_int_t)authd.token_ttl, "issued_at", issued);
	if (oauth) {
		json_object_del(doc, "token");
		scopes = granted_scope_string(g);
		json_object_set_new(doc, "scope", json_string(scopes));
		free(scopes);
	}
	if (refresh != NULL || refresh_in != NULL)
		json_object_set_new(doc, "refresh_token",
				    json_string(refresh ? refresh : refresh_in));
	detail_doc = json_pack("{s:o}", "access", granted);
	detail = json_dumps(detail_doc, JSON_COMPACT);
	json_decref(detail_doc);
	how = login_detail(who);
	/* The login that led here is recorded in the same write. */
	if (logged_in)
		audit_write2(db, who->name, r->client, "login", "", how,
			     "token", authd.service, detail);
	else
		audit_write2(db, who->name, r->client, "token", authd.service,
			     detail, NULL, NULL, NULL);
	free(detail);
	authmetrics_token_issued((int)who->kind);
	free(how);
	ret = authd_json(r, 200, json_dumps(doc, JSON_COMPACT));
	json_decref(doc);
	free(token);
	free(refresh);
	return ret;
}

static bool
service_ok(struct http_req *r, const char *service)
{
	if (service != NULL && strcmp(service, authd.service) == 0)
		return true;
	authd_fail(r, AERR_SERVICE, NULL);
	return false;
}

int
token_get(struct http_req *r)
{
	struct principal who = { .kind = P_ANONYMOUS, .name = "anonymous" };
	struct grant g = { .n = 0 };
	const char *offline = http_query(r, "offline_token");
	char *user = NULL, *pass = NULL;
	struct db *db;
	int basic, ret;

	if (!service_ok(r, http_query(r, "service")))
		return 0;
	if ((db = db_thread()) == NULL)
		return authd_fail(r, AERR_DATABASE, NULL);
	if ((basic = credential_basic(r, &user, &pass)) < 0)
		return authd_unauthorized(r);
	if (basic == 1) {
		enum cred_result cr = credential_check_unaudited(
			db, r->client, user, pass, &who);

		free(user);
		free(pass);
		user = pass = NULL;
		if (cr != CRED_OK)
			return authd_refused(r, cr, &who);
	}
	free(user);
	free(pass);
	g.db = db;
	g.arena = &r->arena;
	g.who = &who;
	http_query_each(r, "scope", add_scopes, &g);
	if (g.failed)
		ret = authd_fail(r, AERR_DATABASE, NULL);
	else
		ret = issue(r, db, &who, &g,
			    offline && !strcmp(offline, "true"), NULL, false,
			    basic == 1);
	release_grant(&g);
	return ret;
}

int
token_post(struct http_req *r)
{
	struct authd_req *q = r->app;
	struct principal who = { .kind = P_ANONYMOUS, .name = "anonymous" };
	struct grant g = { .n = 0 };
	const char *body = q->body.data ? q->body.data : "";
	char *grant = form_get(body, q->body.len, "grant_type");
	char *service = form_get(body, q->body.len, "service");
	char *access_type = form_get(body, q->body.len, "access_type");
	char *user = NULL, *pass = NULL, *refresh = NULL;
	struct db *db = NULL;
	int ret;

	if (!service_ok(r, service)) {
		ret = 0;
		goto out;
	}
	if ((db = db_thread()) == NULL) {
		ret = authd_fail(r, AERR_DATABASE, NULL);
		goto out;
	}
	if (grant != NULL && !strcmp(grant, "password")) {
		user = form_get(body, q->body.len, "username");
		pass = form_get(body, q->body.len, "password");
		enum cred_result cr = user && pass
					      ? credential_check_unaudited(
							db, r->client, user,
							pass, &who)
					      : CRED_BAD;

		if (cr != CRED_OK) {
			ret = authd_refused(r, cr, &who);
			goto out;
		}
	} else if (grant != NULL && !strcmp(grant, "refresh_token")) {
		refresh = form_get(body, q->body.len, "refresh_token");
		if (refresh == NULL ||
		    credential_refresh(db, refresh, &who) != CRED_OK) {
			audit_write(db, "anonymous", "refresh", "", r->client,
				    false, NULL);
			ret = authd_unauthorized(r);
			goto out;
		}
	} else {
		ret = authd_fail(r, AERR_GRANT_TYPE, NULL);
		goto out;
	}
	g.db = db;
	g.arena = &r->arena;
	g.who = &who;
	form_each(body, q->body.len, "scope", add_scopes, &g);
	if (g.failed)
		ret = authd_fail(r, AERR_DATABASE, NULL);
	else
		ret = issue(r, db, &who, &g,
			    access_type && !strcmp(access_type, "offline"),
			    refresh, true, user != NULL);
out:
	release_grant(&g);
	free(grant);
	free(service);
	free(access_type);
	free(user);
	free(pass);
	free(refresh);
	return ret;
}

int
jwks_get(struct http_req *r)
{
	const struct signing_keys *ks = authd_signing();
	char *text = jwt_jwks_render(ks->keys, ks->n);
	struct MHD_Response *resp = http_resp_take(text, strlen(text));

	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "max-age=60");
	return http_respond(r, 200, resp);
}
