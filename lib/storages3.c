/*
 * The S3 driver (see storage.h): blobs and uploads as objects in one
 * bucket, any S3-compatible store (AWS, Ceph RGW, MinIO), through lib/s3.c.
 *
 * KEYS under the configured prefix: blobs/<alg>/<2 hex>/<hex> (the
 * filesystem's layout), and per upload uploads/<id>/data (the target of
 * its multipart upload) and uploads/<id>/tail.<gen> (bytes not yet a part).
 *
 * UPLOADS. Bytes are buffered in memory until they make a part (part_size,
 * at least S3's 5 MiB), which goes up with UploadPart as the body arrives.
 * A sync stores what is left, less than a part, as a new tail object (a
 * new generation each time, so that a crash between the PUT and the
 * database UPDATE leaves the tail the row names intact). The state string
 * the row keeps (storage_upload_state) names the multipart upload, its
 * parts and the tail; resume reads the tail back, so any node continues.
 * Parts a failed request sent past the durable state are left unnamed:
 * the next part of that number replaces one, and CompleteMultipartUpload
 * drops the rest.
 *
 * COMMIT. A blob that never filled a part is PUT from memory straight to
 * its key, with x-amz-content-sha256 set to its digest, so the store
 * verifies the bytes too. A bigger one completes its multipart upload
 * and is copied once, server-side, to its key (digests are known only at
 * the end of a chunked push, and object keys are fixed when a multipart
 * upload starts). The upload's objects go afterwards.
 *
 * LOCKS are the caller's (storage_s3_config's lock and unlock): object
 * storage has none.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "log.h"
#include "s3.h"
#include "storage.h"

#define S3_MIN_PART (5u << 20)
#define S3_MAX_PARTS 10000
/* Bytes fetched per ranged GET when a blob is read through the node. */
#define READ_WINDOW (4u << 20)
/* CopyObject's limit; bigger objects are copied part by part. */
#define COPY_MAX (5ull << 30)
/* How long a reachability probe's answer holds, for /readyz. */
#define PROBE_HOLD_NS (5ull * 1000000000ull)

struct storage_s3 {
	struct storage base;
	struct s3_client *c;
	char *prefix;
	size_t part_size;
	int (*lock)(const char *id, void *arg);
	void (*unlock)(const char *id, void *arg);
	void *lock_arg;
	/* /readyz: the last probe (util_now_ns) and its verdict; the last
	 * failed write. */
	pthread_mutex_t probe_mu;
	uint64_t probe_ns;
	bool probe_ok;
	char probe_why[256];
	_Atomic uint64_t last_error_ns;
};

struct part {
	char etag[72];
	uint64_t size;
};

/* An open upload's state: parts sent, then buf holding what follows. */
struct s3_upload {
	char *mpu;		/* the multipart upload's id, or NULL */
	struct part *parts;
	int n_parts, cap_parts;
	int durable_parts;	/* parts the last state names */
	uint64_t parts_bytes;	/* the sum of parts' sizes */
	unsigned gen;		/* the tail generation the state names */
	bool dirty;		/* written since the last sync or resume */
	char *buf;
	size_t len, cap;
	char *state;
};

/* An open blob: a window of it, fetched by ranged GETs. */
struct s3_blob {
	char key[512];
	char *win;
	uint64_t win_off;
	size_t win_len;
};

static struct storage_s3 *
s3_of(struct storage *s)
{
	return (struct storage_s3 *)s;
}

static void
note_error(struct storage_s3 *d)
{
	atomic_store(&d->last_error_ns, util_now_ns());
}

/* errno for a failed call, from its kind. */
static int
fail(const struct s3_result *res)
{
	switch (res->kind) {
	case S3_NOT_FOUND:
		errno = ENOENT;
		break;
	case S3_DENIED:
		errno = EACCES;
		break;
	default:
		errno = EIO;
	}
	return -1;
}

static void
blob_key(const struct storage_s3 *d, char *out, size_t len,
	 const char *digest)
{
	const char *hex = digest_hex(digest);

	snprintf(out, len, "%sblobs/%.*s/%.2s/%s", d->prefix,
		 (int)(hex - 1 - digest), digest, hex, hex);
}

static void
upload_key(const struct storage_s3 *d, char *out, size_t len, const char *id,
	   const char *what)
{
	snprintf(out, len, "%suploads/%s/%s", d->prefix, id, what);
}

