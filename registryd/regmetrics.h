/*
 * registryd's own metric families, beside the HTTP and database ones of
 * lib/metrics.c: uploads streaming on this node and storage traffic.
 */
#ifndef BERTH_REGMETRICS_H
#define BERTH_REGMETRICS_H

#include "metrics.h"

/* Gauge: upload requests (PATCH, PUT, monolithic POST) now streaming. */
extern struct metric regm_uploads_in_progress;
/* Counters: upload bytes written to storage, blob bytes served from it. */
extern struct metric regm_storage_written;
extern struct metric regm_storage_read;
/* Counter: uploads completed into a blob (final PUT, monolithic POST). */
extern struct metric regm_uploads_completed;

/* Registers the families above; once, before serving. */
void regmetrics_register(void);

#endif
