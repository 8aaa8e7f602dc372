/*
 * Management API: organizations, their members (owner or member) and
 * teams, the teams' members and grants. Any user may create an
 * organization and becomes its owner. Members may read the organization,
 * its members and teams; owners and system administrators change them.
 * To anyone else an organization answers 404, as if it did not exist.
 * An organization always keeps an owner: changes that would remove the
 * last one are refused, under a lock on the organization's row. A team
 * may name a directory group (ldap_group) whose members it then follows
 * (ldapsync.c; docs/ldap.md).
 */
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <stdlib.h>

#include "api.h"

#define DN_MAX 1024

static int
org_list(struct api *c)
{
	const char *p[4] = { c->uid, c->who.is_admin ? "t" : "f",
			     api_after(c) };

	return api_list(c, API_ORG_LIST, 4, p);
}

/* An organization being created: the name in, and the parameters of
 * API_MEMBER_SET (the new id, the creator, "owner") out. */
struct org_new {
	const char *ns[1];
	const char *member[3];
};

/* In a transaction: the namespace, the organization, and its creator as
 * owner. */
static int
org_insert(struct api *c, void *arg)
{
	struct org_new *on = arg;
	const char *what = arena_printf(&c->r->arena, "name \"%s\"", on->ns[0]);
	PGresult *res;

	if (api_exec_what(c, API_ORG_NS_INSERT, 1, on->ns, what) == NULL ||
	    (res = api_exec(c, API_ORG_INSERT, 1, on->ns)) == NULL)
		return -1;
	on->member[0] = apisql_org_insert_id(res);
	if (api_exec(c, API_MEMBER_SET, 3, on->member) == NULL)
		return -1;
	return 0;
}

static int
org_create(struct api *c)
{
	static const char *const fields[] = { "name", NULL };
	struct org_new on = { .member = { NULL, c->uid, "owner" } };

	if (api_need_user(c) < 0 || api_fields(c, fields) < 0 ||
	    api_name(c, "name", &on.ns[0]) < 0 ||
	    api_tx(c, org_insert, &on) < 0)
		return -1;
	api_audit(c, "org.create", on.ns[0], NULL);
	return api_reply_row(c, 201, API_ORG_GET, 1, on.member, "organization");
}

static int
org_get(struct api *c)
{
	struct api_org o;
	const char *p[1] = { o.id };

	if (api_org(c, c->arg[0], false, &o) < 0)
		return -1;
	return api_reply_row(c, 200, API_ORG_GET, 1, p, "organization");
}

/* An organization's delete, as its transaction does it. */
struct org_gone {
	const char *name;
	long long repos;	/* the repositories that went with it */
};

static int
org_remove(struct api *c, void *arg)
{
	struct org_gone *og = arg;
	const char *p[1] = { og->name };

	if (apirepo_purge_ns(c, og->name, &og->repos) < 0 ||
	    api_exec_count(c, API_ORG_DELETE, 1, p) < 0)
		return -1;
	return 0;
}

static int
org_delete(struct api *c)
{
	struct api_org o;
	struct org_gone og = { .name = c->arg[0] };

	if (api_org(c, c->arg[0], true, &o) < 0 ||
	    api_ns_check_empty(c, o.name) < 0 || api_tx(c, org_remove, &og) < 0)
		return -1;
	api_audit(c, "org.delete", o.name,
		  json_pack("{s:I}", "repositories", (json_int_t)og.repos));
	return api_no_content(c);
}

static int
member_list(struct api *c)
{
	struct api_org o;
	const char *p[3] = { o.id, api_after(c) };

	if (api_org(c, c->arg[0], false, &o) < 0)
		return -1;
	return api_list(c, API_MEMBER_LIST, 3, p);
}

/* A change of user u's membership of organization o, in a transaction. */
struct member_change {
	const struct api_org *o;
	const struct api_user *u;
	const char *role;	/* the new role; NULL: u leaves */
	const char *was;	/* u's role before; NULL: not a member */
};

/*
 * Locks organization o and reads u's role into mc->was; refuses (409)
 * when u is o's last owner and the change demotes or removes them.
 */
static int
member_lock(struct api *c, struct member_change *mc)
{
	const char *p[2] = { mc->o->id, mc->u->id };
	PGresult *res;

	if (api_exec(c, API_ORG_LOCK, 1, p) == NULL ||
	    (res = api_exec(c, API_MEMBER_ROLE, 2, p)) == NULL)
		return -1;
	mc->was = apisql_member_role(res);
	if (mc->was == NULL || strcmp(mc->was, "owner") != 0 ||
	    (mc->role != NULL && !strcmp(mc->role, "owner")))
		return 0;
	if ((res = api_exec(c, API_OWNERS_OTHER, 2, p)) == NULL)
		return -1;
	if (apisql_owners_other(res) == 0)
		return api_fail(c, AE_CONFLICT,
				"\"%s\" is the last owner of \"%s\"",
				mc->u->name, mc->o->name);
	return 0;
}

