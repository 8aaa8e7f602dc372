/*
 * The garbage collector. A round runs four steps, one transaction each:
 * untagged unreferenced manifests, then unreferenced blob links, then
 * blobs no repository links (their rows), then the bytes of those blobs.
 * The SQL functions of schema/0008_gc.sql do the first three; the bytes
 * are removed here, after the rows' deletion committed, while holding the
 * gc_blob_deletions rows a push of the same digest must wait for.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "gc.h"
#include "log.h"
#include "metrics.h"
#include "registryd.h"
#include "route.h"
#include "sql.h"
#include "storage.h"

static const char *const gc_queues[] = { "manifest", "blob_link", "blob",
					 "bytes" };
enum { GQ_MANIFEST, GQ_LINK, GQ_BLOB, GQ_BYTES, GQ_COUNT };

static struct metric m_reviewed = {
	.name = "gc_reviewed_total",
	.help = "reviews the collector took, by queue (bytes: removals of "
		"deleted blobs' bytes)",
	.kind = METRIC_COUNTER,
	.label = "queue",
	.values = gc_queues,
	.nvalues = GQ_COUNT,
};

static struct metric m_deleted = {
	.name = "gc_deleted_total",
	.help = "items the collector deleted, by queue (bytes: blobs whose "
		"bytes left storage)",
	.kind = METRIC_COUNTER,
	.label = "queue",
	.values = gc_queues,
	.nvalues = GQ_COUNT,
};

static struct metric m_freed = {
	.name = "gc_freed_bytes_total",
	.help = "blob bytes the collector removed from storage",
	.kind = METRIC_COUNTER,
};

static struct metric m_queue = {
	.name = "gc_queue_length",
	.help = "reviews waiting, by queue (bytes: blobs whose bytes are "
		"still to be removed), at the last collection",
	.kind = METRIC_GAUGE,
	.label = "queue",
	.values = gc_queues,
	.nvalues = GQ_COUNT,
};

static struct metric m_overdue = {
	.name = "gc_overdue_reviews",
	.help = "reviews due for over an hour and not yet taken, at the last "
		"collection",
	.kind = METRIC_GAUGE,
};

void
gc_metrics_register(void)
{
	metrics_register(&m_overdue);
	metrics_register(&m_queue);
	metrics_register(&m_freed);
	metrics_register(&m_deleted);
	metrics_register(&m_reviewed);
}

/* One batch of a SQL step (db_tx callback). */
struct step_tx {
	const struct gc_config *cfg;
	int stmt;
	struct gc_step_row row;
};

static int
step_tx(struct db *db, void *arg)
{
	struct step_tx *s = arg;
	char grace[24], batch[16];
	const char *p[2] = { grace, batch };
	PGresult *res;

	snprintf(grace, sizeof(grace), "%lld", s->cfg->grace);
	snprintf(batch, sizeof(batch), "%d", s->cfg->batch);
	/* berth_gc_blobs has no grace: its one parameter is the batch. */
	if (s->stmt == Q_GC_BLOBS)
		p[0] = batch;
	res = db_exec(db, s->stmt, s->stmt == Q_GC_BLOBS ? 1 : 2, p);
	if (res == NULL)
		return -1;
	gc_step_row_read(res, 0, &s->row);
	PQclear(res);
	return 0;
}

/* Runs one batch of stmt; *full when it took a whole batch. */
static int
run_step(struct db *db, const struct gc_config *cfg, int stmt, int queue,
	 struct gc_totals *t, bool *full)
{
	struct step_tx s = { cfg, stmt, { 0, 0, 0 } };

	if (db_tx(db, step_tx, &s) < 0)
		return -1;
	metric_add(&m_reviewed, queue, s.row.reviewed);
	metric_add(&m_deleted, queue, s.row.deleted);
	t->reviewed += s.row.reviewed;
	if (queue == GQ_MANIFEST)
		t->manifests += s.row.deleted;
	else if (queue == GQ_LINK)
		t->links += s.row.deleted;
	else
		t->blobs += s.row.deleted;
	*full = s.row.reviewed >= cfg->batch;
	return 0;
}

/* A batch of byte removals (db_tx callback). */
struct bytes_tx {
	const struct gc_config *cfg;
	int64_t removed, bytes, taken;
};

/* Removes the claimed blobs' bytes in one storage call; the digests
 * removed (or already gone) go into done. A digest that does not parse,
 * or whose removal failed, stays queued. */
