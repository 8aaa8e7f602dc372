/*
 * HTTPS credentials and the plain-HTTP sniffer (see tls.h).
 *
 * DESIGN: a credential set (chain + key) is immutable once published and
 * read by the certificate callback with one atomic load, so a SIGHUP swaps
 * certificates without a lock; replaced sets are kept until exit because
 * GnuTLS does not copy what the callback hands out. The sniffer replaces
 * the session's pull function for the first read only: it sees the first
 * bytes in the worker's own non-blocking read, so no accept path waits on
 * a slow client and requests after the handshake cost nothing extra.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "tls.h"

#define TLS_MAX_CHAIN 16
#define PEM_MAX (1u << 20)
#define DRAIN_MAX (64u << 10)	/* bytes of a plain request read off */

struct tls_creds {
	gnutls_pcert_st certs[TLS_MAX_CHAIN];
	unsigned int n;
	gnutls_privkey_t key;
	char desc[512];
	struct tls_creds *older;	/* every published set, for release */
};

static struct tls_creds *current;	/* read with __atomic_load_n */
static struct tls_creds *published;	/* main thread only */

/* The file's bytes, NUL-terminated; NULL (logged). Caller frees. */
static char *
read_pem(const char *what, const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *data = xmalloc(PEM_MAX + 1);
	size_t n;

	if (f == NULL) {
		log_warn("could not open %s \"%s\"", what, path);
		free(data);
		return NULL;
	}
	n = fread(data, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > PEM_MAX) {
		log_warnx("%s \"%s\" is empty or too large", what, path);
		free(data);
		return NULL;
	}
	data[n] = '\0';
	*len = n;
	return data;
}

/* Whether the key is the one the first certificate certifies. */
static bool
key_matches(struct tls_creds *c)
{
	gnutls_pubkey_t pub = NULL;
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	bool ok = false;

	if (gnutls_pubkey_init(&pub) < 0)
		return false;
	if (gnutls_pubkey_import_privkey(pub, c->key, 0, 0) == 0 &&
	    gnutls_pubkey_get_key_id(pub, 0, a, &alen) == 0 &&
	    gnutls_pubkey_get_key_id(c->certs[0].pubkey, 0, b, &blen) == 0)
		ok = alen == blen && memcmp(a, b, alen) == 0;
	gnutls_pubkey_deinit(pub);
	return ok;
}

