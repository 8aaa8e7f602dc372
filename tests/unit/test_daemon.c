/*
 * The daemon skeleton without a server: command lookup, usage, the exit
 * codes of daemon_main for options, commands and settings, and tick
 * threads that run on their interval and stop promptly.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "test.h"

static long long n_setting;
static int served, echoed, released, configure_ret;
static const char *echo_arg;

static const struct conf_key settings[] = {
	DAEMON_LOG_SETTINGS,
	{ "n", CONF_INT, &n_setting, "1", 0, 100, false, "a number" },
};

static int
cmd_serve(char **args)
{
	(void)args;
	served++;
	return n_setting == 42 ? 42 : 0;
}

static int
cmd_echo(char **args)
{
	echoed++;
	echo_arg = args[0];	/* argv outlives the call here */
	return 7;
}

static int
configure(void)
{
	return configure_ret;
}

static void
release(void)
{
	released++;
}

static int cmd_loop(char **args);

static const struct daemon_command commands[] = {
	{ "serve", NULL, 0, cmd_serve, "serve nothing" },
	{ "echo", "NAME", 1, cmd_echo, "echo NAME" },
	{ "loop", NULL, 0, cmd_loop, "the serve loop, signalled by itself" },
};

static const struct daemon testd = {
	.name = "testd",
	.env_prefix = "BERTHTESTD",
	.settings = settings,
	.n_settings = (int)ARRAY_SIZE(settings),
	.commands = commands,
	.n_commands = (int)ARRAY_SIZE(commands),
	.configure = configure,
	.release = release,
};

/* What the last run() printed, stdout and stderr. */
static char last_out[8192];

/* daemon_main on a NULL-terminated argument list, with stdout and stderr
 * (usage, getopt's complaints, the log) captured into last_out. */