static int
member_set_apply(struct api *c, void *arg)
{
	struct member_change *mc = arg;
	const char *p[3] = { mc->o->id, mc->u->id, mc->role };

	if (member_lock(c, mc) < 0 || api_exec(c, API_MEMBER_SET, 3, p) == NULL)
		return -1;
	return 0;
}

static int
member_set(struct api *c)
{
	static const char *const fields[] = { "role", NULL };
	struct api_org o;
	struct api_user u;
	struct member_change mc = { .o = &o, .u = &u };

	if (api_org(c, c->arg[0], true, &o) < 0 || api_fields(c, fields) < 0 ||
	    api_str(c, "role", true, 16, &mc.role) < 0)
		return -1;
	if (strcmp(mc.role, "owner") != 0 && strcmp(mc.role, "member") != 0)
		return api_fail(c, AE_BAD_REQUEST,
				"\"role\" must be owner or member");
	if (api_user(c, c->arg[1], &u) < 0 ||
	    api_tx(c, member_set_apply, &mc) < 0)
		return -1;
	api_audit(c, "org.member.set",
		  arena_printf(&c->r->arena, "%s/%s", o.name, u.name),
		  json_pack("{s:s, s:s?}", "role", mc.role, "was", mc.was));
	return api_reply(c, 200, json_pack("{s:s, s:s}", "user", u.name, "role",
					   mc.role));
}

/* The member leaves the organization's teams, then the organization. */
static int
member_delete_apply(struct api *c, void *arg)
{
	struct member_change *mc = arg;
	const char *p[2] = { mc->o->id, mc->u->id };

	if (member_lock(c, mc) < 0)
		return -1;
	if (mc->was == NULL)
		return api_fail(c, AE_NOT_FOUND,
				"\"%s\" is not a member of \"%s\"",
				mc->u->name, mc->o->name);
	if (api_exec_count(c, API_MEMBER_TEAMS_DELETE, 2, p) < 0 ||
	    api_exec_count(c, API_MEMBER_DELETE, 2, p) < 0)
		return -1;
	return 0;
}

/* Owners remove anyone; a member may leave. */
static int
member_delete(struct api *c)
{
	struct api_org o;
	struct api_user u;
	struct member_change mc = { .o = &o, .u = &u };

	if (api_org(c, c->arg[0], false, &o) < 0)
		return -1;
	if (!o.owner && strcmp(c->arg[1], c->who.name) != 0)
		return api_fail(c, AE_DENIED,
				"only the organization's owners may do this");
	if (api_user(c, c->arg[1], &u) < 0 ||
	    api_tx(c, member_delete_apply, &mc) < 0)
		return -1;
	api_audit(c, "org.member.delete",
		  arena_printf(&c->r->arena, "%s/%s", o.name, u.name),
		  json_pack("{s:s}", "role", mc.was));
	return api_no_content(c);
}

static const struct api_kind team_kind = {
	.what = "team",
	.action = "team",
	.sep = '/',
	.members_read = true,
	.ldap_group = true,
	.get = API_TEAM_GET,
	.list = API_TEAM_LIST,
	.insert = API_TEAM_INSERT,
	.del = API_TEAM_DELETE,
};

/*
 * The body's "ldap_group": a distinguished name into *dn, or NULL when
 * null or absent; *present (if not NULL) tells those two apart. 400 when
 * ldap_str2dn refuses it, so that a typo fails here instead of matching
 * no group forever. The DN is kept as written: the directory's spelling
 * is what logins compare it with (case aside), and ldap_dn2str would
 * rewrite escapes ("\," becomes "\2C").
 */
static int
ldap_group_arg(struct api *c, const char **dn, bool *present)
{
	LDAPDN parsed = NULL;
	bool empty;
	int rc;

	if (present != NULL)
		*present = json_object_get(c->body, "ldap_group") != NULL;
	if (api_str(c, "ldap_group", false, DN_MAX, dn) < 0)
		return -1;
	if (*dn == NULL)
		return 0;
	rc = ldap_str2dn(*dn, &parsed, LDAP_DN_FORMAT_LDAPV3);
	empty = parsed == NULL;
	ldap_dnfree(parsed);
	if (rc != LDAP_SUCCESS || empty)
		return api_fail(c, AE_BAD_REQUEST,
				"\"ldap_group\" must be a distinguished name, "
				"such as cn=devs,ou=groups,dc=example,dc=com");
	return 0;
}

int
apiorg_child_find(struct api *c, const struct api_kind *k, bool write,
		  struct api_child *ch)
{
	const char *p[2] = { ch->o.id, c->arg[1] }, *id;
	PGresult *res;