static size_t
remove_claimed(struct bytes_tx *b, struct arena *a, PGresult *res,
	       char **done)
{
	size_t rows = (size_t)PQntuples(res), n = 0, k = 0;
	struct gc_deletion_row *d = arena_alloc(a, (rows + 1) * sizeof(*d));
	const char **digests = arena_alloc(a, (rows + 1) * sizeof(char *));
	bool *gone = arena_alloc(a, rows + 1);
	enum digest_alg alg;

	for (size_t i = 0; i < rows; i++) {
		gc_deletion_row_read(res, (int)i, &d[k]);
		if (digest_parse(d[k].digest, &alg) != DIGEST_OK) {
			log_warnx("gc: queued deletion of a bad digest \"%s\"",
				  d[k].digest);
			continue;
		}
		digests[k] = d[k].digest;
		k++;
	}
	/* Failures are logged and retried next round. */
	storage_blob_remove(reg.storage, digests, k, gone);
	for (size_t i = 0; i < k; i++) {
		if (!gone[i])
			continue;
		done[n++] = (char *)d[i].digest;
		b->removed++;
		b->bytes += d[i].size;
	}
	return n;
}

static int
bytes_tx(struct db *db, void *arg)
{
	struct bytes_tx *b = arg;
	char batch[16];
	const char *p[1] = { batch };
	struct arena a;
	PGresult *res;
	char **done;
	size_t n;
	int ret = -1;

	arena_init(&a);
	snprintf(batch, sizeof(batch), "%d", b->cfg->batch);
	if ((res = db_query(db, &a, Q_GC_DELETIONS_CLAIM, 1, p)) == NULL)
		goto out;
	b->taken = PQntuples(res);
	done = arena_alloc(&a, ((size_t)b->taken + 1) * sizeof(char *));
	n = remove_claimed(b, &a, res, done);
	p[0] = sql_array(&a, done, n);
	if (n > 0 && db_query(db, &a, Q_GC_DELETIONS_DONE, 1, p) == NULL)
		goto out;
	ret = 0;
out:
	arena_release(&a);
	return ret;
}

static int
run_bytes(struct db *db, const struct gc_config *cfg, struct gc_totals *t,
	  bool *full)
{
	struct bytes_tx b = { cfg, 0, 0, 0 };

	/* A failed COMMIT leaves the rows: the next round finds the bytes
	 * gone and removes the rows then. */
	if (db_tx(db, bytes_tx, &b) < 0)
		return -1;
	metric_add(&m_reviewed, GQ_BYTES, b.taken);
	metric_add(&m_deleted, GQ_BYTES, b.removed);
	metric_add(&m_freed, 0, b.bytes);
	t->removed += b.removed;
	t->bytes += b.bytes;
	*full = b.removed > 0 && b.taken >= cfg->batch;
	return 0;
}

/* One round: a batch of each step; *more when one took a whole batch. */
static int
gc_round(struct db *db, const struct gc_config *cfg, struct gc_totals *t,
	 bool *more)
{
	static const int steps[] = { Q_GC_MANIFESTS, Q_GC_LINKS, Q_GC_BLOBS };
	bool full;

	*more = false;
	for (int i = 0; i < 3; i++) {
		if (run_step(db, cfg, steps[i], i, t, &full) < 0)
			return -1;
		*more |= full;
	}
	if (run_bytes(db, cfg, t, &full) < 0)
		return -1;
	*more |= full;
	return 0;
}

int
gc_collect(struct db *db, const struct gc_config *cfg, struct gc_totals *t,
	   bool (*stop)(void))
{
	bool more = true;

	while (more && (stop == NULL || !stop())) {
		if (gc_round(db, cfg, t, &more) < 0) {
			/* Two collectors' cascades can deadlock; PostgreSQL
			 * picks one, which tries again next time. */
			log_info("gc: round stopped (%s)", db_sqlstate(db));
			return -1;
		}
	}
	return 0;
}

#define SWEEP_BATCH 500

/* A sweep in progress: a batch of digests found in storage. */
struct sweep {
	struct db *db;
	struct arena a;		/* the batch's strings, and its results */
	char *digests[SWEEP_BATCH];
	int64_t sizes[SWEEP_BATCH];
	size_t n;
	int64_t queued;
	bool failed;
};

/* The size storage reported for digest d of the batch. */
static int64_t
sweep_size(const struct sweep *s, const char *d)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->digests[i], d))
			return s->sizes[i];
	return 0;
}