/* Fills c->desc from the first certificate; warns when it is expired. */
static void
describe(struct tls_creds *c, const char *cert_file)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dn = { NULL, 0 };
	unsigned char serial[64];
	char hex[2 * sizeof(serial) + 1] = "?", when[32] = "?";
	size_t slen = sizeof(serial);
	time_t exp = (time_t)-1, act = (time_t)-1, now = time(NULL);
	struct tm tm;

	if (gnutls_x509_crt_init(&crt) == 0 &&
	    gnutls_x509_crt_import(crt, &c->certs[0].cert,
				   GNUTLS_X509_FMT_DER) == 0) {
		(void)gnutls_x509_crt_get_dn3(crt, &dn, 0);
		if (gnutls_x509_crt_get_serial(crt, serial, &slen) == 0)
			util_hex(hex, serial, slen);
		exp = gnutls_x509_crt_get_expiration_time(crt);
		act = gnutls_x509_crt_get_activation_time(crt);
	}
	if (exp != (time_t)-1 && gmtime_r(&exp, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(c->desc, sizeof(c->desc),
		 "subject \"%s\", serial %s, expires %s",
		 dn.data ? (const char *)dn.data : "?", hex, when);
	if (exp != (time_t)-1 && exp < now)
		log_warnx("tls_cert \"%s\" expired on %s", cert_file, when);
	else if (act != (time_t)-1 && act > now)
		log_warnx("tls_cert \"%s\" is not valid yet", cert_file);
	gnutls_free(dn.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
}

struct tls_creds *
tls_creds_load(const char *cert_file, const char *key_file)
{
	struct tls_creds *c = xcalloc(1, sizeof(*c));
	char *cert = NULL, *key = NULL;
	gnutls_datum_t d;
	size_t len = 0;
	int err;

	if ((cert = read_pem("tls_cert", cert_file, &len)) == NULL)
		goto fail;
	d = (gnutls_datum_t){ (unsigned char *)cert, (unsigned)len };
	c->n = TLS_MAX_CHAIN;
	if ((err = gnutls_pcert_list_import_x509_raw(
		     c->certs, &c->n, &d, GNUTLS_X509_FMT_PEM,
		     GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED)) < 0) {
		c->n = 0;
		log_warnx("tls_cert \"%s\" holds no usable PEM certificate "
			  "chain: %s", cert_file, gnutls_strerror(err));
		goto fail;
	}
	if ((key = read_pem("tls_key", key_file, &len)) == NULL)
		goto fail;
	d = (gnutls_datum_t){ (unsigned char *)key, (unsigned)len };
	if ((err = gnutls_privkey_init(&c->key)) < 0 ||
	    (err = gnutls_privkey_import_x509_raw(c->key, &d,
						  GNUTLS_X509_FMT_PEM, NULL,
						  0)) < 0) {
		log_warnx("tls_key \"%s\" is not an unencrypted PEM private "
			  "key: %s", key_file, gnutls_strerror(err));
		goto fail;
	}
	if (!key_matches(c)) {
		log_warnx("tls_key \"%s\" is not the key of the certificate in "
			  "\"%s\"", key_file, cert_file);
		goto fail;
	}
	describe(c, cert_file);
	/* The key's bytes are secret: wipe our copy. */
	explicit_bzero(key, len);
	free(key);
	free(cert);
	return c;
fail:
	if (key != NULL)
		explicit_bzero(key, len);
	free(key);
	free(cert);
	tls_creds_free(c);
	return NULL;
}

void
tls_creds_free(struct tls_creds *c)
{
	if (c == NULL)
		return;
	for (unsigned int i = 0; i < c->n; i++)
		gnutls_pcert_deinit(&c->certs[i]);
	if (c->key != NULL)
		gnutls_privkey_deinit(c->key);
	free(c);
}

const char *
tls_creds_describe(const struct tls_creds *c)
{
	return c->desc;
}

void
tls_publish(struct tls_creds *c)
{
	c->older = published;
	published = c;
	__atomic_store_n(&current, c, __ATOMIC_RELEASE);
}

const struct tls_creds *
tls_current(void)
{
	return __atomic_load_n(&current, __ATOMIC_ACQUIRE);
}

void
tls_release(void)
{
	__atomic_store_n(&current, NULL, __ATOMIC_RELEASE);
	while (published != NULL) {
		struct tls_creds *c = published;

		published = c->older;
		tls_creds_free(c);
	}
}

int
tls_cert_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
		  int nreqs, const gnutls_pk_algorithm_t *pk_algos,
		  int pk_algos_len, gnutls_pcert_st **pcert,
		  unsigned int *pcert_len, gnutls_privkey_t *key)
{
	struct tls_creds *c = __atomic_load_n(&current, __ATOMIC_ACQUIRE);

	(void)s;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_len;
	if (c == NULL)
		return -1;
	*pcert = c->certs;
	*pcert_len = c->n;
	*key = c->key;
	return 0;
}

/* ---- the plain-HTTP sniffer ------------------------------------------ */

/* After the first read: what GnuTLS's own socket functions do. */
static ssize_t
plain_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	return recv((int)(intptr_t)ptr, data, len, 0);
}

static int
plain_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	return gnutls_system_recv_timeout(ptr, ms);
}

/*
 * While sniffing, the receive pointer is the session itself (so that the
 * pull function can switch itself off) and the send pointer the socket.
 */
static int
session_fd(gnutls_session_t s)
{
	gnutls_transport_ptr_t r, w;

	gnutls_transport_get_ptr2(s, &r, &w);
	return (int)(intptr_t)w;
}