	if (api_org(c, c->arg[0], write || !k->members_read, &ch->o) < 0 ||
	    (res = api_exec(c, k->get, 2, p)) == NULL)
		return -1;
	if ((id = apisql_child_id(res)) == NULL)
		return api_fail(c, AE_NOT_FOUND, "%s \"%.64s\" not found",
				k->what, c->arg[1]);
	util_strlcpy(ch->id, id, sizeof(ch->id));
	ch->name = c->arg[1];
	ch->label = arena_printf(&c->r->arena, "%s%c%s", ch->o.name, k->sep,
				 ch->name);
	return 0;
}

int
apiorg_child_list(struct api *c, const struct api_kind *k)
{
	struct api_org o;
	const char *p[3] = { o.id, api_after(c) };

	if (api_org(c, c->arg[0], !k->members_read, &o) < 0)
		return -1;
	return api_list(c, k->list, 3, p);
}

int
apiorg_child_create(struct api *c, const struct api_kind *k)
{
	static const char *const fields[] = { "name", "description", NULL };
	static const char *const linked[] = { "name", "description",
					      "ldap_group", NULL };
	struct api_org o;
	const char *p[4] = { o.id };

	if (api_org(c, c->arg[0], true, &o) < 0 ||
	    api_fields(c, k->ldap_group ? linked : fields) < 0 ||
	    api_name(c, "name", &p[1]) < 0 ||
	    api_str(c, "description", false, 1024, &p[2]) < 0 ||
	    (k->ldap_group && ldap_group_arg(c, &p[3], NULL) < 0) ||
	    api_exec_what(c, k->insert, k->ldap_group ? 4 : 3, p,
			  arena_printf(&c->r->arena, "%s \"%s\"", k->what,
				       p[1])) == NULL)
		return -1;
	api_audit(c, arena_printf(&c->r->arena, "%s.create", k->action),
		  arena_printf(&c->r->arena, "%s%c%s", o.name, k->sep, p[1]),
		  p[3] ? json_pack("{s:s}", "ldap_group", p[3]) : NULL);
	return api_reply_row(c, 201, k->get, 2, p, k->what);
}

int
apiorg_child_get(struct api *c, const struct api_kind *k)
{
	struct api_org o;
	const char *p[2] = { o.id, c->arg[1] };

	if (api_org(c, c->arg[0], !k->members_read, &o) < 0)
		return -1;
	return api_reply_row(c, 200, k->get, 2, p, k->what);
}

int
apiorg_child_delete(struct api *c, const struct api_kind *k)
{
	struct api_child ch;
	const char *p[1] = { ch.id };

	if (apiorg_child_find(c, k, true, &ch) < 0 ||
	    api_exec_count(c, k->del, 1, p) < 0)
		return -1;
	api_audit(c, arena_printf(&c->r->arena, "%s.delete", k->action),
		  ch.label, NULL);
	return api_no_content(c);
}

static int
team_list(struct api *c)
{
	return apiorg_child_list(c, &team_kind);
}

static int
team_create(struct api *c)
{
	return apiorg_child_create(c, &team_kind);
}

static int
team_get(struct api *c)
{
	return apiorg_child_get(c, &team_kind);
}

static int
team_delete(struct api *c)
{
	return apiorg_child_delete(c, &team_kind);
}

/* A team's PATCH, as its transaction applies it. */
struct team_change {
	const char *name;
	const char *p[4];	/* API_TEAM_UPDATE's parameters */
	bool link;		/* ldap_group was given (p[2], NULL: unlink) */
	const char *was;	/* the group before, or NULL */
	int removed;		/* directory members unlinked */
};

static int
team_change_apply(struct api *c, void *arg)
{
	struct team_change *tc = arg;
	PGresult *res;

	if ((res = api_exec(c, API_TEAM_UPDATE, 4, tc->p)) == NULL)
		return -1;
	if (!apisql_team_update_read(res, &tc->was))	/* deleted since */
		return api_fail(c, AE_NOT_FOUND, "team \"%.64s\" not found",
				tc->name);
	if (tc->link && tc->p[2] == NULL && tc->was != NULL &&
	    (tc->removed = api_exec_count(c, API_TEAM_UNLINK_MEMBERS, 1,
					  tc->p)) < 0)
		return -1;
	return 0;
}

/*
 * PATCH {ldap_group: DN or null, description}. Linking changes no
 * membership now: each directory user's next login or sync does, and
 * local members are never touched. Unlinking removes the directory users
 * at once, since their membership was the group's to decide and no sync
 * looks at a team without a group.
 */
