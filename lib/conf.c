/*
 * The `key = value` configuration reader (see conf.h). Values run to the
 * end of the line or to a " #" comment, so libpq conninfo strings need no
 * quoting; a value in double quotes keeps surrounding spaces and '#'.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
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

/* The range a key's C type holds; a table's min and max must be in it. */
static void
type_limits(enum conf_type t, long long *lo, long long *hi)
{
	*lo = 0;
	switch (t) {
	case CONF_INT:
		*lo = LLONG_MIN;
		*hi = LLONG_MAX;
		return;
	case CONF_INT32:
		*lo = INT_MIN;
		*hi = INT_MAX;
		return;
	case CONF_UINT32:
		*hi = UINT_MAX;
		return;
	case CONF_SIZE:
		*hi = SIZE_MAX > LLONG_MAX ? LLONG_MAX : (long long)SIZE_MAX;
		return;
	case CONF_UINT64:
		*hi = LLONG_MAX;
		return;
	default:
		BUG("not an integer conf type");
	}
}

static bool
is_integer(enum conf_type t)
{
	return t == CONF_INT || t == CONF_INT32 || t == CONF_UINT32 ||
	       t == CONF_SIZE || t == CONF_UINT64;
}

/* The size of the variable a key of type t writes. */
static size_t
type_size(enum conf_type t)
{
	switch (t) {
	case CONF_STR:
		return sizeof(const char *);
	case CONF_INT:
		return sizeof(long long);
	case CONF_BOOL:
		return sizeof(bool);
	case CONF_INT32:
	case CONF_ENUM:
		return sizeof(int);
	case CONF_UINT32:
		return sizeof(unsigned);
	case CONF_SIZE:
		return sizeof(size_t);
	case CONF_UINT64:
		return sizeof(uint64_t);
	}
	BUG("bad conf type");
}

static void
store_integer(const struct conf_key *k, long long v)
{
	switch (k->type) {
	case CONF_INT:
		*(long long *)k->var = v;
		return;
	case CONF_INT32:
		*(int *)k->var = (int)v;
		return;
	case CONF_UINT32:
		*(unsigned *)k->var = (unsigned)v;
		return;
	case CONF_SIZE:
		*(size_t *)k->var = (size_t)v;
		return;
	case CONF_UINT64:
		*(uint64_t *)k->var = (uint64_t)v;
		return;
	default:
		BUG("not an integer conf type");
	}
}

static int
set_integer(const struct conf_key *k, const char *value, const char *where)
{
	long long v, lo, hi;
	char *end;

	type_limits(k->type, &lo, &hi);
	if (k->min < lo || k->max > hi || k->min > k->max)
		BUG("bounds of %s do not fit its type", k->name);
	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < k->min ||
	    v > k->max) {
		log_warnx("%s: \"%s\" must be an integer from %lld to %lld, "
			  "not \"%s\"",
			  where, k->name, k->min, k->max, value);
		return -1;
	}
	store_integer(k, v);
	return 0;
}

/* The allowed values of an enum key as "a, b or c", into buf. */
static const char *
enum_list(const struct conf_key *k, char *buf, size_t len)
{
	const char *const *names = ((const struct conf_enum *)k->var)->names;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] != NULL && used < len; i++) {
		const char *sep = i == 0		? ""
				  : names[i + 1] == NULL ? " or "
							 : ", ";

		used += (size_t)snprintf(buf + used, len - used, "%s%s", sep,
					 names[i]);
	}
	return buf;
}

static int
set_enum(const struct conf_key *k, const char *value, const char *where)
{
	const struct conf_enum *e = k->var;
	char list[512];

	for (int i = 0; e->names[i] != NULL; i++) {
		if (strcmp(e->names[i], value) == 0) {
			*e->index = i;
			return 0;
		}
	}
	/* "log_level must be error, warn, info or debug": the words of the
	 * checks these keys had before they were enums. */
	log_warnx("%s: %s must be %s, not \"%s\"", where, k->name,
		  enum_list(k, list, sizeof(list)), value);
	return -1;
}

