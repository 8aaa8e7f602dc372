/*
 * A per-request arena: many small allocations freed together when the
 * request completes (libmicrohttpd's completion callback), so handlers
 * never free strings one by one.
 */
#ifndef BERTH_ARENA_H
#define BERTH_ARENA_H

#include <stddef.h>

struct arena_block;
struct arena_cleanup;

struct arena {
	struct arena_block *head;
	struct arena_cleanup *cleanups;	/* newest first */
};

void arena_init(struct arena *a);
/* Runs the deferred cleanups, newest first, then frees every block; the
 * arena is empty and usable again. */
void arena_release(struct arena *a);

/*
 * Runs fn(p) when the arena is released, before its memory is freed and
 * newest first, so what a request opened (a query result, a file, a
 * temporary upload) goes with the request. The handle cancels it.
 */
struct arena_cleanup *arena_defer(struct arena *a, void (*fn)(void *p),
				  void *p);
/* Forgets a deferred cleanup without running it (the resource was handed
 * on, or kept); NULL is ignored. */
void arena_cleanup_cancel(struct arena_cleanup *c);
/* Defers close(fd); fd < 0 defers nothing (NULL). */
struct arena_cleanup *arena_defer_close(struct arena *a, int fd);
/* Defers unlink(path) of a copy of path: a temporary file that goes
 * unless cancelled. */
struct arena_cleanup *arena_defer_unlink(struct arena *a, const char *path);
/* Zeroed memory that lives until arena_release(); aborts on OOM. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
