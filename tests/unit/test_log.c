/*
 * Log escaping and line shapes: control characters, quotes, backslashes
 * and invalid UTF-8 never split or forge a line, in text or json; every
 * json line parses; truncation never cuts an escape; request ids; the
 * thread's log context (set, cleared, in both formats, per thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "httplog.h"
#include "log.h"
#include "test.h"

static void
escape_cases(void)
{
	char out[64];

	CHECK(log_escape(out, sizeof(out), "a\nb\rc\td", 0) == 10 &&
	      strcmp(out, "a\\nb\\rc\\td") == 0);
	log_escape(out, sizeof(out), "x\x01y\x1b[31m\x7f", 0);
	CHECK(strcmp(out, "x\\x01y\\x1b[31m\\x7f") == 0);
	/* Messages keep quotes; quoted values and json escape them. */
	log_escape(out, sizeof(out), "say \"hi\" \\", 0);
	CHECK(strcmp(out, "say \"hi\" \\") == 0);
	log_escape(out, sizeof(out), "say \"hi\" \\", LOG_ESC_QUOTE);
	CHECK(strcmp(out, "say \\\"hi\\\" \\\\") == 0);
	log_escape(out, sizeof(out), "\"\\\n\x02", LOG_ESC_JSON);
	CHECK(strcmp(out, "\\\"\\\\\\n\\u0002") == 0);
	/* Valid UTF-8 passes; invalid bytes, overlongs and surrogates are
	 * escaped. */
	log_escape(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3",
		   0);
	CHECK(strcmp(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3") == 0);
	log_escape(out, sizeof(out), "\xff\xc0\xaf\xed\xa0\x80\xc3", 0);
	CHECK(strcmp(out, "\\xff\\xc0\\xaf\\xed\\xa0\\x80\\xc3") == 0);
	log_escape(out, sizeof(out), "\xff", LOG_ESC_JSON);
	CHECK(strcmp(out, "\\\\xff") == 0);
	/* Truncation: "..." and never half an escape. */
	CHECK(log_escape(out, 8, "abcdefg", 0) == 7 &&
	      strcmp(out, "abcdefg") == 0);
	CHECK(log_escape(out, 8, "abcdefgh", 0) == 7 &&
	      strcmp(out, "abcd...") == 0);
	log_escape(out, 10, "ab\n\n\n\n\n", 0);
	CHECK(strcmp(out, "ab\\n\\n...") == 0);
	log_escape(out, 12, "\x01\x01\x01", LOG_ESC_JSON);
	CHECK(strcmp(out, "\\u0001...") == 0);
}

/* Runs fn with stderr sent to a temp file; returns what it wrote. */
static char *
capture(void (*fn)(void))
{
	char path[] = "/tmp/berth-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	size_t len = 0;
	char *text;
	FILE *f;

	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	text = xcalloc(1, 65536);
	if (f != NULL) {
		len = fread(text, 1, 65535, f);
		fclose(f);
	}
	text[len] = '\0';
	unlink(path);
	return text;
}

static const char evil[] = "/v2/a\nfake 2026-01-01T00:00:00.000Z registryd "
			   "info: request id=forged\r\"\\\x1b\xff";

static void
log_evil(void)
{
	const struct log_field f[] = {
		{ "path", NULL, LOG_F_QUOTED, evil },
		{ "method", NULL, LOG_F_WORD, "GE T\n" },
		{ "user", NULL, LOG_F_WORD, NULL },
		{ "status", NULL, LOG_F_NUM, "200" },
		{ "aborted", NULL, LOG_F_TRUE, NULL },
	};

	log_info("message %s", evil);
	log_fields(LOG_LVL_INFO, "request", f, 5, NULL);
	log_fields(LOG_LVL_WARN, "req", f, 1, evil);
	log_debug("hidden at info");
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
text_lines(void)
{
	char *out, *line2;

	CHECK(log_set_format("text") == 0);
	log_set_daemon("unitd");
	out = capture(log_evil);
	CHECK(count_lines(out) == 3);
	CHECK(strstr(out, "\nfake") == NULL && strstr(out, "\r") == NULL &&
	      strstr(out, "\x1b") == NULL);
	/* 2026-12-03T12:00:00.123Z unitd info: ... */
	CHECK(strlen(out) > 25 && out[4] == '-' && out[10] == 'T' &&
	      out[19] == '.' && out[23] == 'Z' &&
	      strncmp(out + 24, " unitd info: message /v2/a\\nfake", 32) == 0);
	line2 = strchr(out, '\n') + 1;
	CHECK(strncmp(strchr(line2, ' '), " unitd info: request path=\"/v2/a\\n",
		      34) == 0);
	CHECK(strstr(line2, "id=forged\\r\\\"\\\\\\x1b\\xff\" method=\"GE "
			    "T\\n\" user=- status=200 aborted=1\n") != NULL);
	CHECK(strstr(out, " unitd warning: req path=\"") != NULL);
	free(out);
}

static void
json_lines(void)
{
	char *out, *p, *nl;
	int n = 0, good = 0;

	CHECK(log_set_format("json") == 0);
	out = capture(log_evil);
	CHECK(log_set_format("text") == 0);
	CHECK(count_lines(out) == 3);
	for (p = out; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		json_t *doc = json_loadb(p, (size_t)(nl - p), 0, NULL);
		const char *ts = json_string_value(json_object_get(doc, "ts"));

		n++;
		good += doc != NULL && ts != NULL && strlen(ts) == 24 &&
			ts[23] == 'Z' &&
			json_is_string(json_object_get(doc, "msg")) &&
			!strcmp(json_string_value(json_object_get(doc, "daemon")),
				"unitd");
		if (n == 2) {
			const char *path = json_string_value(
				json_object_get(doc, "path"));

			CHECK(path != NULL && !strncmp(path, evil, strlen(evil) - 1) &&
			      !strcmp(path + strlen(evil) - 1, "\\xff"));
			CHECK(json_is_null(json_object_get(doc, "user")));
			CHECK(json_integer_value(json_object_get(doc, "status")) ==
			      200);
			CHECK(json_is_true(json_object_get(doc, "aborted")));
			CHECK(!strcmp(json_string_value(json_object_get(doc, "level")),
				      "info"));
		}
		json_decref(doc);
	}
	CHECK(n == 3 && good == 3);
	free(out);
}

static void
log_long(void)
{
	char *big = xmalloc(40000);
	/* More than a line holds: the fields that do not fit are left out. */
	const struct log_field f[] = {
		{ "status", NULL, LOG_F_NUM, "200" },
		{ "a", NULL, LOG_F_QUOTED, big }, { "b", NULL, LOG_F_QUOTED, big },
		{ "c", NULL, LOG_F_QUOTED, big }, { "d", NULL, LOG_F_QUOTED, big },
		{ "e", NULL, LOG_F_QUOTED, big }, { "f", NULL, LOG_F_QUOTED, big },
		{ "g", NULL, LOG_F_QUOTED, big }, { "h", NULL, LOG_F_QUOTED, big },
	};

	memset(big, '\n', 39999);
	big[39999] = '\0';
	log_fields(LOG_LVL_INFO, "request", f, (int)ARRAY_SIZE(f), big);
	free(big);
}

static void
long_lines(void)
{
	char *out;
	json_t *doc;

	CHECK(log_set_format("json") == 0);
	out = capture(log_long);
	CHECK(log_set_format("text") == 0);
	CHECK(count_lines(out) == 1);
	doc = json_loads(out, 0, NULL);
	CHECK(doc != NULL && json_integer_value(json_object_get(doc, "status")) ==
			     200);
	CHECK(json_is_string(json_object_get(doc, "a")) &&
	      strlen(json_string_value(json_object_get(doc, "a"))) < 1100 &&
	      json_object_get(doc, "h") == NULL);
	json_decref(doc);
	free(out);
	out = capture(log_long);
	CHECK(count_lines(out) == 1 && strstr(out, " status=200") != NULL);
	free(out);
}

static void
request_ids(void)
{
	char max[HTTPLOG_ID_MAX + 2];

	CHECK(httplog_id_valid("abc-123_X.y:z"));
	CHECK(httplog_id_valid("0"));
	CHECK(!httplog_id_valid(""));
	CHECK(!httplog_id_valid("a b"));
	CHECK(!httplog_id_valid("a\nb"));
	CHECK(!httplog_id_valid("a\"b"));
	CHECK(!httplog_id_valid("a/b"));
	CHECK(!httplog_id_valid("caf\xc3\xa9"));
	memset(max, 'a', sizeof(max));
	max[HTTPLOG_ID_MAX] = '\0';
	CHECK(httplog_id_valid(max));
	max[HTTPLOG_ID_MAX] = 'a';
	max[HTTPLOG_ID_MAX + 1] = '\0';
	CHECK(!httplog_id_valid(max));
}

static struct http_req ctx_req = {
	.id = "rid-1", .client = "192.0.2.7", .method = "PUT",
	.path = "/v2/a b/blobs",
};
static struct http_req other_req = {
	.id = "rid-2", .client = "192.0.2.8", .method = "GET", .path = "/v2/",
};

static void
log_in_ctx(void)
{
	httplog_enter(&ctx_req);
	log_warnx("before auth");
	ctx_req.user = "alice";	/* as the application does after auth */
	log_info("after auth");
	log_warn("with errno");
	rlog_warnx(&other_req, "another request");
	log_debug("hidden at info");
	log_fields(LOG_LVL_INFO, "request", NULL, 0, NULL);
	httplog_leave();
	log_info("outside");
}

static void *
thread_log(void *arg)
{
	(void)arg;
	log_info("from another thread");
	return NULL;
}

/* Logs from a second thread while this one has a context. */
static void
log_two_threads(void)
{
	pthread_t t;

	httplog_enter(&ctx_req);
	if (pthread_create(&t, NULL, thread_log, NULL) == 0)
		pthread_join(t, NULL);
	httplog_leave();
}

/* The n-th line of s (0-based) copied into out, or "". */
static void
nth_line(const char *s, int n, char *out, size_t size)
{
	const char *nl;

	for (; n > 0 && (nl = strchr(s, '\n')) != NULL; n--)
		s = nl + 1;
	nl = strchr(s, '\n');
	if (n > 0 || nl == NULL || (size_t)(nl - s) >= size) {
		out[0] = '\0';
		return;
	}
	memcpy(out, s, (size_t)(nl - s));
	out[nl - s] = '\0';
}

static void
ctx_text(void)
{
	char *out, l[512];

	CHECK(log_set_format("text") == 0);
	ctx_req.user = NULL;
	ctx_req.warnings = other_req.warnings = 0;
	errno = ENOENT;
	out = capture(log_in_ctx);
	CHECK(count_lines(out) == 6);
	nth_line(out, 0, l, sizeof(l));
	CHECK(strstr(l, " warning: req id=rid-1 client=192.0.2.7 user=- "
			"method=PUT path=\"/v2/a b/blobs\": before auth"));
	nth_line(out, 1, l, sizeof(l));
	CHECK(strstr(l, " info: req id=rid-1 client=192.0.2.7 user=alice "
			"method=PUT path=\"/v2/a b/blobs\": after auth"));
	nth_line(out, 2, l, sizeof(l));
	CHECK(strstr(l, " user=alice ") != NULL &&
	      strstr(l, ": with errno: ") != NULL);
	/* rlog_warnx names its own request, then the context is back. */
	nth_line(out, 3, l, sizeof(l));
	CHECK(strstr(l, " warning: req id=rid-2 client=192.0.2.8 user=- "
			"method=GET path=\"/v2/\": another request") != NULL);
	/* log_fields lines carry their own fields only. */
	nth_line(out, 4, l, sizeof(l));
	CHECK(strstr(l, " info: request") != NULL && strstr(l, "rid") == NULL);
	/* Cleared: the next line names no request. */
	nth_line(out, 5, l, sizeof(l));
	CHECK(strstr(l, " info: outside") != NULL && strstr(l, "rid") == NULL);
	CHECK(ctx_req.warnings == 2 && other_req.warnings == 1);
	CHECK(log_ctx_get() == NULL);
	free(out);
}

static void
ctx_json(void)
{
	char *out, l[512];
	json_t *doc;

	CHECK(log_set_format("json") == 0);
	ctx_req.user = NULL;
	out = capture(log_in_ctx);
	CHECK(log_set_format("text") == 0);
	CHECK(count_lines(out) == 6);
	nth_line(out, 0, l, sizeof(l));
	doc = json_loads(l, 0, NULL);
	CHECK(doc != NULL &&
	      !strcmp(json_string_value(json_object_get(doc, "msg")),
		      "before auth") &&
	      !strcmp(json_string_value(json_object_get(doc, "request_id")),
		      "rid-1") &&
	      !strcmp(json_string_value(json_object_get(doc, "client")),
		      "192.0.2.7") &&
	      json_is_null(json_object_get(doc, "user")) &&
	      !strcmp(json_string_value(json_object_get(doc, "method")),
		      "PUT") &&
	      !strcmp(json_string_value(json_object_get(doc, "path")),
		      "/v2/a b/blobs"));
	json_decref(doc);
	nth_line(out, 1, l, sizeof(l));
	doc = json_loads(l, 0, NULL);
	CHECK(doc != NULL &&
	      !strcmp(json_string_value(json_object_get(doc, "user")),
		      "alice") &&
	      !strcmp(json_string_value(json_object_get(doc, "level")),
		      "info"));
	json_decref(doc);
	nth_line(out, 5, l, sizeof(l));
	doc = json_loads(l, 0, NULL);
	CHECK(doc != NULL && json_object_get(doc, "request_id") == NULL);
	json_decref(doc);
	free(out);
}

static void
ctx_threads(void)
{
	char *out;

	out = capture(log_two_threads);
	CHECK(count_lines(out) == 1 &&
	      strstr(out, " info: from another thread\n") != NULL &&
	      strstr(out, "rid-1") == NULL);
	free(out);
	CHECK(log_ctx_get() == NULL);
}

void
test_log(void)
{
	enum log_level saved = log_level;

	log_level = LOG_LVL_INFO;
	escape_cases();
	text_lines();
	json_lines();
	long_lines();
	request_ids();
	ctx_text();
	ctx_json();
	ctx_threads();
	CHECK(log_set_format("xml") < 0);
	log_set_daemon(NULL);
	log_level = saved;
}