static int
sniff_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	return gnutls_system_recv_timeout(
		(gnutls_transport_ptr_t)(intptr_t)session_fd(ptr), ms);
}

/* The request's Host header when it is a plain host[:port]; else "". */
static void
request_host(const char *req, char *out, size_t len)
{
	const char *p = req, *v;
	size_t n;

	out[0] = '\0';
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "host:", 5) != 0)
			continue;
		for (v = p + 5; *v == ' ' || *v == '\t'; v++)
			;
		n = strspn(v, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]");
		if (n > 0 && n < len && (v[n] == '\r' || v[n] == '\n')) {
			memcpy(out, v, n);
			out[n] = '\0';
		}
		return;
	}
}

/* "addr:port" of one end of the socket (peer or local), or "-". */
static void
sock_name(int fd, bool peer, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	util_strlcpy(out, "-", len);
	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
		  : getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", a, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%u", a, port);
	}
}

/*
 * Answers a plain-HTTP request: reads off what has arrived (a close over
 * unread bytes would reset the connection and lose the answer), sends a
 * fixed 400 (it fits the empty send buffer of a new connection, so the
 * non-blocking send does not come up short) and half-closes.
 */
static void
answer_plain(int fd, const void *first, size_t n)
{
	char req[2048], scratch[4096], host[256], peer[64], body[384];
	char resp[640];
	size_t have = n < sizeof(req) - 1 ? n : sizeof(req) - 1, total = n;
	int len, blen;
	ssize_t m;

	memcpy(req, first, have);
	while (total < DRAIN_MAX) {
		bool keep = have < sizeof(req) - 1;

		m = recv(fd, keep ? req + have : scratch,
			 keep ? sizeof(req) - 1 - have : sizeof(scratch),
			 MSG_DONTWAIT);
		if (m <= 0)
			break;
		if (keep)
			have += (size_t)m;
		total += (size_t)m;
	}
	req[have] = '\0';
	request_host(req, host, sizeof(host));
	if (host[0] == '\0')
		sock_name(fd, false, host, sizeof(host));
	blen = snprintf(body, sizeof(body),
			"This port speaks HTTPS; use https://%s/\n", host);
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 400 Bad Request\r\n"
		       "Content-Type: text/plain; charset=utf-8\r\n"
		       "Content-Length: %d\r\n"
		       "Connection: close\r\n\r\n%s",
		       blen, body);
	sock_name(fd, true, peer, sizeof(peer));
	(void)send(fd, resp, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	log_info("plain http request from %s on the https port: answered 400",
		 peer);
}

static ssize_t
sniff_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	gnutls_session_t s = ptr;
	gnutls_transport_ptr_t r, w;
	int fd = session_fd(s);
	unsigned char first;
	ssize_t n;

	/* GnuTLS keeps calling the function it started a read with, even
	 * after we switched: once switched, be plain_pull. */
	gnutls_transport_get_ptr2(s, &r, &w);
	if (r != ptr)
		return recv(fd, data, len, 0);
	if ((n = recv(fd, data, len, 0)) <= 0)
		return n;	/* EAGAIN: called again when bytes come */
	first = *(unsigned char *)data;
	/* A TLS record starts with its type (22 for the handshake); an
	 * HTTP request with its method, in capitals. Anything else is left
	 * to GnuTLS to refuse. */
	if (first >= 'A' && first <= 'Z') {
		answer_plain(fd, data, (size_t)n);
		errno = EPROTO;
		return -1;
	}
	gnutls_transport_set_int2(s, fd, fd);
	gnutls_transport_set_pull_function(s, plain_pull);
	gnutls_transport_set_pull_timeout_function(s, plain_timeout);
	return n;
}

void
tls_sniff_start(gnutls_session_t s)
{
	gnutls_transport_set_ptr2(
		s, s, (gnutls_transport_ptr_t)(intptr_t)session_fd(s));
	gnutls_transport_set_pull_function(s, sniff_pull);
	gnutls_transport_set_pull_timeout_function(s, sniff_timeout);
}
