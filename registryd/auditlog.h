/*
 * registryd's audit records (auditlog.c): a bounded queue that the
 * request path appends to and one writer thread empties.
 */
#ifndef BERTH_AUDITLOG_H
#define BERTH_AUDITLOG_H

#include <stdbool.h>

#include "http.h"
#include "util.h"

/*
 * Starts the writer thread with a queue of capacity records (0: registry
 * auditing off). -1 (logged) when the thread cannot start.
 */
int auditlog_start(long long capacity) MUST_CHECK;
/* Writes what is queued and stops the writer; after http_stop(). */
void auditlog_stop(void);
/* Whether records are kept (the writer runs). */
bool auditlog_enabled(void);
/*
 * Queues a record of action on the request's repository by the request's
 * subject, with the reference, digest and previous digest (each may be
 * NULL). Never blocks on I/O; drops the record when the queue is full.
 */
void auditlog_add(struct http_req *r, const char *action, const char *ref,
		  const char *digest, const char *old_digest);

#endif
