/*
 * Manifests: GET/HEAD by tag or digest, PUT with validation against what
 * the repository holds, DELETE by digest (the manifest and its tags) or by
 * tag (the tag only), and the referrers index built from subjects. A PUT
 * and a DELETE are each one db_tx transaction, committed before the answer.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "auditlog.h"
#include "authz.h"
#include "digest.h"
#include "immutable.h"
#include "manifest.h"
#include "manifest_parse.h"
#include "quota.h"
#include "registryd.h"
#include "repo.h"
#include "route.h"
#include "sql.h"

/* Whether the foreign_allow and foreign_deny prefixes let a foreign layer
 * be fetched from url (the blob then need not be in the repository). */
static bool
foreign_url_allowed(const char *url)
{
	bool allowed = false;

	if (strncmp(url, "https://", 8) != 0)
		return false;	/* plain http never: bytes unverified in transit */
	for (int i = 0; i < reg.n_foreign_allow; i++)
		if (!strncmp(url, reg.foreign_allow[i],
			     strlen(reg.foreign_allow[i])))
			allowed = true;
	for (int i = 0; i < reg.n_foreign_deny; i++)
		if (!strncmp(url, reg.foreign_deny[i],
			     strlen(reg.foreign_deny[i])))
			allowed = false;
	return allowed;
}

static bool
is_digest_ref(const char *ref)
{
	return strchr(ref, ':') != NULL;
}

static bool
ref_valid(const char *ref)
{
	return is_digest_ref(ref) ? reg_digest_valid(ref) : reg_tag_valid(ref);
}

/* Validates a tag-or-digest reference; answers and returns false if bad. */
static bool
check_ref(struct http_req *r, const char *ref)
{
	if (ref_valid(ref))
		return true;
	reg_error_respond(r, is_digest_ref(ref) ? E_DIGEST_INVALID
						: E_TAG_INVALID,
			  ref);
	return false;
}

static void
manifest_headers(struct MHD_Response *resp, const char *digest,
		 const char *media_type)
{
	char etag[DIGEST_MAX + 2];

	snprintf(etag, sizeof(etag), "\"%s\"", digest);
	http_resp_header(resp, "Content-Type", media_type);
	http_resp_header(resp, "Docker-Content-Digest", digest);
	http_resp_header(resp, "ETag", etag);
}

