/*
 * stderr logging shared by the daemons. Each line is composed whole in a
 * buffer and written with one write(2), so threads never interleave
 * mid-line (stderr goes to journald or a file opened O_APPEND). Every
 * piece of text is escaped on the way in (log_escape), which is what makes
 * "one call, one physical line" hold for messages that carry client input.
 * The log context is thread-local: libmicrohttpd's workers set it on entry
 * to each callback of a request and clear it on the way out, so a line can
 * name only the request its thread is handling right then.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LINE_SIZE 16384	 /* one line, fields that do not fit are left out */
#define VALUE_SIZE 2048	 /* one escaped field value */
#define MSG_SIZE 4096	 /* the escaped message */
#define LINE_RESERVE 4	 /* "}\n" always fits after the fields */

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Set by the main thread (SIGHUP), read by the workers: atomics, relaxed
 * (a worker may see a reload a line late, nothing depends on the order). */
_Atomic enum log_level log_level = LOG_LVL_INFO;
static _Atomic int log_format = LOG_FORMAT_TEXT;
static const char *log_daemon;
static _Thread_local struct log_ctx log_ctx;	/* .fields NULL: none */

static bool
level_on(enum log_level lvl)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed) >= lvl;
}

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
	atomic_store_explicit(&log_level, (enum log_level)lvl,
			      memory_order_relaxed);
	return 0;
}

int
log_set_format(const char *s)
{
	int f;

	if (strcmp(s, "text") == 0)
		f = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		f = LOG_FORMAT_JSON;
	else {
		log_warnx("log_format must be text or json, not \"%s\"", s);
		return -1;
	}
	atomic_store_explicit(&log_format, f, memory_order_relaxed);
	return 0;
}

void
log_set_daemon(const char *name)
{
	log_daemon = name;
}

void
log_ctx_set(const struct log_ctx *c)
{
	if (c != NULL && c->fields == NULL)
		BUG("log context without fields");
	log_ctx = c != NULL ? *c : (struct log_ctx){ 0 };
}

const struct log_ctx *
log_ctx_get(void)
{
	return log_ctx.fields != NULL ? &log_ctx : NULL;
}

/* The length of the valid UTF-8 sequence at p (2 to 4), or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned c = p[0], lo, hi;

	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* no overlong forms, no UTF-16 surrogates */
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3
									  : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

/* Encodes the character at p into unit (8 bytes); sets *adv to the bytes
 * of p it took and returns the length of the encoding. */
static size_t
escape_unit(const unsigned char *p, unsigned flags, char *unit, size_t *adv)
{
	bool json = flags & LOG_ESC_JSON;
	bool quote = json || (flags & LOG_ESC_QUOTE);
	unsigned c = *p;
	size_t n;

	*adv = 1;
	if ((quote && (c == '"' || c == '\\')) || c == '\n' || c == '\r' ||
	    c == '\t') {
		unit[0] = '\\';
		unit[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't'
								       : (char)c;
		return 2;
	}
	if (c < 0x20 || c == 0x7f)
		return (size_t)snprintf(unit, 8, json ? "\\u%04x" : "\\x%02x",
					c);
	if (c < 0x80) {
		unit[0] = (char)c;
		return 1;
	}
	if ((n = utf8_len(p)) > 0) {
		memcpy(unit, p, n);
		*adv = n;
		return n;
	}
	return (size_t)snprintf(unit, 8, json ? "\\\\x%02x" : "\\x%02x", c);
}

size_t
log_escape(char *out, size_t size, const char *s, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0, mark = SIZE_MAX, n, adv;
	char unit[8];

	if (size < 8) {
		if (size > 0)
			out[0] = '\0';
		return 0;
	}
	while (*p != '\0') {
		n = escape_unit(p, flags, unit, &adv);
		/* Past mark, "..." would no longer fit: go on only if the
		 * rest of s does. */
		if (mark == SIZE_MAX && len + n > size - 4)
			mark = len;
		if (len + n > size - 1) {
			memcpy(out + mark, "...", 3);
			len = mark + 3;
			break;
		}
		memcpy(out + len, unit, n);
		len += n;
		p += adv;
	}
	out[len] = '\0';
	return len;
}

struct line {
	char b[LINE_SIZE];
	size_t len;
};

/* Appends formatted text when all of it fits before the reserve. */
static bool __attribute__((format(printf, 2, 3)))
line_addf(struct line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->b) - LINE_RESERVE - l->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->b + l->len, room + 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > room) {
		l->b[l->len] = '\0';
		return false;
	}
	l->len += (size_t)n;
	return true;
}

/* Printable ASCII without quotes, backslashes or spaces: safe bare. */
static bool
is_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\')
			return false;
	return true;
}

