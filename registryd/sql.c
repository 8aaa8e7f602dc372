/*
 * Every SQL statement registryd runs, prepared once per connection. All
 * take parameters; none interpolates text. Lists are keyset queries on
 * primary keys, so a page costs the same however large the registry.
 * The row readers after the table name each statement's columns, in the
 * order of its SELECT or RETURNING list.
 */
#include <string.h>

#include "sql.h"

#define REPO "(SELECT id FROM repositories WHERE name = $1)"

const struct db_stmt registry_stmts[Q_COUNT] = {
	[Q_REPO_ID] = { "repo_id", "SELECT id FROM repositories WHERE name = $1" },
	/* Under READ COMMITTED a racing insert can hide the row from both
	 * halves; the caller retries once. */
	[Q_REPO_ENSURE] = { "repo_ensure",
		"WITH ins AS (INSERT INTO repositories (name) VALUES ($1) "
		"ON CONFLICT (name) DO NOTHING RETURNING id) "
		"SELECT id FROM ins UNION ALL "
		"SELECT id FROM repositories WHERE name = $1 LIMIT 1" },
	[Q_BLOB_IN_REPO] = { "blob_in_repo",
		"SELECT b.size FROM repository_blobs rb "
		"JOIN blobs b ON b.digest = rb.digest "
		"WHERE rb.repository_id = " REPO " AND rb.digest = $2" },
	[Q_BLOB_ANY_REPO] = { "blob_any_repo",
		"SELECT b.size FROM blobs b WHERE b.digest = $1 AND EXISTS "
		"(SELECT 1 FROM repository_blobs rb WHERE rb.digest = $1)" },
	[Q_BLOB_INSERT] = { "blob_insert",
		"INSERT INTO blobs (digest, size) VALUES ($1, $2) "
		"ON CONFLICT (digest) DO NOTHING" },
	[Q_BLOB_LINK] = { "blob_link",
		"INSERT INTO repository_blobs (repository_id, digest) "
		"VALUES ($1, $2) ON CONFLICT DO NOTHING" },
	[Q_BLOB_UNLINK] = { "blob_unlink",
		"DELETE FROM repository_blobs WHERE repository_id = " REPO
		" AND digest = $2 RETURNING digest" },
	/* Opens a session unless the repository ($2) has $4 open or the
	 * subject ($3, '' for anonymous: not counted) has $5 (0: no limit).
	 * Counting stops at the limit, so a check costs at most that many
	 * index entries. Returns both counts and whether it inserted. Under
	 * READ COMMITTED, concurrent POSTs may each see the count below the
	 * limit: it can be passed by one less than the POSTs in flight. */
	[Q_UPLOAD_INSERT] = { "upload_insert",
		"WITH n AS (SELECT "
		"(SELECT count(*) FROM (SELECT 1 FROM uploads "
		"WHERE repository_id = $2 LIMIT $4) r) AS repo, "
		"(SELECT count(*) FROM (SELECT 1 FROM uploads "
		"WHERE opened_by = $3 AND $3 <> '' LIMIT $5) u) AS mine), "
		"ins AS (INSERT INTO uploads (id, repository_id, opened_by) "
		"SELECT $1::uuid, $2, $3 FROM n "
		"WHERE ($4 = 0 OR n.repo < $4) AND ($5 = 0 OR n.mine < $5) "
		"RETURNING id) "
		"SELECT n.repo, n.mine, (SELECT count(*) FROM ins) FROM n" },
	[Q_UPLOAD_GET] = { "upload_get",
		"SELECT size, hash_state, storage_state FROM uploads "
		"WHERE id = $2::uuid AND repository_id = " REPO },
	/* size = $3 makes the update conditional on the state we read. */
	[Q_UPLOAD_UPDATE] = { "upload_update",
		"UPDATE uploads SET size = $4, hash_state = $5, "
		"storage_state = $6, updated_at = now() WHERE id = $2::uuid AND repository_id = "
		REPO " AND size = $3" },
	[Q_UPLOAD_DELETE] = { "upload_delete",
		"DELETE FROM uploads WHERE id = $2::uuid AND repository_id = "
		REPO " RETURNING id" },
	[Q_MANIFEST_BY_DIGEST] = { "manifest_by_digest",
		"SELECT digest, media_type, content FROM manifests "
		"WHERE repository_id = " REPO " AND digest = $2" },
	[Q_MANIFEST_HEAD_BY_DIGEST] = { "manifest_head_by_digest",
		"SELECT digest, media_type, size FROM manifests "
		"WHERE repository_id = " REPO " AND digest = $2" },
	[Q_MANIFEST_BY_TAG] = { "manifest_by_tag",
		"SELECT m.digest, m.media_type, m.content FROM tags t "
		"JOIN manifests m ON m.repository_id = t.repository_id "
		"AND m.digest = t.digest "
		"WHERE t.repository_id = " REPO " AND t.name = $2" },
	[Q_MANIFEST_HEAD_BY_TAG] = { "manifest_head_by_tag",
		"SELECT m.digest, m.media_type, m.size FROM tags t "
		"JOIN manifests m ON m.repository_id = t.repository_id "
		"AND m.digest = t.digest "
		"WHERE t.repository_id = " REPO " AND t.name = $2" },
	/* FOR SHARE holds what the manifest needs until it commits, so a
	 * concurrent DELETE cannot slip in between check and insert. */
	[Q_MANIFEST_MISSING_BLOBS] = { "manifest_missing_blobs",
		"WITH present AS (SELECT digest FROM repository_blobs "
		"WHERE repository_id = $1 AND digest = ANY($2::text[]) "
		"FOR SHARE) SELECT d FROM unnest($2::text[]) AS d "
		"WHERE d NOT IN (SELECT digest FROM present) LIMIT 1" },
	[Q_MANIFEST_MISSING_CHILDREN] = { "manifest_missing_children",
		"WITH present AS (SELECT digest FROM manifests "
		"WHERE repository_id = $1 AND digest = ANY($2::text[]) "
		"FOR SHARE) SELECT d FROM unnest($2::text[]) AS d "
		"WHERE d NOT IN (SELECT digest FROM present) LIMIT 1" },
	[Q_MANIFEST_INSERT] = { "manifest_insert",
		"INSERT INTO manifests (repository_id, digest, media_type, "
		"artifact_type, subject, annotations, size, content) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
		/* An update that changes nothing, for its row lock: the
		 * collector cannot delete the manifest under this PUT. */
		"ON CONFLICT (repository_id, digest) "
		"DO UPDATE SET size = manifests.size" },
	[Q_MANIFEST_REFS_INSERT] = { "manifest_refs_insert",
		"INSERT INTO manifest_references (repository_id, "
		"manifest_digest, target_digest, is_manifest) "
		"SELECT $1, $2, d, $4 FROM unnest($3::text[]) AS d "
		"ON CONFLICT DO NOTHING" },
	[Q_MANIFEST_DELETE] = { "manifest_delete",
		"DELETE FROM manifests WHERE repository_id = " REPO
		" AND digest = $2 RETURNING digest" },
	/* No row when the tag points elsewhere and an immutable rule
	 * (schema/0009_immutable.sql) matches it: ON CONFLICT holds the
	 * tag's row lock while the rule is checked, so nothing moves it in
	 * between. The rule lookup runs only on a move, on the rules'
	 * index: a namespace without rules costs one empty probe. */
	[Q_TAG_PUT] = { "tag_put",
		"INSERT INTO tags (repository_id, name, digest) "
		"VALUES ($1, $2, $3) ON CONFLICT (repository_id, name) "
		"DO UPDATE SET digest = EXCLUDED.digest, updated_at = now() "
		"WHERE tags.digest = EXCLUDED.digest OR NOT EXISTS "
		"(SELECT 1 FROM repositories p JOIN immutable_rules r "
		"ON r.namespace = split_part(p.name, '/', 1) "
		"AND (r.repository IS NULL OR r.repository = p.name) "
		"WHERE p.id = $1 AND $2 LIKE r.like_pattern) RETURNING 1" },
	[Q_TAG_DELETE] = { "tag_delete",
		"DELETE FROM tags WHERE repository_id = " REPO
		" AND name = $2 RETURNING name, digest" },
	[Q_TAGS_LIST] = { "tags_list",
		"SELECT name FROM tags WHERE repository_id = $1 "
		"AND name > $2 ORDER BY name LIMIT $3" },
	[Q_CATALOG] = { "catalog",
		"SELECT name FROM repositories WHERE name > $1 "
		"ORDER BY name LIMIT $2" },
	[Q_REFERRERS] = { "referrers",
		"SELECT digest, media_type, size, artifact_type, annotations "
		"FROM manifests WHERE repository_id = " REPO
		" AND subject = $2 ORDER BY digest" },
	[Q_REFERRERS_FILTERED] = { "referrers_filtered",
		"SELECT digest, media_type, size, artifact_type, annotations "
		"FROM manifests WHERE repository_id = " REPO
		" AND subject = $2 AND artifact_type = $3 ORDER BY digest" },
	[Q_GC_QUEUE_BLOB] = { "gc_queue_blob",
		"INSERT INTO gc_blob_reviews (digest) VALUES ($1) "
		"ON CONFLICT (digest) DO UPDATE SET review_after = now()" },
	[Q_GC_QUEUE_MANIFEST_BLOBS] = { "gc_queue_manifest_blobs",
		"INSERT INTO gc_blob_reviews (digest) "
		"SELECT target_digest FROM manifest_references "
		"WHERE repository_id = " REPO " AND manifest_digest = $2 "
		"AND NOT is_manifest ORDER BY target_digest ON CONFLICT (digest) "
		"DO UPDATE SET review_after = now()" },
	/* Candidates only: the node deletes each one under its file lock
	 * (Q_UPLOAD_EXPIRE), so a PATCH still running is never purged. */
	[Q_UPLOAD_PURGE] = { "upload_purge",
		"SELECT id FROM uploads WHERE updated_at < now() - "
		"make_interval(secs => $1::double precision) "
		"ORDER BY updated_at LIMIT 1000" },
	[Q_UPLOAD_EXPIRE] = { "upload_expire",
		"DELETE FROM uploads WHERE id = $1::uuid AND updated_at < now() - "
		"make_interval(secs => $2::double precision) RETURNING id" },
	[Q_UPLOAD_EXISTS] = { "upload_exists",
		"SELECT 1 FROM uploads WHERE id = $1::uuid" },
	/* See schema/0003_catalog.sql: each page is bounded index ranges. */
	[Q_CATALOG_FOR] = { "catalog_for",
		"SELECT berth_catalog($3, $1, $2::int)" },
	[Q_BLOB_READABLE] = { "blob_readable",
		"SELECT b.size FROM blobs b WHERE b.digest = $1 AND EXISTS "
		"(SELECT 1 FROM repository_blobs rb JOIN repositories r "
		"ON r.id = rb.repository_id WHERE rb.digest = $1 "
		"AND berth_subject_level($2, r.name) >= 1 "
		/* A token with a repository list reads only within it. */
		"AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM tokens t "
		"WHERE t.id = $3::uuid AND "
		"berth_token_covers(t.repositories, r.name))))" },
	[Q_PING] = { "ping", "SELECT 1" },
	/* The digest a tag points to before a push moves it, for the audit
	 * log; FOR UPDATE waits for a concurrent move and reads its result,
	 * so two racing pushes each see the other's digest or none. */
	[Q_TAG_OLD] = { "tag_old",
		"SELECT digest FROM tags WHERE repository_id = $1 "
		"AND name = $2 FOR UPDATE" },
	/* A batch of audit records, see registryd/auditlog.c. */
	[Q_AUDIT_BATCH] = { "audit_batch",
		"SELECT berth_audit_batch($1::jsonb)" },
	/* Garbage collection: see schema/0008_gc.sql for the lock order.
	 * A completed upload takes the blob row's lock (an update that
	 * changes nothing), so the collector waits for it or it for the
	 * collector; a mount needs the row as it is. */
	[Q_BLOB_UPSERT] = { "blob_upsert",
		"INSERT INTO blobs (digest, size) VALUES ($1, $2) "
		"ON CONFLICT (digest) DO UPDATE SET size = blobs.size" },
	[Q_BLOB_LOCK] = { "blob_lock",
		"SELECT size FROM blobs WHERE digest = $1 FOR SHARE" },
	/* Waits out a removal of the bytes under way; cancels one queued. */
	[Q_GC_DELETION_CANCEL] = { "gc_deletion_cancel",
		"DELETE FROM gc_blob_deletions WHERE digest = $1" },
	/* A new or renewed link starts its grace. */
	[Q_GC_TOUCH_LINK] = { "gc_touch_link",
		"INSERT INTO gc_repo_blob_reviews (repository_id, digest) "
		"VALUES ($1, $2) ON CONFLICT (repository_id, digest) "
		"DO UPDATE SET queued_at = now()" },
	/* A blob HEAD postpones its link's review: the manifest PUT that
	 * usually follows finds the link still there. */
	[Q_GC_POSTPONE_LINK] = { "gc_postpone_link",
		"UPDATE gc_repo_blob_reviews SET queued_at = now() "
		"WHERE repository_id = " REPO " AND digest = $2" },
	[Q_GC_POSTPONE_LINKS] = { "gc_postpone_links",
		/* Locked in digest order: pushes sharing layers take their
		 * rows alike and wait for each other, never deadlock. */
		"WITH l AS (SELECT digest FROM gc_repo_blob_reviews "
		"WHERE repository_id = $1 AND digest = ANY($2::text[]) "
		"ORDER BY digest FOR UPDATE) "
		"UPDATE gc_repo_blob_reviews g SET queued_at = now() FROM l "
		"WHERE g.repository_id = $1 AND g.digest = l.digest" },
	[Q_GC_POSTPONE_MANIFESTS] = { "gc_postpone_manifests",
		"WITH l AS (SELECT digest FROM gc_manifest_reviews "
		"WHERE repository_id = $1 AND digest = ANY($2::text[]) "
		"ORDER BY digest FOR UPDATE) "
		"UPDATE gc_manifest_reviews g SET queued_at = now() FROM l "
		"WHERE g.repository_id = $1 AND g.digest = l.digest" },
	[Q_GC_MANIFESTS] = { "gc_manifests",
		"SELECT reviewed, deleted, bytes FROM "
		"berth_gc_manifests($1::double precision, $2::int)" },
	[Q_GC_LINKS] = { "gc_links",
		"SELECT reviewed, deleted, bytes FROM "
		"berth_gc_links($1::double precision, $2::int)" },
	[Q_GC_BLOBS] = { "gc_blobs",
		"SELECT reviewed, deleted, bytes FROM berth_gc_blobs($1::int)" },
	[Q_GC_DELETIONS_CLAIM] = { "gc_deletions_claim",
		"SELECT digest, size FROM gc_blob_deletions "
		"ORDER BY queued_at LIMIT $1 FOR UPDATE SKIP LOCKED" },
	[Q_GC_DELETIONS_DONE] = { "gc_deletions_done",
		"DELETE FROM gc_blob_deletions WHERE digest = ANY($1::text[])" },
	[Q_GC_NODE_RECORD] = { "gc_node_record",
		"INSERT INTO gc_nodes AS n (node, grace_seconds, reviewed, "
		"manifests_deleted, links_deleted, blobs_deleted, bytes_freed) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (node) "
		"DO UPDATE SET grace_seconds = EXCLUDED.grace_seconds, "
		"last_pass_at = now(), "
		"reviewed = n.reviewed + EXCLUDED.reviewed, "
		"manifests_deleted = n.manifests_deleted + "
		"EXCLUDED.manifests_deleted, "
		"links_deleted = n.links_deleted + EXCLUDED.links_deleted, "
		"blobs_deleted = n.blobs_deleted + EXCLUDED.blobs_deleted, "
		"bytes_freed = n.bytes_freed + EXCLUDED.bytes_freed" },
	[Q_GC_STATUS] = { "gc_status",
		"SELECT berth_gc_status($1, $2)::text" },
	[Q_GC_REPORT] = { "gc_report",
		"SELECT berth_gc_report($1)::text" },
	/* One node sweeps storage at a time: a session lock, held over the
	 * walk (the key is "berth.gc.sweep" hashed). */
	[Q_GC_SWEEP_LOCK] = { "gc_sweep_lock",
		"SELECT pg_try_advisory_lock(hashtext('berth.gc.sweep'))" },
	[Q_GC_SWEEP_UNLOCK] = { "gc_sweep_unlock",
		"SELECT pg_advisory_unlock(hashtext('berth.gc.sweep'))" },
	/* An upload in object storage, written by one request at a time
	 * (uploadlock.c): a session lock in the two-key space, uploads'
	 * class and the id hashed. */
	[Q_UPLOAD_LOCK] = { "upload_lock",
		"SELECT pg_try_advisory_lock(1433423940, hashtext($1))" },
	[Q_UPLOAD_UNLOCK] = { "upload_unlock",
		"SELECT pg_advisory_unlock(1433423940, hashtext($1))" },
	[Q_GC_SWEEP_MISSING] = { "gc_sweep_missing",
		"SELECT d FROM unnest($1::text[]) AS d WHERE NOT EXISTS "
		"(SELECT 1 FROM blobs b WHERE b.digest = d)" },
	[Q_GC_ORPHAN] = { "gc_orphan",
		"SELECT berth_gc_orphan($1, $2::bigint)" },
	/* Namespace $1's limit and usage, its usage row locked until the
	 * PUT commits; no row, and no lock, without a limit. The triggers of
	 * schema/0010_quota.sql lock the same row, so usage is final. */
	[Q_QUOTA_LOCK] = { "quota_lock",
		"SELECT l.limit_bytes, u.bytes FROM quota_limits l "
		"JOIN quota_usage u ON u.namespace = l.namespace "
		"WHERE l.namespace = $1 FOR UPDATE OF u" },
	/* What a PUT adds to namespace $1: the blobs $2 it does not count
	 * yet, and the manifest ($4, $5 bytes) unless repository $3 has it. */
	[Q_QUOTA_NEEDED] = { "quota_needed",
		"SELECT (coalesce((SELECT sum(b.size) FROM blobs b "
		"WHERE b.digest = ANY($2::text[]) AND NOT EXISTS "
		"(SELECT 1 FROM quota_blob_refs r WHERE r.namespace = $1 "
		"AND r.digest = b.digest)), 0) + CASE WHEN EXISTS "
		"(SELECT 1 FROM manifests m WHERE m.repository_id = $3 "
		"AND m.digest = $4) THEN 0 ELSE $5::bigint END)::bigint" },
	/* Tag immutability (registryd/immutable.c): a repository's rules
	 * are its own and its namespace's, repository rules named first. */
	[Q_IMMUTABLE_RULE] = { "immutable_rule",
		"SELECT $2::text, pattern FROM immutable_rules "
		"WHERE namespace = split_part($1, '/', 1) "
		"AND (repository IS NULL OR repository = $1) "
		"AND $2 LIKE like_pattern "
		"ORDER BY repository IS NULL, pattern LIMIT 1" },
	/* A tag about to be deleted, locked, when a rule covers it. */
	[Q_IMMUTABLE_TAG] = { "immutable_tag",
		"SELECT t.name, r.pattern FROM tags t JOIN immutable_rules r "
		"ON r.namespace = split_part($1, '/', 1) "
		"AND (r.repository IS NULL OR r.repository = $1) "
		"AND t.name LIKE r.like_pattern "
		"WHERE t.repository_id = " REPO " AND t.name = $2 "
		"ORDER BY r.repository IS NULL, r.pattern LIMIT 1 "
		"FOR UPDATE OF t" },
	/* An immutable tag pointing at manifest $2; after Q_MANIFEST_LOCK,
	 * so that no tag can come to point at it before the delete. */
	[Q_IMMUTABLE_DIGEST] = { "immutable_digest",
		"SELECT t.name, r.pattern FROM immutable_rules r JOIN tags t "
		"ON t.repository_id = " REPO " AND t.digest = $2 "
		"AND t.name LIKE r.like_pattern "
		"WHERE r.namespace = split_part($1, '/', 1) "
		"AND (r.repository IS NULL OR r.repository = $1) "
		"ORDER BY t.name, r.repository IS NULL, r.pattern LIMIT 1" },
	/* A tag's insert or move takes a key share lock on its manifest:
	 * this waits for those in flight and holds off new ones. */
	[Q_MANIFEST_LOCK] = { "manifest_lock",
		"SELECT 1 FROM manifests WHERE repository_id = " REPO
		" AND digest = $2 FOR UPDATE" },
	/* Scheduled retention (registryd/retention.c): one due policy,
	 * locked for the run; another node's is skipped, not waited for. */
	[Q_RETENTION_CLAIM] = { "retention_claim",
		"SELECT id FROM retention_policies WHERE enabled "
		"AND next_run_at <= now() ORDER BY next_run_at LIMIT 1 "
		"FOR UPDATE SKIP LOCKED" },
	/* At most 10000 tags a run; next run $2 seconds on. */
	[Q_RETENTION_RUN] = { "retention_run",
		"SELECT berth_retention_run($1::bigint, 10000, 'retention', "
		"'', $2::double precision)::text" },
};

