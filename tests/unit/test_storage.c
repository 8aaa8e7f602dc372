/*
 * The filesystem driver through the storage interface, on a root in a
 * temporary directory: an upload's life (create, lock, write, read back,
 * cut, sync, commit), blobs (open, read, stat, batched remove), the
 * enumerations, and what /readyz hears from storage_unready. A failed
 * write's hold is proven by t_storage_full on a full filesystem.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "storage.h"
#include "test.h"

#define ID "0a8b3c1d-2e4f-4a6b-8c0d-1e2f3a4b5c6d"

static int seen;

static void
count_blob(const char *digest, uint64_t size, void *arg)
{
	seen += strcmp(digest, arg) == 0 && size == 5;
}

static void
count_upload(const char *id, void *arg)
{
	(void)arg;
	seen += strcmp(id, ID) == 0;
}

/* An upload of "hello" (after a torn tail) becomes blob digest. */
static void
upload_life(struct storage *s, const char *digest)
{
	struct storage_upload u, other;
	char buf[16];

	CHECK(storage_upload_create(s, ID) == 0);
	CHECK(storage_upload_create(s, ID) < 0 && errno == EEXIST);
	CHECK(storage_upload_open(s, ID, &u) == 0);
	/* The lock excludes a second request, as a second node. */
	CHECK(storage_upload_open(s, ID, &other) < 0 && errno == EAGAIN);
	CHECK(storage_upload_write(&u, "hel", 3, 0) == 0);
	CHECK(storage_upload_write(&u, "lXXX", 4, 3) == 0);
	CHECK(storage_upload_truncate(&u, 4) == 0);
	CHECK(storage_upload_write(&u, "o", 1, 4) == 0);
	CHECK(storage_upload_sync(&u) == 0);
	CHECK(storage_upload_read(&u, buf, sizeof(buf), 0) == 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK(storage_upload_read(&u, buf, sizeof(buf), 5) == 0);
	CHECK(storage_upload_state(&u) == NULL);
	/* Taken up again (another request, another node): a torn tail
	 * past the durable size goes. */
	CHECK(storage_upload_write(&u, "!!", 2, 5) == 0);
	storage_upload_close(&u);
	CHECK(storage_upload_open(s, ID, &u) == 0);
	CHECK(storage_upload_resume(&u, 5, NULL) == 0);
	CHECK(storage_upload_read(&u, buf, sizeof(buf), 0) == 5);
	seen = 0;
	storage_upload_each_old(s, 0, count_upload, NULL);
	CHECK(seen == 1);
	seen = 0;
	storage_upload_each_old(s, 3600, count_upload, NULL);
	CHECK(seen == 0);
	CHECK(storage_upload_commit(&u, 5, digest) == 0);
	storage_upload_close(&u);
	storage_upload_close(&u);	/* a no-op */
	CHECK(storage_upload_open(s, ID, &u) < 0 && errno == ENOENT);
}

void
test_storage(void)
{
	char dir[] = "/tmp/berth-unit-storage.XXXXXX", path[160], why[256];
	char digest[DIGEST_MAX], buf[16];
	const char *list[2];
	struct digest_ctx ctx;
	struct storage_blob b;
	struct storage *s;
	uint64_t size = 0;
	bool gone[2];

	CHECK(mkdtemp(dir) != NULL);
	CHECK((s = storage_fs_new(dir)) != NULL);
	CHECK(strcmp(storage_driver(s), "filesystem") == 0);
	digest_init(&ctx, DIGEST_SHA256);
	digest_update(&ctx, "hello", 5);
	digest_final(&ctx, digest);
	CHECK(storage_blob_open(s, digest, &b) < 0 && errno == ENOENT);
	upload_life(s, digest);
	CHECK(storage_blob_stat(s, digest, &size) == 0 && size == 5);
	CHECK(storage_blob_open(s, digest, &b) == 0 && b.size == 5);
	CHECK(b.fd >= 0);	/* a file: sendfile */
	CHECK(storage_blob_read(&b, buf, 3, 2) == 3 && !memcmp(buf, "llo", 3));
	storage_blob_close(&b);
	seen = 0;
	storage_blob_each_old(s, 0, count_blob, digest);
	CHECK(seen == 1);
	list[0] = digest;
	list[1] = "sha256:"
		  "0000000000000000000000000000000000000000000000000000000000000000";
	CHECK(storage_blob_remove(s, list, 2, gone) == 0);
	CHECK(gone[0] && gone[1]);	/* a missing one is gone too */
	CHECK(storage_blob_stat(s, digest, &size) < 0 && errno == ENOENT);

	CHECK(!storage_unready(s, 0, why, sizeof(why)));
	CHECK(storage_unready(s, UINT64_MAX, why, sizeof(why)));
	CHECK(strstr(why, "below storage_min_free") != NULL);
	CHECK(why[strlen(why) - 1] == '\n');
	CHECK(storage_full_errno(ENOSPC) && storage_full_errno(EDQUOT));
	CHECK(!storage_full_errno(EIO));
	storage_free(s);

	snprintf(path, sizeof(path), "%s/blobs/sha256/2c", dir);
	CHECK(rmdir(path) == 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	CHECK(rmdir(path) == 0);
	snprintf(path, sizeof(path), "%s/uploads", dir);
	CHECK(rmdir(path) == 0);
	snprintf(path, sizeof(path), "%s/blobs", dir);
	CHECK(rmdir(path) == 0);
	CHECK(rmdir(dir) == 0);
	/* Unreachable root: not ready. */
	CHECK((s = storage_fs_new(dir)) != NULL);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
	CHECK(storage_unready(s, 0, why, sizeof(why)));
	CHECK(strcmp(why, "storage unreachable\n") == 0);
	storage_free(s);
}
