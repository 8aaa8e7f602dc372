/*
 * The Prometheus exposition (lib/metrics.c): every sample's family has
 * HELP and TYPE lines before it and its samples are contiguous, labels are
 * escaped, counters count; the /proc parsers (lib/procstat.c) and authd's
 * login failure reasons.
 */
#include <stdlib.h>

#include "authmetrics.h"
#include "buf.h"
#include "db.h"
#include "metrics.h"
#include "procstat.h"
#include "test.h"
#include "version.h"

#define MAX_FAMILIES 256

struct family {
	char name[128];
	char type[16];
};

static struct family *
family_find(struct family *f, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

/* The family a sample belongs to: histograms own _bucket, _sum, _count. */
static struct family *
sample_family(struct family *f, int n, const char *sample)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	struct family *fam = family_find(f, n, sample);
	char base[128];

	if (fam != NULL)
		return fam;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t len = strlen(sample), sl = strlen(suffixes[i]);

		if (len <= sl || len - sl >= sizeof(base) ||
		    strcmp(sample + len - sl, suffixes[i]) != 0)
			continue;
		memcpy(base, sample, len - sl);
		base[len - sl] = '\0';
		fam = family_find(f, n, base);
		if (fam != NULL && strcmp(fam->type, "histogram") == 0)
			return fam;
	}
	return NULL;
}

/* Past {label="value",...}; NULL when malformed. */
static const char *
skip_labels(const char *p)
{
	if (*p++ != '{')
		return NULL;
	while (*p && *p != '}') {
		p += strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		if (*p++ != '=' || *p++ != '"')
			return NULL;
		while (*p && *p != '"')
			p += p[0] == '\\' && p[1] ? 2 : 1;
		if (*p++ != '"')
			return NULL;
		if (*p == ',')
			p++;
	}
	return *p == '}' ? p + 1 : NULL;
}

/* One sample line of family cur (the one whose HELP came last). */
static int
check_sample(struct family *f, int n, const struct family *cur,
	     const char *l)
{
	size_t nlen = strcspn(l, "{ ");
	const struct family *fam;
	const char *p = l + nlen;
	char name[128], *end;

	if (nlen >= sizeof(name))
		return 1;
	memcpy(name, l, nlen);
	name[nlen] = '\0';
	fam = sample_family(f, n, name);
	if (fam == NULL || fam != cur || fam->type[0] == '\0') {
		fprintf(stderr, "metrics: undeclared or closed family: %s\n",
			l);
		return 1;
	}
	if (*p == '{' && (p = skip_labels(p)) == NULL) {
		fprintf(stderr, "metrics: labels: %s\n", l);
		return 1;
	}
	if (*p++ != ' ' || (strtod(p, &end), end == p || *end != '\0')) {
		fprintf(stderr, "metrics: value: %s\n", l);
		return 1;
	}
	return 0;
}

/*
 * Checks text line by line; returns the number of problems (printed).
 * A family is "# HELP", then "# TYPE", then its samples, all together.
 */
static int
validate(const char *text)
{
	struct family *f = xcalloc(MAX_FAMILIES, sizeof(*f));
	struct family *cur = NULL;
	int n = 0, bad = 0;
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		char l[1024], name[128], type[16];
		size_t len = nl ? (size_t)(nl - line) : 0;

		if (nl == NULL || len >= sizeof(l)) {
			fprintf(stderr, "metrics: no final newline\n");
			bad++;
			break;
		}
		memcpy(l, line, len);
		l[len] = '\0';
		line = nl + 1;
		if (strncmp(l, "# HELP ", 7) == 0 &&
		    sscanf(l + 7, "%127s", name) == 1) {
			if (family_find(f, n, name) != NULL ||
			    n == MAX_FAMILIES) {
				fprintf(stderr, "metrics: HELP %s again\n",
					name);
				bad++;
				continue;
			}
			cur = &f[n++];
			util_strlcpy(cur->name, name, sizeof(cur->name));
		} else if (strncmp(l, "# TYPE ", 7) == 0 &&
			   sscanf(l + 7, "%127s %15s", name, type) == 2) {
			if (cur == NULL || strcmp(cur->name, name) != 0 ||
			    cur->type[0] != '\0' ||
			    (strcmp(type, "counter") && strcmp(type, "gauge") &&
			     strcmp(type, "histogram"))) {
				fprintf(stderr, "metrics: bad TYPE: %s\n", l);
				bad++;
				continue;
			}
			util_strlcpy(cur->type, type, sizeof(cur->type));
		} else {
			bad += check_sample(f, n, cur, l);
		}
	}
	for (int i = 0; i < n; i++)
		if (f[i].type[0] == '\0') {
			fprintf(stderr, "metrics: %s has no TYPE\n", f[i].name);
			bad++;
		}
	free(f);
	return bad;
}

