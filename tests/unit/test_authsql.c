/*
 * authd's typed rows (authsql.h) read from results built by hand, as
 * libpq would hand them over, and authd's error table (endpoint.c): every
 * entry a status, a code and a message.
 */
#include <libpq-fe.h>
#include <string.h>

#include "authd.h"
#include "authsql.h"
#include "test.h"

/* A result of one row of n text columns; NULL values are SQL NULL. */
static PGresult *
make_row(int n, const char *const *values)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[16];

	memset(attrs, 0, sizeof(attrs));
	for (int i = 0; i < n; i++)
		attrs[i].name = (char *)"c";
	if (!PQsetResultAttrs(res, n, attrs))
		return res;
	for (int i = 0; i < n; i++)
		PQsetvalue(res, 0, i, (char *)values[i],
			   values[i] ? (int)strlen(values[i]) : -1);
	return res;
}

static void
test_user(void)
{
	const char *v[7] = { "42", "alice", NULL, "t", "f", "ldap", "t" };
	PGresult *res = make_row(7, v);
	struct authsql_user u;

	CHECK(authsql_user_by_name(res, 0, &u));
	CHECK(u.id == 42 && !strcmp(u.name, "alice"));
	CHECK(u.password_hash == NULL);
	CHECK(u.is_admin && !u.disabled && u.directory && u.locked);
	CHECK(!authsql_user_by_name(res, 1, &u) && u.name == NULL);
	CHECK(!authsql_user_by_name(NULL, 0, &u) && u.id == 0);
	PQclear(res);
}

static void
test_token(void)
{
	const char *v[8] = { "personal", "\\x00", NULL, "9",
			     "f", "f", "t", "t" };
	PGresult *res = make_row(8, v);
	struct authsql_token t;

	CHECK(authsql_token_by_id(res, 0, &t));
	CHECK(!strcmp(t.kind, "personal") && !t.of_user && t.sa_id == 9);
	CHECK(!t.dead && !t.revoked && t.read_only && t.has_repos);
	PQclear(res);
}

static void
test_throttle(void)
{
	const char *v[4] = { "5", "60", "20", "0" };
	PGresult *res = make_row(4, v);
	struct authsql_throttle_fail f;
	int level;

	CHECK(authsql_throttle_fail(res, 0, &f));
	CHECK(f.failures[0] == 5 && f.delay[0] == 60);
	CHECK(f.failures[1] == 20 && f.delay[1] == 0);
	CHECK(authsql_level(res, 0, &level) && level == 5);
	PQclear(res);
}

static void
test_errors(void)
{
	for (int i = 0; i < AERR_COUNT; i++)
		CHECK(authd_errors[i].status >= 400 &&
		      authd_errors[i].status < 600 &&
		      authd_errors[i].code && *authd_errors[i].code &&
		      authd_errors[i].message && *authd_errors[i].message);
	CHECK(authd_errors[AERR_THROTTLED].status == 429);
	CHECK(authd_errors[AERR_UNAUTHORIZED].status == 401);
	CHECK(!strcmp(authd_errors[AERR_SYNC_REFUSED].code, "SYNC_REFUSED"));
}

void
test_authsql(void)
{
	test_user();
	test_token();
	test_throttle();
	test_errors();
}
