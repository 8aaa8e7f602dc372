/*
 * Filesystem storage (see storage.h). Upload locks are open file
 * description locks (F_OFD_SETLK): per open file rather than per process,
 * so two requests on one node exclude each other as two nodes do, and the
 * kernel (or the NFS server) drops a dead node's lock for us.
 */
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "storage.h"

static char *root;
/* The last failed write, for /readyz: when (util_now_ns) and errno. */
static _Atomic uint64_t last_error_ns;
static _Atomic int last_error;

static int
mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (util_strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

int
storage_init(const char *r)
{
	char path[PATH_MAX];

	if (strlen(r) > PATH_MAX / 2) {
		log_warnx("storage path \"%s\" is too long", r);
		return -1;
	}
	free(root);
	root = xstrdup(r);
	snprintf(path, sizeof(path), "%s/uploads", root);
	if (mkdir_p(path) < 0) {
		log_warn("could not create \"%s\"", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/blobs", root);
	if (mkdir_p(path) < 0) {
		log_warn("could not create \"%s\"", path);
		return -1;
	}
	return 0;
}

void
storage_release(void)
{
	free(root);
	root = NULL;
}

static void
blob_dir(char *out, size_t len, const char *digest)
{
	const char *hex = digest_hex(digest);

	snprintf(out, len, "%s/blobs/%.*s/%.2s", root,
		 (int)(hex - 1 - digest), digest, hex);
}

static void
blob_path(char *out, size_t len, const char *digest)
{
	const char *hex = digest_hex(digest);

	snprintf(out, len, "%s/blobs/%.*s/%.2s/%s", root,
		 (int)(hex - 1 - digest), digest, hex, hex);
}

static void
upload_path(char *out, size_t len, const char *id)
{
	snprintf(out, len, "%s/uploads/%s", root, id);
}

int
storage_blob_open(const char *digest, uint64_t *size)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	blob_path(path, sizeof(path), digest);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int
storage_upload_create(const char *id)
{
	char path[PATH_MAX];
	int fd, saved;

	upload_path(path, sizeof(path), id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		saved = errno;
		log_warn("could not create upload \"%s\"", path);
		goto fail;
	}
	close(fd);
	/* The session's file must outlive a crash as its row does. */
	snprintf(path, sizeof(path), "%s/uploads", root);
	if (fsync_dir(path) < 0) {
		saved = errno;
		log_warn("could not flush directory \"%s\"", path);
		goto fail;
	}
	return 0;
fail:
	storage_note_error(saved);
	errno = saved;
	return -1;
}

int
storage_upload_open(const char *id)
{
	char path[PATH_MAX];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, saved;

	upload_path(path, sizeof(path), id);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		saved = errno == EACCES ? EAGAIN : errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
storage_upload_read_fd(const char *id)
{
	char path[PATH_MAX];

	upload_path(path, sizeof(path), id);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
storage_upload_commit(int fd, const char *id, uint64_t size,
		      const char *digest)
{
	char from[PATH_MAX], dir[PATH_MAX], to[PATH_MAX];
	struct stat st;
	int saved;

	upload_path(from, sizeof(from), id);
	blob_dir(dir, sizeof(dir), digest);
	blob_path(to, sizeof(to), digest);
	if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0) {
		saved = errno;
		storage_note_error(saved);
		log_warn("could not flush upload \"%s\"", from);
		errno = saved;
		return -1;
	}
	if (stat(to, &st) == 0 && (uint64_t)st.st_size == size) {
		/* Content-addressed: the stored copy is the same bytes. */
		unlink(from);
		return 0;
	}
	if (mkdir_p(dir) < 0 || rename(from, to) < 0) {
		saved = errno;
		storage_note_error(saved);
		log_warn("could not move upload \"%s\" to \"%s\"", from, to);
		errno = saved;
		return -1;
	}
	if (fsync_dir(dir) < 0) {
		saved = errno;
		storage_note_error(saved);
		log_warn("could not flush directory \"%s\"", dir);
		errno = saved;
		return -1;
	}
	return 0;
}

void
storage_upload_remove(const char *id)
{
	char path[PATH_MAX];

	upload_path(path, sizeof(path), id);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("could not remove upload \"%s\"", path);
}

int
storage_blob_remove(const char *digest)
{
	char path[PATH_MAX];

	blob_path(path, sizeof(path), digest);
	if (unlink(path) < 0 && errno != ENOENT) {
		log_warn("could not remove blob \"%s\"", path);
		return -1;
	}
	return 0;
}

void
storage_upload_each_old(long long age, void (*fn)(const char *id, void *arg),
			void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	time_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/uploads", root);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 36 ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    now - st.st_mtime < age)
			continue;
		fn(de->d_name, arg);
	}
	closedir(d);
}

/* The files of one blobs/<alg>/<xx> directory (see storage_blob_each_old). */
static void
blob_dir_each_old(const char *dir, const char *alg, long long age,
		  void (*fn)(const char *, uint64_t, void *), void *arg)
{
	char digest[DIGEST_MAX];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < age)
			continue;
		if ((size_t)snprintf(digest, sizeof(digest), "%s:%s", alg,
				     de->d_name) >= sizeof(digest))
			continue;
		fn(digest, (uint64_t)st.st_size, arg);
	}
	closedir(d);
}

void
storage_blob_each_old(long long age,
		      void (*fn)(const char *digest, uint64_t size, void *arg),
		      void *arg)
{
	char path[PATH_MAX / 2], sub[PATH_MAX];
	struct dirent *alg, *pre;
	DIR *top, *d;

	snprintf(path, sizeof(path), "%s/blobs", root);
	if ((top = opendir(path)) == NULL)
		return;
	while ((alg = readdir(top)) != NULL) {
		if (alg->d_name[0] == '.' || strlen(alg->d_name) > 16)
			continue;
		snprintf(path, sizeof(path), "%s/blobs/%s", root, alg->d_name);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((pre = readdir(d)) != NULL) {
			if (strlen(pre->d_name) != 2)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, pre->d_name);
			blob_dir_each_old(sub, alg->d_name, age, fn, arg);
		}
		closedir(d);
	}
	closedir(top);
}

bool
storage_full_errno(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

void
storage_note_error(int err)
{
	if (!storage_full_errno(err) && err != EROFS && err != EIO)
		return;
	atomic_store(&last_error, err);
	atomic_store(&last_error_ns, util_now_ns());
}

bool
storage_unready(uint64_t min_free, char *why, size_t len)
{
	uint64_t when = atomic_load(&last_error_ns), now = util_now_ns();
	struct statvfs vfs;
	uint64_t avail;

	if (statvfs(root, &vfs) < 0) {
		snprintf(why, len, "storage unwritable: %s\n", strerror(errno));
		return true;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < min_free) {
		snprintf(why, len, "storage unwritable: %llu bytes free, "
			 "below storage_min_free\n", (unsigned long long)avail);
		return true;
	}
	if (when != 0 && now - when < STORAGE_ERROR_HOLD * 1000000000ull) {
		snprintf(why, len, "storage unwritable: a write failed %llus "
			 "ago: %s\n",
			 (unsigned long long)((now - when) / 1000000000ull),
			 strerror(atomic_load(&last_error)));
		return true;
	}
	return false;
}
