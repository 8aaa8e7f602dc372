/*
 * Online garbage collection (gc.c): the collector that every registryd
 * node runs on a background thread, and `registryd gc` runs in the
 * foreground. The review queues, the checks and the lock order are in
 * schema/0008_gc.sql; docs/gc.md tells the whole story.
 */
#ifndef BERTH_GC_H
#define BERTH_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

struct gc_config {
	long long grace;	/* seconds a manifest or link waits in review */
	int batch;		/* reviews (or byte removals) per transaction */
	const char *node;	/* this collector's name in gc_nodes */
};

/* What collection did (or, with counts only, would do). */
struct gc_totals {
	int64_t reviewed;	/* reviews taken, kept or not */
	int64_t manifests;	/* manifests deleted */
	int64_t links;		/* blob links deleted */
	int64_t blobs;		/* blob rows deleted */
	int64_t removed;	/* blobs whose bytes left storage */
	int64_t bytes;		/* bytes freed in storage */
	int64_t orphans;	/* files with no row, queued by a sweep */
};

/* Registers the gc metric families; once, before serving. */
void gc_metrics_register(void);

/*
 * Collects until nothing is due or stop() (when not NULL) says so: rounds
 * of one batch per step (manifests, links, blobs, bytes), each in its own
 * transaction, adding what they did to *t. 0, or -1 (logged) when the
 * database failed; what committed before stays done.
 */
int gc_collect(struct db *db, const struct gc_config *cfg,
	       struct gc_totals *t, bool (*stop)(void)) MUST_CHECK;

/*
 * Sweeps storage for blob files older than the grace that no blob row
 * stands on (a crash between rename and COMMIT) and queues them for
 * removal, which gc_collect then does; counts them in t->orphans. Only
 * one node sweeps at a time: 0 without sweeping when another does. -1
 * (logged) when the database failed.
 */
int gc_sweep(struct db *db, const struct gc_config *cfg,
	     struct gc_totals *t) MUST_CHECK;

/* Adds t to this node's row in gc_nodes and refreshes the queue gauges;
 * failures are logged. */
void gc_record(struct db *db, const struct gc_config *cfg,
	       const struct gc_totals *t);

/* JSON text (caller frees) of berth_gc_status (dry_run false) or
 * berth_gc_report (true) with cfg's grace; NULL (logged) on failure. */
char *gc_report(struct db *db, const struct gc_config *cfg, bool dry_run);

/* The totals as one JSON object (caller frees). */
char *gc_totals_json(const struct gc_totals *t);

#endif
