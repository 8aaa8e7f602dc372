/*
 * Registry tokens (Docker token specification): JSON Web Tokens signed with
 * ES256 (default) or RS256, carrying an "access" claim of
 * {type, name, actions} entries. authd signs them; registryd verifies them
 * with configured public keys or keys fetched from authd's JWKS.
 *
 * Key ids follow the libtrust format Docker's tools use (the SHA-256 of the
 * DER SubjectPublicKeyInfo, first 240 bits, base32, in 12 groups of four
 * joined by ':'), so CNCF Distribution can trust authd's tokens too.
 */
#ifndef BERTH_JWT_H
#define BERTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct jwt_key;

/* A private key for signing, from a PEM file; NULL (logged) on failure. */
struct jwt_key *jwt_key_load_private(const char *pem_path);
/*
 * A key for verifying, from a PEM file holding a public key, a certificate
 * (then its chain is kept for the x5c header when it is also used to
 * sign) or a private key; NULL (logged) on failure.
 */
struct jwt_key *jwt_key_load_public(const char *pem_path);
/* Sets the certificate chain (PEM file) sent as x5c with tokens k signs. */
int jwt_key_set_chain(struct jwt_key *k, const char *pem_path) MUST_CHECK;
void jwt_key_free(struct jwt_key *k);
const char *jwt_key_kid(const struct jwt_key *k);
const char *jwt_key_alg(const struct jwt_key *k);	/* "ES256", "RS256" */

/* The public keys as a JWKS document {"keys":[...]}; caller frees. */
char *jwt_jwks_render(struct jwt_key *const *keys, int n);
/*
 * Parses a JWKS document into verification keys (EC P-256 and RSA; others
 * are skipped). Sets *keys (caller frees each and the array) and *n.
 */
int jwt_jwks_parse(const char *json, size_t len, struct jwt_key ***keys,
		   int *n) MUST_CHECK;

struct jwt_access {
	char *type;		/* "repository", "registry" */
	char *name;		/* "org/app", "catalog" */
	char **actions;		/* "pull", "push", "delete", "*" */
	int n_actions;
};

struct jwt_claims {
	char *iss, *sub, *aud, *jti;
	int64_t iat, nbf, exp;
	struct jwt_access *access;
	int n_access;
	/*
	 * Berth's private claim "berth": {"kind", "tid", "id"}, how sub
	 * logged in, for the audit log. kind is NULL when the claim is
	 * absent (then tid is NULL and id 0); tid is the access token's id
	 * (a uuid) or NULL; id is users.id or service_accounts.id, or 0.
	 */
	char *kind;		/* "password", "pat", "service", "refresh" */
	char *tid;
	int64_t id;
};

/* Signs claims with k; the header has alg, typ, kid and x5c when k has a
 * chain. Returns the compact token (caller frees) or NULL (logged). */
char *jwt_sign(const struct jwt_key *k, const struct jwt_claims *c);

enum jwt_verdict {
	JWT_OK = 0,
	JWT_MALFORMED,
	JWT_BAD_ALG,		/* not ES256/RS256, or not the key's */
	JWT_UNKNOWN_KID,
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,
	JWT_WRONG_AUDIENCE,
	JWT_WRONG_ISSUER,
};

/*
 * Verifies token against keys (matched by kid; with no kid, only when
 * exactly one key has the token's alg), the algorithm allow-list (never
 * "none", never HMAC), exp and nbf with leeway seconds around now, aud and
 * iss. On JWT_OK fills *out (release with jwt_claims_release); otherwise
 * *out is left empty.
 */
enum jwt_verdict jwt_verify(const char *token, struct jwt_key *const *keys,
			    int n, const char *issuer, const char *audience,
			    int64_t now, int leeway, struct jwt_claims *out);

/* A short lowercase reason for a verdict, for logs. */
const char *jwt_verdict_str(enum jwt_verdict v);

void jwt_claims_release(struct jwt_claims *c);

/* Encodes n bytes as unpadded base64url (RFC 7515); caller frees. */
char *jwt_b64url(const void *data, size_t n);

#endif
