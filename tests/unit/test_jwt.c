/*
 * Token tests (keys are test_jwk.c's): sign/verify round trips,
 * tokens made by an independent signer (the .jwt files in tests/data/jwt,
 * from Python's cryptography), JWKS, and forged or broken tokens, each
 * with the verdict it must get. Forgeries are signed here with OpenSSL
 * directly, so they carry real signatures over whatever header they claim.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwk.h"
#include "jwt.h"
#include "jwtdata.h"
#include "log.h"
#include "test.h"
#include "util.h"

/* the example token of the Docker token spec, signed by that key */
static const char spec_token[] =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6IlBZWU86VEVX"
	"VTpWN0pIOjI2SlY6QVFUWjpMSkMzOlNYVko6WEdIQTozNEYyOjJMQVE6"
	"WlJNSzpaN1E2In0.eyJpc3MiOiJhdXRoLmRvY2tlci5jb20iLCJzdWIi"
	"OiJqbGhhd24iLCJhdWQiOiJyZWdpc3RyeS5kb2NrZXIuY29tIiwiZXhw"
	"IjoxNDE1Mzg3MzE1LCJuYmYiOjE0MTUzODcwMTUsImlhdCI6MTQxNTM4"
	"NzAxNSwianRpIjoidFlKQ08xYzZjbnl5N2tBbjBjN3JLUGdiVjFIMWJG"
	"d3MiLCJhY2Nlc3MiOlt7InR5cGUiOiJyZXBvc2l0b3J5IiwibmFtZSI6"
	"InNhbWFsYmEvbXktYXBwIiwiYWN0aW9ucyI6WyJwdXNoIl19XX0.Qhfl"
	"HPfbd6eVF4lM9bwYpFZIV0PfikbyXuLx959ykRTBpe3CYnzs6YBK8FTo"
	"Vb5R47920PVLrh8zuLzdCr9t3w";

/* the claims of tests/data/jwt/{es256,rs256}.jwt, compact */
#define CLAIMS_JSON                                                            \
	"{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","         \
	"\"exp\":1700000300,\"nbf\":1699999990,\"iat\":1699999990,"           \
	"\"jti\":\"jti-1\",\"access\":[{\"type\":\"repository\","             \
	"\"name\":\"org/app\",\"actions\":[\"pull\",\"push\"]},"              \
	"{\"type\":\"registry\",\"name\":\"catalog\",\"actions\":[\"*\"]}]}"

/* A file under tests/data/jwt without its final newline; caller frees. */
static char *
read_token(const char *name)
{
	char *rel = xasprintf("jwt/%s", name), *s;
	size_t len = 0;

	s = test_read_file(rel, &len);
	free(rel);
	if (s != NULL && len > 0 && s[len - 1] == '\n')
		s[len - 1] = '\0';
	return s;
}

static char *
b64url_str(const char *s)
{
	return jwt_b64url(s, strlen(s));
}

/* Decodes one base64url segment of len characters; caller frees. */
static char *
b64url_dec(const char *s, size_t len)
{
	char *std = xmalloc(len + 4), *out = xmalloc(len + 4);
	size_t n = 0;
	int got;

	for (size_t i = 0; i < len; i++)
		std[n++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4)
		std[n++] = '=';
	got = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)std,
			      (int)n);
	if (got < 0)
		got = 0;
	got -= len % 4 == 2 ? 2 : len % 4 == 3 ? 1 : 0;
	out[got] = '\0';
	free(std);
	return out;
}

/* The decoded header (seg 0) or payload (seg 1) of a token. */
static char *
segment(const char *tok, int seg)
{
	const char *p = tok, *dot;

	for (int i = 0; i < seg; i++)
		p = strchr(p, '.') + 1;
	dot = strchr(p, '.');
	return b64url_dec(p, (size_t)(dot - p));
}

/* The signature segment of a token. */
static const char *
sig_of(const char *tok)
{
	return strrchr(tok, '.') + 1;
}

/*
 * Signs input with a PEM private key through OpenSSL alone (not jwt.c):
 * RS256, or ES256 as raw r||s. Returns base64url; caller frees.
 */
static char *
sign_with(const char *pem, const char *input)
{
	char *p = test_jwk_path(pem), *out = NULL;
	FILE *f = fopen(p, "r");
	EVP_PKEY *pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024], raw[64];
	const unsigned char *q = sig;
	size_t n = sizeof(sig);
	ECDSA_SIG *es;

	if (f != NULL)
		fclose(f);
	free(p);
	if (pkey == NULL || ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, (const unsigned char *)input,
			   strlen(input)) != 1)
		goto out;
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		out = jwt_b64url(sig, n);
	} else if ((es = d2i_ECDSA_SIG(NULL, &q, (long)n)) != NULL) {
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		out = jwt_b64url(raw, sizeof(raw));
	}
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return out != NULL ? out : xstrdup("");
}

