/*
 * Registry tokens (Docker token specification): JSON Web Tokens signed with
 * ES256 (default) or RS256, carrying an "access" claim of
 * {type, name, actions} entries. authd signs them; registryd verifies them
 * with configured public keys or keys fetched from authd's JWKS. The keys
 * themselves (PEM files, key ids, JWKS documents) are lib/jwk.h's, which
 * this header includes: a token is signed and verified with them.
 */
#ifndef BERTH_JWT_H
#define BERTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "jwk.h"
#include "util.h"

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

#endif
