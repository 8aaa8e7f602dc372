/*
 * Applies the embedded migrations (see migrate.h). A session advisory lock
 * serialises nodes that start together; each migration and its record in
 * schema_migrations commit in one transaction, so a crash leaves either
 * both or neither.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "migrate.h"

#define MIGRATE_LOCK_ID "4242424201"

static int
exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_warnx("migration statement failed: %s",
			  PQresultErrorMessage(res));
		ret = -1;
	}
	PQclear(res);
	return ret;
}

static int
is_applied(PGconn *conn, const char *name, bool *applied)
{
	const char *params[1] = { name };
	PGresult *res = PQexecParams(
		conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1,
		NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read schema_migrations: %s",
			  PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	*applied = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

static int
apply_one(PGconn *conn, const struct migration *m)
{
	const char *params[1] = { m->name };
	PGresult *res;
	bool ok;

	if (exec_ok(conn, "BEGIN") < 0)
		return -1;
	if (exec_ok(conn, m->sql) < 0)
		goto fail;
	res = PQexecParams(conn,
			   "INSERT INTO schema_migrations (name) VALUES ($1)",
			   1, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok || exec_ok(conn, "COMMIT") < 0)
		goto fail;
	log_info("applied migration %s", m->name);
	return 0;
fail:
	log_warnx("migration %s failed; rolled back", m->name);
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}

/*
 * The names in schema_migrations that this binary does not carry: a newer
 * binary migrated the database, and this one would run on a schema it does
 * not know (dropped or renamed columns, new invariants). Returns the number
 * of such names (each logged), or -1 on a database error.
 */
static int
unknown_applied(PGconn *conn)
{
	PGresult *res = PQexec(conn, "SELECT name FROM schema_migrations "
				     "ORDER BY name");
	int unknown = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("could not read schema_migrations: %s",
			  PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *name = PQgetvalue(res, r, 0);
		bool known = false;

		for (int i = 0; i < migrations_count && !known; i++)
			known = strcmp(migrations[i].name, name) == 0;
		if (known)
			continue;
		log_warnx("the database schema is newer than this binary: "
			  "migration %s was applied by a later version; run "
			  "that version (or later) instead",
			  name);
		unknown++;
	}
	PQclear(res);
	return unknown;
}

int
migrate_apply(PGconn *conn)
{
	int ret = -1;

	if (exec_ok(conn, "SET client_min_messages = warning") < 0 ||
	    exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")") < 0)
		return -1;
	if (exec_ok(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			  " name text PRIMARY KEY,"
			  " applied_at timestamptz NOT NULL DEFAULT now())") <
	    0)
		goto out;
	if (unknown_applied(conn) != 0)
		goto out;
	for (int i = 0; i < migrations_count; i++) {
		bool applied;

		if (is_applied(conn, migrations[i].name, &applied) < 0)
			goto out;
		if (!applied && apply_one(conn, &migrations[i]) < 0)
			goto out;
	}
	ret = 0;
out:
	PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_ID ")"));
	return ret;
}

int
migrate_check(PGconn *conn)
{
	PGresult *res = PQexec(conn, "SELECT to_regclass('schema_migrations')");
	bool exists = PQresultStatus(res) == PGRES_TUPLES_OK &&
		      PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);

	PQclear(res);
	if (!exists) {
		log_warnx("the database has no schema yet; run "
			  "\"registryd migrate\"");
		return -1;
	}
	if (unknown_applied(conn) != 0)
		return -1;
	for (int i = 0; i < migrations_count; i++) {
		bool applied;

		if (is_applied(conn, migrations[i].name, &applied) < 0)
			return -1;
		if (!applied) {
			log_warnx("migration %s is not applied; run "
				  "\"registryd migrate\"",
				  migrations[i].name);
			return -1;
		}
	}
	return 0;
}

int
migrate_command(const char *conninfo)
{
	PGconn *conn = db_connect_raw(conninfo);
	int ret;

	if (conn == NULL)
		return 1;
	ret = migrate_apply(conn) < 0 ? 1 : 0;
	PQfinish(conn);
	return ret;
}

int
migrate_verify(const char *conninfo)
{
	PGconn *conn = db_connect_raw(conninfo);
	int ret;

	if (conn == NULL)
		return -1;
	ret = migrate_check(conn);
	PQfinish(conn);
	return ret;
}
