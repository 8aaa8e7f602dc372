/*
 * Management API: an organization's service accounts (robot logins for
 * CI and deployments), their grants and their tokens. A service account
 * logs in as "<org>+<name>" with one of its tokens as the password. Only
 * the organization's owners and system administrators manage them.
 */
#include <stdlib.h>

#include "api.h"

static const struct api_kind sa_kind = {
	.what = "service account",
	.action = "sa",
	.sep = '+',
	.members_read = false,
	.get = API_SA_GET,
	.list = API_SA_LIST,
	.insert = API_SA_INSERT,
	.del = API_SA_DELETE,
};

static int
sa_list(struct api *c)
{
	return apiorg_child_list(c, &sa_kind);
}

static int
sa_create(struct api *c)
{
	return apiorg_child_create(c, &sa_kind);
}

static int
sa_get(struct api *c)
{
	return apiorg_child_get(c, &sa_kind);
}

static int
sa_delete(struct api *c)
{
	return apiorg_child_delete(c, &sa_kind);
}

static int
sa_patch(struct api *c)
{
	static const char *const fields[] = { "disabled", "description", NULL };
	struct api_child s;
	const char *p[3] = { s.id }, *q[2] = { s.o.id, c->arg[1] };

	if (apiorg_child_find(c, &sa_kind, true, &s) < 0 ||
	    api_fields(c, fields) < 0 || api_bool(c, "disabled", &p[1]) < 0 ||
	    api_str(c, "description", false, 1024, &p[2]) < 0 ||
	    api_exec_count(c, API_SA_UPDATE, 3, p) < 0)
		return -1;
	api_audit(c, "sa.update", s.label,
		  json_pack("{s:o, s:b}", "disabled",
			    p[1] ? json_boolean(*p[1] == 't') : json_null(),
			    "description", p[2] != NULL));
	return api_reply_row(c, 200, API_SA_GET, 2, q, "service account");
}

/* GET, PUT or DELETE .../grants. */
static int
sa_grants(struct api *c)
{
	struct api_child s;
	struct apigrant_to to = { .sa_id = s.id, .kind = "sa" };

	if (apiorg_child_find(c, &sa_kind, true, &s) < 0)
		return -1;
	to.target = s.label;
	to.grantee = arena_printf(&c->r->arena, "service account %s", s.label);
	return apigrant_handle(c, &s.o, &to);
}

/* GET or POST .../tokens, DELETE .../tokens/{id}: the account as owner. */
static int
sa_tokens(struct api *c)
{
	struct api_child s;
	struct principal who = { .kind = P_SERVICE };

	if (apiorg_child_find(c, &sa_kind, true, &s) < 0)
		return -1;
	who.id = strtoll(s.id, NULL, 10);
	util_strlcpy(who.name, s.label, sizeof(who.name));
	return apitoken_handle(c, &who, c->arg[2]);
}

const struct api_route apisa_routes[] = {
	{ "GET", "orgs/*/service-accounts", sa_list },
	{ "POST", "orgs/*/service-accounts", sa_create },
	{ "GET", "orgs/*/service-accounts/*", sa_get },
	{ "PATCH", "orgs/*/service-accounts/*", sa_patch },
	{ "DELETE", "orgs/*/service-accounts/*", sa_delete },
	{ "GET", "orgs/*/service-accounts/*/grants", sa_grants },
	{ "PUT", "orgs/*/service-accounts/*/grants", sa_grants },
	{ "DELETE", "orgs/*/service-accounts/*/grants", sa_grants },
	{ "GET", "orgs/*/service-accounts/*/tokens", sa_tokens },
	{ "POST", "orgs/*/service-accounts/*/tokens", sa_tokens },
	{ "DELETE", "orgs/*/service-accounts/*/tokens/*", sa_tokens },
	{ NULL, NULL, NULL },
};
