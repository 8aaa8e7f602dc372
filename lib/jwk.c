/*
 * Keys for registry tokens (see jwk.h), on OpenSSL and jansson directly:
 * PEM files, libtrust key ids, certificate chains and JWKS documents. A
 * key is rebuilt from its numbers, so its kid does not depend on how its
 * PEM file spelled it; a JWKS is parsed strictly (bounded input, canonical
 * unpadded base64url, no duplicate keys) and keys of other kinds skipped.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jwk.h"
#include "log.h"
#include "util.h"

#define JWKS_MAX (256 * 1024)	/* longest JWKS document parsed */
#define JWKS_KEYS_MAX 64
#define KID_MAX 256		/* longest kid taken from a JWKS */
#define CHAIN_MAX 8		/* certificates in an x5c chain */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192	/* bounds the cost of one verification */
#define KID_LEN 59		/* 48 base32 characters and 11 colons */
#define EC_COORD JWK_EC_COORD

static const char *const alg_names[] = { [JWK_EC] = "ES256",
					 [JWK_RSA] = "RS256" };

/*
 * pkey is an EC P-256 key or an RSA key of RSA_MIN_BITS to RSA_MAX_BITS;
 * it holds the private half exactly when has_private. kid is never NULL.
 * x5c holds n_x5c base64 DER certificates, leaf first.
 */
struct jwt_key {
	EVP_PKEY *pkey;
	enum jwk_type type;
	bool has_private;
	char *kid;
	char **x5c;
	int n_x5c;
};

