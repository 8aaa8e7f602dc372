/*
 * Tag immutability at the registry's edge (immutable.c): the checks that
 * manifest.c's transactions make before they delete, and the refusal's
 * answer. The move of a tag is refused by its upsert itself (Q_TAG_PUT),
 * whose no-row result immutable_refusal explains. Rules live in
 * immutable_rules (schema/0009_immutable.sql), managed through authd.
 */
#ifndef BERTH_IMMUTABLE_H
#define BERTH_IMMUTABLE_H

#include <stdbool.h>

#include "arena.h"
#include "db.h"
#include "error.h"
#include "http.h"

/*
 * Why tag (of repository repo) may not move, after Q_TAG_PUT refused it:
 * "tag v1 is immutable (rule v*)", allocated in a; NULL when the query
 * fails (logged). In the caller's transaction, which must roll back.
 */
const char *immutable_refusal(struct db *db, struct arena *a,
			      const char *repo, const char *tag);

/*
 * In the caller's transaction, before a DELETE of manifests/<ref> in
 * repo deletes anything: E_TAG_IMMUTABLE with *why set when the tag (or,
 * by digest, a tag pointing at the manifest) is immutable, the row locks
 * taken so that the answer holds until the commit; E_UNAVAILABLE when a
 * query failed; else E_NONE.
 */
enum reg_error immutable_delete_check(struct db *db, struct arena *a,
				      const char *repo, const char *ref,
				      bool by_digest, const char **why);

/* Answers 403 DENIED with why as the message (what clients print). */
int immutable_respond(struct http_req *r, const char *why);

#endif
