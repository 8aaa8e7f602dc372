/*
 * The unit test runner: `unit` runs every suite, `unit digest` one of them.
 * Ends with "N passed, N failed" and exits non-zero on any failure.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util.h"

int test_passed, test_failed;
const char *test_data_dir = "tests/data";

static const struct {
	const char *name;
	void (*fn)(void);
} suites[] = {
	{ "conf", test_conf },
	{ "db", test_db },
	{ "defer", test_defer },
	{ "daemon", test_daemon },
	{ "digest", test_digest },
	{ "reference", test_reference },
	{ "range", test_range },
	{ "sqlrows", test_sqlrows },
	{ "storage", test_storage },
	{ "manifest", test_manifest },
	{ "jwk", test_jwk },
	{ "jwt", test_jwt },
	{ "log", test_log },
	{ "netaddr", test_netaddr },
	{ "connlimit", test_connlimit },
	{ "metrics", test_metrics },
	{ "tls", test_tls },
	{ "ldapauth", test_ldapauth },
	{ "throttlekey", test_throttlekey },
	{ "path", test_path },
	{ "buf", test_buf },
	{ "arena", test_arena },
	{ "form", test_form },
	{ "scope", test_scope },
	{ "apisql", test_apisql },
	{ "authsql", test_authsql },
	{ "bytesize", test_bytesize },
	{ "quota", test_quota },
	{ "tagglob", test_tagglob },
	{ "sigv4", test_sigv4 },
	{ "s3backoff", test_s3_backoff },
};

char *
test_read_file(const char *rel, size_t *len)
{
	char *path = xasprintf("%s/%s", test_data_dir, rel);
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	free(path);
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		data = xmalloc((size_t)n + 1);
		if (fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else {
			data[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return data;
}

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	const char *dir = getenv("BERTH_TEST_DATA");
	int ran = 0;

	if (dir != NULL)
		test_data_dir = dir;
	for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
		if (only != NULL && strcmp(only, suites[i].name) != 0)
			continue;
		int before = test_failed;
		suites[i].fn();
		fprintf(stderr, "suite %s: %s\n", suites[i].name,
			test_failed == before ? "ok" : "FAILED");
		ran++;
	}
	if (ran == 0) {
		fprintf(stderr, "no suite named \"%s\"\n", only);
		return 2;
	}
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}