const char *
jwk_ssl_error(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/* ---- encodings --------------------------------------------------------- */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
jwt_b64url(const void *data, size_t n)
{
	const unsigned char *in = data;
	char *out = xmalloc(n / 3 * 4 + 4 + 1);
	size_t o = 0, i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes n characters of unpadded base64url into *out (caller frees, even
 * when *outlen is 0). Refuses any other character, a length no encoding
 * has, and nonzero unused low bits, so that each byte string has exactly
 * one accepted spelling and a token cannot be altered without breaking
 * its signature.
 */
int
jwk_b64url_decode(const char *in, size_t n, unsigned char **out,
		  size_t *outlen)
{
	unsigned char *buf;
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0, v;

	if (n % 4 == 1)
		return -1;
	buf = xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		if ((v = b64url_value((unsigned char)in[i])) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		goto bad;
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}

/* Decodes base64url that must be exactly n bytes long. */
static int
b64url_decode_exact(const char *in, unsigned char *out, size_t n)
{
	unsigned char *buf;
	size_t len;
	int ret = -1;

	if (jwk_b64url_decode(in, strlen(in), &buf, &len) < 0)
		return -1;
	if (len == n) {
		memcpy(out, buf, n);
		ret = 0;
	}
	free(buf);
	return ret;
}

/*
 * The libtrust key id of a DER SubjectPublicKeyInfo: its SHA-256, first
 * 30 bytes, base32 (RFC 4648, 48 characters, no padding), in groups of
 * four joined by ':'. CNCF Distribution looks trusted keys up by this.
 */
static void
libtrust_kid(const unsigned char *der, size_t n, char out[KID_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char md[EVP_MAX_MD_SIZE];
	char b32[48];
	size_t o = 0;

	if (EVP_Digest(der, n, md, NULL, EVP_sha256(), NULL) != 1)
		BUG("SHA-256 failed: %s", jwk_ssl_error());
	for (size_t i = 0; i < 30; i += 5) {
		uint64_t v = 0;

		for (size_t j = 0; j < 5; j++)
			v = v << 8 | md[i + j];
		for (int j = 7; j >= 0; j--)
			b32[o++] = alphabet[v >> (j * 5) & 31];
	}
	o = 0;
	for (size_t i = 0; i < sizeof(b32); i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ':';
		out[o++] = b32[i];
	}
	out[o] = '\0';
}

/* ---- keys -------------------------------------------------------------- */

/* An EC P-256 public key from its coordinates; NULL if not on the curve. */
static EVP_PKEY *
ec_from_xy(const unsigned char xy[2 * EC_COORD])
{
	char group[] = "prime256v1", encoding[] = "named_curve",
	     format[] = "uncompressed";
	unsigned char point[1 + 2 * EC_COORD];
	OSSL_PARAM params[5];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	point[0] = 0x04;
	memcpy(point + 1, xy, 2 * EC_COORD);
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_EC_ENCODING, encoding, 0);
	params[2] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, format, 0);
	params[3] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[4] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return pkey;
}

/* An RSA public key from its modulus and exponent; NULL on failure. */
static EVP_PKEY *
rsa_from_ne(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;

	if (bld == NULL || ctx == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return pkey;
}

/* The affine coordinates of an EC key, each padded to 32 bytes. */
static int
ec_coords(const EVP_PKEY *pkey, unsigned char xy[2 * EC_COORD])
{
	BIGNUM *x = NULL, *y = NULL;
	int ret = -1;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	    BN_bn2binpad(x, xy, EC_COORD) == EC_COORD &&
	    BN_bn2binpad(y, xy + EC_COORD, EC_COORD) == EC_COORD)
		ret = 0;
	BN_free(x);
	BN_free(y);
	ERR_clear_error();
	return ret;
}

/*
 * Whether n and e can be an RSA public key: n odd, and e odd, above 1
 * (e = 1 would make any message its own signature) and below 2^31, as Go's
 * crypto/rsa requires. OpenSSL's own public key check also runs a
 * randomised primality test on n, which is costly and can give different
 * answers for the same bad modulus, so it is not used.
 */
static bool
rsa_numbers_ok(const BIGNUM *n, const BIGNUM *e)
{
	return BN_is_odd(n) && BN_is_odd(e) && !BN_is_one(e) &&
	       BN_num_bits(e) <= 31;
}

/* The public half of pkey, rebuilt from its numbers; NULL on failure. */
static EVP_PKEY *
public_copy(const EVP_PKEY *pkey, enum jwk_type type)
{
	unsigned char xy[2 * EC_COORD];
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *pub = NULL;

	if (type == JWK_EC) {
		if (ec_coords(pkey, xy) == 0)
			pub = ec_from_xy(xy);
		return pub;
	}
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
	    rsa_numbers_ok(n, e))
		pub = rsa_from_ne(n, e);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return pub;
}

/* Sets *type for a key we sign with; -1 (logged) for any other key. */
static int
key_type_of(const EVP_PKEY *pkey, const char *what, enum jwk_type *type)
{
	char group[64];
	size_t len;
	int bits;

	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group),
					    &len) != 1 ||
		    strcmp(group, "prime256v1") != 0) {
			ERR_clear_error();
			log_warnx("%s: EC keys must use curve P-256", what);
			return -1;
		}
		*type = JWK_EC;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
			log_warnx("%s: RSA key has %d bits, not %d to %d",
				  what, bits, RSA_MIN_BITS, RSA_MAX_BITS);
			return -1;
		}
		*type = JWK_RSA;
		return 0;
	}
	log_warnx("%s: not an EC P-256 or RSA key", what);
	return -1;
}

/*
 * A key from pkey, which it consumes: keeping the private half when
 * keep_private, and with kid, or the libtrust id when kid is NULL. NULL
 * (logged, starting with what, such as "JWKS key 2") on failure.
 */
