/*
 * The daemon skeleton registryd and authd (and the replicator next) share:
 * options (-c file, -h/--help, -V/--version), usage, a table of commands
 * with serve the default, the settings load, and the serve loop. The
 * serve loop's thread only waits for signals (SIGTERM/SIGINT stop, SIGHUP
 * reloads); periodic work runs as tick hooks, each on its own background
 * thread with its own database connection.
 */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <stdbool.h>

#include "conf.h"

struct db;

/* One command: `registryd migrate`, `authd bootstrap-admin NAME`. */
struct daemon_command {
	const char *name;
	const char *args;	/* for the usage line: "NAME", or NULL */
	int nargs;		/* arguments it needs (fewer: usage, exit 2) */
	/* Runs it; args are the words after its name (at least nargs of
	 * them; more are ignored). Returns the exit code. */
	int (*run)(char **args);
	const char *help;	/* one line, for -h */
};

/*
 * A program: its settings, its commands (the first runs when none is
 * named) and the hooks around them. Every pointer outlives daemon_main.
 * A new daemon's main.c is its settings table, its commands and
 *	static const struct daemon replicator = {
 *		.name = "replicator", .env_prefix = "REPLICATOR",
 *		.settings = settings, .n_settings = NSETTINGS,
 *		.commands = commands, .n_commands = NCOMMANDS,
 *	};
 *	int main(int argc, char **argv)
 *	{ return daemon_main(&replicator, argc, argv); }
 * where the serve command checks its settings and calls daemon_serve.
 */
struct daemon {
	const char *name;	/* "registryd": logs, usage, --version */
	const char *env_prefix;	/* "REGISTRYD": REGISTRYD_<KEY> overrides */
	const struct conf_key *settings;
	int n_settings;
	const struct daemon_command *commands;
	int n_commands;
	/* After the settings load (log settings applied): derives what
	 * they imply. -1 (logged) stops with exit code 1. NULL: none.
	 * Threads it starts have the daemon's signals blocked. */
	int (*configure)(void);
	/* After the command: frees what configure and the command kept
	 * (the settings are released after it). NULL: none. */
	void (*release)(void);
};

/*
 * The log settings every daemon has (reloadable): put DAEMON_LOG_SETTINGS
 * in the settings table. daemon_main and SIGHUP apply them. The variables
 * hold indexes into the name lists.
 */
extern int daemon_log_level, daemon_log_format;
extern const char *const daemon_log_levels[];	/* "error" ... "debug" */
extern const char *const daemon_log_formats[];	/* "text", "json" */
#define DAEMON_LOG_SETTINGS						\
	{ "log_level", CONF_ENUM,					\
	  CONF_ENUM_VAR(&daemon_log_level, daemon_log_levels), "info",	\
	  0, 0, true, "least severe messages logged" },			\
	{ "log_format", CONF_ENUM,					\
	  CONF_ENUM_VAR(&daemon_log_format, daemon_log_formats),	\
	  "text",							\
	  0, 0, true, "line format (json: one JSON object per line)" }

/*
 * The whole program: parses the options, loads the settings (file from
 * -c, then the environment), runs configure, then the command named by
 * the first argument, then release. Returns the exit code: 0 for -h and
 * -V, 2 for a bad option, an unknown command or missing arguments (after
 * usage), 1 when the settings or configure fail, else the command's.
 */
int daemon_main(const struct daemon *d, int argc, char **argv);

/* The -c file of the running daemon_main, or NULL. */
const char *daemon_conf_path(void);

/* The command called name, or NULL. */
const struct daemon_command *daemon_command_find(const struct daemon *d,
						 const char *name);

/* Prints the usage: the command line, the commands with their help, and
 * the settings (conf_usage), to stdout. */
void daemon_usage(const struct daemon *d);

/*
 * Periodic work. Each tick runs on its own thread: first one interval
 * after the start, then one interval after each run ends. With needs_db,
 * run gets the thread's connection (db_thread(); db_setup must have run)
 * and is skipped until the next interval while there is none; otherwise
 * db is NULL. done, when set, runs on the thread as it ends (to close
 * per-thread state such as a directory connection).
 */
struct daemon_tick {
	const char *name;	/* the thread's name, at most 15 characters */
	void (*run)(struct db *db);
	unsigned interval_ms;
	bool needs_db;
	void (*done)(void);
};

struct daemon_ticks;

/* Starts one thread per tick (ticks must outlive them). NULL (logged)
 * when a thread cannot start; none is left running then. */
struct daemon_ticks *daemon_ticks_start(const struct daemon_tick *ticks,
					int n);

/* Wakes every tick thread, waits for a run in progress to end, joins
 * them (closing their database connections) and frees ts. NULL: nothing. */
void daemon_ticks_stop(struct daemon_ticks *ts);

/* Whether daemon_ticks_stop has begun: long tick runs check it between
 * steps, so that SIGTERM stays prompt. */
bool daemon_stopping(void);

/* The serve command's hooks, for daemon_serve. */
struct daemon_server {
	/* Starts the servers and the threads they need; the daemon's
	 * signals are blocked already. -1 (logged): serve returns 1, and
	 * start has undone what it did. */
	int (*start)(void);
	/* SIGHUP, after the reloadable settings were reread (settings_ok)
	 * or not (the file failed to parse; nothing changed). */
	void (*reload)(bool settings_ok);
	/* After the ticks have stopped: stops the servers, flushes, and
	 * tears the database down. */
	void (*stop)(void);
	const struct daemon_tick *ticks;
	int n_ticks;
};

/*
 * The serve loop, called from the serve command once its checks pass:
 * blocks SIGTERM, SIGINT and SIGHUP (so every thread started from here on
 * leaves them to this one) and ignores SIGPIPE, runs start, starts the
 * ticks, logs nothing itself until a signal: SIGHUP rereads the settings
 * ("SIGHUP: configuration reloaded") and calls reload; SIGTERM or SIGINT
 * logs "stopping on signal N", stops the ticks and calls stop. Returns
 * 0, or 1 when start or the ticks fail.
 */
int daemon_serve(const struct daemon_server *s);

#endif
