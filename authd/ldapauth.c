/*
 * Directory logins through OpenLDAP's libldap (see ldapauth.h).
 *
 * DESIGN: each worker thread keeps one connection bound as the service
 * account (a pool of as many connections as workers) and reconnects on
 * failure, trying the configured servers in order. A user's password is
 * checked with a bind on a fresh connection, so the service connection
 * never changes identity. Every call has a network and an operation
 * timeout, and a watchdog thread bounds what those do not: libldap waits
 * (spinning) forever for a TLS handshake that a server never answers, so
 * each blocking call is armed with a deadline past which the watchdog
 * shuts the call's socket down, which ends it. A server that failed is
 * marked down for down_seconds in a table that all threads share (a
 * circuit breaker), so logins skip it instead of waiting for it again.
 * TLS options are set on the handle and take effect through a
 * new TLS context (LDAP_OPT_X_TLS_NEWCTX); StartTLS is required on
 * ldap:// unless turned off. User input reaches filters only escaped per
 * RFC 4515. Searches that may exceed a server's size limit are paged
 * (RFC 2696).
 */
#define LDAP_DEPRECATED 0
#include <ctype.h>
#include <ldap.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

#include "buf.h"
#include "ldapauth.h"
#include "log.h"

#define UAC_ACCOUNTDISABLE 0x2
#define UAC_LOCKOUT 0x10
#define MAX_GROUPS 4096
/* Seconds between 1601-01-01 (FILETIME) and 1970-01-01. */
#define FILETIME_EPOCH 11644473600LL
#define GUARD_SLOTS 1024
#define DOWN_SLOTS 32

static const struct ldapauth_config *cfg;
static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

/*
 * The watchdog's view of each thread's blocking call: the socket the call
 * uses (its peer too, so that a number reused after a close is left
 * alone) and when to shut it down.
 */
struct guard {
	bool used, armed, fired;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct timespec deadline;
};

static struct guard guards[GUARD_SLOTS];
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t guard_key;
static _Thread_local int my_guard = -1;

/* Servers that failed, shared by all threads (the circuit breaker). */
struct down {
	char url[256];
	time_t until;		/* CLOCK_MONOTONIC seconds */
};

static struct down downs[DOWN_SLOTS];
static pthread_mutex_t down_lock = PTHREAD_MUTEX_INITIALIZER;

/* Threads inside a directory call; beyond max_concurrent a call fails at
 * once, so that a hanging directory can never hold every HTTP worker. */
static int inside;
static pthread_mutex_t inside_lock = PTHREAD_MUTEX_INITIALIZER;

/* Mean time (ms) of a login whose bind the directory refused. */
static double refused_bind_ms;
static pthread_mutex_t timing_lock = PTHREAD_MUTEX_INITIALIZER;

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static time_t
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static void
guard_free(void *p)
{
	int slot = (int)(intptr_t)p - 1;

	pthread_mutex_lock(&guard_lock);
	memset(&guards[slot], 0, sizeof(guards[slot]));
	pthread_mutex_unlock(&guard_lock);
}

/* The calling thread's slot, or NULL when all are taken. */
static struct guard *
guard_mine(void)
{
	static bool warned;

	if (my_guard >= 0)
		return &guards[my_guard];
	pthread_mutex_lock(&guard_lock);
	for (int i = 0; i < GUARD_SLOTS; i++) {
		if (!guards[i].used) {
			guards[i].used = true;
			guards[i].fd = -1;
			my_guard = i;
			break;
		}
	}
	if (my_guard < 0 && !warned) {
		warned = true;
		log_warnx("ldap: more than %d threads; some calls are bounded "
			  "only by libldap's timeouts", GUARD_SLOTS);
	}
	pthread_mutex_unlock(&guard_lock);
	if (my_guard < 0)
		return NULL;
	pthread_setspecific(guard_key, (void *)(intptr_t)(my_guard + 1));
	return &guards[my_guard];
}

/* Records fd (and its peer) as the socket of g's call; guard_lock held. */
static void
guard_set_fd(struct guard *g, int fd)
{
	g->fd = fd;
	g->peer_len = sizeof(g->peer);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&g->peer,
				  &g->peer_len) != 0)
		g->peer_len = 0;
}

