/*
 * authd: Berth's token service and management API. It authenticates users
 * (local passwords, access tokens, service accounts; the directory comes
 * next), resolves organization, team and repository permissions, and
 * issues short-lived JWTs with scoped access claims.
 *
 * DESIGN: like registryd, libmicrohttpd's thread pool with one PostgreSQL
 * connection per worker. State shared across authd nodes (lockouts, the
 * audit log, tokens) lives in PostgreSQL. The main thread waits for
 * signals: SIGHUP reloads the signing keys (rotation: append the new key,
 * reload; tokens signed with older keys stay valid while the keys remain
 * listed) and the TLS certificate, SIGTERM/SIGINT stop. Between signals
 * it syncs the directory and purges audit records past
 * audit_retention_days.
 * Usage: authd [-c file] [serve | migrate | check-config |
 * bootstrap-admin NAME | purge-audit]
 */
#include <getopt.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authd.h"
#include "authmetrics.h"
#include "ldapauth.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "netaddr.h"
#include "version.h"

struct authd_config authd;

static char *opt_listen, *opt_database, *opt_log_level, *opt_service;
static char *opt_issuer, *opt_signing_keys, *opt_signing_chain;
static char *opt_tls_cert, *opt_tls_key, *opt_metrics_listen;
static long long opt_threads, opt_token_ttl, opt_refresh_ttl;
static long long opt_idle_timeout, opt_header_timeout, opt_max_conns;
static long long opt_max_conns_addr;
static long long opt_lock_threshold, opt_lock_window, opt_lock_duration;
static long long opt_lock_addr_threshold, opt_lock_delay;
static long long opt_hash_concurrency, opt_hash_wait;
static long long opt_cache_ttl, opt_audit_retention;
static char *opt_ldap_urls, *opt_ldap_ca, *opt_ldap_cert, *opt_ldap_key;
static char *opt_ldap_bind_dn, *opt_ldap_bind_pw, *opt_ldap_type;
static char *opt_ldap_user_base, *opt_ldap_user_filter, *opt_ldap_group_base;
static char *opt_ldap_group_filter, *opt_ldap_attr_user, *opt_ldap_attr_display;
static char *opt_ldap_attr_email, *opt_ldap_admin_group;
static bool opt_ldap_starttls, opt_ldap_nested, opt_ldap_referrals;
static long long opt_ldap_net_timeout, opt_ldap_timeout, opt_ldap_page;
static long long opt_ldap_sync, opt_ldap_down, opt_ldap_sync_max_disable;
static long long opt_ldap_max_concurrent;
static struct ldapauth_config ldap_cfg;
static const char *conf_path;
static char *opt_log_format, *opt_trusted_proxies;
static struct netaddr_set trusted_proxies;

