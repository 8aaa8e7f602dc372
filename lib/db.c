/*
 * Per-thread PostgreSQL connections with prepared statements (see db.h).
 * A pthread key destructor closes a worker's connection when the worker
 * exits, so stopping the HTTP server leaks nothing.
 */
#include <pthread.h>
#include <stdlib.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

struct db {
	PGconn *conn;
	char sqlstate[6];
	bool broken;
	bool connected_once;	/* a later open is a reconnect (metrics) */
};

static char *conninfo;
static const struct db_stmt *stmts;
static int nstmts;
static pthread_key_t db_key;
static pthread_once_t db_once = PTHREAD_ONCE_INIT;
static int open_count;

static void
db_free(void *p)
{
	struct db *db = p;

	if (db == NULL)
		return;
	if (db->conn != NULL) {
		PQfinish(db->conn);
		__atomic_sub_fetch(&open_count, 1, __ATOMIC_RELAXED);
	}
	free(db);
}

static void
make_key(void)
{
	if (pthread_key_create(&db_key, db_free) != 0)
		fatalx("pthread_key_create failed");
}

int
db_stmts_check(const struct db_stmt *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i].name == NULL || *s[i].name == '\0' ||
		    s[i].sql == NULL || *s[i].sql == '\0') {
			log_warnx("prepared statement slot %d is empty", i);
			return -1;
		}
	return 0;
}

void
db_setup(const char *ci, const struct db_stmt *s, int n)
{
	if (db_stmts_check(s, n) < 0)
		BUG("a prepared statement table has an empty slot");
	free(conninfo);
	conninfo = xstrdup(ci ? ci : "");
	stmts = s;
	nstmts = n;
	metrics_db_setup(s, n);
	pthread_once(&db_once, make_key);
}

void
db_thread_close(void)
{
	struct db *db;

	pthread_once(&db_once, make_key);
	db = pthread_getspecific(db_key);
	db_free(db);
	pthread_setspecific(db_key, NULL);
}

void
db_teardown(void)
{
	db_thread_close();
	free(conninfo);
	conninfo = NULL;
	metrics_db_release();
}

