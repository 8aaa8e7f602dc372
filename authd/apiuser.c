/*
 * Management API: the caller (/me), local users, their personal access
 * tokens, and the audit log. System administrators manage users; a user
 * may read and change their own record (not their admin or disabled flag)
 * and manage their own tokens. Other users' records answer 404 to
 * non-administrators, as if they did not exist.
 */
#include <stdlib.h>

#include "api.h"

/* Every password hash slot stayed busy: 503, to retry in a second. */
static int
api_busy(struct api *c)
{
	struct principal p = { .retry_after = 1 };

	c->rc = authd_refused(c->r, CRED_BUSY, &p);
	return -1;
}

/* Self or a system administrator; 404 for anyone else. */
static int
user_self_or_admin(struct api *c, const char *name, struct api_user *u)
{
	if (c->who.kind != P_USER ||
	    (!c->who.is_admin && strcmp(name, c->who.name) != 0))
		return api_fail(c, AE_NOT_FOUND, "user \"%.64s\" not found",
				name);
	return api_user(c, name, u);
}

/* A new password from the body, by password_policy (password.c). */
static int
user_new_password(struct api *c, bool required, const char **out)
{
	const char *why;

	if (api_str(c, "password", required, PASSWORD_MAX, out) < 0)
		return -1;
	if (*out == NULL || (why = password_policy(*out)) == NULL)
		return 0;
	return api_fail(c, AE_BAD_REQUEST, "%s", why);
}

/* email and display_name, both optional. */
static int
user_profile(struct api *c, const char **email, const char **display)
{
	if (api_str(c, "email", false, 254, email) < 0 ||
	    api_str(c, "display_name", false, 200, display) < 0)
		return -1;
	if (*email != NULL && **email != '\0' && strchr(*email, '@') == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"email must hold an \"@\"");
	return 0;
}

