/*
 * Registry tokens (see jwt.h), on OpenSSL and jansson directly rather than
 * libjwt, so that every check is ours to see: the verifier decodes the
 * header itself, allows only ES256 and RS256 with a key of that type, checks
 * the signature over the exact "header.payload" bytes before it reads a
 * claim, and parses strictly (bounded input, canonical unpadded base64url,
 * JSON objects without duplicate keys). Public keys are rebuilt from their
 * numbers, so a key's kid does not depend on how its PEM file spelled it.
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

#include "jwt.h"
#include "log.h"
#include "util.h"

#define JWT_MAX (16 * 1024)	/* longest token verified or signed */
#define JWKS_MAX (256 * 1024)	/* longest JWKS document parsed */
#define JWKS_KEYS_MAX 64
#define KID_MAX 256		/* longest kid taken from a JWKS */
#define CHAIN_MAX 8		/* certificates in an x5c chain */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192	/* bounds the cost of one verification */
#define KID_LEN 59		/* 48 base32 characters and 11 colons */
#define EC_COORD 32		/* bytes in a P-256 coordinate */

enum key_type { KEY_EC, KEY_RSA };

static const char *const alg_names[] = { [KEY_EC] = "ES256",
					 [KEY_RSA] = "RS256" };

/*
 * pkey is an EC P-256 key or an RSA key of RSA_MIN_BITS to RSA_MAX_BITS;
 * it holds the private half exactly when has_private. kid is never NULL.
 * x5c holds n_x5c base64 DER certificates, leaf first.
 */
struct jwt_key {
	EVP_PKEY *pkey;
	enum key_type type;
	bool has_private;
	char *kid;
	char **x5c;
	int n_x5c;
};

/* The reason for the last OpenSSL error, which it then clears. */
static const char *
ssl_error(void)
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
static int
b64url_decode(const char *in, size_t n, unsigned char **out, size_t *outlen)
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

	if (b64url_decode(in, strlen(in), &buf, &len) < 0)
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
		BUG("SHA-256 failed: %s", ssl_error());
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
public_copy(const EVP_PKEY *pkey, enum key_type type)
{
	unsigned char xy[2 * EC_COORD];
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *pub = NULL;

	if (type == KEY_EC) {
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
key_type_of(const EVP_PKEY *pkey, const char *what, enum key_type *type)
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
		*type = KEY_EC;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
			log_warnx("%s: RSA key has %d bits, not %d to %d",
				  what, bits, RSA_MIN_BITS, RSA_MAX_BITS);
			return -1;
		}
		*type = KEY_RSA;
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
	enum key_type type;
	int len;

	if (key_type_of(pkey, what, &type) < 0)
		goto out;
	/* for EC, the check is that the point is on the curve */
	if ((pub = public_copy(pkey, type)) == NULL ||
	    (type == KEY_EC &&
	     ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL ||
	      EVP_PKEY_public_check(ctx) != 1))) {
		log_warnx("%s: invalid public key: %s", what, ssl_error());
		goto out;
	}
	if ((len = i2d_PUBKEY(pub, &der)) <= 0) {
		log_warnx("%s: could not encode: %s", what, ssl_error());
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
			  path, ssl_error());
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
			  pem_path, ssl_error());
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
			  "\"%s\": %s", pem_path, ssl_error());
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
		  pem_path, ssl_error());
	goto out;
