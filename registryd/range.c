/*
 * The two range grammars registryd reads: an upload chunk's Content-Range
 * ("<start>-<end>", inclusive, as the distribution spec writes it; a
 * leading "bytes " is tolerated) and a blob GET's Range (RFC 9110, a
 * single range only).
 */
#include <stdlib.h>

#include "range.h"

/* Parses digits at *s into *v, advancing *s; -1 when there are none. */
static int
parse_num(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t n = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*v = n;
	return 0;
}

/*
 * Offsets and lengths become off_t and int64_t further on, so a range
 * must end below 2^63 - 1: one beyond is refused here, never wrapped.
 */
static int
upload_range_fits(uint64_t start, uint64_t end)
{
	return end >= start && end < (uint64_t)INT64_MAX ? 0 : -1;
}

int
range_parse_upload(const char *s, uint64_t *start, uint64_t *end)
{
	if (s == NULL)
		return -1;
	if (strncmp(s, "bytes ", 6) == 0)
		s += 6;
	if (parse_num(&s, start) < 0 || *s++ != '-' || parse_num(&s, end) < 0)
		return -1;
	if (*s == '/') {	/* "start-end/total", or "/" and an asterisk */
		uint64_t total;
		s++;
		if (!(*s == '*' && s[1] == '\0') &&
		    (parse_num(&s, &total) < 0 || *s != '\0'))
			return -1;
		return upload_range_fits(*start, *end);
	}
	return *s == '\0' ? upload_range_fits(*start, *end) : -1;
}

int
range_parse_request(const char *s, uint64_t size, uint64_t *off,
		    uint64_t *len)
{
	uint64_t a, b;

	if (strncmp(s, "bytes=", 6) != 0)
		return -1;
	s += 6;
	if (*s == '-') {	/* suffix: the last b bytes */
		s++;
		if (parse_num(&s, &b) < 0 || *s != '\0')
			return -1;
		if (b == 0 || size == 0)
			return -2;
		*len = b < size ? b : size;
		*off = size - *len;
		return 0;
	}
	if (parse_num(&s, &a) < 0 || *s++ != '-')
		return -1;
	if (*s == '\0') {
		b = size ? size - 1 : 0;
	} else if (parse_num(&s, &b) < 0 || *s != '\0' || b < a) {
		return -1;
	}
	if (a >= size)
		return -2;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 0;
}
