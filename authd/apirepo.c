/*
 * Management API: repositories' visibility, their direct user grants and
 * their deletion, and the list of repositories the caller may read.
 * Access follows berth_repo_level(), the rule that token scopes use:
 * readers may look, admins (level 3: their own namespace, organization
 * owners, system administrators, admin grants) may change and delete. A
 * repository the caller may not read answers 404, whether it exists or
 * not. Repository names hold slashes, so the routes match them as "**"
 * from both ends of the path.
 */
#include "api.h"
#include "names.h"

static const char *const level_names[] = { "none", "read", "write", "admin" };

/* The repository of the path and the caller's level on it. */
struct repo_ref {
	const char *name;
	const char *ns;
	int level;
};

/* Checks name and that the caller holds at least need on it. */
static int
repo_find(struct api *c, int need, struct repo_ref *rp)
{
	const char *p[3] = { c->uid, c->sid, c->arg[0] };
	const char *slash = strchr(c->arg[0], '/');
	PGresult *res;

	rp->name = c->arg[0];
	if (!names_repo_valid(rp->name) || slash == NULL)
		return api_fail(c, AE_NAME_INVALID,
				"repository names are <namespace>/<name>");
	rp->ns = arena_strndup(&c->r->arena, rp->name,
			       (size_t)(slash - rp->name));
	if ((res = api_exec(c, A_REPO_LEVEL, 3, p)) == NULL)
		return -1;
	rp->level = apisql_repo_level(res);
	if (rp->level == 0)
		return api_fail(c, AE_NOT_FOUND,
				"repository \"%s\" not found", rp->name);
	if (rp->level < need)
		return api_fail(c, AE_DENIED,
				"only the repository's admins may do this");
	return 0;
}

/* Grants name their namespace (a foreign key): it must exist. */
static int
repo_ns_check(struct api *c, const struct repo_ref *rp)
{
	const char *p[1] = { rp->ns };
	PGresult *res = api_exec(c, API_NS_GET, 1, p);

	if (res == NULL)
		return -1;
	if (!apisql_ns_exists(res))
		return api_fail(c, AE_CONFLICT,
				"namespace \"%s\" has no user or organization",
				rp->ns);
	return 0;
}

/* Visibility and the caller's level; admins also see the grants. */
static int
repo_reply(struct api *c, const struct repo_ref *rp)
{
	const char *p[1] = { rp->name };
	PGresult *res, *grants = NULL;
	json_t *doc;

	if ((res = api_exec(c, API_REPO_GET, 1, p)) == NULL ||
	    (rp->level == 3 &&
	     (grants = api_exec(c, API_REPO_GRANTS, 1, p)) == NULL))
		return -1;
	doc = api_json_col(res, 0, 0);
	json_object_set_new(doc, "level", json_string(level_names[rp->level]));
	if (grants != NULL)
		json_object_set_new(doc, "grants", api_json_col(grants, 0, 0));
	return api_reply(c, 200, doc);
}

static int
repo_list(struct api *c)
{
	const char *p[4] = { c->uid, c->sid, api_after(c) };

	return api_list(c, API_REPO_LIST, 4, p);
}

static int
repo_get(struct api *c)
{
	struct repo_ref rp;

	if (repo_find(c, 1, &rp) < 0)
		return -1;
	return repo_reply(c, &rp);
}

static int
repo_visibility(struct api *c)
{
	static const char *const fields[] = { "public", NULL };
	struct repo_ref rp;
	const char *p[2];

	if (repo_find(c, 3, &rp) < 0 || api_fields(c, fields) < 0 ||
	    api_bool(c, "public", &p[1]) < 0)
		return -1;
	if (p[1] == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"\"public\" is required");
	p[0] = rp.name;
	if (api_exec(c, API_REPO_VISIBILITY, 2, p) == NULL)
		return -1;
	api_audit(c, "repo.visibility", rp.name,
		  json_pack("{s:b}", "public", *p[1] == 't'));
	return repo_reply(c, &rp);
}

/* PUT {level} or DELETE .../grants/users/{user}. */
static int
repo_user_grant(struct api *c)
{
	static const char *const fields[] = { "level", NULL };
	struct repo_ref rp;
	struct api_user u;
	struct apigrant_to to = { .user_id = u.id, .kind = "repo" };
	const char *level;

	if (repo_find(c, 3, &rp) < 0 || repo_ns_check(c, &rp) < 0 ||
	    api_user(c, c->arg[1], &u) < 0)
		return -1;
	to.target = rp.name;
	to.grantee = arena_printf(&c->r->arena, "user %s", u.name);
	if (!strcmp(c->r->method, "DELETE"))
		return apigrant_remove(c, rp.ns, rp.name, &to);
	if (api_fields(c, fields) < 0 || api_level(c, &level) < 0)
		return -1;
	return apigrant_set(c, rp.ns, rp.name, level, &to);
}

/* A repository's delete, as its transaction does it. */
struct repo_gone {
	const char *name;
	struct apisql_repo_delete row;	/* what went */
};

static int
repo_remove(struct api *c, void *arg)
{
	struct repo_gone *rg = arg;
	const char *p[1] = { rg->name };
	PGresult *res;

	if ((res = api_exec(c, API_REPO_DELETE, 1, p)) == NULL)
		return -1;
	apisql_repo_delete_read(res, &rg->row);
	if (rg->row.repos == 0)
		return api_fail(c, AE_NOT_FOUND, "repository \"%s\" not found",
				rg->name);
	return 0;
}

/*
 * DELETE /repositories/{name}: the repository's admins. Tags, manifests
 * and blob links go in one statement, with the blobs queued for garbage
 * collection; pulls then answer NAME_UNKNOWN and the catalog skips it.
 */
static int
repo_delete(struct api *c)
{
	struct repo_ref rp;
	struct repo_gone rg;

	if (repo_find(c, 3, &rp) < 0)
		return -1;
	rg.name = rp.name;
	if (api_tx(c, repo_remove, &rg) < 0)
		return -1;
	api_audit(c, "repo.delete", rp.name,
		  json_pack("{s:I, s:I, s:I, s:I}", "tags",
			    (json_int_t)rg.row.tags, "manifests",
			    (json_int_t)rg.row.manifests, "blobs_queued",
			    (json_int_t)rg.row.blobs_queued, "grants",
			    (json_int_t)rg.row.grants));
	return api_no_content(c);
}

int
apirepo_purge_ns(struct api *c, const char *name, long long *n)
{
	const char *p[1] = { name };
	PGresult *res;

	if ((res = api_exec(c, API_NS_PURGE, 1, p)) == NULL)
		return -1;
	*n = apisql_ns_purged(res);
	return 0;
}

const struct api_route apirepo_routes[] = {
	{ "GET", "repositories", repo_list },
	{ "PUT", "repositories/**/visibility", repo_visibility },
	{ "PUT", "repositories/**/grants/users/*", repo_user_grant },
	{ "DELETE", "repositories/**/grants/users/*", repo_user_grant },
	{ "GET", "repositories/**", repo_get },
	{ "DELETE", "repositories/**", repo_delete },
	{ NULL, NULL, NULL },
};
