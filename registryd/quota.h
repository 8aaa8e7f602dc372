/*
 * Namespace storage quotas at manifest PUT (quota.c). The usage itself is
 * kept by schema/0010_quota.sql's triggers, in the transaction of every
 * change; this is the refusal of a push that would take a namespace past
 * its limit.
 */
#ifndef BERTH_QUOTA_H
#define BERTH_QUOTA_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "error.h"

/* What a manifest PUT would store. */
struct quota_push {
	const char *repo;	/* the repository's name */
	const char *repo_id;	/* its id, as text */
	const char *digest;	/* the manifest's digest */
	size_t size;		/* the manifest's bytes */
	char *const *blobs;	/* the blobs it references: config, layers */
	size_t n_blobs;
};

/*
 * In the PUT's transaction, after the references were found and before the
 * manifest is inserted: whether the namespace of p->repo may grow by what
 * p adds (the blobs the namespace does not reference yet, and the manifest
 * unless the repository has it). A namespace with a limit stays locked for
 * the rest of the transaction, so concurrent pushes to it take turns.
 * 0 when it may; -1 when refused (*err = E_QUOTA_EXCEEDED, *detail the
 * message, in a) or on a database error (*err untouched).
 */
int quota_check(struct db *db, struct arena *a, const struct quota_push *p,
		enum reg_error *err, const char **detail) MUST_CHECK;

/*
 * registryd quota-recompute and quota-check: berth_quota_recompute() on a
 * connection of its own, fixing the namespaces whose tracked usage or
 * reference counts differ from their content (check: only reporting
 * them). Prints one line per such namespace and a summary; returns the
 * exit code: 0, 3 when check found a difference, 1 on a database error.
 */
int quota_recompute_command(const char *conninfo, bool check);

/* The namespace of repository name: its first component (in a). */
const char *quota_namespace(struct arena *a, const char *name);

#endif
