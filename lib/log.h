/*
 * Logging to stderr, one physical line per call whatever the message
 * holds: control characters are escaped here, so a value that came from a
 * client cannot start a line of its own. Two formats: text
 * ("2026-12-03T12:00:00.123Z registryd info: message") and json (one
 * object per line: ts, daemon, level, msg and structured fields). The
 * level is checked before formatting. A thread handling a request sets it
 * as its log context, and every line it logs meanwhile names the request.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Written on SIGHUP while workers read it, hence atomic: a plain read or
 * assignment is one atomic access. */
extern _Atomic enum log_level log_level;

/* Parses "error", "warn", "info" or "debug"; -1 on anything else. */
int log_parse_level(const char *s);
/* Sets log_level from its name; -1 (logged) when it is not one. */
int log_set_level(const char *s);
/* Sets the format from "text" or "json"; -1 (logged) on anything else. */
int log_set_format(const char *s);
/* Names the program in every line; name must outlive the logging. */
void log_set_daemon(const char *name);

#define LOG_FMT __attribute__((format(printf, 1, 2)))
void log_warn(const char *fmt, ...) LOG_FMT;	/* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_FMT;
void log_info(const char *fmt, ...) LOG_FMT;
void log_debug(const char *fmt, ...) LOG_FMT;
_Noreturn void fatal(const char *fmt, ...) LOG_FMT;
_Noreturn void fatalx(const char *fmt, ...) LOG_FMT;
/* As fatalx, but abort()s (for BUG: a core dump, and no exit handlers). */
_Noreturn void log_abort(const char *fmt, ...) LOG_FMT;
#undef LOG_FMT

/*
 * A structured field. In json it is "key": value; in text key=value under
 * text_key (NULL: key). LOG_F_WORD is written bare in text when it is a
 * non-empty run of printable ASCII without quotes or backslashes, quoted
 * otherwise; LOG_F_QUOTED always quoted; LOG_F_NUM is trusted numeric
 * text, bare in both formats; LOG_F_TRUE is 1 in text and true in json
 * (value unused). A NULL value is "-" in text and null in json.
 */
enum log_field_kind { LOG_F_WORD, LOG_F_QUOTED, LOG_F_NUM, LOG_F_TRUE };

struct log_field {
	const char *key;
	const char *text_key;
	enum log_field_kind kind;
	const char *value;
};

/*
 * Writes one line at level lvl with n fields. Text: "TS DAEMON LEVEL: tag
 * k=v ...", then ": msg" when msg is not NULL. Json: "msg" is msg, or tag
 * when msg is NULL, and the fields follow. A field that does not fit in
 * the line (16 KiB) is left out; a value longer than 2 KiB is cut and ends
 * in "...".
 */
void log_fields(enum log_level lvl, const char *tag,
		const struct log_field *f, int n, const char *msg);

/*
 * A thread's log context: the request it is handling. While it is set,
 * every line the thread logs with log_warn, log_warnx, log_info, log_debug
 * or fatal names the request: in text "TS DAEMON LEVEL: TAG k=v ...: msg",
 * in json the fields after msg. Lines from log_fields carry only their own
 * fields (the access line names its request itself).
 */
#define LOG_CTX_FIELDS 8

struct log_ctx {
	const char *tag;	/* text: the word before the fields */
	/*
	 * Fills at most max fields naming the request, returns how many.
	 * Called at each line, so it sees what the request learnt since
	 * the context was set (its user, once authenticated); the values
	 * must stay valid until it returns. Must not log.
	 */
	int (*fields)(const void *arg, struct log_field *f, int max);
	const void *arg;
	/* When not NULL, counts the warnings (and fatal lines) logged. */
	unsigned *warnings;
};

/* Makes a copy of *c this thread's context; NULL clears it. */
void log_ctx_set(const struct log_ctx *c);
/* This thread's context (a copy of what log_ctx_set got), or NULL. */
const struct log_ctx *log_ctx_get(void);

/* log_warnx with a va_list. */
void log_vwarnx(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

enum log_escape_flags {
	LOG_ESC_QUOTE = 1 << 0,	/* also " and \ as \" and \\ */
	LOG_ESC_JSON = 1 << 1,	/* JSON string content (implies QUOTE) */
};

/*
 * Copies s into out (size bytes, at least 8), escaped: \n, \r and \t as
 * such, other control bytes and DEL as \xNN (json: \u00NN), bytes that
 * are not valid UTF-8 as \xNN (json: \\xNN, the text of that escape);
 * valid UTF-8 passes through. An escape is never cut: when s does not fit,
 * the output ends in "...". Returns the length written (out is always
 * terminated).
 */
size_t log_escape(char *out, size_t size, const char *s, unsigned flags);

#endif
