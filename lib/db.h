/*
 * PostgreSQL access: one connection per thread, opened on first use with
 * every registered statement prepared, reset after a failure so that a
 * database failover (libpq multi-host conninfo) needs no restart.
 * Each thread owns its connection, so nothing here takes a lock.
 */
#ifndef BERTH_DB_H
#define BERTH_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "util.h"

struct db;

struct db_stmt {
	const char *name;
	const char *sql;
};

/*
 * Sets the conninfo and the statements every connection prepares (the
 * array must outlive the process' use of db). Call once before any thread
 * uses db_thread(). A table with an empty slot is a bug: fatal at start.
 */
void db_setup(const char *conninfo, const struct db_stmt *stmts, int n);
/* Whether every one of the n slots has a name and SQL: 0, or -1 with the
 * first empty slot's number logged. */
int db_stmts_check(const struct db_stmt *stmts, int n) MUST_CHECK;

/* Closes the calling thread's connection, if any. */
void db_thread_close(void);

/* Closes this thread's connection and forgets the conninfo, at exit. */
void db_teardown(void);

/*
 * The calling thread's connection, (re)connected and prepared. NULL when
 * the database is unreachable (logged at most once per failure burst).
 */
struct db *db_thread(void);

/* A plain connection for one-off tools (migrate); caller PQfinish()es. */
PGconn *db_connect_raw(const char *conninfo);

/*
 * Runs prepared statement number stmt with n text parameters (NULL means
 * SQL NULL). Returns the result (caller PQclear()s) or NULL on failure,
 * logged, with db_sqlstate() telling why.
 */
PGresult *db_exec(struct db *db, int stmt, int n, const char *const *params)
	MUST_CHECK;

/*
 * As db_exec, with per-parameter lengths and formats (1 = binary) and the
 * result format (1 = binary: bytea as raw bytes, text as is).
 */
PGresult *db_exec_bin(struct db *db, int stmt, int n,
		      const char *const *params, const int *lengths,
		      const int *formats, int result_format) MUST_CHECK;

/* As db_exec, with the result cleared when arena a is released: the
 * caller never PQclear()s it. */
PGresult *db_query(struct db *db, struct arena *a, int stmt, int n,
		   const char *const *params) MUST_CHECK;
/* As db_exec_bin, with the result cleared when arena a is released. */
PGresult *db_query_bin(struct db *db, struct arena *a, int stmt, int n,
		       const char *const *params, const int *lengths,
		       const int *formats, int result_format) MUST_CHECK;

/*
 * Typed reads of column col of row row, for the row accessors beside each
 * statement. db_text is NULL for SQL NULL; the numbers and db_bool read
 * SQL NULL as 0 / false (db_isnull tells them apart).
 */
bool db_isnull(const PGresult *res, int row, int col);
const char *db_text(const PGresult *res, int row, int col);
int64_t db_int64(const PGresult *res, int row, int col);
bool db_bool(const PGresult *res, int row, int col);
/* Rows a statement changed (PQcmdTuples), 0 when it says none. */
long long db_changed(const PGresult *res);

/*
 * Runs fn(db, arg) in one transaction: BEGIN, fn, COMMIT. When fn returns
 * a negative value, or the COMMIT fails, the transaction is rolled back
 * and that value (-1 for the COMMIT) is returned; otherwise fn's value.
 * The one place where BEGIN and COMMIT are written: what must commit with
 * a change (an outbox of events) goes in here, not in each caller. A
 * failed BEGIN returns -1 without calling fn; db_sqlstate() tells why.
 */
int db_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
	MUST_CHECK;

/*
 * db_tx for a fn that can run again from the start: a transaction that
 * PostgreSQL aborted as a deadlock victim or a serialization failure is
 * run again, up to three times in all, so that concurrent clients are
 * told 503 only when the database is really unavailable.
 */
int db_tx_rerun(struct db *db, int (*fn)(struct db *db, void *arg),
		void *arg) MUST_CHECK;

/* Runs one SQL command without parameters (BEGIN, COMMIT, ...). */
int db_command(struct db *db, const char *sql) MUST_CHECK;

/* Rolls back when a transaction is open; for error paths. */
void db_rollback(struct db *db);

/* SQLSTATE of the last failure ("" when none), e.g. "23505". */
const char *db_sqlstate(const struct db *db);

/* True when the last failure was the database being unreachable. */
bool db_unavailable(const struct db *db);

/* True when the last failure was a serialization or unique conflict. */
bool db_conflict(const struct db *db);

/* Connections currently open in this process, for /metrics. */
int db_open_count(void);

/* Whether info parses as a libpq connection string, without
 * connecting; -1 with "error: database: ..." printed (conf_error). */
int db_conninfo_check(const char *info) MUST_CHECK;

#endif
