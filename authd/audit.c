/*
 * The audit log: logins, tokens issued with the scopes granted, and every
 * management change, with who, what, when and from where. A failed write
 * is logged and does not fail the request it records.
 */
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
