/*
 * Scheduled retention: each tick, a node takes due policies one at a time
 * with FOR UPDATE SKIP LOCKED and runs each in the transaction that holds
 * its row (berth_retention_run: the tags deleted, one audit record, the
 * next run recorded), so several nodes share the work and no policy runs
 * twice. Only tags go; garbage collection takes what they leave untagged.
 */
#include <jansson.h>
#include <stdio.h>

#include "log.h"
#include "retention.h"
#include "sql.h"

/* Policies one tick runs at most: a stop waits for the tick in progress,
 * and a run deletes up to 10000 tags. Those left are due at the next. */
#define PER_TICK 20

/* One policy's run, as its transaction did it. */
struct run {
	const char *interval;	/* seconds, for the next run */
	struct arena *arena;
	const char *id;		/* the policy run; NULL: none was due */
	const char *result;	/* berth_retention_run's JSON */
};

static int
run_tx(struct db *db, void *arg)
{
	struct run *run = arg;
	const char *p[2] = { NULL, run->interval };
	PGresult *res;

	if ((res = db_query(db, run->arena, Q_RETENTION_CLAIM, 0, NULL)) ==
	    NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;
	p[0] = run->id = retention_claim_row_id(res, 0);
	if ((res = db_query(db, run->arena, Q_RETENTION_RUN, 2, p)) == NULL)
		return -1;
	run->result = retention_run_row_result(res, 0);
	return 0;
}

/* Logs what a run deleted, when it deleted anything. */
static void
run_log(const struct run *run)
{
	json_t *doc = run->result ? json_loads(run->result, 0, NULL) : NULL;
	json_int_t n = json_integer_value(json_object_get(doc, "count"));

	if (n > 0)
		log_info("retention: policy %s deleted %lld tag%s%s", run->id,
			 (long long)n, n == 1 ? "" : "s",
			 json_is_true(json_object_get(doc, "more"))
				 ? "; more are due"
				 : "");
	json_decref(doc);
}

void
retention_tick(struct db *db, long long interval)
{
	struct arena a;
	char secs[24];

	if (interval <= 0)
		return;
	snprintf(secs, sizeof(secs), "%lld", interval);
	arena_init(&a);
	for (int i = 0; i < PER_TICK; i++) {
		struct run run = { secs, &a, NULL, NULL };

		if (db_tx(db, run_tx, &run) < 0) {
			log_warnx("retention: could not run policy %s",
				  run.id ? run.id : "(claim)");
			break;
		}
		if (run.id == NULL)
			break;
		run_log(&run);
	}
	arena_release(&a);
}
