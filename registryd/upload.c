/*
 * Blob uploads: POST (session, monolithic with ?digest=, or mount), PATCH
 * (a chunk), PUT (complete), GET (status) and DELETE (cancel).
 *
 * DESIGN: the uploads row holds the size and hash state of a durable
 * prefix of uploads/<id>. A PATCH locks the file (any node may serve it),
 * truncates it to that prefix (dropping a crashed writer's torn tail),
 * writes and hashes the bytes as they arrive, fsyncs, then advances the
 * row. So the digest is never computed twice and a chunk acknowledged
 * with 202 survives a crash. A completed upload is committed to storage
 * under its digest inside the transaction that links it (holding the blob row, so that
 * the collector cannot remove the bytes meanwhile), then acknowledged
 * with 201 once that committed.
 *
 * LIMITS: a blob may not pass max_blob_size, whether Content-Length,
 * Content-Range or the bytes that actually arrive say so (413, and the
 * bytes are dropped at once). A request that fails or is cut off gives its
 * bytes back before the file is closed: a PATCH truncates the file to the
 * acknowledged size, a monolithic upload empties (then removes) its file,
 * so disk usage always matches the sessions.
 *
 * LIFETIME: the upload file is closed (cut back unless kept) and a
 * monolithic upload's file removed with the request's arena, whatever
 * path the request took; answers that release the lock earlier say so.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "authz.h"
#include "digest.h"
#include "log.h"
#include "range.h"
#include "registryd.h"
#include "regmetrics.h"
#include "repo.h"
#include "route.h"
#include "sql.h"
#include "storage.h"
#include "upload.h"

/* Body bytes read and dropped after an error before the connection is
 * closed: enough for most clients to get their answer. */
#define DISCARD_MAX (64u << 20)

struct upload_state {
	char id[37];
	bool temp;		/* monolithic POST: no row, file removed on error */
	bool final;		/* PUT or monolithic POST: completes the blob */
	const char *want;	/* ?digest= */
	struct storage_upload file;	/* locked while file.s is set */
	uint64_t base;		/* committed size when the request began */
	uint64_t written;	/* bytes of this request written so far */
	int64_t expect;		/* bytes announced by Content-Range, or -1 */
	uint64_t discarded;	/* body bytes dropped after an error */
	struct digest_ctx ctx;
	bool loaded;		/* base is known: the file may be cut to it */
	/* Never cut the file back: the row (a sent UPDATE) or a blob (a
	 * rename) may hold its bytes now. */
	bool keep;
	/* A monolithic upload's file goes with the request unless this is
	 * cancelled: renamed into place, it is the blob's now. */
	struct arena_cleanup *removing;
};

/* The answer to a failed storage call that set errno. */
static enum reg_error
storage_error(int err)
{
	return storage_full_errno(err) ? E_STORAGE_FULL : E_INTERNAL;
}

/* Whether total bytes would pass max_blob_size (0: no limit). */
static bool
too_large(uint64_t total)
{
	return reg.max_blob_size > 0 && total > reg.max_blob_size;
}

