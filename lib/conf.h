/*
 * Configuration: one table of keys per daemon (in its main.c), read from a
 * `key = value` file and then from the environment (<PREFIX>_<KEY> in upper
 * case), which wins. An unknown key or a bad value stops startup, naming
 * the file and line. Each key writes straight into the variable that uses
 * it (a field of the daemon's config struct), in that variable's C type.
 */
#ifndef BERTH_CONF_H
#define BERTH_CONF_H

#include <stdbool.h>

#include "util.h"

/* A key's type names the C type its var points to. */
enum conf_type {
	CONF_STR,	/* const char *: malloc'd, owned by the table */
	CONF_INT,	/* long long */
	CONF_BOOL,	/* bool */
	CONF_INT32,	/* int */
	CONF_UINT32,	/* unsigned */
	CONF_SIZE,	/* size_t */
	CONF_UINT64,	/* uint64_t */
	/* struct conf_enum: its int gets the index in names of the value
	 * given, which must be one of them exactly */
	CONF_ENUM,
};

/* A CONF_ENUM key's var: where the index of the value goes, and the
 * allowed values (NULL-terminated). */
struct conf_enum {
	int *index;
	const char *const *names;
};

/* A CONF_ENUM key's var, in a table: CONF_ENUM_VAR(&cfg.type, names). */
#define CONF_ENUM_VAR(index_ptr, names)					\
	(&(struct conf_enum){ (index_ptr), (names) })

/*
 * One setting. The integer types take min and max (which must fit the
 * type: a table with, say, a negative min for CONF_SIZE is a BUG); the
 * others ignore them. A CONF_ENUM key's def must be one of its names:
 *	{ "log_format", CONF_ENUM, CONF_ENUM_VAR(&fmt, formats), "text",
 *	  0, 0, true, "line format" },
 */
struct conf_key {
	const char *name;
	enum conf_type type;
	void *var;	 /* points to the type's C type, see enum conf_type */
	const char *def; /* default, as it would be written in the file */
	long long min, max; /* bounds of the integer types */
	bool reloadable;    /* a SIGHUP may change it */
	const char *help;   /* one line, for --help and the docs */
};

/*
 * Sets every key to its default (freeing strings a previous load set; the
 * CONF_STR variables must start out NULL), then applies the file at path
 * (skipped when NULL) and the environment. On error logs "file:line:
 * reason" and returns -1.
 */
int conf_load(const struct conf_key *keys, int n, const char *path,
	      const char *env_prefix) MUST_CHECK;

/*
 * Sets one key from text; where names the source for messages. Returns -1
 * (logged) on an unknown key or a bad value. A bad CONF_ENUM value is
 * reported as "where: KEY must be a, b or c, not "value"".
 */
int conf_set(const struct conf_key *keys, int n, const char *name,
	     const char *value, const char *where) MUST_CHECK;

/*
 * Rereads the file and the environment for a SIGHUP: when both parse,
 * applies only the keys marked reloadable, and warns "SIGHUP: KEY changed;
 * restart to apply" for each other key whose value changed; otherwise
 * changes nothing.
 */
int conf_reload(const struct conf_key *keys, int n, const char *path,
		const char *env_prefix) MUST_CHECK;

/* An empty string means unset (the environment idiom X=): frees it and
 * sets *v to NULL. */
void conf_empty_is_unset(const char **v);

/* Frees the strings the table's CONF_STR variables hold. */
void conf_release(const struct conf_key *keys, int n);

/*
 * Reports a setting that stops startup (a failed cross-field check):
 * prints "error: <msg>" on stderr, whatever the log level, and returns -1.
 */
int conf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints the keys with their help lines, defaults and, for the integer
 * types, their ranges ("(default: 8; 1 to 256)") to stdout. A CONF_ENUM
 * key's help is followed by its values: "verbosity: error, warn, info or
 * debug (default: info)".
 */
void conf_usage(const struct conf_key *keys, int n);

#endif