/* "b64(header).b64(claims)" signed with pem; caller frees. */
static char *
forge(const char *header, const char *claims, const char *pem)
{
	char *h = b64url_str(header), *c = b64url_str(claims);
	char *input = xasprintf("%s.%s", h, c), *sig, *tok;

	sig = pem != NULL ? sign_with(pem, input) : xstrdup("");
	tok = xasprintf("%s.%s", input, sig);
	free(h);
	free(c);
	free(input);
	free(sig);
	return tok;
}

/* The claims the round-trip tests sign; release with jwt_claims_release. */
static void
claims_init(struct jwt_claims *c)
{
	struct jwt_access *a = xcalloc(2, sizeof(*a));

	memset(c, 0, sizeof(*c));
	c->iss = xstrdup(ISS);
	c->sub = xstrdup("alice");
	c->aud = xstrdup(AUD);
	c->jti = xstrdup("jti-1");
	c->exp = NOW + 300;
	c->nbf = NOW - 10;
	c->iat = NOW - 10;
	a[0].type = xstrdup("repository");
	a[0].name = xstrdup("org/app");
	a[0].actions = xcalloc(2, sizeof(char *));
	a[0].actions[0] = xstrdup("pull");
	a[0].actions[1] = xstrdup("push");
	a[0].n_actions = 2;
	a[1].type = xstrdup("registry");
	a[1].name = xstrdup("catalog");
	a[1].actions = xcalloc(1, sizeof(char *));
	a[1].actions[0] = xstrdup("*");
	a[1].n_actions = 1;
	c->access = a;
	c->n_access = 2;
}

static enum jwt_verdict
verify1(const char *tok, struct jwt_key *k)
{
	struct jwt_claims out;
	enum jwt_verdict v = jwt_verify(tok, &k, 1, ISS, AUD, NOW, 0, &out);

	jwt_claims_release(&out);
	return v;
}

static bool
claims_match(const struct jwt_claims *c)
{
	const struct jwt_access *a = c->access;

	return c->iss && strcmp(c->iss, ISS) == 0 && c->sub &&
	       strcmp(c->sub, "alice") == 0 && c->aud &&
	       strcmp(c->aud, AUD) == 0 && c->jti &&
	       strcmp(c->jti, "jti-1") == 0 && c->exp == NOW + 300 &&
	       c->nbf == NOW - 10 && c->iat == NOW - 10 && c->n_access == 2 &&
	       strcmp(a[0].type, "repository") == 0 &&
	       strcmp(a[0].name, "org/app") == 0 && a[0].n_actions == 2 &&
	       strcmp(a[0].actions[0], "pull") == 0 &&
	       strcmp(a[0].actions[1], "push") == 0 &&
	       strcmp(a[1].type, "registry") == 0 &&
	       strcmp(a[1].name, "catalog") == 0 && a[1].n_actions == 1 &&
	       strcmp(a[1].actions[0], "*") == 0;
}

static void
test_round_trip(void)
{
	static const char *const pairs[][2] = {
		{ "ec.pem", "ec-pub.pem" },
		{ "rsa.pem", "rsa-pub.pem" },
		{ "ec-sec1.pem", "leaf.pem" },
		{ "rsa-pkcs1.pem", "rsa.pem" },
	};
	struct jwt_claims c, out;

	claims_init(&c);
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		struct jwt_key *sk = test_jwk_load(pairs[i][0], true);
		struct jwt_key *pk = test_jwk_load(pairs[i][1], false);
		char *tok = sk ? jwt_sign(sk, &c) : NULL;

		CHECK(tok != NULL && pk != NULL);
		if (tok == NULL || pk == NULL) {
			jwt_key_free(sk);
			jwt_key_free(pk);
			continue;
		}
		CHECK(jwt_verify(tok, &pk, 1, ISS, AUD, NOW, 0, &out) ==
		      JWT_OK);
		CHECK(claims_match(&out));
		jwt_claims_release(&out);
		CHECK(out.iss == NULL && out.n_access == 0);
		/* the signing key verifies too */
		CHECK(verify1(tok, sk) == JWT_OK);
		/* a public key cannot sign */
		CHECK(jwt_sign(pk, &c) == NULL);
		free(tok);
		jwt_key_free(sk);
		jwt_key_free(pk);
	}
	jwt_claims_release(&c);
}

