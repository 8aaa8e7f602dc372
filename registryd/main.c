/*
 * registryd: a stateless node of the Berth registry (OCI Distribution
 * v1.1). Metadata lives in PostgreSQL, blob bytes in shared storage, so
 * any node serves any request, the next chunk of another node's upload
 * included.
 *
 * DESIGN: libmicrohttpd's thread pool; each worker thread owns one
 * PostgreSQL connection (lib/db.c), so request handling takes no locks.
 * The main thread only waits for signals (lib/daemon.c): SIGTERM/SIGINT
 * stop the server gracefully, SIGHUP rereads the reloadable settings and
 * the TLS files. Tick threads do the housekeeping: the purge of idle
 * uploads, scheduled retention runs (retention.c) and the garbage
 * collector (gc.c), each with its own connection, and the JWKS refresh.
 * Usage: registryd [-c file] [serve | migrate | check-config |
 *        gc [sweep | dry-run | status] | quota-recompute | quota-check]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "jwk.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "netaddr.h"
#include "auditlog.h"
#include "authz.h"
#include "gc.h"
#include "quota.h"
#include "registryd.h"
#include "regmetrics.h"
#include "retention.h"
#include "route.h"
#include "sql.h"
#include "storage.h"
#include "upload.h"
#include "uploadlock.h"

/* Settings without a home in reg or http_cfg. */
static const char *opt_database, *opt_auth_keys, *opt_foreign_allow;
static const char *opt_foreign_deny, *opt_metrics_listen;
static const char *opt_trusted_proxies;
static long long opt_upload_ttl, opt_audit_queue, opt_retention_interval;
static long long opt_gc_grace, opt_gc_interval, opt_gc_batch;
static long long opt_gc_sweep_interval;
static bool opt_auth_realm_insecure, opt_gc_enabled, opt_s3_redirect;
static int opt_storage_driver;
static const char *const storage_drivers[] = { "filesystem", "s3", NULL };
static const char *const s3_addressings[] = { "auto", "path", "virtual",
					      NULL };
static long long opt_s3_redirect_expiry;
static struct storage_s3_config s3_cfg = {
	.lock = uploadlock_take,
	.unlock = uploadlock_drop,
};
static struct gc_config gc_cfg;
static char gc_node[300];
static struct netaddr_set trusted_proxies;
static struct http_config http_cfg = {
	.trusted_proxies = &trusted_proxies,
	.route_names = route_names,
	.n_routes = ROUTE_COUNT,
};

