/*
 * Schema migrations compiled into the binary (scripts/embed-schema.sh) and
 * applied in name order, each in its own transaction, under an advisory
 * lock so that several nodes starting at once are safe.
 */
#ifndef BERTH_MIGRATE_H
#define BERTH_MIGRATE_H

#include <libpq-fe.h>

#include "util.h"

struct migration {
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

/*
 * Applies the missing migrations; logs what it did. 0 or -1 (logged); -1
 * also when the database records a migration this binary does not carry
 * (a newer version migrated it): an old binary never runs on a newer schema.
 */
int migrate_apply(PGconn *conn) MUST_CHECK;

/*
 * 0 when the recorded migrations are exactly the embedded ones, -1 (logged)
 * when one is missing or one is unknown to this binary.
 */
int migrate_check(PGconn *conn) MUST_CHECK;

/* The "migrate" command of the daemons: connect, apply; exit status. */
int migrate_command(const char *conninfo);
/* Before serving: connect and check; 0 or -1 (logged). */
int migrate_verify(const char *conninfo) MUST_CHECK;

#endif