/* The private "berth" claim survives signing and verifying. */
static void
test_berth_claim(void)
{
	struct jwt_key *sk = test_jwk_load("ec.pem", true);
	struct jwt_claims c, out;
	char *tok;

	claims_init(&c);
	c.kind = xstrdup("pat");
	c.tid = xstrdup("0b7c2f4e-5d0a-4c1e-9a37-2f6d1e8b9c00");
	c.id = 42;
	tok = sk ? jwt_sign(sk, &c) : NULL;
	CHECK(tok != NULL);
	if (tok != NULL) {
		CHECK(jwt_verify(tok, &sk, 1, ISS, AUD, NOW, 0, &out) ==
		      JWT_OK);
		CHECK(claims_match(&out));
		CHECK(out.kind && strcmp(out.kind, "pat") == 0);
		CHECK(out.tid && strcmp(out.tid, c.tid) == 0);
		CHECK(out.id == 42);
		jwt_claims_release(&out);
	}
	free(tok);
	/* without a token id or principal id, only the kind is sent */
	free(c.tid);
	c.tid = NULL;
	c.id = 0;
	free(c.kind);
	c.kind = xstrdup("password");
	tok = sk ? jwt_sign(sk, &c) : NULL;
	CHECK(tok != NULL);
	if (tok != NULL) {
		CHECK(jwt_verify(tok, &sk, 1, ISS, AUD, NOW, 0, &out) ==
		      JWT_OK);
		CHECK(out.kind && strcmp(out.kind, "password") == 0);
		CHECK(out.tid == NULL && out.id == 0);
		jwt_claims_release(&out);
	}
	free(tok);
	/* a token without the claim: kind NULL */
	free(c.kind);
	c.kind = NULL;
	tok = sk ? jwt_sign(sk, &c) : NULL;
	if (tok != NULL) {
		CHECK(jwt_verify(tok, &sk, 1, ISS, AUD, NOW, 0, &out) ==
		      JWT_OK);
		CHECK(out.kind == NULL && out.tid == NULL);
		jwt_claims_release(&out);
	}
	free(tok);
	jwt_claims_release(&c);
	jwt_key_free(sk);
}

/* Exact bytes: the header as the spec writes it, RS256 as Python signs. */
static void
test_encoding(void)
{
	struct jwt_key *ec = test_jwk_load("ec.pem", true),
		       *rsa = test_jwk_load("rsa.pem", true);
	char *want_rs = read_token("rs256.jwt");
	char *want_es = read_token("es256.jwt");
	struct jwt_claims c;
	char *tok, *h, *p;

	CHECK(ec != NULL && rsa != NULL && want_rs && want_es);
	if (!ec || !rsa || !want_rs || !want_es)
		goto out;
	claims_init(&c);
	tok = jwt_sign(ec, &c);
	h = segment(tok, 0);
	p = segment(tok, 1);
	CHECK(strcmp(h, "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"" KID_EC
			"\"}") == 0);
	CHECK(strcmp(p, CLAIMS_JSON) == 0);
	CHECK(strlen(sig_of(tok)) == 86);	/* 64 bytes, r||s */
	free(h);
	free(p);
	free(tok);
	/* RSA PKCS#1 v1.5 signatures are deterministic */
	tok = jwt_sign(rsa, &c);
	CHECK(tok != NULL && strcmp(tok, want_rs) == 0);
	free(tok);
	/* tokens from Python's cryptography verify */
	CHECK(verify1(want_rs, rsa) == JWT_OK);
	CHECK(verify1(want_es, ec) == JWT_OK);
	jwt_claims_release(&c);
out:
	free(want_rs);
	free(want_es);
	jwt_key_free(ec);
	jwt_key_free(rsa);
}

/* PEM's body is the base64 DER that x5c carries. */
static char *
pem_body(const char *name)
{
	char *rel = xasprintf("jwt/%s", name), *pem, *out, *p;
	size_t len = 0, o = 0;

	pem = test_read_file(rel, &len);
	free(rel);
	if (pem == NULL)
		return xstrdup("");
	out = xmalloc(len + 1);
	p = strstr(pem, "-----\n");
	for (p = p ? p + 6 : pem; *p && *p != '-'; p++)
		if (*p != '\n')
			out[o++] = *p;
	out[o] = '\0';
	free(pem);
	return out;
}

