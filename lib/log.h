/*
 * Logging to stderr (journald adds the timestamp under systemd). One line
 * per event, "level: message"; the level is checked before formatting.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_level;

/* Parses "error", "warn", "info" or "debug"; -1 on anything else. */
int log_parse_level(const char *s);
/* Sets log_level from its name; -1 (logged) when it is not one. */
int log_set_level(const char *s);

#define LOG_FMT __attribute__((format(printf, 1, 2)))
void log_warn(const char *fmt, ...) LOG_FMT;	/* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_FMT;
void log_info(const char *fmt, ...) LOG_FMT;
void log_debug(const char *fmt, ...) LOG_FMT;
_Noreturn void fatal(const char *fmt, ...) LOG_FMT;
_Noreturn void fatalx(const char *fmt, ...) LOG_FMT;
#undef LOG_FMT

#endif
