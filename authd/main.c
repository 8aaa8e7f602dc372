/*
 * authd: Berth's token service and management API. It authenticates users
 * (local passwords, access tokens, service accounts; the directory comes
 * next), resolves organization, team and repository permissions, and
 * issues short-lived JWTs with scoped access claims.
 *
 * DESIGN: like registryd, libmicrohttpd's thread pool with one PostgreSQL
 * connection per worker. State shared across authd nodes (lockouts, the
 * audit log, tokens) lives in PostgreSQL. The main thread only waits for
 * signals (lib/daemon.c): SIGHUP reloads the signing keys (rotation:
 * append the new key, reload; tokens signed with older keys stay valid
 * while the keys remain listed) and the TLS certificate, SIGTERM/SIGINT
 * stop. A housekeeping tick thread, with its own connection, syncs the
 * directory and purges audit records past audit_retention_days.
 * Usage: authd [-c file] [serve | migrate | check-config |
 * bootstrap-admin NAME | purge-audit]
 */
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authd.h"
#include "authmetrics.h"
#include "ldapauth.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "netaddr.h"

struct authd_config authd;

/* Settings without a home in authd, ldap_cfg or http_cfg. */
static const char *opt_database, *opt_signing_keys, *opt_signing_chain;
static const char *opt_metrics_listen, *opt_trusted_proxies;
static long long opt_hash_concurrency, opt_hash_wait;
static const char *opt_ldap_user_filter, *opt_ldap_group_base;
static const char *opt_ldap_attr_user, *opt_ldap_attr_display;
static long long opt_ldap_sync, opt_ldap_max_concurrent;
static int opt_ldap_type;	/* DIRECTORY_* */
enum { DIRECTORY_OPENLDAP, DIRECTORY_AD };
static const char *const ldap_types[] = { "openldap", "ad", NULL };
static struct ldapauth_config ldap_cfg;
static struct netaddr_set trusted_proxies;
static struct http_config http_cfg = {
	.conn_memory = 65536,
	.trusted_proxies = &trusted_proxies,
	.route_names = authd_route_names,
	.n_routes = AR_COUNT,
};

