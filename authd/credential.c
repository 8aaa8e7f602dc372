/*
 * Credential checks for the token endpoint and the management API: local
 * passwords (argon2id), personal access tokens and service account tokens
 * typed as the password, and refresh tokens.
 *
 * DESIGN: failed password logins are counted per (account, address)
 * pair and per address in PostgreSQL, so their growing delays hold on
 * every authd node; a delayed login is refused before anything is looked
 * up or hashed, and nothing can delay an account everywhere (only an
 * administrator locks one). Tokens are 256-bit secrets: never throttled,
 * never hashed. Every other failure path does the work of a password
 * check, so neither the answer nor its timing tells an unknown user, a
 * locked one and a wrong password apart. A verified password is
 * remembered briefly under an HMAC keyed with a process secret (never the
 * password itself), which is what lets one node issue thousands of tokens
 * a second with a strong hash. A check's query results live in an arena
 * of its own, released when it answers: no request's arena reaches here
 * (the housekeeping and the management API call in too).
 */
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "authd.h"
#include "authsql.h"
#include "authmetrics.h"
#include "ldapauth.h"
#include "log.h"

#define TOKEN_PREFIX "berth_"
#define TOKEN_LEN (6 + 32 + 64)
#define CACHE_SLOTS 4096

struct cache_slot {
	unsigned char mac[32];
	time_t expires;
};

static struct cache_slot cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char cache_secret[32];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
cache_init(void)
{
	util_random(cache_secret, sizeof(cache_secret));
}

/* mac = HMAC(secret, user id, stored hash, password): a changed password
 * or a new hash misses the cache by construction. */
static void
cache_mac(int64_t uid, const char *hash, const char *password,
	  unsigned char *mac)
{
	char *msg = xasprintf("%" PRId64 "%c%s%c%s", uid, 0, hash, 0, password);
	size_t len = strlen(msg);
	unsigned int maclen = 32;

	/* xasprintf's NULs: the length is the three parts plus two. */
	len += 1 + strlen(msg + len + 1) + 1;
	len += strlen(msg + len);
	pthread_once(&cache_once, cache_init);
	HMAC(EVP_sha256(), cache_secret, sizeof(cache_secret),
	     (const unsigned char *)msg, len, mac, &maclen);
	OPENSSL_cleanse(msg, len);
	free(msg);
}

static struct cache_slot *
cache_slot_of(const unsigned char *mac)
{
	return &cache[(mac[0] | (unsigned)mac[1] << 8) % CACHE_SLOTS];
}