unreadable:
	log_warnx("could not reread \"%s\": %s", pem_path, ssl_error());
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

	if (k->type == KEY_EC) {
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
static int
member_string(const json_t *o, const char *key, const char **out)
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

	if (member_string(jk, "x", &x) < 0 || member_string(jk, "y", &y) < 0 ||
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

	if (s == NULL || b64url_decode(s, strlen(s), &buf, &len) < 0)
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
	if (member_string(jk, "n", &ns) < 0 ||
	    member_string(jk, "e", &es) < 0 ||
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
	if (!json_is_object(jk) || member_string(jk, "kty", &kty) < 0 ||
	    member_string(jk, "crv", &crv) < 0 ||
	    member_string(jk, "use", &use) < 0 ||
	    member_string(jk, "alg", &alg) < 0 ||
	    member_string(jk, "kid", &kid) < 0 || kty == NULL) {
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

/* ---- signing ----------------------------------------------------------- */

/* Sets o[key] to the string s; -1 if s is not valid UTF-8. */
static int
set_string(json_t *o, const char *key, const char *s)
{
	return json_object_set_new(o, key, json_string(s));
}

static json_t *
header_json(const struct jwt_key *k)
{
	json_t *h = json_object(), *x5c;

	if (h == NULL || set_string(h, "typ", "JWT") ||
	    set_string(h, "alg", alg_names[k->type]) ||
	    set_string(h, "kid", k->kid))
		goto fail;
	if (k->n_x5c > 0) {
		if ((x5c = json_array()) == NULL ||
		    json_object_set_new(h, "x5c", x5c))
			goto fail;
		for (int i = 0; i < k->n_x5c; i++)
			if (json_array_append_new(x5c, json_string(k->x5c[i])))
				goto fail;
	}
	return h;
fail:
	json_decref(h);
	return NULL;
}

static json_t *
access_json(const struct jwt_access *a)
{
	json_t *o = json_object(), *actions = json_array();

	if (o == NULL || actions == NULL || set_string(o, "type", a->type) ||
	    set_string(o, "name", a->name) ||
	    json_object_set(o, "actions", actions))
		goto fail;
	for (int i = 0; i < a->n_actions; i++)
		if (json_array_append_new(actions, json_string(a->actions[i])))
			goto fail;
	json_decref(actions);
	return o;
fail:
	json_decref(actions);
	json_decref(o);
	return NULL;
}

/* The private "berth" claim, or NULL when c has no kind. */
static json_t *
berth_json(const struct jwt_claims *c)
{
	json_t *o;

	if (c->kind == NULL || (o = json_object()) == NULL)
		return NULL;
	if (set_string(o, "kind", c->kind) ||
	    (c->tid != NULL && set_string(o, "tid", c->tid)) ||
	    (c->id != 0 &&
	     json_object_set_new(o, "id", json_integer(c->id)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The claim set; iss, aud and jti are left out when NULL, sub is "". */
static json_t *
claims_json(const struct jwt_claims *c)
{
	json_t *o = json_object(), *access = json_array();
	json_t *berth = berth_json(c);

	if (o == NULL || access == NULL ||
	    (c->iss != NULL && set_string(o, "iss", c->iss)) ||
	    set_string(o, "sub", c->sub != NULL ? c->sub : "") ||
	    (c->aud != NULL && set_string(o, "aud", c->aud)) ||
	    json_object_set_new(o, "exp", json_integer(c->exp)) ||
	    json_object_set_new(o, "nbf", json_integer(c->nbf)) ||
	    json_object_set_new(o, "iat", json_integer(c->iat)) ||
	    (c->jti != NULL && set_string(o, "jti", c->jti)) ||
	    json_object_set(o, "access", access) ||
	    (c->kind != NULL &&
	     (berth == NULL || json_object_set(o, "berth", berth))))
		goto fail;
	for (int i = 0; i < c->n_access; i++)
		if (json_array_append_new(access, access_json(&c->access[i])))
			goto fail;
	json_decref(access);
	json_decref(berth);
	return o;
fail:
	json_decref(access);
	json_decref(berth);
	json_decref(o);
	return NULL;
}

/* Base64url of a JSON value, compact; NULL if it cannot be encoded. */
static char *
json_b64url(const json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	char *b;

	if (s == NULL)
		return NULL;
	b = jwt_b64url((const unsigned char *)s, strlen(s));
	free(s);
	return b;
}

/*
 * Signs msg with SHA-256; an ECDSA signature is converted from DER to the
 * fixed r||s that JWS uses. Returns it as base64url (caller frees), or
 * NULL (logged).
 */
static char *
sign_b64url(const struct jwt_key *k, const char *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *es = NULL;
	const unsigned char *p;
	unsigned char *sig = NULL, raw[2 * EC_COORD];
	char *out = NULL;
	size_t n = 0;

	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)msg, len) !=
		    1)
		goto out;
	sig = xmalloc(n);
	if (EVP_DigestSign(ctx, sig, &n, (const unsigned char *)msg, len) != 1)
		goto out;
	if (k->type == KEY_RSA) {
		out = jwt_b64url(sig, n);
		goto out;
	}
	p = sig;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, EC_COORD) != EC_COORD ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + EC_COORD, EC_COORD) !=
		    EC_COORD)
		goto out;
	out = jwt_b64url(raw, sizeof(raw));
out:
	if (out == NULL)
		log_warnx("could not sign with key %s: %s", k->kid,
			  ssl_error());
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(sig);
	return out;
}

char *
jwt_sign(const struct jwt_key *k, const struct jwt_claims *c)
{
	json_t *hdr = NULL, *claims = NULL;
	char *h = NULL, *p = NULL, *input = NULL, *sig = NULL, *tok = NULL;

	if (!k->has_private) {
		log_warnx("could not sign: key %s has no private half", k->kid);
		return NULL;
	}
	hdr = header_json(k);
	claims = claims_json(c);
	if ((h = json_b64url(hdr)) == NULL ||
	    (p = json_b64url(claims)) == NULL) {
		log_warnx("could not sign a token: a claim string is NULL or "
			  "not UTF-8");
		goto out;
	}
	input = xasprintf("%s.%s", h, p);
	if ((sig = sign_b64url(k, input, strlen(input))) == NULL)
		goto out;
	tok = xasprintf("%s.%s", input, sig);
	if (strlen(tok) > JWT_MAX) {
		log_warnx("could not sign a token: it would be %zu bytes, "
			  "more than %d", strlen(tok), JWT_MAX);
		free(tok);
		tok = NULL;
	}
out:
	json_decref(hdr);
	json_decref(claims);
	free(h);
	free(p);
	free(input);
	free(sig);
	return tok;
}

/* ---- verification ------------------------------------------------------ */

/* A token cut at its dots and decoded. */
struct token {
	size_t signed_len;	/* of "header.payload" */
	unsigned char *header, *payload, *sig;
	size_t header_len, payload_len, sig_len;
};

static void
token_release(struct token *t)
{
	free(t->header);
	free(t->payload);
	free(t->sig);
}

/* Splits a compact JWS into exactly three base64url segments. */
static enum jwt_verdict
token_split(const char *token, struct token *t)
{
	const char *d1, *d2;
	size_t len;

	if (token == NULL || (len = strnlen(token, JWT_MAX + 1)) > JWT_MAX)
		return JWT_MALFORMED;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ==
		    NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return JWT_MALFORMED;
	if (d1 == token || d2 == d1 + 1)
		return JWT_MALFORMED;
	t->signed_len = (size_t)(d2 - token);
	if (b64url_decode(token, (size_t)(d1 - token), &t->header,
			  &t->header_len) < 0 ||
	    b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &t->payload,
			  &t->payload_len) < 0 ||
	    b64url_decode(d2 + 1, len - t->signed_len - 1, &t->sig,
			  &t->sig_len) < 0)
		return JWT_MALFORMED;
	return JWT_OK;
}

/* A JSON object without duplicate keys; NULL for anything else. */
static json_t *
object_load(const unsigned char *s, size_t len)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)s, len, JSON_REJECT_DUPLICATES,
			       &err);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/*
 * Reads the header and picks the key: by kid, or with no kid the one key
 * of the header's algorithm. The algorithm must be ES256 or RS256 and the
 * key's own, whatever the kid says.
 */