static const struct conf_key settings[] = {
	{ "listen", CONF_STR, &opt_listen, "127.0.0.1:5001", 0, 0, false,
	  "address and port to serve on" },
	{ "database", CONF_STR, &opt_database, "", 0, 0, false,
	  "libpq connection string" },
	{ "threads", CONF_INT, &opt_threads, "8", 1, 256, false,
	  "HTTP worker threads" },
	{ "idle_timeout", CONF_INT, &opt_idle_timeout, "60", 1, 86400, false,
	  "seconds a connection may stay idle" },
	{ "header_timeout", CONF_INT, &opt_header_timeout, "10", 0, 3600,
	  false, "seconds a request's headers may take to arrive; 0: any" },
	{ "max_connections", CONF_INT, &opt_max_conns, "0", 0, 1000000, false,
	  "connections held at once; 0: from the open file limit" },
	{ "max_connections_per_address", CONF_INT, &opt_max_conns_addr, "256",
	  0, 1000000, false,
	  "connections one client address may hold; 0: any" },
	{ "log_level", CONF_STR, &opt_log_level, "info", 0, 0, true,
	  "error, warn, info or debug" },
	{ "log_format", CONF_STR, &opt_log_format, "text", 0, 0, true,
	  "text or json (one JSON object per line)" },
	{ "trusted_proxies", CONF_STR, &opt_trusted_proxies, "", 0, 0, false,
	  "comma-separated CIDRs of proxies trusted to name the client" },
	{ "tls_cert", CONF_STR, &opt_tls_cert, NULL, 0, 0, false,
	  "PEM certificate chain; enables HTTPS with tls_key" },
	{ "tls_key", CONF_STR, &opt_tls_key, NULL, 0, 0, false,
	  "PEM private key" },
	{ "service", CONF_STR, &opt_service, "berth-registry", 0, 0, false,
	  "the registry's service name (token audience)" },
	{ "issuer", CONF_STR, &opt_issuer, "berth-authd", 0, 0, false,
	  "token issuer" },
	{ "signing_keys", CONF_STR, &opt_signing_keys, "", 0, 0, true,
	  "comma-separated PEM private keys (EC P-256 or RSA); the last signs" },
	{ "signing_chain", CONF_STR, &opt_signing_chain, "", 0, 0, true,
	  "PEM certificate chain of the signing key, sent as x5c" },
	{ "token_ttl", CONF_INT, &opt_token_ttl, "300", 10, 86400, false,
	  "seconds a registry token lives" },
	{ "refresh_ttl", CONF_INT, &opt_refresh_ttl, "2592000", 60,
	  31536000, false, "seconds a refresh token lives" },
	{ "lockout_threshold", CONF_INT, &opt_lock_threshold, "10", 1, 1000,
	  false, "failed passwords of one account from one address before "
	  "that pair's logins are delayed" },
	{ "lockout_address_threshold", CONF_INT, &opt_lock_addr_threshold,
	  "100", 1, 100000, false,
	  "failed passwords from one address before its password logins "
	  "are delayed" },
	{ "lockout_window", CONF_INT, &opt_lock_window, "900", 1, 86400,
	  false, "seconds after the last failure and its delay until the "
	  "failures are forgotten" },
	{ "lockout_delay", CONF_INT, &opt_lock_delay, "1", 1, 86400, false,
	  "seconds of the first delay; each further failure doubles it" },
	{ "lockout_duration", CONF_INT, &opt_lock_duration, "900", 1, 86400,
	  false, "the longest delay, in seconds" },
	{ "hash_concurrency", CONF_INT, &opt_hash_concurrency, "0", 0, 256,
	  false, "password hashes at once (as many may wait); 0: the CPU "
	  "count, at most threads / 4 (at least 1)" },
	{ "hash_queue_wait", CONF_INT, &opt_hash_wait, "500", 1, 60000,
	  false, "milliseconds a password check waits for a hash slot "
	  "before 503" },
	{ "credential_cache_ttl", CONF_INT, &opt_cache_ttl, "60", 0, 3600,
	  false, "seconds a verified password is remembered (as an HMAC)" },
	{ "ldap_urls", CONF_STR, &opt_ldap_urls, "", 0, 0, false,
	  "directory servers, comma-separated, tried in order; empty: none" },
	{ "ldap_type", CONF_STR, &opt_ldap_type, "openldap", 0, 0, false,
	  "openldap or ad (Active Directory)" },
	{ "ldap_starttls", CONF_BOOL, &opt_ldap_starttls, "true", 0, 0, false,
	  "require StartTLS on ldap:// URLs" },
	{ "ldap_ca_file", CONF_STR, &opt_ldap_ca, "", 0, 0, false,
	  "CA certificates the directory's certificate must chain to" },
	{ "ldap_client_cert", CONF_STR, &opt_ldap_cert, "", 0, 0, false,
	  "client certificate (PEM), optional" },
	{ "ldap_client_key", CONF_STR, &opt_ldap_key, "", 0, 0, false,
	  "client key (PEM), optional" },
	{ "ldap_bind_dn", CONF_STR, &opt_ldap_bind_dn, "", 0, 0, false,
	  "the service account's DN" },
	{ "ldap_bind_password", CONF_STR, &opt_ldap_bind_pw, "", 0, 0, false,
	  "the service account's password" },
	{ "ldap_user_base", CONF_STR, &opt_ldap_user_base, "", 0, 0, false,
	  "where users are searched" },
	{ "ldap_user_filter", CONF_STR, &opt_ldap_user_filter, "", 0, 0,
	  false, "user filter, %s is the login (default by ldap_type)" },
	{ "ldap_group_base", CONF_STR, &opt_ldap_group_base, "", 0, 0, false,
	  "where groups are searched (default: ldap_user_base)" },
	{ "ldap_group_filter", CONF_STR, &opt_ldap_group_filter, "", 0, 0,
	  false, "group filter, %s is a member DN; empty: memberOf" },
	{ "ldap_attr_username", CONF_STR, &opt_ldap_attr_user, "", 0, 0,
	  false, "login attribute (uid, or sAMAccountName for ad)" },
	{ "ldap_attr_display", CONF_STR, &opt_ldap_attr_display, "", 0, 0,
	  false, "display name attribute (cn, or displayName for ad)" },
	{ "ldap_attr_email", CONF_STR, &opt_ldap_attr_email, "mail", 0, 0,
	  false, "e-mail attribute" },
	{ "ldap_nested", CONF_BOOL, &opt_ldap_nested, "true", 0, 0, false,
	  "expand nested groups" },
	{ "ldap_referrals", CONF_BOOL, &opt_ldap_referrals, "false", 0, 0,
	  false, "chase referrals" },
	{ "ldap_network_timeout", CONF_INT, &opt_ldap_net_timeout, "5", 1, 300,
	  false, "seconds to connect to a directory server" },
	{ "ldap_timeout", CONF_INT, &opt_ldap_timeout, "10", 1, 300, false,
	  "seconds a directory operation may take" },
	{ "ldap_page_size", CONF_INT, &opt_ldap_page, "500", 1, 10000, false,
	  "entries per page of a paged search" },
	{ "ldap_admin_group", CONF_STR, &opt_ldap_admin_group, "", 0, 0, false,
	  "DN of the group whose members are system administrators" },
	{ "ldap_sync_interval", CONF_INT, &opt_ldap_sync, "900", 0, 86400,
	  false, "seconds between full directory syncs; 0: off" },
	{ "metrics_listen", CONF_STR, &opt_metrics_listen, "", 0, 0, false,
	  "host:port serving /metrics (plain HTTP) instead of listen" },
	{ "audit_retention_days", CONF_INT, &opt_audit_retention, "365", 0,
	  36500, false, "days audit records are kept; 0: forever" },
	{ "ldap_down_seconds", CONF_INT, &opt_ldap_down, "30", 0, 3600, false,
	  "seconds a directory server that failed is skipped; 0: never" },
	{ "ldap_max_concurrent", CONF_INT, &opt_ldap_max_concurrent, "0", 0,
	  256, false, "directory calls at once; 0: threads - 2 (at least 1)" },
	{ "ldap_sync_max_disable_percent", CONF_INT,
	  &opt_ldap_sync_max_disable, "10", 0, 100, false,
	  "a sync that would disable more of the directory users disables none" },
};
#define NSETTINGS ((int)ARRAY_SIZE(settings))

