/*
 * Blob reads and deletes. A GET streams a blob that storage holds as a
 * file with sendfile (through libmicrohttpd's fd responses), any other
 * through reads as the client takes the bytes; the database only says
 * whether the repository links the blob, so a blob is never readable
 * through a repository that did not push or mount it. The blob is closed
 * with the request's arena unless the response took it over.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "auditlog.h"
#include "authz.h"
#include "blob.h"
#include "digest.h"
#include "range.h"
#include "registryd.h"
#include "route.h"
#include "sql.h"
#include "storage.h"

static void
blob_headers(struct MHD_Response *resp, const char *digest)
{
	char etag[DIGEST_MAX + 2];

	snprintf(etag, sizeof(etag), "\"%s\"", digest);
	http_resp_header(resp, "Docker-Content-Digest", digest);
	http_resp_header(resp, "ETag", etag);
	http_resp_header(resp, "Accept-Ranges", "bytes");
	http_resp_header(resp, "Cache-Control", "max-age=31536000");
	http_resp_header(resp, "Content-Type", "application/octet-stream");
}

/* The fd of an unsatisfiable range goes with the request's arena. */
static int
range_not_satisfiable(struct http_req *r, uint64_t size)
{
	char cr[64];
	struct MHD_Response *resp;

	resp = http_resp_copy("", 0);
	snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
	http_resp_header(resp, "Content-Range", cr);
	return reg_respond(r, 416, resp);
}

/* Whether the repository links the blob: 0, or -1 with the error to
 * answer in *e. */
static int
check_linked(struct http_req *r, enum reg_error *e)
{
	struct reg_req *q = r->app;
	const char *params[2] = { q->name, q->ref };
	PGresult *res;
	struct db *db;

	*e = E_UNAVAILABLE;
	if ((db = reg_db(r)) == NULL)
		return -1;
	/* A HEAD usually precedes a push that skips the upload: postpone
	 * the link's review first (waiting out a collector on it), then
	 * look, so that a 200 means the link outlives the grace. */
	if (r->is_head &&
	    db_query(db, &r->arena, Q_GC_POSTPONE_LINK, 2, params) == NULL)
		return -1;
	if ((res = db_query(db, &r->arena, Q_BLOB_IN_REPO, 2, params)) == NULL)
		return -1;
	*e = E_BLOB_UNKNOWN;
	return PQntuples(res) == 1 ? 0 : -1;
}

/* Opens the blob of a GET into b when the repository links it; else -1
 * with the error to answer in *e. */
static int
open_linked(struct http_req *r, struct storage_blob *b, enum reg_error *e)
{
	struct reg_req *q = r->app;

	if (check_linked(r, e) < 0)
		return -1;
	*e = E_BLOB_UNKNOWN;
	if (storage_blob_open(reg.storage, q->ref, b) < 0) {
		rlog_warnx(r, "blob %s is in the database but not in storage: %s",
			   q->ref, strerror(errno));
		return -1;
	}
	return 0;
}

static void
blob_free(void *p)
{
	storage_blob_close(p);
	free(p);
}

/* A blob read through storage for a response that starts at off (a
 * range): libmicrohttpd counts positions from the response's start. */
struct blob_stream {
	struct storage_blob b;	/* first: blob_free frees the stream */
	uint64_t off;
};

