/*
 * The storage interface (see storage.h): each call goes to the driver's
 * table. Kept apart from the drivers so that a caller links one seam.
 */
#include <errno.h>

#include "storage.h"

void
storage_free(struct storage *s)
{
	if (s != NULL)
		s->ops->free(s);
}

const char *
storage_driver(const struct storage *s)
{
	return s->ops->name;
}

int
storage_blob_open(struct storage *s, const char *digest,
		  struct storage_blob *b)
{
	*b = (struct storage_blob){ .s = s, .fd = -1 };
	return s->ops->blob_open(s, digest, b);
}

ssize_t
storage_blob_read(struct storage_blob *b, void *buf, size_t len,
		  uint64_t off)
{
	return b->s->ops->blob_read(b, buf, len, off);
}

void
storage_blob_close(struct storage_blob *b)
{
	if (b->s != NULL)
		b->s->ops->blob_close(b);
	b->s = NULL;
}

char *
storage_blob_url(struct storage *s, const char *digest, unsigned expires)
{
	return s->ops->blob_url ? s->ops->blob_url(s, digest, expires) : NULL;
}

int
storage_blob_stat(struct storage *s, const char *digest, uint64_t *size)
{
	return s->ops->blob_stat(s, digest, size);
}

int
storage_blob_remove(struct storage *s, const char *const *digests, size_t n,
		    bool *gone)
{
	return n == 0 ? 0 : s->ops->blob_remove(s, digests, n, gone);
}

void
storage_blob_each_old(struct storage *s, long long age, storage_blob_fn *fn,
		      void *arg)
{
	s->ops->blob_each_old(s, age, fn, arg);
}

int
storage_upload_create(struct storage *s, const char *id)
{
	return s->ops->upload_create(s, id);
}

int
storage_upload_open(struct storage *s, const char *id,
		    struct storage_upload *u)
{
	*u = (struct storage_upload){ .s = s, .id = id, .fd = -1 };
	if (s->ops->upload_open(s, id, u) < 0) {
		u->s = NULL;
		return -1;
	}
	return 0;
}

int
storage_upload_resume(struct storage_upload *u, uint64_t size,
		      const char *state)
{
	return u->s->ops->upload_resume(u, size, state);
}

int
storage_upload_write(struct storage_upload *u, const void *buf, size_t len,
		     uint64_t off)
{
	return u->s->ops->upload_write(u, buf, len, off);
}

ssize_t
storage_upload_read(struct storage_upload *u, void *buf, size_t len,
		    uint64_t off)
{
	return u->s->ops->upload_read(u, buf, len, off);
}

int
storage_upload_truncate(struct storage_upload *u, uint64_t size)
{
	return u->s->ops->upload_truncate(u, size);
}

int
storage_upload_sync(struct storage_upload *u)
{
	return u->s->ops->upload_sync(u);
}

const char *
storage_upload_state(struct storage_upload *u)
{
	return u->s->ops->upload_state ? u->s->ops->upload_state(u) : NULL;
}

int
storage_upload_commit(struct storage_upload *u, uint64_t size,
		      const char *digest)
{
	return u->s->ops->upload_commit(u, size, digest);
}

void
storage_upload_close(struct storage_upload *u)
{
	if (u->s != NULL)
		u->s->ops->upload_close(u);
	u->s = NULL;
}

void
storage_upload_remove(struct storage *s, const char *id)
{
	s->ops->upload_remove(s, id);
}

void
storage_upload_each_old(struct storage *s, long long age,
			storage_upload_fn *fn, void *arg)
{
	s->ops->upload_each_old(s, age, fn, arg);
}

bool
storage_unready(struct storage *s, uint64_t min_free, char *why, size_t len)
{
	return s->ops->unready(s, min_free, why, len);
}

bool
storage_full_errno(int err)
{
	return err == ENOSPC || err == EDQUOT;
}