static int
run(const char *first, ...)
{
	char *argv[8] = { (char *)"testd" };
	char path[] = "/tmp/berth-daemon-run-XXXXXX";
	int argc = 1, saved_out, saved_err, fd = mkstemp(path), ret;
	ssize_t n;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a != NULL && argc < 7;
	     a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	optind = 0;	/* GNU getopt: start over */
	ret = daemon_main(&testd, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	n = pread(fd, last_out, sizeof(last_out) - 1, 0);
	last_out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return ret;
}

/* daemon_usage's text (freed by the caller). */
static char *
usage_text(void)
{
	char path[] = "/tmp/berth-daemon-XXXXXX";
	int fd = mkstemp(path), saved;
	char *out = xcalloc(1, 8192);

	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	daemon_usage(&testd);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	if (pread(fd, out, 8191, 0) < 0)
		out[0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

static void
test_commands(void)
{
	char *u = usage_text();

	CHECK(daemon_command_find(&testd, "echo") == &commands[1]);
	CHECK(daemon_command_find(&testd, "serve") == &commands[0]);
	CHECK(daemon_command_find(&testd, "ech") == NULL);
	CHECK(strstr(u, "usage: testd [-c file] [serve | echo NAME | loop]\n"
			"       testd --version\n") == u);
	CHECK(strstr(u, "\n  echo                 echo NAME\n"));
	CHECK(strstr(u, "settings (file keys; environment BERTHTESTD_<KEY>):\n"
			"  log_level            least severe messages logged: "
			"error, warn, info or debug (default: info)\n"));
	CHECK(strstr(u, "  n                    a number (default: 1; 0 to "
			"100)\n"));
	free(u);
}

static void
test_main(void)
{
	served = echoed = released = 0;
	CHECK(run(NULL) == 0 && served == 1);		/* serve: the default */
	CHECK(run("serve", "extra", NULL) == 0 && served == 2);
	CHECK(run("echo", "x", NULL) == 7 && echoed == 1 &&
	      strcmp(echo_arg, "x") == 0);
	CHECK(run("echo", NULL) == 2 && echoed == 1);	/* NAME missing */
	CHECK(run("nope", NULL) == 2);
	CHECK(strncmp(last_out, "usage: testd ", 13) == 0);
	CHECK(run("-h", NULL) == 0 && run("--help", NULL) == 0);
	CHECK(run("-V", NULL) == 0 && run("--version", NULL) == 0);
	CHECK(run("-x", NULL) == 2);
	CHECK(served == 2);
	CHECK(run("-c", "/nonexistent/berth.conf", NULL) == 1);
	setenv("BERTHTESTD_N", "42", 1);
	CHECK(run(NULL) == 42);
	setenv("BERTHTESTD_N", "101", 1);
	CHECK(run(NULL) == 1 && served == 3);
	CHECK(strstr(last_out, "environment BERTHTESTD_N: \"n\" must be an "
			       "integer from 0 to 100, not \"101\""));
	unsetenv("BERTHTESTD_N");
	configure_ret = -1;
	CHECK(run(NULL) == 1 && served == 3);
	configure_ret = 0;
	/* -h, -V and a bad option stop before the settings: no release. */
	CHECK(released == 9);
	CHECK(daemon_conf_path() == NULL);
}

static int ticks_run, ticks_done, slow_run;

static void
count_tick(struct db *db)
{
	CHECK(db == NULL);
	__atomic_add_fetch(&ticks_run, 1, __ATOMIC_RELAXED);
}

static void
slow_tick(struct db *db)
{
	(void)db;
	__atomic_add_fetch(&slow_run, 1, __ATOMIC_RELAXED);
}

static void
count_done(void)
{
	__atomic_add_fetch(&ticks_done, 1, __ATOMIC_RELAXED);
}

static void
test_ticks(void)
{
	static const struct daemon_tick ticks[] = {
		{ "test-fast", count_tick, 10, false, count_done },
		{ "test-slow", slow_tick, 60000, false, count_done },
	};
	struct timespec pause = { .tv_nsec = 150 * 1000000L };
	struct daemon_ticks *ts = daemon_ticks_start(ticks, 2);
	uint64_t t0;
	int after;

	CHECK(ts != NULL);
	nanosleep(&pause, NULL);
	t0 = util_now_ns();
	daemon_ticks_stop(ts);
	/* A sleeping tick wakes at once: stopping takes no interval. */
	CHECK(util_now_ns() - t0 < 1000000000ull);
	after = __atomic_load_n(&ticks_run, __ATOMIC_RELAXED);
	CHECK(after >= 3 && after <= 16);
	CHECK(slow_run == 0);	/* the first run is one interval away */
	CHECK(ticks_done == 2);
	nanosleep(&pause, NULL);
	CHECK(__atomic_load_n(&ticks_run, __ATOMIC_RELAXED) == after);
	daemon_ticks_stop(NULL);
	ts = daemon_ticks_start(NULL, 0);
	CHECK(ts != NULL);
	daemon_ticks_stop(ts);
}

/*
 * The serve loop: a thread started by the start hook (so it has the
 * signals blocked) sends SIGHUP, then SIGTERM, to the loop's thread once
 * the tick has run; the tick stops before the stop hook runs.
 */
static pthread_t loop_thread, signaller;
static int loop_ticks, loop_reloads, loop_ticks_at_stop = -1;
static bool loop_reload_ok;

static void
loop_tick(struct db *db)
{
	(void)db;
	__atomic_add_fetch(&loop_ticks, 1, __ATOMIC_RELAXED);
}

static void
wait_for(const int *counter)
{
	struct timespec pause = { .tv_nsec = 5 * 1000000L };

	for (int i = 0; i < 1000 && !__atomic_load_n(counter, __ATOMIC_RELAXED);
	     i++)
		nanosleep(&pause, NULL);
}

static void *
signal_loop(void *arg)
{
	(void)arg;
	wait_for(&loop_ticks);
	pthread_kill(loop_thread, SIGHUP);
	wait_for(&loop_reloads);
	pthread_kill(loop_thread, SIGTERM);
	return NULL;
}

static int
loop_start(void)
{
	loop_thread = pthread_self();
	return pthread_create(&signaller, NULL, signal_loop, NULL) == 0 ? 0
									 : -1;
}

static void
loop_reload(bool ok)
{
	loop_reload_ok = ok;
	__atomic_add_fetch(&loop_reloads, 1, __ATOMIC_RELAXED);
}

static void
loop_stop(void)
{
	pthread_join(signaller, NULL);
	loop_ticks_at_stop = __atomic_load_n(&loop_ticks, __ATOMIC_RELAXED);
}

static int
cmd_loop(char **args)
{
	static const struct daemon_tick ticks[] = {
		{ "test-loop", loop_tick, 5, false, NULL },
	};
	const struct daemon_server hooks = {
		.start = loop_start,
		.reload = loop_reload,
		.stop = loop_stop,
		.ticks = ticks,
		.n_ticks = 1,
	};

	(void)args;
	return daemon_serve(&hooks);
}

static void
test_serve(void)
{
	struct timespec pause = { .tv_nsec = 50 * 1000000L };

	CHECK(run("loop", NULL) == 0);
	CHECK(strstr(last_out, "testd info: SIGHUP: configuration reloaded"));
	CHECK(strstr(last_out, "testd info: stopping on signal 15"));
	CHECK(loop_reloads == 1 && loop_reload_ok);
	CHECK(loop_ticks_at_stop >= 1);
	nanosleep(&pause, NULL);
	CHECK(loop_ticks == loop_ticks_at_stop);
}

void
test_daemon(void)
{
	test_commands();
	test_main();
	test_ticks();
	test_serve();
}