static void
test_x5c(void)
{
	struct jwt_key *k = test_jwk_load("ec.pem", true);
	char *chain = test_jwk_path("chain.pem");
	char *wrong = test_jwk_path("ca.pem");
	char *pubkey = test_jwk_path("ec-pub.pem");
	char *broken = test_jwk_path("broken-chain.pem");
	char *leaf = pem_body("leaf.pem"), *ca = pem_body("ca.pem");
	char *tok, *h, *want;
	struct jwt_claims c;

	CHECK(k != NULL);
	if (k == NULL)
		goto out;
	claims_init(&c);
	CHECK(jwt_key_set_chain(k, wrong) == -1);  /* not k's certificate */
	CHECK(jwt_key_set_chain(k, pubkey) == -1); /* no certificate */
	CHECK(jwt_key_set_chain(k, broken) == -1);
	CHECK(jwt_key_set_chain(k, chain) == 0);
	tok = jwt_sign(k, &c);
	h = segment(tok, 0);
	want = xasprintf("{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"" KID_EC
			 "\",\"x5c\":[\"%s\",\"%s\"]}", leaf, ca);
	CHECK(strcmp(h, want) == 0);
	CHECK(verify1(tok, k) == JWT_OK);
	free(want);
	free(h);
	free(tok);
	jwt_claims_release(&c);
out:
	jwt_key_free(k);
	free(chain);
	free(wrong);
	free(pubkey);
	free(broken);
	free(leaf);
	free(ca);
}

/* the start of a claim set with the right iss and aud */
#define IA "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","

/* Well-signed tokens whose claims must be refused, or read right. */
static void
test_claims(void)
{
	static const struct {
		const char *claims;
		enum jwt_verdict want;
	} cases[] = {
		{ IA "\"exp\":1700000001}",
		  JWT_OK },
		{ IA "\"exp\":1700000000}",
		  JWT_EXPIRED },
		{ IA "\"exp\":1699999000}",
		  JWT_EXPIRED },
		{ IA "\"exp\":1700000300,"
		  "\"nbf\":1700000000}", JWT_OK },
		{ IA "\"exp\":1700000300,"
		  "\"nbf\":1700000100}", JWT_NOT_YET_VALID },
		{ "{\"iss\":\"" ISS "\",\"aud\":\"other\",\"exp\":1700000300}",
		  JWT_WRONG_AUDIENCE },
		{ "{\"iss\":\"" ISS "\",\"exp\":1700000300}",
		  JWT_WRONG_AUDIENCE },
		{ "{\"iss\":\"" ISS "\",\"aud\":\"\",\"exp\":1700000300}",
		  JWT_WRONG_AUDIENCE },
		{ "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"" AUD "\",\"b\"],"
		  "\"exp\":1700000300}", JWT_OK },
		{ "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"],"
		  "\"exp\":1700000300}", JWT_WRONG_AUDIENCE },
		{ "{\"iss\":\"" ISS "\",\"aud\":[],\"exp\":1700000300}",
		  JWT_WRONG_AUDIENCE },
		{ "{\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\",1],"
		  "\"exp\":1700000300}", JWT_MALFORMED },
		{ "{\"iss\":\"evil\",\"aud\":\"" AUD "\",\"exp\":1700000300}",
		  JWT_WRONG_ISSUER },
		{ "{\"aud\":\"" AUD "\",\"exp\":1700000300}",
		  JWT_WRONG_ISSUER },
		{ "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}", JWT_MALFORMED },
		{ IA "\"exp\":1.7e9}",
		  JWT_MALFORMED },
		{ IA "\"exp\":\"1700000300\"}",
		  JWT_MALFORMED },
		{ IA "\"exp\":1700000300,"
		  "\"exp\":1800000000}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,"
		  "\"sub\":7}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,"
		  "\"access\":[]}", JWT_OK },
		{ IA "\"exp\":1700000300,"
		  "\"access\":{}}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,"
		  "\"access\":[{\"type\":\"repository\",\"name\":\"a\","
		  "\"actions\":[\"pull\",3]}]}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,"
		  "\"access\":[{\"type\":\"repository\",\"actions\":[]}]}",
		  JWT_MALFORMED },
		{ IA "\"exp\":1700000300,"
		  "\"access\":[\"repository:a:pull\"]}", JWT_MALFORMED },
		{ "[1,2,3]", JWT_MALFORMED },
		{ "{\"iss\":\"" ISS "\"} {}", JWT_MALFORMED },
		/* the private claim, when present, has its members' types */
		{ IA "\"exp\":1700000300,\"berth\":\"pat\"}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,\"berth\":{}}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,\"berth\":{\"kind\":1}}",
		  JWT_MALFORMED },
		{ IA "\"exp\":1700000300,\"berth\":{\"kind\":\"pat\","
		  "\"tid\":7}}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,\"berth\":{\"kind\":\"pat\","
		  "\"id\":\"7\"}}", JWT_MALFORMED },
		{ IA "\"exp\":1700000300,\"berth\":null}", JWT_OK },
		{ "", JWT_MALFORMED },
	};
	const char *hdr = "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"" KID_EC
			  "\"}";
	struct jwt_key *k = test_jwk_load("ec-pub.pem", false);
	struct jwt_claims out;
	char *tok;

	CHECK(k != NULL);
	if (k == NULL)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		tok = forge(hdr, cases[i].claims, "ec.pem");
		if (verify1(tok, k) != cases[i].want) {
			fprintf(stderr, "claims case %zu: %s\n", i,
				cases[i].claims);
			CHECK(0);
		} else {
			CHECK(1);
		}
		free(tok);
	}
	/* access absent: no entries; sub and jti absent: "" */
	tok = forge(hdr, cases[0].claims, "ec.pem");
	CHECK(jwt_verify(tok, &k, 1, ISS, AUD, NOW, 0, &out) == JWT_OK);
	CHECK(out.n_access == 0 && out.access == NULL && *out.sub == '\0' &&
	      *out.jti == '\0' && out.exp == NOW + 1 && out.nbf == 0);
	jwt_claims_release(&out);
	/* exp and nbf get the leeway */
	CHECK(jwt_verify(tok, &k, 1, ISS, AUD, NOW + 30, 60, &out) == JWT_OK);
	jwt_claims_release(&out);
	CHECK(jwt_verify(tok, &k, 1, ISS, AUD, NOW + 61, 60, &out) ==
	      JWT_EXPIRED);
	CHECK(out.iss == NULL && out.n_access == 0);
	/* an unset issuer or audience matches nothing */
	CHECK(jwt_verify(tok, &k, 1, "", AUD, NOW, 0, &out) ==
	      JWT_WRONG_ISSUER);
	CHECK(jwt_verify(tok, &k, 1, ISS, NULL, NOW, 0, &out) ==
	      JWT_WRONG_AUDIENCE);
	free(tok);
	tok = forge(hdr, cases[4].claims, "ec.pem");
	CHECK(jwt_verify(tok, &k, 1, ISS, AUD, NOW, 100, &out) == JWT_OK);
	jwt_claims_release(&out);
	free(tok);
	jwt_key_free(k);
}

