/*
 * Directory logins through OpenLDAP's libldap (see ldapauth.h).
 *
 * DESIGN: each worker thread keeps one connection bound as the service
 * account (a pool of as many connections as workers) and reconnects on
 * failure, trying the configured servers in order. A user's password is
 * checked with a bind on a fresh connection, so the service connection
 * never changes identity. Every call has a network and an operation
 * timeout. TLS options are set on the handle and take effect through a
 * new TLS context (LDAP_OPT_X_TLS_NEWCTX); StartTLS is required on
 * ldap:// unless turned off. User input reaches filters only escaped per
 * RFC 4515. Searches that may exceed a server's size limit are paged
 * (RFC 2696).
 */
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "ldapauth.h"
#include "log.h"

#define UAC_ACCOUNTDISABLE 0x2
#define UAC_LOCKOUT 0x10
#define MAX_GROUPS 4096
/* Seconds between 1601-01-01 (FILETIME) and 1970-01-01. */
#define FILETIME_EPOCH 11644473600LL

static const struct ldapauth_config *cfg;
static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void
conn_free(void *p)
{
	if (p != NULL)
		ldap_unbind_ext_s(p, NULL, NULL);
}

static void
make_key(void)
{
	if (pthread_key_create(&conn_key, conn_free) != 0)
		fatalx("pthread_key_create failed");
}

void
ldapauth_init(const struct ldapauth_config *c)
{
	cfg = c;
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

/* One server: options, TLS, StartTLS. NULL (logged) on failure. */
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
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot) || set_tls(ld) < 0) {
		log_warnx("ldap: could not set options for \"%s\"", url);
		goto fail;
	}
	if (strncmp(url, "ldap://", 7) == 0 && cfg->starttls &&
	    (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		log_warnx("ldap: StartTLS with \"%s\" failed: %s", url,
			  ldap_err2string(rc));
		goto fail;
	}
	return ld;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

static int
simple_bind(LDAP *ld, const char *dn, const char *password)
{
	struct berval cred = { strlen(password), (char *)(uintptr_t)password };

	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				NULL);
}

/*
 * A connection to the first server that answers, bound as dn (the
 * service account) unless dn is NULL. *last_rc is the last bind result.
 */
