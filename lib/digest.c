/*
 * Digest parsing and resumable hashing (see digest.h). OpenSSL's EVP API
 * cannot serialise a running hash, so we use the SHA256_CTX/SHA512_CTX
 * structs, which share EVP's assembly block functions and so its speed.
 */
#include <stdbool.h>

#include "digest.h"

static const char state_magic[4] = { 'B', 'D', 'S', '1' };

static bool
is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

static bool
is_alg_component_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_encoded_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '=' || c == '_' || c == '-';
}

enum digest_status
digest_parse(const char *s, enum digest_alg *alg)
{
	const char *colon, *p;

	if (s == NULL || (colon = strchr(s, ':')) == NULL)
		return DIGEST_BAD;
	/* algorithm: component (separator component)* */
	if (colon == s || !is_alg_component_char(s[0]) ||
	    !is_alg_component_char(colon[-1]))
		return DIGEST_BAD;
	for (p = s; p < colon; p++) {
		if (is_alg_component_char(*p))
			continue;
		if (strchr("+._-", *p) == NULL || !is_alg_component_char(p[1]))
			return DIGEST_BAD;
	}
	if (colon[1] == '\0' || strlen(colon + 1) > 1024)
		return DIGEST_BAD;
	for (p = colon + 1; *p; p++)
		if (!is_encoded_char(*p))
			return DIGEST_BAD;
	if (colon - s == 6 && memcmp(s, "sha256", 6) == 0) {
		if (!is_lower_hex(colon + 1, 64))
			return DIGEST_BAD;
		*alg = DIGEST_SHA256;
		return DIGEST_OK;
	}
	if (colon - s == 6 && memcmp(s, "sha512", 6) == 0) {
		if (!is_lower_hex(colon + 1, 128))
			return DIGEST_BAD;
		*alg = DIGEST_SHA512;
		return DIGEST_OK;
	}
	return DIGEST_UNSUPPORTED;
}

const char *
digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');

	return colon ? colon + 1 : digest;
}

const char *
digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? "sha512" : "sha256";
}

void
digest_init(struct digest_ctx *c, enum digest_alg alg)
{
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	if (alg == DIGEST_SHA512)
		SHA512_Init(&c->u.s512);
	else
		SHA256_Init(&c->u.s256);
}

void
digest_update(struct digest_ctx *c, const void *data, size_t len)
{
	if (c->alg == DIGEST_SHA512)
		SHA512_Update(&c->u.s512, data, len);
	else
		SHA256_Update(&c->u.s256, data, len);
}

void
digest_final(struct digest_ctx *c, char *out)
{
	unsigned char md[SHA512_DIGEST_LENGTH] = { 0 };
	size_t n;

	if (c->alg == DIGEST_SHA512) {
		SHA512_Final(md, &c->u.s512);
		n = SHA512_DIGEST_LENGTH;
	} else {
		SHA256_Final(md, &c->u.s256);
		n = SHA256_DIGEST_LENGTH;
	}
	memcpy(out, digest_alg_name(c->alg), 6);
	out[6] = ':';
	util_hex(out + 7, md, n);
}

void
digest_buffer(enum digest_alg alg, const void *data, size_t len, char *out)
{
	struct digest_ctx c;

	digest_init(&c, alg);
	digest_update(&c, data, len);
	digest_final(&c, out);
}

static size_t
ctx_size(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? sizeof(SHA512_CTX) : sizeof(SHA256_CTX);
}

size_t
digest_export(const struct digest_ctx *c, unsigned char *buf)
{
	size_t n = ctx_size(c->alg);

	memcpy(buf, state_magic, 4);
	buf[4] = (unsigned char)c->alg;
	buf[5] = (unsigned char)n;
	buf[6] = buf[7] = 0;
	memcpy(buf + 8, &c->u, n);
	return 8 + n;
}

int
digest_import(struct digest_ctx *c, const unsigned char *buf, size_t len)
{
	enum digest_alg alg;

	if (len < 8 || memcmp(buf, state_magic, 4) != 0 || buf[4] > 1)
		return -1;
	alg = buf[4] == 1 ? DIGEST_SHA512 : DIGEST_SHA256;
	if (buf[5] != ctx_size(alg) || len != 8 + ctx_size(alg))
		return -1;
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	memcpy(&c->u, buf + 8, ctx_size(alg));
	/* A state whose counts are out of range was not ours. */
	if (alg == DIGEST_SHA256 ? c->u.s256.num >= SHA256_CBLOCK ||
					   c->u.s256.md_len != SHA256_DIGEST_LENGTH
				 : c->u.s512.num >= SHA512_CBLOCK ||
					   c->u.s512.md_len != SHA512_DIGEST_LENGTH)
		return -1;
	return 0;
}
