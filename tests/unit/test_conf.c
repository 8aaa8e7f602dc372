/*
 * Configuration reader: defaults, file values, environment overrides,
 * unknown keys and out-of-range values; the typed integers and enums that
 * write straight into a struct, and their reload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "test.h"

static const char *s_listen;
static long long s_threads;
static bool s_flag;

static const struct conf_key keys[] = {
	{ "listen", CONF_STR, &s_listen, "127.0.0.1:5000", 0, 0, false, "" },
	{ "threads", CONF_INT, &s_threads, "8", 1, 64, true, "" },
	{ "flag", CONF_BOOL, &s_flag, "false", 0, 0, false, "" },
};

/* A settings struct of every integer type, as a daemon's config. */
static struct {
	int i32;
	unsigned u32;
	size_t size;
	uint64_t u64;
	int level;	/* an index into levels */
	int kind;	/* into kinds */
} t;
static const char *const levels[] = { "error", "warn", "info", "debug",
				      NULL };
static const char *const kinds[] = { "openldap", "ad", NULL };

static const struct conf_key typed[] = {
	{ "i32", CONF_INT32, &t.i32, "-5", -2147483647LL - 1, 2147483647,
	  false, "" },
	{ "u32", CONF_UINT32, &t.u32, "7", 0, 4294967295LL, false, "" },
	{ "size", CONF_SIZE, &t.size, "65536", 1, 1LL << 40, false, "" },
	{ "u64", CONF_UINT64, &t.u64, "34359738368", 0,
	  4611686018427387904LL, true, "" },
	{ "level", CONF_ENUM, CONF_ENUM_VAR(&t.level, levels), "info", 0, 0,
	  true, "verbosity" },
	{ "kind", CONF_ENUM, CONF_ENUM_VAR(&t.kind, kinds), "openldap", 0, 0,
	  false, "" },
};
#define NTYPED ((int)ARRAY_SIZE(typed))

/* Writes text to a temporary file and loads or reloads it. */
static int
table_file(const struct conf_key *k, int n, const char *text, bool reload)
{
	char path[] = "/tmp/berth-conf-XXXXXX";
	int fd = mkstemp(path), ret;
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	ret = reload ? conf_reload(k, n, path, "BERTHTEST")
		     : conf_load(k, n, path, "BERTHTEST");
	unlink(path);
	return ret;
}

static int
with_file(const char *text, bool reload)
{
	return table_file(keys, 3, text, reload);
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

/* Runs fn(text) with fd 2 (fd_no) captured; returns what was printed
 * (freed by the caller). */
static char *
captured(int fd_no, int (*fn)(const char *), const char *text)
{
	char path[] = "/tmp/berth-conf-err-XXXXXX";
	int fd = mkstemp(path), saved;
	char *out = xcalloc(1, 4096);

	fflush(stdout);
	fflush(stderr);
	saved = dup(fd_no);
	dup2(fd, fd_no);
	(void)fn(text);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd_no);
	close(saved);
	if (pread(fd, out, 4095, 0) < 0)
		out[0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

static int
reload_one(const char *text)
{
	return reload_text(text);
}

static char *
reload_stderr(const char *text)
{
	return captured(2, reload_one, text);
}

static int
typed_load(const char *text)
{
	return table_file(typed, NTYPED, text, false);
}

static int
typed_reload(const char *text)
{
	return table_file(typed, NTYPED, text, true);
}

static int
typed_usage(const char *text)
{
	(void)text;
	conf_usage(typed, NTYPED);
	return 0;
}

/* The integer types: defaults, bounds, the C type's whole range. */
static void
test_typed(void)
{
	CHECK(conf_load(typed, NTYPED, NULL, "BERTHTEST") == 0);
	CHECK(t.i32 == -5 && t.u32 == 7 && t.size == 65536);
	CHECK(t.u64 == 34359738368ULL);
	CHECK(typed_load("i32 = -2147483648\nu32 = 4294967295\n"
			 "size = 1099511627776\n"
			 "u64 = 4611686018427387904\n") == 0);
	CHECK(t.i32 == -2147483647 - 1 && t.u32 == 4294967295u);
	CHECK(t.size == (size_t)1 << 40);
	CHECK(t.u64 == 4611686018427387904ULL);
	CHECK(typed_load("u32 = -1\n") == -1);
	CHECK(typed_load("u32 = 4294967296\n") == -1);
	CHECK(typed_load("size = 0\n") == -1);
	CHECK(typed_load("i32 = 2147483648\n") == -1);
	CHECK(typed_load("u64 = 4611686018427387905\n") == -1);
	CHECK(typed_load("u64 = 99999999999999999999\n") == -1);
}

/* Enums: the index of the name, errors that list the names, usage. */
static void
test_enum(void)
{
	char *out;

	CHECK(conf_load(typed, NTYPED, NULL, "BERTHTEST") == 0);
	CHECK(t.level == 2 && t.kind == 0);
	CHECK(typed_load("level = debug\nkind = ad\n") == 0);
	CHECK(t.level == 3 && t.kind == 1);
	CHECK(typed_load("level = error\n") == 0 && t.level == 0);
	CHECK(typed_load("level = Debug\n") == -1);
	CHECK(typed_load("level = \n") == -1);
	out = captured(2, typed_load, "kind = novell\n");
	CHECK(strstr(out, "kind must be openldap or ad, not \"novell\""));
	free(out);
	out = captured(2, typed_load, "level = loud\n");
	CHECK(strstr(out, ":1: level must be error, warn, info or debug, "
			  "not \"loud\""));
	free(out);
	setenv("BERTHTEST_LEVEL", "warn", 1);
	CHECK(typed_load("level = debug\n") == 0 && t.level == 1);
	unsetenv("BERTHTEST_LEVEL");

	out = captured(1, typed_usage, NULL);
	CHECK(strstr(out, "  level                verbosity: error, warn, "
			  "info or debug (default: info)\n"));
	CHECK(strstr(out, "  kind                 openldap or ad "
			  "(default: openldap)\n"));
	CHECK(strstr(out, "  u32                   (default: 7; 0 to "
			  "4294967295)\n"));
	free(out);
}

/* A reload moves the reloadable typed keys, and names the others. */
static void
test_typed_reload(void)
{
	char *out;

	CHECK(typed_load("level = info\nkind = openldap\nu32 = 9\n") == 0);
	CHECK(typed_reload("level = debug\nu64 = 5\nu32 = 9\n") == 0);
	CHECK(t.level == 3 && t.u64 == 5 && t.u32 == 9);
	CHECK(typed_reload("level = bogus\nu64 = 6\n") == -1);
	CHECK(t.level == 3 && t.u64 == 5);
	out = captured(2, typed_reload, "level = warn\nkind = ad\nu32 = 9\n"
					"size = 2\n");
	CHECK(strstr(out, "SIGHUP: kind changed; restart to apply"));
	CHECK(strstr(out, "SIGHUP: size changed; restart to apply"));
	CHECK(strstr(out, "level") == NULL && strstr(out, "u32") == NULL);
	CHECK(t.level == 1 && t.kind == 0 && t.size == 65536);
	free(out);
	conf_release(typed, NTYPED);
}

void
test_conf(void)
{
	test_typed();
	test_enum();
	test_typed_reload();

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