static struct jwt_key *
key_new(EVP_PKEY *pkey, bool keep_private, const char *kid,
	const char *what)
{
	char id[KID_LEN + 1];
	struct jwt_key *k = NULL;
	EVP_PKEY *pub = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *der = NULL;
	enum jwk_type type;
	int len;

	if (key_type_of(pkey, what, &type) < 0)
		goto out;
	/* for EC, the check is that the point is on the curve */
	if ((pub = public_copy(pkey, type)) == NULL ||
	    (type == JWK_EC &&
	     ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL ||
	      EVP_PKEY_public_check(ctx) != 1))) {
		log_warnx("%s: invalid public key: %s", what, jwk_ssl_error());
		goto out;
	}
	if ((len = i2d_PUBKEY(pub, &der)) <= 0) {
		log_warnx("%s: could not encode: %s", what, jwk_ssl_error());
		goto out;
	}
	libtrust_kid(der, (size_t)len, id);
	k = xcalloc(1, sizeof(*k));
	k->type = type;
	k->has_private = keep_private;
	k->kid = xstrdup(kid != NULL ? kid : id);
	if (keep_private) {
		k->pkey = pkey;
		pkey = NULL;
	} else {
		k->pkey = pub;
		pub = NULL;
	}
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pkey);
	return k;
}

/* key_new() for the key read from the file at path. */
static struct jwt_key *
key_from_file(EVP_PKEY *pkey, bool keep_private, const char *path)
{
	char *what = xasprintf("key in \"%s\"", path);
	struct jwt_key *k = key_new(pkey, keep_private, NULL, what);

	free(what);
	return k;
}

/* Refuses to prompt for the passphrase of an encrypted key. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static BIO *
pem_open(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");

	if (bio == NULL) {
		ERR_clear_error();
		log_warn("could not open \"%s\"", path);
	}
	return bio;
}

/*
 * Reads every certificate in bio, in order, as base64 DER into *x5c
 * (caller frees each and the array) and the first into *leaf (caller
 * frees). Other PEM blocks are skipped. Returns how many, 0 when there
 * are none; -1 (logged) for too many or one that does not parse.
 */
static int
read_chain(BIO *bio, const char *path, char ***x5c, X509 **leaf)
{
	char **out = xcalloc(CHAIN_MAX, sizeof(*out));
	unsigned char *der;
	X509 *cert;
	unsigned long err;
	int n = 0, len;

	*leaf = NULL;
	while ((cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL))) {
		der = NULL;
		if (n == CHAIN_MAX) {
			log_warnx("more than %d certificates in \"%s\"",
				  CHAIN_MAX, path);
			X509_free(cert);
			goto fail;
		}
		if ((len = i2d_X509(cert, &der)) <= 0) {
			log_warnx("could not encode a certificate in \"%s\"",
				  path);
			X509_free(cert);
			goto fail;
		}
		out[n] = xmalloc(((size_t)len + 2) / 3 * 4 + 1);
		EVP_EncodeBlock((unsigned char *)out[n], der, len);
		OPENSSL_free(der);
		if (n++ == 0)
			*leaf = cert;
		else
			X509_free(cert);
	}
	/* PEM_read_bio_X509() says "no start line" at the end of the file */
	err = ERR_peek_last_error();
	if (ERR_GET_LIB(err) != ERR_LIB_PEM ||
	    ERR_GET_REASON(err) != PEM_R_NO_START_LINE) {
		log_warnx("could not read certificate %d in \"%s\": %s", n + 1,
			  path, jwk_ssl_error());
		goto fail;
	}
	ERR_clear_error();
	*x5c = out;
	return n;
fail:
	ERR_clear_error();
	for (int i = 0; i < n; i++)
		free(out[i]);
	free(out);
	X509_free(*leaf);
	*leaf = NULL;
	return -1;
}

static void
chain_free(char **x5c, int n)
{
	for (int i = 0; i < n; i++)
		free(x5c[i]);
	free(x5c);
}

struct jwt_key *
jwt_key_load_private(const char *pem_path)
{
	BIO *bio = pem_open(pem_path);
	EVP_PKEY *pkey;

	if (bio == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		log_warnx("could not read a private key from \"%s\": %s",
			  pem_path, jwk_ssl_error());
		return NULL;
	}
	return key_from_file(pkey, true, pem_path);
}

/*
 * Tries a certificate file: the leaf's key, with the chain as x5c. Sets
 * *found when there were certificates (or broken ones, logged).
 */
