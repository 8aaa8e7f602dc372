/*
 * Scopes (docker-token-auth-scope): parsing "type:name:actions" and
 * narrowing the requested actions to what the principal may do. An unknown
 * type, a bad name or a forbidden action is dropped, never an error, so a
 * token request never reveals whether a private repository exists. An
 * access token with limits gets the intersection of its owner's actions
 * and its limits (berth_token_level in schema/0004_identity.sql).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "authd.h"
#include "authsql.h"
#include "names.h"

int
scope_parse(const char *s, struct jwt_access *out)
{
	const char *first = strchr(s, ':'), *last = strrchr(s, ':');
	const char *p, *type_end;
	char *actions, *save = NULL, *tok;

	memset(out, 0, sizeof(*out));
	if (first == NULL || last == first || strlen(s) > 1024)
		return -1;
	/* "repository(plugin)" names a resource class; keep the type. */
	type_end = memchr(s, '(', (size_t)(first - s));
	if (type_end == NULL)
		type_end = first;
	out->type = xstrndup(s, (size_t)(type_end - s));
	out->name = xstrndup(first + 1, (size_t)(last - first - 1));
	actions = xstrdup(last + 1);
	for (tok = strtok_r(actions, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		out->actions = xrealloc(out->actions, sizeof(char *) *
						      (size_t)(out->n_actions + 1));
		out->actions[out->n_actions++] = xstrdup(tok);
	}
	free(actions);
	for (p = out->type; *p; p++)
		if (!(*p >= 'a' && *p <= 'z'))
			return -1;
	return *out->type && *out->name ? 0 : -1;
}

/* The principal's level on repo; a limited token's through its limits. */
static int
repo_level(struct db *db, struct arena *arena, const struct principal *p,
	   const char *repo)
{
	char uid[24], sid[24];
	const char *params[4] = { NULL, NULL, repo, repo };
	PGresult *res;
	int level;

	snprintf(uid, sizeof(uid), "%" PRId64, p->id);
	snprintf(sid, sizeof(sid), "%" PRId64, p->id);
	if (p->kind == P_USER)
		params[0] = uid;
	else if (p->kind == P_SERVICE)
		params[1] = sid;
	if (PRINCIPAL_LIMITED(p)) {
		params[0] = p->token_id;
		params[1] = p->kind == P_USER ? uid : NULL;
		params[2] = p->kind == P_SERVICE ? sid : NULL;
		res = db_query(db, arena, A_TOKEN_LEVEL, 4, params);
	} else {
		res = db_query(db, arena, A_REPO_LEVEL, 3, params);
	}
	return authsql_level(res, 0, &level) ? level : -1;
}

static bool
action_allowed(const char *action, int level)
{
	if (!strcmp(action, "pull"))
		return level >= 1;
	if (!strcmp(action, "push"))
		return level >= 2;
	if (!strcmp(action, "delete") || !strcmp(action, "*"))
		return level >= 3;
	return false;
}

int
scope_grant(struct db *db, struct arena *arena, const struct principal *p,
	    struct jwt_access *a)
{
	int level = 0, kept = 0;

	if (!strcmp(a->type, "repository") && names_repo_valid(a->name)) {
		if ((level = repo_level(db, arena, p, a->name)) < 0)
			return -1;
	}
	for (int i = 0; i < a->n_actions; i++) {
		bool dup = false, allowed;

		for (int j = 0; j < kept; j++)
			dup |= !strcmp(a->actions[j], a->actions[i]);
		/* Everyone may list the catalog ("*" is its only action);
		 * registryd lists only what the subject may pull. Not a
		 * token limited to some repositories: registryd knows the
		 * subject, not the token's list. */
		if (!strcmp(a->type, "registry"))
			allowed = !strcmp(a->name, "catalog") &&
				  !strcmp(a->actions[i], "*") &&
				  !p->token_repos;
		else
			allowed = action_allowed(a->actions[i], level);
		if (!dup && allowed)
			a->actions[kept++] = a->actions[i];
		else
			free(a->actions[i]);
	}
	a->n_actions = kept;
	return 0;
}