static void
new_uuid(char *out)
{
	unsigned char b[16];
	char hex[33];

	util_random(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	util_hex(hex, b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
}

static void
range_header(struct MHD_Response *resp, uint64_t size)
{
	char range[48];

	/* As Distribution does, an empty upload reads "0-0". */
	snprintf(range, sizeof(range), "0-%" PRIu64, size ? size - 1 : 0);
	http_resp_header(resp, "Range", range);
}

/* 202/204 answer describing an open session. */
static int
session_respond(struct http_req *r, unsigned status, const char *id,
		uint64_t size)
{
	struct reg_req *q = r->app;
	struct MHD_Response *resp = http_resp_copy("", 0);

	http_resp_header(resp, "Location",
			 arena_printf(&r->arena, "/v2/%s/blobs/uploads/%s",
				      q->name, id));
	http_resp_header(resp, "Docker-Upload-UUID", id);
	range_header(resp, size);
	return reg_respond(r, status, resp);
}

static int
range_invalid(struct http_req *r, uint64_t size, const char *detail)
{
	struct reg_req *q = r->app;
	struct MHD_Response *resp;
	char *body = arena_printf(
		&r->arena,
		"{\"errors\":[{\"code\":\"BLOB_UPLOAD_INVALID\",\"message\":"
		"\"requested range not satisfiable\",\"detail\":\"%s\"}]}",
		detail);

	resp = http_resp_copy(body, strlen(body));
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Location",
			 arena_printf(&r->arena, "/v2/%s/blobs/uploads/%s",
				      q->name, q->ref));
	range_header(resp, size);
	return reg_respond(r, 416, resp);
}

static int
blob_created(struct http_req *r, const char *digest)
{
	struct reg_req *q = r->app;
	struct MHD_Response *resp = http_resp_copy("", 0);

	http_resp_header(resp, "Location",
			 arena_printf(&r->arena, "/v2/%s/blobs/%s", q->name,
				      digest));
	http_resp_header(resp, "Docker-Content-Digest", digest);
	return reg_respond(r, 201, resp);
}

/*
 * A blob to link into a repository: a completed upload (u), whose bytes
 * become the blob inside the transaction, or a mount (u NULL) of a blob
 * stored already. See schema/0008_gc.sql for the collector it must not
 * race with: the link's review is renewed first, then the blob row is
 * locked (a mount needs it as it is; an upload makes it and cancels, or
 * waits out, a removal of the bytes), and only then do bytes move.
 */
struct link_tx {
	struct http_req *r;
	const char *digest;
	uint64_t size;
	struct upload_state *u;
	bool stored;		/* the upload's bytes are the blob's now */
	enum reg_error err;	/* why it failed */
};

/* Takes the blob row for the link (link_tx's second step). */
static int
link_take_blob(struct link_tx *tx, struct db *db, const char *sz)
{
	struct arena *a = &tx->r->arena;
	struct upload_state *u = tx->u;
	const char *p[2] = { tx->digest, sz };
	PGresult *res;

	if (u == NULL) {
		if ((res = db_query(db, a, Q_BLOB_LOCK, 1, p)) == NULL)
			return -1;
		if (PQntuples(res) == 0)
			tx->err = E_BLOB_UNKNOWN;	/* collected meanwhile */
		return PQntuples(res) == 0 ? -1 : 0;
	}
	if (db_query(db, a, Q_BLOB_UPSERT, 2, p) == NULL ||
	    db_query(db, a, Q_GC_DELETION_CANCEL, 1, p) == NULL)
		return -1;
	/* A failure after the bytes moved leaves them the blob's. */
	u->keep = true;
	if (storage_upload_commit(&u->file, tx->size, tx->digest) < 0) {
		tx->err = storage_error(errno);
		return -1;
	}
	tx->stored = true;
	return 0;
}

/* The transaction of link_blob (db_tx). */
static int
link_tx(struct db *db, void *arg)
{
	struct link_tx *tx = arg;
	struct reg_req *q = tx->r->app;
	struct arena *a = &tx->r->arena;
	char sz[24], idbuf[24];
	const char *p[2] = { idbuf, tx->digest };
	int64_t repo;

	if ((repo = repo_ensure(db, a, q->name)) < 0)
		return -1;
	snprintf(sz, sizeof(sz), "%" PRIu64, tx->size);
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, repo);
	if (db_query(db, a, Q_GC_TOUCH_LINK, 2, p) == NULL ||
	    link_take_blob(tx, db, sz) < 0 ||
	    db_query(db, a, Q_BLOB_LINK, 2, p) == NULL)
		return -1;
	p[0] = q->name;
	p[1] = tx->u ? tx->u->id : NULL;
	if (tx->u != NULL && !tx->u->temp &&
	    db_query(db, a, Q_UPLOAD_DELETE, 2, p) == NULL)
		return -1;
	return 0;
}

