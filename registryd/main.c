/*
 * registryd: a stateless node of the Berth registry (OCI Distribution
 * v1.1). Metadata lives in PostgreSQL, blob bytes in shared storage, so
 * any node serves any request, the next chunk of another node's upload
 * included.
 *
 * DESIGN: libmicrohttpd's thread pool; each worker thread owns one
 * PostgreSQL connection (lib/db.c), so request handling takes no locks.
 * The main thread only waits for signals: SIGTERM/SIGINT stop the server
 * gracefully, SIGHUP rereads the reloadable settings and the TLS files.
 * Usage: registryd [-c file] [serve | migrate | check-config]
 */
#include <getopt.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "netaddr.h"
#include "auditlog.h"
#include "authz.h"
#include "registryd.h"
#include "regmetrics.h"
#include "route.h"
#include "sql.h"
#include "storage.h"
#include "upload.h"
#include "version.h"



static char *opt_listen, *opt_database, *opt_storage, *opt_log_level;
static char *opt_tls_cert, *opt_tls_key, *opt_foreign_allow, *opt_foreign_deny;
static long long opt_threads, opt_idle_timeout, opt_conn_memory;
static long long opt_upload_ttl, opt_auth_leeway, opt_audit_queue;
static long long opt_header_timeout, opt_max_conns, opt_max_conns_addr;
static bool opt_audit_pulls;
static long long opt_max_blob_size, opt_max_uploads_per_user;
static long long opt_max_uploads_per_repo, opt_storage_min_free;
static char *opt_auth_realm, *opt_auth_service, *opt_auth_issuer;
static char *opt_auth_keys, *opt_auth_jwks_url, *opt_auth_ca_file;
static bool opt_auth_realm_insecure;
static char *opt_metrics_listen;
static const char *conf_path;
static char *opt_log_format, *opt_trusted_proxies;
static struct netaddr_set trusted_proxies;

static const struct conf_key settings[] = {
	{ "listen", CONF_STR, &opt_listen, "127.0.0.1:5000", 0, 0, false,
	  "address and port to serve on" },
	{ "database", CONF_STR, &opt_database, "", 0, 0, false,
	  "libpq connection string (multi-host for failover)" },
	{ "storage", CONF_STR, &opt_storage, "./var/storage", 0, 0, false,
	  "blob storage directory, shared by every node" },
	{ "threads", CONF_INT, &opt_threads, "8", 1, 256, false,
	  "HTTP worker threads, each with one database connection" },
	{ "idle_timeout", CONF_INT, &opt_idle_timeout, "120", 1, 86400, false,
	  "seconds a connection may stay idle" },
	{ "conn_memory", CONF_INT, &opt_conn_memory, "524288", 65536,
	  16777216, false, "per-connection buffer bytes" },
	{ "header_timeout", CONF_INT, &opt_header_timeout, "10", 0, 3600,
	  false, "seconds a request's headers may take to arrive; 0: any" },
	{ "max_connections", CONF_INT, &opt_max_conns, "0", 0, 1000000, false,
	  "connections held at once; 0: from the open file limit" },
	{ "max_connections_per_address", CONF_INT, &opt_max_conns_addr, "256",
	  0, 1000000, false,
	  "connections one client address may hold; 0: any" },
	{ "auth_realm", CONF_STR, &opt_auth_realm, "", 0, 0, false,
	  "authd's token URL; turns token auth on" },
	{ "auth_service", CONF_STR, &opt_auth_service, "berth-registry", 0,
	  0, false, "this registry's service name (the tokens' audience)" },
	{ "auth_issuer", CONF_STR, &opt_auth_issuer, "berth-authd", 0, 0,
	  false, "the issuer tokens must name" },
	{ "auth_keys", CONF_STR, &opt_auth_keys, "", 0, 0, false,
	  "comma-separated PEM public keys or certificates to verify with" },
	{ "auth_jwks_url", CONF_STR, &opt_auth_jwks_url, "", 0, 0, false,
	  "authd's JWKS URL, fetched at start and on an unknown key id" },
	{ "auth_leeway", CONF_INT, &opt_auth_leeway, "30", 0, 600, false,
	  "seconds of clock skew allowed on token times" },
	{ "auth_ca_file", CONF_STR, &opt_auth_ca_file, "", 0, 0, false,
	  "PEM CA bundle to check an https auth_jwks_url with" },
	{ "auth_realm_insecure", CONF_BOOL, &opt_auth_realm_insecure,
	  "false", 0, 0, false,
	  "allow a plain http auth_realm on an https registry" },
	{ "upload_ttl", CONF_INT, &opt_upload_ttl, "3600", 1, 31536000,
	  false, "seconds an idle upload session lives before it is purged" },
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
	{ "foreign_allow", CONF_STR, &opt_foreign_allow, "https://", 0, 0,
	  false, "comma-separated URL prefixes foreign layers may use" },
	{ "foreign_deny", CONF_STR, &opt_foreign_deny, "", 0, 0, false,
	  "comma-separated URL prefixes foreign layers may not use" },
	{ "metrics_listen", CONF_STR, &opt_metrics_listen, "", 0, 0, false,
	  "host:port serving /metrics (plain HTTP) instead of listen" },
	{ "audit_pulls", CONF_BOOL, &opt_audit_pulls, "false", 0, 0, false,
	  "record manifest pulls in the audit log, not only changes" },
	{ "audit_queue", CONF_INT, &opt_audit_queue, "10000", 0, 10000000,
	  false, "audit records queued for the writer; 0: no registry audit" },
	{ "max_blob_size", CONF_INT, &opt_max_blob_size, "34359738368", 0,
	  4611686018427387904LL, false,
	  "largest blob accepted, in bytes (413 past it); 0: no limit" },
	{ "max_uploads_per_user", CONF_INT, &opt_max_uploads_per_user, "100",
	  0, 1000000, false,
	  "open upload sessions per user (429 past it); 0: no limit" },
	{ "max_uploads_per_repo", CONF_INT, &opt_max_uploads_per_repo, "1000",
	  0, 1000000, false,
	  "open upload sessions per repository (429 past it); 0: no limit" },
	{ "storage_min_free", CONF_INT, &opt_storage_min_free, "16777216", 0,
	  4611686018427387904LL, false,
	  "free storage bytes below which /readyz answers 503" },
};
#define NSETTINGS ((int)ARRAY_SIZE(settings))

