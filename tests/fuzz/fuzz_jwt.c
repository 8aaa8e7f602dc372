/*
 * libFuzzer target for lib/jwt.c. Each input is verified as a token
 * against two fixed keys, parsed as a JWKS document (whose keys must
 * render and parse back to the same ids), and signed as a claim set, or
 * as "header\nclaims", with the fixed EC key, so that the parsers behind
 * the signature check are reached too. The keys are the Docker token
 * spec's example key (published, so nothing secret) and the RSA key of
 * tests/data/jwt/rsa.pem.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW INT64_C(1700000000)
#define ISS "auth.berth.test"
#define AUD "registry.berth.test"
#define KID_EC "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6"

static const char ec_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgR7OnbfMaD5J2jl7G\n"
	"eE8ESo7CnHSBm/1N2k9IXYFrKJChRANCAASbvNSnHdv7OZUTlzKZKzrg84b1BzIS\n"
	"klpgIPzb7nj39HVN24s/LGf/BjwfqHZvFsc95TQ69cXAEED0GjnK9X5n\n"
	"-----END PRIVATE KEY-----\n";

static const char jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
	"\"x\":\"m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q\","
	"\"y\":\"dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc\"},"
	"{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
	"v2G3EJnQMXz-Gkf2HSZPEc9rUFRIBwGygthzeUwX7O6ZVMX8LHrwRYlur3YK"
	"pi2FHAL6uLod9QZXZbdwi5LwaOH5QwXyWlpoQCCLFoL01KNLzHyHMaGhJqTC"
	"6LkAdWNPBpyeq0P77brzoN2BJiSKGBGZa8-HgINH_3eS2-DwVZIIe1PfZR3H"
	"cUYJSX-HbOZy4EjHc5UApXPEYV6-H8kDv1m2VlRljrQtSX2jdtd_LcZz93Yv"
	"pfP_NpUxvOvkMJgYY30qUy8TbqIvn6KRCWaghQu2HbX_SHAyhQUpkivIZmAD"
	"eY1ULUI7fO-PiynMGcTT2G8e7Bn90UIDCcsd_rjjSw\"}]}";

static struct jwt_key **keys;
static int n_keys;
static EVP_PKEY *signer;

static void
setup(void)
{
	BIO *bio;

	if (signer != NULL)
		return;
	log_level = LOG_LVL_ERROR;	/* refusals are the point here */
	if (jwt_jwks_parse(jwks, strlen(jwks), &keys, &n_keys) != 0 ||
	    n_keys != 2 || strcmp(jwt_key_kid(keys[0]), KID_EC) != 0)
		abort();
	bio = BIO_new_mem_buf(ec_pem, -1);
	signer = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (signer == NULL)
		abort();
}

/* ES256 over input with the fixed key, as base64url r||s. */
static char *
sign(const char *input)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[128], raw[64];
	const unsigned char *p = der;
	size_t n = sizeof(der);
	ECDSA_SIG *es;

	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, signer) != 1 ||
	    EVP_DigestSign(ctx, der, &n, (const unsigned char *)input,
			   strlen(input)) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL)
		abort();
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return jwt_b64url(raw, sizeof(raw));
}

static void
check_claims(const struct jwt_claims *c)
{
	if (c->iss == NULL || strcmp(c->iss, ISS) != 0 || c->aud == NULL ||
	    strcmp(c->aud, AUD) != 0 || c->sub == NULL || c->jti == NULL ||
	    c->exp <= NOW - 5 || c->nbf > NOW + 5 || c->n_access < 0 ||
	    (c->n_access > 0 && c->access == NULL))
		abort();
	for (int i = 0; i < c->n_access; i++) {
		const struct jwt_access *a = &c->access[i];

		if (a->type == NULL || a->name == NULL || a->n_actions < 0)
			abort();
		for (int j = 0; j < a->n_actions; j++)
			if (a->actions[j] == NULL)
				abort();
	}
}

static void
verify(const char *token)
{
	struct jwt_claims out;
	enum jwt_verdict v = jwt_verify(token, keys, n_keys, ISS, AUD, NOW, 5,
					&out);

	if (v > JWT_WRONG_ISSUER || jwt_verdict_str(v) == NULL)
		abort();
	if (v == JWT_OK)
		check_claims(&out);
	else if (out.iss != NULL || out.access != NULL || out.n_access != 0)
		abort();
	jwt_claims_release(&out);
}

/* The input as a claim set (or "header\nclaims") under a good signature. */
static void
verify_signed(const uint8_t *data, size_t size)
{
	static const char hdr[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\","
				  "\"kid\":\"" KID_EC "\"}";
	const uint8_t *nl = memchr(data, '\n', size);
	char *h, *c, *input, *sig, *token;

	if (nl != NULL) {
		h = jwt_b64url(data, (size_t)(nl - data));
		c = jwt_b64url(nl + 1, size - (size_t)(nl - data) - 1);
	} else {
		h = jwt_b64url(hdr, strlen(hdr));
		c = jwt_b64url(data, size);
	}
	input = xasprintf("%s.%s", h, c);
	sig = sign(input);
	token = xasprintf("%s.%s", input, sig);
	verify(token);
	free(token);
	free(sig);
	free(input);
	free(c);
	free(h);
}

static void
jwks_round_trip(const uint8_t *data, size_t size)
{
	struct jwt_key **ks, **again;
	int n, n_again;
	char *doc;

	if (jwt_jwks_parse((const char *)data, size, &ks, &n) != 0)
		return;
	if (n < 0 || (n > 0) != (ks != NULL))
		abort();
	if ((doc = jwt_jwks_render(ks, n)) == NULL ||
	    jwt_jwks_parse(doc, strlen(doc), &again, &n_again) != 0 ||
	    n_again != n)
		abort();
	for (int i = 0; i < n; i++) {
		if (strcmp(jwt_key_kid(ks[i]), jwt_key_kid(again[i])) != 0 ||
		    strcmp(jwt_key_alg(ks[i]), jwt_key_alg(again[i])) != 0)
			abort();
		jwt_key_free(ks[i]);
		jwt_key_free(again[i]);
	}
	free(ks);
	free(again);
	free(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	setup();
	s = xstrndup((const char *)data, size);
	verify(s);
	free(s);
	jwks_round_trip(data, size);
	if (size <= 16 * 1024)
		verify_signed(data, size);
	return 0;
}