/* Links digest into q->name in one transaction: the bytes of upload u
 * (ending its session), or a stored blob when u is NULL. 0, or -1 with
 * *err (E_UNAVAILABLE: the database; E_BLOB_UNKNOWN: nothing to mount)
 * and *stored telling whether u's bytes became the blob regardless. */
static int
link_blob(struct http_req *r, struct db *db, const char *digest,
	  uint64_t size, struct upload_state *u, enum reg_error *err,
	  bool *stored)
{
	struct link_tx tx = { r, digest, size, u, false, E_UNAVAILABLE };
	int ret = db_tx(db, link_tx, &tx);

	*err = tx.err;
	if (stored != NULL)
		*stored = tx.stored;
	return ret;
}

/* POST with mount=: 201 when linked, 0 to go on with a session. */
static int
try_mount(struct http_req *r, struct db *db, const char *digest,
	  const char *from, bool *mounted)
{
	struct reg_req *q = r->app;
	const char *p[2] = { from, digest };
	enum reg_error err;
	struct blob_row b;
	PGresult *res;

	*mounted = false;
	if (from != NULL) {
		if (!reg_name_valid(from) ||
		    authz_check(r, from, AUTHZ_PULL) != E_NONE)
			return 0;
		res = db_query(db, &r->arena, Q_BLOB_IN_REPO, 2, p);
	} else if (reg.auth_realm != NULL) {
		/* Automatic mount: known in a repository the caller reads. */
		const char *pr[3] = { digest, q->subject ? q->subject : "",
				      q->tid };
		res = db_query(db, &r->arena, Q_BLOB_READABLE, 3, pr);
	} else {
		res = db_query(db, &r->arena, Q_BLOB_ANY_REPO, 1, p + 1);
	}
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return 0;
	blob_row_read(res, 0, &b);
	if (link_blob(r, db, digest, b.size, NULL, &err, NULL) < 0)
		return err == E_BLOB_UNKNOWN ? 0 : -1;
	*mounted = true;
	return 0;
}

/* 429 for a session over max_uploads_per_repo or _per_user. */
static int
too_many(struct http_req *r, const struct upload_insert_row *n)
{
	const char *detail;

	if (reg.max_uploads_per_repo > 0 &&
	    n->repo >= reg.max_uploads_per_repo)
		detail = arena_printf(&r->arena,
				      "repository has %lld open upload "
				      "sessions, the most max_uploads_per_repo "
				      "allows", n->repo);
	else
		detail = arena_printf(&r->arena,
				      "user has %lld open upload sessions, the "
				      "most max_uploads_per_user allows",
				      reg.max_uploads_per_user);
	return reg_error_respond(r, E_TOOMANYREQUESTS, detail);
}

static void
remove_upload(void *id)
{
	storage_upload_remove(reg.storage, id);
}

/* Removes upload file id when the request's arena goes, unless the
 * handle is cancelled (a session row or a blob owns the file then). */
static struct arena_cleanup *
defer_remove(struct http_req *r, const char *id)
{
	return arena_defer(&r->arena, remove_upload,
			   arena_strdup(&r->arena, id));
}