/* Arms the calling thread's guard for a call on ld of at most seconds. */
static void
guard_arm(LDAP *ld, int seconds)
{
	struct guard *g = guard_mine();
	int fd = -1;

	if (g == NULL)
		return;
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS)
		fd = -1;
	pthread_mutex_lock(&guard_lock);
	guard_set_fd(g, fd);
	clock_gettime(CLOCK_MONOTONIC, &g->deadline);
	g->deadline.tv_sec += seconds;
	g->fired = false;
	g->armed = true;
	pthread_mutex_unlock(&guard_lock);
}

/* True when the watchdog ended the call. */
static bool
guard_disarm(void)
{
	struct guard *g = my_guard >= 0 ? &guards[my_guard] : NULL;
	bool fired;

	if (g == NULL)
		return false;
	pthread_mutex_lock(&guard_lock);
	fired = g->fired;
	g->armed = false;
	g->fd = -1;
	pthread_mutex_unlock(&guard_lock);
	return fired;
}

/* libldap's connection callbacks: a socket made during an armed call
 * becomes that call's. They run on the calling thread. */
static int
conn_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
	 struct ldap_conncb *ctx)
{
	int fd = -1;

	(void)ld;
	(void)srv;
	(void)addr;
	(void)ctx;
	if (my_guard < 0 || sb == NULL ||
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1)
		return 0;
	pthread_mutex_lock(&guard_lock);
	if (guards[my_guard].armed)
		guard_set_fd(&guards[my_guard], fd);
	pthread_mutex_unlock(&guard_lock);
	return 0;
}

static void
conn_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	int fd = -1;

	(void)ld;
	(void)ctx;
	if (my_guard < 0 || sb == NULL ||
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1)
		return;
	pthread_mutex_lock(&guard_lock);
	if (guards[my_guard].fd == fd)
		guards[my_guard].fd = -1;
	pthread_mutex_unlock(&guard_lock);
}

static struct ldap_conncb conn_cb = { conn_add, conn_del, NULL };

/*
 * Ten times a second: shuts down the socket of each call past its
 * deadline (shutdown, not close: the caller still owns the number).
 * XXX: if libldap closed the socket without telling conn_del and the
 * number was reused at once, a socket to the same peer address could be
 * shut down; the peer check makes that a connection to the same hanging
 * server, which fails over like any other.
 */
static void *
watchdog(void *arg)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		struct timespec now;

		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&guard_lock);
		for (int i = 0; i < GUARD_SLOTS; i++) {
			struct guard *g = &guards[i];
			struct sockaddr_storage peer;
			socklen_t len = sizeof(peer);

			if (!g->armed || g->fired || g->fd < 0 ||
			    now.tv_sec < g->deadline.tv_sec ||
			    (now.tv_sec == g->deadline.tv_sec &&
			     now.tv_nsec < g->deadline.tv_nsec))
				continue;
			if (g->peer_len == 0 ||
			    getpeername(g->fd, (struct sockaddr *)&peer,
					&len) != 0 ||
			    len != g->peer_len ||
			    memcmp(&peer, &g->peer, len) != 0)
				continue;
			shutdown(g->fd, SHUT_RDWR);
			g->fired = true;
		}
		pthread_mutex_unlock(&guard_lock);
	}
	return NULL;
}

static bool
gate_enter(void)
{
	static time_t warned;
	bool in;

	pthread_mutex_lock(&inside_lock);
	in = cfg->max_concurrent <= 0 || inside < cfg->max_concurrent;
	if (in)
		inside++;
	pthread_mutex_unlock(&inside_lock);
	if (!in && warned != now_s()) {
		warned = now_s();
		log_warnx("ldap: %d directory calls in progress "
			  "(ldap_max_concurrent); refusing more", inside);
	}
	return in;
}

static void
gate_leave(void)
{
	pthread_mutex_lock(&inside_lock);
	inside--;
	pthread_mutex_unlock(&inside_lock);
}

/* Whether url is marked down; a mark that has run out is cleared. */
static bool
server_down(const char *url)
{
	bool down = false;
	time_t now = now_s();

	pthread_mutex_lock(&down_lock);
	for (int i = 0; i < DOWN_SLOTS; i++) {
		if (strcmp(downs[i].url, url) != 0)
			continue;
		down = downs[i].until > now;
		break;
	}
	pthread_mutex_unlock(&down_lock);
	return down;
}