static const struct conf_key settings[] = {
	{ "listen", CONF_STR, &http_cfg.listen, "127.0.0.1:5000", 0, 0, false,
	  "address and port to serve on" },
	{ "database", CONF_STR, &opt_database, "", 0, 0, false,
	  "libpq connection string (multi-host for failover)" },
	{ "storage_driver", CONF_ENUM,
	  CONF_ENUM_VAR(&opt_storage_driver, storage_drivers), "filesystem",
	  0, 0, false, "where blob bytes live: filesystem (storage) or s3" },
	{ "storage", CONF_STR, &reg.storage_root, "./var/storage", 0, 0, false,
	  "blob storage directory, shared by every node" },
	{ "s3_endpoint", CONF_STR, &s3_cfg.endpoint, "", 0, 0, false,
	  "S3 endpoint URL, like https://s3.eu-west-1.amazonaws.com" },
	{ "s3_region", CONF_STR, &s3_cfg.region, "", 0, 0, false,
	  "S3 region; empty: AWS_REGION, else us-east-1" },
	{ "s3_bucket", CONF_STR, &s3_cfg.bucket, "", 0, 0, false,
	  "the bucket every node shares" },
	{ "s3_prefix", CONF_STR, &s3_cfg.prefix, "", 0, 0, false,
	  "prefix of every key Berth writes, like berth/" },
	{ "s3_access_key", CONF_STR, &s3_cfg.access_key, "", 0, 0, false,
	  "access key id; empty: AWS_ACCESS_KEY_ID" },
	{ "s3_secret_key", CONF_STR, &s3_cfg.secret_key, "", 0, 0, false,
	  "secret access key; empty: AWS_SECRET_ACCESS_KEY" },
	{ "s3_session_token", CONF_STR, &s3_cfg.session_token, "", 0, 0,
	  false, "session token; empty: AWS_SESSION_TOKEN" },
	{ "s3_addressing", CONF_ENUM,
	  CONF_ENUM_VAR(&s3_cfg.addressing, s3_addressings), "auto", 0, 0,
	  false, "bucket in the host name (virtual) or the path (path); auto: "
	  "virtual on amazonaws.com" },
	{ "s3_ca_file", CONF_STR, &s3_cfg.ca_file, "", 0, 0, false,
	  "PEM CA bundle to check an https s3_endpoint with" },
	{ "s3_part_size", CONF_SIZE, &s3_cfg.part_size, "8388608", 5242880,
	  5368709120LL, false,
	  "bytes of each multipart upload part (memory per upload)" },
	{ "s3_timeout", CONF_UINT32, &s3_cfg.timeout, "60", 1, 3600, false,
	  "seconds one request to S3 may take" },
	{ "s3_retries", CONF_UINT32, &s3_cfg.retries, "5", 0, 20, false,
	  "retries after a 5xx, SlowDown or network error, with backoff" },
	{ "s3_rate", CONF_UINT32, &s3_cfg.rate, "0", 0, 1000000, false,
	  "requests a second this node sends to S3; 0: no cap" },
	{ "s3_redirect", CONF_BOOL, &opt_s3_redirect, "false", 0, 0, false,
	  "answer blob GETs with a 307 to a presigned URL of the bucket" },
	{ "s3_redirect_expiry", CONF_INT, &opt_s3_redirect_expiry, "1200", 1,
	  604800, false, "seconds a presigned URL is valid" },
	{ "threads", CONF_INT32, &http_cfg.threads, "8", 1, 256, false,
	  "HTTP worker threads, each with one database connection" },
	{ "idle_timeout", CONF_UINT32, &http_cfg.idle_timeout,
	  "120", 1, 86400, false,
	  "seconds a connection may stay idle" },
	{ "conn_memory", CONF_SIZE, &http_cfg.conn_memory, "524288", 65536,
	  16777216, false, "per-connection buffer bytes" },
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
	{ "auth_realm", CONF_STR, &reg.auth_realm, "", 0, 0, false,
	  "authd's token URL; turns token auth on" },
	{ "auth_service", CONF_STR, &reg.auth_service, "berth-registry", 0,
	  0, false, "this registry's service name (the tokens' audience)" },
	{ "auth_issuer", CONF_STR, &reg.auth_issuer, "berth-authd", 0, 0,
	  false, "the issuer tokens must name" },
	{ "auth_keys", CONF_STR, &opt_auth_keys, "", 0, 0, false,
	  "comma-separated PEM public keys or certificates to verify with" },
	{ "auth_jwks_url", CONF_STR, &reg.auth_jwks_url, "", 0, 0, false,
	  "authd's JWKS URL, fetched at start and on an unknown key id" },
	{ "auth_leeway", CONF_INT32, &reg.auth_leeway, "30", 0, 600, false,
	  "seconds of clock skew allowed on token times" },
	{ "auth_ca_file", CONF_STR, &reg.auth_ca_file, "", 0, 0, false,
	  "PEM CA bundle to check an https auth_jwks_url with" },
	{ "auth_realm_insecure", CONF_BOOL, &opt_auth_realm_insecure,
	  "false", 0, 0, false,
	  "allow a plain http auth_realm on an https registry" },
	{ "upload_ttl", CONF_INT, &opt_upload_ttl, "3600", 1, 31536000,
	  false, "seconds an idle upload session lives before it is purged" },
	DAEMON_LOG_SETTINGS,
	{ "trusted_proxies", CONF_STR, &opt_trusted_proxies, "", 0, 0, false,
	  "comma-separated CIDRs of proxies trusted to name the client" },
	{ "tls_cert", CONF_STR, &http_cfg.tls_cert, NULL, 0, 0, false,
	  "PEM certificate chain; enables HTTPS with tls_key" },
	{ "tls_key", CONF_STR, &http_cfg.tls_key, NULL, 0, 0, false,
	  "PEM private key" },
	{ "foreign_allow", CONF_STR, &opt_foreign_allow, "https://", 0, 0,
	  false, "comma-separated URL prefixes foreign layers may use" },
	{ "foreign_deny", CONF_STR, &opt_foreign_deny, "", 0, 0, false,
	  "comma-separated URL prefixes foreign layers may not use" },
	{ "metrics_listen", CONF_STR, &opt_metrics_listen, "", 0, 0, false,
	  "host:port serving /metrics (plain HTTP) instead of listen" },
	{ "audit_pulls", CONF_BOOL, &reg.audit_pulls, "false", 0, 0, false,
	  "record manifest pulls in the audit log, not only changes" },
	{ "audit_queue", CONF_INT, &opt_audit_queue, "10000", 0, 10000000,
	  false, "audit records queued for the writer; 0: no registry audit" },
	{ "max_blob_size", CONF_UINT64, &reg.max_blob_size, "34359738368", 0,
	  4611686018427387904LL, false,
	  "largest blob accepted, in bytes (413 past it); 0: no limit" },
	{ "max_uploads_per_user", CONF_INT, &reg.max_uploads_per_user, "100",
	  0, 1000000, false,
	  "open upload sessions per user (429 past it); 0: no limit" },
	{ "max_uploads_per_repo", CONF_INT, &reg.max_uploads_per_repo, "1000",
	  0, 1000000, false,
	  "open upload sessions per repository (429 past it); 0: no limit" },
	{ "gc", CONF_BOOL, &opt_gc_enabled, "true", 0, 0, false,
	  "collect garbage on this node (false: leave it to other nodes or "
	  "to `registryd gc`)" },
	{ "gc_grace", CONF_INT, &opt_gc_grace, "86400", 0, 31536000, false,
	  "seconds an untagged manifest or unreferenced blob link is kept "
	  "before it is collected" },
	{ "gc_interval", CONF_INT, &opt_gc_interval, "10", 1, 86400, false,
	  "seconds between collections when the last found nothing to do" },
	{ "gc_batch", CONF_INT, &opt_gc_batch, "1000", 1, 100000, false,
	  "reviews (or blob removals) per collector transaction" },
	{ "gc_sweep_interval", CONF_INT, &opt_gc_sweep_interval, "86400", 0,
	  31536000, false,
	  "seconds between sweeps of storage for blob files no row stands "
	  "on; 0: never" },
	{ "storage_min_free", CONF_UINT64, &reg.storage_min_free, "16777216", 0,
	  4611686018427387904LL, false,
	  "free storage bytes below which /readyz answers 503" },
	{ "retention_interval", CONF_INT, &opt_retention_interval, "86400", 0,
	  31536000, false,
	  "seconds between scheduled runs of each retention policy; 0: this "
	  "node runs none" },
};
#define NSETTINGS ((int)ARRAY_SIZE(settings))