static int
start_session(struct http_req *r, struct db *db)
{
	struct reg_req *q = r->app;
	char id[37], repo[24], per_repo[24], per_user[24];
	const char *p[5] = { id, repo, q->subject ? q->subject : "",
			     per_repo, per_user };
	struct upload_insert_row n;
	PGresult *res;
	int64_t repo_id;

	new_uuid(id);
	if ((repo_id = repo_ensure(db, &r->arena, q->name)) < 0)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	snprintf(repo, sizeof(repo), "%" PRId64, repo_id);
	snprintf(per_repo, sizeof(per_repo), "%lld", reg.max_uploads_per_repo);
	snprintf(per_user, sizeof(per_user), "%lld", reg.max_uploads_per_user);
	/*
	 * The file first, so that a row always has its file. A refused one
	 * goes before the answer (not with the arena, after it): a client
	 * told 429 finds no file left.
	 */
	if (storage_upload_create(reg.storage, id) < 0)
		return reg_error_respond(r, storage_error(errno), "storage");
	if ((res = db_query(db, &r->arena, Q_UPLOAD_INSERT, 5, p)) == NULL) {
		storage_upload_remove(reg.storage, id);
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	}
	upload_insert_row_read(res, 0, &n);
	if (!n.inserted) {
		storage_upload_remove(reg.storage, id);
		return too_many(r, &n);
	}
	return session_respond(r, 202, id, 0);
}

/*
 * Closes the upload file, releasing its lock. Every answer to a PATCH or
 * PUT is queued after this: a client may send its next request on another
 * connection as soon as it reads the answer, before our completion runs.
 */
static void
release(struct upload_state *u)
{
	if (u->file.s == NULL)
		return;
	/* Gives back what a failed or cut off request wrote. */
	if (u->loaded && !u->keep &&
	    storage_upload_truncate(&u->file, u->base) < 0)
		log_warn("could not truncate upload %s", u->id);
	storage_upload_close(&u->file);
}

static void
release_cb(void *u)
{
	release(u);
}

/* The upload file goes with the request: cut back (unless kept) and
 * closed, if nothing released it before. */
static void
defer_release(struct http_req *r, struct upload_state *u)
{
	arena_defer(&r->arena, release_cb, u);
}

static struct upload_state *
state_new(struct http_req *r)
{
	struct upload_state *u = arena_alloc(&r->arena, sizeof(*u));

	u->expect = -1;
	return u;
}

static int
begin_monolithic(struct http_req *r, const char *digest)
{
	struct reg_req *q = r->app;
	struct upload_state *u = state_new(r);
	enum digest_alg alg;
	const char *cl = http_header(r, "Content-Length");
	uint64_t len;
	int err;

	if (digest_parse(digest, &alg) != DIGEST_OK)
		return reg_error_respond(r, E_DIGEST_INVALID, digest);
	if (cl != NULL && util_parse_u64(cl, &len) < 0)
		return reg_error_respond(r, E_SIZE_INVALID, cl);
	if (cl != NULL && too_large(len))
		return reg_error_respond(r, E_BLOB_TOO_LARGE,
					 "Content-Length over max_blob_size");
	new_uuid(u->id);
	if (storage_upload_create(reg.storage, u->id) < 0 ||
	    storage_upload_open(reg.storage, u->id, &u->file) < 0) {
		err = errno;
		storage_upload_remove(reg.storage, u->id);
		return reg_error_respond(r, storage_error(err), "storage");
	}
	/* Removed with the request unless it became the blob (commit). */
	u->removing = defer_remove(r, u->id);
	defer_release(r, u);
	u->temp = u->final = u->loaded = true;
	u->want = digest;
	digest_init(&u->ctx, alg);
	q->up = u;
	return 0;
}

