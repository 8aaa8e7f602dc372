/*
 * registryd's prepared statements (sql.c) and their rows. Each statement
 * that returns rows has a row struct or accessor beside it, so that column
 * N is written down once, next to the SELECT list. Strings in a row point
 * into the result, which lives as long as the arena it was queried on.
 */
#ifndef BERTH_SQL_H
#define BERTH_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

enum stmt {
	Q_REPO_ID,
	Q_REPO_ENSURE,
	Q_BLOB_IN_REPO,
	Q_BLOB_ANY_REPO,
	Q_BLOB_INSERT,
	Q_BLOB_LINK,
	Q_BLOB_UNLINK,
	Q_UPLOAD_INSERT,
	Q_UPLOAD_GET,
	Q_UPLOAD_UPDATE,
	Q_UPLOAD_DELETE,
	Q_MANIFEST_BY_DIGEST,
	Q_MANIFEST_HEAD_BY_DIGEST,
	Q_MANIFEST_BY_TAG,
	Q_MANIFEST_HEAD_BY_TAG,
	Q_MANIFEST_MISSING_BLOBS,
	Q_MANIFEST_MISSING_CHILDREN,
	Q_MANIFEST_INSERT,
	Q_MANIFEST_REFS_INSERT,
	Q_MANIFEST_DELETE,
	Q_TAG_PUT,
	Q_TAG_DELETE,
	Q_TAGS_LIST,
	Q_CATALOG,
	Q_REFERRERS,
	Q_REFERRERS_FILTERED,
	Q_GC_QUEUE_BLOB,
	Q_GC_QUEUE_MANIFEST_BLOBS,
	Q_UPLOAD_PURGE,
	Q_UPLOAD_EXISTS,
	Q_CATALOG_FOR,
	Q_BLOB_READABLE,
	Q_PING,
	Q_AUDIT_BATCH,
	Q_TAG_OLD,
	Q_UPLOAD_EXPIRE,
	Q_BLOB_UPSERT,
	Q_BLOB_LOCK,
	Q_GC_DELETION_CANCEL,
	Q_GC_TOUCH_LINK,
	Q_GC_POSTPONE_LINK,
	Q_GC_POSTPONE_LINKS,
	Q_GC_POSTPONE_MANIFESTS,
	Q_GC_MANIFESTS,
	Q_GC_LINKS,
	Q_GC_BLOBS,
	Q_GC_DELETIONS_CLAIM,
	Q_GC_DELETIONS_DONE,
	Q_GC_NODE_RECORD,
	Q_GC_STATUS,
	Q_GC_REPORT,
	Q_QUOTA_LOCK,
	Q_QUOTA_NEEDED,
	Q_IMMUTABLE_RULE,
	Q_IMMUTABLE_TAG,
	Q_IMMUTABLE_DIGEST,
	Q_MANIFEST_LOCK,
	Q_RETENTION_CLAIM,
	Q_RETENTION_RUN,
	Q_GC_SWEEP_LOCK,
	Q_GC_SWEEP_UNLOCK,
	Q_UPLOAD_LOCK,
	Q_UPLOAD_UNLOCK,
	Q_GC_SWEEP_MISSING,
	Q_GC_ORPHAN,
	Q_COUNT
};

extern const struct db_stmt registry_stmts[Q_COUNT];

/* Q_REPO_ID, Q_REPO_ENSURE: the repository's id. */
int64_t repo_row_id(const PGresult *res, int i);

/* Q_BLOB_IN_REPO, Q_BLOB_ANY_REPO, Q_BLOB_READABLE. */
struct blob_row {
	uint64_t size;
};
void blob_row_read(const PGresult *res, int i, struct blob_row *b);

/* Q_UPLOAD_INSERT: the open sessions counted, and whether it opened one. */
struct upload_insert_row {
	long long repo;		/* in the repository, up to its limit */
	long long mine;		/* the subject's, up to its limit */
	bool inserted;
};
void upload_insert_row_read(const PGresult *res, int i,
			    struct upload_insert_row *u);

/* Q_UPLOAD_GET: the durable prefix of an upload. */
struct upload_row {
	uint64_t size;
	const char *hash_state;	/* bytea in text form, or NULL */
	const char *storage_state;	/* the driver's, or NULL */
};
void upload_row_read(const PGresult *res, int i, struct upload_row *u);

