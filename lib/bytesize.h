/*
 * Byte sizes as people write them ("10GiB", "500 MB", "1048576"), parsed
 * exactly into bytes, and printed back the short way ("1.5 GiB"): quota
 * limits in authd's API and berthctl, and registryd's quota refusals.
 */
#ifndef BERTH_BYTESIZE_H
#define BERTH_BYTESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The largest size bytesize_parse accepts: 4 EiB, as bigint columns and
 * JSON integers hold it with room to add. */
#define BYTESIZE_MAX (UINT64_C(1) << 62)

/*
 * Parses s: a whole number of bytes, optionally followed (after at most
 * one space) by a unit: B, kB/KB, MB, GB, TB, PB (powers of 1000) or KiB,
 * MiB, GiB, TiB, PiB (powers of 1024), in any case; K, M, G, T and P alone
 * are the binary ones. No sign, no fraction, nothing else; at most
 * BYTESIZE_MAX. 0 with *out set, or -1 (*out untouched).
 */
int bytesize_parse(const char *s, uint64_t *out) MUST_CHECK;

/*
 * Writes n into buf (len bytes, at least 16) in the largest binary unit
 * that keeps it at 1 or more, with one decimal when it is not whole:
 * "0 B", "512 B", "1.5 KiB", "10 GiB". Rounds down, so that it never
 * shows more than there is.
 */
void bytesize_format(uint64_t n, char *buf, size_t len);

#endif