static void
tail_key(const struct storage_s3 *d, char *out, size_t len, const char *id,
	 unsigned gen)
{
	char what[24];

	snprintf(what, sizeof(what), "tail.%u", gen);
	upload_key(d, out, len, id, what);
}

/* ---- blobs ------------------------------------------------------------ */

static int
s3d_blob_open(struct storage *s, const char *digest, struct storage_blob *b)
{
	struct storage_s3 *d = s3_of(s);
	struct s3_blob *o = xmalloc(sizeof(*o));
	struct s3_result res;

	*o = (struct s3_blob){ 0 };
	blob_key(d, o->key, sizeof(o->key), digest);
	if (s3_head_object(d->c, o->key, &b->size, &res) < 0) {
		free(o);
		return fail(&res);
	}
	b->priv = o;
	return 0;
}

static ssize_t
s3d_blob_read(struct storage_blob *b, void *buf, size_t len, uint64_t off)
{
	struct storage_s3 *d = s3_of(b->s);
	struct s3_blob *o = b->priv;
	struct s3_result res;
	size_t want;

	if (off >= b->size)
		return 0;
	if (off < o->win_off || off >= o->win_off + o->win_len) {
		want = b->size - off < READ_WINDOW ? (size_t)(b->size - off)
						   : READ_WINDOW;
		if (o->win == NULL)
			o->win = xmalloc(READ_WINDOW);
		o->win_len = 0;
		if (s3_get_range(d->c, o->key, off, want, o->win, &o->win_len,
				 &res) < 0 || o->win_len == 0)
			return fail(&res);
		o->win_off = off;
	}
	want = (size_t)(o->win_off + o->win_len - off);
	if (want > len)
		want = len;
	memcpy(buf, o->win + (off - o->win_off), want);
	return (ssize_t)want;
}

static void
s3d_blob_close(struct storage_blob *b)
{
	struct s3_blob *o = b->priv;

	if (o != NULL)
		free(o->win);
	free(o);
	b->priv = NULL;
}

static int
s3d_blob_stat(struct storage *s, const char *digest, uint64_t *size)
{
	struct storage_s3 *d = s3_of(s);
	struct s3_result res;
	char key[512];

	blob_key(d, key, sizeof(key), digest);
	return s3_head_object(d->c, key, size, &res) < 0 ? fail(&res) : 0;
}

static int
s3d_blob_remove(struct storage *s, const char *const *digests, size_t n,
		bool *gone)
{
	struct storage_s3 *d = s3_of(s);
	char **keys = xmalloc(n * sizeof(char *));
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		keys[i] = xmalloc(512);
		blob_key(d, keys[i], 512, digests[i]);
	}
	/* DeleteObjects takes up to 1000 keys a request. */
	for (size_t i = 0; i < n; i += 1000) {
		size_t k = n - i < 1000 ? n - i : 1000;

		if (s3_delete_objects(d->c, (const char *const *)keys + i, k,
				      gone + i) < 0)
			ret = -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!gone[i])
			log_warnx("could not remove blob %s from the bucket",
				  digests[i]);
		free(keys[i]);
	}
	free(keys);
	return ret;
}

struct each_blob {
	struct storage_s3 *d;
	long long age;
	time_t now;
	storage_blob_fn *fn;
	void *arg;
};

/* blobs/<alg>/<xx>/<hex> back to "<alg>:<hex>". */
static void
each_blob_key(const char *key, uint64_t size, time_t mtime, void *arg)
{
	struct each_blob *e = arg;
	const char *p = key + strlen(e->d->prefix) + strlen("blobs/");
	const char *slash = strchr(p, '/'), *last = strrchr(p, '/');
	char digest[DIGEST_MAX];

	if (slash == NULL || last == slash || e->now - mtime < e->age ||
	    (size_t)snprintf(digest, sizeof(digest), "%.*s:%s",
			     (int)(slash - p), p, last + 1) >= sizeof(digest))
		return;
	e->fn(digest, size, e->arg);
}

static void
s3d_blob_each_old(struct storage *s, long long age, storage_blob_fn *fn,
		  void *arg)
{
	struct storage_s3 *d = s3_of(s);
	struct each_blob e = { d, age, time(NULL), fn, arg };
	char prefix[512];

	snprintf(prefix, sizeof(prefix), "%sblobs/", d->prefix);
	if (s3_list_objects(d->c, prefix, each_blob_key, &e) < 0)
		log_warnx("could not list the bucket's blobs");
}

