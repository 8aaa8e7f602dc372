/*
 * HTTPS credentials (lib/tls.c): a chain and its key load and describe
 * themselves; a missing file, a broken certificate, an encrypted key and a
 * key of another certificate are refused; the certificate callback hands
 * out the published set.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test.h"
#include "tls.h"

/* tls_creds_load on two files of tests/data/tls. */
static struct tls_creds *
load(const char *cert, const char *key)
{
	char *c = xasprintf("%s/tls/%s", test_data_dir, cert);
	char *k = xasprintf("%s/tls/%s", test_data_dir, key);
	struct tls_creds *creds = tls_creds_load(c, k);

	free(c);
	free(k);
	return creds;
}

void
test_tls(void)
{
	struct tls_creds *c = load("cert.pem", "key.pem");
	gnutls_pcert_st *pcert = NULL;
	gnutls_privkey_t key = NULL;
	unsigned int n = 0;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(strstr(tls_creds_describe(c), "subject \"CN=berth-unit\"") !=
	      NULL);
	CHECK(strstr(tls_creds_describe(c), "serial 1234,") != NULL);
	CHECK(strstr(tls_creds_describe(c), "expires 21") != NULL);

	CHECK(load("cert.pem", "other-key.pem") == NULL);
	CHECK(load("cert.pem", "encrypted-key.pem") == NULL);
	CHECK(load("broken-cert.pem", "key.pem") == NULL);
	CHECK(load("missing.pem", "key.pem") == NULL);
	CHECK(load("cert.pem", "missing.pem") == NULL);
	CHECK(load("key.pem", "key.pem") == NULL);

	/* Nothing published: the handshake is refused. */
	CHECK(tls_current() == NULL);
	CHECK(tls_cert_retrieve(NULL, NULL, 0, NULL, 0, &pcert, &n, &key) ==
	      -1);
	tls_publish(c);
	CHECK(tls_current() == c);
	CHECK(tls_cert_retrieve(NULL, NULL, 0, NULL, 0, &pcert, &n, &key) ==
	      0);
	CHECK(n == 1 && pcert != NULL && key != NULL);
	/* A second set replaces the first for new handshakes. */
	tls_publish(load("cert.pem", "key.pem"));
	CHECK(tls_current() != c && tls_current() != NULL);
	tls_release();
	CHECK(tls_current() == NULL);
}