static struct jwt_key *
load_certificate(BIO *bio, const char *pem_path, bool *found)
{
	struct jwt_key *k = NULL;
	char **x5c = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *pkey;
	int n;

	n = read_chain(bio, pem_path, &x5c, &leaf);
	*found = n != 0;	/* -1 was logged */
	if (n <= 0)
		goto out;
	if ((pkey = X509_get_pubkey(leaf)) == NULL) {
		log_warnx("could not read the key of the certificate in "
			  "\"%s\": %s", pem_path, jwk_ssl_error());
		goto out;
	}
	if ((k = key_from_file(pkey, false, pem_path)) != NULL) {
		k->x5c = x5c;
		k->n_x5c = n;
		x5c = NULL;
	}
out:
	if (x5c != NULL)
		chain_free(x5c, n > 0 ? n : 0);
	X509_free(leaf);
	return k;
}

struct jwt_key *
jwt_key_load_public(const char *pem_path)
{
	BIO *bio = pem_open(pem_path);
	struct jwt_key *k = NULL;
	EVP_PKEY *pkey;
	bool found;

	if (bio == NULL)
		return NULL;
	/* a public key, else a certificate, else a private key */
	if ((pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL))) {
		k = key_from_file(pkey, false, pem_path);
		goto out;
	}
	ERR_clear_error();
	if (BIO_reset(bio) != 0)
		goto unreadable;
	k = load_certificate(bio, pem_path, &found);
	if (found)
		goto out;
	if (BIO_reset(bio) != 0)
		goto unreadable;
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL))) {
		k = key_from_file(pkey, false, pem_path);
		goto out;
	}
	log_warnx("no public key, certificate or private key in \"%s\": %s",
		  pem_path, jwk_ssl_error());
	goto out;
unreadable:
	log_warnx("could not reread \"%s\": %s", pem_path, jwk_ssl_error());
out:
	BIO_free(bio);
	return k;
}

int
jwt_key_set_chain(struct jwt_key *k, const char *pem_path)
{
	BIO *bio = pem_open(pem_path);
	char **x5c = NULL;
	X509 *leaf = NULL;
	int n = 0, ret = -1;

	if (bio == NULL)
		return -1;
	if ((n = read_chain(bio, pem_path, &x5c, &leaf)) < 0)
		goto out;
	if (n == 0) {
		log_warnx("no certificate in \"%s\"", pem_path);
		goto out;
	}
	/* a verifier takes the leaf's key, so it must be the signing key */
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), k->pkey) != 1) {
		ERR_clear_error();
		log_warnx("the first certificate in \"%s\" is not for key %s",
			  pem_path, k->kid);
		goto out;
	}
	chain_free(k->x5c, k->n_x5c);
	k->x5c = x5c;
	k->n_x5c = n;
	x5c = NULL;
	ret = 0;
out:
	if (x5c != NULL)
		chain_free(x5c, n);
	X509_free(leaf);
	BIO_free(bio);
	return ret;
}

void
jwt_key_free(struct jwt_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->kid);
	chain_free(k->x5c, k->n_x5c);
	free(k);
}

const char *
jwt_key_kid(const struct jwt_key *k)
{
	return k->kid;
}

const char *
jwt_key_alg(const struct jwt_key *k)
{
	return alg_names[k->type];
}

/* ---- JWKS -------------------------------------------------------------- */

/* A BIGNUM as unpadded big-endian base64url; caller frees. */
static char *
bn_b64url(const BIGNUM *bn)
{
	size_t len = (size_t)BN_num_bytes(bn);
	unsigned char *buf = xmalloc(len);
	char *s;

	BN_bn2bin(bn, buf);
	s = jwt_b64url(buf, len);
	free(buf);
	return s;
}

