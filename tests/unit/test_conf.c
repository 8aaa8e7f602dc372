/*
 * Configuration reader: defaults, file values, environment overrides,
 * unknown keys and out-of-range values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "test.h"

static char *s_listen;
static long long s_threads;
static bool s_flag;

static const struct conf_key keys[] = {
	{ "listen", CONF_STR, &s_listen, "127.0.0.1:5000", 0, 0, false, "" },
	{ "threads", CONF_INT, &s_threads, "8", 1, 64, true, "" },
	{ "flag", CONF_BOOL, &s_flag, "false", 0, 0, false, "" },
};

/* Writes text to a temporary file and loads or reloads it. */
static int
with_file(const char *text, bool reload)
{
	char path[] = "/tmp/berth-conf-XXXXXX";
	int fd = mkstemp(path), ret;
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	ret = reload ? conf_reload(keys, 3, path, "BERTHTEST")
		     : conf_load(keys, 3, path, "BERTHTEST");
	unlink(path);
	return ret;
}

static int
load_text(const char *text)
{
	return with_file(text, false);
}

static int
reload_text(const char *text)
{
	return with_file(text, true);
}

/* reload_text with stderr captured; returns what was printed (freed by
 * the caller). */
static char *
reload_stderr(const char *text)
{
	char path[] = "/tmp/berth-conf-err-XXXXXX";
	int fd = mkstemp(path), saved;
	char *out = xcalloc(1, 4096);

	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	(void)reload_text(text);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (pread(fd, out, 4095, 0) < 0)
		out[0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

void
test_conf(void)
{
	CHECK(conf_load(keys, 3, NULL, "BERTHTEST") == 0);
	CHECK(strcmp(s_listen, "127.0.0.1:5000") == 0);
	CHECK(s_threads == 8 && !s_flag);

	CHECK(load_text("# comment\n\nlisten = 0.0.0.0:443\nthreads=16\n"
			"flag = yes\n") == 0);
	CHECK(strcmp(s_listen, "0.0.0.0:443") == 0);
	CHECK(s_threads == 16 && s_flag);

	/* A value keeps everything after the first '=' (libpq conninfo). */
	CHECK(load_text("listen = host=/tmp port=5 dbname=x\n") == 0);
	CHECK(strcmp(s_listen, "host=/tmp port=5 dbname=x") == 0);
	CHECK(load_text("listen = \"  spaced  \"\n") == 0);
	CHECK(strcmp(s_listen, "  spaced  ") == 0);

	/* A comment after a value is not part of it; '#' in a word is. */
	CHECK(load_text("listen = /etc/berth/key.pem    # x5c, for CNCF\n"
			"threads = 4\t# four\n") == 0);
	CHECK(strcmp(s_listen, "/etc/berth/key.pem") == 0);
	CHECK(s_threads == 4);
	CHECK(load_text("listen = dbname=x password=a#b\n") == 0);
	CHECK(strcmp(s_listen, "dbname=x password=a#b") == 0);
	CHECK(load_text("listen = \"a # b\"  # note\n") == 0);
	CHECK(strcmp(s_listen, "a # b") == 0);
	CHECK(load_text("listen =   # nothing\n") == 0);
	CHECK(strcmp(s_listen, "") == 0);
	CHECK(load_text("listen = \"open\n") == -1);
	CHECK(load_text("listen = \"a\" b\n") == -1);

	CHECK(load_text("nosuchkey = 1\n") == -1);
	CHECK(load_text("threads = 65\n") == -1);
	CHECK(load_text("threads = 0\n") == -1);
	CHECK(load_text("threads = 8x\n") == -1);
	CHECK(load_text("flag = maybe\n") == -1);
	CHECK(load_text("just words\n") == -1);

	setenv("BERTHTEST_THREADS", "3", 1);
	CHECK(load_text("threads = 16\n") == 0);
	CHECK(s_threads == 3);
	setenv("BERTHTEST_THREADS", "999", 1);
	CHECK(load_text("") == -1);
	unsetenv("BERTHTEST_THREADS");

	/* A reload applies reloadable keys only, and nothing from a bad file. */
	CHECK(load_text("listen = a:1\nthreads = 4\n") == 0);
	CHECK(reload_text("listen = b:2\nthreads = 5\nflag = on\n") == 0);
	CHECK(strcmp(s_listen, "a:1") == 0 && s_threads == 5 && !s_flag);
	CHECK(reload_text("threads = 6\nbogus = 1\n") == -1);
	CHECK(s_threads == 5 && strcmp(s_listen, "a:1") == 0);

	/* A reload names each changed key it cannot apply, and only those. */
	{
		char *out = reload_stderr("listen = b:2\nthreads = 7\n");

		CHECK(strstr(out, "SIGHUP: listen changed; restart to apply"));
		CHECK(strstr(out, "threads") == NULL);
		CHECK(strstr(out, "flag") == NULL);
		CHECK(s_threads == 7 && strcmp(s_listen, "a:1") == 0);
		free(out);
		out = reload_stderr("listen = a:1\nflag = true\n");
		CHECK(strstr(out, "listen") == NULL);
		CHECK(strstr(out, "SIGHUP: flag changed; restart to apply"));
		CHECK(!s_flag);
		free(out);
		out = reload_stderr("listen = b:2\nbogus = 1\n");
		CHECK(strstr(out, "listen changed") == NULL);
		free(out);
	}
	conf_release(keys, 3);
	CHECK(s_listen == NULL);

	/* Comma-separated settings (keys, URL prefixes). */
	{
		char **items;
		int n = util_list_split(" a.pem ,b.pem,, \t c d ,", &items);

		CHECK(n == 3);
		CHECK(n == 3 && !strcmp(items[0], "a.pem") &&
		      !strcmp(items[1], "b.pem") && !strcmp(items[2], "c d"));
		util_list_free(items, n);
		CHECK(util_list_split("", &items) == 0 && items == NULL);
		CHECK(util_list_split(NULL, &items) == 0);
	}
}