static const struct conf_key settings[] = {
	{ "listen", CONF_STR, &http_cfg.listen, "127.0.0.1:5001", 0, 0, false,
	  "address and port to serve on" },
	{ "database", CONF_STR, &opt_database, "", 0, 0, false,
	  "libpq connection string" },
	{ "threads", CONF_INT32, &http_cfg.threads, "8", 1, 256, false,
	  "HTTP worker threads" },
	{ "idle_timeout", CONF_UINT32, &http_cfg.idle_timeout,
	  "60", 1, 86400, false,
	  "seconds a connection may stay idle" },
	{ "header_timeout", CONF_UINT32, &http_cfg.header_timeout,
	  "10", 0, 3600,
	  false, "seconds a request's headers may take to arrive; 0: any" },
	{ "max_connections", CONF_UINT32, &http_cfg.max_connections,
	  "0", 0, 1000000, false,
	  "connections held at once; 0: from the open file limit" },
	{ "max_connections_per_address", CONF_UINT32,
	  &http_cfg.max_per_address, "256",
	  0, 1000000, false,
	  "connections one client address may hold; 0: any" },
	DAEMON_LOG_SETTINGS,
	{ "trusted_proxies", CONF_STR, &opt_trusted_proxies, "", 0, 0, false,
	  "comma-separated CIDRs of proxies trusted to name the client" },
	{ "tls_cert", CONF_STR, &http_cfg.tls_cert, NULL, 0, 0, false,
	  "PEM certificate chain; enables HTTPS with tls_key" },
	{ "tls_key", CONF_STR, &http_cfg.tls_key, NULL, 0, 0, false,
	  "PEM private key" },
	{ "service", CONF_STR, &authd.service, "berth-registry", 0, 0, false,
	  "the registry's service name (token audience)" },
	{ "issuer", CONF_STR, &authd.issuer, "berth-authd", 0, 0, false,
	  "token issuer" },
	{ "signing_keys", CONF_STR, &opt_signing_keys, "", 0, 0, true,
	  "comma-separated PEM private keys (EC P-256 or RSA); the last signs" },
	{ "signing_chain", CONF_STR, &opt_signing_chain, "", 0, 0, true,
	  "PEM certificate chain of the signing key, sent as x5c" },
	{ "token_ttl", CONF_INT, &authd.token_ttl, "300", 10, 86400, false,
	  "seconds a registry token lives" },
	{ "refresh_ttl", CONF_INT, &authd.refresh_ttl, "2592000", 60,
	  31536000, false, "seconds a refresh token lives" },
	{ "lockout_threshold", CONF_INT, &authd.lockout_threshold,
	  "10", 1, 1000,
	  false, "failed passwords of one account from one address before "
	  "that pair's logins are delayed" },
	{ "lockout_address_threshold", CONF_INT,
	  &authd.lockout_addr_threshold,
	  "100", 1, 100000, false,
	  "failed passwords from one address before its password logins "
	  "are delayed" },
	{ "lockout_window", CONF_INT, &authd.lockout_window, "900", 1, 86400,
	  false, "seconds after the last failure and its delay until the "
	  "failures are forgotten" },
	{ "lockout_delay", CONF_INT, &authd.lockout_delay, "1", 1, 86400, false,
	  "seconds of the first delay; each further failure doubles it" },
	{ "lockout_duration", CONF_INT, &authd.lockout_duration,
	  "900", 1, 86400,
	  false, "the longest delay, in seconds" },
	{ "hash_concurrency", CONF_INT, &opt_hash_concurrency, "0", 0, 256,
	  false, "password hashes at once (as many may wait); 0: the CPU "
	  "count, at most threads / 4 (at least 1)" },
	{ "hash_queue_wait", CONF_INT, &opt_hash_wait, "500", 1, 60000,
	  false, "milliseconds a password check waits for a hash slot "
	  "before 503" },
	{ "credential_cache_ttl", CONF_INT, &authd.cred_cache_ttl,
	  "60", 0, 3600,
	  false, "seconds a verified password is remembered (as an HMAC)" },
	{ "ldap_urls", CONF_STR, &ldap_cfg.urls, "", 0, 0, false,
	  "directory servers, comma-separated, tried in order; empty: none" },
	{ "ldap_type", CONF_ENUM, CONF_ENUM_VAR(&opt_ldap_type, ldap_types),
	  "openldap", 0, 0, false, "the directory (ad: Active Directory)" },
	{ "ldap_starttls", CONF_BOOL, &ldap_cfg.starttls, "true", 0, 0, false,
	  "require StartTLS on ldap:// URLs" },
	{ "ldap_ca_file", CONF_STR, &ldap_cfg.ca_file, "", 0, 0, false,
	  "CA certificates the directory's certificate must chain to" },
	{ "ldap_client_cert", CONF_STR, &ldap_cfg.cert_file, "", 0, 0, false,
	  "client certificate (PEM), optional" },
	{ "ldap_client_key", CONF_STR, &ldap_cfg.key_file, "", 0, 0, false,
	  "client key (PEM), optional" },
	{ "ldap_bind_dn", CONF_STR, &ldap_cfg.bind_dn, "", 0, 0, false,
	  "the service account's DN" },
	{ "ldap_bind_password", CONF_STR, &ldap_cfg.bind_password,
	  "", 0, 0, false,
	  "the service account's password" },
	{ "ldap_user_base", CONF_STR, &ldap_cfg.user_base, "", 0, 0, false,
	  "where users are searched" },
	{ "ldap_user_filter", CONF_STR, &opt_ldap_user_filter, "", 0, 0,
	  false, "user filter, %s is the login (default by ldap_type)" },
	{ "ldap_group_base", CONF_STR, &opt_ldap_group_base, "", 0, 0, false,
	  "where groups are searched (default: ldap_user_base)" },
	{ "ldap_group_filter", CONF_STR, &ldap_cfg.group_filter, "", 0, 0,
	  false, "group filter, %s is a member DN; empty: memberOf" },
	{ "ldap_attr_username", CONF_STR, &opt_ldap_attr_user, "", 0, 0,
	  false, "login attribute (uid, or sAMAccountName for ad)" },
	{ "ldap_attr_display", CONF_STR, &opt_ldap_attr_display, "", 0, 0,
	  false, "display name attribute (cn, or displayName for ad)" },
	{ "ldap_attr_email", CONF_STR, &ldap_cfg.attr_email, "mail", 0, 0,
	  false, "e-mail attribute" },
	{ "ldap_nested", CONF_BOOL, &ldap_cfg.nested, "true", 0, 0, false,
	  "expand nested groups" },
	{ "ldap_referrals", CONF_BOOL, &ldap_cfg.referrals, "false", 0, 0,
	  false, "chase referrals" },
	{ "ldap_network_timeout", CONF_INT32, &ldap_cfg.network_timeout,
	  "5", 1, 300,
	  false, "seconds to connect to a directory server" },
	{ "ldap_timeout", CONF_INT32, &ldap_cfg.timeout, "10", 1, 300, false,
	  "seconds a directory operation may take" },
	{ "ldap_page_size", CONF_INT32, &ldap_cfg.page_size,
	  "500", 1, 10000, false,
	  "entries per page of a paged search" },
	{ "ldap_admin_group", CONF_STR, &ldapsync_admin_group, "", 0, 0, false,
	  "DN of the group whose members are system administrators" },
	{ "ldap_sync_interval", CONF_INT, &opt_ldap_sync, "900", 0, 86400,
	  false, "seconds between full directory syncs; 0: off" },
	{ "metrics_listen", CONF_STR, &opt_metrics_listen, "", 0, 0, false,
	  "host:port serving /metrics (plain HTTP) instead of listen" },
	{ "audit_retention_days", CONF_INT,
	  &authd.audit_retention_days, "365", 0,
	  36500, false, "days audit records are kept; 0: forever" },
	{ "ldap_down_seconds", CONF_INT32, &ldap_cfg.down_seconds,
	  "30", 0, 3600, false,
	  "seconds a directory server that failed is skipped; 0: never" },
	{ "ldap_max_concurrent", CONF_INT, &opt_ldap_max_concurrent, "0", 0,
	  256, false, "directory calls at once; 0: threads - 2 (at least 1)" },
	{ "ldap_sync_max_disable_percent", CONF_INT32,
	  &ldapsync_max_disable_percent, "10", 0, 100, false,
	  "a sync that would disable more of the directory users disables none" },
};
#define NSETTINGS ((int)ARRAY_SIZE(settings))

