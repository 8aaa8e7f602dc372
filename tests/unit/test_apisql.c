/*
 * The management API's typed rows (apisql.c): each reader against a
 * result built the way PostgreSQL sends it (text columns, SQL NULL), so
 * that a column moved in the SQL shows here, not in an answer's field.
 */
#include <stdlib.h>

#include "api.h"
#include "test.h"

/* A result of ncol columns and nrow rows of text (NULL: SQL NULL). */
static PGresult *
result_of(int ncol, int nrow, const char *const *cells)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[8] = { { 0 } };

	if (res == NULL || ncol > 8)
		abort();
	for (int i = 0; i < ncol; i++)
		attrs[i].name = (char *)"c";
	if (!PQsetResultAttrs(res, ncol, attrs))
		abort();
	for (int r = 0; r < nrow; r++)
		for (int i = 0; i < ncol; i++) {
			const char *v = cells[r * ncol + i];

			if (!PQsetvalue(res, r, i, (char *)v,
					v ? (int)strlen(v) : -1))
				abort();
		}
	return res;
}

static void
test_users(void)
{
	static const char *const user[] = { "7", "alice", "t", "f", "t" };
	static const char *const unlock[] = { "3", "f", "t" };
	static const char *const kinds[] = { "refresh", "access" };
	PGresult *res = result_of(5, 1, user);
	struct apisql_user u;
	struct apisql_unlock un;

	CHECK(apisql_user_read(res, &u));
	CHECK(!strcmp(u.id, "7") && !strcmp(u.name, "alice"));
	CHECK(u.admin && !u.disabled && u.local);
	PQclear(res);
	res = result_of(5, 0, NULL);
	CHECK(!apisql_user_read(res, &u));
	PQclear(res);
	res = result_of(3, 1, unlock);
	apisql_unlock_read(res, &un);
	CHECK(un.failures == 3 && !un.was_locked && un.was_delayed);
	PQclear(res);
	res = result_of(1, 2, kinds);
	CHECK(apisql_revoked_refresh(res, 0));
	CHECK(!apisql_revoked_refresh(res, 1));
	PQclear(res);
}

static void
test_orgs(void)
{
	static const char *const org[] = { "12", NULL };
	static const char *const child[] = { "{}", "40" };
	static const char *const team[] = { NULL };
	PGresult *res = result_of(2, 1, org);
	struct apisql_org o;
	const char *was = "x";

	CHECK(apisql_org_read(res, &o));
	CHECK(!strcmp(o.id, "12") && o.role == NULL);
	PQclear(res);
	res = result_of(2, 0, NULL);
	CHECK(!apisql_org_read(res, &o) && apisql_child_id(res) == NULL);
	PQclear(res);
	res = result_of(2, 1, child);
	CHECK(!strcmp(apisql_child_id(res), "40"));
	PQclear(res);
	res = result_of(1, 1, team);
	CHECK(apisql_team_update_read(res, &was) && was == NULL);
	CHECK(apisql_member_role(res) == NULL);
	PQclear(res);
	res = result_of(1, 0, NULL);
	CHECK(!apisql_team_update_read(res, &was));
	CHECK(apisql_member_role(res) == NULL && !apisql_ns_exists(res));
	CHECK(apisql_sole_owner_org(res) == NULL);
	CHECK(apisql_ns_repo(res) == NULL);
	PQclear(res);
}

static void
test_repos(void)
{
	static const char *const gone[] = { "1", "2", "3", "4", "5" };
	static const char *const level[] = { "3" };
	PGresult *res = result_of(5, 1, gone);
	struct apisql_repo_delete d;

	apisql_repo_delete_read(res, &d);
	CHECK(d.repos == 1 && d.tags == 2 && d.manifests == 3);
	CHECK(d.blobs_queued == 4 && d.grants == 5);
	CHECK(apisql_ns_purged(res) == 1);
	PQclear(res);
	res = result_of(1, 1, level);
	CHECK(apisql_repo_level(res) == 3 && apisql_owners_other(res) == 3);
	CHECK(!strcmp(apisql_org_insert_id(res), "3"));
	PQclear(res);
}

static void
test_policies(void)
{
	static const char *const ns[] = { "acme", NULL, "v*" };
	static const char *const repo[] = { "acme", "acme/app", "*" };
	PGresult *res = result_of(3, 1, ns);
	struct apisql_scope s;

	CHECK(apisql_scope_read(res, &s));
	CHECK(!strcmp(s.ns, "acme") && s.repo == NULL);
	CHECK(!strcmp(s.pattern, "v*"));
	PQclear(res);
	res = result_of(3, 1, repo);
	CHECK(apisql_scope_read(res, &s) && !strcmp(s.repo, "acme/app"));
	PQclear(res);
	res = result_of(3, 0, NULL);
	CHECK(!apisql_scope_read(res, &s));
	PQclear(res);
}

void
test_apisql(void)
{
	test_users();
	test_orgs();
	test_repos();
	test_policies();
}