static int
team_patch(struct api *c)
{
	static const char *const fields[] = { "ldap_group", "description",
					      NULL };
	struct api_child t;
	struct team_change tc = { .p = { t.id } };
	const char *q[2] = { t.o.id, c->arg[1] }, *const *p = tc.p;
	json_t *detail;

	if (apiorg_child_find(c, &team_kind, true, &t) < 0 ||
	    api_fields(c, fields) < 0 ||
	    ldap_group_arg(c, &tc.p[2], &tc.link) < 0 ||
	    api_str(c, "description", false, 1024, &tc.p[3]) < 0)
		return -1;
	tc.name = t.name;
	tc.p[1] = tc.link ? "t" : "f";
	if (api_tx(c, team_change_apply, &tc) < 0)
		return -1;
	detail = tc.link ? json_pack("{s:s?, s:s?, s:i, s:b}", "ldap_group",
				     p[2], "was", tc.was, "removed",
				     tc.removed, "description", p[3] != NULL)
			 : json_pack("{s:b}", "description", p[3] != NULL);
	api_audit(c, "team.update", t.label, detail);
	return api_reply_row(c, 200, API_TEAM_GET, 2, q, "team");
}

static int
team_member_list(struct api *c)
{
	struct api_child t;
	const char *p[3] = { t.id, api_after(c) };

	if (apiorg_child_find(c, &team_kind, false, &t) < 0)
		return -1;
	return api_list(c, API_TEAM_MEMBER_LIST, 3, p);
}

/* Only the organization's members may join its teams. */
static int
team_member_add(struct api *c)
{
	struct api_child t;
	struct api_user u;
	const char *p[2] = { t.o.id, u.id };
	PGresult *res;

	if (apiorg_child_find(c, &team_kind, true, &t) < 0 ||
	    api_user(c, c->arg[2], &u) < 0 ||
	    (res = api_exec(c, API_MEMBER_ROLE, 2, p)) == NULL)
		return -1;
	if (apisql_member_role(res) == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"\"%s\" is not a member of \"%s\"", u.name,
				t.o.name);
	p[0] = t.id;
	if (api_exec_count(c, API_TEAM_MEMBER_ADD, 2, p) < 0)
		return -1;
	api_audit(c, "team.member.add", t.label,
		  json_pack("{s:s}", "user", u.name));
	return api_reply(c, 200, json_pack("{s:s}", "user", u.name));
}

static int
team_member_delete(struct api *c)
{
	struct api_child t;
	struct api_user u;
	const char *p[2] = { t.id, u.id };
	int n;

	if (apiorg_child_find(c, &team_kind, true, &t) < 0 ||
	    api_user(c, c->arg[2], &u) < 0 ||
	    (n = api_exec_count(c, API_TEAM_MEMBER_DELETE, 2, p)) < 0)
		return -1;
	if (n == 0)
		return api_fail(c, AE_NOT_FOUND,
				"\"%s\" is not a member of team \"%s\"", u.name,
				t.label);
	api_audit(c, "team.member.delete", t.label,
		  json_pack("{s:s}", "user", u.name));
	return api_no_content(c);
}

/* GET (members too), PUT or DELETE .../grants. */
static int
team_grants(struct api *c)
{
	struct api_child t;
	struct apigrant_to to = { .team_id = t.id, .kind = "team" };

	if (apiorg_child_find(c, &team_kind,
			      !c->r->is_head && strcmp(c->r->method, "GET"),
			      &t) < 0)
		return -1;
	to.target = t.label;
	to.grantee = arena_printf(&c->r->arena, "team %s", t.label);
	return apigrant_handle(c, &t.o, &to);
}

const struct api_route apiorg_routes[] = {
	{ "GET", "orgs", org_list },
	{ "POST", "orgs", org_create },
	{ "GET", "orgs/*", org_get },
	{ "DELETE", "orgs/*", org_delete },
	{ "GET", "orgs/*/members", member_list },
	{ "PUT", "orgs/*/members/*", member_set },
	{ "DELETE", "orgs/*/members/*", member_delete },
	{ "GET", "orgs/*/teams", team_list },
	{ "POST", "orgs/*/teams", team_create },
	{ "GET", "orgs/*/teams/*", team_get },
	{ "PATCH", "orgs/*/teams/*", team_patch },
	{ "DELETE", "orgs/*/teams/*", team_delete },
	{ "GET", "orgs/*/teams/*/members", team_member_list },
	{ "PUT", "orgs/*/teams/*/members/*", team_member_add },
	{ "DELETE", "orgs/*/teams/*/members/*", team_member_delete },
	{ "GET", "orgs/*/teams/*/grants", team_grants },
	{ "PUT", "orgs/*/teams/*/grants", team_grants },
	{ "DELETE", "orgs/*/teams/*/grants", team_grants },
	{ NULL, NULL, NULL },
};