static bool
cache_hit(const unsigned char *mac)
{
	struct cache_slot *s = cache_slot_of(mac);
	bool hit;

	pthread_mutex_lock(&cache_lock);
	hit = s->expires > time(NULL) && util_consttime_eq(s->mac, mac, 32);
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static void
cache_put(const unsigned char *mac)
{
	struct cache_slot *s = cache_slot_of(mac);

	pthread_mutex_lock(&cache_lock);
	memcpy(s->mac, mac, 32);
	s->expires = time(NULL) + (time_t)authd.cred_cache_ttl;
	pthread_mutex_unlock(&cache_lock);
}

int
credential_basic(struct http_req *r, char **user, char **pass)
{
	const char *h = http_header(r, "Authorization");
	unsigned char *dec;
	size_t len, n;
	char *colon;
	int out;

	*user = *pass = NULL;
	if (h == NULL)
		return 0;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return -1;
	h += 6;
	len = strlen(h);
	if (len == 0 || len > 4096 || len % 4 != 0)
		return -1;
	dec = xmalloc(len / 4 * 3 + 1);
	if ((out = EVP_DecodeBlock(dec, (const unsigned char *)h,
				   (int)len)) < 0) {
		free(dec);
		return -1;
	}
	n = (size_t)out;
	/* EVP_DecodeBlock counts padding as zero bytes. */
	if (h[len - 1] == '=')
		n--;
	if (h[len - 2] == '=')
		n--;
	dec[n] = '\0';
	if (memchr(dec, '\0', n) != NULL ||
	    (colon = strchr((char *)dec, ':')) == NULL) {
		free(dec);
		return -1;
	}
	*colon = '\0';
	*user = xstrdup((char *)dec);
	*pass = xstrdup(colon + 1);
	free(dec);
	return 1;
}

/* The throttle keys of one password login. */
struct throttle {
	char *pair;		/* "pair:<address> <account>" */
	char *addr;		/* "addr:<address>" */
	bool pair_row;		/* the pair has failures on record */
};

static void
throttle_keys(struct throttle *t, const char *addr, const char *login)
{
	/* One key per account however the login is spelt (case, blanks,
	 * DOMAIN\user, user@realm); an address holds no blank. */
	char *account = ldapauth_account_key(login, authd_ldap_ad);
	char *a = throttlekey_addr(addr);

	t->pair = xasprintf("pair:%s %s", a, account);
	t->addr = xasprintf("addr:%s", a);
	t->pair_row = false;
	free(account);
	free(a);
}

static void
throttle_release(struct throttle *t)
{
	free(t->pair);
	free(t->addr);
}

/*
 * Seconds the login must wait (the longer of the pair's and the
 * address's delays), 0 when it may go on. One query for both keys; a
 * database error delays nothing (the check that follows fails anyway).
 */
static int
throttle_get(struct db *db, struct arena *a, struct throttle *t)
{
	const char *p[2] = { t->pair, t->addr };
	PGresult *res = db_query(db, a, A_THROTTLE_GET, 2, p);
	struct authsql_throttle row;
	int wait = 0;

	for (int i = 0; authsql_throttle_get(res, i, &row); i++) {
		if (row.seconds_left > wait)
			wait = row.seconds_left;
		if (!strcmp(row.key, t->pair))
			t->pair_row = true;
	}
	return wait;
}

/* Logs, counts and audits a delay that a failure of key just started. */
static void
throttle_started(struct db *db, const char *key, const char *addr,
		 long long failures, long long delay)
{
	char q[256], detail[96];

	log_escape(q, sizeof(q), key, LOG_ESC_QUOTE);
	log_warnx("delaying \"%s\" for %llds after %lld failed logins", q,
		  delay, failures);
	if (failures == (strncmp(key, "addr:", 5) == 0
				 ? authd.lockout_addr_threshold
				 : authd.lockout_threshold))
		authmetrics_lockout(key);
	snprintf(detail, sizeof(detail),
		 "{\"failures\":%lld,\"seconds\":%lld}", failures, delay);
	audit_write(db, "anonymous", "login.throttle", key, addr, true, detail);
}

/* Counts a failed password login of the pair and of the address. */
static void
throttle_fail(struct db *db, struct arena *a, struct throttle *t,
	      const char *addr)
{
	char thr[24], athr[24], window[24], delay[24], cap[24];
	const char *p[7] = { t->pair, t->addr, thr, athr, window, delay, cap };
	struct authsql_throttle_fail row;
	PGresult *res;

	snprintf(thr, sizeof(thr), "%lld", authd.lockout_threshold);
	snprintf(athr, sizeof(athr), "%lld", authd.lockout_addr_threshold);
	snprintf(window, sizeof(window), "%lld", authd.lockout_window);
	snprintf(delay, sizeof(delay), "%lld", authd.lockout_delay);
	snprintf(cap, sizeof(cap), "%lld", authd.lockout_duration);
	res = db_query(db, a, A_THROTTLE_FAIL, 7, p);
	if (!authsql_throttle_fail(res, 0, &row))
		return;
	for (int k = 0; k < 2; k++)
		if (row.delay[k] > 0)
			throttle_started(db, k ? t->addr : t->pair, addr,
					 row.failures[k], row.delay[k]);
}

static void
throttle_clear(struct db *db, struct arena *a, const char *key)
{
	const char *p[1] = { key };
	PGresult *res = db_query(db, a, A_THROTTLE_CLEAR, 1, p);

	(void)res;	/* a failure leaves a key that the purge drops */
}

void
credential_throttle_purge(struct db *db)
{
	char window[24];
	const char *p[1] = { window };
	PGresult *res;

	snprintf(window, sizeof(window), "%lld", authd.lockout_window);
	if ((res = db_exec(db, A_THROTTLE_PURGE, 1, p)) != NULL)
		PQclear(res);
}

/* Parses "berth_<32 hex id><64 hex secret>" into a uuid and a secret hash. */
static bool
token_split(const char *s, char *uuid, unsigned char *secret_hash)
{
	unsigned char secret[32];

	if (strlen(s) != TOKEN_LEN || strncmp(s, TOKEN_PREFIX, 6) != 0)
		return false;
	s += 6;
	for (int i = 0; i < 96; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	snprintf(uuid, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12,
		 s + 16, s + 20);
	for (int i = 0; i < 32; i++) {
		unsigned hi = (unsigned)(s[32 + 2 * i] <= '9'
						 ? s[32 + 2 * i] - '0'
						 : s[32 + 2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(s[33 + 2 * i] <= '9'
						 ? s[33 + 2 * i] - '0'
						 : s[33 + 2 * i] - 'a' + 10);
		secret[i] = (unsigned char)(hi << 4 | lo);
	}
	SHA256(secret, sizeof(secret), secret_hash);
	return true;
}

/* A user by id, when enabled and not locked (else *why says which). */
static bool
load_user(struct db *db, struct arena *a, int64_t id, struct principal *out,
	  const char **why)
{
	char idbuf[24];
	const char *p[1] = { idbuf };
	struct authsql_user u;

	*why = "disabled";
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	if (!authsql_user_by_id(db_query(db, a, A_USER_BY_ID, 1, p), 0, &u) ||
	    u.disabled)
		return false;
	if (u.locked) {
		*why = "locked";
		return false;
	}
	out->kind = P_USER;
	out->id = id;
	util_strlcpy(out->name, u.name, sizeof(out->name));
	out->is_admin = u.is_admin;
	/* A directory user's token dies with their directory entry. */
	return !u.directory || ldapsync_still_valid(id, out->name);
}

static bool
load_sa(struct db *db, struct arena *a, int64_t id, struct principal *out)
{
	char idbuf[24];
	const char *p[1] = { idbuf };
	struct authsql_sa sa;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	if (!authsql_sa_by_id(db_query(db, a, A_SA_BY_ID, 1, p), 0, &sa) ||
	    sa.disabled)
		return false;
	out->kind = P_SERVICE;
	out->id = id;
	util_strlcpy(out->name, sa.login, sizeof(out->name));
	out->is_admin = false;
	return true;
}

/* What a login through a token of kind (tokens.kind) is audited as. */
static const char *
token_via(const char *kind)
{
	if (!strcmp(kind, "personal"))
		return "pat";
	return !strcmp(kind, "service") ? "service" : "refresh";
}

/*
 * A token of one of the allowed kinds ("personal,service" or "refresh"):
 * live, and owned by an enabled principal. Fills *out, or sets *why to
 * the reason category of a refusal.
 */
static bool
token_check(struct db *db, struct arena *a, const char *token,
	    const char *kinds, struct principal *out, const char **why)
{
	char uuid[37];
	unsigned char want[SHA256_DIGEST_LENGTH], *stored = NULL;
	size_t stored_len = 0;
	const char *p[1] = { uuid };
	struct authsql_token t;
	bool ok = false;

	*why = "bad_token";
	if (!token_split(token, uuid, want) ||
	    !authsql_token_by_id(db_query(db, a, A_TOKEN_BY_ID, 1, p), 0, &t) ||
	    strstr(kinds, t.kind) == NULL || t.secret_hash == NULL)
		return false;
	stored = PQunescapeBytea((const unsigned char *)t.secret_hash,
				 &stored_len);
	if (stored == NULL || stored_len != sizeof(want) ||
	    !util_consttime_eq(stored, want, sizeof(want)))
		goto out;
	/* Told apart only once the secret matched: no oracle for guesses. */
	if (t.dead) {
		*why = t.revoked ? "revoked" : "expired";
		goto out;
	}
	*why = "disabled";
	if (t.of_user)
		ok = load_user(db, a, t.user_id, out, why);
	else
		ok = load_sa(db, a, t.sa_id, out);
	if (ok) {
		PGresult *touched = db_query(db, a, A_TOKEN_TOUCH, 1, p);

		(void)touched;	/* a failed touch fails no login */
		out->via = token_via(t.kind);
		util_strlcpy(out->token_id, uuid, sizeof(out->token_id));
		out->token_read_only = t.read_only;
		out->token_repos = t.has_repos;
	}
out:
	PQfreemem(stored);
	return ok;
}

/* The reason of a directory outage: a failure that counts toward no
 * delay (compared by address). */
static const char directory_down[] = "directory_unavailable";

/* The answer after the work of a password check that was not made: the
 * same time whatever the password, and nothing learnt or cached. */
static enum cred_result
refuse_hashed(const char *secret)
{
	return password_verify_dummy(secret) == PW_BUSY ? CRED_BUSY : CRED_BAD;
}

/*
 * A directory login: the user's row (an administrator's lock), the
 * cache, or a search and bind against the directory, then provisioning.
 * Only a local account is never tried here. A locked user's guess never
 * reaches the directory, so Berth cannot lock the account there.
 */
static enum cred_result
directory_check(struct db *db, struct arena *a, const char *login,
		const char *secret, struct principal *out, const char **why)
{
	char *key = xasprintf("ldap:%s", login);
	char *name = ldapauth_login_name(login, authd_ldap_ad);
	const char *p[1] = { name };
	PGresult *res = db_query(db, a, A_USER_BY_NAME, 1, p);
	unsigned char mac[32];
	struct authsql_user row;
	struct ldapauth_user u;
	enum ldapauth_result r;
	int64_t id = -1;
	bool ok = false;

	cache_mac(-1, key, secret, mac);
	free(key);
	free(name);
	if (authsql_user_by_name(res, 0, &row) && row.directory) {
		id = row.id;
		if (row.locked) {
			*why = "locked";
			return refuse_hashed(secret);
		}
	}
	if (id >= 0 && cache_hit(mac) && load_user(db, a, id, out, why))
		return CRED_OK;
	r = ldapauth_login(login, secret, &u);
	if (r == LDAPAUTH_OK) {
		ok = ldapsync_provision(db, &u, out) == 0;
		if (!ok)
			*why = "not_provisioned";
		ldapauth_user_release(&u);
	} else {
		*why = r == LDAPAUTH_ERROR ? directory_down
					    : "directory_refused";
	}
	if (ok)
		cache_put(mac);
	return ok ? CRED_OK : CRED_BAD;
}

/*
 * A local password: the user's row, then the cache or argon2id. An
 * account an administrator locked is never verified (nor cached): its
 * answer costs a dummy hash whatever the password.
 */
static enum cred_result
password_check(struct db *db, struct arena *a, const char *login,
	       const char *secret, struct principal *out, const char **why)
{
	const char *p[1] = { login };
	PGresult *res = db_query(db, a, A_USER_BY_NAME, 1, p);
	enum cred_result ret = CRED_BAD;
	unsigned char mac[32];
	struct authsql_user u;
	bool found = authsql_user_by_name(res, 0, &u);

	/* No local account of that name: the directory's user, if any. */
	if (ldapauth_enabled() && res != NULL && (!found || u.directory))
		return directory_check(db, a, login, secret, out, why);
	if (!found || u.password_hash == NULL) {
		*why = "unknown_user";	/* or one without a local password */
		return refuse_hashed(secret);
	}
	if (u.locked) {
		*why = "locked";
		return refuse_hashed(secret);
	}
	cache_mac(u.id, u.password_hash, secret, mac);
	if (cache_hit(mac)) {
		ret = CRED_OK;
	} else {
		switch (password_verify(u.password_hash, secret)) {
		case PW_MATCH:
			cache_put(mac);
			ret = CRED_OK;
			break;
		case PW_BUSY:
			ret = CRED_BUSY;
			break;
		case PW_MISMATCH:
			*why = "bad_password";
			break;
		}
	}
	if (ret == CRED_OK && u.disabled) {
		*why = "disabled";
		ret = CRED_BAD;
	}
	if (ret == CRED_OK) {
		out->kind = P_USER;
		out->id = u.id;
		util_strlcpy(out->name, u.name, sizeof(out->name));
		out->is_admin = u.is_admin;
		out->via = "password";
	}
	return ret;
}

/* A personal access or service account token typed as the password:
 * never throttled, never hashed, counted toward no delay. */
static enum cred_result
token_login(struct db *db, struct arena *a, const char *login,
	    const char *secret, struct principal *out, const char **why)
{
	if (!token_check(db, a, secret, "personal,service", out, why))
		return CRED_BAD;
	if (strcmp(out->name, login) != 0) {
		*why = "bad_token";	/* another principal's */
		return CRED_BAD;
	}
	return CRED_OK;
}

/* Logs, counts and audits a refused login. */
static void
refused(struct db *db, const char *addr, const char *login, const char *why)
{
	char q[256], detail[64];

	authmetrics_login_failed(why);
	log_escape(q, sizeof(q), login, LOG_ESC_QUOTE);
	log_info("login failed for \"%s\" from %s: %s", q, addr, why);
	/* The reason goes only to the audit log and the server log: the
	 * client's answer is the same for all of them. */
	snprintf(detail, sizeof(detail), "{\"reason\":\"%s\"}", why);
	audit_write(db, login, "login", "", addr, false, detail);
}

static enum cred_result
check(struct db *db, struct arena *a, const char *addr, const char *login,
      const char *secret, struct principal *out, bool audit_success)
{
	const char *why = "malformed";	/* a failure's reason category */
	struct throttle t;
	enum cred_result ret;
	int wait;

	memset(out, 0, sizeof(*out));
	/* Empty or oversized: no secret to learn, so nothing is hashed. */
	if (*login == '\0' || *secret == '\0' || strlen(login) > 128) {
		refused(db, addr, login, why);
		return CRED_BAD;
	}
	if (strncmp(secret, TOKEN_PREFIX, 6) == 0) {
		ret = token_login(db, a, login, secret, out, &why);
		if (ret != CRED_OK && db_unavailable(db)) {
			memset(out, 0, sizeof(*out));
			return CRED_ERROR;
		}
		if (ret != CRED_OK) {
			memset(out, 0, sizeof(*out));
			refused(db, addr, login, why);
		} else if (audit_success) {
			audit_write(db, out->name, "login", "", addr, true,
				    NULL);
		}
		return ret;
	}
	throttle_keys(&t, addr, login);
	/* Before anything is looked up or hashed: a delayed guess learns
	 * nothing, not even from the credential cache. */
	if ((wait = throttle_get(db, a, &t)) > 0) {
		char q[256];

		throttle_release(&t);
		authmetrics_login_failed("throttled");
		log_escape(q, sizeof(q), login, LOG_ESC_QUOTE);
		log_debug("login of \"%s\" from %s delayed %ds", q, addr, wait);
		out->retry_after = wait;
		return CRED_THROTTLED;
	}
	ret = password_check(db, a, login, secret, out, &why);
	if (ret == CRED_BUSY) {
		/* Nothing was checked: no failure to count. */
		throttle_release(&t);
		memset(out, 0, sizeof(*out));
		out->retry_after = 1;
		return CRED_BUSY;
	}
	/* An unreachable database is an outage, not a failed login. */
	if (ret != CRED_OK && db_unavailable(db)) {
		throttle_release(&t);
		memset(out, 0, sizeof(*out));
		return CRED_ERROR;
	}
	if (ret == CRED_OK) {
		if (t.pair_row)
			throttle_clear(db, a, t.pair);
		if (audit_success)
			audit_write(db, out->name, "login", "", addr, true,
				    NULL);
	} else {
		/* An outage of the directory is no wrong password. */
		if (why != directory_down)
			throttle_fail(db, a, &t, addr);
		memset(out, 0, sizeof(*out));
		refused(db, addr, login, why);
	}
	throttle_release(&t);
	return ret;
}

/* check() with the arena its query results go with. */
static enum cred_result
check_in_arena(struct db *db, const char *addr, const char *login,
	       const char *secret, struct principal *out, bool audit_success)
{
	struct arena a;
	enum cred_result ret;

	arena_init(&a);
	ret = check(db, &a, addr, login, secret, out, audit_success);
	arena_release(&a);
	return ret;
}

enum cred_result
credential_check(struct db *db, const char *addr, const char *login,
		 const char *secret, struct principal *out)
{
	return check_in_arena(db, addr, login, secret, out, true);
}

enum cred_result
credential_check_unaudited(struct db *db, const char *addr, const char *login,
			   const char *secret, struct principal *out)
{
	return check_in_arena(db, addr, login, secret, out, false);
}

enum cred_result
credential_refresh(struct db *db, const char *token, struct principal *out)
{
	struct arena a;
	const char *why;
	bool ok;

	memset(out, 0, sizeof(*out));
	arena_init(&a);
	ok = token_check(db, &a, token, "refresh", out, &why);
	arena_release(&a);
	if (!ok) {
		memset(out, 0, sizeof(*out));
		return CRED_BAD;
	}
	return CRED_OK;
}

char *
credential_token_create(struct db *db, const char *kind,
			const struct principal *owner, const char *name,
			long long ttl)
{
	return credential_token_create_limited(db, kind, owner, name, ttl,
					       NULL, NULL);
}

char *
credential_token_create_limited(struct db *db, const char *kind,
				const struct principal *owner,
				const char *name, long long ttl,
				const char *read_only, const char *repos_json)
{
	unsigned char id[16], secret[32], hash[SHA256_DIGEST_LENGTH];
	char idhex[33], sechex[65], uuid[37], owner_id[24], ttlbuf[24];
	const char *p[10];
	int lengths[10] = { 0 }, formats[10] = { 0 };
	PGresult *res;

	util_random(id, sizeof(id));
	id[6] = (id[6] & 0x0f) | 0x40;
	id[8] = (id[8] & 0x3f) | 0x80;
	util_random(secret, sizeof(secret));
	util_hex(idhex, id, sizeof(id));
	util_hex(sechex, secret, sizeof(secret));
	SHA256(secret, sizeof(secret), hash);
	snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", idhex,
		 idhex + 8, idhex + 12, idhex + 16, idhex + 20);
	snprintf(owner_id, sizeof(owner_id), "%" PRId64, owner->id);
	snprintf(ttlbuf, sizeof(ttlbuf), "%lld", ttl);
	p[0] = uuid;
	p[1] = kind;
	p[2] = owner->kind == P_USER ? owner_id : NULL;
	p[3] = owner->kind == P_SERVICE ? owner_id : NULL;
	p[4] = name ? name : "";
	p[5] = (const char *)hash;
	lengths[5] = sizeof(hash);
	formats[5] = 1;
	p[6] = ttlbuf;
	/* Unless told, a token made from a token keeps its limits. */
	p[7] = owner->token_id[0] ? owner->token_id : NULL;
	p[8] = read_only;
	p[9] = repos_json;
	if ((res = db_exec_bin(db, A_TOKEN_INSERT, 10, p, lengths, formats,
			       0)) == NULL)
		return NULL;
	PQclear(res);
	return xasprintf(TOKEN_PREFIX "%s%s", idhex, sechex);
}