/* Forged tokens and the verdict each must get. */
static void
test_forgeries(void)
{
	struct jwt_key *ec = test_jwk_load("ec-pub.pem", false),
		       *rsa = test_jwk_load("rsa-pub.pem", false),
		       *ec2 = test_jwk_load("ec2.pem", false);
	struct jwt_key *all[3] = { ec, rsa, ec2 }, *two_ec[2] = { ec, ec2 };
	struct jwt_key *ec_rsa[2] = { ec, rsa };
	const char *es_hdr =
		"{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"" KID_EC "\"}";
	struct jwt_claims out;
	char *good, *tok, *pub, *h, *c, *input, *alt;
	unsigned char mac[32];
	unsigned int mac_len = 0;
	size_t pub_len = 0;

	CHECK(ec && rsa && ec2);
	if (!ec || !rsa || !ec2)
		goto out;
	good = forge(es_hdr, CLAIMS_JSON, "ec.pem");
	CHECK(verify1(good, ec) == JWT_OK);
	CHECK(jwt_verify(good, all, 3, ISS, AUD, NOW, 0, &out) == JWT_OK);
	jwt_claims_release(&out);

	/* signed with another key under our kid */
	tok = forge(es_hdr, CLAIMS_JSON, "ec2.pem");
	CHECK(verify1(tok, ec) == JWT_BAD_SIGNATURE);
	CHECK(jwt_verify(tok, all, 3, ISS, AUD, NOW, 0, &out) ==
	      JWT_BAD_SIGNATURE);
	free(tok);

	/* alg none, empty signature, with and without our kid */
	tok = forge("{\"alg\":\"none\",\"kid\":\"" KID_EC "\"}", CLAIMS_JSON,
		    NULL);
	CHECK(verify1(tok, ec) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"none\"}", CLAIMS_JSON, NULL);
	CHECK(verify1(tok, ec) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"None\",\"typ\":\"JWT\"}", CLAIMS_JSON, NULL);
	CHECK(verify1(tok, ec) == JWT_BAD_ALG);
	free(tok);

	/* HS256 keyed with the public key PEM (the classic confusion) */
	pub = test_read_file("jwt/ec-pub.pem", &pub_len);
	CHECK(pub != NULL);
	h = b64url_str("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"" KID_EC
		       "\"}");
	c = b64url_str(CLAIMS_JSON);
	input = xasprintf("%s.%s", h, c);
	HMAC(EVP_sha256(), pub ? pub : "", (int)pub_len,
	     (unsigned char *)input, strlen(input), mac, &mac_len);
	alt = jwt_b64url(mac, mac_len);
	tok = xasprintf("%s.%s", input, alt);
	CHECK(verify1(tok, ec) == JWT_BAD_ALG);
	CHECK(jwt_verify(tok, all, 3, ISS, AUD, NOW, 0, &out) == JWT_BAD_ALG);
	free(tok);
	free(alt);
	free(input);
	free(h);
	free(c);
	free(pub);
	tok = forge("{\"alg\":\"HS256\"}", CLAIMS_JSON, NULL);
	CHECK(verify1(tok, rsa) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"ES384\",\"kid\":\"" KID_EC "\"}", CLAIMS_JSON,
		    "ec.pem");
	CHECK(verify1(tok, ec) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"PS256\",\"kid\":\"" KID_RSA "\"}", CLAIMS_JSON,
		    "rsa.pem");
	CHECK(verify1(tok, rsa) == JWT_BAD_ALG);
	free(tok);

	/* algorithm swapped against the key's type */
	tok = forge("{\"alg\":\"RS256\",\"kid\":\"" KID_EC "\"}", CLAIMS_JSON,
		    "rsa.pem");
	CHECK(jwt_verify(tok, all, 3, ISS, AUD, NOW, 0, &out) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"ES256\",\"kid\":\"" KID_RSA "\"}", CLAIMS_JSON,
		    "ec.pem");
	CHECK(jwt_verify(tok, all, 3, ISS, AUD, NOW, 0, &out) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"RS256\"}", CLAIMS_JSON, "rsa.pem");
	CHECK(verify1(tok, ec) == JWT_BAD_ALG);
	CHECK(verify1(tok, rsa) == JWT_OK);
	free(tok);

	/* claims changed under the original signature */
	c = b64url_str("{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD
		       "\",\"exp\":1700000300,\"access\":[{\"type\":"
		       "\"repository\",\"name\":\"org/app\",\"actions\":"
		       "[\"pull\",\"push\",\"delete\"]}]}");
	h = xstrndup(good, (size_t)(strchr(good, '.') - good));
	tok = xasprintf("%s.%s.%s", h, c, sig_of(good));
	CHECK(verify1(tok, ec) == JWT_BAD_SIGNATURE);
	free(tok);
	free(c);
	free(h);
	/* header changed under the original signature */
	h = b64url_str("{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"" KID_EC
		       "\",\"x\":1}");
	tok = xasprintf("%s%s", h, strchr(good, '.'));
	CHECK(verify1(tok, ec) == JWT_BAD_SIGNATURE);
	free(tok);
	free(h);
	/* signature truncated, padded or emptied */
	tok = xstrndup(good, strlen(good) - 2);
	CHECK(verify1(tok, ec) == JWT_BAD_SIGNATURE);
	free(tok);
	tok = xasprintf("%sAAAA", good);
	CHECK(verify1(tok, ec) == JWT_BAD_SIGNATURE);
	free(tok);
	tok = xstrndup(good, (size_t)(sig_of(good) - good));
	CHECK(verify1(tok, ec) == JWT_BAD_SIGNATURE);
	free(tok);

	/* key choice */
	tok = forge("{\"alg\":\"ES256\",\"kid\":\"ABCD\"}", CLAIMS_JSON,
		    "ec.pem");
	CHECK(verify1(tok, ec) == JWT_UNKNOWN_KID);
	free(tok);
	tok = forge("{\"alg\":\"ES256\",\"kid\":\"" KID_EC2 "\"}", CLAIMS_JSON,
		    "ec2.pem");
	CHECK(verify1(tok, ec) == JWT_UNKNOWN_KID);
	CHECK(jwt_verify(tok, all, 3, ISS, AUD, NOW, 0, &out) == JWT_OK);
	jwt_claims_release(&out);
	free(tok);
	tok = forge("{\"alg\":\"ES256\"}", CLAIMS_JSON, "ec.pem");
	CHECK(verify1(tok, ec) == JWT_OK);
	CHECK(jwt_verify(tok, ec_rsa, 2, ISS, AUD, NOW, 0, &out) == JWT_OK);
	jwt_claims_release(&out);
	CHECK(jwt_verify(tok, two_ec, 2, ISS, AUD, NOW, 0, &out) ==
	      JWT_UNKNOWN_KID);
	CHECK(jwt_verify(tok, NULL, 0, ISS, AUD, NOW, 0, &out) ==
	      JWT_UNKNOWN_KID);
	CHECK(verify1(tok, rsa) == JWT_BAD_ALG);
	free(tok);
	tok = forge("{\"alg\":\"ES256\",\"kid\":7}", CLAIMS_JSON, "ec.pem");
	CHECK(verify1(tok, ec) == JWT_MALFORMED);
	free(tok);
	/* embedded keys are never trusted */
	tok = forge("{\"alg\":\"ES256\",\"kid\":\"" KID_EC2 "\",\"jwk\":{"
		    "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" SPEC_X "\","
		    "\"y\":\"" SPEC_Y "\"}}", CLAIMS_JSON, "ec2.pem");
	CHECK(verify1(tok, ec) == JWT_UNKNOWN_KID);
	free(tok);
	/* unknown critical extensions; duplicate header keys */
	tok = forge("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}",
		    CLAIMS_JSON, "ec.pem");
	CHECK(verify1(tok, ec) == JWT_MALFORMED);
	free(tok);
	tok = forge("{\"alg\":\"ES256\",\"alg\":\"none\"}", CLAIMS_JSON,
		    "ec.pem");
	CHECK(verify1(tok, ec) == JWT_MALFORMED);
	free(tok);
	tok = forge("{\"alg\":\"ES256\"}x", CLAIMS_JSON, "ec.pem");
	CHECK(verify1(tok, ec) == JWT_MALFORMED);
	free(tok);
	tok = forge("[\"ES256\"]", CLAIMS_JSON, "ec.pem");
	CHECK(verify1(tok, ec) == JWT_MALFORMED);
	free(tok);
	tok = forge("{\"kid\":\"" KID_EC "\"}", CLAIMS_JSON, "ec.pem");
	CHECK(verify1(tok, ec) == JWT_MALFORMED);
	free(tok);
	free(good);
out:
	jwt_key_free(ec);
	jwt_key_free(rsa);
	jwt_key_free(ec2);
}