static enum jwt_verdict
token_key(const struct token *t, struct jwt_key *const *keys, int n,
	  const struct jwt_key **key)
{
	const char *alg, *kid;
	enum key_type type;
	enum jwt_verdict v = JWT_MALFORMED;
	json_t *h = object_load(t->header, t->header_len);
	int matches = 0;

	*key = NULL;
	if (h == NULL || member_string(h, "alg", &alg) < 0 || alg == NULL ||
	    member_string(h, "kid", &kid) < 0)
		goto out;
	/* we understand no JWS extensions, so none can be critical */
	if (json_object_get(h, "crit") != NULL)
		goto out;
	v = JWT_BAD_ALG;
	if (strcmp(alg, "ES256") == 0)
		type = KEY_EC;
	else if (strcmp(alg, "RS256") == 0)
		type = KEY_RSA;
	else
		goto out;
	for (int i = 0; i < n; i++) {
		if (kid != NULL ? strcmp(keys[i]->kid, kid) == 0
				: keys[i]->type == type) {
			if (matches++ == 0)
				*key = keys[i];
		}
	}
	if (*key == NULL)
		v = kid != NULL || n == 0 ? JWT_UNKNOWN_KID : JWT_BAD_ALG;
	else if (kid == NULL && matches > 1)
		v = JWT_UNKNOWN_KID;
	else if ((*key)->type != type)
		v = JWT_BAD_ALG;
	else
		v = JWT_OK;
out:
	json_decref(h);
	return v;
}