PGconn *
db_connect_raw(const char *ci)
{
	PGconn *conn = PQconnectdb(ci ? ci : "");

	if (PQstatus(conn) != CONNECTION_OK) {
		log_warnx("could not connect to the database: %s",
			  PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static int
prepare_all(struct db *db)
{
	for (int i = 0; i < nstmts; i++) {
		PGresult *res = PQprepare(db->conn, stmts[i].name,
					  stmts[i].sql, 0, NULL);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok)
			log_warnx("could not prepare statement \"%s\": %s",
				  stmts[i].name, PQresultErrorMessage(res));
		PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

static int
db_open(struct db *db)
{
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
		__atomic_sub_fetch(&open_count, 1, __ATOMIC_RELAXED);
	}
	if ((db->conn = db_connect_raw(conninfo)) == NULL) {
		metrics_db_event(MDB_CONNECT_ERROR);
		return -1;
	}
	__atomic_add_fetch(&open_count, 1, __ATOMIC_RELAXED);
	if (db->connected_once)
		metrics_db_event(MDB_RECONNECT);
	db->connected_once = true;
	if (prepare_all(db) < 0)
		return -1;
	db->broken = false;
	return 0;
}

struct db *
db_thread(void)
{
	struct db *db = pthread_getspecific(db_key);

	if (db == NULL) {
		db = xcalloc(1, sizeof(*db));
		db->broken = true;
		pthread_setspecific(db_key, db);
	}
	if (!db->broken && PQstatus(db->conn) == CONNECTION_OK)
		return db;
	if (db_open(db) < 0)
		return NULL;
	return db;
}

static PGresult *
check_result(struct db *db, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	const char *state;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		db->sqlstate[0] = '\0';
		return res;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	util_strlcpy(db->sqlstate, state ? state : "08000",
		     sizeof(db->sqlstate));
	if (PQstatus(db->conn) != CONNECTION_OK)
		db->broken = true;
	if (!db_conflict(db))
		log_warnx("query \"%s\" failed: %s", what,
			  PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

/*
 * Whether a statement that just failed may run again on a new connection:
 * the connection was lost (a restart or failover of the server, noticed
 * only now by this worker) outside any transaction, so nothing half-done
 * is lost by retrying, and the reconnect worked.
 */
static bool
retry_after_reconnect(struct db *db, PGTransactionStatusType before)
{
	if (before != PQTRANS_IDLE || PQstatus(db->conn) == CONNECTION_OK)
		return false;
	log_info("database connection lost; reconnecting");
	return db_open(db) == 0;
}

PGresult *
db_exec_bin(struct db *db, int stmt, int n, const char *const *params,
	    const int *lengths, const int *formats, int result_format)
{
	PGTransactionStatusType before = PQtransactionStatus(db->conn);
	PGresult *res;

	if (stmt < 0 || stmt >= nstmts)
		BUG("statement %d out of range", stmt);
	for (int attempt = 0;; attempt++) {
		uint64_t t0 = util_now_ns();

		res = PQexecPrepared(db->conn, stmts[stmt].name, n, params,
				     lengths, formats, result_format);
		res = check_result(db, res, stmts[stmt].name);
		metrics_db_query(stmt, util_now_ns() - t0,
				 res == NULL && !db_conflict(db),
				 res == NULL && db_conflict(db));
		if (res != NULL || attempt > 0 ||
		    !retry_after_reconnect(db, before))
			return res;
	}
}

PGresult *
db_exec(struct db *db, int stmt, int n, const char *const *params)
{
	return db_exec_bin(db, stmt, n, params, NULL, NULL, 0);
}

/* PQexec of sql, checked and timed for the metrics. */
static PGresult *
command_once(struct db *db, const char *sql)
{
	uint64_t t0 = util_now_ns();
	PGresult *res = check_result(db, PQexec(db->conn, sql), sql);

	metrics_db_command(sql, util_now_ns() - t0,
			   res == NULL && !db_conflict(db),
			   res == NULL && db_conflict(db));
	return res;
}

int
db_command(struct db *db, const char *sql)
{
	PGTransactionStatusType before = PQtransactionStatus(db->conn);
	PGresult *res = command_once(db, sql);

	/* A BEGIN on a lost connection may start over on a new one. */
	if (res == NULL && retry_after_reconnect(db, before))
		res = command_once(db, sql);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static void
clear_result(void *p)
{
	PQclear(p);
}

PGresult *
db_query(struct db *db, struct arena *a, int stmt, int n,
	 const char *const *params)
{
	PGresult *res = db_exec(db, stmt, n, params);

	if (res != NULL)
		arena_defer(a, clear_result, res);
	return res;
}

PGresult *
db_query_bin(struct db *db, struct arena *a, int stmt, int n,
	     const char *const *params, const int *lengths, const int *formats,
	     int result_format)
{
	PGresult *res = db_exec_bin(db, stmt, n, params, lengths, formats,
				    result_format);

	if (res != NULL)
		arena_defer(a, clear_result, res);
	return res;
}

bool
db_isnull(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) != 0;
}

const char *
db_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int64_t
db_int64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? 0
		       : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool
db_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) &&
	       PQgetvalue(res, row, col)[0] == 't';
}

long long
db_changed(const PGresult *res)
{
	return strtoll(PQcmdTuples((PGresult *)res), NULL, 10);
}

int
db_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
	int ret;

	if (db_command(db, "BEGIN") < 0)
		return -1;
	if ((ret = fn(db, arg)) < 0) {
		db_rollback(db);
		return ret;
	}
	if (db_command(db, "COMMIT") < 0) {
		db_rollback(db);
		return -1;
	}
	return ret;
}

static bool
db_aborted_by_peer(const struct db *db)
{
	return strcmp(db->sqlstate, "40P01") == 0 ||
	       strcmp(db->sqlstate, "40001") == 0;
}

int
db_tx_rerun(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
	int ret, tries = 0;

	while ((ret = db_tx(db, fn, arg)) < 0 && db_aborted_by_peer(db) &&
	       ++tries < 3)
		log_info("transaction aborted (%s), running it again",
			 db->sqlstate);
	return ret;
}

void
db_rollback(struct db *db)
{
	if (db == NULL || db->conn == NULL)
		return;
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		PQclear(PQexec(db->conn, "ROLLBACK"));
}

const char *
db_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

bool
db_unavailable(const struct db *db)
{
	/* Class 08 (connection exception) and 57P (the server shut down). */
	return db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	       strncmp(db->sqlstate, "08", 2) == 0 ||
	       strncmp(db->sqlstate, "57P", 3) == 0;
}

bool
db_conflict(const struct db *db)
{
	return strcmp(db->sqlstate, "23505") == 0 ||
	       strcmp(db->sqlstate, "40001") == 0 ||
	       strcmp(db->sqlstate, "40P01") == 0 ||
	       strcmp(db->sqlstate, "23503") == 0;
}

int
db_open_count(void)
{
	return __atomic_load_n(&open_count, __ATOMIC_RELAXED);
}

int
db_conninfo_check(const char *info)
{
	PQconninfoOption *ci;
	char *err = NULL;
	int ret = 0;

	if ((ci = PQconninfoParse(info, &err)) == NULL) {
		size_t n = err ? strlen(err) : 0;

		while (n > 0 && err[n - 1] == '\n')
			err[--n] = '\0';
		ret = conf_error("database: %s", err ? err : "out of memory");
	}
	PQconninfoFree(ci);
	PQfreemem(err);
	return ret;
}
