/*
 * Key tests: PEM files and their libtrust ids, base64url (the one spelling
 * of each byte string), and JWKS documents rendered, parsed, refused or
 * skipped. Tokens signed and verified with these keys are test_jwt.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwk.h"
#include "jwtdata.h"
#include "log.h"
#include "test.h"
#include "util.h"

char *
test_jwk_path(const char *name)
{
	return xasprintf("%s/jwt/%s", test_data_dir, name);
}

struct jwt_key *
test_jwk_load(const char *name, bool private)
{
	char *p = test_jwk_path(name);
	struct jwt_key *k = private ? jwt_key_load_private(p)
				    : jwt_key_load_public(p);

	free(p);
	return k;
}

/* PEM files: which load, as what, with which kid; which are refused. */
static void
key_files(void)
{
	static const struct {
		const char *file;
		bool private;
		const char *kid, *alg;
	} cases[] = {
		{ "ec.pem", true, KID_EC, "ES256" },
		{ "ec-sec1.pem", true, KID_EC, "ES256" },
		{ "ec2.pem", true, KID_EC2, "ES256" },
		{ "rsa.pem", true, KID_RSA, "RS256" },
		{ "rsa-pkcs1.pem", true, KID_RSA, "RS256" },
		{ "ec-pub.pem", false, KID_EC, "ES256" },
		{ "ec.pem", false, KID_EC, "ES256" },
		{ "leaf.pem", false, KID_EC, "ES256" },
		{ "chain.pem", false, KID_EC, "ES256" },
		{ "rsa-pub.pem", false, KID_RSA, "RS256" },
		{ "rsa-pkcs1.pem", false, KID_RSA, "RS256" },
	};
	static const char *refused[] = {
		"rsa1024.pem", "p384.pem", "ed25519.pem", "encrypted.pem",
		"no-such-file.pem", "es256.jwt", "broken-chain.pem",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct jwt_key *k = test_jwk_load(cases[i].file,
						  cases[i].private);

		CHECK(k != NULL);
		if (k == NULL)
			continue;
		CHECK(strcmp(jwt_key_kid(k), cases[i].kid) == 0);
		CHECK(strcmp(jwt_key_alg(k), cases[i].alg) == 0);
		jwt_key_free(k);
	}
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		CHECK(test_jwk_load(refused[i], true) == NULL);
		CHECK(test_jwk_load(refused[i], false) == NULL);
	}
	/* public keys and certificates are not private keys */
	CHECK(test_jwk_load("ec-pub.pem", true) == NULL);
	CHECK(test_jwk_load("leaf.pem", true) == NULL);
	jwt_key_free(NULL);
}