static const char *
or_default(const char *v, const char *def)
{
	return v != NULL && *v ? v : def;
}

static int
setup_ldap(void)
{
	bool ad = !strcmp(opt_ldap_type, "ad");

	if (!ad && strcmp(opt_ldap_type, "openldap") != 0) {
		log_warnx("ldap_type must be openldap or ad");
		return -1;
	}
	ldap_cfg = (struct ldapauth_config){
		.urls = opt_ldap_urls,
		.starttls = opt_ldap_starttls,
		.ca_file = opt_ldap_ca,
		.cert_file = opt_ldap_cert,
		.key_file = opt_ldap_key,
		.bind_dn = opt_ldap_bind_dn,
		.bind_password = opt_ldap_bind_pw,
		.user_base = opt_ldap_user_base,
		.user_filter = or_default(
			opt_ldap_user_filter,
			ad ? "(&(objectCategory=person)(objectClass=user)"
			     "(sAMAccountName=%s))"
			   : "(&(objectClass=inetOrgPerson)(uid=%s))"),
		.group_base = or_default(opt_ldap_group_base, opt_ldap_user_base),
		.group_filter = opt_ldap_group_filter,
		.attr_username = or_default(opt_ldap_attr_user,
					    ad ? "sAMAccountName" : "uid"),
		.attr_display = or_default(opt_ldap_attr_display,
					   ad ? "displayName" : "cn"),
		.attr_email = opt_ldap_attr_email,
		.active_directory = ad,
		.nested = opt_ldap_nested,
		.referrals = opt_ldap_referrals,
		.network_timeout = (int)opt_ldap_net_timeout,
		.timeout = (int)opt_ldap_timeout,
		.page_size = (int)opt_ldap_page,
		.down_seconds = (int)opt_ldap_down,
		.max_concurrent = opt_ldap_max_concurrent
					  ? (int)opt_ldap_max_concurrent
				  : opt_threads > 3 ? (int)opt_threads - 2
						    : 1,
	};
	ldapsync_max_disable_percent = (int)opt_ldap_sync_max_disable;
	authd_ldap_ad = ad;
	ldapsync_admin_group = *opt_ldap_admin_group ? opt_ldap_admin_group
						     : NULL;
	ldapauth_init(&ldap_cfg);
	return 0;
}