static int
begin_post(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *mount = http_query(r, "mount");
	const char *digest = http_query(r, "digest");
	struct db *db;
	bool mounted;

	if (digest != NULL)
		return begin_monolithic(r, digest);
	if ((db = reg_db(r)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	if (mount != NULL) {
		if (!reg_digest_valid(mount))
			return reg_error_respond(r, E_DIGEST_INVALID, mount);
		if (try_mount(r, db, mount, http_query(r, "from"), &mounted) < 0)
			return reg_error_respond(r, E_UNAVAILABLE, "database");
		if (mounted)
			return blob_created(r, mount);
	}
	(void)q;
	return start_session(r, db);
}

static int
end_error(struct http_req *r, enum reg_error e, const char *detail)
{
	struct reg_req *q = r->app;

	release(q->up);
	if (e == E_RANGE_INVALID)
		return range_invalid(r, q->up->base, detail);
	return reg_error_respond(r, e, detail);
}

/*
 * A refusal decided from the headers of a PATCH or PUT whose body is on
 * its way. Answered at once, the close that follows the answer would find
 * unread body bytes and reset the connection, and a client still sending
 * sees the reset instead of the answer; so a body up to DISCARD_MAX is read
 * and dropped first (upload_body) and the answer goes at its end.
 */
static int
refuse_before_body(struct http_req *r, enum reg_error e, const char *detail)
{
	struct reg_req *q = r->app;
	const char *cl = http_header(r, "Content-Length");
	const char *te = http_header(r, "Transfer-Encoding");
	uint64_t len = 0;
	bool body = te != NULL ||
		    (cl != NULL && util_parse_u64(cl, &len) == 0 && len > 0);

	if (!body || len > DISCARD_MAX)
		return end_error(r, e, detail);
	release(q->up);
	q->err = e;
	q->err_detail = detail;
	return 0;
}

/* Rehashes the committed prefix when the stored state is unusable. */
static int
rehash(struct upload_state *u, enum digest_alg alg, uint64_t size)
{
	unsigned char *b = xmalloc(1 << 20);
	uint64_t off = 0;
	int ret = -1;

	digest_init(&u->ctx, alg);
	while (off < size) {
		size_t want = size - off < (1 << 20) ? size - off : (1 << 20);
		ssize_t n = storage_upload_read(&u->file, b, want, off);
		if (n <= 0)
			goto out;
		digest_update(&u->ctx, b, (size_t)n);
		off += (uint64_t)n;
	}
	ret = 0;
out:
	free(b);
	return ret;
}

/* Loads the committed size and hash state; the file is locked. */
static enum reg_error
load_session(struct http_req *r, struct upload_state *u)
{
	struct reg_req *q = r->app;
	const char *p[2] = { q->name, u->id };
	unsigned char *state = NULL;
	size_t state_len = 0;
	struct upload_row row;
	struct db *db;
	PGresult *res;
	enum reg_error e = E_NONE;

	if ((db = reg_db(r)) == NULL ||
	    (res = db_query(db, &r->arena, Q_UPLOAD_GET, 2, p)) == NULL)
		return E_UNAVAILABLE;
	if (PQntuples(res) != 1)
		return E_BLOB_UPLOAD_UNKNOWN;
	upload_row_read(res, 0, &row);
	u->base = row.size;
	if (row.hash_state != NULL)
		state = PQunescapeBytea((const unsigned char *)row.hash_state,
					&state_len);
	if (state == NULL && u->base == 0)
		digest_init(&u->ctx, DIGEST_SHA256);
	else if (state == NULL ||
		 digest_import(&u->ctx, state, state_len) < 0) {
		log_info("upload %s: stored hash state unusable, rehashing",
			 u->id);
		if (rehash(u, DIGEST_SHA256, u->base) < 0)
			e = E_INTERNAL;
	}
	PQfreemem(state);
	if (e == E_NONE &&
	    storage_upload_resume(&u->file, u->base, row.storage_state) < 0)
		e = E_INTERNAL;
	u->loaded = e == E_NONE;
	return e;
}

static int
begin_chunk(struct http_req *r, bool final)
{
	struct reg_req *q = r->app;
	struct upload_state *u;
	const char *cr = http_header(r, "Content-Range");
	const char *cl = http_header(r, "Content-Length");
	const char *digest = http_query(r, "digest");
	uint64_t start, end, len;
	enum reg_error e;

	if (!reg_uuid_valid(q->ref))
		return reg_error_respond(r, E_BLOB_UPLOAD_UNKNOWN, q->ref);
	if (final && (digest == NULL || !reg_digest_valid(digest)))
		return reg_error_respond(r, E_DIGEST_INVALID,
					 digest ? digest : "missing digest");
	u = state_new(r);
	util_strlcpy(u->id, q->ref, sizeof(u->id));
	u->final = final;
	u->want = digest;
	if (storage_upload_open(reg.storage, u->id, &u->file) < 0) {
		if (errno == EAGAIN)
			return reg_error_respond(r, E_UPLOAD_BUSY, q->ref);
		return reg_error_respond(r, E_BLOB_UPLOAD_UNKNOWN, q->ref);
	}
	defer_release(r, u);
	q->up = u;
	if ((e = load_session(r, u)) != E_NONE)
		return end_error(r, e, q->ref);
	if (cr != NULL) {
		if (range_parse_upload(cr, &start, &end) < 0 ||
		    start != u->base)
			return end_error(r, E_RANGE_INVALID,
					 "out of order chunk");
		u->expect = (int64_t)(end - start + 1);
		if (too_large(end + 1))
			return refuse_before_body(r, E_BLOB_TOO_LARGE,
						  "Content-Range over "
						  "max_blob_size");
		if (cl != NULL && (util_parse_u64(cl, &len) < 0 ||
				   len != (uint64_t)u->expect))
			return end_error(r, E_RANGE_INVALID,
					 "Content-Range and Content-Length "
					 "disagree");
	}
	if (cl != NULL && util_parse_u64(cl, &len) < 0)
		return end_error(r, E_SIZE_INVALID, cl);
	if (cl != NULL && (len > (uint64_t)INT64_MAX - u->base ||
			   too_large(u->base + len)))
		return refuse_before_body(r, E_BLOB_TOO_LARGE,
					  "Content-Length over max_blob_size");
	return 0;
}

int
upload_begin(struct http_req *r)
{
	struct reg_req *q = r->app;
	enum reg_error e;

	if ((e = authz_check(r, q->name, AUTHZ_PULL | AUTHZ_PUSH)) != E_NONE) {
		/* A mount needs pull on from as well: ask for both at once. */
		const char *from = http_query(r, "from");
		if (q->route == ROUTE_UPLOAD_START && from != NULL &&
		    http_query(r, "mount") != NULL && reg_name_valid(from))
			authz_challenge_add(r, from, AUTHZ_PULL);
		return reg_error_respond(r, e, NULL);
	}
	if (q->route == ROUTE_UPLOAD_START)
		return begin_post(r);
	return begin_chunk(r, strcmp(r->method, "PUT") == 0);
}

/*
 * Stops storing a body that cannot be stored (past max_blob_size, or
 * storage full): drops what it wrote at once, and answers e at the end of
 * the body. libmicrohttpd cannot queue an answer while a body is arriving,
 * so the rest is read and discarded, up to DISCARD_MAX (see upload_body).
 */
static int
cut_off(struct http_req *r, enum reg_error e, const char *detail)
{
	struct reg_req *q = r->app;
	struct upload_state *u = q->up;

	release(u);
	if (u->temp)
		storage_upload_remove(reg.storage, u->id);
	q->err = e;
	q->err_detail = detail;
	return 0;
}

int
upload_body(struct http_req *r, const char *data, size_t len)
{
	struct reg_req *q = r->app;
	struct upload_state *u = q->up;

	if (r->responded)
		return 0;
	if (q->err != E_NONE) {
		/* The answer is an error: read on to give it, but close the
		 * connection without it rather than read without end. */
		u->discarded += len;
		if (u->discarded <= DISCARD_MAX)
			return 0;
		rlog_warnx(r, "upload %s: closing after discarding %" PRIu64
			   " bytes", u->id, u->discarded);
		return -1;
	}
	if (u->expect >= 0 && u->written + len > (uint64_t)u->expect) {
		q->err = E_RANGE_INVALID;
		q->err_detail = "more bytes than Content-Range announced";
		return 0;
	}
	if (too_large(u->base + u->written + len)) {
		rlog_warnx(r, "upload %s passes max_blob_size: cut off",
			   u->id);
		return cut_off(r, E_BLOB_TOO_LARGE, "body over max_blob_size");
	}
	if (storage_upload_write(&u->file, data, len, u->base + u->written) <
	    0) {
		int err = errno;

		rlog_warnx(r, "could not write upload %s: %s", u->id,
			   strerror(err));
		return cut_off(r, storage_error(err), "storage write failed");
	}
	metric_add(&regm_storage_written, 0, (int64_t)len);
	digest_update(&u->ctx, data, len);
	u->written += len;
	return 0;
}

/* PATCH: make the chunk durable, then advance the row. */
static int
end_chunk(struct http_req *r, struct db *db)
{
	struct reg_req *q = r->app;
	struct upload_state *u = q->up;
	unsigned char state[DIGEST_STATE_MAX];
	char base[24], size[24];
	const char *p[6] = { q->name, u->id, base, size, (char *)state, NULL };
	int lengths[6] = { 0 }, formats[6] = { 0, 0, 0, 0, 1, 0 };
	PGresult *res;

	if (storage_upload_sync(&u->file) < 0)
		return end_error(r, storage_error(errno), "fsync failed");
	p[5] = storage_upload_state(&u->file);
	lengths[4] = (int)digest_export(&u->ctx, state);
	snprintf(base, sizeof(base), "%" PRIu64, u->base);
	snprintf(size, sizeof(size), "%" PRIu64, u->base + u->written);
	/* Without an answer the UPDATE may have committed all the same. */
	u->keep = true;
	if ((res = db_query_bin(db, &r->arena, Q_UPLOAD_UPDATE, 6, p,
				 lengths, formats, 0)) == NULL)
		return end_error(r, E_UNAVAILABLE, "database");
	if (db_changed(res) != 1) {
		u->keep = false;
		return end_error(r, E_BLOB_UPLOAD_UNKNOWN, u->id);
	}
	release(u);
	return session_respond(r, 202, u->id, u->base + u->written);
}

/* Drops an upload whose completion failed, so nothing is left behind. */
static void
discard(struct http_req *r, struct db *db)
{
	struct reg_req *q = r->app;
	struct upload_state *u = q->up;
	const char *p[2] = { q->name, u->id };

	/* A failed DELETE leaves the session to expire. */
	if (!u->temp && db != NULL &&
	    db_query(db, &r->arena, Q_UPLOAD_DELETE, 2, p) == NULL)
		log_info("upload %s: left to expire", u->id);
	storage_upload_remove(reg.storage, u->id);
}

static int
end_final(struct http_req *r, struct db *db)
{
	struct reg_req *q = r->app;
	struct upload_state *u = q->up;
	uint64_t total = u->base + u->written;
	char got[DIGEST_MAX];
	enum digest_alg alg;
	enum reg_error e;
	bool stored;
	int ret;

	if (digest_parse(u->want, &alg) != DIGEST_OK)
		BUG("digest validated at begin");
	if (alg != u->ctx.alg && rehash(u, alg, total) < 0)
		return end_error(r, E_INTERNAL, "rehash failed");
	digest_final(&u->ctx, got);
	if (strcmp(got, u->want) != 0) {
		discard(r, db);
		return end_error(r, E_DIGEST_INVALID,
				 arena_printf(&r->arena,
					      "content has digest %s", got));
	}
	ret = link_blob(r, db, got, total, u, &e, &stored);
	if (stored) {
		arena_cleanup_cancel(u->removing);
		metric_add(&regm_uploads_completed, 0, 1);
	}
	if (ret < 0)
		return end_error(r, e, e == E_UNAVAILABLE ? "database"
							  : "storage commit");
	release(u);
	return blob_created(r, got);
}

int
upload_end(struct http_req *r)
{
	struct reg_req *q = r->app;
	struct upload_state *u = q->up;
	struct db *db;

	if (r->responded)
		return 0;
	if (q->err == E_NONE && u->expect >= 0 &&
	    u->written != (uint64_t)u->expect) {
		q->err = E_RANGE_INVALID;
		q->err_detail = "fewer bytes than Content-Range announced";
	}
	if (q->err != E_NONE)
		return end_error(r, q->err, q->err_detail);
	if ((db = reg_db(r)) == NULL)
		return end_error(r, E_UNAVAILABLE, "database");
	if (!u->final)
		return end_chunk(r, db);
	return end_final(r, db);
}

int
upload_status(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *p[2] = { q->name, q->ref };
	enum reg_error e;
	struct db *db;
	struct upload_row row;
	PGresult *res;

	if (!reg_uuid_valid(q->ref))
		return reg_error_respond(r, E_BLOB_UPLOAD_UNKNOWN, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_PULL | AUTHZ_PUSH)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL ||
	    (res = db_query(db, &r->arena, Q_UPLOAD_GET, 2, p)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	if (PQntuples(res) != 1)
		return reg_error_respond(r, E_BLOB_UPLOAD_UNKNOWN, q->ref);
	upload_row_read(res, 0, &row);
	return session_respond(r, 204, q->ref, row.size);
}

int
upload_cancel(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *p[2] = { q->name, q->ref };
	enum reg_error e;
	struct db *db;
	PGresult *res;

	if (!reg_uuid_valid(q->ref))
		return reg_error_respond(r, E_BLOB_UPLOAD_UNKNOWN, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_PULL | AUTHZ_PUSH)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL ||
	    (res = db_query(db, &r->arena, Q_UPLOAD_DELETE, 2, p)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	if (PQntuples(res) != 1)
		return reg_error_respond(r, E_BLOB_UPLOAD_UNKNOWN, q->ref);
	storage_upload_remove(reg.storage, q->ref);
	return reg_respond(r, 204, http_resp_copy("", 0));
}

static void
purge_orphan(const char *id, void *arg)
{
	struct db *db = arg;
	const char *p[1] = { id };
	struct storage_upload f;
	PGresult *res;
	bool owned;

	if (!reg_uuid_valid(id) || (res = db_exec(db, Q_UPLOAD_EXISTS, 1, p)) == NULL)
		return;
	owned = PQntuples(res) > 0;
	PQclear(res);
	/* A monolithic upload whose client stalled still holds its lock. */
	if (owned || storage_upload_open(reg.storage, id, &f) < 0)
		return;
	log_info("removing orphaned upload file %s", id);
	storage_upload_remove(reg.storage, id);
	storage_upload_close(&f);
}

/* Ends one idle session, unless a request holds its file. */
static void
expire(struct db *db, const char *id, const char *secs)
{
	const char *p[2] = { id, secs };
	struct storage_upload f;
	PGresult *res;
	bool gone;

	if (storage_upload_open(reg.storage, id, &f) < 0 && errno == EAGAIN)
		return;		/* a PATCH is arriving: not idle */
	if ((res = db_exec(db, Q_UPLOAD_EXPIRE, 2, p)) != NULL) {
		gone = PQntuples(res) == 1;
		PQclear(res);
		if (gone) {
			log_info("expired upload %s", id);
			storage_upload_remove(reg.storage, id);
		}
	}
	storage_upload_close(&f);
}

void
upload_purge(struct db *db, long long ttl)
{
	char secs[24];
	const char *p[1] = { secs };
	PGresult *res;

	snprintf(secs, sizeof(secs), "%lld", ttl);
	if ((res = db_exec(db, Q_UPLOAD_PURGE, 1, p)) == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++)
		expire(db, upload_purge_row_id(res, i), secs);
	PQclear(res);
	storage_upload_each_old(reg.storage, ttl, purge_orphan, db);
}
