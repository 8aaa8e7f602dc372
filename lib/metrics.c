/*
 * Metrics storage and exposition (see metrics.h). Fixed arrays indexed by
 * route, method, status slot and bucket, and one array per database
 * statement sized at setup: the request path only adds to atomics, with
 * no lock and no allocation. A scrape reads them relaxed, so one family
 * may be a request ahead of another, which Prometheus tolerates.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "procstat.h"
#include "version.h"

#define MAX_ROUTES 64
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define CTYPE "text/plain; version=0.0.4; charset=utf-8"

static const unsigned statuses[] = { 200, 201, 202, 204, 206, 304, 307,
				     400, 401, 403, 404, 405, 409, 413,
				     415, 416, 429, 499, 500, 503, 0 };
#define NSTATUS ARRAY_SIZE(statuses)

/* The methods the daemons answer; anything else counts as "other". */
static const char *const methods[] = { "GET",	 "HEAD",    "POST",
				       "PUT",	 "PATCH",   "DELETE",
				       "OPTIONS", "other" };
#define NMETHOD ARRAY_SIZE(methods)

/* Upper bounds in nanoseconds: requests 0.5 ms to 30 s. */
static const uint64_t http_bounds[] = {
	500000,	   1000000,   2500000,	 5000000,    10000000,
	25000000,  50000000,  100000000, 250000000,  500000000,
	1000000000, 2500000000, 5000000000, 10000000000, 30000000000
};
#define NHTTPB ARRAY_SIZE(http_bounds)

/* Queries: 0.1 ms to 10 s. */
static const uint64_t db_bounds[] = {
	100000,	   250000,    500000,	 1000000,    2500000,
	5000000,   10000000,  25000000,	 50000000,   100000000,
	250000000, 500000000, 1000000000, 2500000000, 5000000000,
	10000000000
};
#define NDBB ARRAY_SIZE(db_bounds)

static const char *prefix = "berth";
static const char *daemon_name = "unknown";
static const char *const *route_names;
static int nroutes;

static uint64_t requests[MAX_ROUTES][NMETHOD][NSTATUS];
static uint64_t hist[MAX_ROUTES][NMETHOD][NHTTPB + 1];
static uint64_t hist_sum_ns[MAX_ROUTES][NMETHOD];
static uint64_t bytes_in_total, bytes_out_total;

/* Per statement, then the commands: BEGIN, COMMIT, any other. */
struct db_series {
	uint64_t b[NDBB + 1];
	uint64_t sum_ns;
	uint64_t errors;
};
enum { DBC_BEGIN, DBC_COMMIT, DBC_OTHER, DBC_COUNT };
static const char *const db_command_names[DBC_COUNT] = { "begin", "commit",
							  "command" };
static const struct db_stmt *db_stmts;
static int db_n;
static struct db_series *db_series;
static uint64_t db_conflicts, db_reconnects, db_connect_errors;

static struct metric *registered;
static bool separate_listener;

void
metrics_init(const char *p, const char *daemon, const char *const *routes,
	     int n)
{
	if (n > MAX_ROUTES)
		BUG("too many routes");
	prefix = p;
	daemon_name = daemon;
	route_names = routes;
	nroutes = n;
}

