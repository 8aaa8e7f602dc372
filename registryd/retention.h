/*
 * Scheduled retention runs (retention.c), on registryd's retention tick.
 * Policies are managed through authd (/api/v1/retention-policies); their
 * plan and run are SQL functions (schema/0011_retention.sql) that authd's
 * dry runs and runs on demand share.
 */
#ifndef BERTH_RETENTION_H
#define BERTH_RETENTION_H

struct db;

/*
 * Runs the policies that are due (next_run_at passed), each in its own
 * transaction holding its row, skipping those another node holds, and
 * sets each one's next run interval seconds on. 0: does nothing (this
 * node runs no schedule). Failures are logged; the policy stays due.
 */
void retention_tick(struct db *db, long long interval);

#endif
