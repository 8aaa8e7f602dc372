/*
 * registryd's row readers (registryd/sql.c) on results built without a
 * server (PQmakeEmptyPGresult, PQsetvalue): each reads its statement's
 * columns in SELECT order, numbers as numbers, SQL NULL as NULL or 0.
 */
#include <string.h>

#include "sql.h"
#include "test.h"

/* A result of ncols text columns and one row; NULL cells are SQL NULL. */
static PGresult *
row_of(int ncols, const char *const *cells)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[8];

	memset(attrs, 0, sizeof(attrs));
	for (int i = 0; i < ncols; i++) {
		attrs[i].name = (char *)"c";
		attrs[i].format = 0;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	if (res == NULL || !PQsetResultAttrs(res, ncols, attrs))
		return NULL;
	for (int i = 0; i < ncols; i++)
		if (!PQsetvalue(res, 0, i, (char *)cells[i],
				cells[i] ? (int)strlen(cells[i]) : -1))
			return NULL;
	return res;
}

static void
manifest_rows(void)
{
	const char *full[3] = { "sha256:aa", "application/x", "{}" };
	const char *head[3] = { "sha256:bb", "application/y", "1234" };
	struct manifest_row m;
	PGresult *res;

	CHECK((res = row_of(3, full)) != NULL);
	manifest_row_read(res, 0, false, &m);
	CHECK(!strcmp(m.digest, "sha256:aa"));
	CHECK(!strcmp(m.media_type, "application/x"));
	CHECK(m.size == 2 && !memcmp(m.content, "{}", 2));
	PQclear(res);
	CHECK((res = row_of(3, head)) != NULL);
	manifest_row_read(res, 0, true, &m);
	CHECK(!strcmp(m.digest, "sha256:bb") && m.content == NULL);
	CHECK(m.size == 1234);
	PQclear(res);
}

static void
upload_rows(void)
{
	const char *ins[3] = { "3", "1", "0" };
	const char *got[2] = { "1000", NULL };
	struct upload_insert_row n;
	struct upload_row u;
	PGresult *res;

	CHECK((res = row_of(3, ins)) != NULL);
	upload_insert_row_read(res, 0, &n);
	CHECK(n.repo == 3 && n.mine == 1 && !n.inserted);
	PQclear(res);
	CHECK((res = row_of(2, got)) != NULL);
	upload_row_read(res, 0, &u);
	CHECK(u.size == 1000 && u.hash_state == NULL);
	PQclear(res);
}

static void
referrer_rows(void)
{
	const char *cells[5] = { "sha256:cc", "application/z", "42", NULL,
				 "{\"a\":\"b\"}" };
	struct referrer_row d;
	struct tag_row t;
	PGresult *res;

	CHECK((res = row_of(5, cells)) != NULL);
	referrer_row_read(res, 0, &d);
	CHECK(!strcmp(d.digest, "sha256:cc") && d.size == 42);
	CHECK(!strcmp(d.media_type, "application/z"));
	CHECK(d.artifact_type == NULL && !strcmp(d.annotations, cells[4]));
	/* Q_TAG_DELETE's name, digest. */
	tag_row_read(res, 0, &t);
	CHECK(!strcmp(t.name, "sha256:cc") && !strcmp(t.digest, cells[1]));
	CHECK(!strcmp(page_row_name(res, 0), "sha256:cc"));
	PQclear(res);
}

static void
one_column_rows(void)
{
	const char *id[1] = { "17" };
	const char *null[1] = { NULL };
	struct blob_row b;
	PGresult *res;

	CHECK((res = row_of(1, id)) != NULL);
	CHECK(repo_row_id(res, 0) == 17);
	blob_row_read(res, 0, &b);
	CHECK(b.size == 17);
	CHECK(!strcmp(missing_row_digest(res, 0), "17"));
	CHECK(!strcmp(tag_old_row_digest(res, 0), "17"));
	CHECK(!strcmp(upload_purge_row_id(res, 0), "17"));
	CHECK(!strcmp(manifest_deleted_row_digest(res, 0), "17"));
	PQclear(res);
	CHECK((res = row_of(1, null)) != NULL);
	CHECK(repo_row_id(res, 0) == 0 && missing_row_digest(res, 0) == NULL);
	PQclear(res);
}

static void
gc_rows(void)
{
	const char *step[3] = { "25", "7", "7168" };
	const char *del[2] = { "sha256:cc", "1024" };
	struct gc_step_row g;
	struct gc_deletion_row d;
	PGresult *res;

	CHECK((res = row_of(3, step)) != NULL);
	gc_step_row_read(res, 0, &g);
	CHECK(g.reviewed == 25 && g.deleted == 7 && g.bytes == 7168);
	PQclear(res);
	CHECK((res = row_of(2, del)) != NULL);
	gc_deletion_row_read(res, 0, &d);
	CHECK(!strcmp(d.digest, "sha256:cc") && d.size == 1024);
	PQclear(res);
}

/* sql_array: a PostgreSQL array literal, {} for none. */
static void
array_literals(void)
{
	char *items[3] = { (char *)"sha256:aa", (char *)"sha256:bb",
			   (char *)"x" };
	struct arena a;

	arena_init(&a);
	CHECK(!strcmp(sql_array(&a, items, 0), "{}"));
	CHECK(!strcmp(sql_array(&a, items, 1), "{sha256:aa}"));
	CHECK(!strcmp(sql_array(&a, items, 3), "{sha256:aa,sha256:bb,x}"));
	arena_release(&a);
}

static void
immutable_rows(void)
{
	const char *cells[2] = { "v1", "v*" };
	struct immutable_row m;
	PGresult *res;

	CHECK((res = row_of(2, cells)) != NULL);
	immutable_row_read(res, 0, &m);
	CHECK(!strcmp(m.tag, "v1") && !strcmp(m.pattern, "v*"));
	PQclear(res);
}

void
test_sqlrows(void)
{
	gc_rows();
	array_literals();
	manifest_rows();
	upload_rows();
	referrer_rows();
	one_column_rows();
	immutable_rows();
}