/* authd_stmts then api_stmts, in the numbering both enums use. */
static struct db_stmt *all_stmts;

static int
setup_db(void)
{
	int n = A_COUNT + api_stmts_count;

	all_stmts = xcalloc((size_t)n, sizeof(*all_stmts));
	memcpy(all_stmts, authd_stmts, sizeof(authd_stmts));
	memcpy(all_stmts + A_COUNT, api_stmts,
	       sizeof(*api_stmts) * (size_t)api_stmts_count);
	db_setup(opt_database, all_stmts, n);
	return n;
}

/* Key sets replaced by SIGHUP stay allocated until exit: a worker may
 * still be signing with one. */
static struct signing_keys *keysets;

const struct signing_keys *
authd_signing(void)
{
	return __atomic_load_n(&authd.signing, __ATOMIC_ACQUIRE);
}

static void
keysets_free(void)
{
	while (keysets != NULL) {
		struct signing_keys *k = keysets;

		keysets = k->older;
		for (int i = 0; i < k->n; i++)
			jwt_key_free(k->keys[i]);
		free(k->keys);
		free(k);
	}
}

static int
load_keys(void)
{
	struct signing_keys *ks = xcalloc(1, sizeof(*ks));
	char **files;
	int n = util_list_split(opt_signing_keys, &files);

	ks->keys = xcalloc((size_t)(n ? n : 1), sizeof(*ks->keys));
	for (int i = 0; i < n; i++) {
		if ((ks->keys[i] = jwt_key_load_private(files[i])) == NULL)
			goto fail;
		ks->n++;
	}
	if (ks->n == 0) {
		log_warnx("signing_keys names no key");
		goto fail;
	}
	if (*opt_signing_chain &&
	    jwt_key_set_chain(ks->keys[ks->n - 1], opt_signing_chain) < 0)
		goto fail;
	util_list_free(files, n);
	ks->older = keysets;
	keysets = ks;
	__atomic_store_n(&authd.signing, ks, __ATOMIC_RELEASE);
	log_info("signing with key %s (%d keys published)",
		 jwt_key_kid(ks->keys[ks->n - 1]), ks->n);
	return 0;
fail:
	for (int i = 0; i < ks->n; i++)
		jwt_key_free(ks->keys[i]);
	free(ks->keys);
	free(ks);
	util_list_free(files, n);
	return -1;
}

static int
load_settings(const char *path)
{
	if (conf_load(settings, NSETTINGS, path, "AUTHD") < 0)
		return -1;
	if (log_set_level(opt_log_level) < 0 ||
	    log_set_format(opt_log_format) < 0 ||
	    netaddr_set_parse(&trusted_proxies, opt_trusted_proxies,
			      "trusted_proxies") < 0)
		return -1;
	conf_empty_is_unset(&opt_tls_cert);
	conf_empty_is_unset(&opt_tls_key);
	authd.service = opt_service;
	authd.issuer = opt_issuer;
	authd.token_ttl = opt_token_ttl;
	authd.refresh_ttl = opt_refresh_ttl;
	authd.lockout_threshold = opt_lock_threshold;
	authd.lockout_addr_threshold = opt_lock_addr_threshold;
	authd.lockout_window = opt_lock_window;
	authd.lockout_delay = opt_lock_delay;
	authd.lockout_duration = opt_lock_duration;
	authd.cred_cache_ttl = opt_cache_ttl;
	authd.audit_retention_days = opt_audit_retention;
	return setup_ldap();
}

/* Whether every signing key (and the chain) loads; nothing is published. */
static int
check_signing(void)
{
	char **files;
	int n = util_list_split(opt_signing_keys, &files), ret = 0;
	struct jwt_key *last = NULL;

	if (n == 0)
		ret = conf_error("signing_keys names no key");
	for (int i = 0; i < n; i++) {
		struct jwt_key *k = jwt_key_load_private(files[i]);

		if (k == NULL)
			ret = conf_error("signing_keys: \"%s\" is not a usable "
					 "private key", files[i]);
		jwt_key_free(last);
		last = k;
	}
	if (last != NULL && *opt_signing_chain &&
	    jwt_key_set_chain(last, opt_signing_chain) < 0)
		ret = conf_error("signing_chain \"%s\" does not fit the last "
				 "signing key", opt_signing_chain);
	jwt_key_free(last);
	util_list_free(files, n);
	return ret;
}

