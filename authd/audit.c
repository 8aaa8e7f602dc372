/*
 * The audit log: logins, tokens issued with the scopes granted, and every
 * management change, with who, what, when and from where. A failed write
 * is logged and does not fail the request it records. registryd adds its
 * own records (registryd/auditlog.c); authd purges old ones of both.
 */
#include <stdio.h>
#include <stdlib.h>

#include "authd.h"
#include "log.h"

void
audit_write(struct db *db, const char *actor, const char *action,
	    const char *target, const char *client, bool success,
	    const char *detail_json)
{
	const char *p[6] = { actor, action, target ? target : "",
			     client ? client : "", success ? "t" : "f",
			     detail_json };
	PGresult *res;

	if (db == NULL || (res = db_exec(db, A_AUDIT, 6, p)) == NULL) {
		log_warnx("could not write audit record %s by %s", action,
			  actor);
		return;
	}
	PQclear(res);
}

void
audit_write2(struct db *db, const char *actor, const char *client,
	     const char *action1, const char *target1, const char *detail1,
	     const char *action2, const char *target2, const char *detail2)
{
	/* One statement, committed without waiting for the WAL flush. */
	const char *p[8] = { actor,   client ? client : "", action1,
			     target1 ? target1 : "", detail1, action2,
			     target2 ? target2 : "", detail2 };
	PGresult *res;

	if (db == NULL || (res = db_exec(db, A_AUDIT2, 8, p)) == NULL) {
		log_warnx("could not write audit records %s and %s by %s",
			  action1, action2, actor);
		return;
	}
	PQclear(res);
}

long long
audit_purge(struct db *db, int max_batches)
{
	char days[24], limit[24];
	const char *p[2] = { days, limit };
	long long total = 0, n;
	PGresult *res;

	if (authd.audit_retention_days <= 0)
		return 0;
	snprintf(days, sizeof(days), "%lld", authd.audit_retention_days);
	snprintf(limit, sizeof(limit), "%d", AUDIT_PURGE_BATCH);
	for (int i = 0; max_batches == 0 || i < max_batches; i++) {
		if ((res = db_exec(db, A_AUDIT_PURGE, 2, p)) == NULL) {
			log_warnx("could not purge old audit records");
			return -1;
		}
		n = db_changed(res);
		PQclear(res);
		total += n;
		if (n < AUDIT_PURGE_BATCH)
			break;
	}
	if (total > 0)
		log_info("audit log: %lld records older than %lld days purged",
			 total, authd.audit_retention_days);
	return total;
}
