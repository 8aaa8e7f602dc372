/*
 * Prometheus metrics for the HTTP daemons (text exposition format 0.0.4):
 * requests by route, method and status, latency histograms by route and
 * method, bytes in and out, database connections, queries and errors,
 * process figures from /proc, the build, and the families a daemon
 * registers for itself (struct metric). Counters are atomics in fixed
 * arrays, so workers never take a lock or allocate to count.
 */
#ifndef BERTH_METRICS_H
#define BERTH_METRICS_H

#include <stdbool.h>
#include <stdint.h>

struct buf;
struct db_stmt;
struct http_req;
struct http_server;

/*
 * Names the daemon ("registryd": berth_build_info's label), the prefix of
 * its own families ("berth") and the routes (indexes for metrics_observe);
 * at most 64 routes. Call once before serving.
 */
void metrics_init(const char *prefix, const char *daemon,
		  const char *const *routes, int n);

/* One finished request; method is the request's (unknown ones: "other"). */
void metrics_observe(int route, const char *method, unsigned status,
		     uint64_t ns, uint64_t bytes_in, uint64_t bytes_out);

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE };

#define METRIC_VALUES_MAX 8

/*
 * A family a daemon defines for itself: one sample, or one per value of a
 * single label (values[0..nvalues-1], at most METRIC_VALUES_MAX). Defined
 * statically, registered before serving, changed with metric_add().
 */
struct metric {
	const char *name;	/* after "<prefix>_": "uploads_in_progress" */
	const char *help;
	enum metric_kind kind;
	const char *label;	/* NULL: a single sample, v[0] */
	const char *const *values;
	int nvalues;
	int64_t v[METRIC_VALUES_MAX];
	struct metric *next;	/* the registration list */
};

/* Adds m to the exposition; before serving (not thread-safe). */
void metrics_register(struct metric *m);

/* Adds d (negative for a gauge going down) to sample i of m. */
static inline void
metric_add(struct metric *m, int i, int64_t d)
{
	__atomic_add_fetch(&m->v[i], d, __ATOMIC_RELAXED);
}

/*
 * Database figures, fed by lib/db.c: the statement table (names label the
 * query histogram), one execution of statement stmt that took ns (failed:
 * an error other than a serialization or unique conflict), one command
 * (BEGIN, COMMIT, ...), and connection events.
 */
void metrics_db_setup(const struct db_stmt *stmts, int n);
void metrics_db_query(int stmt, uint64_t ns, bool failed, bool conflict);
void metrics_db_command(const char *sql, uint64_t ns, bool failed,
			bool conflict);
enum metrics_db_event { MDB_RECONNECT, MDB_CONNECT_ERROR };
void metrics_db_event(enum metrics_db_event e);
/* Frees what metrics_db_setup allocated, at exit. */
void metrics_db_release(void);

/* The exposition text; caller frees. */
char *metrics_render(void);

/* Answers r with metrics_render() and the exposition's Content-Type. */
int metrics_respond(struct http_req *r);

/*
 * Serves /metrics on its own plain-HTTP address (one thread), counting its
 * requests under route (other paths: under unknown_route, answered 404);
 * afterwards metrics_on_main_port() is false and the daemon's port answers
 * /metrics with 404. Call before the main server starts. NULL (logged) on
 * failure; stop it with http_stop().
 */
struct http_server *metrics_listen_start(const char *listen, int route,
					 int unknown_route);
bool metrics_on_main_port(void);

/* For the unit tests: "a\"b" with \, " and newline escaped, appended. */
int metrics_label_escape(struct buf *b, const char *value);

#endif
