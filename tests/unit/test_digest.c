/*
 * Digest tests: the OCI digest grammar as digest_parse() applies it, the
 * standard SHA-2 vectors, and resumable hashing, where a state exported
 * mid-stream and imported elsewhere must finish with the same digest.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "test.h"
#include "util.h"

#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX128                                                                 \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"    \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

static const struct {
	const char *s;
	enum digest_status want;
	enum digest_alg alg;
} parse_cases[] = {
	{ "sha256:" HEX64, DIGEST_OK, DIGEST_SHA256 },
	{ "sha512:" HEX128, DIGEST_OK, DIGEST_SHA512 },
	{ "sha256:00000000000000000000000000000000"
	  "00000000000000000000000000000000", DIGEST_OK, DIGEST_SHA256 },
	/* registered algorithms: lowercase hex of the exact length */
	{ "sha256:E3B0C44298FC1C149AFBF4C8996FB924"
	  "27AE41E4649B934CA495991B7852B855", DIGEST_BAD, 0 },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb924"
	  "27ae41e4649b934ca495991b7852b85", DIGEST_BAD, 0 },
	{ "sha256:" HEX64 "5", DIGEST_BAD, 0 },
	{ "sha256:" HEX64 " ", DIGEST_BAD, 0 },
	{ "sha256:" HEX128, DIGEST_BAD, 0 },
	{ "sha512:" HEX64, DIGEST_BAD, 0 },
	{ "sha256:g3b0c44298fc1c149afbf4c8996fb924"
	  "27ae41e4649b934ca495991b7852b855", DIGEST_BAD, 0 },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb924"
	  "27ae41e4649b934ca495991b7852b8=5", DIGEST_BAD, 0 },
	/* the grammar itself */
	{ "", DIGEST_BAD, 0 },
	{ ":", DIGEST_BAD, 0 },
	{ "sha256", DIGEST_BAD, 0 },
	{ HEX64, DIGEST_BAD, 0 },
	{ "sha256:", DIGEST_BAD, 0 },
	{ ":" HEX64, DIGEST_BAD, 0 },
	{ "SHA256:" HEX64, DIGEST_BAD, 0 },
	{ "Sha256:" HEX64, DIGEST_BAD, 0 },
	{ "sha 256:" HEX64, DIGEST_BAD, 0 },
	{ "sha256+:abc", DIGEST_BAD, 0 },
	{ "+sha256:abc", DIGEST_BAD, 0 },
	{ "sha++256:abc", DIGEST_BAD, 0 },
	{ "sha/256:abc", DIGEST_BAD, 0 },
	{ "foo:abc!", DIGEST_BAD, 0 },
	{ "foo:abc def", DIGEST_BAD, 0 },
	{ "foo:abc:def", DIGEST_BAD, 0 },
	{ " sha256:" HEX64, DIGEST_BAD, 0 },
	/* well-formed, but not an algorithm we have */
	{ "md5:d41d8cd98f00b204e9800998ecf8427e", DIGEST_UNSUPPORTED, 0 },
	{ "sha384:abc", DIGEST_UNSUPPORTED, 0 },
	{ "sha_256:" HEX64, DIGEST_UNSUPPORTED, 0 },
	{ "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
	  DIGEST_UNSUPPORTED, 0 },
	{ "a.b-c_d+e:A-Za-z0-9=_-", DIGEST_UNSUPPORTED, 0 },
	{ "blake3:" HEX64, DIGEST_UNSUPPORTED, 0 },
};

static void
test_parse(void)
{
	enum digest_alg alg;
	char *s;

	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		enum digest_status st;

		alg = (enum digest_alg)-1;
		st = digest_parse(parse_cases[i].s, &alg);
		CHECK(st == parse_cases[i].want);
		if (st != parse_cases[i].want)
			fprintf(stderr, "  \"%s\": got %d\n", parse_cases[i].s,
				(int)st);
		if (st == DIGEST_OK)
			CHECK(alg == parse_cases[i].alg);
	}
	CHECK(digest_parse(NULL, &alg) == DIGEST_BAD);

	/* the encoded part is bounded at 1024 characters */
	s = xmalloc(5 + 1025 + 1);
	memcpy(s, "foo:", 4);
	memset(s + 4, 'a', 1024);
	s[4 + 1024] = '\0';
	CHECK(digest_parse(s, &alg) == DIGEST_UNSUPPORTED);
	s[4 + 1024] = 'a';
	s[4 + 1025] = '\0';
	CHECK(digest_parse(s, &alg) == DIGEST_BAD);
	free(s);

	CHECK(strcmp(digest_hex("sha256:" HEX64), HEX64) == 0);
	CHECK(strcmp(digest_alg_name(DIGEST_SHA256), "sha256") == 0);
	CHECK(strcmp(digest_alg_name(DIGEST_SHA512), "sha512") == 0);
}