static void
server_mark_down(const char *url, const char *why)
{
	time_t now = now_s();
	int slot = -1;

	if (cfg->down_seconds <= 0)
		return;
	pthread_mutex_lock(&down_lock);
	for (int i = 0; i < DOWN_SLOTS; i++) {
		if (strcmp(downs[i].url, url) == 0) {
			slot = i;
			break;
		}
		if (slot < 0 && downs[i].until <= now)
			slot = i;
	}
	if (slot >= 0) {
		util_strlcpy(downs[slot].url, url, sizeof(downs[slot].url));
		downs[slot].until = now + cfg->down_seconds;
	}
	pthread_mutex_unlock(&down_lock);
	log_warnx("ldap: \"%s\" marked down for %ds: %s", url,
		  cfg->down_seconds, why);
}

static void
server_mark_up(const char *url)
{
	pthread_mutex_lock(&down_lock);
	for (int i = 0; i < DOWN_SLOTS; i++)
		if (strcmp(downs[i].url, url) == 0)
			downs[i].until = 0;
	pthread_mutex_unlock(&down_lock);
}

/* When the thread's last user search began (after the service
 * connection was ready: its setup is no part of a login's timing). */
static _Thread_local double search_began;

/* The URL (as configured) of the thread's service connection. */
static _Thread_local char service_url[256];

/* Marks the server of the thread's service connection down. */
static void
service_mark_down(int rc)
{
	if (service_url[0] != '\0')
		server_mark_down(service_url, ldap_err2string(rc));
}

static void
conn_free(void *p)
{
	if (p != NULL)
		ldap_unbind_ext_s(p, NULL, NULL);
}

static void
make_key(void)
{
	pthread_t t;
	pthread_attr_t attr;

	if (pthread_key_create(&conn_key, conn_free) != 0 ||
	    pthread_key_create(&guard_key, guard_free) != 0)
		fatalx("pthread_key_create failed");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, watchdog, NULL) != 0)
		fatalx("could not start the ldap watchdog thread");
	pthread_attr_destroy(&attr);
}

void
ldapauth_init(const struct ldapauth_config *c)
{
	cfg = c;
	if (ldapauth_enabled())
		pthread_once(&conn_once, make_key);
}

bool
ldapauth_enabled(void)
{
	return cfg != NULL && cfg->urls != NULL && *cfg->urls != '\0';
}

void
ldapauth_thread_close(void)
{
	LDAP *ld;

	if (!ldapauth_enabled())
		return;
	ld = pthread_getspecific(conn_key);
	conn_free(ld);
	pthread_setspecific(conn_key, NULL);
}

char *
ldapauth_filter(const char *pattern, const char *value)
{
	struct berval in = { strlen(value), (char *)(uintptr_t)value };
	struct berval esc = { 0, NULL };
	struct buf b;
	const char *p;

	if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
		fatalx("out of memory escaping an LDAP filter value");
	buf_init(&b, 1 << 16);
	for (p = pattern; *p; p++) {
		int rc;

		if (p[0] == '%' && p[1] == 's') {
			rc = buf_append(&b, esc.bv_val, esc.bv_len);
			p++;
		} else {
			rc = buf_append(&b, p, 1);
		}
		if (rc < 0)
			break;
	}
	ber_memfree(esc.bv_val);
	return buf_detach(&b, NULL);
}

char *
ldapauth_login_name(const char *login, bool active_directory)
{
	const char *slash, *at;

	if (!active_directory)
		return xstrdup(login);
	if ((slash = strchr(login, '\\')) != NULL)
		return xstrdup(slash + 1);
	if ((at = strchr(login, '@')) != NULL)
		return xstrndup(login, (size_t)(at - login));
	return xstrdup(login);
}

static locale_t utf8;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_init(void)
{
	if ((utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) ==
	    (locale_t)0)
		log_warnx("ldap: no C.UTF-8 locale; DNs fold as ASCII only");
}

