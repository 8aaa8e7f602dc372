/*
 * stderr logging shared by the daemons. Lines are written with one
 * fprintf-equivalent call so that threads do not interleave mid-line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum log_level log_level = LOG_LVL_INFO;

int
log_parse_level(const char *s)
{
	static const char *names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
log_set_level(const char *s)
{
	int lvl = log_parse_level(s);

	if (lvl < 0) {
		log_warnx("log_level must be error, warn, info or debug, not "
			  "\"%s\"", s);
		return -1;
	}
	log_level = (enum log_level)lvl;
	return 0;
}

static void
vlog(const char *prefix, const char *fmt, va_list ap, int err)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s: %s\n", prefix, msg, strerror(err));
	else
		fprintf(stderr, "%s: %s\n", prefix, msg);
}

#define LOG_BODY(lvl, prefix, err)                                             \
	do {                                                                   \
		va_list ap;                                                    \
		if (log_level < (lvl))                                         \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog(prefix, fmt, ap, err);                                    \
		va_end(ap);                                                    \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY(LOG_LVL_WARN, "warning", err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warning", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, "info", 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, "debug", 0);
}

void
fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
