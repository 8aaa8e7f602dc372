/*
 * The daemon skeleton (see daemon.h). The daemon's signals are blocked in
 * every thread but the serve loop's, which takes them with sigwait(), so
 * no handler runs in async-signal context. Tick threads sleep on a
 * condition variable (CLOCK_MONOTONIC), which daemon_ticks_stop
 * broadcasts; a run in progress finishes before its thread is joined.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "db.h"
#include "log.h"
#include "version.h"

const char *const daemon_log_levels[] = { "error", "warn", "info", "debug",
					  NULL };
const char *const daemon_log_formats[] = { "text", "json", NULL };
int daemon_log_level = 2;	/* info, as the settings' default */
int daemon_log_format;

/* The running daemon_main's program and -c file, for SIGHUP. */
static const struct daemon *current;
static const char *conf_path;

const char *
daemon_conf_path(void)
{
	return conf_path;
}

const struct daemon_command *
daemon_command_find(const struct daemon *d, const char *name)
{
	for (int i = 0; i < d->n_commands; i++)
		if (strcmp(d->commands[i].name, name) == 0)
			return &d->commands[i];
	return NULL;
}

void
daemon_usage(const struct daemon *d)
{
	printf("usage: %s [-c file] [", d->name);
	for (int i = 0; i < d->n_commands; i++)
		printf("%s%s%s%s", i ? " | " : "", d->commands[i].name,
		       d->commands[i].args ? " " : "",
		       d->commands[i].args ? d->commands[i].args : "");
	printf("]\n       %s --version\ncommands (the first is the default):\n",
	       d->name);
	for (int i = 0; i < d->n_commands; i++)
		printf("  %-20s %s\n", d->commands[i].name,
		       d->commands[i].help ? d->commands[i].help : "");
	printf("settings (file keys; environment %s_<KEY>):\n",
	       d->env_prefix);
	conf_usage(d->settings, d->n_settings);
}

/* The signals the serve loop takes. */
static void
daemon_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* The log settings take effect (they were validated as enums). */
static void
apply_log_settings(void)
{
	(void)log_set_level(daemon_log_levels[daemon_log_level]);
	(void)log_set_format(daemon_log_formats[daemon_log_format]);
}

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* -c, -h, -V. Returns -1 to go on, else the exit code. */
static int
parse_options(const struct daemon *d, int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			daemon_usage(d);
			return 0;
		case 'V':
			version_print(d->name);
			return 0;
		default:
			daemon_usage(d);
			return 2;
		}
	}
	return -1;
}

/*
 * Loads the settings and runs configure with the daemon's signals blocked,
 * so that threads configure starts (the directory's watchdog) never take
 * them; the caller's mask is back on return. 0, or -1 (logged).
 */