static int
load_settings(const char *path)
{
	if (conf_load(settings, NSETTINGS, path, "REGISTRYD") < 0)
		return -1;
	if (log_set_level(opt_log_level) < 0 ||
	    log_set_format(opt_log_format) < 0 ||
	    netaddr_set_parse(&trusted_proxies, opt_trusted_proxies,
			      "trusted_proxies") < 0)
		return -1;
	conf_empty_is_unset(&opt_tls_cert);
	conf_empty_is_unset(&opt_tls_key);
	reg.storage_root = opt_storage;
	reg.auth_realm = *opt_auth_realm ? opt_auth_realm : NULL;
	reg.auth_service = opt_auth_service;
	reg.auth_issuer = opt_auth_issuer;
	reg.auth_jwks_url = *opt_auth_jwks_url ? opt_auth_jwks_url : NULL;
	reg.auth_ca_file = *opt_auth_ca_file ? opt_auth_ca_file : NULL;
	reg.auth_leeway = (int)opt_auth_leeway;
	reg.audit_pulls = opt_audit_pulls;
	reg.max_blob_size = (uint64_t)opt_max_blob_size;
	reg.max_uploads_per_user = opt_max_uploads_per_user;
	reg.max_uploads_per_repo = opt_max_uploads_per_repo;
	reg.storage_min_free = (uint64_t)opt_storage_min_free;
	reg.n_foreign_allow = util_list_split(opt_foreign_allow, &reg.foreign_allow);
	reg.n_foreign_deny = util_list_split(opt_foreign_deny, &reg.foreign_deny);
	return 0;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* The token auth settings, when auth_realm is set. */
static int
check_auth(void)
{
	char **files;
	int n = util_list_split(opt_auth_keys, &files), ret = 0;
	FILE *f;

	if (!has_prefix(reg.auth_realm, "https://") &&
	    !has_prefix(reg.auth_realm, "http://"))
		ret = conf_error("auth_realm \"%s\" is not an http(s) URL",
				 reg.auth_realm);
	else if (opt_tls_cert != NULL &&
		 has_prefix(reg.auth_realm, "http://") &&
		 !opt_auth_realm_insecure)
		ret = conf_error("auth_realm \"%s\" is plain http but this "
				 "registry serves https: clients would send "
				 "passwords to it in clear; serve authd over "
				 "https, or set auth_realm_insecure = true",
				 reg.auth_realm);
	for (int i = 0; i < n; i++) {
		struct jwt_key *k = jwt_key_load_public(files[i]);

		if (k == NULL)
			ret = conf_error("auth_keys: \"%s\" is not a usable "
					 "public key or certificate", files[i]);
		jwt_key_free(k);
	}
	if (n == 0 && reg.auth_jwks_url == NULL)
		ret = conf_error("auth_realm is set but neither auth_keys nor "
				 "auth_jwks_url gives a key to verify tokens "
				 "with");
	if (reg.auth_jwks_url != NULL &&
	    !has_prefix(reg.auth_jwks_url, "https://") &&
	    !has_prefix(reg.auth_jwks_url, "http://"))
		ret = conf_error("auth_jwks_url \"%s\" is not an http(s) URL",
				 reg.auth_jwks_url);
	if (reg.auth_ca_file != NULL) {
		if ((f = fopen(reg.auth_ca_file, "r")) == NULL)
			ret = conf_error("auth_ca_file \"%s\": %s",
					 reg.auth_ca_file, strerror(errno));
		else
			fclose(f);
	}
	util_list_free(files, n);
	return ret;
}

/*
 * The checks across settings and files that serve and check-config both
 * run (neither database nor storage is touched). Every problem is printed
 * as "error: ..."; -1 when there was any.
 */
static int
check_settings(void)
{
	int ret = http_check_serving(opt_listen, opt_tls_cert, opt_tls_key);

	if (db_conninfo_check(opt_database) < 0)
		ret = -1;
	if (reg.auth_realm != NULL && check_auth() < 0)
		ret = -1;
	return ret;
}

/* SIGHUP: the settings marked reloadable (log_level) take effect, and the
 * TLS certificate and key are reread. */
static void
reload(struct http_server *srv)
{
	if (conf_reload(settings, NSETTINGS, conf_path, "REGISTRYD") < 0 ||
	    log_set_level(opt_log_level) < 0 ||
	    log_set_format(opt_log_format) < 0) {
		log_warnx("SIGHUP: configuration not reloaded");
	} else {
		log_info("SIGHUP: configuration reloaded");
	}
	(void)http_tls_reload(srv);
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
		.conn_memory = (size_t)opt_conn_memory,
		.header_timeout = (unsigned)opt_header_timeout,
		.max_connections = (unsigned)opt_max_conns,
		.max_per_address = (unsigned)opt_max_conns_addr,
		.trusted_proxies = &trusted_proxies,
		.route_names = route_names,
		.n_routes = ROUTE_COUNT,
	};
	struct http_server *srv, *msrv = NULL;
	uint64_t next_purge = 0;
	sigset_t set;
	int sig;

	if (check_settings() < 0)
		return 1;
	if (storage_init(opt_storage) < 0 || authz_init(opt_auth_keys) < 0)
		return 1;
	if (migrate_verify(opt_database) < 0)
		return 1;
	db_setup(opt_database, registry_stmts, Q_COUNT);
	if (auditlog_start(opt_audit_queue) < 0)
		return 1;
	metrics_init("berth", "registryd", route_names, ROUTE_COUNT);
	regmetrics_register();
	/* Workers inherit the mask, so signals reach only sigwait() here. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (*opt_metrics_listen &&
	    (msrv = metrics_listen_start(opt_metrics_listen, ROUTE_METRICS,
					 ROUTE_UNKNOWN)) == NULL) {
		auditlog_stop();
		return 1;
	}
	if ((srv = http_start(&hc, &registry_handlers, &reg)) == NULL) {
		http_stop(msrv);
		auditlog_stop();
		return 1;
	}
	log_info("registryd serving on %s%s, storage \"%s\", %s", opt_listen,
		 opt_tls_cert ? " (https)" : "", opt_storage,
		 reg.auth_realm ? "token auth on" : "no auth");
	for (;;) {
		/* Housekeeping runs between signals, at least every minute;
		 * every second while there is no key to verify tokens. */
		long purge_s = opt_upload_ttl < 60 ? (long)opt_upload_ttl : 60;
		struct timespec tick = {
			.tv_sec = authz_waiting() ? 1 : purge_s
		};

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			struct db *db;

			if (util_now_ns() >= next_purge &&
			    (db = db_thread()) != NULL) {
				upload_purge(db, opt_upload_ttl);
				next_purge = util_now_ns() +
					     (uint64_t)purge_s * 1000000000u;
			}
			authz_tick();
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
	auditlog_stop();	/* the workers are gone: flush what they queued */
	db_teardown();
	storage_release();
	authz_release();
	return 0;
}

static void
usage(void)
{
	printf("usage: registryd [-c file] [serve | migrate | check-config]\n"
	       "       registryd --version\n"
	       "settings (file keys; environment REGISTRYD_<KEY>):\n");
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
	const char *path = NULL, *cmd = "serve";
	int opt, ret;

	log_set_daemon("registryd");
	while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			version_print("registryd");
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind];
	conf_path = path;
	if (load_settings(path) < 0)
		return 1;
	if (strcmp(cmd, "serve") == 0)
		ret = cmd_serve();
	else if (strcmp(cmd, "migrate") == 0)
		ret = migrate_command(opt_database);
	else if (strcmp(cmd, "check-config") == 0)
		ret = check_settings() < 0 ? 1 : 0;
	else {
		usage();
		ret = 2;
	}
	util_list_free(reg.foreign_allow, reg.n_foreign_allow);
	util_list_free(reg.foreign_deny, reg.n_foreign_deny);
	netaddr_set_release(&trusted_proxies);
	conf_release(settings, NSETTINGS);
	return ret;
}