/* Rendering, parsing, refusing and skipping JWKS documents. */
static void
jwks_cases(void)
{
	struct jwt_key *ec = test_jwk_load("ec.pem", true);
	struct jwt_key *rsa = test_jwk_load("rsa.pem", false);
	struct jwt_key *pair[2] = { ec, rsa }, **keys = NULL;
	char *doc = NULL;
	const char *spec;
	int n = 0;
	const char *want = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
			   "\"x\":\"" SPEC_X "\",\"y\":\"" SPEC_Y "\","
			   "\"kid\":\"" KID_EC "\",\"alg\":\"ES256\","
			   "\"use\":\"sig\"},{\"kty\":\"RSA\",\"n\":\"";
	struct jwt_key *sentinel[1];
	static const char *bad[] = {
		"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[1]}",
		"{\"keys\":[{}]}", "{\"keys\":[],\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" SPEC_X
		"\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" SPEC_X
		"\",\"y\":\"" SPEC_X "\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" SPEC_X
		"\",\"y\":\"AA" SPEC_Y "\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" SPEC_X
		"\",\"y\":\"" SPEC_Y "\",\"kid\":\"\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAA\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQ\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB=\"}]}",
		"{\"keys\":[{\"kty\":7}]}",
		/* a good key, then a broken one */
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" SPEC_X
		"\",\"y\":\"" SPEC_Y "\"},{\"kty\":\"EC\",\"crv\":\"P-256\"}]}",
	};
	static const char *skipped[] = {
		"{\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		"\"x\":\"AA\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\"}]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"ES256\",\"n\":\"AQAB\","
		"\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"enc\","
		"\"x\":\"" SPEC_X "\",\"y\":\"" SPEC_Y "\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
		"\"alg\":\"ES384\",\"x\":\"" SPEC_X "\","
		"\"y\":\"" SPEC_Y "\"}]}",
	};

	CHECK(ec != NULL && rsa != NULL);
	if (ec == NULL || rsa == NULL)
		goto out;
	doc = jwt_jwks_render(pair, 2);
	CHECK(doc != NULL);
	CHECK(doc != NULL && strncmp(doc, want, strlen(want)) == 0);
	CHECK(jwt_jwks_parse(doc, strlen(doc), &keys, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(strcmp(jwt_key_kid(keys[0]), KID_EC) == 0);
		CHECK(strcmp(jwt_key_alg(keys[0]), "ES256") == 0);
		CHECK(strcmp(jwt_key_kid(keys[1]), KID_RSA) == 0);
		CHECK(strcmp(jwt_key_alg(keys[1]), "RS256") == 0);
	}
	for (int i = 0; i < n; i++)
		jwt_key_free(keys[i]);
	free(keys);

	/* the spec's JWK without its kid: the libtrust id is computed, and
	 * its private "d" is ignored (test_jwt: it cannot sign) */
	spec = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"R7OnbfMa"
	       "D5J2jl7GeE8ESo7CnHSBm_1N2k9IXYFrKJA\",\"x\":\"" SPEC_X
	       "\",\"y\":\"" SPEC_Y "\"},{\"kty\":\"EC\",\"crv\":\"P-256\","
	       "\"kid\":\"mine\",\"x\":\"" SPEC_X "\",\"y\":\"" SPEC_Y "\"}]}";
	CHECK(jwt_jwks_parse(spec, strlen(spec), &keys, &n) == 0 && n == 2);
	if (n == 2) {
		CHECK(strcmp(jwt_key_kid(keys[0]), KID_EC) == 0);
		CHECK(strcmp(jwt_key_kid(keys[1]), "mine") == 0);
	}
	for (int i = 0; i < n; i++)
		jwt_key_free(keys[i]);
	free(keys);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		keys = sentinel;	/* both must be reset */
		n = 5;
		if (jwt_jwks_parse(bad[i], strlen(bad[i]), &keys, &n) != -1 ||
		    keys != NULL || n != 0) {
			fprintf(stderr, "bad JWKS case %zu: %s\n", i, bad[i]);
			CHECK(0);
		} else {
			CHECK(1);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(skipped); i++) {
		CHECK(jwt_jwks_parse(skipped[i], strlen(skipped[i]), &keys,
				     &n) == 0 && n == 0 && keys == NULL);
	}
	{
		/* a document with a 1024-bit RSA key only skips that key */
		char *p = test_jwk_path("rsa1024.pem"), *mixed;
		FILE *f = fopen(p, "r");
		EVP_PKEY *pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
				   : NULL;
		BIGNUM *bn_n = NULL;
		unsigned char nb[128];
		char *n64;

		if (f != NULL)
			fclose(f);
		free(p);
		CHECK(pkey != NULL &&
		      EVP_PKEY_get_bn_param(pkey, "n", &bn_n) == 1);
		BN_bn2binpad(bn_n, nb, sizeof(nb));
		n64 = jwt_b64url(nb, sizeof(nb));
		mixed = xasprintf("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\","
				  "\"e\":\"AQAB\"},%s", n64, doc + 9);
		CHECK(jwt_jwks_parse(mixed, strlen(mixed), &keys, &n) == 0 &&
		      n == 2);
		for (int i = 0; i < n; i++)
			jwt_key_free(keys[i]);
		free(keys);
		free(mixed);
		free(n64);
		BN_free(bn_n);
		EVP_PKEY_free(pkey);
	}
out:
	free(doc);
	jwt_key_free(ec);
	jwt_key_free(rsa);
}

/* Encodes s and checks the text, then decodes it back. */
static bool
b64_round(const char *s, size_t n, const char *want)
{
	char *enc = jwt_b64url(s, n);
	unsigned char *dec = NULL;
	size_t len = 0;
	bool ok = strcmp(enc, want) == 0 &&
		  jwk_b64url_decode(enc, strlen(enc), &dec, &len) == 0 &&
		  len == n && memcmp(dec, s, n) == 0;

	free(enc);
	free(dec);
	return ok;
}

static void
b64url_cases(void)
{
	static const char *refused[] = {
		"Z", "Zg=", "Zg==", "Zh", "Zm9=", "Zm8+", "Zm8/", "Zm 8",
		"Zm9vY",
	};
	unsigned char *dec;
	size_t len;

	CHECK(b64_round("", 0, ""));
	CHECK(b64_round("f", 1, "Zg"));
	CHECK(b64_round("fo", 2, "Zm8"));
	CHECK(b64_round("foo", 3, "Zm9v"));
	CHECK(b64_round("foob", 4, "Zm9vYg"));
	CHECK(b64_round("\xfb\xff\xbf", 3, "-_-_"));
	CHECK(b64_round("\0\0", 2, "AAA"));
	/* padding, the standard alphabet, lengths no encoding has and
	 * nonzero unused bits (a second spelling) are all refused */
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		dec = NULL;
		CHECK(jwk_b64url_decode(refused[i], strlen(refused[i]), &dec,
					&len) == -1);
		free(dec);
	}
}

void
test_jwk(void)
{
	enum log_level saved = log_level;

	/* the refusals below are meant; their warnings would only be noise */
	if (getenv("BERTH_TEST_VERBOSE") == NULL)
		log_level = LOG_LVL_ERROR;
	key_files();
	b64url_cases();
	jwks_cases();
	log_level = saved;
}
