/*
 * HTTPS for lib/http.c, on GnuTLS (libmicrohttpd's TLS library). The
 * server's certificate chain and key are one credential set, handed to
 * each handshake by a certificate callback, so that a SIGHUP can publish
 * a renewed set while open connections go on with the old one. A sniffer
 * on each new connection answers a plain-HTTP request on the TLS port with
 * a readable 400 instead of a reset. One TLS server per process.
 */
#ifndef BERTH_TLS_H
#define BERTH_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "util.h"

struct tls_creds;

/*
 * Loads a PEM certificate chain (server certificate first) and its
 * unencrypted PEM key, and checks that the key belongs to the certificate.
 * NULL (logged, naming the file) on failure. Free with tls_creds_free.
 */
struct tls_creds *tls_creds_load(const char *cert_file, const char *key_file);
void tls_creds_free(struct tls_creds *c);

/* "subject \"CN=...\", serial ..., expires ..." for the logs. */
const char *tls_creds_describe(const struct tls_creds *c);

/*
 * Makes c the set that new handshakes use, taking it. A replaced set stays
 * allocated until tls_release(): a handshake may still be using it.
 */
void tls_publish(struct tls_creds *c);

/* The published set (NULL before the first tls_publish). */
const struct tls_creds *tls_current(void);

/* Frees every published set; no server may be running. */
void tls_release(void);

/* For MHD_OPTION_HTTPS_CERT_CALLBACK: hands out the published set. */
int tls_cert_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
		      int nreqs, const gnutls_pk_algorithm_t *pk_algos,
		      int pk_algos_len, gnutls_pcert_st **pcert,
		      unsigned int *pcert_len, gnutls_privkey_t *key);

/*
 * Watches the first bytes of a new connection's session (call it from
 * MHD_CONNECTION_NOTIFY_STARTED, before any read). A TLS handshake goes on
 * untouched; a plain-HTTP request is answered "400 This port speaks
 * HTTPS" and the handshake fails, so libmicrohttpd closes the connection.
 * Nothing blocks: the check runs inside the worker's first non-blocking
 * read.
 */
void tls_sniff_start(gnutls_session_t s);

#endif