/* After the settings load: what they imply. */
/* The collector's settings, and its name in gc_nodes: host/listen. */
static void
configure_gc(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(gc_node, sizeof(gc_node), "%s/%s", host, http_cfg.listen);
	gc_cfg = (struct gc_config){ opt_gc_grace, (int)opt_gc_batch,
				     gc_node };
}

static int
configure(void)
{
	if (netaddr_set_parse(&trusted_proxies, opt_trusted_proxies,
			      "trusted_proxies") < 0)
		return -1;
	conf_empty_is_unset(&http_cfg.tls_cert);
	conf_empty_is_unset(&http_cfg.tls_key);
	conf_empty_is_unset(&reg.auth_realm);
	conf_empty_is_unset(&reg.auth_jwks_url);
	conf_empty_is_unset(&reg.auth_ca_file);
	reg.n_foreign_allow = util_list_split(opt_foreign_allow,
					      &reg.foreign_allow);
	reg.n_foreign_deny = util_list_split(opt_foreign_deny,
					     &reg.foreign_deny);
	configure_gc();
	return 0;
}

static void
release(void)
{
	util_list_free(reg.foreign_allow, reg.n_foreign_allow);
	util_list_free(reg.foreign_deny, reg.n_foreign_deny);
	netaddr_set_release(&trusted_proxies);
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
	else if (http_cfg.tls_cert != NULL &&
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

/* The S3 settings' checks: what must be set once s3 is the driver. */
static int
check_s3(void)
{
	int ret = 0;

	if (s3_cfg.bucket == NULL)
		ret = conf_error("storage_driver is s3 but s3_bucket is not set");
	if (s3_cfg.endpoint == NULL)
		ret = conf_error("storage_driver is s3 but s3_endpoint is not "
				 "set");
	else if (!has_prefix(s3_cfg.endpoint, "https://") &&
		 !has_prefix(s3_cfg.endpoint, "http://"))
		ret = conf_error("s3_endpoint \"%s\" is not an http(s) URL",
				 s3_cfg.endpoint);
	return ret;
}

/*
 * The checks across settings and files that serve and check-config both
 * run (neither database nor storage is touched). Every problem is printed
 * as "error: ..."; -1 when there was any.
 */
/* Opens the configured storage into reg.storage; -1 (logged) on failure. */
static int
open_storage(void)
{
	char err[512];

	if (opt_storage_driver == 0) {
		reg.storage = storage_fs_new(reg.storage_root);
		return reg.storage ? 0 : -1;
	}
	reg.redirect_expiry = opt_s3_redirect ? (unsigned)opt_s3_redirect_expiry
					      : 0;
	if ((reg.storage = storage_s3_new(&s3_cfg, err, sizeof(err))) == NULL) {
		log_warnx("S3 storage: %s", err);
		return -1;
	}
	return 0;
}

static int
check_settings(void)
{
	int ret = http_check_serving(http_cfg.listen, http_cfg.tls_cert,
				     http_cfg.tls_key);

	if (db_conninfo_check(opt_database) < 0)
		ret = -1;
	if (reg.auth_realm != NULL && check_auth() < 0)
		ret = -1;
	if (opt_storage_driver == 1 && check_s3() < 0)
		ret = -1;
	return ret;
}

static struct http_server *srv, *msrv;

/* SIGHUP: the reloadable settings (the log's) took effect in lib/daemon.c;
 * the TLS certificate and key are reread whether they parsed or not. */
static void
reload(bool settings_ok)
{
	(void)settings_ok;
	(void)http_tls_reload(srv);
}

static int
start(void)
{
	db_setup(opt_database, registry_stmts, Q_COUNT);
	if (auditlog_start(opt_audit_queue) < 0)
		return -1;
	metrics_init("berth", "registryd", route_names, ROUTE_COUNT);
	regmetrics_register();
	gc_metrics_register();
	if (*opt_metrics_listen &&
	    (msrv = metrics_listen_start(opt_metrics_listen, ROUTE_METRICS,
					 ROUTE_UNKNOWN)) == NULL) {
		auditlog_stop();
		return -1;
	}
	if ((srv = http_start(&http_cfg, &registry_handlers, &reg)) == NULL) {
		http_stop(msrv);
		auditlog_stop();
		return -1;
	}
	log_info("registryd serving on %s%s, storage %s \"%s\", %s",
		 http_cfg.listen, http_cfg.tls_cert ? " (https)" : "",
		 storage_driver(reg.storage),
		 opt_storage_driver == 0 ? reg.storage_root : s3_cfg.bucket,
		 reg.auth_realm ? "token auth on" : "no auth");
	return 0;
}

static void
stop(void)
{
	http_stop(srv);
	http_stop(msrv);
	auditlog_stop();	/* the workers are gone: flush their records */
	db_teardown();
	storage_free(reg.storage);
	reg.storage = NULL;
	authz_release();
}

static void
tick_purge(struct db *db)
{
	upload_purge(db, opt_upload_ttl);
}

/* A collection, then its record; the next starts gc_interval later. */
/* Whether a sweep is due: the first gc_sweep_interval after the start,
 * then every gc_sweep_interval (the collector's thread only). */
static bool
sweep_due(void)
{
	static uint64_t next;
	uint64_t now = util_now_ns();
	uint64_t every = (uint64_t)opt_gc_sweep_interval * 1000000000u;

	if (opt_gc_sweep_interval == 0)
		return false;
	if (next == 0)
		next = now + every;
	if (now < next)
		return false;
	next = now + every;
	return true;
}

static void
tick_gc(struct db *db)
{
	struct gc_totals t = { 0 };

	if (sweep_due() && gc_sweep(db, &gc_cfg, &t) < 0)
		db_rollback(db);
	if (gc_collect(db, &gc_cfg, &t, daemon_stopping) < 0)
		db_rollback(db);
	gc_record(db, &gc_cfg, &t);
	if (t.manifests || t.links || t.blobs || t.removed)
		log_info("gc: deleted %lld manifests, %lld blob links, %lld "
			 "blobs; freed %lld bytes",
			 (long long)t.manifests, (long long)t.links,
			 (long long)t.blobs, (long long)t.bytes);
}

static void
tick_authz(struct db *db)
{
	(void)db;
	authz_tick();	/* throttles itself: a fetch at most every few s */
}

static void
tick_retention(struct db *db)
{
	retention_tick(db, opt_retention_interval);
}

static int
cmd_serve(char **args)
{
	/* Idle uploads are purged at least every minute; the JWKS check
	 * runs every second (it fetches only when its keys are old, or
	 * while there is none to verify tokens with). */
	struct daemon_tick ticks[] = {
		{ "upload-purge", tick_purge,
		  1000u * (unsigned)(opt_upload_ttl < 60 ? opt_upload_ttl : 60),
		  true, NULL },
		{ "jwks-refresh", tick_authz, 1000, false, NULL },
		/* Due retention policies are looked for at least every
		 * minute, every retention_interval when that is shorter. */
		{ "retention", tick_retention,
		  1000u * (unsigned)(opt_retention_interval > 0 &&
					     opt_retention_interval < 60
				     ? opt_retention_interval
				     : 60),
		  true, NULL },
		{ "gc", tick_gc, 1000u * (unsigned)opt_gc_interval, true,
		  NULL },
	};
	struct daemon_server hooks = {
		.start = start,
		.reload = reload,
		.stop = stop,
		.ticks = ticks,
		/* The collector's tick is the last: off with gc = false. */
		.n_ticks = (int)ARRAY_SIZE(ticks) - (opt_gc_enabled ? 0 : 1),
	};

	(void)args;
	if (check_settings() < 0)
		return 1;
	if (open_storage() < 0 || authz_init(opt_auth_keys) < 0)
		return 1;
	if (migrate_verify(opt_database) < 0)
		return 1;
	return daemon_serve(&hooks);
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

/* Prints a JSON document and frees it; the exit code. */
static int
print_json(char *doc)
{
	if (doc == NULL)
		return 1;
	printf("%s\n", doc);
	free(doc);
	return 0;
}

/* `registryd gc`: a collection in the foreground, what it did on stdout;
 * `gc sweep`: a sweep of storage first; `gc dry-run`: what one would
 * remove; `gc status`: the queues. */
static int
cmd_gc(char **args)
{
	const char *what = args[0] ? args[0] : "run";
	bool collect = !strcmp(what, "run") || !strcmp(what, "sweep");
	struct gc_totals t = { 0 };
	struct db *db;
	int ret = 1;

	if (!collect && strcmp(what, "dry-run") && strcmp(what, "status")) {
		fprintf(stderr, "registryd: gc %s: expected run, sweep, "
			"dry-run or status\n", what);
		return 2;
	}
	if (migrate_verify(opt_database) < 0 ||
	    (collect && open_storage() < 0))
		return 1;
	db_setup(opt_database, registry_stmts, Q_COUNT);
	if ((db = db_thread()) == NULL)
		goto out;
	if (!collect) {
		ret = print_json(gc_report(db, &gc_cfg, !strcmp(what,
								"dry-run")));
		goto out;
	}
	if (!strcmp(what, "sweep") && gc_sweep(db, &gc_cfg, &t) < 0)
		goto out;
	ret = gc_collect(db, &gc_cfg, &t, NULL) < 0 ? 1 : 0;
	gc_record(db, &gc_cfg, &t);
	if (print_json(gc_totals_json(&t)) != 0)
		ret = 1;
out:
	db_teardown();
	storage_free(reg.storage);
	reg.storage = NULL;
	return ret;
}

static int
cmd_quota_recompute(char **args)
{
	(void)args;
	return quota_recompute_command(opt_database, false);
}

static int
cmd_quota_check(char **args)
{
	(void)args;
	return quota_recompute_command(opt_database, true);
}

static const struct daemon_command commands[] = {
	{ "serve", NULL, 0, cmd_serve, "serve the registry API" },
	{ "migrate", NULL, 0, cmd_migrate,
	  "apply the pending schema migrations, then exit" },
	{ "check-config", NULL, 0, cmd_check_config,
	  "check the settings and the files they name, then exit" },
	{ "gc", "[run|sweep|dry-run|status]", 0, cmd_gc,
	  "collect garbage now (sweep: storage's files with no row too; or "
	  "report what would go, or the queues)" },
	{ "quota-recompute", NULL, 0, cmd_quota_recompute,
	  "recompute namespaces' storage usage, fix what differs, then exit" },
	{ "quota-check", NULL, 0, cmd_quota_check,
	  "compare tracked and recomputed storage usage (exit 3 if they "
	  "differ)" },
};

static const struct daemon registryd = {
	.name = "registryd",
	.env_prefix = "REGISTRYD",
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
	return daemon_main(&registryd, argc, argv);
}
