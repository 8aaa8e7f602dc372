/*
 * Content digests: parsing "algorithm:encoded" strings and hashing with a
 * state that can be exported and imported, so an upload begun on one node
 * continues on another without re-reading the bytes already received.
 */
#ifndef BERTH_DIGEST_H
#define BERTH_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define OPENSSL_SUPPRESS_DEPRECATED	/* the SHA*_CTX structs are exportable */
#include <openssl/sha.h>

#include "util.h"

enum digest_alg { DIGEST_SHA256, DIGEST_SHA512 };

/* "sha512:" + 128 hex digits + NUL */
#define DIGEST_MAX 136

enum digest_status {
	DIGEST_OK = 0,
	DIGEST_BAD = -1,	 /* not of the digest grammar */
	DIGEST_UNSUPPORTED = -2, /* well-formed, but an algorithm we lack */
};

/*
 * Checks s against the OCI digest grammar and the registered algorithms'
 * encodings (lowercase hex of the right length). On DIGEST_OK sets *alg.
 */
enum digest_status digest_parse(const char *s, enum digest_alg *alg) MUST_CHECK;

/* The hex part of a parsed digest (what follows the colon). */
const char *digest_hex(const char *digest);

/* "sha256" or "sha512". */
const char *digest_alg_name(enum digest_alg alg);

struct digest_ctx {
	enum digest_alg alg;
	union {
		SHA256_CTX s256;
		SHA512_CTX s512;
	} u;
};

void digest_init(struct digest_ctx *c, enum digest_alg alg);
void digest_update(struct digest_ctx *c, const void *data, size_t len);
/* Writes "alg:hex" into out (DIGEST_MAX bytes). The context is spent. */
void digest_final(struct digest_ctx *c, char *out);

/* Hashes one buffer: digest_init + update + final. */
void digest_buffer(enum digest_alg alg, const void *data, size_t len,
		   char *out);

/* An exported state is at most this many bytes. */
#define DIGEST_STATE_MAX (8 + sizeof(SHA512_CTX))

/*
 * Serialises the running state into buf (DIGEST_STATE_MAX bytes) and
 * returns its length. The format is tied to this OpenSSL build's struct
 * layout; digest_import() refuses a state it cannot trust, and the caller
 * then rehashes the bytes from storage.
 */
size_t digest_export(const struct digest_ctx *c, unsigned char *buf);
int digest_import(struct digest_ctx *c, const unsigned char *buf,
		  size_t len) MUST_CHECK;

#endif