char *
ldapauth_fold(const char *s)
{
	size_t len = strlen(s), n = 0;
	char *out = xmalloc(len * MB_LEN_MAX + 1);
	locale_t old = (locale_t)0;
	mbstate_t in, outst;

	pthread_once(&utf8_once, utf8_init);
	if (utf8 != (locale_t)0)
		old = uselocale(utf8);
	memset(&in, 0, sizeof(in));
	memset(&outst, 0, sizeof(outst));
	while (*s) {
		wchar_t wc;
		size_t k = utf8 != (locale_t)0 ? mbrtowc(&wc, s, len, &in)
					       : (size_t)-1;

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			/* Not UTF-8: this byte alone, as ASCII. */
			out[n++] = (char)tolower((unsigned char)*s);
			memset(&in, 0, sizeof(in));
			s++;
			len--;
			continue;
		}
		wc = (wchar_t)towlower(towupper((wint_t)wc));
		n += wcrtomb(out + n, wc, &outst);
		s += k;
		len -= k;
	}
	out[n] = '\0';
	if (old != (locale_t)0)
		uselocale(old);
	return out;
}

char *
ldapauth_account_key(const char *login, bool active_directory)
{
	char *trimmed, *name, *key;
	size_t len;

	while (*login == ' ' || *login == '\t')
		login++;
	len = strlen(login);
	while (len > 0 && (login[len - 1] == ' ' || login[len - 1] == '\t'))
		len--;
	trimmed = xstrndup(login, len);
	name = ldapauth_login_name(trimmed, active_directory);
	key = ldapauth_fold(name);
	free(trimmed);
	free(name);
	return key;
}

static int
set_tls(LDAP *ld)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) ||
	    (cfg->ca_file && *cfg->ca_file &&
	     ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file)) ||
	    (cfg->cert_file && *cfg->cert_file &&
	     ldap_set_option(ld, LDAP_OPT_X_TLS_CERTFILE, cfg->cert_file)) ||
	    (cfg->key_file && *cfg->key_file &&
	     ldap_set_option(ld, LDAP_OPT_X_TLS_KEYFILE, cfg->key_file)))
		return -1;
	/* Options set on a handle apply only once a new context is made. */
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) ? -1 : 0;
}

/*
 * One server: options, TLS, the connection itself (TCP, and the TLS
 * handshake for ldaps://) within network_timeout, StartTLS within
 * network_timeout + timeout. NULL (logged, the server marked down) on
 * failure.
 */
static LDAP *
connect_one(const char *url)
{
	struct timeval nt = { cfg->network_timeout, 0 }, ot = { cfg->timeout, 0 };
	int v3 = LDAP_VERSION3, rc;
	LDAP *ld = NULL;

	if ((rc = ldap_initialize(&ld, url)) != LDAP_SUCCESS) {
		log_warnx("ldap: bad server URL \"%s\": %s", url,
			  ldap_err2string(rc));
		return NULL;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS,
			    cfg->referrals ? LDAP_OPT_ON : LDAP_OPT_OFF) ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &nt) ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot) ||
	    ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &conn_cb) ||
	    set_tls(ld) < 0) {
		log_warnx("ldap: could not set options for \"%s\"", url);
		goto fail;
	}
	/* Connect now, not at the first operation, so that a server that is
	 * down is found here and the next one tried. */
	guard_arm(ld, cfg->network_timeout);
	rc = ldap_connect(ld);
	if (guard_disarm())
		rc = LDAP_TIMEOUT;
	if (rc != LDAP_SUCCESS) {
		server_mark_down(url, rc == LDAP_TIMEOUT
					      ? "no answer (connect or TLS "
						"handshake timed out)"
					      : ldap_err2string(rc));
		goto fail;
	}
	if (strncmp(url, "ldap://", 7) == 0 && cfg->starttls) {
		guard_arm(ld, cfg->network_timeout + cfg->timeout);
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (guard_disarm())
			rc = LDAP_TIMEOUT;
		if (rc != LDAP_SUCCESS) {
			log_warnx("ldap: StartTLS with \"%s\" failed: %s", url,
				  ldap_err2string(rc));
			server_mark_down(url, "StartTLS failed");
			goto fail;
		}
	}
	return ld;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

static bool
transport_error(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

/* A simple bind within the operation bound. */
static int
simple_bind(LDAP *ld, const char *dn, const char *password)
{
	struct berval cred = { strlen(password), (char *)(uintptr_t)password };
	int rc;

	guard_arm(ld, cfg->network_timeout + cfg->timeout);
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			      NULL);
	if (guard_disarm())
		rc = LDAP_TIMEOUT;
	return rc;
}

