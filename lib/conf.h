/*
 * Configuration: one table of keys per daemon (in its main.c), read from a
 * `key = value` file and then from the environment (<PREFIX>_<KEY> in upper
 * case), which wins. An unknown key or a bad value stops startup, naming
 * the file and line.
 */
#ifndef BERTH_CONF_H
#define BERTH_CONF_H

#include <stdbool.h>

#include "util.h"

enum conf_type { CONF_STR, CONF_INT, CONF_BOOL };

struct conf_key {
	const char *name;
	enum conf_type type;
	void *var;	 /* char ** (malloc'd), long long *, or bool * */
	const char *def; /* default, as it would be written in the file */
	long long min, max; /* CONF_INT bounds */
	bool reloadable;    /* a SIGHUP may change it */
	const char *help;   /* one line, for --help and the docs */
};

/*
 * Sets every key to its default (freeing strings a previous load set; the
 * variables must start out NULL), then applies the file at path (skipped
 * when NULL) and the environment. On error logs "file:line: reason" and
 * returns -1.
 */
int conf_load(const struct conf_key *keys, int n, const char *path,
	      const char *env_prefix) MUST_CHECK;

/*
 * Sets one key from text; where names the source for messages. Returns -1
 * (logged) on an unknown key or a bad value.
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
void conf_empty_is_unset(char **v);

/* Frees the strings the table's CONF_STR variables hold. */
void conf_release(const struct conf_key *keys, int n);

/*
 * Reports a setting that stops startup (a failed cross-field check):
 * prints "error: <msg>" on stderr, whatever the log level, and returns -1.
 */
int conf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the keys with their help lines, defaults and, for CONF_INT, their
 * ranges ("(default: 8; 1 to 256)") to stdout. */
void conf_usage(const struct conf_key *keys, int n);

#endif