/* A file setting that must be readable when set. */
static int
check_readable(const char *key, const char *path)
{
	FILE *f;

	if (path == NULL || *path == '\0')
		return 0;
	if ((f = fopen(path, "r")) == NULL)
		return conf_error("%s \"%s\": %s", key, path, strerror(errno));
	fclose(f);
	return 0;
}

/*
 * The checks across settings and files that serve and check-config both
 * run (the database and the directory are not contacted). Every problem
 * is printed as "error: ..."; -1 when there was any.
 */
static int
check_settings(void)
{
	int ret = http_check_serving(opt_listen, opt_tls_cert, opt_tls_key);

	if (db_conninfo_check(opt_database) < 0)
		ret = -1;
	if (check_signing() < 0)
		ret = -1;
	if (check_readable("ldap_ca_file", opt_ldap_ca) < 0 ||
	    check_readable("ldap_client_cert", opt_ldap_cert) < 0 ||
	    check_readable("ldap_client_key", opt_ldap_key) < 0)
		ret = -1;
	return ret;
}

static void
reload(struct http_server *srv)
{
	if (conf_reload(settings, NSETTINGS, conf_path, "AUTHD") < 0) {
		log_warnx("SIGHUP: configuration not reloaded");
		return;
	}
	(void)log_set_level(opt_log_level);
	(void)log_set_format(opt_log_format);
	if (load_keys() < 0) {
		const struct signing_keys *ks = authd_signing();

		log_warnx("SIGHUP: keys not reloaded; still signing with %s",
			  jwt_key_kid(ks->keys[ks->n - 1]));
	}
	(void)http_tls_reload(srv);
}

/*
 * Between signals, once a minute (or every ldap_sync_interval when that
 * is shorter): the directory sync when its interval has passed, and a
 * bounded slice of the audit log's purge (100,000 rows a minute at most,
 * so a first purge of years of records spreads out).
 */
#define HOUSEKEEPING_TICK 60

static void
housekeeping(time_t *last_sync)
{
	struct db *db = db_thread();
	time_t now = time(NULL);
	int n;

	if (db == NULL)
		return;
	if (opt_ldap_sync && ldapauth_enabled() &&
	    now - *last_sync >= opt_ldap_sync) {
		*last_sync = now;
		if ((n = ldapsync_all(db)) >= 0)
			log_info("ldap sync: %d users disabled", n);
	}
	(void)audit_purge(db, 10);
	credential_throttle_purge(db);
}

/* hash_concurrency, or its default: the CPU count, at most a quarter of
 * the worker threads, so that hashing and waiting for a slot never take
 * more than half of them. */
static int
hash_slots(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long quarter = opt_threads / 4 > 0 ? opt_threads / 4 : 1;

	if (opt_hash_concurrency > 0)
		return (int)opt_hash_concurrency;
	if (cpus < 1)
		cpus = 1;
	return (int)(cpus < quarter ? cpus : quarter);
}

static int
cmd_serve(void)
{
	struct http_config hc = {
		.listen = opt_listen,
		.threads = (int)opt_threads,
		.tls_cert = opt_tls_cert,
		.tls_key = opt_tls_key,
		.idle_timeout = (unsigned)opt_idle_timeout,
		.conn_memory = 65536,
		.header_timeout = (unsigned)opt_header_timeout,
		.max_connections = (unsigned)opt_max_conns,
		.max_per_address = (unsigned)opt_max_conns_addr,
		.trusted_proxies = &trusted_proxies,
		.route_names = authd_route_names,
		.n_routes = AR_COUNT,
	};
	struct http_server *srv, *msrv = NULL;
	time_t last_sync = time(NULL);
	sigset_t set;
	int sig;

	if (check_settings() < 0 || load_keys() < 0)
		return 1;
	password_queue_init(hash_slots(), (long)opt_hash_wait);
	if (migrate_verify(opt_database) < 0)
		return 1;
	setup_db();
	metrics_init("berth_authd", "authd", authd_route_names, AR_COUNT);
	authmetrics_register();
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (*opt_metrics_listen &&
	    (msrv = metrics_listen_start(opt_metrics_listen, AR_METRICS,
					 AR_UNKNOWN)) == NULL)
		return 1;
	if ((srv = http_start(&hc, &authd_handlers, &authd)) == NULL) {
		http_stop(msrv);
		return 1;
	}
	log_info("authd serving on %s%s for service \"%s\"", opt_listen,
		 opt_tls_cert ? " (https)" : "", authd.service);
	for (;;) {
		/* Housekeeping runs between signals. */
		long long every = opt_ldap_sync && opt_ldap_sync <
							  HOUSEKEEPING_TICK
					  ? opt_ldap_sync
					  : HOUSEKEEPING_TICK;
		struct timespec tick = { .tv_sec = (time_t)every };

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			housekeeping(&last_sync);
			continue;
		}
		if (sig == SIGHUP) {
			reload(srv);
			continue;
		}
		break;
	}
	log_info("stopping on signal %d", sig);
	http_stop(srv);
	http_stop(msrv);
	db_teardown();
	ldapauth_thread_close();
	return 0;
}