static char *
s3d_blob_url(struct storage *s, const char *digest, unsigned expires)
{
	struct storage_s3 *d = s3_of(s);
	char key[512];

	blob_key(d, key, sizeof(key), digest);
	return s3_presign_get(d->c, key, expires);
}

/* ---- upload state ----------------------------------------------------- */

static void
parts_push(struct s3_upload *u, const char *etag, uint64_t size)
{
	if (u->n_parts == u->cap_parts) {
		u->cap_parts = u->cap_parts ? 2 * u->cap_parts : 16;
		u->parts = xrealloc(u->parts,
				    (size_t)u->cap_parts * sizeof(*u->parts));
	}
	util_strlcpy(u->parts[u->n_parts].etag, etag,
		     sizeof(u->parts[u->n_parts].etag));
	u->parts[u->n_parts++].size = size;
	u->parts_bytes += size;
}

/* The state: "s3 1 <mpu or -> <gen> <tail bytes> <n> <etag>:<size>...". */
static char *
state_format(const struct s3_upload *u)
{
	struct buf b;
	char *s;

	buf_init(&b, 4u << 20);
	if (buf_printf(&b, "s3 1 %s %u %zu %d", u->mpu ? u->mpu : "-",
		       u->gen, u->len, u->n_parts) < 0)
		BUG("unbounded buffer");
	for (int i = 0; i < u->n_parts; i++)
		if (buf_printf(&b, " %s:%" PRIu64, u->parts[i].etag,
			       u->parts[i].size) < 0)
			BUG("unbounded buffer");
	s = buf_detach(&b, NULL);
	return s;
}

/* Parses a state into u (parts, mpu, gen); *tail gets the tail's size. */
static int
state_parse(struct s3_upload *u, const char *state, uint64_t *tail)
{
	char mpu[512], etag[72];
	int n, used, parts;
	uint64_t size;
	const char *p;

	if (sscanf(state, "s3 1 %511s %u %" SCNu64 " %d%n", mpu, &u->gen,
		   tail, &parts, &used) != 4 || parts < 0 ||
	    parts > S3_MAX_PARTS)
		return -1;
	if (strcmp(mpu, "-") != 0)
		u->mpu = xstrdup(mpu);
	for (p = state + used, n = 0; n < parts; n++, p += used) {
		if (sscanf(p, " %71[^: ]:%" SCNu64 "%n", etag, &size, &used) !=
		    2)
			return -1;
		parts_push(u, etag, size);
	}
	u->durable_parts = u->n_parts;
	return *p == '\0' ? 0 : -1;
}

static void
upload_reset(struct s3_upload *u)
{
	free(u->mpu);
	free(u->parts);
	free(u->buf);
	free(u->state);
	*u = (struct s3_upload){ 0 };
}

/* ---- uploads ---------------------------------------------------------- */

static int
s3d_upload_create(struct storage *s, const char *id)
{
	/* The session's row is its record; objects come with its bytes. */
	(void)s;
	(void)id;
	return 0;
}

static int
s3d_upload_open(struct storage *s, const char *id, struct storage_upload *u)
{
	struct storage_s3 *d = s3_of(s);
	struct s3_upload *p;

	if (d->lock(id, d->lock_arg) < 0)
		return -1;
	p = xmalloc(sizeof(*p));
	*p = (struct s3_upload){ 0 };
	u->priv = p;
	return 0;
}

static int
s3d_upload_resume(struct storage_upload *u, uint64_t size, const char *state)
{
	struct storage_s3 *d = s3_of(u->s);
	struct s3_upload *p = u->priv;
	struct s3_result res;
	uint64_t tail = 0;
	char key[512];

	upload_reset(p);
	if (state == NULL)
		return size == 0 ? 0 : (errno = EIO, -1);
	if (state_parse(p, state, &tail) < 0 || p->parts_bytes + tail != size ||
	    tail >= d->part_size) {
		log_warnx("upload %s: unusable storage state", u->id);
		upload_reset(p);
		errno = EIO;
		return -1;
	}
	p->cap = d->part_size;
	p->buf = xmalloc(p->cap);
	if (tail > 0) {
		tail_key(d, key, sizeof(key), u->id, p->gen);
		if (s3_get_range(d->c, key, 0, tail, p->buf, &p->len, &res) <
			    0 ||
		    p->len != tail) {
			log_warnx("upload %s: could not read its tail back",
				  u->id);
			return fail(&res);
		}
	}
	return 0;
}

