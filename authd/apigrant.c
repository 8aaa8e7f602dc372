/*
 * Management API: grants of a level (read, write, admin) on one repository
 * or, with no repository, on a whole namespace, to a team, a user or a
 * service account. berth_repo_level() in the schema is what reads them.
 */
#include <stdlib.h>

#include "api.h"
#include "names.h"

static const char *
level_name(const char *level)
{
	static const char *const names[] = { "read", "write", "admin" };

	return names[atoi(level) - 1];
}

/* A repository of namespace ns: "ns/x[/y...]". */
static int
grant_repo_check(struct api *c, const char *ns, const char *repo)
{
	size_t n = strlen(ns);

	if (!names_repo_valid(repo) || strncmp(repo, ns, n) != 0 ||
	    repo[n] != '/')
		return api_fail(c, AE_NAME_INVALID,
				"repository must be a valid name under \"%s/\"",
				ns);
	return 0;
}

int
apigrant_set(struct api *c, const char *ns, const char *repo, const char *level,
	     const struct apigrant_to *to)
{
	const char *p[6] = { ns, repo, to->team_id, to->user_id, to->sa_id,
			     level };

	if (api_exec(c, API_GRANT_SET, 6, p) == NULL)
		return -1;
	api_audit(c, arena_printf(&c->r->arena, "%s.grant.set", to->kind),
		  to->target,
		  json_pack("{s:s?, s:s, s:s}", "repository", repo, "level",
			    level_name(level), "grantee", to->grantee));
	return api_reply(c, 200,
			 json_pack("{s:s?, s:s}", "repository", repo, "level",
				   level_name(level)));
}

int
apigrant_remove(struct api *c, const char *ns, const char *repo,
		const struct apigrant_to *to)
{
	const char *p[5] = { ns, repo, to->team_id, to->user_id, to->sa_id };
	int n;

	if ((n = api_exec_count(c, API_GRANT_DELETE, 5, p)) < 0)
		return -1;
	if (n == 0)
		return api_fail(c, AE_NOT_FOUND, "grant not found");
	api_audit(c, arena_printf(&c->r->arena, "%s.grant.delete", to->kind),
		  to->target,
		  json_pack("{s:s?, s:s}", "repository", repo, "grantee",
			    to->grantee));
	return api_no_content(c);
}

static int
grant_put(struct api *c, const struct api_org *o, const struct apigrant_to *to)
{
	static const char *const fields[] = { "repository", "level", NULL };
	const char *repo, *level;

	if (api_fields(c, fields) < 0 || api_level(c, &level) < 0)
		return -1;
	/* Absent is a mistake more often than a wish for the whole org. */
	if (json_object_get(c->body, "repository") == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"\"repository\" is required (null for the "
				"whole organization)");
	if (api_str(c, "repository", false, NAME_MAX_LEN, &repo) < 0 ||
	    (repo && grant_repo_check(c, o->name, repo) < 0))
		return -1;
	return apigrant_set(c, o->name, repo, level, to);
}

static int
grant_delete(struct api *c, const struct api_org *o,
	     const struct apigrant_to *to)
{
	const char *repo = http_query(c->r, "repository");

	if (repo && *repo == '\0')
		repo = NULL;
	if (repo && grant_repo_check(c, o->name, repo) < 0)
		return -1;
	return apigrant_remove(c, o->name, repo, to);
}

static int
grant_list(struct api *c, const struct apigrant_to *to)
{
	const char *p[5] = { to->team_id, to->user_id, to->sa_id,
			     api_after(c) };

	return api_list(c, API_GRANT_LIST, 5, p);
}

int
apigrant_handle(struct api *c, const struct api_org *o,
		const struct apigrant_to *to)
{
	if (!strcmp(c->r->method, "PUT"))
		return grant_put(c, o, to);
	if (!strcmp(c->r->method, "DELETE"))
		return grant_delete(c, o, to);
	return grant_list(c, to);
}
