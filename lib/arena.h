/*
 * A per-request arena: many small allocations freed together when the
 * request completes (libmicrohttpd's completion callback), so handlers
 * never free strings one by one.
 */
#ifndef BERTH_ARENA_H
#define BERTH_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
};

void arena_init(struct arena *a);
/* Frees every block; the arena is empty and usable again. */
void arena_release(struct arena *a);
/* Zeroed memory that lives until arena_release(); aborts on OOM. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