/* One key as a JWK object; NULL (logged) on failure. */
static json_t *
jwk_render(const struct jwt_key *k)
{
	unsigned char xy[2 * EC_COORD];
	BIGNUM *n = NULL, *e = NULL;
	char *a = NULL, *b = NULL;
	json_t *jk = NULL;

	if (k->type == JWK_EC) {
		if (ec_coords(k->pkey, xy) == 0) {
			a = jwt_b64url(xy, EC_COORD);
			b = jwt_b64url(xy + EC_COORD, EC_COORD);
			jk = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kty",
				       "EC", "crv", "P-256", "x", a, "y", b,
				       "kid", k->kid, "alg", "ES256", "use",
				       "sig");
		}
	} else if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N,
					 &n) == 1 &&
		   EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E,
					 &e) == 1) {
		a = bn_b64url(n);
		b = bn_b64url(e);
		jk = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "n",
			       a, "e", b, "kid", k->kid, "alg", "RS256", "use",
			       "sig");
	}
	ERR_clear_error();
	if (jk == NULL)
		log_warnx("could not render key %s as a JWK", k->kid);
	BN_free(n);
	BN_free(e);
	free(a);
	free(b);
	return jk;
}

char *
jwt_jwks_render(struct jwt_key *const *keys, int n)
{
	json_t *doc = json_object(), *arr = json_array(), *jk;
	char *s = NULL;

	if (doc == NULL || arr == NULL || json_object_set(doc, "keys", arr))
		goto out;
	for (int i = 0; i < n; i++) {
		if ((jk = jwk_render(keys[i])) == NULL ||
		    json_array_append_new(arr, jk) != 0)
			goto out;
	}
	s = json_dumps(doc, JSON_COMPACT);
out:
	json_decref(arr);
	json_decref(doc);
	return s;
}