/* Queues the batch's files that have no row. */
static void
sweep_flush(struct sweep *s)
{
	const char *p[2] = { NULL, NULL };
	char size[24];
	PGresult *res, *q;

	if (s->n == 0 || s->failed)
		goto out;
	p[0] = sql_array(&s->a, s->digests, s->n);
	if ((res = db_query(s->db, &s->a, Q_GC_SWEEP_MISSING, 1, p)) == NULL) {
		s->failed = true;
		goto out;
	}
	for (int i = 0; i < PQntuples(res) && !s->failed; i++) {
		p[0] = missing_row_digest(res, i);
		snprintf(size, sizeof(size), "%" PRId64, sweep_size(s, p[0]));
		p[1] = size;
		if ((q = db_query(s->db, &s->a, Q_GC_ORPHAN, 2, p)) == NULL)
			s->failed = true;
		else if (gc_bool_row(q, 0))
			s->queued++;
	}
out:
	arena_release(&s->a);
	arena_init(&s->a);
	s->n = 0;
}

static void
sweep_one(const char *digest, uint64_t size, void *arg)
{
	struct sweep *s = arg;
	enum digest_alg alg;

	if (s->failed || digest_parse(digest, &alg) != DIGEST_OK)
		return;		/* not a blob's name: not ours to remove */
	s->digests[s->n] = arena_strdup(&s->a, digest);
	s->sizes[s->n++] = (int64_t)size;
	if (s->n == SWEEP_BATCH)
		sweep_flush(s);
}

int
gc_sweep(struct db *db, const struct gc_config *cfg, struct gc_totals *t)
{
	struct sweep *s;
	PGresult *res;
	bool taken;

	if ((res = db_exec(db, Q_GC_SWEEP_LOCK, 0, NULL)) == NULL)
		return -1;
	taken = gc_bool_row(res, 0);
	PQclear(res);
	if (!taken)
		return 0;	/* another node is sweeping */
	s = xcalloc(1, sizeof(*s));
	s->db = db;
	arena_init(&s->a);
	storage_blob_each_old(reg.storage, cfg->grace, sweep_one, s);
	sweep_flush(s);
	arena_release(&s->a);
	t->orphans += s->queued;
	if (s->queued > 0)
		log_info("gc: %lld blob files with no row queued for removal",
			 (long long)s->queued);
	taken = !s->failed;
	free(s);
	if ((res = db_exec(db, Q_GC_SWEEP_UNLOCK, 0, NULL)) != NULL)
		PQclear(res);
	return taken ? 0 : -1;
}

/* Sets a gauge sample to v. */
static void
gauge_set(struct metric *m, int i, int64_t v)
{
	__atomic_store_n(&m->v[i], v, __ATOMIC_RELAXED);
}

static void
update_gauges(const char *status)
{
	static const char *const keys[] = { "manifest_reviews",
					     "blob_link_reviews",
					     "blob_reviews",
					     "pending_deletions" };
	json_t *o = json_loads(status, 0, NULL);

	if (o == NULL)
		return;
	for (int i = 0; i < GQ_COUNT; i++)
		gauge_set(&m_queue, i,
			  json_integer_value(json_object_get(o, keys[i])));
	gauge_set(&m_overdue, 0,
		  json_integer_value(json_object_get(o, "overdue")));
	json_decref(o);
}

void
gc_record(struct db *db, const struct gc_config *cfg,
	  const struct gc_totals *t)
{
	char v[6][24];
	const char *p[7] = { cfg->node, v[0], v[1], v[2], v[3], v[4], v[5] };
	int64_t n[6] = { cfg->grace, t->reviewed, t->manifests, t->links,
			 t->blobs, t->bytes };
	PGresult *res;
	char *status;

	for (int i = 0; i < 6; i++)
		snprintf(v[i], sizeof(v[i]), "%" PRId64, n[i]);
	if ((res = db_exec(db, Q_GC_NODE_RECORD, 7, p)) != NULL)
		PQclear(res);
	if ((status = gc_report(db, cfg, false)) != NULL) {
		update_gauges(status);
		free(status);
	}
}

char *
gc_report(struct db *db, const struct gc_config *cfg, bool dry_run)
{
	char grace[24];
	const char *p[2] = { grace, "3600" };
	PGresult *res;
	char *out;

	snprintf(grace, sizeof(grace), "%lld", cfg->grace);
	res = db_exec(db, dry_run ? Q_GC_REPORT : Q_GC_STATUS, dry_run ? 1 : 2,
		      p);
	if (res == NULL)
		return NULL;
	out = xstrdup(gc_json_row(res, 0));
	PQclear(res);
	return out;
}

char *
gc_totals_json(const struct gc_totals *t)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "orphans", (json_int_t)t->orphans, "reviewed",
			      (json_int_t)t->reviewed, "manifests",
			      (json_int_t)t->manifests, "blob_links",
			      (json_int_t)t->links, "blobs",
			      (json_int_t)t->blobs, "blobs_removed",
			      (json_int_t)t->removed, "bytes_freed",
			      (json_int_t)t->bytes);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}