int
manifest_get(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *p[2] = { q->name, q->ref };
	bool by_digest = is_digest_ref(q->ref);
	struct MHD_Response *resp;
	struct manifest_row m;
	enum reg_error e;
	struct db *db;
	PGresult *res;
	int stmt;

	if ((e = authz_check(r, q->name, AUTHZ_PULL)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	/*
	 * A reference that is neither a tag nor a digest names no manifest:
	 * 404, like an absent tag (end-3 lists only 404, and the OCI
	 * conformance suite asks for it). PUT and DELETE answer 400.
	 */
	if (!ref_valid(q->ref))
		return reg_error_respond(r, E_MANIFEST_UNKNOWN,
					 "neither a valid tag nor a digest");
	if (r->is_head)
		stmt = by_digest ? Q_MANIFEST_HEAD_BY_DIGEST
				 : Q_MANIFEST_HEAD_BY_TAG;
	else
		stmt = by_digest ? Q_MANIFEST_BY_DIGEST : Q_MANIFEST_BY_TAG;
	/* Binary results: the content column arrives as raw bytes. */
	if ((db = reg_db(r)) == NULL ||
	    (res = db_query_bin(db, &r->arena, stmt, 2, p, NULL, NULL,
				 r->is_head ? 0 : 1)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	if (PQntuples(res) != 1)
		return reg_error_respond(r, E_MANIFEST_UNKNOWN, q->ref);
	manifest_row_read(res, 0, r->is_head, &m);
	if (r->is_head) {
		resp = http_resp_head(m.size);
	} else {
		resp = http_resp_copy(m.content, (size_t)m.size);
		r->bytes_out = m.size;
	}
	manifest_headers(resp, m.digest, m.media_type);
	if (reg.audit_pulls && !r->is_head)
		auditlog_add(r, "registry.pull", q->ref, m.digest, NULL);
	return reg_respond(r, 200, resp);
}

int
manifest_put_begin(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *cl = http_header(r, "Content-Length");
	enum reg_error e;
	uint64_t len;

	if (!check_ref(r, q->ref))
		return 0;
	if ((e = authz_check(r, q->name, AUTHZ_PULL | AUTHZ_PUSH)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if (cl != NULL && util_parse_u64(cl, &len) == 0 && len > MANIFEST_MAX)
		return reg_error_respond(r, E_MANIFEST_TOO_LARGE, NULL);
	q->body.max = MANIFEST_MAX;
	return 0;
}

struct refs {
	char **blobs;
	size_t n_blobs;
	char **children;
	size_t n_children;
	const char *refused;	/* a foreign layer whose URL was refused */
	const char *refused_why;
};

/* Collects what the manifest needs in the repository; foreign layers whose
 * URLs the policy allows need no blob. */
static void
collect_refs(struct http_req *r, const struct manifest_info *mi,
	     struct refs *refs)
{
	size_t n = mi->n_layers + 1;

	refs->blobs = arena_alloc(&r->arena, n * sizeof(char *));
	refs->children = arena_alloc(&r->arena,
				     (mi->n_manifests + 1) * sizeof(char *));
	if (mi->kind == MF_KIND_IMAGE)
		refs->blobs[refs->n_blobs++] = mi->config.digest;
	for (size_t i = 0; i < mi->n_layers; i++) {
		const struct mf_descriptor *d = &mi->layers[i];
		bool foreign_ok = d->n_urls > 0;

		for (size_t j = 0; j < d->n_urls; j++)
			if (!foreign_url_allowed(d->urls[j])) {
				foreign_ok = false;
				refs->refused = d->digest;
				refs->refused_why = arena_printf(
					&r->arena,
					"layer %s: foreign URL \"%s\" is not "
					"allowed and the blob is not in the "
					"repository",
					d->digest, d->urls[j]);
			}
		if (!foreign_ok)
			refs->blobs[refs->n_blobs++] = d->digest;
	}
	for (size_t i = 0; i < mi->n_manifests; i++)
		refs->children[refs->n_children++] = mi->manifests[i].digest;
}

/* Checks that every reference exists; sets *missing to the first absent. */
static int
find_missing(struct http_req *r, struct db *db, const char *repo,
	     const struct refs *refs, const char **missing)
{
	const char *p[2] = { repo, NULL };
	PGresult *res;

	*missing = NULL;
	for (int pass = 0; pass < 2 && *missing == NULL; pass++) {
		char **list = pass ? refs->children : refs->blobs;
		size_t n = pass ? refs->n_children : refs->n_blobs;

		if (n == 0)
			continue;
		p[1] = sql_array(&r->arena, list, n);
		res = db_query(db, &r->arena,
			       pass ? Q_MANIFEST_MISSING_CHILDREN
				    : Q_MANIFEST_MISSING_BLOBS,
			       2, p);
		if (res == NULL)
			return -1;
		if (PQntuples(res) > 0)
			*missing = missing_row_digest(res, 0);
	}
	return 0;
}

static int
insert_refs(struct http_req *r, struct db *db, const char *repo,
	    const char *digest, const struct refs *refs)
{
	const char *p[4] = { repo, digest, NULL, NULL };

	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass ? refs->n_children : refs->n_blobs;

		if (n == 0)
			continue;
		p[2] = sql_array(&r->arena,
				 pass ? refs->children : refs->blobs, n);
		p[3] = pass ? "t" : "f";
		if (db_query(db, &r->arena, Q_MANIFEST_REFS_INSERT, 4, p) ==
		    NULL)
			return -1;
	}
	return 0;
}

/* What a manifest PUT stores, and what its transaction found. */
struct put_tx {
	struct http_req *r;
	const struct manifest_info *mi;
	const char *digest;
	const struct refs *refs;
	enum reg_error err;	/* why it rolled back: E_UNAVAILABLE, or */
	const char *detail;	/* E_MANIFEST_BLOB_UNKNOWN or
				 * E_TAG_IMMUTABLE with this */
	const char *old;	/* the digest the tag pointed to, or NULL */
};

static int
insert_manifest(struct put_tx *tx, struct db *db, const char *repo)
{
	struct reg_req *q = tx->r->app;
	const struct manifest_info *mi = tx->mi;
	const char *p[8];
	int lengths[8] = { 0 }, formats[8] = { 0 };
	char size[24];

	snprintf(size, sizeof(size), "%zu", q->body.len);
	p[0] = repo;
	p[1] = tx->digest;
	p[2] = mi->media_type;
	p[3] = mi->artifact_type;
	p[4] = mi->subject ? mi->subject->digest : NULL;
	p[5] = mi->annotations;
	p[6] = size;
	p[7] = q->body.data;
	lengths[7] = (int)q->body.len;
	formats[7] = 1;
	return db_query_bin(db, &tx->r->arena, Q_MANIFEST_INSERT, 8, p,
			     lengths, formats, 0) == NULL ? -1 : 0;
}

/*
 * Renews the grace of what the manifest will reference, and of itself,
 * before find_missing looks: this takes each review's lock, so a
 * collector working on one is waited out (then find_missing sees what it
 * left), and one yet to come finds the review not due. Manifest reviews
 * first, then links, the order every PUT takes them in.
 */
static int
postpone_reviews(struct put_tx *tx, struct db *db, const char *repo)
{
	const struct refs *refs = tx->refs;
	struct arena *a = &tx->r->arena;
	char **own = arena_alloc(a, (refs->n_children + 1) * sizeof(char *));
	const char *p[2] = { repo, NULL };

	own[0] = (char *)tx->digest;
	memcpy(own + 1, refs->children, refs->n_children * sizeof(char *));
	p[1] = sql_array(a, own, refs->n_children + 1);
	if (db_query(db, a, Q_GC_POSTPONE_MANIFESTS, 2, p) == NULL)
		return -1;
	if (refs->n_blobs == 0)
		return 0;
	p[1] = sql_array(a, refs->blobs, refs->n_blobs);
	return db_query(db, a, Q_GC_POSTPONE_LINKS, 2, p) == NULL ? -1 : 0;
}

/* Points the tag of a tag PUT at the manifest, noting the old digest. */
static int
move_tag(struct put_tx *tx, struct db *db, const char *repo)
{
	struct reg_req *q = tx->r->app;
	const char *p[3] = { repo, q->ref, tx->digest };
	PGresult *res;

	/* The previous digest only matters to the audit log. */
	if (auditlog_enabled()) {
		if ((res = db_query(db, &tx->r->arena, Q_TAG_OLD, 2, p)) ==
		    NULL)
			return -1;
		if (PQntuples(res) == 1)
			tx->old = tag_old_row_digest(res, 0);
	}
	if ((res = db_query(db, &tx->r->arena, Q_TAG_PUT, 3, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {	/* an immutable tag, elsewhere */
		tx->detail = immutable_refusal(db, &tx->r->arena, q->name,
					       q->ref);
		tx->err = tx->detail ? E_TAG_IMMUTABLE : E_UNAVAILABLE;
		return -1;
	}
	return 0;
}

/* The transaction of a manifest PUT (db_tx); tx->old is set once it
 * committed. */
static int
put_tx(struct db *db, void *arg)
{
	struct put_tx *tx = arg;
	struct reg_req *q = tx->r->app;
	const char *missing;
	struct quota_push qp;
	char repo[24];
	int64_t repo_id;

	/* A run again after a deadlock starts from nothing. */
	tx->err = E_UNAVAILABLE;
	tx->detail = tx->old = NULL;
	if ((repo_id = repo_ensure(db, &tx->r->arena, q->name)) < 0)
		return -1;
	snprintf(repo, sizeof(repo), "%" PRId64, repo_id);
	if (postpone_reviews(tx, db, repo) < 0 ||
	    find_missing(tx->r, db, repo, tx->refs, &missing) < 0)
		return -1;
	if (missing != NULL) {
		tx->err = E_MANIFEST_BLOB_UNKNOWN;
		tx->detail = tx->refs->refused &&
					     !strcmp(missing, tx->refs->refused)
				     ? tx->refs->refused_why
				     : missing;
		return -1;
	}
	qp = (struct quota_push){ q->name, repo, tx->digest, q->body.len,
				  tx->refs->blobs, tx->refs->n_blobs };
	if (quota_check(db, &tx->r->arena, &qp, &tx->err, &tx->detail) < 0)
		return -1;
	if (insert_manifest(tx, db, repo) < 0 ||
	    insert_refs(tx->r, db, repo, tx->digest, tx->refs) < 0)
		return -1;
	if (!is_digest_ref(q->ref) && move_tag(tx, db, repo) < 0)
		return -1;
	return 0;
}

/* The 201 of a stored manifest. */
static int
put_created(struct http_req *r, const struct manifest_info *mi,
	    const char *digest)
{
	struct reg_req *q = r->app;
	struct MHD_Response *resp = http_resp_copy("", 0);

	http_resp_header(resp, "Location",
			 arena_printf(&r->arena, "/v2/%s/manifests/%s",
				      q->name, digest));
	http_resp_header(resp, "Docker-Content-Digest", digest);
	if (mi->subject != NULL)
		http_resp_header(resp, "OCI-Subject", mi->subject->digest);
	return reg_respond(r, 201, resp);
}

int
manifest_put_end(struct http_req *r)
{
	struct reg_req *q = r->app;
	struct manifest_info mi = { 0 };
	struct refs refs = { 0 };
	struct put_tx tx;
	char detail[256], digest[DIGEST_MAX];
	const char *why = NULL;
	enum digest_alg alg = DIGEST_SHA256;
	enum reg_error e;
	struct db *db;
	int ret;

	e = manifest_parse(q->body.data ? q->body.data : "", q->body.len,
			   http_header(r, "Content-Type"), &mi, detail,
			   sizeof(detail));
	if (e != E_NONE)
		return reg_error_respond(r, e, detail);
	if (is_digest_ref(q->ref) && digest_parse(q->ref, &alg) != DIGEST_OK)
		BUG("reference validated at begin");
	digest_buffer(alg, q->body.data ? q->body.data : "", q->body.len,
		      digest);
	if (is_digest_ref(q->ref) && strcmp(digest, q->ref) != 0) {
		e = E_DIGEST_INVALID;
		why = arena_printf(&r->arena, "content has digest %s", digest);
		goto out;
	}
	collect_refs(r, &mi, &refs);
	if ((db = reg_db(r)) == NULL) {
		e = E_UNAVAILABLE;
		goto out;
	}
	tx = (struct put_tx){ r, &mi, digest, &refs, E_UNAVAILABLE, NULL,
			      NULL };
	if (db_tx_rerun(db, put_tx, &tx) < 0) {
		e = tx.err;
		why = tx.detail;
		goto out;
	}
	auditlog_add(r, "registry.push", q->ref, digest, NULL);
	if (tx.old != NULL && strcmp(tx.old, digest) != 0)
		auditlog_add(r, "registry.tag.move", q->ref, digest, tx.old);
	ret = put_created(r, &mi, digest);
	manifest_info_release(&mi);
	return ret;
out:
	ret = e == E_TAG_IMMUTABLE ? immutable_respond(r, why)
				   : reg_error_respond(r, e, why);
	manifest_info_release(&mi);
	return ret;
}

struct delete_tx {
	struct http_req *r;
	bool by_digest;
	enum reg_error err;	/* why it rolled back */
	const char *digest;	/* what was deleted */
	const char *why;	/* E_TAG_IMMUTABLE: the refusal */
};

/* Deletes the manifest (by digest) or the tag, in one transaction. */
static int
delete_tx(struct db *db, void *arg)
{
	struct delete_tx *tx = arg;
	struct reg_req *q = tx->r->app;
	const char *p[2] = { q->name, q->ref };
	struct tag_row t;
	enum reg_error e;
	PGresult *res;

	if ((e = immutable_delete_check(db, &tx->r->arena, q->name, q->ref,
					tx->by_digest, &tx->why)) != E_NONE) {
		tx->err = e;
		return -1;
	}
	/* The manifest's blobs lose a reference: queue them for review. */
	if (tx->by_digest && db_query(db, &tx->r->arena,
				      Q_GC_QUEUE_MANIFEST_BLOBS, 2, p) == NULL)
		return -1;
	res = db_query(db, &tx->r->arena,
		       tx->by_digest ? Q_MANIFEST_DELETE : Q_TAG_DELETE, 2, p);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		tx->err = E_MANIFEST_UNKNOWN;
		return -1;
	}
	if (tx->by_digest) {
		tx->digest = manifest_deleted_row_digest(res, 0);
	} else {
		tag_row_read(res, 0, &t);
		tx->digest = t.digest;
	}
	return 0;
}

int
manifest_delete(struct http_req *r)
{
	struct reg_req *q = r->app;
	struct delete_tx tx = { r, is_digest_ref(q->ref), E_UNAVAILABLE,
				NULL, NULL };
	enum reg_error e;
	struct db *db;

	if (!check_ref(r, q->ref))
		return 0;
	if ((e = authz_check(r, q->name, AUTHZ_DELETE)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL || db_tx_rerun(db, delete_tx, &tx) < 0) {
		if (tx.err == E_TAG_IMMUTABLE)
			return immutable_respond(r, tx.why);
		return reg_error_respond(r, tx.err,
					 tx.err == E_MANIFEST_UNKNOWN
						 ? q->ref
						 : "database");
	}
	auditlog_add(r, tx.by_digest ? "registry.manifest.delete"
				     : "registry.tag.delete",
		     q->ref, tx.digest, NULL);
	return reg_respond(r, 202, http_resp_copy("", 0));
}

static json_t *
referrer_descriptor(const struct referrer_row *row)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType",
			      row->media_type, "digest", row->digest, "size",
			      (json_int_t)row->size);

	if (row->artifact_type != NULL)
		json_object_set_new(d, "artifactType",
				    json_string(row->artifact_type));
	if (row->annotations != NULL) {
		json_t *a = json_loads(row->annotations, 0, NULL);
		if (a != NULL)
			json_object_set_new(d, "annotations", a);
	}
	return d;
}

int
referrers_get(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *filter = http_query(r, "artifactType");
	const char *p[3] = { q->name, q->ref, filter };
	struct referrer_row row;
	json_t *doc, *list;
	struct MHD_Response *resp;
	enum reg_error e;
	struct db *db;
	PGresult *res;
	char *text;

	if (!reg_digest_valid(q->ref))
		return reg_error_respond(r, E_DIGEST_INVALID, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_PULL)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL ||
	    (res = db_query(db, &r->arena,
			    filter ? Q_REFERRERS_FILTERED : Q_REFERRERS,
			    filter ? 3 : 2, p)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		referrer_row_read(res, i, &row);
		json_array_append_new(list, referrer_descriptor(&row));
	}
	doc = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
			MT_OCI_INDEX, "manifests", list);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	resp = http_resp_take(text, strlen(text));
	http_resp_header(resp, "Content-Type", MT_OCI_INDEX);
	if (filter != NULL)
		http_resp_header(resp, "OCI-Filters-Applied", "artifactType");
	return reg_respond(r, 200, resp);
}