static ssize_t
blob_reader(void *p, uint64_t pos, char *buf, size_t max)
{
	struct blob_stream *st = p;
	ssize_t n = storage_blob_read(&st->b, buf, max, st->off + pos);

	return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The body: the file itself when storage has one, else its reads. The
 * response owns b (a blob_stream) afterwards. */
static struct MHD_Response *
blob_body(struct storage_blob *b, uint64_t off, uint64_t len)
{
	struct MHD_Response *resp;

	if (b->fd < 0) {
		((struct blob_stream *)b)->off = off;
		return http_resp_reader(len, blob_reader, b, blob_free);
	}
	resp = http_resp_fd(b->fd, off, len);
	b->fd = -1;	/* the response closes it */
	blob_free(b);
	return resp;
}

/*
 * A GET answered with a 307 to a presigned URL of the store, when storage
 * has them and redirects are on: the bytes go from the store to the
 * client, not through this node. 0 when there is no URL to give.
 */
static int
redirect(struct http_req *r)
{
	struct reg_req *q = r->app;
	struct MHD_Response *resp;
	enum reg_error e;
	char *url;

	if (check_linked(r, &e) < 0)
		return reg_error_respond(r, e, e == E_UNAVAILABLE ? "database"
								  : q->ref);
	if ((url = storage_blob_url(reg.storage, q->ref,
				    reg.redirect_expiry)) == NULL) {
		rlog_warnx(r, "blob %s: no presigned URL", q->ref);
		return reg_error_respond(r, E_UNAVAILABLE, "storage");
	}
	resp = http_resp_copy("", 0);
	http_resp_header(resp, "Location", url);
	http_resp_header(resp, "Docker-Content-Digest", q->ref);
	free(url);
	return reg_respond(r, 307, resp);
}

int
blob_get(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *range = http_header(r, "Range");
	struct arena_cleanup *closing;
	struct MHD_Response *resp;
	struct storage_blob *b;
	enum reg_error e;
	uint64_t size, off = 0, len;
	unsigned status = 200;

	if (!reg_digest_valid(q->ref))
		return reg_error_respond(r, E_DIGEST_INVALID, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_PULL)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if (reg.redirect_expiry > 0 && !r->is_head)
		return redirect(r);
	b = xmalloc(sizeof(struct blob_stream));
	if (open_linked(r, b, &e) < 0) {
		free(b);
		return reg_error_respond(r, e, e == E_UNAVAILABLE ? "database"
								  : q->ref);
	}
	closing = arena_defer(&r->arena, blob_free, b);
	len = size = b->size;
	if (range != NULL && !r->is_head) {
		int rc = range_parse_request(range, size, &off, &len);
		if (rc == -2)
			return range_not_satisfiable(r, size);
		if (rc == 0)
			status = 206;
	}
	arena_cleanup_cancel(closing);
	resp = blob_body(b, off, len);
	blob_headers(resp, q->ref);
	if (status == 206) {
		char cr[96];
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
			 off, off + len - 1, size);
		http_resp_header(resp, "Content-Range", cr);
	}
	if (!r->is_head)
		r->bytes_out = len;
	return reg_respond(r, status, resp);
}

struct unlink_tx {
	struct http_req *r;
	enum reg_error err;	/* why fn rolled back, when not the database */
};

/* Unlinks the blob and queues it for the collector, in one transaction. */
static int
unlink_tx(struct db *db, void *arg)
{
	struct unlink_tx *tx = arg;
	struct reg_req *q = tx->r->app;
	const char *params[2] = { q->name, q->ref };
	PGresult *res;

	if ((res = db_query(db, &tx->r->arena, Q_BLOB_UNLINK, 2,
			    params)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		tx->err = E_BLOB_UNKNOWN;
		return -1;
	}
	if (db_query(db, &tx->r->arena, Q_GC_QUEUE_BLOB, 1, params + 1) ==
	    NULL)
		return -1;
	return 0;
}

int
blob_delete(struct http_req *r)
{
	struct reg_req *q = r->app;
	struct unlink_tx tx = { r, E_UNAVAILABLE };
	enum reg_error e;
	struct db *db;

	if (!reg_digest_valid(q->ref))
		return reg_error_respond(r, E_DIGEST_INVALID, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_DELETE)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL || db_tx_rerun(db, unlink_tx, &tx) < 0)
		return reg_error_respond(r, tx.err, tx.err == E_BLOB_UNKNOWN
							    ? q->ref
							    : "database");
	auditlog_add(r, "registry.blob.delete", q->ref, q->ref, NULL);
	return reg_respond(r, 202, http_resp_copy("", 0));
}