int
conf_set(const struct conf_key *keys, int n, const char *name,
	 const char *value, const char *where)
{
	const struct conf_key *k = find_key(keys, n, name);
	bool b;

	if (k == NULL) {
		log_warnx("%s: unknown configuration key \"%s\"", where, name);
		return -1;
	}
	switch (k->type) {
	case CONF_STR:
		free((char *)*(const char **)k->var);
		*(const char **)k->var = xstrdup(value);
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
	case CONF_ENUM:
		return set_enum(k, value, where);
	default:
		return set_integer(k, value, where);
	}
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
			free((char *)*(const char **)keys[i].var);
			*(const char **)keys[i].var = NULL;
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

/* One key's value, parsed into scratch space by conf_reload. */
union conf_value {
	const char *s;
	long long ll;
	bool b;
	int i;
	unsigned u;
	size_t z;
	uint64_t u64;
};

/* Where a key's value is: var, or for CONF_ENUM the index var names. */
static void *
value_ptr(const struct conf_key *k)
{
	if (k->type == CONF_ENUM)
		return ((const struct conf_enum *)k->var)->index;
	return k->var;
}

/*
 * Whether the scratch value v differs from the key's variable, and when
 * apply, moves it there. Takes v's string either way.
 */
static bool
reload_key(const struct conf_key *k, union conf_value *v, bool apply)
{
	const char **var = value_ptr(k);
	size_t size = type_size(k->type);
	bool changed;

	if (k->type != CONF_STR) {
		changed = memcmp(var, v, size) != 0;
		if (apply)
			memcpy(var, v, size);
		return changed;
	}
	changed = str_changed(*var, v->s);
	if (apply) {
		free((char *)*var);
		*var = v->s;
	} else {
		free((char *)v->s);
	}
	return changed;
}

/* A copy of keys whose variables are vals (and enums, for CONF_ENUM). */
static struct conf_key *
scratch_keys(const struct conf_key *keys, int n, union conf_value *vals,
	     struct conf_enum *enums)
{
	struct conf_key *scratch = xcalloc((size_t)n, sizeof(*scratch));

	for (int i = 0; i < n; i++) {
		scratch[i] = keys[i];
		scratch[i].var = &vals[i];
		if (keys[i].type == CONF_ENUM) {
			enums[i].index = &vals[i].i;
			enums[i].names =
				((const struct conf_enum *)keys[i].var)->names;
			scratch[i].var = &enums[i];
		}
	}
	return scratch;
}

int
conf_reload(const struct conf_key *keys, int n, const char *path,
	    const char *env_prefix)
{
	union conf_value *vals = xcalloc((size_t)n, sizeof(*vals));
	struct conf_enum *enums = xcalloc((size_t)n, sizeof(*enums));
	struct conf_key *scratch = scratch_keys(keys, n, vals, enums);
	int ret;

	/* Parse into scratch variables, so a bad file changes nothing. */
	ret = conf_load(scratch, n, path, env_prefix);
	for (int i = 0; i < n; i++) {
		bool apply = ret == 0 && keys[i].reloadable;
		bool changed = reload_key(&keys[i], &vals[i], apply);

		/* Names only: a value may be a secret. */
		if (ret == 0 && changed && !keys[i].reloadable)
			log_warnx("SIGHUP: %s changed; restart to apply",
				  keys[i].name);
	}
	free(scratch);
	free(enums);
	free(vals);
	return ret;
}

void
conf_empty_is_unset(const char **v)
{
	if (*v != NULL && **v == '\0') {
		free((char *)*v);
		*v = NULL;
	}
}

void
conf_release(const struct conf_key *keys, int n)
{
	for (int i = 0; i < n; i++) {
		if (keys[i].type != CONF_STR)
			continue;
		free((char *)*(const char **)keys[i].var);
		*(const char **)keys[i].var = NULL;
	}
}

void
conf_usage(const struct conf_key *keys, int n)
{
	char list[512];

	for (int i = 0; i < n; i++) {
		const struct conf_key *k = &keys[i];
		const char *help = k->help ? k->help : "";

		printf("  %-20s %s", k->name, help);
		if (k->type == CONF_ENUM)
			printf("%s%s", *help ? ": " : "",
			       enum_list(k, list, sizeof(list)));
		printf(" (default: %s", k->def ? k->def : "unset");
		if (is_integer(k->type))
			printf("; %lld to %lld", k->min, k->max);
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