/* A member that must be a string when present; -1 if it is not. */
int
jwk_member_string(const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static EVP_PKEY *
jwk_ec(const json_t *jk, size_t i)
{
	unsigned char xy[2 * EC_COORD];
	const char *x, *y;
	EVP_PKEY *pkey;

	if (jwk_member_string(jk, "x", &x) < 0 ||
	    jwk_member_string(jk, "y", &y) < 0 ||
	    x == NULL || y == NULL || b64url_decode_exact(x, xy, EC_COORD) ||
	    b64url_decode_exact(y, xy + EC_COORD, EC_COORD)) {
		log_warnx("JWKS key %zu: x and y must be 32-byte base64url", i);
		return NULL;
	}
	if ((pkey = ec_from_xy(xy)) == NULL)
		log_warnx("JWKS key %zu: point is not on curve P-256", i);
	return pkey;
}

/* A big-endian base64url number that is at most max bytes long. */
static BIGNUM *
b64url_bn(const char *s, size_t max)
{
	unsigned char *buf;
	size_t len;
	BIGNUM *bn = NULL;

	if (s == NULL || jwk_b64url_decode(s, strlen(s), &buf, &len) < 0)
		return NULL;
	if (len > 0 && len <= max)
		bn = BN_bin2bn(buf, (int)len, NULL);
	free(buf);
	return bn;
}

/*
 * An RSA JWK: 1 and *pkey set, 0 for a modulus size we do not take
 * (skipped, logged), -1 (logged) for a broken key.
 */
static int
jwk_rsa(const json_t *jk, size_t i, EVP_PKEY **pkey)
{
	const char *ns, *es;
	BIGNUM *n = NULL, *e = NULL;
	int bits, ret = -1;

	*pkey = NULL;
	if (jwk_member_string(jk, "n", &ns) < 0 ||
	    jwk_member_string(jk, "e", &es) < 0 ||
	    (n = b64url_bn(ns, RSA_MAX_BITS / 8 + 1)) == NULL ||
	    (e = b64url_bn(es, 4)) == NULL) {
		log_warnx("JWKS key %zu: n and e must be base64url numbers", i);
		goto out;
	}
	if (!rsa_numbers_ok(n, e)) {
		log_warnx("JWKS key %zu: not an RSA modulus and exponent", i);
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		log_warnx("JWKS key %zu: skipped, RSA key has %d bits, not %d "
			  "to %d", i, bits, RSA_MIN_BITS, RSA_MAX_BITS);
		ret = 0;
		goto out;
	}
	if ((*pkey = rsa_from_ne(n, e)) == NULL) {
		log_warnx("JWKS key %zu: invalid RSA key", i);
		goto out;
	}
	ret = 1;
out:
	BN_free(n);
	BN_free(e);
	return ret;
}

/*
 * One JWK: 1 and *k set for an EC P-256 or RSA signing key, 0 for a key of
 * another kind, which is skipped, and -1 (logged) for a broken one.
 */
static int
jwk_parse(const json_t *jk, size_t i, struct jwt_key **k)
{
	const char *kty, *crv, *use, *alg, *kid;
	EVP_PKEY *pkey;
	char what[64];
	int r;

	*k = NULL;
	if (!json_is_object(jk) || jwk_member_string(jk, "kty", &kty) < 0 ||
	    jwk_member_string(jk, "crv", &crv) < 0 ||
	    jwk_member_string(jk, "use", &use) < 0 ||
	    jwk_member_string(jk, "alg", &alg) < 0 ||
	    jwk_member_string(jk, "kid", &kid) < 0 || kty == NULL) {
		log_warnx("JWKS key %zu: not an object with string members",
			  i);
		return -1;
	}
	if (kid != NULL && (kid[0] == '\0' || strlen(kid) > KID_MAX)) {
		log_warnx("JWKS key %zu: kid is empty or too long", i);
		return -1;
	}
	if (use != NULL && strcmp(use, "sig") != 0)
		return 0;
	if (strcmp(kty, "EC") == 0) {
		if (crv == NULL || strcmp(crv, "P-256") != 0 ||
		    (alg != NULL && strcmp(alg, "ES256") != 0))
			return 0;
		pkey = jwk_ec(jk, i);
	} else if (strcmp(kty, "RSA") == 0) {
		if (alg != NULL && strcmp(alg, "RS256") != 0)
			return 0;
		if ((r = jwk_rsa(jk, i, &pkey)) <= 0)
			return r;
	} else {
		return 0;
	}
	if (pkey == NULL)
		return -1;
	snprintf(what, sizeof(what), "JWKS key %zu", i);
	return (*k = key_new(pkey, false, kid, what)) != NULL ? 1 : -1;
}

int
jwt_jwks_parse(const char *json, size_t len, struct jwt_key ***keys, int *n)
{
	struct jwt_key **out = NULL, *k;
	json_error_t err;
	json_t *doc = NULL, *arr, *jk;
	size_t i, count = 0;
	int ret = -1, r;

	*keys = NULL;
	*n = 0;
	if (len > JWKS_MAX) {
		log_warnx("JWKS document is too large (%zu bytes)", len);
		return -1;
	}
	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		log_warnx("could not parse JWKS: %s", err.text);
		goto out;
	}
	arr = json_object_get(doc, "keys");
	if (!json_is_object(doc) || !json_is_array(arr) ||
	    json_array_size(arr) > JWKS_KEYS_MAX) {
		log_warnx("JWKS is not {\"keys\":[...]} of at most %d keys",
			  JWKS_KEYS_MAX);
		goto out;
	}
	out = xcalloc(json_array_size(arr) + 1, sizeof(*out));
	json_array_foreach(arr, i, jk) {
		if ((r = jwk_parse(jk, i, &k)) < 0)
			goto out;
		if (r > 0)
			out[count++] = k;
	}
	if (count > 0) {
		*keys = out;
		*n = (int)count;
		out = NULL;
	}
	ret = 0;
out:
	for (i = 0; out != NULL && i < count; i++)
		jwt_key_free(out[i]);
	free(out);
	json_decref(doc);
	return ret;
}

/* ---- for lib/jwt.c ----------------------------------------------------- */

EVP_PKEY *
jwk_pkey(const struct jwt_key *k)
{
	return k->pkey;
}

enum jwk_type
jwk_type(const struct jwt_key *k)
{
	return k->type;
}

bool
jwk_has_private(const struct jwt_key *k)
{
	return k->has_private;
}

int
jwk_chain(const struct jwt_key *k, const char *const **x5c)
{
	*x5c = (const char *const *)k->x5c;
	return k->n_x5c;
}
