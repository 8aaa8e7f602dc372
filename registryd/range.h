/*
 * The two range grammars registryd reads (range.c): an upload chunk's
 * Content-Range and a blob GET's Range.
 */
#ifndef BERTH_RANGE_H
#define BERTH_RANGE_H

#include <stdint.h>

#include "util.h"

/* Parses a Content-Range "start-end" (inclusive); -1 when malformed or
 * when end is 2^63 - 1 or more (a length that would not fit an off_t). */
int range_parse_upload(const char *s, uint64_t *start, uint64_t *end)
	MUST_CHECK;
/*
 * Parses a request Range "bytes=a-b" for a resource of size bytes into an
 * [off, off+len) span. 0 = satisfiable, -1 = malformed (serve it all),
 * -2 = unsatisfiable (416).
 */
int range_parse_request(const char *s, uint64_t size, uint64_t *off,
			uint64_t *len) MUST_CHECK;

#endif