static void
test_vectors(void)
{
	char out[DIGEST_MAX];
	enum digest_alg alg;

	digest_buffer(DIGEST_SHA256, "", 0, out);
	CHECK(strcmp(out, "sha256:" HEX64) == 0);
	digest_buffer(DIGEST_SHA256, "abc", 3, out);
	CHECK(strcmp(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a3"
			  "96177a9cb410ff61f20015ad") == 0);
	digest_buffer(DIGEST_SHA512, "", 0, out);
	CHECK(strcmp(out, "sha512:" HEX128) == 0);
	CHECK(strlen(out) == DIGEST_MAX - 1);
	digest_buffer(DIGEST_SHA512, "abc", 3, out);
	CHECK(strcmp(out, "sha512:ddaf35a193617abacc417349ae20413112e6fa4e"
			  "89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
			  "a3feebbd454d4423643ce80e2a9ac94fa54ca49f") == 0);
	/* what we produce, we accept */
	CHECK(digest_parse(out, &alg) == DIGEST_OK && alg == DIGEST_SHA512);
}

#define DATA_LEN 2000

static void
fill(unsigned char *data)
{
	for (size_t i = 0; i < DATA_LEN; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 8));
}

/* Hash data[0..split), hand the state over, hash the rest. */
static void
check_split(enum digest_alg alg, const unsigned char *data, size_t split)
{
	struct digest_ctx a, b;
	unsigned char state[DIGEST_STATE_MAX];
	char want[DIGEST_MAX], got[DIGEST_MAX];
	size_t n;

	digest_buffer(alg, data, DATA_LEN, want);
	digest_init(&a, alg);
	digest_update(&a, data, split);
	n = digest_export(&a, state);
	CHECK(n > 8 && n <= DIGEST_STATE_MAX);
	/* the importer must not depend on anything the exporter kept */
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	CHECK(digest_import(&b, state, n) == 0);
	CHECK(b.alg == alg);
	digest_update(&b, data + split, DATA_LEN - split);
	digest_final(&b, got);
	CHECK(strcmp(want, got) == 0);
	if (strcmp(want, got) != 0)
		fprintf(stderr, "  %s split at %zu differs\n",
			digest_alg_name(alg), split);
}

/* Export and import after every odd-sized chunk. */
static void
check_chain(enum digest_alg alg, const unsigned char *data)
{
	struct digest_ctx c;
	unsigned char state[DIGEST_STATE_MAX];
	char want[DIGEST_MAX], got[DIGEST_MAX];
	size_t off = 0, n;
	int ok = 1;

	digest_buffer(alg, data, DATA_LEN, want);
	digest_init(&c, alg);
	while (off < DATA_LEN) {
		size_t chunk = DATA_LEN - off < 37 ? DATA_LEN - off : 37;

		digest_update(&c, data + off, chunk);
		off += chunk;
		n = digest_export(&c, state);
		if (digest_import(&c, state, n) != 0)
			ok = 0;
	}
	CHECK(ok);
	digest_final(&c, got);
	CHECK(strcmp(want, got) == 0);
}

static void
test_resume(void)
{
	static const size_t splits[] = { 0, 1, 63, 64, 65, 127, 128, 129,
					 1000, DATA_LEN - 1, DATA_LEN };
	unsigned char *data = xmalloc(DATA_LEN);

	fill(data);
	for (size_t i = 0; i < ARRAY_SIZE(splits); i++) {
		check_split(DIGEST_SHA256, data, splits[i]);
		check_split(DIGEST_SHA512, data, splits[i]);
	}
	check_chain(DIGEST_SHA256, data);
	check_chain(DIGEST_SHA512, data);
	free(data);
}