/* Checks the raw (r||s for ECDSA) signature over msg. */
static bool
signature_ok(const struct jwt_key *k, const char *msg, size_t len,
	     const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const unsigned char *check = sig;
	int der_len;
	bool ok = false;

	if (k->type == KEY_EC) {
		if (sig_len != 2 * EC_COORD || (es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, EC_COORD, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + EC_COORD, EC_COORD, NULL)) == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1)
			goto out;
		r = s = NULL;	/* es owns them */
		if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		check = der;
		sig_len = (size_t)der_len;
	} else if (sig_len != (size_t)EVP_PKEY_get_size(k->pkey)) {
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, check, sig_len, (const unsigned char *)msg,
			      len) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return ok;
}

/* A string member that may be absent (then ""); -1 if it is not one. */
static int
claim_string(const json_t *o, const char *key, char **out)
{
	const char *s;

	if (member_string(o, key, &s) < 0)
		return -1;
	*out = xstrdup(s != NULL ? s : "");
	return 0;
}

/* An integer member; *present says whether it was there. */
static int
claim_date(const json_t *o, const char *key, int64_t *out, bool *present)
{
	const json_t *v = json_object_get(o, key);

	*out = 0;
	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Whether s is the configured value want, which NULL or "" never is. */
static bool
same(const char *s, const char *want)
{
	return want != NULL && want[0] != '\0' && strcmp(s, want) == 0;
}

/* aud is a string or an array of them; keeps ours if it is there. */
static int
claim_aud(const json_t *o, const char *audience, char **out)
{
	const json_t *aud = json_object_get(o, "aud"), *v;
	const char *pick = NULL;
	size_t i;

	if (aud == NULL || json_is_string(aud))
		return claim_string(o, "aud", out);
	if (!json_is_array(aud))
		return -1;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return -1;
		if (pick == NULL || same(json_string_value(v), audience))
			pick = json_string_value(v);
	}
	*out = xstrdup(pick != NULL ? pick : "");
	return 0;
}

static int
access_parse(const json_t *o, struct jwt_access *a)
{
	const json_t *actions = json_object_get(o, "actions"), *v;
	const char *type, *name;
	size_t i;

	if (!json_is_object(o) || member_string(o, "type", &type) < 0 ||
	    member_string(o, "name", &name) < 0 || type == NULL ||
	    name == NULL || (actions != NULL && !json_is_array(actions)))
		return -1;
	a->type = xstrdup(type);
	a->name = xstrdup(name);
	if (json_array_size(actions) == 0)
		return 0;
	a->actions = xcalloc(json_array_size(actions), sizeof(char *));
	json_array_foreach(actions, i, v) {
		if (!json_is_string(v))
			return -1;
		a->actions[a->n_actions++] = xstrdup(json_string_value(v));
	}
	return 0;
}

/* The optional "berth" claim: an object with a string kind. */
static int
berth_parse(const json_t *o, struct jwt_claims *c)
{
	const json_t *b = json_object_get(o, "berth"), *id;
	const char *kind, *tid;

	if (b == NULL || json_is_null(b))
		return 0;
	if (!json_is_object(b) || member_string(b, "kind", &kind) < 0 ||
	    kind == NULL || member_string(b, "tid", &tid) < 0)
		return -1;
	id = json_object_get(b, "id");
	if (id != NULL && !json_is_integer(id))
		return -1;
	c->kind = xstrdup(kind);
	c->tid = tid != NULL ? xstrdup(tid) : NULL;
	c->id = id != NULL ? json_integer_value(id) : 0;
	return 0;
}

