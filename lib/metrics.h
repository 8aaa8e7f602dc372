/*
 * Prometheus metrics for the HTTP daemons: requests by route and status,
 * latency histograms by route, bytes in and out, database connections.
 * Counters are atomics, so workers never take a lock to count.
 */
#ifndef BERTH_METRICS_H
#define BERTH_METRICS_H

#include <stdint.h>

/* Names the routes (indexes used by metrics_observe); at most 64. */
void metrics_init(const char *prefix, const char *const *routes, int n);

void metrics_observe(int route, unsigned status, uint64_t ns,
		     uint64_t bytes_in, uint64_t bytes_out);

/* The exposition text; caller frees. */
char *metrics_render(void);

#endif