static LDAP *
connect_any(const char *dn, const char *password, int *last_rc)
{
	char *list = xstrdup(cfg->urls), *save = NULL, *url;
	LDAP *ld = NULL;

	*last_rc = LDAP_SERVER_DOWN;
	for (url = strtok_r(list, ", ", &save); url;
	     url = strtok_r(NULL, ", ", &save)) {
		if ((ld = connect_one(url)) == NULL)
			continue;
		if (dn == NULL)
			break;
		if ((*last_rc = simple_bind(ld, dn, password)) == LDAP_SUCCESS)
			break;
		log_warnx("ldap: service bind to \"%s\" failed: %s", url,
			  ldap_err2string(*last_rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		ld = NULL;
	}
	free(list);
	return ld;
}

/* The thread's service connection, (re)connected. */
static LDAP *
service_conn(void)
{
	LDAP *ld = pthread_getspecific(conn_key);
	int rc;

	if (ld != NULL)
		return ld;
	ld = connect_any(cfg->bind_dn, cfg->bind_password ? cfg->bind_password
							  : "",
			 &rc);
	pthread_setspecific(conn_key, ld);
	return ld;
}

/* Drops a connection that failed, so the next call reconnects. */
static void
service_drop(void)
{
	ldapauth_thread_close();
}

static bool
transport_error(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
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
		rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter,
				       attrs, 0, ctrls, NULL, &ot, 0, &res);
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

static void
add_group(struct ldap_user *u, const char *dn)
{
	for (int i = 0; i < u->n_groups; i++)
		if (strcasecmp(u->groups[i], dn) == 0)
			return;
	if (u->n_groups == MAX_GROUPS)
		return;
	u->groups = xrealloc(u->groups,
			     sizeof(char *) * (size_t)(u->n_groups + 1));
	u->groups[u->n_groups++] = xstrdup(dn);
}

struct found {
	struct ldap_user *u;
	int count;
	const char *why;	/* why the account may not log in */
};

/* The user entry: name, attributes, direct memberOf, account state. */
static void
on_user(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct found *f = arg;
	struct ldap_user *u = f->u;
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
	struct ldap_user *u = arg;
	char *dn = ldap_get_dn(ld, e);

	if (dn != NULL)
		add_group(u, dn);
	ldap_memfree(dn);
}

/* Groups found by a member search, expanded breadth-first for nesting;
 * the visited set (u->groups itself) ends cycles. */
static int
groups_by_search(LDAP *ld, struct ldap_user *u)
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
groups_by_memberof(LDAP *ld, struct ldap_user *u)
{
	static char *attrs[] = { (char *)"memberOf", NULL };
	struct timeval ot = { cfg->timeout, 0 };

	for (int i = 0; cfg->nested && i < u->n_groups; i++) {
		LDAPMessage *res = NULL, *e;
		struct berval **mo;
		int rc = ldap_search_ext_s(ld, u->groups[i], LDAP_SCOPE_BASE,
					   "(objectClass=*)", attrs, 0, NULL,
					   NULL, &ot, 1, &res);

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

/* Finds exactly one user for name and reads their groups. */
static enum ldap_result
find_user(const char *name, struct ldap_user *u, const char **why)
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
			return LDAP_AUTH_ERROR;
		}
		rc = search_paged(ld, cfg->user_base, filter, attrs, on_user, &f);
		if (!transport_error(rc))
			break;
		service_drop();		/* fail over on the next attempt */
		ldap_user_release(u);
		f.count = 0;
	}
	free(filter);
	if (transport_error(rc))
		return LDAP_AUTH_ERROR;
	if (rc != LDAP_SUCCESS || f.count != 1 || u->username == NULL) {
		*why = f.count > 1 ? "several directory entries match"
				   : "no such directory user";
		ldap_user_release(u);
		return LDAP_AUTH_REFUSED;
	}
	if (f.why != NULL) {
		*why = f.why;
		ldap_user_release(u);
		return LDAP_AUTH_REFUSED;
	}
	/* Active Directory resolves nesting itself with the chain rule. */
	rc = (cfg->group_filter && *cfg->group_filter) ||
			     (cfg->active_directory && cfg->nested)
		     ? groups_by_search(ld, u)
		     : groups_by_memberof(ld, u);
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap: group lookup for \"%s\" failed: %s", u->dn,
			  ldap_err2string(rc));
		if (transport_error(rc))
			service_drop();
		ldap_user_release(u);
		return LDAP_AUTH_ERROR;
	}
	return LDAP_AUTH_OK;
}

enum ldap_result
ldapauth_login(const char *login, const char *password, struct ldap_user *u)
{
	char *name = ldapauth_login_name(login, cfg->active_directory);
	const char *why = NULL;
	enum ldap_result r;
	LDAP *ld;
	int rc;
	char q[256];	/* the login as the client sent it, for the log */

	memset(u, 0, sizeof(*u));
	log_escape(q, sizeof(q), login, LOG_ESC_QUOTE);
	/* An empty password would be an anonymous bind, which succeeds. */
	if (*password == '\0' || *name == '\0') {
		log_info("ldap: refused \"%s\": empty name or password", q);
		free(name);
		return LDAP_AUTH_REFUSED;
	}
	r = find_user(name, u, &why);
	free(name);
	if (r != LDAP_AUTH_OK) {
		if (r == LDAP_AUTH_REFUSED)
			log_info("ldap: refused \"%s\": %s", q, why);
		return r;
	}
	if ((ld = connect_any(NULL, NULL, &rc)) == NULL) {
		ldap_user_release(u);
		return LDAP_AUTH_ERROR;
	}
	rc = simple_bind(ld, u->dn, password);
	ldap_unbind_ext_s(ld, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		log_info("ldap: refused \"%s\": bind as \"%s\": %s", q,
			 u->dn, ldap_err2string(rc));
		ldap_user_release(u);
		return transport_error(rc) ? LDAP_AUTH_ERROR : LDAP_AUTH_REFUSED;
	}
	return LDAP_AUTH_OK;
}

enum ldap_result
ldapauth_lookup(const char *username, struct ldap_user *u)
{
	const char *why = NULL;
	enum ldap_result r = find_user(username, u, &why);

	if (r == LDAP_AUTH_REFUSED)
		log_info("ldap: \"%s\" no longer valid: %s", username, why);
	return r;
}

void
ldap_user_release(struct ldap_user *u)
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
