/*
 * The distribution spec's grammars for repository names and tags, shared
 * by registryd (routing) and authd (scopes and grants).
 */
#ifndef BERTH_NAMES_H
#define BERTH_NAMES_H

#include <stdbool.h>

#define NAME_MAX_LEN 255

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 * and at most 255 bytes. */
bool names_repo_valid(const char *name);
/* [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} */
bool names_tag_valid(const char *tag);

#endif
