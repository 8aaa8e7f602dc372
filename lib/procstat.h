/*
 * The process' own figures for /metrics, read from /proc/self: CPU time,
 * memory, file descriptors and the start time, as Prometheus' client
 * libraries name them (process_*).
 */
#ifndef BERTH_PROCSTAT_H
#define BERTH_PROCSTAT_H

#include <stdint.h>

#include "util.h"

struct procstat {
	double cpu_seconds;	/* user + system */
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
	long open_fds;
	long max_fds;		/* the soft RLIMIT_NOFILE */
	double start_time;	/* seconds since the epoch */
};

/*
 * Parses the text of /proc/<pid>/stat: utime + stime and starttime in
 * clock ticks, vsize in bytes, rss in pages. -1 when malformed.
 */
int procstat_parse_stat(const char *text, uint64_t *cpu_ticks,
			uint64_t *start_ticks, uint64_t *vsize,
			uint64_t *rss_pages) MUST_CHECK;

/* The boot time in /proc/stat's text ("btime N"); -1 when absent. */
int procstat_parse_btime(const char *text, uint64_t *btime) MUST_CHECK;

/* Reads this process' figures; -1 when /proc could not be read. */
int procstat_read(struct procstat *out) MUST_CHECK;

#endif
