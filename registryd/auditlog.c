/*
 * registryd's audit records: who pushed, moved a tag, deleted or (with
 * audit_pulls) pulled what, written to authd's audit_log table.
 *
 * DESIGN: the request path only appends a record to a bounded in-memory
 * queue under a mutex (a few pointer moves, never I/O). One writer thread
 * with its own database connection takes up to AUDIT_BATCH records at a
 * time, every AUDIT_FLUSH_MS or as soon as a batch is full, and inserts
 * them with one statement committed without waiting for the WAL flush
 * (berth_audit_batch, schema/0005_audit.sql). A full queue drops the new
 * record, counts it and warns: a push is never held up by the audit log.
 * auditlog_stop() writes what is queued before the node exits.
 */
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "auditlog.h"
#include "log.h"
#include "route.h"
#include "sql.h"

#define AUDIT_BATCH 500
#define AUDIT_FLUSH_MS 200
#define AUDIT_RETRY_MS 1000	/* after a failed insert */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t writer;
static bool running, stopping;
static json_t **ring;		/* the queue: cap slots, n used from head */
static size_t cap, head, n;
static uint64_t dropped;	/* since the last warning */
static uint64_t dropped_total, written_total;

/* An RFC 3339 UTC time with microseconds, for the record's "at". */
static void
now_rfc3339(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char sec[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.23s.%06dZ", sec, (int)(ts.tv_nsec / 1000));
}

/* Takes up to AUDIT_BATCH records off the queue; the caller holds lock. */
static size_t
take(json_t **batch)
{
	size_t k = n < AUDIT_BATCH ? n : AUDIT_BATCH;

	for (size_t i = 0; i < k; i++)
		batch[i] = ring[(head + i) % cap];
	head = (head + k) % cap;
	n -= k;
	return k;
}

/* One INSERT for the batch; 0 when it committed. */
static int
write_batch(json_t **batch, size_t k)
{
	json_t *arr = json_array();
	const char *p[1];
	PGresult *res = NULL;
	struct db *db;
	char *text;
	int ret = -1;

	for (size_t i = 0; i < k; i++)
		json_array_append(arr, batch[i]);
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	p[0] = text;
	if (text != NULL && (db = db_thread()) != NULL &&
	    (res = db_exec(db, Q_AUDIT_BATCH, 1, p)) != NULL)
		ret = 0;
	PQclear(res);
	free(text);
	return ret;
}

static void
release_batch(json_t **batch, size_t k)
{
	for (size_t i = 0; i < k; i++)
		json_decref(batch[i]);
}

static void
deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * The writer: waits for a full batch or the flush interval, writes, and
 * keeps a batch that failed to retry it (new records queue meanwhile, and
 * are dropped once the queue is full). On stop, writes what is left and
 * tries a failed batch once more.
 */
static void *
writer_main(void *arg)
{
	json_t **batch = xcalloc(AUDIT_BATCH, sizeof(*batch));
	size_t k = 0;
	uint64_t lost;
	long wait_ms = AUDIT_FLUSH_MS;
	bool last = false;

	(void)arg;
	while (!last) {
		struct timespec until;

		pthread_mutex_lock(&lock);
		deadline_in(&until, wait_ms);
		while (!stopping && n < AUDIT_BATCH &&
		       pthread_cond_timedwait(&wake, &lock, &until) == 0)
			;
		last = stopping;
		if (k == 0)
			k = take(batch);
		lost = dropped;
		dropped = 0;
		pthread_mutex_unlock(&lock);
		if (lost > 0)
			log_warnx("audit queue full: %" PRIu64 " records "
				  "dropped", lost);
		/* On stop, drain the queue batch by batch. */
		while (k > 0) {
			if (write_batch(batch, k) < 0) {
				log_warnx("could not write %zu audit records; "
					  "%s", k, last ? "they are lost"
							: "retrying");
				if (!last)
					break;
			} else {
				__atomic_add_fetch(&written_total, k,
						   __ATOMIC_RELAXED);
			}
			release_batch(batch, k);
			k = 0;
			if (!last)
				break;
			pthread_mutex_lock(&lock);
			k = take(batch);
			pthread_mutex_unlock(&lock);
		}
		wait_ms = k > 0 ? AUDIT_RETRY_MS : AUDIT_FLUSH_MS;
	}
	free(batch);
	db_thread_close();
	return NULL;
}

int
auditlog_start(long long capacity)
{
	if (capacity <= 0)
		return 0;
	cap = (size_t)capacity;
	ring = xcalloc(cap, sizeof(*ring));
	stopping = false;
	if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
		log_warnx("could not start the audit writer thread");
		free(ring);
		ring = NULL;
		return -1;
	}
	running = true;
	return 0;
}

void
auditlog_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(writer, NULL);
	running = false;
	/* The writer drained the queue unless a write failed at the end. */
	for (size_t i = 0; i < n; i++)
		json_decref(ring[(head + i) % cap]);
	n = head = 0;
	free(ring);
	ring = NULL;
	log_info("audit log: %" PRIu64 " records written, %" PRIu64
		 " dropped", written_total, dropped_total);
}

bool
auditlog_enabled(void)
{
	return running;
}

/* Appends rec (taken) unless the queue is full. */
static void
enqueue(json_t *rec)
{
	bool full;

	pthread_mutex_lock(&lock);
	full = n == cap || stopping;
	if (!full) {
		ring[(head + n) % cap] = rec;
		if (++n == AUDIT_BATCH)
			pthread_cond_signal(&wake);
	} else {
		dropped++;
		dropped_total++;
	}
	pthread_mutex_unlock(&lock);
	if (full)
		json_decref(rec);
}

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

void
auditlog_add(struct http_req *r, const char *action, const char *ref,
	     const char *digest, const char *old_digest)
{
	struct reg_req *q = r->app;
	const char *actor = q->subject && *q->subject ? q->subject
						       : "anonymous";
	const char *kind = q->subject && *q->subject && q->kind ? q->kind
								: "anonymous";
	json_t *rec, *detail;
	char at[64];

	if (!running)
		return;
	now_rfc3339(at, sizeof(at));
	detail = json_object();
	set_str(detail, "kind", kind);
	set_str(detail, "tid", q->tid);
	if (q->pid > 0)
		json_object_set_new(detail, "id", json_integer(q->pid));
	set_str(detail, "request_id", r->id);
	set_str(detail, "reference", ref);
	set_str(detail, "digest", digest);
	set_str(detail, "old_digest", old_digest);
	rec = json_object();
	set_str(rec, "at", at);
	set_str(rec, "actor", actor);
	set_str(rec, "action", action);
	set_str(rec, "target", q->name);
	set_str(rec, "client", r->client);
	json_object_set_new(rec, "success", json_true());
	json_object_set_new(rec, "detail", detail);
	/* The actor's token beside the request id, for the request log. */
	log_info("audit id=%s action=%s target=\"%s\" actor=\"%s\" kind=%s"
		 "%s%s", r->id, action, q->name ? q->name : "", actor, kind,
		 q->tid ? " tid=" : "", q->tid ? q->tid : "");
	enqueue(rec);
}
