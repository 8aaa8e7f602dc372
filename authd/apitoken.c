/*
 * Management API: access tokens of a user (personal) or of a service
 * account, typed as the password in Basic credentials. The secret is
 * shown once, in the answer that creates it; only its SHA-256 is kept
 * (credential.c), so lists show names and dates, never secrets. A token
 * may be limited to pulls (read_only) and to a list of repositories; the
 * token service enforces both (scope.c).
 */
#include <stdio.h>

#include <openssl/crypto.h>

#include "api.h"
#include "names.h"

/* Ten years: long enough for anything, short enough for timestamps. */
#define TOKEN_TTL_MAX (10LL * 365 * 86400)
/* Entries of a token's repository list. */
#define TOKEN_REPOS_MAX 32

/* The uuid of a token secret "berth_<32 hex id><64 hex secret>". */
static void
token_uuid(const char *secret, char *uuid, size_t len)
{
	const char *h = secret + 6;

	snprintf(uuid, len, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
		 h + 16, h + 20);
}

static bool
uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* expires_in: absent or null for a token that does not expire. */
static int
token_ttl(struct api *c, long long *ttl)
{
	json_t *v = json_object_get(c->body, "expires_in");

	*ttl = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > TOKEN_TTL_MAX)
		return api_fail(c, AE_BAD_REQUEST,
				"expires_in must be seconds, from 1 to %lld",
				TOKEN_TTL_MAX);
	*ttl = json_integer_value(v);
	return 0;
}

/* One entry of "repositories": a name, or a prefix ("acme/" and a star). */
static bool
token_repo_valid(const char *s)
{
	size_t n = strlen(s);
	char prefix[NAME_MAX_LEN + 1];

	if (n > 2 && n - 2 <= NAME_MAX_LEN && !strcmp(s + n - 2, "/*")) {
		memcpy(prefix, s, n - 2);
		prefix[n - 2] = '\0';
		return names_repo_valid(prefix);
	}
	return names_repo_valid(s);
}

/*
 * read_only (absent: false) and repositories (absent or null: all), as
 * "t"/"f" and a JSON array's text (caller frees) for
 * credential_token_create_limited. Duplicates are kept: harmless.
 */
static int
token_limits(struct api *c, const char **read_only, char **repos)
{
	json_t *v = json_object_get(c->body, "repositories"), *e;
	size_t i;

	*repos = NULL;
	if (api_bool(c, "read_only", read_only) < 0)
		return -1;
	if (*read_only == NULL)
		*read_only = "f";
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > TOKEN_REPOS_MAX)
		return api_fail(c, AE_BAD_REQUEST,
				"repositories must be a list of 1 to %d names",
				TOKEN_REPOS_MAX);
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) ||
		    !token_repo_valid(json_string_value(e)))
			return api_fail(c, AE_NAME_INVALID,
					"repositories[%zu] must be a "
					"repository name or a prefix such as "
					"\"acme/*\"",
					i);
	}
	*repos = json_dumps(v, JSON_COMPACT);
	return 0;
}

static int
token_create(struct api *c, const struct principal *owner)
{
	static const char *const fields[] = { "name", "expires_in",
					      "read_only", "repositories",
					      NULL };
	const char *kind = owner->kind == P_USER ? "personal" : "service";
	const char *name, *p[1], *read_only;
	char uuid[37], *secret = NULL, *repos = NULL;
	PGresult *res;
	json_t *doc;
	long long ttl;
	int ret = -1;

	if (api_fields(c, fields) < 0 ||
	    api_str(c, "name", true, 100, &name) < 0 || token_ttl(c, &ttl) < 0)
		return -1;
	if (*name == '\0')
		return api_fail(c, AE_BAD_REQUEST, "\"name\" is empty");
	if (token_limits(c, &read_only, &repos) < 0)
		return -1;
	secret = credential_token_create_limited(c->db, kind, owner, name, ttl,
						 read_only, repos);
	if (secret == NULL) {
		free(repos);
		return api_db_fail(c, "token");
	}
	token_uuid(secret, uuid, sizeof(uuid));
	p[0] = uuid;
	if ((res = api_exec(c, API_TOKEN_GET, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		api_fail(c, AE_UNAVAILABLE, "token vanished");
		goto out;
	}
	doc = api_json_col(res, 0, 0);
	json_object_set_new(doc, "login", json_string(owner->name));
	json_object_set_new(doc, "token", json_string(secret));
	api_audit(c, "token.create", owner->name,
		  json_pack("{s:s, s:s, s:s, s:b, s:O?}", "id", uuid, "name",
			    name, "kind", kind, "read_only", *read_only == 't',
			    "repositories",
			    json_object_get(c->body, "repositories")));
	ret = api_reply(c, 201, doc);
out:
	free(repos);
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
	return ret;
}

static int
token_list(struct api *c, const struct principal *owner)
{
	char id[24];
	const char *p[4] = { NULL, NULL, api_after(c) };

	snprintf(id, sizeof(id), "%lld", (long long)owner->id);
	p[owner->kind == P_USER ? 0 : 1] = id;
	return api_list(c, API_TOKEN_LIST, 4, p);
}

static int
token_revoke(struct api *c, const struct principal *owner, const char *uuid)
{
	char id[24];
	const char *p[3] = { uuid, NULL, NULL };
	int n;

	snprintf(id, sizeof(id), "%lld", (long long)owner->id);
	p[owner->kind == P_USER ? 1 : 2] = id;
	if (!uuid_valid(uuid) ||
	    (n = api_exec_count(c, API_TOKEN_REVOKE, 3, p)) == 0)
		return api_fail(c, AE_NOT_FOUND,
				"token \"%.40s\" not found", uuid);
	if (n < 0)
		return -1;
	api_audit(c, "token.revoke", owner->name,
		  json_pack("{s:s}", "id", uuid));
	return api_no_content(c);
}

int
apitoken_handle(struct api *c, const struct principal *owner, const char *id)
{
	/* A token that mints tokens could outlive itself (until scopes say
	 * otherwise, no personal access token manages tokens). */
	if (strcmp(c->r->method, "GET") != 0 &&
	    api_need_password(c, "create or revoke tokens") < 0)
		return -1;
	if (!strcmp(c->r->method, "POST"))
		return token_create(c, owner);
	if (!strcmp(c->r->method, "DELETE"))
		return token_revoke(c, owner, id);
	return token_list(c, owner);
}