/*
 * Binds dn on the first server that answers, servers marked down
 * skipped. keep: the connection stays open for the caller (returned in
 * *out) after a successful bind. A definite answer (success or a refusal
 * such as invalid credentials) ends the walk: only a server that did not
 * answer makes it try the next, so a password is never tried twice.
 * Returns the bind's result, LDAP_SERVER_DOWN when no server answered.
 */
static int
bind_any(const char *dn, const char *password, LDAP **out)
{
	char *list = xstrdup(cfg->urls), *save = NULL, *url;
	int rc = LDAP_SERVER_DOWN;

	if (out != NULL)
		*out = NULL;
	for (url = strtok_r(list, ", ", &save); url;
	     url = strtok_r(NULL, ", ", &save)) {
		LDAP *ld;

		if (server_down(url))
			continue;
		if ((ld = connect_one(url)) == NULL) {
			rc = LDAP_SERVER_DOWN;
			continue;
		}
		rc = simple_bind(ld, dn, password);
		if (transport_error(rc)) {
			server_mark_down(url, ldap_err2string(rc));
			ldap_unbind_ext_s(ld, NULL, NULL);
			continue;
		}
		server_mark_up(url);
		if (rc == LDAP_SUCCESS && out != NULL) {
			*out = ld;
			util_strlcpy(service_url, url, sizeof(service_url));
		} else
			ldap_unbind_ext_s(ld, NULL, NULL);
		break;
	}
	free(list);
	return rc;
}

/* The thread's service connection, (re)connected. */
static LDAP *
service_conn(void)
{
	LDAP *ld = pthread_getspecific(conn_key);
	int rc;

	if (ld != NULL)
		return ld;
	rc = bind_any(cfg->bind_dn, cfg->bind_password ? cfg->bind_password
						       : "",
		      &ld);
	if (rc != LDAP_SUCCESS && !transport_error(rc))
		log_warnx("ldap: service bind as \"%s\" failed: %s",
			  cfg->bind_dn, ldap_err2string(rc));
	pthread_setspecific(conn_key, ld);
	return ld;
}

/* Drops a connection that failed, so the next call reconnects. */
static void
service_drop(void)
{
	ldapauth_thread_close();
}

typedef void (*entry_fn)(LDAP *ld, LDAPMessage *e, void *arg);

/*
 * A subtree search, paged with the simple paged results control so that
 * a server's size limit does not cut the answer. Calls fn per entry.
 */
static int
search_paged(LDAP *ld, const char *base, const char *filter, char **attrs,
	     entry_fn fn, void *arg)
{
	struct berval *cookie = NULL;
	struct timeval ot = { cfg->timeout, 0 };
	int rc;

	do {
		LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL };
		LDAPControl **rctrls = NULL;
		LDAPMessage *res = NULL, *e;
		ber_int_t total;
		int err = 0;

		rc = ldap_create_page_control(ld, cfg->page_size, cookie, 1,
					      &page);
		if (rc != LDAP_SUCCESS)
			break;
		ctrls[0] = page;
		guard_arm(ld, cfg->network_timeout + cfg->timeout);
		rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter,
				       attrs, 0, ctrls, NULL, &ot, 0, &res);
		if (guard_disarm())
			rc = LDAP_TIMEOUT;
		ldap_control_free(page);
		if (rc != LDAP_SUCCESS && rc != LDAP_PARTIAL_RESULTS) {
			ldap_msgfree(res);
			break;
		}
		for (e = ldap_first_entry(ld, res); e != NULL;
		     e = ldap_next_entry(ld, e))
			fn(ld, e, arg);
		ber_bvfree(cookie);
		cookie = NULL;
		rc = ldap_parse_result(ld, res, &err, NULL, NULL, NULL, &rctrls,
				       1);
		if (rc == LDAP_SUCCESS)
			rc = err;
		if (rctrls != NULL) {
			LDAPControl *pr = ldap_control_find(
				LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
			struct berval c = { 0, NULL };

			if (pr != NULL &&
			    ldap_parse_pageresponse_control(ld, pr, &total,
							    &c) == LDAP_SUCCESS &&
			    c.bv_len > 0)
				cookie = ber_bvdup(&c);
			ber_memfree(c.bv_val);
			ldap_controls_free(rctrls);
		}
	} while (rc == LDAP_SUCCESS && cookie != NULL);
	ber_bvfree(cookie);
	return rc;
}

static char *
first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	char *out = NULL;

	if (v != NULL && v[0] != NULL)
		out = xstrndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return out;
}

