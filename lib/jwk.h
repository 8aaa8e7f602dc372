/*
 * Keys for registry tokens: the private key authd signs with, the public
 * keys registryd verifies with, from PEM files (a key, a certificate and
 * its chain) or from a JWKS document (RFC 7517), and the JWKS authd
 * publishes. lib/jwt.h signs and verifies tokens with them.
 *
 * Key ids follow the libtrust format Docker's tools use (the SHA-256 of the
 * DER SubjectPublicKeyInfo, first 240 bits, base32, in 12 groups of four
 * joined by ':'), so CNCF Distribution can trust authd's tokens too.
 *
 * The public names kept their jwt_ prefix through the split from jwt.c
 * (jwt_key_*, jwt_jwks_*, jwt_b64url); what only lib/jwt.c uses is jwk_*.
 */
#ifndef BERTH_JWK_H
#define BERTH_JWK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

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

/* Encodes n bytes as unpadded base64url (RFC 7515); caller frees. */
char *jwt_b64url(const void *data, size_t n);

/* ---- for lib/jwt.c ------------------------------------------------------- */

struct json_t;

enum jwk_type { JWK_EC, JWK_RSA };	/* ES256 (P-256), RS256 */

#define JWK_EC_COORD 32			/* bytes in a P-256 coordinate */

/* The key's OpenSSL key (k keeps it), its type, whether it can sign. */
EVP_PKEY *jwk_pkey(const struct jwt_key *k);
enum jwk_type jwk_type(const struct jwt_key *k);
bool jwk_has_private(const struct jwt_key *k);
/* The x5c chain (base64 DER, leaf first; k keeps it): sets *x5c, returns
 * how many (0: none). */
int jwk_chain(const struct jwt_key *k, const char *const **x5c);

/* The reason for the last OpenSSL error, which it then clears. */
const char *jwk_ssl_error(void);

/*
 * Decodes n characters of unpadded base64url into *out (caller frees, even
 * when *outlen is 0). Refuses any other character, a length no encoding
 * has, and nonzero unused low bits, so that each byte string has exactly
 * one accepted spelling: -1.
 */
int jwk_b64url_decode(const char *in, size_t n, unsigned char **out,
		      size_t *outlen) MUST_CHECK;
/* The member key of object o, which must be a string when present: sets
 * *out (NULL when absent, o keeps it); -1 when it is not a string. */
int jwk_member_string(const struct json_t *o, const char *key,
		      const char **out) MUST_CHECK;

#endif