/* Sends the first part_size bytes of the buffer as the next part. */
static int
send_part(struct storage_upload *u)
{
	struct storage_s3 *d = s3_of(u->s);
	struct s3_upload *p = u->priv;
	struct s3_result res;
	char key[512], etag[72];

	if (p->n_parts == S3_MAX_PARTS) {
		errno = EFBIG;
		return -1;
	}
	upload_key(d, key, sizeof(key), u->id, "data");
	if (p->mpu == NULL &&
	    s3_mpu_create(d->c, key, &p->mpu, &res) < 0)
		goto fail;
	if (s3_mpu_part(d->c, key, p->mpu, p->n_parts + 1, p->buf,
			d->part_size, etag, sizeof(etag), &res) < 0)
		goto fail;
	parts_push(p, etag, d->part_size);
	memmove(p->buf, p->buf + d->part_size, p->len - d->part_size);
	p->len -= d->part_size;
	return 0;
fail:
	note_error(d);
	log_warnx("upload %s: could not send part %d: %s", u->id,
		  p->n_parts + 1, res.message);
	return fail(&res);
}

static int
s3d_upload_write(struct storage_upload *u, const void *buf, size_t len,
		 uint64_t off)
{
	struct storage_s3 *d = s3_of(u->s);
	struct s3_upload *p = u->priv;
	const char *in = buf;

	if (off != p->parts_bytes + p->len) {
		errno = EINVAL;		/* object uploads only append */
		return -1;
	}
	if (p->buf == NULL) {
		p->cap = d->part_size;
		p->buf = xmalloc(p->cap);
	}
	p->dirty = true;
	while (len > 0) {
		size_t n = p->cap - p->len < len ? p->cap - p->len : len;

		memcpy(p->buf + p->len, in, n);
		p->len += n;
		in += n;
		len -= n;
		if (p->len == d->part_size && send_part(u) < 0)
			return -1;
	}
	return 0;
}