static size_t
status_slot(unsigned status)
{
	size_t i;

	for (i = 0; i + 1 < NSTATUS; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

static size_t
method_slot(const char *m)
{
	size_t i;

	for (i = 0; i + 1 < NMETHOD; i++)
		if (strcmp(m, methods[i]) == 0)
			return i;
	return NMETHOD - 1;
}

static size_t
bucket_of(const uint64_t *bounds, size_t n, uint64_t ns)
{
	size_t b;

	for (b = 0; b < n && ns > bounds[b]; b++)
		;
	return b;
}

void
metrics_observe(int route, const char *method, unsigned status, uint64_t ns,
		uint64_t in, uint64_t out)
{
	size_t m;

	if (route < 0 || route >= nroutes)
		return;
	m = method_slot(method ? method : "");
	ADD(requests[route][m][status_slot(status)], 1);
	ADD(hist[route][m][bucket_of(http_bounds, NHTTPB, ns)], 1);
	ADD(hist_sum_ns[route][m], ns);
	ADD(bytes_in_total, in);
	ADD(bytes_out_total, out);
}

void
metrics_register(struct metric *m)
{
	if (m->nvalues > METRIC_VALUES_MAX || (m->label && m->nvalues < 1))
		BUG("metric %s: bad label values", m->name);
	m->next = registered;
	registered = m;
}

void
metrics_db_setup(const struct db_stmt *stmts, int n)
{
	free(db_series);
	db_stmts = stmts;
	db_n = n;
	db_series = xcalloc((size_t)n + DBC_COUNT, sizeof(*db_series));
}

void
metrics_db_release(void)
{
	free(db_series);
	db_series = NULL;
	db_n = 0;
}

static void
db_observe(int slot, uint64_t ns, bool failed, bool conflict)
{
	struct db_series *s;

	if (db_series == NULL)
		return;
	s = &db_series[slot];
	ADD(s->b[bucket_of(db_bounds, NDBB, ns)], 1);
	ADD(s->sum_ns, ns);
	if (failed)
		ADD(s->errors, 1);
	if (conflict)
		ADD(db_conflicts, 1);
}

void
metrics_db_query(int stmt, uint64_t ns, bool failed, bool conflict)
{
	if (stmt >= 0 && stmt < db_n)
		db_observe(stmt, ns, failed, conflict);
}

void
metrics_db_command(const char *sql, uint64_t ns, bool failed, bool conflict)
{
	int c = DBC_OTHER;

	if (strcmp(sql, "BEGIN") == 0)
		c = DBC_BEGIN;
	else if (strcmp(sql, "COMMIT") == 0)
		c = DBC_COMMIT;
	db_observe(db_n + c, ns, failed, conflict);
}

void
metrics_db_event(enum metrics_db_event e)
{
	if (e == MDB_RECONNECT)
		ADD(db_reconnects, 1);
	else
		ADD(db_connect_errors, 1);
}

/* ---- exposition --------------------------------------------------------- */

int
metrics_label_escape(struct buf *b, const char *v)
{
	for (; *v; v++) {
		const char *esc = *v == '\\' ? "\\\\"
				  : *v == '"' ? "\\\""
				  : *v == '\n' ? "\\n"
					       : NULL;
		if (esc ? buf_puts(b, esc) : buf_append(b, v, 1))
			return -1;
	}
	return 0;
}

/*
 * "# HELP" and "# TYPE" for family <prefix>_name (own: false for names
 * that stand alone, like process_*). Help texts are ours: no newlines.
 */
static int
family(struct buf *b, bool own, const char *name, const char *type,
       const char *help)
{
	const char *p = own ? prefix : "", *sep = own ? "_" : "";

	return buf_printf(b, "# HELP %s%s%s %s\n# TYPE %s%s%s %s\n", p, sep,
			  name, help, p, sep, name, type);
}

static int
render_requests(struct buf *b)
{
	int err = family(b, true, "http_requests_total", "counter",
			 "HTTP requests answered, by route, method and status");

	for (int r = 0; r < nroutes; r++)
		for (size_t m = 0; m < NMETHOD; m++)
			for (size_t s = 0; s < NSTATUS; s++) {
				uint64_t v = LOAD(requests[r][m][s]);
				char st[16];

				if (v == 0)
					continue;
				if (statuses[s] == 0)
					snprintf(st, sizeof(st), "other");
				else
					snprintf(st, sizeof(st), "%u",
						 statuses[s]);
				err |= buf_printf(
					b,
					"%s_http_requests_total{route=\"%s\","
					"method=\"%s\",status=\"%s\"} %llu\n",
					prefix, route_names[r], methods[m], st,
					(unsigned long long)v);
			}
	return err;
}

/*
 * The _bucket, _sum and _count lines of one histogram series; labels is
 * the series' own labels ("route=\"blob\",method=\"GET\"").
 */
static int
render_hist(struct buf *b, const char *name, const char *labels,
	    const uint64_t *counts, const uint64_t *bounds, size_t n,
	    uint64_t sum_ns)
{
	uint64_t cum = 0;
	int err = 0;

	for (size_t i = 0; i <= n; i++) {
		char le[32];

		cum += LOAD(counts[i]);
		if (i < n)
			snprintf(le, sizeof(le), "%g", (double)bounds[i] / 1e9);
		else
			snprintf(le, sizeof(le), "+Inf");
		err |= buf_printf(b, "%s_%s_bucket{%s,le=\"%s\"} %llu\n",
				  prefix, name, labels, le,
				  (unsigned long long)cum);
	}
	err |= buf_printf(b, "%s_%s_sum{%s} %.9f\n%s_%s_count{%s} %llu\n",
			  prefix, name, labels, (double)sum_ns / 1e9, prefix,
			  name, labels, (unsigned long long)cum);
	return err;
}

static uint64_t
total(const uint64_t *counts, size_t n)
{
	uint64_t t = 0;

	for (size_t i = 0; i <= n; i++)
		t += LOAD(counts[i]);
	return t;
}

static int
render_durations(struct buf *b)
{
	int err = family(b, true, "http_request_duration_seconds",
			 "histogram",
			 "time from the request line to the last byte "
			 "handed to the kernel, by route and method");

	for (int r = 0; r < nroutes; r++)
		for (size_t m = 0; m < NMETHOD; m++) {
			char labels[128];

			if (total(hist[r][m], NHTTPB) == 0)
				continue;
			snprintf(labels, sizeof(labels),
				 "route=\"%s\",method=\"%s\"", route_names[r],
				 methods[m]);
			err |= render_hist(b, "http_request_duration_seconds",
					   labels, hist[r][m], http_bounds,
					   NHTTPB, LOAD(hist_sum_ns[r][m]));
		}
	return err;
}

static const char *
db_slot_name(int slot)
{
	return slot < db_n ? db_stmts[slot].name
			   : db_command_names[slot - db_n];
}

static int
render_db(struct buf *b)
{
	int err = 0, nslots = db_series ? db_n + DBC_COUNT : 0;

	err |= family(b, true, "db_connections", "gauge",
		      "database connections open in this process");
	err |= buf_printf(b, "%s_db_connections %d\n", prefix,
			  db_open_count());
	err |= family(b, true, "db_query_duration_seconds", "histogram",
		      "time of one database statement, by prepared "
		      "statement (begin, commit, command: plain SQL)");
	for (int i = 0; i < nslots; i++) {
		char labels[128];

		if (total(db_series[i].b, NDBB) == 0)
			continue;
		snprintf(labels, sizeof(labels), "statement=\"%s\"",
			 db_slot_name(i));
		err |= render_hist(b, "db_query_duration_seconds", labels,
				   db_series[i].b, db_bounds, NDBB,
				   LOAD(db_series[i].sum_ns));
	}
	err |= family(b, true, "db_query_errors_total", "counter",
		      "statements that failed, conflicts aside, by "
		      "statement");
	for (int i = 0; i < nslots; i++) {
		uint64_t v = LOAD(db_series[i].errors);

		if (v > 0)
			err |= buf_printf(b,
					  "%s_db_query_errors_total{statement="
					  "\"%s\"} %llu\n",
					  prefix, db_slot_name(i),
					  (unsigned long long)v);
	}
	err |= family(b, true, "db_conflicts_total", "counter",
		      "statements refused by a unique or serialization "
		      "conflict (retried or answered as such)");
	err |= buf_printf(b, "%s_db_conflicts_total %llu\n", prefix,
			  (unsigned long long)LOAD(db_conflicts));
	err |= family(b, true, "db_reconnects_total", "counter",
		      "connections reopened after a lost one");
	err |= buf_printf(b, "%s_db_reconnects_total %llu\n", prefix,
			  (unsigned long long)LOAD(db_reconnects));
	err |= family(b, true, "db_connect_errors_total", "counter",
		      "failed attempts to connect to the database");
	err |= buf_printf(b, "%s_db_connect_errors_total %llu\n", prefix,
			  (unsigned long long)LOAD(db_connect_errors));
	return err;
}

static int
render_process(struct buf *b)
{
	struct procstat ps;
	int err = 0;

	if (procstat_read(&ps) < 0)
		return 0;	/* no /proc: the families are left out */
	err |= family(b, false, "process_cpu_seconds_total", "counter",
		      "user and system CPU time spent in seconds");
	err |= buf_printf(b, "process_cpu_seconds_total %.2f\n",
			  ps.cpu_seconds);
	err |= family(b, false, "process_resident_memory_bytes", "gauge",
		      "resident memory size in bytes");
	err |= buf_printf(b, "process_resident_memory_bytes %llu\n",
			  (unsigned long long)ps.rss_bytes);
	err |= family(b, false, "process_virtual_memory_bytes", "gauge",
		      "virtual memory size in bytes");
	err |= buf_printf(b, "process_virtual_memory_bytes %llu\n",
			  (unsigned long long)ps.vsize_bytes);
	err |= family(b, false, "process_open_fds", "gauge",
		      "open file descriptors");
	err |= buf_printf(b, "process_open_fds %ld\n", ps.open_fds);
	if (ps.max_fds >= 0) {
		err |= family(b, false, "process_max_fds", "gauge",
			      "maximum number of open file descriptors");
		err |= buf_printf(b, "process_max_fds %ld\n", ps.max_fds);
	}
	err |= family(b, false, "process_start_time_seconds", "gauge",
		      "start time of the process since the epoch in seconds");
	err |= buf_printf(b, "process_start_time_seconds %.2f\n",
			  ps.start_time);
	return err;
}

static int
render_build(struct buf *b)
{
	int err = family(b, false, "berth_build_info", "gauge",
			 "always 1; the labels name the daemon and its build");

	err |= buf_puts(b, "berth_build_info{daemon=\"");
	err |= metrics_label_escape(b, daemon_name);
	err |= buf_puts(b, "\",version=\"");
	err |= metrics_label_escape(b, berth_version);
	err |= buf_puts(b, "\",commit=\"");
	err |= metrics_label_escape(b, berth_commit);
	err |= buf_puts(b, "\"} 1\n");
	return err;
}

static int
render_registered(struct buf *b)
{
	int err = 0;

	for (struct metric *m = registered; m != NULL; m = m->next) {
		err |= family(b, true, m->name,
			      m->kind == METRIC_COUNTER ? "counter" : "gauge",
			      m->help);
		if (m->label == NULL) {
			err |= buf_printf(b, "%s_%s %lld\n", prefix, m->name,
					  (long long)LOAD(m->v[0]));
			continue;
		}
		for (int i = 0; i < m->nvalues; i++)
			err |= buf_printf(b, "%s_%s{%s=\"%s\"} %lld\n", prefix,
					  m->name, m->label, m->values[i],
					  (long long)LOAD(m->v[i]));
	}
	return err;
}

char *
metrics_render(void)
{
	struct buf b;
	int err = 0;

	buf_init(&b, 16u << 20);
	err |= render_build(&b);
	err |= render_process(&b);
	err |= render_requests(&b);
	err |= render_durations(&b);
	err |= family(&b, true, "http_received_bytes_total", "counter",
		      "request body bytes received");
	err |= buf_printf(&b, "%s_http_received_bytes_total %llu\n", prefix,
			  (unsigned long long)LOAD(bytes_in_total));
	err |= family(&b, true, "http_sent_bytes_total", "counter",
		      "blob and manifest body bytes sent to clients that "
		      "read the whole answer");
	err |= buf_printf(&b, "%s_http_sent_bytes_total %llu\n", prefix,
			  (unsigned long long)LOAD(bytes_out_total));
	err |= render_db(&b);
	err |= render_registered(&b);
	if (err)
		BUG("metrics text passed its bound");
	return buf_detach(&b, NULL);
}

int
metrics_respond(struct http_req *r)
{
	char *text = metrics_render();
	struct MHD_Response *resp = http_resp_take(text, strlen(text));

	http_resp_header(resp, "Content-Type", CTYPE);
	return http_respond(r, 200, resp);
}

/* ---- the separate listener --------------------------------------------- */

static int listener_route = -1, listener_unknown = -1;

static int
listener_begin(struct http_req *r)
{
	r->route = strcmp(r->path, "/metrics") == 0 ? listener_route
						    : listener_unknown;
	return 0;
}

static int
listener_body(struct http_req *r, const char *data, size_t len)
{
	(void)r;
	(void)data;
	(void)len;
	return 0;	/* a body where none belongs is dropped */
}

static int
listener_text(struct http_req *r, unsigned status, const char *text)
{
	struct MHD_Response *resp = http_resp_copy(text, strlen(text));

	http_resp_header(resp, "Content-Type", "text/plain");
	return http_respond(r, status, resp);
}

static int
listener_end(struct http_req *r)
{
	if (strcmp(r->path, "/metrics") != 0)
		return listener_text(r, 404, "not found\n");
	if (strcmp(r->method, "GET") != 0 && !r->is_head)
		return listener_text(r, 405, "method not allowed\n");
	return metrics_respond(r);
}

static void
listener_done(struct http_req *r, bool ok)
{
	(void)r;
	(void)ok;
}

static const struct http_handlers listener_handlers = {
	.begin = listener_begin,
	.body = listener_body,
	.end = listener_end,
	.done = listener_done,
};

struct http_server *
metrics_listen_start(const char *listen, int route, int unknown_route)
{
	struct http_config hc = {
		.listen = listen,
		.threads = 1,
		.idle_timeout = 60,
		.conn_memory = 65536,
	};
	struct http_server *s;

	listener_route = route;
	listener_unknown = unknown_route;
	if ((s = http_start(&hc, &listener_handlers, NULL)) == NULL)
		return NULL;
	separate_listener = true;
	return s;
}

bool
metrics_on_main_port(void)
{
	return !separate_listener;
}