static void
field_text(struct line *l, const struct log_field *f)
{
	const char *key = f->text_key ? f->text_key : f->key;
	char v[VALUE_SIZE];

	if (f->kind == LOG_F_TRUE) {
		line_addf(l, " %s=1", key);
	} else if (f->value == NULL) {
		line_addf(l, " %s=-", key);
	} else if (f->kind == LOG_F_NUM ||
		   (f->kind == LOG_F_WORD && is_word(f->value))) {
		log_escape(v, sizeof(v), f->value, 0);
		line_addf(l, " %s=%s", key, v);
	} else {
		log_escape(v, sizeof(v), f->value, LOG_ESC_QUOTE);
		line_addf(l, " %s=\"%s\"", key, v);
	}
}

static void
field_json(struct line *l, const struct log_field *f)
{
	char k[128], v[VALUE_SIZE];

	log_escape(k, sizeof(k), f->key, LOG_ESC_JSON);
	if (f->kind == LOG_F_TRUE)
		line_addf(l, ",\"%s\":true", k);
	else if (f->value == NULL)
		line_addf(l, ",\"%s\":null", k);
	else if (f->kind == LOG_F_NUM)
		line_addf(l, ",\"%s\":%s", k, f->value);
	else {
		log_escape(v, sizeof(v), f->value, LOG_ESC_JSON);
		line_addf(l, ",\"%s\":\"%s\"", k, v);
	}
}

/* RFC 3339 in UTC with milliseconds: 2026-12-03T12:00:00.123Z. */
static void
timestamp(char *out, size_t size)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%03ldZ", now.tv_nsec / 1000000);
}

static void
write_line(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

static void
emit(const char *level, const char *tag, const struct log_field *f, int n,
     const char *msg)
{
	struct line l = { .len = 0 };
	char ts[40], esc[MSG_SIZE];
	const char *d = log_daemon;

	timestamp(ts, sizeof(ts));
	if (atomic_load_explicit(&log_format, memory_order_relaxed) ==
	    LOG_FORMAT_JSON) {
		line_addf(&l, "{\"ts\":\"%s\"", ts);
		if (d != NULL) {
			log_escape(esc, sizeof(esc), d, LOG_ESC_JSON);
			line_addf(&l, ",\"daemon\":\"%s\"", esc);
		}
		log_escape(esc, sizeof(esc), msg ? msg : tag ? tag : "",
			   LOG_ESC_JSON);
		line_addf(&l, ",\"level\":\"%s\",\"msg\":\"%s\"", level, esc);
		for (int i = 0; i < n; i++)
			field_json(&l, &f[i]);
		memcpy(l.b + l.len, "}\n", 2);
		l.len += 2;
	} else {
		line_addf(&l, "%s %s%s%s:", ts, d ? d : "", d ? " " : "",
			  level);
		if (tag != NULL) {
			log_escape(esc, sizeof(esc), tag, 0);
			line_addf(&l, " %s", esc);
		}
		for (int i = 0; i < n; i++)
			field_text(&l, &f[i]);
		if (msg != NULL) {
			log_escape(esc, sizeof(esc), msg, 0);
			line_addf(&l, "%s %s", tag ? ":" : "", esc);
		}
		l.b[l.len++] = '\n';
	}
	write_line(l.b, l.len);
}

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void
log_fields(enum log_level lvl, const char *tag, const struct log_field *f,
	   int n, const char *msg)
{
	if (!level_on(lvl))
		return;
	if (lvl <= LOG_LVL_WARN && log_ctx.warnings != NULL)
		(*log_ctx.warnings)++;
	emit(level_names[lvl], tag, f, n, msg);
}

/* A message line, naming the thread's request when it has one; warn says
 * whether the line counts as a warning of that request. */
static void __attribute__((format(printf, 2, 0)))
vlog(const char *level, const char *fmt, va_list ap, int err, bool warn)
{
	struct log_field f[LOG_CTX_FIELDS];
	const char *tag = NULL;
	char msg[2048];
	int len, n = 0;

	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err && len >= 0 && (size_t)len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - (size_t)len, ": %s",
			 strerror(err));
	if (log_ctx.fields != NULL) {
		tag = log_ctx.tag;
		n = log_ctx.fields(log_ctx.arg, f, LOG_CTX_FIELDS);
		if (warn && log_ctx.warnings != NULL)
			(*log_ctx.warnings)++;
	}
	emit(level, tag, f, n, msg);
}

#define LOG_BODY(lvl, err)                                                     \
	do {                                                                   \
		va_list ap;                                                    \
		if (!level_on(lvl))                                            \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog(level_names[lvl], fmt, ap, err, (lvl) <= LOG_LVL_WARN);   \
		va_end(ap);                                                    \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int err = errno;

	LOG_BODY(LOG_LVL_WARN, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, 0);
}

void
log_vwarnx(const char *fmt, va_list ap)
{
	if (level_on(LOG_LVL_WARN))
		vlog(level_names[LOG_LVL_WARN], fmt, ap, 0, true);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, err, true);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, 0, true);
	va_end(ap);
	exit(1);
}

void
log_abort(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, 0, true);
	va_end(ap);
	abort();
}
