/*
 * Where blob and upload bytes live: a driver table (struct storage_ops)
 * behind one interface, so that registryd's uploads and reads, the
 * collector and the replicator never call the filesystem or an object
 * store themselves. Drivers: the shared filesystem (storagefs.c) and
 * S3-compatible object storage (storages3.c).
 *
 * CONTRACT, whatever the driver:
 * - A blob appears only complete, under its digest, by
 *   storage_upload_commit of an upload holding exactly its bytes; a
 *   reader never sees a partial one. Digests and upload ids are
 *   validated by the caller before they reach a driver.
 * - An upload is written by one request at a time, on any node:
 *   storage_upload_open takes an exclusive lock without waiting (EAGAIN
 *   when another request holds it), storage_upload_close releases it,
 *   and a dead node's lock goes with it.
 * - What storage_upload_sync returned 0 for survives a crash.
 * - Failures return -1 with errno set (ENOENT for what is not there,
 *   EAGAIN for a busy upload, ENOSPC/EDQUOT for storage full, EIO for
 *   anything else), and are logged by the driver when they are its own.
 */
#ifndef BERTH_STORAGE_H
#define BERTH_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct storage;

/* An open blob. fd >= 0 when the bytes are a file that can be sent with
 * sendfile (then read is also available); the rest is the driver's. */
struct storage_blob {
	struct storage *s;
	uint64_t size;
	int fd;
	void *priv;
};

/* An open, locked upload; the fields are the driver's. */
struct storage_upload {
	struct storage *s;
	const char *id;
	int fd;
	uint64_t mark;
	void *priv;
};

/* Called by the enumerations for each item; see storage_blob_each_old. */
typedef void storage_blob_fn(const char *digest, uint64_t size, void *arg);
typedef void storage_upload_fn(const char *id, void *arg);

struct storage_ops {
	const char *name;
	void (*free)(struct storage *s);
	int (*blob_open)(struct storage *s, const char *digest,
			 struct storage_blob *b);
	ssize_t (*blob_read)(struct storage_blob *b, void *buf, size_t len,
			     uint64_t off);
	void (*blob_close)(struct storage_blob *b);
	int (*blob_stat)(struct storage *s, const char *digest,
			 uint64_t *size);
	int (*blob_remove)(struct storage *s, const char *const *digests,
			   size_t n, bool *gone);
	void (*blob_each_old)(struct storage *s, long long age,
			      storage_blob_fn *fn, void *arg);
	int (*upload_create)(struct storage *s, const char *id);
	int (*upload_open)(struct storage *s, const char *id,
			   struct storage_upload *u);
	int (*upload_resume)(struct storage_upload *u, uint64_t size,
			     const char *state);
	int (*upload_write)(struct storage_upload *u, const void *buf,
			    size_t len, uint64_t off);
	ssize_t (*upload_read)(struct storage_upload *u, void *buf, size_t len,
			       uint64_t off);
	int (*upload_truncate)(struct storage_upload *u, uint64_t size);
	int (*upload_sync)(struct storage_upload *u);
	const char *(*upload_state)(struct storage_upload *u);
	int (*upload_commit)(struct storage_upload *u, uint64_t size,
			     const char *digest);
	void (*upload_close)(struct storage_upload *u);
	void (*upload_remove)(struct storage *s, const char *id);
	void (*upload_each_old)(struct storage *s, long long age,
				storage_upload_fn *fn, void *arg);
	bool (*unready)(struct storage *s, uint64_t min_free, char *why,
			size_t len);
	/* Optional: a URL a client may fetch the blob from itself. */
	char *(*blob_url)(struct storage *s, const char *digest,
			  unsigned expires);
};

/* Every driver's instance starts with this. */
struct storage {
	const struct storage_ops *ops;
};

/* The filesystem driver on root, creating its layout there if needed;
 * NULL (logged) on failure. */
struct storage *storage_fs_new(const char *root) MUST_CHECK;

enum storage_s3_addressing {
	STORAGE_S3_AUTO,	/* virtual-host on amazonaws.com, else path */
	STORAGE_S3_PATH,	/* https://host/bucket/key */
	STORAGE_S3_VIRTUAL,	/* https://bucket.host/key */
};

/* An S3-compatible bucket; strings are the caller's, kept while s is. */
struct storage_s3_config {
	const char *endpoint;	/* "https://s3.eu-west-1.amazonaws.com" */
	const char *region;	/* "us-east-1" */
	const char *bucket;
	const char *prefix;	/* of every key: "" or "berth/" */
	/* Empty: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	 * AWS_SESSION_TOKEN from the environment. */
	const char *access_key;
	const char *secret_key;
	const char *session_token;
	int addressing;		/* enum storage_s3_addressing */
	const char *ca_file;	/* PEM CAs for https; NULL: the system's */
	size_t part_size;	/* multipart part bytes, at least 5 MiB */
	unsigned timeout;	/* seconds a request may take */
	unsigned retries;	/* after a 5xx, SlowDown or network error */
	unsigned rate;		/* requests a second from this node; 0: any */
	/* An upload's lock (see CONTRACT): lock returns 0, or -1 with errno
	 * EAGAIN when it is held; unlock runs on the thread that locked. */
	int (*lock)(const char *id, void *arg);
	void (*unlock)(const char *id, void *arg);
	void *lock_arg;
};

