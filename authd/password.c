/*
 * Password hashing with argon2id (libargon2), at OWASP's recommended
 * minimum cost (19 MiB, two passes, one lane): strong enough to make a
 * stolen hash expensive, cheap enough that the credential cache carries
 * the token endpoint's load.
 */
#include <argon2.h>
#include <stdlib.h>

#include "authd.h"
#include "log.h"

#define T_COST 2
#define M_COST (19 * 1024)	/* KiB */
#define PARALLELISM 1
#define SALT_LEN 16
#define HASH_LEN 32

/* A fixed hash to verify against when the user does not exist. */
static const char dummy_hash[] =
	"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	"1ypINE1VpOazq1ta3QS4oNL5M0Sv3tJBOeTPHvT2o8k";

char *
password_hash(const char *password)
{
	unsigned char salt[SALT_LEN];
	size_t len = argon2_encodedlen(T_COST, M_COST, PARALLELISM, SALT_LEN,
				       HASH_LEN, Argon2_id);
	char *out = xmalloc(len);
	int rc;

	util_random(salt, sizeof(salt));
	rc = argon2id_hash_encoded(T_COST, M_COST, PARALLELISM, password,
				   strlen(password), salt, sizeof(salt),
				   HASH_LEN, out, len);
	if (rc != ARGON2_OK)
		fatalx("argon2id failed: %s", argon2_error_message(rc));
	return out;
}

bool
password_verify(const char *encoded, const char *password)
{
	return argon2id_verify(encoded, password, strlen(password)) ==
	       ARGON2_OK;
}

void
password_verify_dummy(const char *password)
{
	(void)password_verify(dummy_hash, password);
}

char *
password_generate(void)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
				       "abcdefghijkmnopqrstuvwxyz23456789";
	unsigned char rnd[24];
	char *out = xmalloc(sizeof(rnd) + 1);

	util_random(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		out[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	out[sizeof(rnd)] = '\0';
	return out;
}

const char *
password_policy(const char *password)
{
	size_t n = strlen(password);

	if (n < PASSWORD_MIN)
		return "password must be at least " PASSWORD_MIN_TEXT
		       " characters";
	if (n > PASSWORD_MAX)
		return "password must be at most " PASSWORD_MAX_TEXT
		       " characters";
	/* credential_check would take it for an access token. */
	if (!strncmp(password, "berth_", 6))
		return "password must not start with \"berth_\"";
	return NULL;
}
