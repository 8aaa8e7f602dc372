/*
 * Metrics storage and exposition (see metrics.h). Fixed arrays indexed by
 * route, status slot and bucket: no allocation on the request path.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "db.h"
#include "metrics.h"

#define MAX_ROUTES 64

static const unsigned statuses[] = { 200, 201, 202, 204, 206, 304, 400, 401,
				     403, 404, 405, 409, 413, 415, 416, 429,
				     500, 503, 0 };
#define NSTATUS ARRAY_SIZE(statuses)

static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				   0.05,   0.1,	  0.25,	  0.5,	 1,    2.5,
				   5,	   10,	  30 };
#define NBUCKET ARRAY_SIZE(buckets)

static const char *prefix = "berth";
static const char *const *route_names;
static int nroutes;

static uint64_t requests[MAX_ROUTES][NSTATUS];
static uint64_t hist[MAX_ROUTES][NBUCKET + 1];
static uint64_t hist_sum_us[MAX_ROUTES];
static uint64_t bytes_in_total, bytes_out_total;

void
metrics_init(const char *p, const char *const *routes, int n)
{
	if (n > MAX_ROUTES)
		BUG("too many routes");
	prefix = p;
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

void
metrics_observe(int route, unsigned status, uint64_t ns, uint64_t in,
		uint64_t out)
{
	double secs = (double)ns / 1e9;
	size_t b;

	if (route < 0 || route >= nroutes)
		return;
	__atomic_add_fetch(&requests[route][status_slot(status)], 1,
			   __ATOMIC_RELAXED);
	for (b = 0; b < NBUCKET && secs > buckets[b]; b++)
		;
	__atomic_add_fetch(&hist[route][b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&hist_sum_us[route], ns / 1000, __ATOMIC_RELAXED);
	__atomic_add_fetch(&bytes_in_total, in, __ATOMIC_RELAXED);
	__atomic_add_fetch(&bytes_out_total, out, __ATOMIC_RELAXED);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static int
render_route(struct buf *b, int r)
{
	uint64_t cum = 0;

	for (size_t s = 0; s < NSTATUS; s++) {
		uint64_t v = LOAD(requests[r][s]);
		if (v == 0)
			continue;
		if (statuses[s] == 0) {
			if (buf_printf(b,
				       "%s_http_requests_total{route=\"%s\","
				       "status=\"other\"} %llu\n",
				       prefix, route_names[r],
				       (unsigned long long)v) < 0)
				return -1;
		} else if (buf_printf(b,
				      "%s_http_requests_total{route=\"%s\","
				      "status=\"%u\"} %llu\n",
				      prefix, route_names[r], statuses[s],
				      (unsigned long long)v) < 0)
			return -1;
	}
	for (size_t i = 0; i <= NBUCKET; i++) {
		char le[32];

		cum += LOAD(hist[r][i]);
		if (i < NBUCKET)
			snprintf(le, sizeof(le), "%g", buckets[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (buf_printf(b,
			       "%s_http_request_duration_seconds_bucket{route="
			       "\"%s\",le=\"%s\"} %llu\n",
			       prefix, route_names[r], le,
			       (unsigned long long)cum) < 0)
			return -1;
	}
	return buf_printf(b,
			  "%s_http_request_duration_seconds_sum{route=\"%s\"} "
			  "%.6f\n"
			  "%s_http_request_duration_seconds_count{route=\"%s\"}"
			  " %llu\n",
			  prefix, route_names[r],
			  (double)LOAD(hist_sum_us[r]) / 1e6, prefix,
			  route_names[r], (unsigned long long)cum);
}

char *
metrics_render(void)
{
	struct buf b;
	int err = 0;

	buf_init(&b, 16u << 20);
	err |= buf_printf(&b,
			  "# TYPE %s_http_requests_total counter\n"
			  "# TYPE %s_http_request_duration_seconds histogram\n",
			  prefix, prefix);
	for (int r = 0; r < nroutes; r++)
		err |= render_route(&b, r);
	err |= buf_printf(
		&b,
		"# TYPE %s_http_received_bytes_total counter\n"
		"%s_http_received_bytes_total %llu\n"
		"# TYPE %s_http_sent_bytes_total counter\n"
		"%s_http_sent_bytes_total %llu\n"
		"# TYPE %s_db_connections gauge\n%s_db_connections %d\n",
		prefix, prefix, (unsigned long long)LOAD(bytes_in_total),
		prefix, prefix, (unsigned long long)LOAD(bytes_out_total),
		prefix, prefix, db_open_count());
	if (err)
		BUG("metrics text passed its bound");
	return buf_detach(&b, NULL);
}