static int
load_settings(const struct daemon *d)
{
	sigset_t set, old;
	int ret = -1;

	daemon_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (conf_load(d->settings, d->n_settings, conf_path, d->env_prefix) <
	    0)
		goto out;
	apply_log_settings();
	if (d->configure != NULL && d->configure() < 0)
		goto out;
	ret = 0;
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

int
daemon_main(const struct daemon *d, int argc, char **argv)
{
	const struct daemon_command *cmd = &d->commands[0];
	int ret;

	conf_path = NULL;
	log_set_daemon(d->name);
	if ((ret = parse_options(d, argc, argv)) >= 0)
		return ret;
	current = d;
	if (optind < argc)
		cmd = daemon_command_find(d, argv[optind++]);
	if (load_settings(d) < 0) {
		ret = 1;
	} else if (cmd == NULL || argc - optind < cmd->nargs) {
		daemon_usage(d);
		ret = 2;
	} else {
		ret = cmd->run(argv + optind);
	}
	if (d->release != NULL)
		d->release();
	conf_release(d->settings, d->n_settings);
	current = NULL;
	conf_path = NULL;
	return ret;
}

/* ---- tick threads ---------------------------------------------------- */

struct tick_thread {
	struct daemon_ticks *owner;
	const struct daemon_tick *tick;
	pthread_t thread;
};

struct daemon_ticks {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* on CLOCK_MONOTONIC */
	bool stopping;
	int n;			/* threads started */
	struct tick_thread *threads;
};

static _Atomic bool stopping_any;

bool
daemon_stopping(void)
{
	return stopping_any;
}

/* Sleeps interval_ms or until stopping; whether to run again. */
static bool
tick_sleep(struct daemon_ticks *ts, unsigned interval_ms)
{
	struct timespec until;
	bool go;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += interval_ms / 1000;
	until.tv_nsec += (long)(interval_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ts->lock);
	while (!ts->stopping &&
	       pthread_cond_timedwait(&ts->wake, &ts->lock, &until) !=
		       ETIMEDOUT)
		;
	go = !ts->stopping;
	pthread_mutex_unlock(&ts->lock);
	return go;
}

static void *
tick_main(void *arg)
{
	struct tick_thread *t = arg;
	const struct daemon_tick *tick = t->tick;

	while (tick_sleep(t->owner, tick->interval_ms)) {
		struct db *db = NULL;

		if (tick->needs_db && (db = db_thread()) == NULL)
			continue;	/* db_thread() logged it */
		tick->run(db);
	}
	if (tick->needs_db)
		db_thread_close();
	if (tick->done != NULL)
		tick->done();
	return NULL;
}

static struct daemon_ticks *
ticks_new(int n)
{
	struct daemon_ticks *ts = xcalloc(1, sizeof(*ts));
	pthread_condattr_t ca;

	pthread_mutex_init(&ts->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ts->wake, &ca);
	pthread_condattr_destroy(&ca);
	ts->threads = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*ts->threads));
	return ts;
}

struct daemon_ticks *
daemon_ticks_start(const struct daemon_tick *ticks, int n)
{
	struct daemon_ticks *ts = ticks_new(n);
	int err;

	stopping_any = false;
	for (int i = 0; i < n; i++) {
		struct tick_thread *t = &ts->threads[i];

		t->owner = ts;
		t->tick = &ticks[i];
		if ((err = pthread_create(&t->thread, NULL, tick_main, t)) !=
		    0) {
			log_warnx("could not start the %s thread: %s",
				  ticks[i].name, strerror(err));
			daemon_ticks_stop(ts);
			return NULL;
		}
		(void)pthread_setname_np(t->thread, ticks[i].name);
		ts->n++;
	}
	return ts;
}

void
daemon_ticks_stop(struct daemon_ticks *ts)
{
	if (ts == NULL)
		return;
	stopping_any = true;
	pthread_mutex_lock(&ts->lock);
	ts->stopping = true;
	pthread_cond_broadcast(&ts->wake);
	pthread_mutex_unlock(&ts->lock);
	for (int i = 0; i < ts->n; i++)
		pthread_join(ts->threads[i].thread, NULL);
	pthread_cond_destroy(&ts->wake);
	pthread_mutex_destroy(&ts->lock);
	free(ts->threads);
	free(ts);
}

/* ---- the serve loop -------------------------------------------------- */

/* SIGHUP: the reloadable settings, then the daemon's own reload. */
static void
reload(const struct daemon_server *s)
{
	bool ok = current != NULL &&
		  conf_reload(current->settings, current->n_settings,
			      conf_path, current->env_prefix) == 0;

	if (ok) {
		apply_log_settings();
		log_info("SIGHUP: configuration reloaded");
	} else {
		log_warnx("SIGHUP: configuration not reloaded");
	}
	if (s->reload != NULL)
		s->reload(ok);
}

int
daemon_serve(const struct daemon_server *s)
{
	struct daemon_ticks *ts;
	sigset_t set;
	int sig;

	daemon_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (s->start() < 0)
		return 1;
	if ((ts = daemon_ticks_start(s->ticks, s->n_ticks)) == NULL) {
		s->stop();
		return 1;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		reload(s);
	}
	log_info("stopping on signal %d", sig);
	daemon_ticks_stop(ts);
	s->stop();
	return 0;
}