/* Q_REPO_ID, Q_REPO_ENSURE: SELECT id */
int64_t
repo_row_id(const PGresult *res, int i)
{
	return db_int64(res, i, 0);
}

/* Q_BLOB_IN_REPO, Q_BLOB_ANY_REPO, Q_BLOB_READABLE: SELECT b.size */
void
blob_row_read(const PGresult *res, int i, struct blob_row *b)
{
	b->size = (uint64_t)db_int64(res, i, 0);
}

/* Q_UPLOAD_INSERT: SELECT n.repo, n.mine, (SELECT count(*) FROM ins) */
void
upload_insert_row_read(const PGresult *res, int i,
		       struct upload_insert_row *u)
{
	u->repo = db_int64(res, i, 0);
	u->mine = db_int64(res, i, 1);
	u->inserted = db_int64(res, i, 2) == 1;
}

/* Q_UPLOAD_GET: SELECT size, hash_state, storage_state */
void
upload_row_read(const PGresult *res, int i, struct upload_row *u)
{
	u->size = (uint64_t)db_int64(res, i, 0);
	u->hash_state = db_text(res, i, 1);
	u->storage_state = db_text(res, i, 2);
}

/* Q_UPLOAD_PURGE: SELECT id */
const char *
upload_purge_row_id(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

/* Q_MANIFEST_[HEAD_]BY_*: SELECT digest, media_type, content | size */
void
manifest_row_read(const PGresult *res, int i, bool head,
		  struct manifest_row *m)
{
	m->digest = db_text(res, i, 0);
	m->media_type = db_text(res, i, 1);
	if (head) {
		m->content = NULL;
		m->size = (uint64_t)db_int64(res, i, 2);
	} else {
		m->content = PQgetvalue(res, i, 2);
		m->size = (uint64_t)PQgetlength(res, i, 2);
	}
}

/* Q_MANIFEST_MISSING_*: SELECT d */
const char *
missing_row_digest(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

/* Q_MANIFEST_DELETE: RETURNING digest */
const char *
manifest_deleted_row_digest(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

/* Q_TAG_DELETE: RETURNING name, digest */
void
tag_row_read(const PGresult *res, int i, struct tag_row *t)
{
	t->name = db_text(res, i, 0);
	t->digest = db_text(res, i, 1);
}

/* Q_TAG_OLD: SELECT digest */
const char *
tag_old_row_digest(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

/* Q_TAGS_LIST, Q_CATALOG: SELECT name; Q_CATALOG_FOR: berth_catalog() */
const char *
page_row_name(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

/* Q_REFERRERS[_FILTERED]: SELECT digest, media_type, size,
 * artifact_type, annotations */
void
referrer_row_read(const PGresult *res, int i, struct referrer_row *d)
{
	d->digest = db_text(res, i, 0);
	d->media_type = db_text(res, i, 1);
	d->size = db_int64(res, i, 2);
	d->artifact_type = db_text(res, i, 3);
	d->annotations = db_text(res, i, 4);
}

/* Q_GC_MANIFESTS, Q_GC_LINKS, Q_GC_BLOBS: SELECT reviewed, deleted,
 * bytes */
void
gc_step_row_read(const PGresult *res, int i, struct gc_step_row *g)
{
	g->reviewed = db_int64(res, i, 0);
	g->deleted = db_int64(res, i, 1);
	g->bytes = db_int64(res, i, 2);
}

/* Q_GC_DELETIONS_CLAIM: SELECT digest, size */
void
gc_deletion_row_read(const PGresult *res, int i, struct gc_deletion_row *d)
{
	d->digest = db_text(res, i, 0);
	d->size = db_int64(res, i, 1);
}

/* Q_GC_SWEEP_LOCK, Q_UPLOAD_LOCK, Q_GC_ORPHAN: SELECT boolean */
bool
gc_bool_row(const PGresult *res, int i)
{
	return db_bool(res, i, 0);
}

/* Q_GC_STATUS, Q_GC_REPORT: SELECT berth_gc_...()::text */
const char *
gc_json_row(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

/* Q_IMMUTABLE_RULE, _TAG, _DIGEST: SELECT tag, pattern */
void
immutable_row_read(const PGresult *res, int i, struct immutable_row *m)
{
	m->tag = db_text(res, i, 0);
	m->pattern = db_text(res, i, 1);
}

/* Q_RETENTION_CLAIM: SELECT id */
const char *
retention_claim_row_id(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

char *
sql_array(struct arena *a, char *const *items, size_t n)
{
	size_t len = 3;
	char *s, *w;

	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + 1;
	w = s = arena_alloc(a, len);
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(items[i]);

		if (i)
			*w++ = ',';
		memcpy(w, items[i], l);
		w += l;
	}
	*w++ = '}';
	*w = '\0';
	return s;
}

/* Q_QUOTA_LOCK: SELECT l.limit_bytes, u.bytes */
void
quota_row_read(const PGresult *res, int i, struct quota_row *q)
{
	q->limit = db_int64(res, i, 0);
	q->usage = db_int64(res, i, 1);
}

/* Q_QUOTA_NEEDED: SELECT bytes */
int64_t
quota_needed_row(const PGresult *res, int i)
{
	return db_int64(res, i, 0);
}

/* Q_RETENTION_RUN: SELECT berth_retention_run(...) */
const char *
retention_run_row_result(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}