static ssize_t
s3d_upload_read(struct storage_upload *u, void *buf, size_t len,
		uint64_t off)
{
	struct s3_upload *p = u->priv;

	/* Parts cannot be read before the upload completes. */
	if (p->n_parts > 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (off >= p->len)
		return 0;
	if (len > p->len - off)
		len = (size_t)(p->len - off);
	memcpy(buf, p->buf + off, len);
	return (ssize_t)len;
}

static int
s3d_upload_truncate(struct storage_upload *u, uint64_t size)
{
	struct s3_upload *p = u->priv;

	if (size == p->parts_bytes + p->len)
		return 0;
	/* Only a cut back to the durable state happens (a failed request),
	 * and the upload is closed next: the row's state is what stands. */
	upload_reset(p);
	return 0;
}

static int
s3d_upload_sync(struct storage_upload *u)
{
	struct storage_s3 *d = s3_of(u->s);
	struct s3_upload *p = u->priv;
	struct s3_result res;
	char key[512], hash[DIGEST_MAX];
	struct digest_ctx ctx;

	if (!p->dirty)
		return 0;
	if (p->len > 0) {
		digest_init(&ctx, DIGEST_SHA256);
		digest_update(&ctx, p->buf, p->len);
		digest_final(&ctx, hash);
		tail_key(d, key, sizeof(key), u->id, p->gen + 1);
		if (s3_put_object(d->c, key, p->buf, p->len, digest_hex(hash),
				  &res) < 0) {
			note_error(d);
			log_warnx("upload %s: could not store its tail: %s",
				  u->id, res.message);
			return fail(&res);
		}
		p->gen++;
	}
	p->durable_parts = p->n_parts;
	p->dirty = false;
	return 0;
}

static const char *
s3d_upload_state(struct storage_upload *u)
{
	struct s3_upload *p = u->priv;

	free(p->state);
	p->state = state_format(p);
	return p->state;
}

/* Removes every object of upload id and aborts its multipart uploads. */
static void
drop_upload(struct storage_s3 *d, const char *id)
{
	char prefix[512];

	snprintf(prefix, sizeof(prefix), "%suploads/%s/", d->prefix, id);
	if (s3_mpu_abort_all(d->c, prefix) < 0 ||
	    s3_delete_prefix(d->c, prefix) < 0)
		log_warnx("upload %s: objects left in the bucket", id);
}

/* Completes the multipart upload with the buffer as its last part, then
 * copies the object to key. */
static int
commit_parts(struct storage_upload *u, const char *key, uint64_t size)
{
	struct storage_s3 *d = s3_of(u->s);
	struct s3_upload *p = u->priv;
	struct s3_result res;
	char data[512], etag[72];
	const char **etags;
	int ret = -1;

	upload_key(d, data, sizeof(data), u->id, "data");
	if (p->len > 0) {
		if (s3_mpu_part(d->c, data, p->mpu, p->n_parts + 1, p->buf,
				p->len, etag, sizeof(etag), &res) < 0)
			goto out;
		parts_push(p, etag, p->len);
		p->len = 0;
	}
	etags = xmalloc((size_t)p->n_parts * sizeof(char *));
	for (int i = 0; i < p->n_parts; i++)
		etags[i] = p->parts[i].etag;
	ret = s3_mpu_complete(d->c, data, p->mpu, etags, p->n_parts, &res);
	free(etags);
	if (ret < 0)
		goto out;
	ret = size <= COPY_MAX ? s3_copy_object(d->c, data, key, &res)
			       : s3_copy_parts(d->c, data, key, size,
					       d->part_size, &res);
out:
	if (ret < 0) {
		note_error(d);
		log_warnx("upload %s: could not complete it: %s", u->id,
			  res.message);
		return fail(&res);
	}
	return 0;
}

static int
s3d_upload_commit(struct storage_upload *u, uint64_t size, const char *digest)
{
	struct storage_s3 *d = s3_of(u->s);
	struct s3_upload *p = u->priv;
	struct s3_result res;
	char key[512], hash[DIGEST_MAX];
	const char *sha = NULL;
	struct digest_ctx ctx;
	uint64_t have;

	if (size != p->parts_bytes + p->len) {
		errno = EINVAL;
		return -1;
	}
	blob_key(d, key, sizeof(key), digest);
	/* Content-addressed: a stored copy is the same bytes. */
	if (s3_head_object(d->c, key, &have, &res) == 0 && have == size) {
		drop_upload(d, u->id);
		return 0;
	}
	if (p->n_parts == 0) {
		if (strncmp(digest, "sha256:", 7) == 0) {
			sha = digest_hex(digest);
		} else {
			digest_init(&ctx, DIGEST_SHA256);
			digest_update(&ctx, p->buf ? p->buf : "", p->len);
			digest_final(&ctx, hash);
			sha = digest_hex(hash);
		}
		if (s3_put_object(d->c, key, p->buf ? p->buf : "", p->len, sha,
				  &res) < 0) {
			note_error(d);
			log_warnx("upload %s: could not store blob %s: %s",
				  u->id, digest, res.message);
			return fail(&res);
		}
	} else if (commit_parts(u, key, size) < 0) {
		return -1;
	}
	drop_upload(d, u->id);
	return 0;
}

static void
s3d_upload_close(struct storage_upload *u)
{
	struct storage_s3 *d = s3_of(u->s);

	if (u->priv == NULL)
		return;
	upload_reset(u->priv);
	free(u->priv);
	u->priv = NULL;
	d->unlock(u->id, d->lock_arg);
}

static void
s3d_upload_remove(struct storage *s, const char *id)
{
	drop_upload(s3_of(s), id);
}

/* The uploads with objects or multipart uploads, for the orphan purge. */
struct each_upload {
	struct storage_s3 *d;
	long long age;
	time_t now;
	char (*ids)[37];
	size_t n, cap;
};

static void
each_upload_key(const char *key, uint64_t size, time_t mtime, void *arg)
{
	struct each_upload *e = arg;
	const char *p = key + strlen(e->d->prefix) + strlen("uploads/");

	(void)size;
	if (strlen(p) < 37 || p[36] != '/' || e->now - mtime < e->age)
		return;
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->ids[i], p, 36) == 0)
			return;
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		e->ids = xrealloc(e->ids, e->cap * sizeof(*e->ids));
	}
	util_strlcpy(e->ids[e->n++], p, 37);
}

