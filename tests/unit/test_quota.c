/*
 * registryd's quota module (registryd/quota.c) where it stands alone: the
 * namespace of a repository name, and the rows of its two statements read
 * from results built without a server.
 */
#include <string.h>

#include "quota.h"
#include "sql.h"
#include "test.h"

/* A result of one row of n text columns. */
static PGresult *
row_of(int n, const char *const *cells)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[4];

	memset(attrs, 0, sizeof(attrs));
	for (int i = 0; i < n; i++)
		attrs[i].name = (char *)"c";
	if (res == NULL || !PQsetResultAttrs(res, n, attrs))
		return NULL;
	for (int i = 0; i < n; i++)
		if (!PQsetvalue(res, 0, i, (char *)cells[i],
				(int)strlen(cells[i])))
			return NULL;
	return res;
}

static void
namespaces(void)
{
	struct arena a;

	arena_init(&a);
	CHECK(!strcmp(quota_namespace(&a, "acme/app"), "acme"));
	CHECK(!strcmp(quota_namespace(&a, "acme/tools/app"), "acme"));
	CHECK(!strcmp(quota_namespace(&a, "alpine"), "alpine"));
	CHECK(!strcmp(quota_namespace(&a, "a.b-c/x"), "a.b-c"));
	arena_release(&a);
}

static void
rows(void)
{
	const char *lock[2] = { "10737418240", "4611686018427387904" };
	const char *need[1] = { "2097152" };
	struct quota_row q;
	PGresult *res;

	CHECK((res = row_of(2, lock)) != NULL);
	quota_row_read(res, 0, &q);
	CHECK(q.limit == INT64_C(10737418240));
	CHECK(q.usage == INT64_C(4611686018427387904));
	PQclear(res);
	CHECK((res = row_of(1, need)) != NULL);
	CHECK(quota_needed_row(res, 0) == 2097152);
	PQclear(res);
}

void
test_quota(void)
{
	namespaces();
	rows();
}