/* Tokens that are not well-formed compact JWS at all. */
static void
test_malformed(void)
{
	struct jwt_key *k = test_jwk_load("ec.pem", true);
	struct jwt_claims c, out;
	char *good, *tok, *huge, *h, *pad, *many;
	size_t len;
	static const char *bad[] = {
		"", ".", "..", "...", "a", "a.b", "eyJhbGciOiJFUzI1NiJ9",
		"a.b.c.d", "eyJhbGciOiJFUzI1NiJ9..", ".eyJ9.abc",
		"eyJhbGciOiJFUzI1NiJ9.e30.abc.", "e$J9.e30.abc",
		"eyJhbGciOiJFUzI1NiJ9=.e30.abc",
		"eyJhbGciOiJFUzI1NiJ9.e30=.abc",
		"eyJhbGciOiJFUzI1NiJ9 .e30.abc", "eyJhbGciOiJFUzI1NiJ9.e30.a",
		"eyJhbGciOiJFUzI1NiJ9.e30.ab+/",
		/* non-canonical: nonzero unused bits ("e31" for "e30") */
		"eyJhbGciOiJFUzI1NiJ9.e31.abc",
	};

	CHECK(k != NULL);
	if (k == NULL)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (verify1(bad[i], k) != JWT_MALFORMED) {
			fprintf(stderr, "malformed case %zu: \"%s\"\n", i,
				bad[i]);
			CHECK(0);
		} else {
			CHECK(1);
		}
	}
	CHECK(jwt_verify(NULL, &k, 1, ISS, AUD, NOW, 0, &out) ==
	      JWT_MALFORMED);
	claims_init(&c);
	good = jwt_sign(k, &c);
	/* trailing garbage after a good token */
	tok = xasprintf("%s\n", good);
	CHECK(verify1(tok, k) == JWT_MALFORMED);
	free(tok);
	tok = xasprintf("%s.", good);
	CHECK(verify1(tok, k) == JWT_MALFORMED);
	free(tok);
	tok = xasprintf("%s=", good);
	CHECK(verify1(tok, k) == JWT_MALFORMED);
	free(tok);
	tok = xasprintf(" %s", good);
	CHECK(verify1(tok, k) == JWT_MALFORMED);
	free(tok);
	/*
	 * 16 KiB is the limit: a long header and a long signature segment
	 * get as far as the signature check at 16384 bytes, and no further
	 * at 16385, where they are still valid base64url.
	 */
	huge = xmalloc(16 * 1024 + 2);
	for (size_t padlen = 12000;; padlen++) {
		pad = xmalloc(padlen + 1);
		memset(pad, 'p', padlen);
		pad[padlen] = '\0';
		tok = xasprintf("{\"alg\":\"ES256\",\"pad\":\"%s\"}", pad);
		h = b64url_str(tok);
		free(tok);
		free(pad);
		len = strlen(h) + strlen(".e30.");
		if ((16 * 1024 - len) % 4 == 3 || padlen > 12100)
			break;
		free(h);
	}
	memset(huge, 'A', 16 * 1024 + 1);
	memcpy(huge, h, strlen(h));
	memcpy(huge + strlen(h), ".e30.", 5);
	huge[16 * 1024 + 1] = '\0';
	CHECK(verify1(huge, k) == JWT_MALFORMED);
	huge[16 * 1024] = '\0';
	CHECK(verify1(huge, k) == JWT_BAD_SIGNATURE);
	free(huge);
	free(h);
	/* claims too large for a token sign as nothing */
	many = xmalloc(20000);
	memset(many, 'x', 19999);
	many[19999] = '\0';
	free(c.sub);
	c.sub = many;
	CHECK(jwt_sign(k, &c) == NULL);
	/* nor do strings that are not UTF-8 */
	free(c.sub);
	c.sub = xstrdup("\xff\xfe");
	CHECK(jwt_sign(k, &c) == NULL);
	jwt_claims_release(&c);
	free(good);
	jwt_key_free(k);
}



