/*
 * Management API: tag immutability rules, per repository or for a whole
 * namespace, and the scope checks that retention policies share. Who may
 * change a scope's policies follows berth_repo_level(), the rule of token
 * scopes: admin (3) on the repository, or on the namespace itself (its
 * user, its organization's owners, namespace-wide admin grants, system
 * administrators); its readers may list them. A scope the caller may not
 * read answers 404, whether it exists or not.
 */
#include <stdlib.h>

#include "api.h"
#include "names.h"
#include "tagglob.h"

/* The scope named by ns or repo (exactly one), validated. */
static int
policy_scope_parse(struct api *c, const char *ns, const char *repo,
	    struct api_scope *s)
{
	const char *slash;

	if ((ns == NULL) == (repo == NULL))
		return api_fail(c, AE_BAD_REQUEST,
				"name either a \"namespace\" or a "
				"\"repository\"");
	if (ns != NULL && !api_name_valid(ns))
		return api_fail(c, AE_NAME_INVALID,
				"\"namespace\" must match "
				"[a-z0-9]+([._-][a-z0-9]+)*");
	if (repo != NULL &&
	    (!names_repo_valid(repo) || (slash = strchr(repo, '/')) == NULL))
		return api_fail(c, AE_NAME_INVALID,
				"repository names are <namespace>/<name>");
	s->repo = repo;
	s->ns = repo ? arena_strndup(&c->r->arena, repo,
				     (size_t)(slash - repo))
		     : ns;
	s->label = repo ? repo : ns;
	return 0;
}

int
apipolicy_scope_check(struct api *c, int need, struct api_scope *s)
{
	/* "ns/" names no repository: its level is the namespace's own. */
	const char *p[3] = { c->uid, c->sid,
			     s->repo ? s->repo
				     : arena_printf(&c->r->arena, "%s/",
						    s->ns) };
	const char *q[1] = { s->ns };
	const char *what = s->repo ? "repository" : "namespace";
	PGresult *res;
	int level;

	s->label = s->repo ? s->repo : s->ns;
	if ((res = api_exec(c, A_REPO_LEVEL, 3, p)) == NULL)
		return -1;
	if ((level = apisql_repo_level(res)) == 0)
		return api_fail(c, AE_NOT_FOUND, "%s \"%s\" not found", what,
				s->label);
	if (level < need)
		return api_fail(c, AE_DENIED,
				"only the %s's admins may change its "
				"policies",
				what);
	if ((res = api_exec(c, API_NS_GET, 1, q)) == NULL)
		return -1;
	if (!apisql_ns_exists(res))
		return api_fail(c, AE_NOT_FOUND,
				"namespace \"%s\" has no user or organization",
				s->ns);
	return 0;
}

int
apipolicy_scope(struct api *c, bool from_body, int need, struct api_scope *s)
{
	const char *ns, *repo;

	if (from_body) {
		if (api_str(c, "namespace", false, 64, &ns) < 0 ||
		    api_str(c, "repository", false, 256, &repo) < 0)
			return -1;
	} else {
		ns = http_query(c->r, "namespace");
		repo = http_query(c->r, "repository");
	}
	if (policy_scope_parse(c, ns, repo, s) < 0)
		return -1;
	return apipolicy_scope_check(c, need, s);
}

int
apipolicy_id(struct api *c, int i, const char *what, const char **id)
{
	uint64_t v;

	*id = c->arg[i];
	if (strlen(*id) > 18 || util_parse_u64(*id, &v) < 0 || v == 0)
		return api_fail(c, AE_NOT_FOUND, "%s \"%.32s\" not found",
				what, *id);
	return 0;
}

int
apipolicy_pattern(struct api *c, const char *key, const char **out)
{
	const char *why;

	if (api_str(c, key, true, TAGGLOB_MAX, out) < 0)
		return -1;
	if (!tagglob_valid(*out, &why))
		return api_fail(c, AE_BAD_REQUEST, "\"%s\" %s", key, why);
	return 0;
}

int
apipolicy_list(struct api *c, int stmt)
{
	struct api_scope s;
	const char *p[4];

	if (apipolicy_scope(c, false, 1, &s) < 0)
		return -1;
	p[0] = s.ns;
	p[1] = s.repo;
	p[2] = api_after(c);
	return api_list(c, stmt, 4, p);
}

/* GET /immutable-rules?namespace=NS or ?repository=REPO: readers. */
static int
immutable_list(struct api *c)
{
	return apipolicy_list(c, API_IMMUTABLE_LIST);
}

/* POST /immutable-rules {namespace | repository, pattern}: admins. */
static int
immutable_add(struct api *c)
{
	static const char *const fields[] = { "namespace", "repository",
					      "pattern", NULL };
	struct api_scope s;
	const char *p[4];
	PGresult *res;
	json_t *doc;

	if (api_fields(c, fields) < 0 || apipolicy_pattern(c, "pattern",
							   &p[2]) < 0 ||
	    apipolicy_scope(c, true, 3, &s) < 0)
		return -1;
	p[0] = s.ns;
	p[1] = s.repo;
	p[3] = c->who.name;
	res = api_exec_what(c, API_IMMUTABLE_INSERT, 4, p,
			    arena_printf(&c->r->arena, "rule \"%s\" on %s",
					 p[2], s.label));
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return api_fail(c, AE_CONFLICT,
				"namespace \"%s\" has as many immutability "
				"rules as it may",
				s.ns);
	doc = api_json_col(res, 0, 0);
	api_audit(c, "immutable.add", s.label,
		  json_pack("{s:s, s:O}", "pattern", p[2], "id",
			    json_object_get(doc, "id")));
	return api_reply(c, 201, doc);
}

/* DELETE /immutable-rules/{id}: the admins of the rule's scope. */
static int
immutable_remove(struct api *c)
{
	struct apisql_scope row;
	struct api_scope s;
	const char *p[1];
	PGresult *res;
	int n;

	if (apipolicy_id(c, 0, "rule", &p[0]) < 0 ||
	    (res = api_exec(c, API_IMMUTABLE_GET, 1, p)) == NULL)
		return -1;
	if (!apisql_scope_read(res, &row))
		return api_fail(c, AE_NOT_FOUND, "rule %s not found", p[0]);
	s.ns = row.ns;
	s.repo = row.repo;
	if (apipolicy_scope_check(c, 3, &s) < 0 ||
	    (n = api_exec_count(c, API_IMMUTABLE_DELETE, 1, p)) < 0)
		return -1;
	if (n == 0)
		return api_fail(c, AE_NOT_FOUND, "rule %s not found", p[0]);
	api_audit(c, "immutable.remove", s.label,
		  json_pack("{s:s, s:I}", "pattern", row.pattern, "id",
			    (json_int_t)strtoll(p[0], NULL, 10)));
	return api_no_content(c);
}

const struct api_route apipolicy_routes[] = {
	{ "GET", "immutable-rules", immutable_list },
	{ "POST", "immutable-rules", immutable_add },
	{ "DELETE", "immutable-rules/*", immutable_remove },
	{ NULL, NULL, NULL },
};