static int
me_get(struct api *c)
{
	const char *p[1] = { c->uid };
	PGresult *res;
	json_t *doc;

	if (c->who.kind == P_SERVICE)
		return api_reply(c, 200,
				 json_pack("{s:s, s:s}", "kind",
					   "service_account", "name",
					   c->who.name));
	if ((res = api_exec(c, API_ME, 1, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return api_fail(c, AE_NOT_FOUND, "user not found");
	doc = api_json_col(res, 0, 0);
	json_object_set_new(doc, "kind", json_string("user"));
	json_object_set_new(doc, "orgs", api_json_col(res, 0, 1));
	return api_reply(c, 200, doc);
}

static int
users_list(struct api *c)
{
	const char *p[2] = { api_after(c) };

	if (api_need_admin(c) < 0)
		return -1;
	return api_list(c, API_USER_LIST, 2, p);
}

static int
user_get(struct api *c)
{
	struct api_user u;
	const char *p[1] = { c->arg[0] };

	if (user_self_or_admin(c, c->arg[0], &u) < 0)
		return -1;
	return api_reply_row(c, 200, API_USER_GET, 1, p, "user");
}

/* In a transaction: the namespace, then the user (arg: the parameters
 * of A_USER_CREATE). */
static int
user_insert(struct api *c, void *arg)
{
	const char *const *p = arg;
	const char *what = arena_printf(&c->r->arena, "name \"%s\"", p[0]);

	if (api_exec_what(c, A_USER_CREATE_NS, 1, p, what) == NULL ||
	    api_exec(c, A_USER_CREATE, 5, p) == NULL)
		return -1;
	return 0;
}

static int
user_create(struct api *c)
{
	static const char *const fields[] = {
		"name", "password", "email", "display_name", "admin", NULL
	};
	const char *p[5], *password, *admin;
	char *hash = NULL;
	int ret = -1;

	if (api_need_admin(c) < 0 || api_fields(c, fields) < 0 ||
	    api_name(c, "name", &p[0]) < 0 ||
	    user_new_password(c, true, &password) < 0 ||
	    user_profile(c, &p[3], &p[4]) < 0 ||
	    api_bool(c, "admin", &admin) < 0)
		return -1;
	if ((p[1] = hash = password_hash(password)) == NULL)
		return api_busy(c);
	p[2] = admin ? admin : "f";
	if (api_tx(c, user_insert, p) < 0)
		goto out;
	api_audit(c, "user.create", p[0],
		  json_pack("{s:b}", "admin", *p[2] == 't'));
	ret = api_reply_row(c, 201, API_USER_GET, 1, p, "user");
out:
	free(hash);
	return ret;
}

/* A non-administrator changing their own password proves the current
 * one, through credential_check so that guesses are throttled. */
static int
user_prove(struct api *c, const struct api_user *u)
{
	const char *current;
	struct principal p;
	enum cred_result cr;

	if (c->who.is_admin)
		return 0;
	if (api_str(c, "current_password", true, PASSWORD_MAX, &current) < 0)
		return -1;
	if (strncmp(current, "berth_", 6) != 0) {
		cr = credential_check(c->db, c->r->client, u->name, current,
				      &p);
		if (cr == CRED_OK && p.kind == P_USER && p.id == c->who.id)
			return 0;
		if (cr == CRED_THROTTLED || cr == CRED_BUSY) {
			c->rc = authd_refused(c->r, cr, &p);
			return -1;
		}
	}
	return api_fail(c, AE_DENIED, "current_password is wrong");
}

/* The administrators other than u that stay active; locks them. */
static int
admins_besides(struct api *c, const struct api_user *u)
{
	PGresult *res = api_exec(c, API_ADMINS_LOCK, 0, NULL);
	int n = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		n += strcmp(apisql_admin_name(res, i), u->name) != 0;
	if (n == 0)
		return api_fail(c, AE_CONFLICT,
				"\"%s\" is the last active administrator",
				u->name);
	return 0;
}

/* The user PATCH changes, as SQL parameters for API_USER_UPDATE. */
struct user_change {
	const char *password, *email, *display, *admin, *disabled;
	const char *revive; /* "t": a re-enable keeps the old tokens */
	const char *revoke; /* "t": a password change ends access tokens */
};

static int
user_change_parse(struct api *c, const struct api_user *u,
		  struct user_change *ch)
{
	static const char *const fields[] = {
		"password", "current_password", "email", "display_name",
		"admin", "disabled", "revive_tokens", "revoke_tokens", NULL
	};

	if (api_fields(c, fields) < 0 ||
	    user_new_password(c, false, &ch->password) < 0 ||
	    user_profile(c, &ch->email, &ch->display) < 0 ||
	    api_bool(c, "admin", &ch->admin) < 0 ||
	    api_bool(c, "disabled", &ch->disabled) < 0 ||
	    api_bool(c, "revive_tokens", &ch->revive) < 0 ||
	    api_bool(c, "revoke_tokens", &ch->revoke) < 0)
		return -1;
	if (ch->revoke && ch->password == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"revoke_tokens goes with \"password\"");
	if (ch->revoke == NULL)
		ch->revoke = "f";
	/* A leaked token must not take the account over for good. */
	if ((ch->password || ch->email) &&
	    api_need_password(c, "change a password or an email") < 0)
		return -1;
	if (ch->revive && (ch->disabled == NULL || *ch->disabled != 'f'))
		return api_fail(c, AE_BAD_REQUEST,
				"revive_tokens goes with \"disabled\": false");
	if (ch->revive == NULL)
		ch->revive = "f";
	if ((ch->admin || ch->disabled) && api_need_admin(c) < 0)
		return -1;
	if (ch->password && !u->local)
		return api_fail(c, AE_BAD_REQUEST,
				"\"%s\" signs in through the directory",
				u->name);
	if (ch->password && user_prove(c, u) < 0)
		return -1;
	return 0;
}

/* A password change ends the user's refresh tokens (and with
 * revoke_tokens their access tokens), in the caller's transaction. */
static int
user_revoke_tokens(struct api *c, const struct api_user *u,
		   const struct user_change *ch, json_t **counts)
{
	const char *p[2] = { u->name, ch->revoke };
	PGresult *res;
	int refresh = 0, access = 0;

	*counts = NULL;
	if (ch->password == NULL)
		return 0;
	if ((res = api_exec(c, API_USER_REVOKE_TOKENS, 2, p)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		if (apisql_revoked_refresh(res, i))
			refresh++;
		else
			access++;
	*counts = json_pack("{s:i, s:i}", "refresh", refresh, "access",
			    access);
	return 0;
}

static json_t *
user_change_json(const struct user_change *ch)
{
	return json_pack("{s:b, s:b, s:b, s:o, s:o, s:b}", "password",
			 ch->password != NULL, "email", ch->email != NULL,
			 "display_name", ch->display != NULL, "admin",
			 ch->admin ? json_boolean(*ch->admin == 't')
				   : json_null(),
			 "disabled",
			 ch->disabled ? json_boolean(*ch->disabled == 't')
				      : json_null(),
			 "revive_tokens", *ch->revive == 't');
}

/* A PATCH of user u, as its transaction applies it. */
struct user_patch {
	const struct api_user *u;
	const struct user_change *ch;
	const char *p[7];	/* API_USER_UPDATE's parameters */
	bool demote;		/* u stops being an active administrator */
	json_t *revoked;	/* the tokens revoked, or NULL */
};

static int
user_patch_apply(struct api *c, void *arg)
{
	struct user_patch *up = arg;

	if ((up->demote && admins_besides(c, up->u) < 0) ||
	    api_exec_count(c, API_USER_UPDATE, 7, up->p) < 0 ||
	    user_revoke_tokens(c, up->u, up->ch, &up->revoked) < 0)
		return -1;
	return 0;
}

static int
user_patch(struct api *c)
{
	struct api_user u;
	struct user_change ch;
	struct user_patch up = { .u = &u, .ch = &ch };
	char *hash = NULL;
	json_t *detail;
	int ret = -1;

	if (user_self_or_admin(c, c->arg[0], &u) < 0 ||
	    user_change_parse(c, &u, &ch) < 0)
		return -1;
	up.demote = u.admin && !u.disabled &&
		    ((ch.admin && *ch.admin == 'f') ||
		     (ch.disabled && *ch.disabled == 't'));
	if (ch.password && (hash = password_hash(ch.password)) == NULL)
		return api_busy(c);
	up.p[0] = u.name;
	up.p[1] = hash;
	up.p[2] = ch.email;
	up.p[3] = ch.display;
	up.p[4] = ch.admin;
	up.p[5] = ch.disabled;
	up.p[6] = ch.revive;
	if (api_tx(c, user_patch_apply, &up) < 0)
		goto out;
	detail = user_change_json(&ch);
	if (up.revoked != NULL)
		json_object_set(detail, "tokens_revoked", up.revoked);
	api_audit(c, "user.update", u.name, detail);
	ret = api_reply_row(c, 200, API_USER_GET, 1, up.p, "user");
out:
	json_decref(up.revoked);
	free(hash);
	return ret;
}

/* Refuses to delete the last owner of an organization; locks those. */
static int
user_owns_alone(struct api *c, const struct api_user *u)
{
	const char *p[1] = { u->id }, *org;
	PGresult *res;

	if (api_exec(c, API_OWNED_LOCK, 1, p) == NULL ||
	    (res = api_exec(c, API_SOLE_OWNER, 1, p)) == NULL)
		return -1;
	if ((org = apisql_sole_owner_org(res)) != NULL)
		return api_fail(c, AE_CONFLICT,
				"\"%s\" is the last owner of organization "
				"\"%s\"",
				u->name, org);
	return 0;
}

/* A user's delete, as its transaction does it. */
struct user_delete {
	const struct api_user *u;
	long long repos;	/* the repositories that went with it */
};

static int
user_delete_apply(struct api *c, void *arg)
{
	struct user_delete *ud = arg;
	const struct api_user *u = ud->u;
	const char *p[1] = { u->name };

	if ((u->admin && !u->disabled && admins_besides(c, u) < 0) ||
	    user_owns_alone(c, u) < 0)
		return -1;
	/* Nothing keyed by the name survives for its next owner: not the
	 * repositories, nor the lockout. Grants, tokens and memberships
	 * follow the rows (ON DELETE CASCADE). */
	if (apirepo_purge_ns(c, u->name, &ud->repos) < 0 ||
	    api_exec_count(c, API_USER_DELETE, 1, p) < 0 ||
	    api_exec_count(c, API_USER_UNLOCK, 1, p) < 0)
		return -1;
	return 0;
}

static int
user_delete(struct api *c)
{
	struct api_user u;
	struct user_delete ud = { .u = &u };

	if (api_need_admin(c) < 0 || api_user(c, c->arg[0], &u) < 0 ||
	    api_ns_check_empty(c, u.name) < 0 ||
	    api_tx(c, user_delete_apply, &ud) < 0)
		return -1;
	api_audit(c, "user.delete", u.name,
		  json_pack("{s:I}", "repositories", (json_int_t)ud.repos));
	return api_no_content(c);
}

/* POST /users/{name}/unlock: ends an administrator's lock of the account
 * and forgets its failed logins from every address (administrators). The
 * addresses' own counts stay. */
static int
user_unlock(struct api *c)
{
	struct api_user u;
	const char *p[1];
	PGresult *res;
	struct apisql_unlock row;
	json_t *doc;

	if (api_need_admin(c) < 0 || api_user(c, c->arg[0], &u) < 0)
		return -1;
	p[0] = u.name;
	if ((res = api_exec(c, API_USER_UNLOCK, 1, p)) == NULL)
		return -1;
	apisql_unlock_read(res, &row);
	doc = json_pack("{s:s, s:b, s:b, s:I}", "name", u.name, "was_locked",
			row.was_locked, "was_delayed", row.was_delayed,
			"failures", (json_int_t)row.failures);
	api_audit(c, "user.unlock", u.name, json_deep_copy(doc));
	return api_reply(c, 200, doc);
}

/*
 * POST /users/{name}/lock {reason, expires_in}: no login of the account
 * (password, access or refresh token) succeeds until an unlock or
 * expires_in seconds (absent: until unlocked). Registry tokens already
 * issued live out their token_ttl. Administrators, never on themselves.
 */
static int
user_lock(struct api *c)
{
	static const char *const fields[] = { "reason", "expires_in", NULL };
	struct api_user u;
	const char *p[3], *reason;
	json_t *v = json_object_get(c->body, "expires_in");
	char secs[24] = "0";
	PGresult *res;
	json_t *doc;

	if (api_need_admin(c) < 0 || api_fields(c, fields) < 0 ||
	    api_str(c, "reason", false, 200, &reason) < 0)
		return -1;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 10LL * 365 * 86400)
			return api_fail(c, AE_BAD_REQUEST,
					"expires_in must be seconds, from 1 "
					"to %lld", 10LL * 365 * 86400);
		snprintf(secs, sizeof(secs), "%lld",
			 (long long)json_integer_value(v));
	}
	if (api_user(c, c->arg[0], &u) < 0)
		return -1;
	if (u.id[0] && strtoll(u.id, NULL, 10) == c->who.id)
		return api_fail(c, AE_CONFLICT,
				"an administrator cannot lock their own "
				"account");
	p[0] = u.name;
	p[1] = secs;
	p[2] = reason;
	if ((res = api_exec(c, API_USER_LOCK, 3, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return api_fail(c, AE_NOT_FOUND, "user \"%.64s\" not found",
				u.name);
	doc = api_json_col(res, 0, 0);
	api_audit(c, "user.lock", u.name, json_deep_copy(doc));
	return api_reply(c, 200, doc);
}

/* GET or POST /users/{name}/tokens, DELETE .../tokens/{id}: self or
 * an administrator. */
static int
user_tokens(struct api *c)
{
	struct principal owner = { .kind = P_USER };
	struct api_user u;

	if (user_self_or_admin(c, c->arg[0], &u) < 0)
		return -1;
	owner.id = strtoll(u.id, NULL, 10);
	util_strlcpy(owner.name, u.name, sizeof(owner.name));
	return apitoken_handle(c, &owner, c->arg[1]);
}

/* A filter from the query string, or NULL (no filter) when absent. */
static const char *
query_filter(struct api *c, const char *key)
{
	const char *v = http_query(c->r, key);

	return v && *v ? v : NULL;
}

/* Two digits at s, within [lo, hi]; -1 otherwise. */
static int
two_digits(const char *s, int lo, int hi)
{
	int v;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi ? v : -1;
}

/*
 * Whether s is an RFC 3339 date-time ("2026-12-03T12:00:00Z", fractions
 * and a "+01:00" offset allowed) naming a real day, so that PostgreSQL
 * never sees a malformed time.
 */
static bool
rfc3339_valid(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
				     30, 31 };
	int year, month, day;

	if (strlen(s) < 20 || two_digits(s, 0, 99) < 0 ||
	    two_digits(s + 2, 0, 99) < 0 || s[4] != '-' ||
	    (month = two_digits(s + 5, 1, 12)) < 0 || s[7] != '-' ||
	    (day = two_digits(s + 8, 1, 31)) < 0 ||
	    (s[10] != 'T' && s[10] != 't') || two_digits(s + 11, 0, 23) < 0 ||
	    s[13] != ':' || two_digits(s + 14, 0, 59) < 0 || s[16] != ':' ||
	    two_digits(s + 17, 0, 59) < 0)
		return false;
	year = two_digits(s, 0, 99) * 100 + two_digits(s + 2, 0, 99);
	if (day > mdays[month - 1] ||
	    (month == 2 && day == 29 &&
	     (year % 4 != 0 || (year % 100 == 0 && year % 400 != 0))))
		return false;
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return false;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return true;
	return (*s == '+' || *s == '-') && two_digits(s + 1, 0, 23) >= 0 &&
	       s[3] == ':' && two_digits(s + 4, 0, 59) >= 0 && s[6] == '\0';
}

/*
 * ?actor= ?target= exact; ?action= exact, or a prefix when it ends in
 * "." or "*" ("registry." or "registry.*"); ?since= and ?until= RFC 3339
 * times, since inclusive and until exclusive; ?before= the cursor.
 */
static int
audit_list(struct api *c)
{
	const char *p[8] = { query_filter(c, "before"),
			     query_filter(c, "actor"),
			     query_filter(c, "action"),
			     query_filter(c, "target"),
			     NULL,
			     query_filter(c, "since"),
			     query_filter(c, "until") };
	uint64_t before;
	size_t len;

	if (api_need_admin(c) < 0)
		return -1;
	if (p[0] && (util_parse_u64(p[0], &before) < 0 || before > INT64_MAX))
		return api_fail(c, AE_BAD_REQUEST,
				"before must be an audit record id");
	for (int i = 5; i <= 6; i++)
		if (p[i] != NULL && !rfc3339_valid(p[i]))
			return api_fail(c, AE_BAD_REQUEST,
					"%s must be an RFC 3339 time such as "
					"2026-01-31T00:00:00Z",
					i == 5 ? "since" : "until");
	len = p[2] ? strlen(p[2]) : 0;
	if (len > 0 && (p[2][len - 1] == '.' || p[2][len - 1] == '*')) {
		/* "registry.*" and "registry." both mean "registry." */
		p[4] = p[2][len - 1] == '*'
			       ? arena_printf(&c->r->arena, "%.*s",
					      (int)(len - 1), p[2])
			       : p[2];
		p[2] = NULL;
	}
	return api_list(c, API_AUDIT_LIST, 8, p);
}

const struct api_route apiuser_routes[] = {
	{ "GET", "me", me_get },
	{ "GET", "users", users_list },
	{ "POST", "users", user_create },
	{ "GET", "users/*", user_get },
	{ "PATCH", "users/*", user_patch },
	{ "DELETE", "users/*", user_delete },
	{ "POST", "users/*/unlock", user_unlock },
	{ "POST", "users/*/lock", user_lock },
	{ "GET", "users/*/tokens", user_tokens },
	{ "POST", "users/*/tokens", user_tokens },
	{ "DELETE", "users/*/tokens/*", user_tokens },
	{ "GET", "audit", audit_list },
	{ NULL, NULL, NULL },
};