/* purge-audit: deletes every record past audit_retention_days, now. */
static int
cmd_purge_audit(void)
{
	struct db *db;
	long long n = -1;

	setup_db();
	if (migrate_verify(opt_database) == 0 && (db = db_thread()) != NULL)
		n = audit_purge(db, 0);
	if (n >= 0)
		printf("purged %lld audit records\n", n);
	db_teardown();
	return n >= 0 ? 0 : 1;
}

/*
 * Creates the first system administrator unless any user exists. The
 * password comes from BERTH_ADMIN_PASSWORD, or is generated and printed
 * once on stdout.
 */
static int
cmd_bootstrap_admin(const char *name)
{
	const char *env = getenv("BERTH_ADMIN_PASSWORD");
	char *password = env && *env ? xstrdup(env) : password_generate();
	const char *why = password_policy(password);
	char *hash = why ? NULL : password_hash(password);
	const char *p[5] = { name, hash, "t", NULL, "administrator" };
	PGresult *res = NULL;
	struct db *db = NULL;
	int ret = 1;

	/* The API's rule, so the first account is no weaker than the rest. */
	if (why != NULL) {
		log_warnx("BERTH_ADMIN_PASSWORD refused: %s", why);
		free(password);
		return 1;
	}
	setup_db();
	if ((db = db_thread()) == NULL)
		goto out;
	if ((res = db_exec(db, A_USER_BY_NAME, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) > 0) {
		log_info("user \"%s\" exists; nothing to do", name);
		ret = 0;
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (db_command(db, "BEGIN") < 0 ||
	    (res = db_exec(db, A_USER_CREATE_NS, 1, p)) == NULL)
		goto out;
	PQclear(res);
	if ((res = db_exec(db, A_USER_CREATE, 5, p)) == NULL ||
	    db_command(db, "COMMIT") < 0)
		goto out;
	audit_write(db, "bootstrap", "user.create", name, "local", true,
		    "{\"admin\":true}");
	if (env == NULL || *env == '\0')
		printf("created administrator \"%s\" with password %s\n", name,
		       password);
	else
		printf("created administrator \"%s\"\n", name);
	ret = 0;
out:
	if (ret != 0) {
		db_rollback(db);
		log_warnx("could not create administrator \"%s\"", name);
	}
	PQclear(res);
	free(hash);
	free(password);
	db_teardown();
	return ret;
}

static void
usage(void)
{
	printf("usage: authd [-c file] [serve | migrate | check-config | "
	       "bootstrap-admin NAME | purge-audit]\n       authd --version\n"
	       "settings (file keys; environment AUTHD_<KEY>):\n");
	conf_usage(settings, NSETTINGS);
}

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	const char *cmd = "serve";
	int opt, ret;

	log_set_daemon("authd");
	while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			version_print("authd");
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind];
	if (load_settings(conf_path) < 0)
		return 1;
	if (!strcmp(cmd, "serve"))
		ret = cmd_serve();
	else if (!strcmp(cmd, "migrate"))
		ret = migrate_command(opt_database);
	else if (!strcmp(cmd, "check-config"))
		ret = check_settings() < 0 ? 1 : 0;
	else if (!strcmp(cmd, "bootstrap-admin") && optind + 1 < argc)
		ret = cmd_bootstrap_admin(argv[optind + 1]);
	else if (!strcmp(cmd, "purge-audit"))
		ret = cmd_purge_audit();
	else {
		usage();
		ret = 2;
	}
	keysets_free();
	free(all_stmts);
	netaddr_set_release(&trusted_proxies);
	conf_release(settings, NSETTINGS);
	return ret;
}