static const char *
or_default(const char *v, const char *def)
{
	return v != NULL && *v ? v : def;
}

/* The directory settings that default by ldap_type or by each other. */
static void
setup_ldap(void)
{
	bool ad = opt_ldap_type == DIRECTORY_AD;

	ldap_cfg.user_filter = or_default(
		opt_ldap_user_filter,
		ad ? "(&(objectCategory=person)(objectClass=user)"
		     "(sAMAccountName=%s))"
		   : "(&(objectClass=inetOrgPerson)(uid=%s))");
	ldap_cfg.group_base = or_default(opt_ldap_group_base,
					 ldap_cfg.user_base);
	ldap_cfg.attr_username = or_default(opt_ldap_attr_user,
					    ad ? "sAMAccountName" : "uid");
	ldap_cfg.attr_display = or_default(opt_ldap_attr_display,
					   ad ? "displayName" : "cn");
	ldap_cfg.active_directory = ad;
	ldap_cfg.max_concurrent = opt_ldap_max_concurrent
					  ? (int)opt_ldap_max_concurrent
				  : http_cfg.threads > 3 ? http_cfg.threads - 2
							 : 1;
	authd_ldap_ad = ad;
	conf_empty_is_unset(&ldapsync_admin_group);
	ldapauth_init(&ldap_cfg);
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

/* After the settings load: what they imply. */
static int
configure(void)
{
	if (netaddr_set_parse(&trusted_proxies, opt_trusted_proxies,
			      "trusted_proxies") < 0)
		return -1;
	conf_empty_is_unset(&http_cfg.tls_cert);
	conf_empty_is_unset(&http_cfg.tls_key);
	setup_ldap();
	return 0;
}

static void
release(void)
{
	keysets_free();
	free(all_stmts);
	netaddr_set_release(&trusted_proxies);
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
	int ret = http_check_serving(http_cfg.listen, http_cfg.tls_cert,
				     http_cfg.tls_key);

	if (db_conninfo_check(opt_database) < 0)
		ret = -1;
	if (check_signing() < 0)
		ret = -1;
	if (check_readable("ldap_ca_file", ldap_cfg.ca_file) < 0 ||
	    check_readable("ldap_client_cert", ldap_cfg.cert_file) < 0 ||
	    check_readable("ldap_client_key", ldap_cfg.key_file) < 0)
		ret = -1;
	return ret;
}

static struct http_server *srv, *msrv;

/* SIGHUP, when the settings parsed: the signing keys and the TLS files. */
static void
reload(bool settings_ok)
{
	if (!settings_ok)
		return;
	if (load_keys() < 0) {
		const struct signing_keys *ks = authd_signing();

		log_warnx("SIGHUP: keys not reloaded; still signing with %s",
			  jwt_key_kid(ks->keys[ks->n - 1]));
	}
	(void)http_tls_reload(srv);
}

/*
 * The housekeeping tick, once a minute (or every ldap_sync_interval when
 * that is shorter): the directory sync when its interval has passed, and a
 * bounded slice of the audit log's purge (100,000 rows a minute at most,
 * so a first purge of years of records spreads out).
 */
#define HOUSEKEEPING_TICK 60

static time_t last_sync;	/* the housekeeping thread's */

static void
housekeeping(struct db *db)
{
	time_t now = time(NULL);
	int n;

	if (opt_ldap_sync && ldapauth_enabled() &&
	    now - last_sync >= opt_ldap_sync) {
		last_sync = now;
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
	long quarter = http_cfg.threads / 4 > 0 ? http_cfg.threads / 4 : 1;

	if (opt_hash_concurrency > 0)
		return (int)opt_hash_concurrency;
	if (cpus < 1)
		cpus = 1;
	return (int)(cpus < quarter ? cpus : quarter);
}

static int
start(void)
{
	setup_db();
	metrics_init("berth_authd", "authd", authd_route_names, AR_COUNT);
	authmetrics_register();
	if (*opt_metrics_listen &&
	    (msrv = metrics_listen_start(opt_metrics_listen, AR_METRICS,
					 AR_UNKNOWN)) == NULL)
		return -1;
	if ((srv = http_start(&http_cfg, &authd_handlers, &authd)) == NULL) {
		http_stop(msrv);
		return -1;
	}
	log_info("authd serving on %s%s for service \"%s\"", http_cfg.listen,
		 http_cfg.tls_cert ? " (https)" : "", authd.service);
	return 0;
}

static void
stop(void)
{
	http_stop(srv);
	http_stop(msrv);
	db_teardown();
}

static int
cmd_serve(char **args)
{
	long long every = opt_ldap_sync && opt_ldap_sync < HOUSEKEEPING_TICK
				  ? opt_ldap_sync
				  : HOUSEKEEPING_TICK;
	/* The sync's thread keeps a directory connection: closed at its end. */
	struct daemon_tick ticks[] = {
		{ "housekeeping", housekeeping, 1000u * (unsigned)every, true,
		  ldapauth_thread_close },
	};
	struct daemon_server hooks = {
		.start = start,
		.reload = reload,
		.stop = stop,
		.ticks = ticks,
		.n_ticks = (int)ARRAY_SIZE(ticks),
	};

	(void)args;
	if (check_settings() < 0 || load_keys() < 0)
		return 1;
	password_queue_init(hash_slots(), (long)opt_hash_wait);
	if (migrate_verify(opt_database) < 0)
		return 1;
	last_sync = time(NULL);
	return daemon_serve(&hooks);
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
/* The administrator's namespace and row, in one transaction (db_tx). */
static int
create_admin(struct db *db, void *arg)
{
	const char *const *p = arg;
	PGresult *res;

	if ((res = db_exec(db, A_USER_CREATE_NS, 1, p)) == NULL)
		return -1;
	PQclear(res);
	if ((res = db_exec(db, A_USER_CREATE, 5, p)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

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
	if (db_tx(db, create_admin, p) < 0)
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
	if (ret != 0)
		log_warnx("could not create administrator \"%s\"", name);
	PQclear(res);
	free(hash);
	free(password);
	db_teardown();
	return ret;
}

static int
cmd_migrate(char **args)
{
	(void)args;
	return migrate_command(opt_database);
}

static int
cmd_check_config(char **args)
{
	(void)args;
	return check_settings() < 0 ? 1 : 0;
}

static int
cmd_bootstrap(char **args)
{
	return cmd_bootstrap_admin(args[0]);
}

static int
cmd_purge(char **args)
{
	(void)args;
	return cmd_purge_audit();
}

static const struct daemon_command commands[] = {
	{ "serve", NULL, 0, cmd_serve, "serve tokens and the management API" },
	{ "migrate", NULL, 0, cmd_migrate,
	  "apply the pending schema migrations, then exit" },
	{ "check-config", NULL, 0, cmd_check_config,
	  "check the settings and the files they name, then exit" },
	{ "bootstrap-admin", "NAME", 1, cmd_bootstrap,
	  "create the first administrator unless any user exists" },
	{ "purge-audit", NULL, 0, cmd_purge,
	  "delete the audit records past audit_retention_days now" },
};

static const struct daemon authd_daemon = {
	.name = "authd",
	.env_prefix = "AUTHD",
	.settings = settings,
	.n_settings = NSETTINGS,
	.commands = commands,
	.n_commands = (int)ARRAY_SIZE(commands),
	.configure = configure,
	.release = release,
};

int
main(int argc, char **argv)
{
	return daemon_main(&authd_daemon, argc, argv);
}
