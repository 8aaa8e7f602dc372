/*
 * Arena allocator (see arena.h): a list of blocks, each at least 4 KiB,
 * with bump allocation inside the newest one. Deferred cleanups live in
 * the arena's own memory, a list run newest first at release.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "arena.h"
#include "log.h"
#include "util.h"

#define ARENA_BLOCK 4096
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *p);	/* NULL once cancelled */
	void *p;
};

void
arena_init(struct arena *a)
{
	a->head = NULL;
	a->cleanups = NULL;
}

void
arena_release(struct arena *a)
{
	/* One at a time off the list: a cleanup may defer another. */
	while (a->cleanups != NULL) {
		struct arena_cleanup *c = a->cleanups;

		a->cleanups = c->next;
		if (c->fn != NULL)
			c->fn(c->p);
	}
	while (a->head != NULL) {
		struct arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	void *p;

	/* Rounding up or adding the block header must not wrap. */
	if (n > SIZE_MAX - sizeof(*b) - ARENA_ALIGN)
		fatalx("out of memory allocating %zu bytes", n);
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = arena_alloc(a, len + 1);

	memcpy(p, s, len);
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		BUG("bad format");
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

struct arena_cleanup *
arena_defer(struct arena *a, void (*fn)(void *p), void *p)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof(*c));

	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
	return c;
}

void
arena_cleanup_cancel(struct arena_cleanup *c)
{
	if (c != NULL)
		c->fn = NULL;
}

static void
close_fd(void *p)
{
	close(*(int *)p);
}

struct arena_cleanup *
arena_defer_close(struct arena *a, int fd)
{
	int *box;

	if (fd < 0)
		return NULL;
	box = arena_alloc(a, sizeof(*box));
	*box = fd;
	return arena_defer(a, close_fd, box);
}

static void
unlink_path(void *p)
{
	(void)unlink(p);
}

struct arena_cleanup *
arena_defer_unlink(struct arena *a, const char *path)
{
	return arena_defer(a, unlink_path, arena_strdup(a, path));
}
