/*
 * Small helpers every program uses: allocation that aborts on OOM (inputs
 * are bounded, so OOM is a bug or a sick host), bounded string copies,
 * constant-time comparison and hex encoding.
 */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdbool.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MUST_CHECK __attribute__((warn_unused_result))
#define BUG(...) util_bug(__FILE__, __LINE__, __VA_ARGS__)

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a malloc'd formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most size-1 bytes and terminates; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Compares two buffers in time that depends only on n. */
bool util_consttime_eq(const void *a, const void *b, size_t n);

/* Writes 2*n lowercase hex digits and a NUL into out. */
void util_hex(char *out, const unsigned char *in, size_t n);

/* Fills buf with n random bytes from the kernel; aborts on failure. */
void util_random(void *buf, size_t n);

/* Parses a base-10 unsigned integer that must span all of s. */
int util_parse_u64(const char *s, uint64_t *out) MUST_CHECK;

/* The value of a hex digit, or -1. */
int util_hexval(char c);

/*
 * Splits a comma-separated list into trimmed, non-empty items: sets *out
 * to a malloc'd array of malloc'd strings (free with util_list_free) and
 * returns the count.
 */
int util_list_split(const char *s, char ***out);
void util_list_free(char **list, int n);

/* Monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);

_Noreturn void util_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#include "banned.h"

#endif
