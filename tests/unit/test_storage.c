/*
 * storage_unready(): what /readyz says about the storage, from statvfs and
 * the last failed write, on a storage root in a temporary directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage.h"
#include "test.h"

void
test_storage(void)
{
	char dir[] = "/tmp/berth-unit-storage.XXXXXX", path[64], why[256];

	CHECK(mkdtemp(dir) != NULL);
	CHECK(storage_init(dir) == 0);
	CHECK(!storage_unready(0, why, sizeof(why)));
	CHECK(storage_unready(UINT64_MAX, why, sizeof(why)));
	CHECK(strstr(why, "below storage_min_free") != NULL);
	/* Errors that say nothing of room are not remembered. */
	storage_note_error(EACCES);
	CHECK(!storage_unready(0, why, sizeof(why)));
	CHECK(storage_full_errno(ENOSPC) && storage_full_errno(EDQUOT));
	CHECK(!storage_full_errno(EIO));
	storage_note_error(ENOSPC);
	CHECK(storage_unready(0, why, sizeof(why)));
	CHECK(strncmp(why, "storage unwritable: a write failed", 34) == 0);
	CHECK(why[strlen(why) - 1] == '\n');
	storage_release();
	snprintf(path, sizeof(path), "%s/uploads", dir);
	CHECK(rmdir(path) == 0);
	snprintf(path, sizeof(path), "%s/blobs", dir);
	CHECK(rmdir(path) == 0);
	CHECK(rmdir(dir) == 0);
}
