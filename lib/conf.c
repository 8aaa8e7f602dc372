/*
 * The `key = value` configuration reader (see conf.h). Values run to the
 * end of the line or to a " #" comment, so libpq conninfo strings need no
 * quoting; a value in double quotes keeps surrounding spaces and '#'.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "log.h"

static const struct conf_key *
find_key(const struct conf_key *keys, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") ||
		 !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int
conf_set(const struct conf_key *keys, int n, const char *name,
	 const char *value, const char *where)
{
	const struct conf_key *k = find_key(keys, n, name);
	char *end;
	long long v;
	bool b;

	if (k == NULL) {
		log_warnx("%s: unknown configuration key \"%s\"", where, name);
		return -1;
	}
	switch (k->type) {
	case CONF_STR:
		free(*(char **)k->var);
		*(char **)k->var = xstrdup(value);
		return 0;
	case CONF_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < k->min ||
		    v > k->max) {
			log_warnx("%s: \"%s\" must be an integer from %lld to "
				  "%lld, not \"%s\"",
				  where, name, k->min, k->max, value);
			return -1;
		}
		*(long long *)k->var = v;
		return 0;
	case CONF_BOOL:
		if (parse_bool(value, &b) < 0) {
			log_warnx("%s: \"%s\" must be true or false, not "
				  "\"%s\"",
				  where, name, value);
			return -1;
		}
		*(bool *)k->var = b;
		return 0;
	}
	BUG("bad conf type");
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * The value part of a line, in place. A '#' after white space starts a
 * comment, so "key = value   # note" does not put the note into the value;
 * a '#' inside a word (a password in a conninfo) is kept. A value in double
 * quotes keeps spaces and '#', and only a comment may follow it. NULL
 * (logged) on an unterminated quote or text after the closing one.
 */
static char *
parse_value(char *v, const char *where)
{
	char *end;

	v = trim(v);
	if (*v == '"') {
		if ((end = strchr(v + 1, '"')) == NULL) {
			log_warnx("%s: unterminated quoted value", where);
			return NULL;
		}
		*end++ = '\0';
		end = trim(end);
		if (*end != '\0' && *end != '#') {
			log_warnx("%s: text after the closing quote", where);
			return NULL;
		}
		return v + 1;
	}
	if (*v == '#')
		return trim(v + strlen(v));	/* "key = # comment": empty */
	for (end = v; *end; end++) {
		if (*end == '#' && (end[-1] == ' ' || end[-1] == '\t')) {
			*end = '\0';
			break;
		}
	}
	return trim(v);
}

static int
load_file(const struct conf_key *keys, int n, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096], where[512];
	int lineno = 0, ret = 0;

	if (f == NULL) {
		log_warn("could not open configuration \"%s\"", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *key, *val;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(f)) {
			log_warnx("%s: line too long", where);
			ret = -1;
			break;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			log_warnx("%s: expected \"key = value\"", where);
			ret = -1;
			break;
		}
		*eq = '\0';
		key = trim(s);
		if ((val = parse_value(eq + 1, where)) == NULL ||
		    conf_set(keys, n, key, val, where) < 0) {
			ret = -1;
			break;
		}
	}
	fclose(f);
	return ret;
}

int
conf_load(const struct conf_key *keys, int n, const char *path,
	  const char *env_prefix)
{
	char envname[128], where[160];

	for (int i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "default of %s", keys[i].name);
		if (keys[i].type == CONF_STR) {
			free(*(char **)keys[i].var);
			*(char **)keys[i].var = NULL;
		}
		if (keys[i].def != NULL &&
		    conf_set(keys, n, keys[i].name, keys[i].def, where) < 0)
			BUG("bad default for %s", keys[i].name);
	}
	if (path != NULL && load_file(keys, n, path) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *v;
		size_t j, p;

		p = (size_t)snprintf(envname, sizeof(envname), "%s_",
				     env_prefix);
		for (j = 0; keys[i].name[j] && p + 1 < sizeof(envname); j++)
			envname[p++] =
				(char)toupper((unsigned char)keys[i].name[j]);
		envname[p] = '\0';
		if ((v = getenv(envname)) == NULL)
			continue;
		snprintf(where, sizeof(where), "environment %s", envname);
		if (conf_set(keys, n, keys[i].name, v, where) < 0)
			return -1;
	}
	return 0;
}

/* Whether two string settings differ; unset and empty are the same. */
static bool
str_changed(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

int
conf_reload(const struct conf_key *keys, int n, const char *path,
	    const char *env_prefix)
{
	struct conf_key *scratch = xcalloc((size_t)n, sizeof(*scratch));
	union {
		char *s;
		long long i;
		bool b;
	} *vals = xcalloc((size_t)n, sizeof(*vals));
	int ret;

	/* Parse into scratch variables, so a bad file changes nothing. */
	for (int i = 0; i < n; i++) {
		scratch[i] = keys[i];
		scratch[i].var = &vals[i];
	}
	ret = conf_load(scratch, n, path, env_prefix);
	for (int i = 0; i < n; i++) {
		bool apply = ret == 0 && keys[i].reloadable;
		bool changed = false;

		switch (keys[i].type) {
		case CONF_STR:
			changed = str_changed(*(char **)keys[i].var, vals[i].s);
			if (apply) {
				free(*(char **)keys[i].var);
				*(char **)keys[i].var = vals[i].s;
			} else {
				free(vals[i].s);
			}
			break;
		case CONF_INT:
			changed = *(long long *)keys[i].var != vals[i].i;
			if (apply)
				*(long long *)keys[i].var = vals[i].i;
			break;
		case CONF_BOOL:
			changed = *(bool *)keys[i].var != vals[i].b;
			if (apply)
				*(bool *)keys[i].var = vals[i].b;
			break;
		}
		/* Names only: a value may be a secret. */
		if (ret == 0 && changed && !keys[i].reloadable)
			log_warnx("SIGHUP: %s changed; restart to apply",
				  keys[i].name);
	}
	free(vals);
	free(scratch);
	return ret;
}

void
conf_empty_is_unset(char **v)
{
	if (*v != NULL && **v == '\0') {
		free(*v);
		*v = NULL;
	}
}

void
conf_release(const struct conf_key *keys, int n)
{
	for (int i = 0; i < n; i++) {
		if (keys[i].type != CONF_STR)
			continue;
		free(*(char **)keys[i].var);
		*(char **)keys[i].var = NULL;
	}
}

void
conf_usage(const struct conf_key *keys, int n)
{
	for (int i = 0; i < n; i++) {
		printf("  %-20s %s (default: %s", keys[i].name,
		       keys[i].help ? keys[i].help : "",
		       keys[i].def ? keys[i].def : "unset");
		if (keys[i].type == CONF_INT)
			printf("; %lld to %lld", keys[i].min, keys[i].max);
		printf(")\n");
	}
}

int
conf_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "error: %s\n", msg);
	return -1;
}
