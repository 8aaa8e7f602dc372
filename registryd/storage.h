/*
 * Blob and upload bytes on a filesystem that several nodes may share (NFS
 * included): blobs at blobs/<alg>/<2 hex>/<hex>, uploads at uploads/<id>.
 * A blob appears only by rename() of a complete, fsync'd file, so a reader
 * never sees a partial one. Paths are built only from validated digests
 * and upload ids. This is the seam where object storage will plug in.
 */
#ifndef BERTH_STORAGE_H
#define BERTH_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* Creates the layout under root if needed; -1 (logged) on failure. */
int storage_init(const char *root) MUST_CHECK;
void storage_release(void);

/* Opens a blob for reading; sets *size. -1 with errno (ENOENT). */
int storage_blob_open(const char *digest, uint64_t *size) MUST_CHECK;

/*
 * Removes a blob's bytes, for the collector once the blob's row is gone.
 * A missing blob is not an error; -1 (logged) on any other failure.
 */
int storage_blob_remove(const char *digest) MUST_CHECK;

/* Creates an empty upload file; -1 (logged) with errno on failure. */
int storage_upload_create(const char *id) MUST_CHECK;

/*
 * Opens an upload file for writing and takes an exclusive lock on it
 * without waiting (held until close). -1 with errno: ENOENT when the file
 * is gone, EAGAIN when another request (on any node) holds the lock.
 */
int storage_upload_open(const char *id) MUST_CHECK;

/* Reads a prefix of an upload back, for rehashing; -1 on error. */
int storage_upload_read_fd(const char *id) MUST_CHECK;

/*
 * Makes the upload's first size bytes the blob digest: truncate, fsync,
 * rename into place (or drop it when the blob is already stored), fsync
 * the directory. Does not close fd. -1 (logged) with errno on failure; fd
 * may then be the blob's already (a failure after the rename).
 */
int storage_upload_commit(int fd, const char *id, uint64_t size,
			  const char *digest) MUST_CHECK;

/*
 * Calls fn for each upload file last modified more than age seconds ago,
 * with its id (a validated UUID).
 */
void storage_upload_each_old(long long age, void (*fn)(const char *id,
							 void *arg),
			     void *arg);

/*
 * Calls fn for each blob file last written more than age seconds ago,
 * with its digest (not yet validated: the caller checks it) and size: the
 * collector's sweep for files no row stands on.
 */
void storage_blob_each_old(long long age,
			   void (*fn)(const char *digest, uint64_t size,
				      void *arg),
			   void *arg);

/* Removes an upload file; a missing one is not an error. */
void storage_upload_remove(const char *id);

/* Whether err (an errno) means that storage has no room left. */
bool storage_full_errno(int err);

/*
 * Records a failed write to storage with errno err, for storage_unready().
 * The functions above record their own failures; callers that write to an
 * upload's descriptor record theirs. Thread-safe.
 */
void storage_note_error(int err);

/*
 * Whether storage cannot take writes now: less than min_free bytes free
 * (one statvfs), or a write failed for lack of room or a read-only or
 * broken filesystem in the last STORAGE_ERROR_HOLD seconds. Then writes
 * why into a buffer of len bytes, ending with a newline.
 */
#define STORAGE_ERROR_HOLD 10
bool storage_unready(uint64_t min_free, char *why, size_t len);

#endif