static long long
number_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	char *s = first_value(ld, e, attr);
	long long n = s ? strtoll(s, NULL, 10) : 0;

	free(s);
	return n;
}

static void
lower(char *s)
{
	for (; s && *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Adds dn, case folded, unless it is there already. */
static void
add_group(struct ldapauth_user *u, const char *dn)
{
	char *folded = ldapauth_fold(dn);

	for (int i = 0; i < u->n_groups; i++) {
		if (strcmp(u->groups[i], folded) == 0) {
			free(folded);
			return;
		}
	}
	if (u->n_groups == MAX_GROUPS) {
		free(folded);
		return;
	}
	u->groups = xrealloc(u->groups,
			     sizeof(char *) * (size_t)(u->n_groups + 1));
	u->groups[u->n_groups++] = folded;
}

struct found {
	struct ldapauth_user *u;
	int count;
	const char *why;	/* why the account may not log in */
};

/* The user entry: name, attributes, direct memberOf, account state. */
static void
on_user(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct found *f = arg;
	struct ldapauth_user *u = f->u;
	char *dn;
	struct berval **mo;

	if (++f->count > 1)
		return;
	dn = ldap_get_dn(ld, e);
	u->dn = xstrdup(dn ? dn : "");
	ldap_memfree(dn);
	u->username = first_value(ld, e, cfg->attr_username);
	lower(u->username);
	u->display_name = first_value(ld, e, cfg->attr_display);
	u->email = first_value(ld, e, cfg->attr_email);
	if ((mo = ldap_get_values_len(ld, e, "memberOf")) != NULL) {
		for (int i = 0; mo[i] != NULL; i++) {
			char *g = xstrndup(mo[i]->bv_val, mo[i]->bv_len);
			add_group(u, g);
			free(g);
		}
		ldap_value_free_len(mo);
	}
	if (cfg->active_directory) {
		long long uac = number_value(ld, e, "userAccountControl");
		long long computed = number_value(
			ld, e, "msDS-User-Account-Control-Computed");
		long long expires = number_value(ld, e, "accountExpires");
		long long now = ((long long)time(NULL) + FILETIME_EPOCH) *
				10000000LL;

		if (uac & UAC_ACCOUNTDISABLE)
			f->why = "account disabled in the directory";
		else if (computed & UAC_LOCKOUT)
			f->why = "account locked in the directory";
		else if (expires != 0 && expires != 0x7FFFFFFFFFFFFFFFLL &&
			 expires < now)
			f->why = "account expired in the directory";
	}
}

static void
on_group(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct ldapauth_user *u = arg;
	char *dn = ldap_get_dn(ld, e);

	if (dn != NULL)
		add_group(u, dn);
	ldap_memfree(dn);
}

/* Groups found by a member search, expanded breadth-first for nesting;
 * the visited set (u->groups itself) ends cycles. */
static int
groups_by_search(LDAP *ld, struct ldapauth_user *u)
{
	static char *attrs[] = { (char *)"1.1", NULL };
	char *filter;
	int rc;

	if (cfg->active_directory && cfg->nested) {
		/* LDAP_MATCHING_RULE_IN_CHAIN: the server walks the nesting. */
		filter = ldapauth_filter(
			"(member:1.2.840.113556.1.4.1941:=%s)", u->dn);
		rc = search_paged(ld, cfg->group_base, filter, attrs, on_group,
				  u);
		free(filter);
		return rc;
	}
	filter = ldapauth_filter(cfg->group_filter, u->dn);
	rc = search_paged(ld, cfg->group_base, filter, attrs, on_group, u);
	free(filter);
	for (int i = 0; rc == LDAP_SUCCESS && cfg->nested && i < u->n_groups;
	     i++) {
		filter = ldapauth_filter(cfg->group_filter, u->groups[i]);
		rc = search_paged(ld, cfg->group_base, filter, attrs, on_group,
				  u);
		free(filter);
	}
	return rc;
}

/* Nested groups from memberOf: each group's own memberOf, breadth-first. */
static int
groups_by_memberof(LDAP *ld, struct ldapauth_user *u)
{
	static char *attrs[] = { (char *)"memberOf", NULL };
	struct timeval ot = { cfg->timeout, 0 };

	for (int i = 0; cfg->nested && i < u->n_groups; i++) {
		LDAPMessage *res = NULL, *e;
		struct berval **mo;
		int rc;

		guard_arm(ld, cfg->network_timeout + cfg->timeout);
		rc = ldap_search_ext_s(ld, u->groups[i], LDAP_SCOPE_BASE,
				       "(objectClass=*)", attrs, 0, NULL, NULL,
				       &ot, 1, &res);
		if (guard_disarm())
			rc = LDAP_TIMEOUT;

		if (rc == LDAP_NO_SUCH_OBJECT) {
			ldap_msgfree(res);
			continue;
		}
		if (rc != LDAP_SUCCESS) {
			ldap_msgfree(res);
			return rc;
		}
		if ((e = ldap_first_entry(ld, res)) != NULL &&
		    (mo = ldap_get_values_len(ld, e, "memberOf")) != NULL) {
			for (int j = 0; mo[j] != NULL; j++) {
				char *g = xstrndup(mo[j]->bv_val, mo[j]->bv_len);
				add_group(u, g);
				free(g);
			}
			ldap_value_free_len(mo);
		}
		ldap_msgfree(res);
	}
	return LDAP_SUCCESS;
}

/* u's groups, on the service connection ld (NULL: the thread's). */
static enum ldapauth_result
read_groups(LDAP *ld, struct ldapauth_user *u)
{
	int rc;

	if (ld == NULL && (ld = service_conn()) == NULL) {
		ldapauth_user_release(u);
		return LDAPAUTH_ERROR;
	}
	/* Active Directory resolves nesting itself with the chain rule. */
	rc = (cfg->group_filter && *cfg->group_filter) ||
			     (cfg->active_directory && cfg->nested)
		     ? groups_by_search(ld, u)
		     : groups_by_memberof(ld, u);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: group lookup for \"%s\" failed: %s", u->dn,
			  ldap_err2string(rc));
		if (transport_error(rc)) {
			service_mark_down(rc);
			service_drop();
		}
		ldapauth_user_release(u);
		return LDAPAUTH_ERROR;
	}
	return LDAPAUTH_OK;
}

