/*
 * Blob reads and deletes. A GET streams the file with sendfile (through
 * libmicrohttpd's fd responses); the database only says whether the
 * repository links the blob, so a blob is never readable through a
 * repository that did not push or mount it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "registryd.h"
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

static int
range_not_satisfiable(struct http_req *r, uint64_t size, int fd)
{
	char cr[64];
	struct MHD_Response *resp;

	close(fd);
	resp = http_resp_copy("", 0);
	snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
	http_resp_header(resp, "Content-Range", cr);
	return reg_respond(r, 416, resp);
}

int
blob_get(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *params[2] = { q->name, q->ref };
	const char *range = http_header(r, "Range");
	struct MHD_Response *resp;
	PGresult *res;
	enum reg_error e;
	uint64_t size, off = 0, len;
	unsigned status = 200;
	struct db *db;
	bool ok;
	int fd;

	if (!reg_digest_valid(q->ref))
		return reg_error_respond(r, E_DIGEST_INVALID, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_PULL)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL ||
	    (res = db_exec(db, Q_BLOB_IN_REPO, 2, params)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	ok = PQntuples(res) == 1;
	PQclear(res);
	if (!ok)
		return reg_error_respond(r, E_BLOB_UNKNOWN, q->ref);
	if ((fd = storage_blob_open(q->ref, &size)) < 0) {
		rlog_warnx(r, "blob %s is in the database but not in storage: %s",
			   q->ref, strerror(errno));
		return reg_error_respond(r, E_BLOB_UNKNOWN, q->ref);
	}
	len = size;
	if (range != NULL && !r->is_head) {
		int rc = range_parse_request(range, size, &off, &len);
		if (rc == -2)
			return range_not_satisfiable(r, size, fd);
		if (rc == 0)
			status = 206;
	}
	resp = http_resp_fd(fd, off, len);
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

int
blob_delete(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *params[2] = { q->name, q->ref };
	PGresult *res = NULL;
	enum reg_error e;
	struct db *db;
	bool ok;

	if (!reg_digest_valid(q->ref))
		return reg_error_respond(r, E_DIGEST_INVALID, q->ref);
	if ((e = authz_check(r, q->name, AUTHZ_DELETE)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL || db_command(db, "BEGIN") < 0)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	if ((res = db_exec(db, Q_BLOB_UNLINK, 2, params)) == NULL)
		goto fail;
	ok = PQntuples(res) > 0;
	PQclear(res);
	if (!ok) {
		db_rollback(db);
		return reg_error_respond(r, E_BLOB_UNKNOWN, q->ref);
	}
	/* The same transaction queues the blob for the collector. */
	if ((res = db_exec(db, Q_GC_QUEUE_BLOB, 1, params + 1)) == NULL)
		goto fail;
	PQclear(res);
	if (db_command(db, "COMMIT") < 0)
		goto fail;
	auditlog_add(r, "registry.blob.delete", q->ref, q->ref, NULL);
	return reg_respond(r, 202, http_resp_copy("", 0));
fail:
	db_rollback(db);
	return reg_error_respond(r, E_UNAVAILABLE, "database");
}
