/*
 * Repository name and tag grammars (see names.h), matched by hand: a regex
 * library would be more code to trust than these two small scanners.
 */
#include <string.h>

#include "names.h"

static bool
is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static const char *
name_component(const char *p)
{
	if (!is_alnum_lower(*p))
		return NULL;
	for (;;) {
		while (is_alnum_lower(*p))
			p++;
		if (*p == '.')
			p++;
		else if (*p == '_')
			p += p[1] == '_' ? 2 : 1;
		else if (*p == '-')
			while (*p == '-')
				p++;
		else
			return p;
		if (!is_alnum_lower(*p))
			return NULL;
	}
}

bool
names_repo_valid(const char *name)
{
	const char *p = name;

	if (strlen(name) > NAME_MAX_LEN)
		return false;
	for (;;) {
		if ((p = name_component(p)) == NULL)
			return false;
		if (*p == '\0')
			return true;
		if (*p++ != '/')
			return false;
	}
}

bool
names_tag_valid(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = tag[i];
		bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_';
		if (!word && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

