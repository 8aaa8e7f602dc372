/*
 * Repositories (repo.c): the id of a repository name, looked up or
 * created on first push. Handlers pass their request's arena, which
 * keeps the query results.
 */
#ifndef BERTH_REPO_H
#define BERTH_REPO_H

#include <stdint.h>

#include "arena.h"
#include "db.h"

/* The repository's id, or 0 when unknown; -1 on a database error. */
int64_t repo_id(struct db *db, struct arena *a, const char *name);
/* The repository's id, creating the repository; -1 on error. */
int64_t repo_ensure(struct db *db, struct arena *a, const char *name);

#endif