/* Tokens verify with the keys of a JWKS; parsed keys never sign. */
static void
test_jwks(void)
{
	struct jwt_key *ec = test_jwk_load("ec.pem", true);
	struct jwt_key *rsa = test_jwk_load("rsa.pem", false);
	struct jwt_key *pair[2] = { ec, rsa }, **keys = NULL;
	char *doc = NULL, *tok;
	const char *spec;
	struct jwt_claims c, out;
	int n = 0;

	claims_init(&c);
	CHECK(ec != NULL && rsa != NULL);
	if (ec == NULL || rsa == NULL)
		goto out;
	doc = jwt_jwks_render(pair, 2);
	CHECK(doc != NULL && jwt_jwks_parse(doc, strlen(doc), &keys, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		tok = jwt_sign(ec, &c);
		CHECK(jwt_verify(tok, keys, n, ISS, AUD, NOW, 0, &out) ==
		      JWT_OK);
		jwt_claims_release(&out);
		free(tok);
		tok = read_token("rs256.jwt");
		CHECK(jwt_verify(tok, keys, n, ISS, AUD, NOW, 0, &out) ==
		      JWT_OK);
		jwt_claims_release(&out);
		free(tok);
		/* parsed keys are public only */
		CHECK(jwt_sign(keys[0], &c) == NULL);
	}
	for (int i = 0; i < n; i++)
		jwt_key_free(keys[i]);
	free(keys);

	/* the spec's JWK with its private "d", which is ignored */
	spec = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"R7OnbfMa"
	       "D5J2jl7GeE8ESo7CnHSBm_1N2k9IXYFrKJA\",\"x\":\"" SPEC_X
	       "\",\"y\":\"" SPEC_Y "\"}]}";
	CHECK(jwt_jwks_parse(spec, strlen(spec), &keys, &n) == 0 && n == 1);
	if (n == 1) {
		CHECK(jwt_sign(keys[0], &c) == NULL);
		/*
		 * The example token in the Docker spec names this key; its
		 * signature does not verify (Python's cryptography agrees), so
		 * what this shows is that its kid finds the key.
		 */
		CHECK(jwt_verify(spec_token, keys, 1, "auth.docker.com",
				 "registry.docker.com", 1415387100, 0,
				 &out) == JWT_BAD_SIGNATURE);
	}
	for (int i = 0; i < n; i++)
		jwt_key_free(keys[i]);
	free(keys);
out:
	jwt_claims_release(&c);
	free(doc);
	jwt_key_free(ec);
	jwt_key_free(rsa);
}

void
test_jwt(void)
{
	enum log_level saved = log_level;

	/* the refusals below are meant; their warnings would only be noise */
	if (getenv("BERTH_TEST_VERBOSE") == NULL)
		log_level = LOG_LVL_ERROR;
	CHECK(strcmp(jwt_verdict_str(JWT_OK), "valid") == 0);
	CHECK(strcmp(jwt_verdict_str(JWT_BAD_ALG), "") != 0);
	test_round_trip();
	test_berth_claim();
	test_encoding();
	test_x5c();
	test_claims();
	test_forgeries();
	test_malformed();
	test_jwks();
	log_level = saved;
}