/* Q_UPLOAD_PURGE: an idle session's id. */
const char *upload_purge_row_id(const PGresult *res, int i);

/*
 * Q_MANIFEST_BY_DIGEST and _BY_TAG (head false: the content, in a binary
 * result) or Q_MANIFEST_HEAD_BY_DIGEST and _BY_TAG (head true: the size
 * only, content NULL).
 */
struct manifest_row {
	const char *digest;
	const char *media_type;
	const char *content;	/* size bytes, not terminated */
	uint64_t size;
};
void manifest_row_read(const PGresult *res, int i, bool head,
		       struct manifest_row *m);

/* Q_MANIFEST_MISSING_BLOBS, _CHILDREN: a digest the repository lacks;
 * Q_GC_SWEEP_MISSING: a digest with no blob row. */
const char *missing_row_digest(const PGresult *res, int i);

/* Q_MANIFEST_DELETE: the deleted manifest's digest. */
const char *manifest_deleted_row_digest(const PGresult *res, int i);

/* Q_TAG_DELETE: the deleted tag. */
struct tag_row {
	const char *name;
	const char *digest;
};
void tag_row_read(const PGresult *res, int i, struct tag_row *t);
/* Q_TAG_OLD: the digest a tag points to. */
const char *tag_old_row_digest(const PGresult *res, int i);

/* Q_TAGS_LIST, Q_CATALOG, Q_CATALOG_FOR: the name a page lists. */
const char *page_row_name(const PGresult *res, int i);

/* Q_REFERRERS, Q_REFERRERS_FILTERED: one descriptor. */
struct referrer_row {
	const char *digest;
	const char *media_type;
	int64_t size;
	const char *artifact_type;	/* or NULL */
	const char *annotations;	/* JSON text, or NULL */
};
void referrer_row_read(const PGresult *res, int i, struct referrer_row *d);

/* Q_GC_MANIFESTS, Q_GC_LINKS, Q_GC_BLOBS: one batch of a step. */
struct gc_step_row {
	int64_t reviewed;
	int64_t deleted;
	int64_t bytes;
};
void gc_step_row_read(const PGresult *res, int i, struct gc_step_row *g);

/* Q_GC_DELETIONS_CLAIM: a blob whose bytes are to leave storage. */
struct gc_deletion_row {
	const char *digest;
	int64_t size;
};
void gc_deletion_row_read(const PGresult *res, int i,
			  struct gc_deletion_row *d);

/* Q_GC_SWEEP_LOCK, Q_UPLOAD_LOCK: whether this session took the lock;
 * Q_GC_ORPHAN: whether the file was queued for removal. */
bool gc_bool_row(const PGresult *res, int i);

/* Q_GC_STATUS, Q_GC_REPORT: a JSON object. */
const char *gc_json_row(const PGresult *res, int i);

/* "{a,b,c}": a PostgreSQL array literal of n validated digests or names
 * (no commas, quotes, braces or spaces), on a. */
char *sql_array(struct arena *a, char *const *items, size_t n);
/* Q_QUOTA_LOCK: a namespace's limit and usage, in bytes. */
struct quota_row {
	int64_t limit;
	int64_t usage;
};
void quota_row_read(const PGresult *res, int i, struct quota_row *q);
/* Q_QUOTA_NEEDED: the bytes a manifest PUT would add to its namespace. */
int64_t quota_needed_row(const PGresult *res, int i);
/* Q_IMMUTABLE_RULE, Q_IMMUTABLE_TAG, Q_IMMUTABLE_DIGEST: an immutable tag
 * and the pattern of the rule that makes it so. */
struct immutable_row {
	const char *tag;
	const char *pattern;
};
void immutable_row_read(const PGresult *res, int i, struct immutable_row *m);

/* Q_RETENTION_CLAIM: the id of a due policy, now locked. */
const char *retention_claim_row_id(const PGresult *res, int i);
/* Q_RETENTION_RUN: berth_retention_run's JSON, NULL: the policy went. */
const char *retention_run_row_result(const PGresult *res, int i);

#endif