/* Finds exactly one user for name, and reads their groups when
 * with_groups. */
static enum ldapauth_result
find_user(const char *name, struct ldapauth_user *u, const char **why,
	  bool with_groups)
{
	static char *attrs[] = { NULL, NULL, NULL, (char *)"memberOf",
				 (char *)"userAccountControl",
				 (char *)"accountExpires",
				 (char *)"msDS-User-Account-Control-Computed",
				 NULL };
	struct found f = { .u = u };
	char *filter;
	LDAP *ld;
	int rc;

	memset(u, 0, sizeof(*u));
	attrs[0] = (char *)cfg->attr_username;
	attrs[1] = (char *)cfg->attr_display;
	attrs[2] = (char *)cfg->attr_email;
	filter = ldapauth_filter(cfg->user_filter, name);
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((ld = service_conn()) == NULL) {
			free(filter);
			return LDAPAUTH_ERROR;
		}
		search_began = now_ms();
		rc = search_paged(ld, cfg->user_base, filter, attrs, on_user, &f);
		if (!transport_error(rc))
			break;
		service_mark_down(rc);
		service_drop();		/* fail over on the next attempt */
		ldapauth_user_release(u);
		f = (struct found){ .u = u };
	}
	free(filter);
	if (transport_error(rc))
		return LDAPAUTH_ERROR;
	/* A failed search (a wrong or missing base, an uninitialised
	 * replica) says nothing about the user: an outage, not a refusal. */
	if (rc != LDAP_SUCCESS && rc != LDAP_REFERRAL) {
		log_warnx("ldap: user search in \"%s\" failed: %s",
			  cfg->user_base, ldap_err2string(rc));
		ldapauth_user_release(u);
		return LDAPAUTH_ERROR;
	}
	if (f.count != 1 || u->username == NULL) {
		*why = f.count > 1 ? "several directory entries match"
				   : "no such directory user";
		ldapauth_user_release(u);
		return LDAPAUTH_REFUSED;
	}
	if (f.why != NULL) {
		*why = f.why;
		ldapauth_user_release(u);
		return LDAPAUTH_REFUSED;
	}
	if (with_groups)
		return read_groups(ld, u);
	return LDAPAUTH_OK;
}

