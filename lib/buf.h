/*
 * A growable byte buffer with a ceiling: an append that would pass `max`
 * fails cleanly instead of growing, so client input never grows memory
 * without bound. The data is always NUL-terminated (not counted in len).
 */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stddef.h>

#include "util.h"

struct buf {
	char *data;
	size_t len, cap, max;
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Appends n bytes; -1 (nothing appended) when len would pass max. */
int buf_append(struct buf *b, const void *p, size_t n) MUST_CHECK;
int buf_puts(struct buf *b, const char *s) MUST_CHECK;
int buf_printf(struct buf *b, const char *fmt, ...) MUST_CHECK
	__attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (who frees it) and reinitialises b. */
char *buf_detach(struct buf *b, size_t *len);

#endif
