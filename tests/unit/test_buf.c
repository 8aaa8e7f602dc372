/*
 * Bounded buffers (lib/buf.c): the ceiling holds for every append path,
 * a refused append leaves the buffer as it was, the data stays
 * NUL-terminated with embedded NULs counted, detach and release reset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"

/* b holds exactly the n bytes of want, NUL-terminated. */
static bool
holds(const struct buf *b, const void *want, size_t n)
{
	if (b->len != n || b->cap < n + 1 || b->data == NULL)
		return false;
	return memcmp(b->data, want, n) == 0 && b->data[n] == '\0';
}

static void
init_release(void)
{
	struct buf b;

	buf_init(&b, 100);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.max == 100);
	/* An empty append still gives a terminated, empty string. */
	CHECK(buf_append(&b, NULL, 0) == 0 && holds(&b, "", 0));
	CHECK(buf_puts(&b, "abc") == 0 && holds(&b, "abc", 3));
	buf_release(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.max == 100);
	/* Released is usable again, with the same ceiling. */
	CHECK(buf_puts(&b, "xyz") == 0 && holds(&b, "xyz", 3));
	buf_release(&b);
	buf_release(&b);
	CHECK(b.data == NULL && b.max == 100);
}

/* An append up to max fits; one byte past it fails and changes nothing. */
static void
ceiling(void)
{
	static const size_t maxes[] = { 1, 2, 255, 256, 257, 1000, 4096 };

	for (size_t i = 0; i < ARRAY_SIZE(maxes); i++) {
		size_t max = maxes[i];
		char *full = xmalloc(max);
		struct buf b;
		char *before;
		size_t cap;

		memset(full, 'x', max);
		buf_init(&b, max);
		CHECK(buf_append(&b, full, max - 1) == 0);
		CHECK(buf_append(&b, "y", 1) == 0);
		full[max - 1] = 'y';
		CHECK(holds(&b, full, max));
		before = b.data;
		cap = b.cap;
		CHECK(buf_append(&b, "z", 1) == -1);
		CHECK(buf_puts(&b, "z") == -1);
		CHECK(buf_printf(&b, "%c", 'z') == -1);
		CHECK(b.data == before && b.cap == cap && holds(&b, full, max));
		/* Nothing more fits, but nothing is still fine. */
		CHECK(buf_append(&b, "", 0) == 0 && holds(&b, full, max));
		CHECK(buf_printf(&b, "%s", "") == 0 && holds(&b, full, max));
		buf_release(&b);
		free(full);
	}
}

/* A single append bigger than what is left fails whole, not in part. */
static void
no_partial(void)
{
	struct buf b;

	buf_init(&b, 10);
	CHECK(buf_puts(&b, "12345") == 0);
	CHECK(buf_puts(&b, "678901") == -1 && holds(&b, "12345", 5));
	CHECK(buf_printf(&b, "%d", 678901) == -1 && holds(&b, "12345", 5));
	CHECK(buf_printf(&b, "%d", 67890) == 0 && holds(&b, "1234567890", 10));
	buf_release(&b);
	/* max 0: only empty appends. */
	buf_init(&b, 0);
	CHECK(buf_append(&b, "a", 1) == -1 && b.data == NULL && b.len == 0);
	CHECK(buf_printf(&b, "a") == -1 && b.data == NULL);
	CHECK(buf_append(&b, "", 0) == 0 && holds(&b, "", 0));
	buf_release(&b);
}

/* Sizes near SIZE_MAX fail on the ceiling without wrapping around. */
static void
huge(void)
{
	static const size_t sizes[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1, SIZE_MAX - 5,
	};
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		CHECK(buf_append(&b, "", sizes[i]) == -1 && b.data == NULL);
	CHECK(buf_puts(&b, "abcdefghij") == 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		CHECK(buf_append(&b, "", sizes[i]) == -1 &&
		      holds(&b, "abcdefghij", 10));
	/* One byte more than what is left. */
	CHECK(buf_append(&b, "", (1 << 20) - 9) == -1);
	buf_release(&b);
}

static void
embedded_nul(void)
{
	struct buf b;

	buf_init(&b, 64);
	CHECK(buf_append(&b, "a\0b", 3) == 0 && holds(&b, "a\0b", 3));
	CHECK(buf_append(&b, "\0", 1) == 0 && holds(&b, "a\0b\0", 4));
	/* buf_puts stops at the first NUL; buf_printf's %c writes one. */
	CHECK(buf_puts(&b, "c\0d") == 0 && holds(&b, "a\0b\0c", 5));
	CHECK(buf_printf(&b, "%c", '\0') == 0 && holds(&b, "a\0b\0c\0", 6));
	buf_release(&b);
}

/* Growth from one byte at a time keeps every byte, across many reallocs. */
static void
growth(void)
{
	size_t n = 100000;
	struct buf b;
	bool same = true;

	buf_init(&b, n);
	for (size_t i = 0; i < n; i++) {
		char c = (char)('a' + i % 26);

		if (buf_append(&b, &c, 1) < 0)
			break;
	}
	CHECK(b.len == n && b.cap > n && b.data[n] == '\0');
	for (size_t i = 0; i < b.len; i++)
		same &= b.data[i] == (char)('a' + i % 26);
	CHECK(same);
	CHECK(buf_append(&b, "a", 1) == -1 && b.len == n);
	buf_release(&b);
	/* printf output longer than the first block. */
	buf_init(&b, 10000);
	CHECK(buf_printf(&b, "%0*d", 5000, 7) == 0 && b.len == 5000 &&
	      b.data[0] == '0' && b.data[4999] == '7' && b.data[5000] == '\0');
	buf_release(&b);
}

static void
detach(void)
{
	struct buf b;
	size_t len = 99;
	char *p;

	/* Never appended to: a malloc'd "", not NULL. */
	buf_init(&b, 8);
	p = buf_detach(&b, &len);
	CHECK(p != NULL && p[0] == '\0' && len == 0);
	free(p);
	CHECK(buf_append(&b, "a\0b", 3) == 0);
	p = buf_detach(&b, &len);
	CHECK(len == 3 && memcmp(p, "a\0b", 4) == 0);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.max == 8);
	free(p);
	/* The ceiling survives the detach; len may be NULL. */
	CHECK(buf_puts(&b, "123456789") == -1);
	CHECK(buf_puts(&b, "12345678") == 0);
	p = buf_detach(&b, NULL);
	CHECK(strcmp(p, "12345678") == 0);
	free(p);
}

void
test_buf(void)
{
	init_release();
	ceiling();
	no_partial();
	huge();
	embedded_nul();
	growth();
	detach();
}
