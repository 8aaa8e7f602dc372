/*
 * Password hashing with argon2id (libargon2), at OWASP's recommended
 * minimum cost (19 MiB, two passes, one lane): strong enough to make a
 * stolen hash expensive, cheap enough that the credential cache carries
 * the token endpoint's load.
 *
 * DESIGN: every hash takes one of hash_concurrency slots; as many more
 * requests may wait for one, at most hash_queue_wait ms, and the rest are
 * shed at once. So a flood of passwords keeps at most twice that many
 * worker threads busy, and the other threads serve tokens and cached
 * credentials, which never hash.
 */
#include <argon2.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "authd.h"
#include "authmetrics.h"
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

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond;
static int queue_slots;		/* 0: no limit (command line tools) */
static int queue_busy, queue_waiting;
static long queue_wait_ms;

void
password_queue_init(int slots, long wait_ms)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&queue_cond, &a);
	pthread_condattr_destroy(&a);
	queue_slots = slots;
	queue_wait_ms = wait_ms;
}

/* One wait for a slot (queue_lock held): false once until passed with
 * every slot still busy. */
static bool
wait_slot(const struct timespec *until)
{
	int rc = pthread_cond_timedwait(&queue_cond, &queue_lock, until);

	return rc != ETIMEDOUT || queue_busy < queue_slots;
}

/* Takes a slot, waiting a bounded time; false when shed. */
static bool
queue_enter(void)
{
	struct timespec until;
	bool ok = true;

	if (queue_slots == 0)
		return true;
	pthread_mutex_lock(&queue_lock);
	if (queue_busy >= queue_slots) {
		if (queue_waiting >= queue_slots) {
			ok = false;
		} else {
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += queue_wait_ms / 1000;
			until.tv_nsec += queue_wait_ms % 1000 * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			queue_waiting++;
			while (queue_busy >= queue_slots && ok)
				ok = wait_slot(&until);
			queue_waiting--;
		}
	}
	if (ok)
		queue_busy++;
	pthread_mutex_unlock(&queue_lock);
	if (!ok)
		authmetrics_hash_shed();
	return ok;
}

static void
queue_leave(void)
{
	if (queue_slots == 0)
		return;
	pthread_mutex_lock(&queue_lock);
	queue_busy--;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
}

char *
password_hash(const char *password)
{
	unsigned char salt[SALT_LEN];
	size_t len = argon2_encodedlen(T_COST, M_COST, PARALLELISM, SALT_LEN,
				       HASH_LEN, Argon2_id);
	char *out = xmalloc(len);
	int rc;

	if (!queue_enter()) {
		free(out);
		return NULL;
	}
	util_random(salt, sizeof(salt));
	rc = argon2id_hash_encoded(T_COST, M_COST, PARALLELISM, password,
				   strlen(password), salt, sizeof(salt),
				   HASH_LEN, out, len);
	queue_leave();
	if (rc != ARGON2_OK)
		fatalx("argon2id failed: %s", argon2_error_message(rc));
	return out;
}

enum password_match
password_verify(const char *encoded, const char *password)
{
	int rc;

	if (!queue_enter())
		return PW_BUSY;
	rc = argon2id_verify(encoded, password, strlen(password));
	queue_leave();
	return rc == ARGON2_OK ? PW_MATCH : PW_MISMATCH;
}

enum password_match
password_verify_dummy(const char *password)
{
	return password_verify(dummy_hash, password) == PW_BUSY ? PW_BUSY
								 : PW_MISMATCH;
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