static bool
has_line(const char *text, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = text; (p = strstr(p, want)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static const char *const routes[] = { "alpha", "beta" };
static const struct db_stmt stmts[] = { { "first", "SELECT 1" },
					{ "second", "SELECT 2" } };
static const char *const colours[] = { "red", "blue" };
static struct metric colour_metric = {
	.name = "colours_total",
	.help = "colours seen",
	.kind = METRIC_COUNTER,
	.label = "colour",
	.values = colours,
	.nvalues = 2,
};
static struct metric level_metric = {
	.name = "level",
	.help = "a gauge",
	.kind = METRIC_GAUGE,
};

static void
test_exposition(void)
{
	char *text, *build;

	metrics_init("unit", "unitd", routes, 2);
	metrics_db_setup(stmts, 2);
	metrics_register(&colour_metric);
	metrics_register(&level_metric);
	metrics_observe(0, "GET", 200, 700000, 0, 10);	/* 0.7 ms */
	metrics_observe(0, "GET", 200, 3000000, 0, 10);
	metrics_observe(0, "PATCH", 202, 40000000000ull, 5, 0);
	metrics_observe(1, "BREW", 418, 1000, 0, 0);
	metrics_observe(7, "GET", 200, 1000, 0, 0);	/* no such route */
	metrics_db_query(1, 300000, false, false);
	metrics_db_query(1, 300000, true, false);
	metrics_db_command("COMMIT", 2000000, false, true);
	metrics_db_event(MDB_RECONNECT);
	metric_add(&colour_metric, 1, 3);
	metric_add(&level_metric, 0, 2);
	metric_add(&level_metric, 0, -1);
	text = metrics_render();
	CHECK(validate(text) == 0);
	CHECK(has_line(text, "unit_http_requests_total{route=\"alpha\","
			     "method=\"GET\",status=\"200\"} 2"));
	CHECK(has_line(text, "unit_http_requests_total{route=\"alpha\","
			     "method=\"PATCH\",status=\"202\"} 1"));
	CHECK(has_line(text, "unit_http_requests_total{route=\"beta\","
			     "method=\"other\",status=\"other\"} 1"));
	CHECK(has_line(text, "unit_http_request_duration_seconds_bucket{"
			     "route=\"alpha\",method=\"GET\","
			     "le=\"0.0005\"} 0"));
	CHECK(has_line(text, "unit_http_request_duration_seconds_bucket{"
			     "route=\"alpha\",method=\"GET\",le=\"0.001\"} 1"));
	CHECK(has_line(text, "unit_http_request_duration_seconds_bucket{"
			     "route=\"alpha\",method=\"GET\",le=\"+Inf\"} 2"));
	CHECK(has_line(text, "unit_http_request_duration_seconds_sum{"
			     "route=\"alpha\",method=\"GET\"} 0.003700000"));
	CHECK(has_line(text, "unit_http_request_duration_seconds_count{"
			     "route=\"alpha\",method=\"GET\"} 2"));
	/* 40 s is past the last bound: only +Inf holds it. */
	CHECK(has_line(text, "unit_http_request_duration_seconds_bucket{"
			     "route=\"alpha\",method=\"PATCH\",le=\"30\"} 0"));
	CHECK(has_line(text, "unit_http_request_duration_seconds_bucket{"
			     "route=\"alpha\",method=\"PATCH\","
			     "le=\"+Inf\"} 1"));
	CHECK(strstr(text, "method=\"HEAD\"") == NULL);
	CHECK(has_line(text, "unit_http_received_bytes_total 5"));
	CHECK(has_line(text, "unit_http_sent_bytes_total 20"));
	CHECK(has_line(text, "unit_db_query_duration_seconds_count{"
			     "statement=\"second\"} 2"));
	CHECK(has_line(text, "unit_db_query_duration_seconds_bucket{"
			     "statement=\"second\",le=\"0.00025\"} 0"));
	CHECK(has_line(text, "unit_db_query_duration_seconds_bucket{"
			     "statement=\"second\",le=\"0.0005\"} 2"));
	CHECK(strstr(text, "statement=\"first\"") == NULL);
	CHECK(has_line(text, "unit_db_query_duration_seconds_count{"
			     "statement=\"commit\"} 1"));
	CHECK(has_line(text, "unit_db_query_errors_total{statement="
			     "\"second\"} 1"));
	CHECK(has_line(text, "unit_db_conflicts_total 1"));
	CHECK(has_line(text, "unit_db_reconnects_total 1"));
	CHECK(has_line(text, "unit_db_connect_errors_total 0"));
	CHECK(has_line(text, "# TYPE unit_db_connections gauge"));
	CHECK(has_line(text, "unit_colours_total{colour=\"red\"} 0"));
	CHECK(has_line(text, "unit_colours_total{colour=\"blue\"} 3"));
	CHECK(has_line(text, "# TYPE unit_level gauge"));
	CHECK(has_line(text, "unit_level 1"));
	build = xasprintf("berth_build_info{daemon=\"unitd\",version=\"%s\","
			  "commit=\"%s\"} 1",
			  berth_version, berth_commit);
	CHECK(has_line(text, build));
	CHECK(strcmp(berth_version, "unknown") != 0);
	free(build);
	CHECK(has_line(text, "# TYPE process_resident_memory_bytes gauge"));
	CHECK(has_line(text, "# TYPE process_cpu_seconds_total counter"));
	free(text);
	metrics_db_release();

	/* The validator itself must catch what it is there for. */
	CHECK(validate("x_total 1\n") > 0);
	CHECK(validate("# HELP x_total h\nx_total 1\n") > 0);
	CHECK(validate("# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n"
		       "# TYPE b gauge\nb 1\na 2\n") > 0);
	CHECK(validate("# HELP a h\n# TYPE a gauge\na{l=\"x} 1\n") > 0);
	CHECK(validate("# HELP a h\n# TYPE a gauge\na one\n") > 0);
	CHECK(validate("# HELP a h\n# TYPE a gauge\na{l=\"\\\"\"} 1\n") == 0);
}

static void
test_escape(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(metrics_label_escape(&b, "a\"b\\c\nd") == 0);
	CHECK(strcmp(b.data, "a\\\"b\\\\c\\nd") == 0);
	buf_release(&b);
}

static void
test_procstat(void)
{
	/* A command name with spaces and parentheses, as the kernel has. */
	const char *stat =
		"4242 (reg (x) d) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
		"150 50 0 0 20 0 9 0 123456 987654321 2500 "
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	uint64_t cpu, start, vsize, rss, btime;
	struct procstat ps;

	CHECK(procstat_parse_stat(stat, &cpu, &start, &vsize, &rss) == 0);
	CHECK(cpu == 200 && start == 123456 && vsize == 987654321 &&
	      rss == 2500);
	CHECK(procstat_parse_stat("4242 (x S 1", &cpu, &start, &vsize,
				  &rss) < 0);
	CHECK(procstat_parse_stat("4242 (x) S 1 2 3\n", &cpu, &start, &vsize,
				  &rss) < 0);
	CHECK(procstat_parse_stat("", &cpu, &start, &vsize, &rss) < 0);
	CHECK(procstat_parse_btime("cpu  1 2 3\nintr 5\nbtime 1700000000\n"
				   "processes 9\n",
				   &btime) == 0 &&
	      btime == 1700000000);
	CHECK(procstat_parse_btime("cpu 1\n", &btime) < 0);

	CHECK(procstat_read(&ps) == 0);
	CHECK(ps.rss_bytes > 0 && ps.vsize_bytes >= ps.rss_bytes);
	CHECK(ps.open_fds >= 3 && ps.max_fds >= ps.open_fds);
	CHECK(ps.start_time > 1.6e9 && ps.cpu_seconds >= 0);
}

static void
test_login_reasons(void)
{
	/* The audit log's reason categories (credential.c). */
	CHECK(strcmp(authmetrics_reason("bad_password"), "bad_credentials") ==
	      0);
	CHECK(strcmp(authmetrics_reason("unknown_user"), "bad_credentials") ==
	      0);
	CHECK(strcmp(authmetrics_reason("locked"), "locked") == 0);
	CHECK(strcmp(authmetrics_reason("disabled"), "disabled") == 0);
	CHECK(strcmp(authmetrics_reason("bad_token"), "bad_token") == 0);
	CHECK(strcmp(authmetrics_reason("directory_unavailable"),
		     "directory_error") == 0);
	CHECK(strcmp(authmetrics_reason("something new"), "other") == 0);
	CHECK(strcmp(authmetrics_reason(NULL), "other") == 0);
}

void
test_metrics(void)
{
	test_exposition();
	test_escape();
	test_procstat();
	test_login_reasons();
}