/* Remembers how long a refused login took (a moving average). */
static void
timing_note(double ms)
{
	pthread_mutex_lock(&timing_lock);
	if (refused_bind_ms == 0)
		refused_bind_ms = ms;
	else
		refused_bind_ms = 0.8 * refused_bind_ms + 0.2 * ms;
	pthread_mutex_unlock(&timing_lock);
}

/*
 * For a login refused before its bind: a connection to the first server
 * not marked down (the TCP and TLS handshakes of a real bind), then a
 * wait until, counted from t0 (the start of the login), it has taken as
 * long as a login refused for a wrong password takes on average. No bind:
 * a bind to a DN that does not exist costs Samba more than a wrong
 * password does, which would give the unknown names away again.
 */
static void
timing_equalize(double t0)
{
	char *list = xstrdup(cfg->urls), *save = NULL, *url;
	double target, left;

	for (url = strtok_r(list, ", ", &save); url;
	     url = strtok_r(NULL, ", ", &save)) {
		LDAP *ld;

		if (server_down(url))
			continue;
		if ((ld = connect_one(url)) != NULL) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			break;
		}
	}
	free(list);
	pthread_mutex_lock(&timing_lock);
	target = refused_bind_ms;
	pthread_mutex_unlock(&timing_lock);
	left = target - (now_ms() - t0);
	if (left > 0) {
		struct timespec ts = { (time_t)(left / 1e3),
				       (long)(((long long)(left * 1e3) %
					       1000000LL) * 1000) };
		nanosleep(&ts, NULL);
	}
}

static enum ldapauth_result login_gated(const char *login,
					const char *password,
					struct ldapauth_user *u);

enum ldapauth_result
ldapauth_login(const char *login, const char *password, struct ldapauth_user *u)
{
	enum ldapauth_result r;

	memset(u, 0, sizeof(*u));
	if (!gate_enter())
		return LDAPAUTH_ERROR;
	r = login_gated(login, password, u);
	gate_leave();
	return r;
}

static enum ldapauth_result
login_gated(const char *login, const char *password, struct ldapauth_user *u)
{
	char *name = ldapauth_login_name(login, cfg->active_directory);
	const char *why = NULL;
	enum ldapauth_result r;
	double t0;
	int rc;
	char q[256];	/* the login as the client sent it, for the log */

	memset(u, 0, sizeof(*u));
	log_escape(q, sizeof(q), login, LOG_ESC_QUOTE);
	/* An empty password would be an anonymous bind, which succeeds. */
	if (*password == '\0' || *name == '\0') {
		log_info("ldap: refused \"%s\": empty name or password", q);
		free(name);
		return LDAPAUTH_REFUSED;
	}
	/* Groups only after the bind: a wrong password costs a search and a
	 * bind, which is what a refusal before the bind is padded to. */
	r = find_user(name, u, &why, false);
	free(name);
	t0 = search_began;
	if (r != LDAPAUTH_OK) {
		if (r == LDAPAUTH_REFUSED) {
			log_info("ldap: refused \"%s\": %s", q, why);
			timing_equalize(t0);
		}
		return r;
	}
	rc = bind_any(u->dn, password, NULL);
	if (rc == LDAP_INVALID_CREDENTIALS)
		timing_note(now_ms() - t0);
	if (rc != LDAP_SUCCESS) {
		log_info("ldap: refused \"%s\": bind as \"%s\": %s", q,
			 u->dn, ldap_err2string(rc));
		ldapauth_user_release(u);
		return transport_error(rc) ? LDAPAUTH_ERROR : LDAPAUTH_REFUSED;
	}
	return read_groups(NULL, u);
}

enum ldapauth_result
ldapauth_lookup(const char *username, struct ldapauth_user *u)
{
	const char *why = NULL;
	enum ldapauth_result r;

	memset(u, 0, sizeof(*u));
	if (!gate_enter())
		return LDAPAUTH_ERROR;
	r = find_user(username, u, &why, true);
	gate_leave();
	if (r == LDAPAUTH_REFUSED)
		log_info("ldap: \"%s\" no longer valid: %s", username, why);
	return r;
}

void
ldapauth_user_release(struct ldapauth_user *u)
{
	free(u->dn);
	free(u->username);
	free(u->display_name);
	free(u->email);
	for (int i = 0; i < u->n_groups; i++)
		free(u->groups[i]);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}
