/*
 * registryd's server-wide settings, filled by main.c from the settings
 * table before the server starts and read-only afterwards. Each module's
 * own declarations are in its header (route.h, sql.h, upload.h, ...).
 */
#ifndef BERTH_REGISTRYD_H
#define BERTH_REGISTRYD_H

#include <stdbool.h>
#include <stdint.h>

/* Settings every node needs at request time (read-only after start). */
struct registry {
	const char *storage_root;
	struct storage *storage;	/* where blob bytes live (storage.h) */
	/* Seconds a blob GET's presigned URL lives (307); 0: no redirects. */
	unsigned redirect_expiry;
	char **foreign_allow;	/* URL prefixes a foreign layer may use */
	int n_foreign_allow;
	char **foreign_deny;
	int n_foreign_deny;
	/* Token auth; off when auth_realm is NULL. */
	const char *auth_realm;		/* authd's /token URL, for challenges */
	const char *auth_service;	/* expected "aud" */
	const char *auth_issuer;	/* expected "iss" */
	const char *auth_jwks_url;	/* authd's JWKS, fetched and cached */
	const char *auth_ca_file;	/* CAs for an https JWKS; NULL: system */
	int auth_leeway;		/* seconds of clock skew allowed */
	bool audit_pulls;		/* audit manifest GETs too */
	/* Uploads (upload.c); 0 means no limit. */
	uint64_t max_blob_size;		/* bytes */
	long long max_uploads_per_user;	/* open sessions per subject */
	long long max_uploads_per_repo;	/* open sessions per repository */
	uint64_t storage_min_free;	/* bytes; less: /readyz says 503 */
};

extern struct registry reg;

#endif
