/*
 * Registry tokens (see jwt.h), on OpenSSL and jansson directly rather than
 * libjwt, so that every check is ours to see: the verifier decodes the
 * header itself, allows only ES256 and RS256 with a key of that type, checks
 * the signature over the exact "header.payload" bytes before it reads a
 * claim, and parses strictly (bounded input, canonical unpadded base64url,
 * JSON objects without duplicate keys). The keys come from lib/jwk.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "util.h"

#define JWT_MAX (16 * 1024)	/* longest token verified or signed */
#define EC_COORD JWK_EC_COORD

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
	const char *const *chain;
	int n_x5c = jwk_chain(k, &chain);

	if (h == NULL || set_string(h, "typ", "JWT") ||
	    set_string(h, "alg", jwt_key_alg(k)) ||
	    set_string(h, "kid", jwt_key_kid(k)))
		goto fail;
	if (n_x5c > 0) {
		if ((x5c = json_array()) == NULL ||
		    json_object_set_new(h, "x5c", x5c))
			goto fail;
		for (int i = 0; i < n_x5c; i++)
			if (json_array_append_new(x5c, json_string(chain[i])))
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
	EVP_PKEY *pkey = jwk_pkey(k);
	ECDSA_SIG *es = NULL;
	const unsigned char *p;
	unsigned char *sig = NULL, raw[2 * EC_COORD];
	char *out = NULL;
	size_t n = 0;

	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)msg, len) !=
		    1)
		goto out;
	sig = xmalloc(n);
	if (EVP_DigestSign(ctx, sig, &n, (const unsigned char *)msg, len) != 1)
		goto out;
	if (jwk_type(k) == JWK_RSA) {
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
		log_warnx("could not sign with key %s: %s", jwt_key_kid(k),
			  jwk_ssl_error());
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

	if (!jwk_has_private(k)) {
		log_warnx("could not sign: key %s has no private half",
			  jwt_key_kid(k));
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
	if (jwk_b64url_decode(token, (size_t)(d1 - token), &t->header,
			  &t->header_len) < 0 ||
	    jwk_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &t->payload,
			  &t->payload_len) < 0 ||
	    jwk_b64url_decode(d2 + 1, len - t->signed_len - 1, &t->sig,
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
	enum jwk_type type;
	enum jwt_verdict v = JWT_MALFORMED;
	json_t *h = object_load(t->header, t->header_len);
	int matches = 0;

	*key = NULL;
	if (h == NULL || jwk_member_string(h, "alg", &alg) < 0 || alg == NULL ||
	    jwk_member_string(h, "kid", &kid) < 0)
		goto out;
	/* we understand no JWS extensions, so none can be critical */
	if (json_object_get(h, "crit") != NULL)
		goto out;
	v = JWT_BAD_ALG;
	if (strcmp(alg, "ES256") == 0)
		type = JWK_EC;
	else if (strcmp(alg, "RS256") == 0)
		type = JWK_RSA;
	else
		goto out;
	for (int i = 0; i < n; i++) {
		if (kid != NULL ? strcmp(jwt_key_kid(keys[i]), kid) == 0
				: jwk_type(keys[i]) == type) {
			if (matches++ == 0)
				*key = keys[i];
		}
	}
	if (*key == NULL)
		v = kid != NULL || n == 0 ? JWT_UNKNOWN_KID : JWT_BAD_ALG;
	else if (kid == NULL && matches > 1)
		v = JWT_UNKNOWN_KID;
	else if (jwk_type(*key) != type)
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
	EVP_PKEY *pkey = jwk_pkey(k);
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const unsigned char *check = sig;
	int der_len;
	bool ok = false;

	if (jwk_type(k) == JWK_EC) {
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
	} else if (sig_len != (size_t)EVP_PKEY_get_size(pkey)) {
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1)
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

	if (jwk_member_string(o, key, &s) < 0)
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

	if (!json_is_object(o) || jwk_member_string(o, "type", &type) < 0 ||
	    jwk_member_string(o, "name", &name) < 0 || type == NULL ||
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
	if (!json_is_object(b) || jwk_member_string(b, "kind", &kind) < 0 ||
	    kind == NULL || jwk_member_string(b, "tid", &tid) < 0)
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