/* The S3 driver on c's bucket, after one request that proves the
 * endpoint, the credentials and the bucket; NULL with why in err. */
struct storage *storage_s3_new(const struct storage_s3_config *c, char *err,
			       size_t errlen) MUST_CHECK;

/* Frees s (NULL is fine). */
void storage_free(struct storage *s);
const char *storage_driver(const struct storage *s);

/* Opens a blob for reading and sets b->size; -1 with errno (ENOENT). */
int storage_blob_open(struct storage *s, const char *digest,
		      struct storage_blob *b) MUST_CHECK;
/* Reads up to len bytes at off; 0 at the end, -1 with errno. */
ssize_t storage_blob_read(struct storage_blob *b, void *buf, size_t len,
			  uint64_t off) MUST_CHECK;
/* Closes b unless its fd was handed on (b->fd set to -1 by the taker). */
void storage_blob_close(struct storage_blob *b);
/* A presigned URL for the blob, valid expires seconds (malloc'd), or NULL
 * when the driver has none (the filesystem). */
char *storage_blob_url(struct storage *s, const char *digest,
		       unsigned expires);

/* Sets *size; -1 with errno (ENOENT) when the blob is not stored. */
int storage_blob_stat(struct storage *s, const char *digest,
		      uint64_t *size) MUST_CHECK;

/*
 * Removes blobs' bytes, for the collector once their rows are gone; a
 * driver may do it in one request. Missing ones are not an error; each
 * other failure is logged, sets gone[i] false (gone[i] true otherwise),
 * and makes the call return -1 once all were attempted.
 */
int storage_blob_remove(struct storage *s, const char *const *digests,
			size_t n, bool *gone);

/*
 * Calls fn for each blob last written more than age seconds ago, with
 * its digest (not yet validated: the caller checks it) and size: the
 * collector's sweep for bytes no row stands on.
 */
void storage_blob_each_old(struct storage *s, long long age,
			   storage_blob_fn *fn, void *arg);

/* Creates an empty upload that outlives a crash; -1 with errno. */
int storage_upload_create(struct storage *s, const char *id) MUST_CHECK;

/* Opens and locks upload id (see CONTRACT); -1 with errno ENOENT or
 * EAGAIN. u->id points at id, which must outlive u. */
int storage_upload_open(struct storage *s, const char *id,
			struct storage_upload *u) MUST_CHECK;

/*
 * Positions an upload taken up again at size bytes, what its last sync
 * made durable (dropping a crashed writer's torn tail), with the state
 * storage_upload_state gave then (NULL at first). Once per open, before
 * any write; an upload never resumed is written from 0.
 */
int storage_upload_resume(struct storage_upload *u, uint64_t size,
			  const char *state) MUST_CHECK;

/* Writes all len bytes at off, the end of what is there; -1 with errno.
 * Bytes written are readable (storage_upload_read) only when the driver
 * says so: they may be on their way to the store. */
int storage_upload_write(struct storage_upload *u, const void *buf,
			 size_t len, uint64_t off) MUST_CHECK;

/* Reads up to len bytes at off back, for rehashing; 0 at the end; -1
 * with errno (EOPNOTSUPP where the store cannot read an upload back). */
ssize_t storage_upload_read(struct storage_upload *u, void *buf, size_t len,
			    uint64_t off) MUST_CHECK;

/* Cuts the upload back to size bytes, at least what the last sync made
 * durable (a refused or failed request's bytes). */
int storage_upload_truncate(struct storage_upload *u,
			    uint64_t size) MUST_CHECK;

/* Makes what was written durable. */
int storage_upload_sync(struct storage_upload *u) MUST_CHECK;

/*
 * What the driver needs, besides the size, to resume the upload as the
 * last sync left it: a string to store with the upload's size (in the
 * same write) and hand to storage_upload_resume, or NULL when it needs
 * nothing. Valid until the next call on u.
 */
const char *storage_upload_state(struct storage_upload *u);

/*
 * Makes the upload's first size bytes the blob digest (or drops them when
 * the blob is stored already), durably. The upload is gone afterwards;
 * u stays open until storage_upload_close. On failure the upload may be
 * gone as well (a failure after the bytes moved).
 */
int storage_upload_commit(struct storage_upload *u, uint64_t size,
			  const char *digest) MUST_CHECK;

/* Releases u's lock; a no-op on a closed or never opened u. */
void storage_upload_close(struct storage_upload *u);

/* Removes an upload; a missing one is not an error. */
void storage_upload_remove(struct storage *s, const char *id);

/* Calls fn for each upload last written more than age seconds ago, with
 * its id (a UUID's length, not yet validated). */
void storage_upload_each_old(struct storage *s, long long age,
			     storage_upload_fn *fn, void *arg);

/*
 * Whether storage cannot take writes now (for /readyz): unreachable,
 * less than min_free bytes free, or a write failed for lack of room or a
 * broken store in the last STORAGE_ERROR_HOLD seconds. Then writes why
 * into a buffer of len bytes, ending with a newline.
 */
#define STORAGE_ERROR_HOLD 10
bool storage_unready(struct storage *s, uint64_t min_free, char *why,
		     size_t len);

/* Whether err (an errno) means that storage has no room left. */
bool storage_full_errno(int err);

#endif
