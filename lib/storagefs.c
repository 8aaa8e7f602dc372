/*
 * The filesystem driver (see storage.h), for a directory that several
 * nodes may share (NFS included): blobs at blobs/<alg>/<2 hex>/<hex>,
 * uploads at uploads/<id>. A blob appears only by rename() of a complete,
 * fsync'd file. Upload locks are open file description locks
 * (F_OFD_SETLK): per open file rather than per process, so two requests
 * on one node exclude each other as two nodes do, and the kernel (or the
 * NFS server) drops a dead node's lock for us.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "storage.h"

/* Writeback is started every this many bytes written, so that the fsync
 * before an answer finds little left and dirty pages do not pile up. */
#define WRITEBACK_STEP (8u << 20)

struct storage_fs {
	struct storage base;
	char *root;
	/* The last failed write, for unready: when (util_now_ns), errno. */
	_Atomic uint64_t last_error_ns;
	_Atomic int last_error;
};

static struct storage_fs *
fs_of(struct storage *s)
{
	return (struct storage_fs *)s;
}

/* Records a failed write with errno err, for fs_unready. */
static void
note_error(struct storage *s, int err)
{
	struct storage_fs *fs = fs_of(s);

	if (!storage_full_errno(err) && err != EROFS && err != EIO)
		return;
	atomic_store(&fs->last_error, err);
	atomic_store(&fs->last_error_ns, util_now_ns());
}

/* Notes errno for unready and logs what failed; keeps errno. */
static int
fail(struct storage *s, const char *what, const char *path)
{
	int saved = errno;

	note_error(s, saved);
	log_warn("could not %s \"%s\"", what, path);
	errno = saved;
	return -1;
}

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
	int ret, saved;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

static void
blob_dir(const struct storage_fs *fs, char *out, size_t len,
	 const char *digest)
{
	const char *hex = digest_hex(digest);

	snprintf(out, len, "%s/blobs/%.*s/%.2s", fs->root,
		 (int)(hex - 1 - digest), digest, hex);
}

static void
blob_path(const struct storage_fs *fs, char *out, size_t len,
	  const char *digest)
{
	const char *hex = digest_hex(digest);

	snprintf(out, len, "%s/blobs/%.*s/%.2s/%s", fs->root,
		 (int)(hex - 1 - digest), digest, hex, hex);
}

static void
upload_path(const struct storage_fs *fs, char *out, size_t len,
	    const char *id)
{
	snprintf(out, len, "%s/uploads/%s", fs->root, id);
}

static void
fs_free(struct storage *s)
{
	struct storage_fs *fs = fs_of(s);

	free(fs->root);
	free(fs);
}

