/*
 * The grammar of tag patterns, checked before a rule or policy is stored
 * (the CHECK of schema/0009_immutable.sql is the same, as a last line):
 * only what a tag may hold plus "*" and "?", so a pattern can neither
 * inject LIKE syntax nor grow without bound.
 */
#include <string.h>

#include "tagglob.h"

static bool
is_tag_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
	       ch == '-';
}

bool
tagglob_valid(const char *p, const char **why)
{
	size_t len = strlen(p);

	if (len == 0) {
		*why = "is empty";
		return false;
	}
	if (len > TAGGLOB_MAX) {
		*why = "is longer than 128 bytes";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_tag_char(p[i]) && p[i] != '*' && p[i] != '?') {
			*why = "may hold only A-Z a-z 0-9 _ . - and the "
			       "wildcards * and ?";
			return false;
		}
	}
	if (p[0] == '.' || p[0] == '-') {
		*why = "cannot start with . or -, as no tag does";
		return false;
	}
	return true;
}
