/*
 * A tiny unit-test harness: CHECK() records a failure with its location and
 * goes on; each suite is a function listed in main.c's table.
 */
#ifndef BERTH_TEST_H
#define BERTH_TEST_H

#include <stdio.h>

extern int test_passed, test_failed;

#define CHECK(expr)                                                            \
	do {                                                                   \
		if (expr) {                                                    \
			test_passed++;                                         \
		} else {                                                       \
			test_failed++;                                         \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,          \
				__LINE__, #expr);                              \
		}                                                              \
	} while (0)

/* Directory holding tests/data, set by main from argv or the environment. */
extern const char *test_data_dir;

/* Reads tests/data/<rel> into a malloc'd buffer; NULL if missing. */
char *test_read_file(const char *rel, size_t *len);

void test_conf(void);
void test_db(void);
void test_apisql(void);
void test_defer(void);
void test_daemon(void);
void test_digest(void);
void test_reference(void);
void test_range(void);
void test_sqlrows(void);
void test_storage(void);
void test_manifest(void);
void test_jwk(void);
void test_jwt(void);
void test_log(void);
void test_netaddr(void);
void test_connlimit(void);
void test_metrics(void);
void test_tls(void);
void test_ldapauth(void);
void test_throttlekey(void);
void test_path(void);
void test_buf(void);
void test_arena(void);
void test_form(void);
void test_scope(void);
void test_authsql(void);
void test_bytesize(void);
void test_quota(void);
void test_tagglob(void);
void test_sigv4(void);
void test_s3_backoff(void);

#endif