/* A state exported after len bytes, for corrupting. */
static size_t
export_after(enum digest_alg alg, size_t len, unsigned char *state)
{
	struct digest_ctx c;
	unsigned char data[300];

	memset(data, 'x', sizeof(data));
	digest_init(&c, alg);
	digest_update(&c, data, len);
	return digest_export(&c, state);
}

static void
test_import_refuses(void)
{
	unsigned char st[DIGEST_STATE_MAX + 1];
	unsigned char s512[DIGEST_STATE_MAX];
	struct digest_ctx c;
	size_t n, n512;
	unsigned int num;

	n = export_after(DIGEST_SHA256, 100, st);
	CHECK(n == 8 + sizeof(SHA256_CTX));
	CHECK(digest_import(&c, st, n) == 0);
	CHECK(digest_import(&c, st, 0) != 0);
	CHECK(digest_import(&c, st, 7) != 0);
	CHECK(digest_import(&c, st, 8) != 0);
	CHECK(digest_import(&c, st, n - 1) != 0);
	CHECK(digest_import(&c, st, n + 1) != 0);

	st[0] ^= 1;		/* magic */
	CHECK(digest_import(&c, st, n) != 0);
	st[0] ^= 1;
	st[3] = '2';
	CHECK(digest_import(&c, st, n) != 0);
	st[3] = '1';
	st[4] = 2;		/* no such algorithm */
	CHECK(digest_import(&c, st, n) != 0);
	st[4] = 1;		/* sha512 with a sha256 body */
	CHECK(digest_import(&c, st, n) != 0);
	st[4] = 0;
	st[5]++;		/* recorded size */
	CHECK(digest_import(&c, st, n) != 0);
	st[5]--;
	CHECK(digest_import(&c, st, n) == 0);

	/* the block buffer count must lie inside the block */
	memcpy(&num, st + 8 + offsetof(SHA256_CTX, num), sizeof(num));
	CHECK(num == 100 % SHA256_CBLOCK);
	num = SHA256_CBLOCK - 1;
	memcpy(st + 8 + offsetof(SHA256_CTX, num), &num, sizeof(num));
	CHECK(digest_import(&c, st, n) == 0);
	num = SHA256_CBLOCK;
	memcpy(st + 8 + offsetof(SHA256_CTX, num), &num, sizeof(num));
	CHECK(digest_import(&c, st, n) != 0);
	num = 0xffffffffu;
	memcpy(st + 8 + offsetof(SHA256_CTX, num), &num, sizeof(num));
	CHECK(digest_import(&c, st, n) != 0);

	n512 = export_after(DIGEST_SHA512, 200, s512);
	CHECK(n512 == 8 + sizeof(SHA512_CTX) && n512 <= DIGEST_STATE_MAX);
	CHECK(digest_import(&c, s512, n512) == 0 && c.alg == DIGEST_SHA512);
	CHECK(digest_import(&c, s512, n) != 0);
	s512[4] = 0;		/* sha256 with a sha512 body */
	CHECK(digest_import(&c, s512, n512) != 0);
	s512[4] = 1;
	memcpy(&num, s512 + 8 + offsetof(SHA512_CTX, num), sizeof(num));
	CHECK(num == 200 % SHA512_CBLOCK);
	num = SHA512_CBLOCK;
	memcpy(s512 + 8 + offsetof(SHA512_CTX, num), &num, sizeof(num));
	CHECK(digest_import(&c, s512, n512) != 0);
	num = 200 % SHA512_CBLOCK;
	memcpy(s512 + 8 + offsetof(SHA512_CTX, num), &num, sizeof(num));
	CHECK(digest_import(&c, s512, n512) == 0);
	/* A changed output length would truncate or pad the digest. */
	num = 5;
	memcpy(s512 + 8 + offsetof(SHA512_CTX, md_len), &num, sizeof(num));
	CHECK(digest_import(&c, s512, n512) != 0);
}

void
test_digest(void)
{
	test_parse();
	test_vectors();
	test_resume();
	test_import_refuses();
}