/* Reads the claim set into c, checking only the members' types. */
static enum jwt_verdict
claims_parse(const struct token *t, const char *audience,
	     struct jwt_claims *c)
{
	json_t *o = object_load(t->payload, t->payload_len);
	const json_t *access, *v;
	enum jwt_verdict ret = JWT_MALFORMED;
	bool has_exp, has_nbf, has_iat;
	size_t i;

	if (o == NULL || claim_string(o, "iss", &c->iss) < 0 ||
	    claim_string(o, "sub", &c->sub) < 0 ||
	    claim_aud(o, audience, &c->aud) < 0 ||
	    claim_string(o, "jti", &c->jti) < 0 ||
	    claim_date(o, "exp", &c->exp, &has_exp) < 0 || !has_exp ||
	    claim_date(o, "nbf", &c->nbf, &has_nbf) < 0 ||
	    claim_date(o, "iat", &c->iat, &has_iat) < 0 ||
	    berth_parse(o, c) < 0)
		goto out;
	access = json_object_get(o, "access");
	if (access != NULL && !json_is_null(access)) {
		if (!json_is_array(access))
			goto out;
		if (json_array_size(access) > 0)
			c->access = xcalloc(json_array_size(access),
					    sizeof(*c->access));
		json_array_foreach(access, i, v) {
			c->n_access++;	/* so that release frees it */
			if (access_parse(v, &c->access[i]) < 0)
				goto out;
		}
	}
	ret = JWT_OK;
out:
	json_decref(o);
	return ret;
}

enum jwt_verdict
jwt_verify(const char *token, struct jwt_key *const *keys, int n,
	   const char *issuer, const char *audience, int64_t now, int leeway,
	   struct jwt_claims *out)
{
	struct token t = { 0 };
	const struct jwt_key *key;
	enum jwt_verdict v;
	int64_t lo, hi;

	memset(out, 0, sizeof(*out));
	if (leeway < 0)
		leeway = 0;
	lo = now < INT64_MIN + leeway ? INT64_MIN : now - leeway;
	hi = now > INT64_MAX - leeway ? INT64_MAX : now + leeway;
	if ((v = token_split(token, &t)) != JWT_OK ||
	    (v = token_key(&t, keys, n, &key)) != JWT_OK)
		goto out;
	if (!signature_ok(key, token, t.signed_len, t.sig, t.sig_len)) {
		v = JWT_BAD_SIGNATURE;
		goto out;
	}
	if ((v = claims_parse(&t, audience, out)) != JWT_OK)
		goto out;
	/* RFC 7519: valid before exp, and from nbf on */
	if (out->exp <= lo)
		v = JWT_EXPIRED;
	else if (out->nbf > hi)
		v = JWT_NOT_YET_VALID;
	else if (!same(out->aud, audience))
		v = JWT_WRONG_AUDIENCE;
	else if (!same(out->iss, issuer))
		v = JWT_WRONG_ISSUER;
out:
	if (v != JWT_OK)
		jwt_claims_release(out);
	token_release(&t);
	return v;
}

const char *
jwt_verdict_str(enum jwt_verdict v)
{
	switch (v) {
	case JWT_OK:
		return "valid";
	case JWT_MALFORMED:
		return "malformed token";
	case JWT_BAD_ALG:
		return "algorithm not allowed for the key";
	case JWT_UNKNOWN_KID:
		return "unknown signing key";
	case JWT_BAD_SIGNATURE:
		return "bad signature";
	case JWT_EXPIRED:
		return "token expired";
	case JWT_NOT_YET_VALID:
		return "token not yet valid";
	case JWT_WRONG_AUDIENCE:
		return "wrong audience";
	case JWT_WRONG_ISSUER:
		return "wrong issuer";
	}
	return "unknown verdict";
}

void
jwt_claims_release(struct jwt_claims *c)
{
	for (int i = 0; i < c->n_access; i++) {
		struct jwt_access *a = &c->access[i];

		for (int j = 0; j < a->n_actions; j++)
			free(a->actions[j]);
		free(a->actions);
		free(a->type);
		free(a->name);
	}
	free(c->access);
	free(c->iss);
	free(c->sub);
	free(c->aud);
	free(c->jti);
	free(c->kind);
	free(c->tid);
	memset(c, 0, sizeof(*c));
}
