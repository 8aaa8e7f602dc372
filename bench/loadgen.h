/*
 * loadgen: what loadgen.c (blob pushes and pulls, listings) and
 * reqrate.c (the request-rate driver) share.
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>

#define LOADGEN_MAX_HEADERS 8

/* `loadgen rps`: conns connections over threads threads for seconds. */
struct rps_opts {
	const char *url;
	const char *method; /* GET, HEAD, POST */
	const char *body;   /* NULL: none */
	const char *headers[LOADGEN_MAX_HEADERS];
	int n_headers;
	int conns;
	int threads;
	double seconds;
};

/*
 * Runs the closed loop and prints one key=value line on stdout.  Returns
 * the exit status: 0, or 1 when any request failed or had a status of
 * 400 or more (the first reason goes to stderr).
 */
int reqrate_run(const struct rps_opts *o);

/* Nearest-rank percentile p (0-100) of n sorted values; 0 when n is 0. */
double lat_percentile(const double *v, size_t n, double p);

#endif