static void
s3d_upload_each_old(struct storage *s, long long age, storage_upload_fn *fn,
		    void *arg)
{
	struct storage_s3 *d = s3_of(s);
	struct each_upload e = { d, age, time(NULL), NULL, 0, 0 };
	char prefix[512];

	snprintf(prefix, sizeof(prefix), "%suploads/", d->prefix);
	if (s3_list_objects(d->c, prefix, each_upload_key, &e) < 0 ||
	    s3_mpu_list(d->c, prefix, each_upload_key, &e) < 0)
		log_warnx("could not list the bucket's uploads");
	for (size_t i = 0; i < e.n; i++)
		fn(e.ids[i], arg);
	free(e.ids);
}

static bool
s3d_unready(struct storage *s, uint64_t min_free, char *why, size_t len)
{
	struct storage_s3 *d = s3_of(s);
	uint64_t now = util_now_ns(), when = atomic_load(&d->last_error_ns);
	struct s3_result res;
	bool ok;

	(void)min_free;		/* a bucket does not fill up */
	pthread_mutex_lock(&d->probe_mu);
	if (d->probe_ns == 0 || now - d->probe_ns > PROBE_HOLD_NS) {
		d->probe_ok = s3_probe(d->c, &res) == 0;
		if (!d->probe_ok)
			util_strlcpy(d->probe_why, res.message,
				     sizeof(d->probe_why));
		d->probe_ns = now;
	}
	ok = d->probe_ok;
	if (!ok)
		snprintf(why, len, "storage unreachable: %s\n", d->probe_why);
	pthread_mutex_unlock(&d->probe_mu);
	if (ok && when != 0 && now - when < STORAGE_ERROR_HOLD * 1000000000ull) {
		snprintf(why, len, "storage unwritable: a write to the bucket "
			 "failed %llus ago\n",
			 (unsigned long long)((now - when) / 1000000000ull));
		return true;
	}
	return !ok;
}

static void
s3d_free(struct storage *s)
{
	struct storage_s3 *d = s3_of(s);

	s3_client_free(d->c);
	pthread_mutex_destroy(&d->probe_mu);
	free(d->prefix);
	free(d);
}

static const struct storage_ops s3_ops = {
	.name = "s3",
	.free = s3d_free,
	.blob_open = s3d_blob_open,
	.blob_read = s3d_blob_read,
	.blob_close = s3d_blob_close,
	.blob_stat = s3d_blob_stat,
	.blob_remove = s3d_blob_remove,
	.blob_each_old = s3d_blob_each_old,
	.upload_create = s3d_upload_create,
	.upload_open = s3d_upload_open,
	.upload_resume = s3d_upload_resume,
	.upload_write = s3d_upload_write,
	.upload_read = s3d_upload_read,
	.upload_truncate = s3d_upload_truncate,
	.upload_sync = s3d_upload_sync,
	.upload_state = s3d_upload_state,
	.upload_commit = s3d_upload_commit,
	.upload_close = s3d_upload_close,
	.upload_remove = s3d_upload_remove,
	.upload_each_old = s3d_upload_each_old,
	.unready = s3d_unready,
	.blob_url = s3d_blob_url,
};

struct storage *
storage_s3_new(const struct storage_s3_config *c, char *err, size_t errlen)
{
	struct storage_s3 *d;
	struct s3_result res;

	if (c->part_size < S3_MIN_PART) {
		snprintf(err, errlen, "s3_part_size must be at least 5 MiB");
		return NULL;
	}
	d = xmalloc(sizeof(*d));
	*d = (struct storage_s3){ .base = { &s3_ops } };
	if ((d->c = s3_client_new(c, err, errlen)) == NULL) {
		free(d);
		return NULL;
	}
	d->prefix = xstrdup(c->prefix ? c->prefix : "");
	d->part_size = c->part_size;
	d->lock = c->lock;
	d->unlock = c->unlock;
	d->lock_arg = c->lock_arg;
	pthread_mutex_init(&d->probe_mu, NULL);
	/* Wrong credentials or a missing bucket stop the start. */
	if (s3_probe(d->c, &res) < 0) {
		snprintf(err, errlen, "bucket \"%s\" at %s: %s", c->bucket,
			 c->endpoint, res.message);
		s3d_free(&d->base);
		return NULL;
	}
	return &d->base;
}
