/*
 * Byte sizes (see bytesize.h). Integers only: a limit written "1.5GiB" is
 * refused rather than rounded, so what is stored is what was written.
 */
#include <stdio.h>
#include <strings.h>

#include "bytesize.h"

static const struct {
	const char *unit;
	uint64_t factor;
} units[] = {
	{ "", 1 },
	{ "b", 1 },
	{ "k", UINT64_C(1) << 10 },
	{ "kb", UINT64_C(1000) },
	{ "kib", UINT64_C(1) << 10 },
	{ "m", UINT64_C(1) << 20 },
	{ "mb", UINT64_C(1000000) },
	{ "mib", UINT64_C(1) << 20 },
	{ "g", UINT64_C(1) << 30 },
	{ "gb", UINT64_C(1000000000) },
	{ "gib", UINT64_C(1) << 30 },
	{ "t", UINT64_C(1) << 40 },
	{ "tb", UINT64_C(1000000000000) },
	{ "tib", UINT64_C(1) << 40 },
	{ "p", UINT64_C(1) << 50 },
	{ "pb", UINT64_C(1000000000000000) },
	{ "pib", UINT64_C(1) << 50 },
};

int
bytesize_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > BYTESIZE_MAX / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == ' ' && p[1] != '\0')
		p++;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcasecmp(p, units[i].unit) != 0)
			continue;
		if (v > BYTESIZE_MAX / units[i].factor)
			return -1;
		*out = v * units[i].factor;
		return 0;
	}
	return -1;
}

void
bytesize_format(uint64_t n, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	size_t u = 0;
	uint64_t tenths;

	while (u + 1 < ARRAY_SIZE(names) && n >> (10 * (u + 1)) > 0)
		u++;
	if (u == 0) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return;
	}
	/* Tenths without overflow: the remainder is below 2^(10u). */
	tenths = ((n & ((UINT64_C(1) << (10 * u)) - 1)) * 10) >> (10 * u);
	n >>= 10 * u;
	if (tenths == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)n, names[u]);
	else
		snprintf(buf, len, "%llu.%llu %s", (unsigned long long)n,
			 (unsigned long long)tenths, names[u]);
}