static int
fs_blob_open(struct storage *s, const char *digest, struct storage_blob *b)
{
	char path[PATH_MAX];
	struct stat st;
	int saved;

	blob_path(fs_of(s), path, sizeof(path), digest);
	if ((b->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(b->fd, &st) < 0) {
		saved = errno;
		close(b->fd);
		b->fd = -1;
		errno = saved;
		return -1;
	}
	b->size = (uint64_t)st.st_size;
	return 0;
}

static ssize_t
fs_blob_read(struct storage_blob *b, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while ((n = pread(b->fd, buf, len, (off_t)off)) < 0 && errno == EINTR)
		;
	return n;
}

static void
fs_blob_close(struct storage_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int
fs_blob_stat(struct storage *s, const char *digest, uint64_t *size)
{
	char path[PATH_MAX];
	struct stat st;

	blob_path(fs_of(s), path, sizeof(path), digest);
	if (stat(path, &st) < 0)
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
fs_blob_remove(struct storage *s, const char *const *digests, size_t n,
	       bool *gone)
{
	char path[PATH_MAX];
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		blob_path(fs_of(s), path, sizeof(path), digests[i]);
		gone[i] = unlink(path) == 0 || errno == ENOENT;
		if (!gone[i]) {
			log_warn("could not remove blob \"%s\"", path);
			ret = -1;
		}
	}
	return ret;
}

/* The files of one blobs/<alg>/<xx> directory (see fs_blob_each_old). */
static void
blob_dir_each_old(const char *dir, const char *alg, long long age,
		  storage_blob_fn *fn, void *arg)
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

static void
fs_blob_each_old(struct storage *s, long long age, storage_blob_fn *fn,
		 void *arg)
{
	const char *root = fs_of(s)->root;
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

static int
fs_upload_create(struct storage *s, const char *id)
{
	struct storage_fs *fs = fs_of(s);
	char path[PATH_MAX];
	int fd;

	upload_path(fs, path, sizeof(path), id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(s, "create upload", path);
	close(fd);
	/* The session's file must outlive a crash as its row does. */
	snprintf(path, sizeof(path), "%s/uploads", fs->root);
	if (fsync_dir(path) < 0)
		return fail(s, "flush directory", path);
	return 0;
}

static int
fs_upload_open(struct storage *s, const char *id, struct storage_upload *u)
{
	char path[PATH_MAX];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int saved;

	upload_path(fs_of(s), path, sizeof(path), id);
	if ((u->fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	if (fcntl(u->fd, F_OFD_SETLK, &fl) < 0) {
		saved = errno == EACCES ? EAGAIN : errno;
		close(u->fd);
		u->fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

static int
fs_upload_write(struct storage_upload *u, const void *buf, size_t len,
		uint64_t off)
{
	const char *p = buf;
	size_t done = 0;
	uint64_t end = off + len;

	while (done < len) {
		ssize_t n = pwrite(u->fd, p + done, len - done,
				   (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			note_error(u->s, errno);
			return -1;
		}
		done += (size_t)n;
	}
	if (u->mark > off)
		u->mark = off;
	if (end - u->mark >= WRITEBACK_STEP) {
		(void)sync_file_range(u->fd, (off_t)u->mark,
				      (off_t)(end - u->mark),
				      SYNC_FILE_RANGE_WRITE);
		u->mark = end;
	}
	return 0;
}

static ssize_t
fs_upload_read(struct storage_upload *u, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while ((n = pread(u->fd, buf, len, (off_t)off)) < 0 && errno == EINTR)
		;
	return n;
}

static int
fs_upload_truncate(struct storage_upload *u, uint64_t size)
{
	if (ftruncate(u->fd, (off_t)size) < 0) {
		note_error(u->s, errno);
		return -1;
	}
	u->mark = size;
	return 0;
}

static int
fs_upload_resume(struct storage_upload *u, uint64_t size, const char *state)
{
	(void)state;
	return fs_upload_truncate(u, size);
}

static int
fs_upload_sync(struct storage_upload *u)
{
	if (fsync(u->fd) < 0) {
		note_error(u->s, errno);
		return -1;
	}
	return 0;
}

static int
fs_upload_commit(struct storage_upload *u, uint64_t size, const char *digest)
{
	struct storage_fs *fs = fs_of(u->s);
	char from[PATH_MAX], dir[PATH_MAX], to[PATH_MAX];
	struct stat st;

	upload_path(fs, from, sizeof(from), u->id);
	blob_dir(fs, dir, sizeof(dir), digest);
	blob_path(fs, to, sizeof(to), digest);
	if (ftruncate(u->fd, (off_t)size) < 0 || fsync(u->fd) < 0)
		return fail(u->s, "flush upload", from);
	if (stat(to, &st) == 0 && (uint64_t)st.st_size == size) {
		/* Content-addressed: the stored copy is the same bytes. */
		unlink(from);
		return 0;
	}
	if (mkdir_p(dir) < 0 || rename(from, to) < 0)
		return fail(u->s, "move upload to", to);
	if (fsync_dir(dir) < 0)
		return fail(u->s, "flush directory", dir);
	return 0;
}

static void
fs_upload_close(struct storage_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

static void
fs_upload_remove(struct storage *s, const char *id)
{
	char path[PATH_MAX];

	upload_path(fs_of(s), path, sizeof(path), id);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("could not remove upload \"%s\"", path);
}

static void
fs_upload_each_old(struct storage *s, long long age, storage_upload_fn *fn,
		   void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	time_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/uploads", fs_of(s)->root);
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

static bool
fs_unready(struct storage *s, uint64_t min_free, char *why, size_t len)
{
	struct storage_fs *fs = fs_of(s);
	uint64_t when = atomic_load(&fs->last_error_ns), now = util_now_ns();
	struct statvfs vfs;
	struct stat st;
	uint64_t avail;

	if (stat(fs->root, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(fs->root, W_OK) < 0) {
		snprintf(why, len, "storage unreachable\n");
		return true;
	}
	if (statvfs(fs->root, &vfs) < 0) {
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
			 strerror(atomic_load(&fs->last_error)));
		return true;
	}
	return false;
}

static const struct storage_ops fs_ops = {
	.name = "filesystem",
	.free = fs_free,
	.blob_open = fs_blob_open,
	.blob_read = fs_blob_read,
	.blob_close = fs_blob_close,
	.blob_stat = fs_blob_stat,
	.blob_remove = fs_blob_remove,
	.blob_each_old = fs_blob_each_old,
	.upload_create = fs_upload_create,
	.upload_open = fs_upload_open,
	.upload_resume = fs_upload_resume,
	.upload_write = fs_upload_write,
	.upload_read = fs_upload_read,
	.upload_truncate = fs_upload_truncate,
	.upload_sync = fs_upload_sync,
	.upload_commit = fs_upload_commit,
	.upload_close = fs_upload_close,
	.upload_remove = fs_upload_remove,
	.upload_each_old = fs_upload_each_old,
	.unready = fs_unready,
};

struct storage *
storage_fs_new(const char *root)
{
	struct storage_fs *fs;
	char path[PATH_MAX];

	if (strlen(root) > PATH_MAX / 2) {
		log_warnx("storage path \"%s\" is too long", root);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/uploads", root);
	if (mkdir_p(path) < 0) {
		log_warn("could not create \"%s\"", path);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/blobs", root);
	if (mkdir_p(path) < 0) {
		log_warn("could not create \"%s\"", path);
		return NULL;
	}
	fs = xmalloc(sizeof(*fs));
	*fs = (struct storage_fs){ .base = { &fs_ops }, .root = xstrdup(root) };
	return &fs->base;
}
