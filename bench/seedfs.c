/*
 * seedfs: writes CNCF Distribution's filesystem layout directly, so that
 * bench/run.sh can give Distribution 100,000 repositories or tags in
 * seconds instead of 100,000 pushes.  The layout is Distribution 2.x's
 * (registry/storage/paths.go), under ROOT/docker/registry/v2:
 *
 *   repositories/<name>/_layers/      the catalog walk takes a directory
 *   repositories/<name>/_manifests/   holding _layers for a repository and
 *                                     never reads below either
 *   repositories/<name>/_manifests/tags/<tag>/current/link    "sha256:..."
 *
 * (A tag pushed through the API also gets index/sha256/<hex>/link, which
 * only tag deletion reads; it is left out to keep the seed small.)
 *
 * Usage: seedfs ROOT repos PREFIX COUNT   <PREFIX>/r000000 ... each with
 *                                         empty _layers and _manifests
 *        seedfs ROOT tags REPO COUNT DIGEST   tags t000000 ... on REPO,
 *                                         each pointing at DIGEST
 *        seedfs ROOT blobs berth|dist COUNT   COUNT distinct 1 KiB blobs
 *                                         no manifest references, in
 *                                         Berth's storage layout or in
 *                                         Distribution's; their digests
 *                                         on stdout, for the GC benchmark
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define PATH_LEN 4096

static int
fail(const char *what, const char *path)
{
	fprintf(stderr, "seedfs: could not %s \"%s\": %s\n", what, path,
		strerror(errno));
	return -1;
}

/* Formats a path into out (PATH_LEN bytes); -1 when it does not fit. */
static int __attribute__((format(printf, 2, 3)))
path_fmt(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_LEN) {
		fprintf(stderr, "seedfs: path too long: \"%.60s...\"\n", out);
		return -1;
	}
	return 0;
}

/* mkdir -p */
static int
mkdirs(const char *path)
{
	char tmp[PATH_LEN];
	size_t i, n = strlen(path);

	if (n >= sizeof(tmp))
		return fail("create (path too long)", path);
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return fail("create directory", tmp);
		tmp[i] = path[i];
	}
	return 0;
}

static int
write_link(const char *dir, const char *digest)
{
	char path[PATH_LEN];
	int fd;
	size_t n = strlen(digest);

	if (mkdirs(dir) < 0)
		return -1;
	if (path_fmt(path, "%s/link", dir) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("create", path);
	if (write(fd, digest, n) != (ssize_t)n) {
		close(fd);
		return fail("write", path);
	}
	return close(fd) < 0 ? fail("close", path) : 0;
}

static int
seed_repos(const char *v2, const char *prefix, long count)
{
	char dir[PATH_LEN];

	for (long i = 0; i < count; i++) {
		if (path_fmt(dir, "%s/repositories/%s/r%06ld/_layers", v2,
			     prefix, i) < 0 ||
		    mkdirs(dir) < 0)
			return -1;
		if (path_fmt(dir, "%s/repositories/%s/r%06ld/_manifests", v2,
			     prefix, i) < 0 ||
		    mkdirs(dir) < 0)
			return -1;
	}
	return 0;
}

static int
seed_tags(const char *v2, const char *repo, long count, const char *digest)
{
	char dir[PATH_LEN];

	if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71) {
		fprintf(stderr, "seedfs: \"%s\" is not a sha256 digest\n",
			digest);
		return -1;
	}
	for (long i = 0; i < count; i++) {
		if (path_fmt(
			dir,
			"%s/repositories/%s/_manifests/tags/t%06ld/current", v2,
			repo, i) < 0 ||
		    write_link(dir, digest) < 0)
			return -1;
	}
	return 0;
}

/* Writes len bytes of data to a new file at path. */
static int
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("create", path);
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return fail("write", path);
	}
	return close(fd) < 0 ? fail("close", path) : 0;
}

static int
seed_blobs(const char *root, const char *layout, long count)
{
	bool dist = !strcmp(layout, "dist");
	char data[1024], hex[65], dir[PATH_LEN], path[PATH_LEN];
	unsigned char md[32];
	unsigned int mdlen;

	memset(data, 'x', sizeof(data));
	for (long i = 0; i < count; i++) {
		snprintf(data, sizeof(data), "gc bench blob %ld of %ld, pid %ld\n",
			 i, count, (long)getpid());
		if (!EVP_Digest(data, sizeof(data), md, &mdlen, EVP_sha256(),
				NULL))
			return fail("hash", "blob");
		for (int j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", md[j]);
		if ((dist ? path_fmt(dir,
				     "%s/docker/registry/v2/blobs/sha256/%.2s/%s",
				     root, hex, hex)
			  : path_fmt(dir, "%s/blobs/sha256/%.2s", root, hex)) <
			    0 ||
		    mkdirs(dir) < 0 ||
		    (dist ? path_fmt(path, "%s/data", dir)
			  : path_fmt(path, "%s/%s", dir, hex)) < 0 ||
		    write_file(path, data, sizeof(data)) < 0)
			return -1;
		printf("sha256:%s\n", hex);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char v2[PATH_LEN];
	long count;

	if (argc < 5 || (count = atol(argv[4])) < 0 ||
	    (strcmp(argv[2], "repos") != 0 && strcmp(argv[2], "tags") != 0 &&
	     strcmp(argv[2], "blobs") != 0) ||
	    (!strcmp(argv[2], "tags") && argc != 6) ||
	    (!strcmp(argv[2], "blobs") && strcmp(argv[3], "berth") != 0 &&
	     strcmp(argv[3], "dist") != 0)) {
		fprintf(stderr, "usage: seedfs ROOT repos PREFIX COUNT\n"
				"       seedfs ROOT tags REPO COUNT DIGEST\n"
				"       seedfs ROOT blobs berth|dist COUNT\n");
		return 2;
	}
	if (!strcmp(argv[2], "blobs"))
		return seed_blobs(argv[1], argv[3], count) < 0;
	if (path_fmt(v2, "%s/docker/registry/v2", argv[1]) < 0)
		return 1;
	if (!strcmp(argv[2], "repos"))
		return seed_repos(v2, argv[3], count) < 0;
	return seed_tags(v2, argv[3], count, argv[5]) < 0;
}
