/*
 * registryd: a stateless node of the Berth registry (OCI Distribution
 * v1.1). Metadata lives in PostgreSQL, blob bytes in shared storage, so
 * any node serves any request, the next chunk of another node's upload
 * included.
 *
 * DESIGN: libmicrohttpd's thread pool; each worker thread owns one
 * PostgreSQL connection (lib/db.c), so request handling takes no locks.
 * The main thread only waits for signals: SIGTERM/SIGINT stop the server
 * gracefully. Usage: registryd [-c file] [serve | migrate | check-config]
 */
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "registryd.h"
#include "storage.h"



static char *opt_listen, *opt_database, *opt_storage, *opt_log_level;
static char *opt_tls_cert, *opt_tls_key, *opt_foreign_allow, *opt_foreign_deny;
static long long opt_threads, opt_idle_timeout, opt_conn_memory;
static long long opt_upload_ttl, opt_auth_leeway, opt_audit_queue;
static bool opt_audit_pulls;
static char *opt_auth_realm, *opt_auth_service, *opt_auth_issuer;
static char *opt_auth_keys, *opt_auth_jwks_url;
static const char *conf_path;

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
	{ "upload_ttl", CONF_INT, &opt_upload_ttl, "86400", 1, 31536000,
	  false, "seconds an idle upload session lives before it is purged" },
	{ "log_level", CONF_STR, &opt_log_level, "info", 0, 0, true,
	  "error, warn, info or debug" },
	{ "tls_cert", CONF_STR, &opt_tls_cert, NULL, 0, 0, false,
	  "PEM certificate chain; enables HTTPS with tls_key" },
	{ "tls_key", CONF_STR, &opt_tls_key, NULL, 0, 0, false,
	  "PEM private key" },
	{ "foreign_allow", CONF_STR, &opt_foreign_allow, "https://", 0, 0,
	  false, "comma-separated URL prefixes foreign layers may use" },
	{ "foreign_deny", CONF_STR, &opt_foreign_deny, "", 0, 0, false,
	  "comma-separated URL prefixes foreign layers may not use" },
	{ "audit_pulls", CONF_BOOL, &opt_audit_pulls, "false", 0, 0, false,
	  "record manifest pulls in the audit log, not only changes" },
	{ "audit_queue", CONF_INT, &opt_audit_queue, "10000", 0, 10000000,
	  false, "audit records queued for the writer; 0: no registry audit" },
};
#define NSETTINGS ((int)ARRAY_SIZE(settings))

static int
load_settings(const char *path)
{
	if (conf_load(settings, NSETTINGS, path, "REGISTRYD") < 0)
		return -1;
	if (log_set_level(opt_log_level) < 0)
		return -1;
	conf_empty_is_unset(&opt_tls_cert);
	conf_empty_is_unset(&opt_tls_key);
	reg.storage_root = opt_storage;
	reg.auth_realm = *opt_auth_realm ? opt_auth_realm : NULL;
	reg.auth_service = opt_auth_service;
	reg.auth_issuer = opt_auth_issuer;
	reg.auth_jwks_url = *opt_auth_jwks_url ? opt_auth_jwks_url : NULL;
	reg.auth_leeway = (int)opt_auth_leeway;
	reg.audit_pulls = opt_audit_pulls;
	reg.n_foreign_allow = util_list_split(opt_foreign_allow, &reg.foreign_allow);
	reg.n_foreign_deny = util_list_split(opt_foreign_deny, &reg.foreign_deny);
	return 0;
}

/* SIGHUP: the settings marked reloadable (log_level) take effect. */
static void
reload(void)
{
	if (conf_reload(settings, NSETTINGS, conf_path, "REGISTRYD") < 0 ||
	    log_set_level(opt_log_level) < 0) {
		log_warnx("SIGHUP: configuration not reloaded");
		return;
	}
	log_info("SIGHUP: configuration reloaded");
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
	};
	struct http_server *srv;
	sigset_t set;
	int sig;

	if (storage_init(opt_storage) < 0 || authz_init(opt_auth_keys) < 0)
		return 1;
	if (migrate_verify(opt_database) < 0)
		return 1;
	db_setup(opt_database, registry_stmts, Q_COUNT);
	if (auditlog_start(opt_audit_queue) < 0)
		return 1;
	metrics_init("berth", route_names, ROUTE_COUNT);
	/* Workers inherit the mask, so signals reach only sigwait() here. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((srv = http_start(&hc, &registry_handlers, &reg)) == NULL) {
		auditlog_stop();
		return 1;
	}
	log_info("registryd serving on %s%s, storage \"%s\", %s", opt_listen,
		 opt_tls_cert ? " (https)" : "", opt_storage,
		 reg.auth_realm ? "token auth on" : "no auth");
	for (;;) {
		/* Housekeeping runs between signals, at least every minute. */
		struct timespec tick = {
			.tv_sec = opt_upload_ttl < 60 ? opt_upload_ttl : 60
		};

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			struct db *db = db_thread();
			if (db != NULL)
				upload_purge(db, opt_upload_ttl);
			authz_tick();
			continue;
		}
		if (sig == SIGHUP) {
			reload();
			continue;
		}
		break;
	}
	log_info("stopping on signal %d", sig);
	http_stop(srv);
	auditlog_stop();	/* the workers are gone: flush their records */
	db_teardown();
	storage_release();
	authz_release();
	return 0;
}

static void
usage(void)
{
	printf("usage: registryd [-c file] [serve | migrate | check-config]\n"
	       "settings (file keys; environment REGISTRYD_<KEY>):\n");
	conf_usage(settings, NSETTINGS);
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *cmd = "serve";
	int opt, ret;

	while ((opt = getopt(argc, argv, "c:h")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage();
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
		ret = 0;
	else {
		usage();
		ret = 2;
	}
	util_list_free(reg.foreign_allow, reg.n_foreign_allow);
	util_list_free(reg.foreign_deny, reg.n_foreign_deny);
	conf_release(settings, NSETTINGS);
	return ret;
}
