/*
 * Tag patterns (tagglob.c): the globs that immutability rules and
 * retention policies match tag names with. PostgreSQL does the matching
 * (berth_glob_like, schema/0009_immutable.sql); this is the grammar authd
 * checks a pattern against before storing it, with the reason it fails.
 */
#ifndef BERTH_TAGGLOB_H
#define BERTH_TAGGLOB_H

#include <stdbool.h>

/* The longest pattern, in bytes: a tag's longest. */
#define TAGGLOB_MAX 128

/*
 * Whether p is a pattern: 1 to TAGGLOB_MAX bytes of tag characters
 * ([A-Za-z0-9_.-]) and the metacharacters "*" (any run, the empty one
 * too) and "?" (one character), starting as a tag may ("." and "-" may
 * not come first). On false, *why says what is wrong (a static string).
 */
bool tagglob_valid(const char *p, const char **why);

#endif
