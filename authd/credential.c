/*
 * Credential checks for the token endpoint and the management API: local
 * passwords (argon2id), personal access tokens and service account tokens
 * typed as the password, and refresh tokens.
 *
 * DESIGN: failures are counted per account and per client address in
 * PostgreSQL, so a lockout holds on every authd node. Every failure path
 * does the work of a password check, so neither the answer nor its timing
 * tells an unknown user, a locked one and a wrong password apart. A
 * verified password is remembered briefly under an HMAC keyed with a
 * process secret (never the password itself), which is what lets one node
 * issue thousands of tokens a second with a strong hash.
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

struct throttle_state {
	bool user_row;		/* the account has failures on record */
	bool locked;		/* the account or the address is locked */
};

/* One query for both keys; a database error locks nothing. */
static void
throttle_get(struct db *db, const char *ukey, const char *akey,
	     struct throttle_state *st)
{
	const char *p[2] = { ukey, akey };
	PGresult *res = db_exec(db, A_THROTTLE_GET, 2, p);

	memset(st, 0, sizeof(*st));
	if (res == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		if (!strcmp(PQgetvalue(res, i, 0), ukey))
			st->user_row = true;
		if (PQgetvalue(res, i, 1)[0] == 't')
			st->locked = true;
	}
	PQclear(res);
}

static void
throttle_fail(struct db *db, const char *key, long long threshold)
{
	char window[24], duration[24], q[256];
	const char *p[2] = { key, window };
	PGresult *res;
	long long failures = 0;

	snprintf(window, sizeof(window), "%lld", authd.lockout_window);
	if ((res = db_exec(db, A_THROTTLE_FAIL, 2, p)) == NULL)
		return;
	if (PQntuples(res) == 1)
		failures = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (failures < threshold)
		return;
	if (failures == threshold)	/* later failures extend the lock */
		authmetrics_lockout(key);
	log_escape(q, sizeof(q), key, LOG_ESC_QUOTE);
	log_warnx("locking \"%s\" out for %llds after %lld failed logins", q,
		  authd.lockout_duration, failures);
	snprintf(duration, sizeof(duration), "%lld", authd.lockout_duration);
	p[1] = duration;
	if ((res = db_exec(db, A_THROTTLE_LOCK, 2, p)) != NULL)
		PQclear(res);
}

static void
throttle_clear(struct db *db, const char *key)
{
	const char *p[1] = { key };
	PGresult *res = db_exec(db, A_THROTTLE_CLEAR, 1, p);

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

static bool
load_user(struct db *db, int64_t id, struct principal *out)
{
	char idbuf[24];
	const char *p[1] = { idbuf };
	PGresult *res;
	bool ok;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	if ((res = db_exec(db, A_USER_BY_ID, 1, p)) == NULL)
		return false;
	ok = PQntuples(res) == 1 && PQgetvalue(res, 0, 2)[0] == 'f';
	if (ok) {
		out->kind = P_USER;
		out->id = id;
		util_strlcpy(out->name, PQgetvalue(res, 0, 0), sizeof(out->name));
		out->is_admin = PQgetvalue(res, 0, 1)[0] == 't';
		/* A directory user's token dies with their directory entry. */
		if (!strcmp(PQgetvalue(res, 0, 3), "ldap") &&
		    !ldapsync_still_valid(id, out->name))
			ok = false;
	}
	PQclear(res);
	return ok;
}

static bool
load_sa(struct db *db, int64_t id, struct principal *out)
{
	char idbuf[24];
	const char *p[1] = { idbuf };
	PGresult *res;
	bool ok;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	if ((res = db_exec(db, A_SA_BY_ID, 1, p)) == NULL)
		return false;
	ok = PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] == 'f';
	if (ok) {
		out->kind = P_SERVICE;
		out->id = id;
		util_strlcpy(out->name, PQgetvalue(res, 0, 0), sizeof(out->name));
		out->is_admin = false;
	}
	PQclear(res);
	return ok;
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
token_check(struct db *db, const char *token, const char *kinds,
	    struct principal *out, const char **why)
{
	char uuid[37];
	unsigned char want[SHA256_DIGEST_LENGTH], *stored = NULL;
	size_t stored_len = 0;
	const char *p[1] = { uuid };
	PGresult *res;
	bool ok = false;

	*why = "bad_token";
	if (!token_split(token, uuid, want) ||
	    (res = db_exec(db, A_TOKEN_BY_ID, 1, p)) == NULL)
		return false;
	if (PQntuples(res) != 1 || strstr(kinds, PQgetvalue(res, 0, 0)) == NULL)
		goto out;
	stored = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1),
				 &stored_len);
	if (stored == NULL || stored_len != sizeof(want) ||
	    !util_consttime_eq(stored, want, sizeof(want)))
		goto out;
	/* Told apart only once the secret matched: no oracle for guesses. */
	if (PQgetvalue(res, 0, 4)[0] == 't') {
		*why = PQgetvalue(res, 0, 5)[0] == 't' ? "revoked" : "expired";
		goto out;
	}
	if (!PQgetisnull(res, 0, 2))
		ok = load_user(db, strtoll(PQgetvalue(res, 0, 2), NULL, 10),
			       out);
	else
		ok = load_sa(db, strtoll(PQgetvalue(res, 0, 3), NULL, 10), out);
	if (ok) {
		PGresult *t = db_exec(db, A_TOKEN_TOUCH, 1, p);
		PQclear(t);
		out->via = token_via(PQgetvalue(res, 0, 0));
		util_strlcpy(out->token_id, uuid, sizeof(out->token_id));
		out->token_read_only = PQgetvalue(res, 0, 6)[0] == 't';
		out->token_repos = PQgetvalue(res, 0, 7)[0] == 't';
	} else {
		*why = "disabled";
	}
out:
	PQfreemem(stored);
	PQclear(res);
	return ok;
}

/* The reason of a directory outage: a failure that counts toward no
 * lockout (compared by address). */
static const char directory_down[] = "directory_unavailable";

/*
 * A directory login: the cache, or a search and bind against the
 * directory, then provisioning. Only a local account is never tried here.
 * While the account or address is locked out (locked) the directory never
 * sees the guess, so Berth cannot lock the account in the directory.
 */
static bool
directory_check(struct db *db, const char *login, const char *secret,
		struct principal *out, const char **why, bool locked)
{
	char *key = xasprintf("ldap:%s", login);
	unsigned char mac[32];
	struct ldap_user u;
	enum ldap_result r;
	bool ok = false;

	cache_mac(-1, key, secret, mac);
	free(key);
	if (locked) {
		*why = "locked out";
		password_verify_dummy(secret);
		return false;
	}
	if (cache_hit(mac)) {
		char *name = ldapauth_login_name(login, authd_ldap_ad);
		const char *p[1] = { name };
		PGresult *res = db_exec(db, A_USER_BY_NAME, 1, p);

		free(name);
		if (res != NULL && PQntuples(res) == 1 &&
		    !strcmp(PQgetvalue(res, 0, 5), "ldap"))
			ok = load_user(db, strtoll(PQgetvalue(res, 0, 0), NULL,
						   10),
				       out);
		PQclear(res);
		if (ok)
			return true;
	}
	r = ldapauth_login(login, secret, &u);
	if (r == LDAP_AUTH_OK) {
		ok = ldapsync_provision(db, &u, out) == 0;
		if (!ok)
			*why = "not_provisioned";
		ldap_user_release(&u);
	} else {
		*why = r == LDAP_AUTH_ERROR ? directory_down
					    : "directory_refused";
	}
	if (ok)
		cache_put(mac);
	return ok;
}

/* A local password: the user's row, then the cache or argon2id. */
static bool
password_check(struct db *db, const char *login, const char *secret,
	       struct principal *out, const char **why, bool locked)
{
	const char *p[1] = { login };
	PGresult *res = db_exec(db, A_USER_BY_NAME, 1, p);
	unsigned char mac[32];
	const char *hash;
	int64_t id;
	bool ok = false;

	/* No local account of that name: the directory's user, if any. */
	if (ldapauth_enabled() && res != NULL &&
	    (PQntuples(res) == 0 || !strcmp(PQgetvalue(res, 0, 5), "ldap"))) {
		PQclear(res);
		return directory_check(db, login, secret, out, why, locked);
	}
	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 2)) {
		*why = "unknown_user";	/* or one without a local password */
		password_verify_dummy(secret);
		PQclear(res);
		return false;
	}
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	hash = PQgetvalue(res, 0, 2);
	cache_mac(id, hash, secret, mac);
	if (cache_hit(mac)) {
		ok = true;
	} else if (password_verify(hash, secret)) {
		cache_put(mac);
		ok = true;
	} else {
		*why = "bad_password";
	}
	if (ok && PQgetvalue(res, 0, 4)[0] == 't') {
		*why = "disabled";
		ok = false;
	}
	if (ok) {
		out->kind = P_USER;
		out->id = id;
		util_strlcpy(out->name, PQgetvalue(res, 0, 1), sizeof(out->name));
		out->is_admin = PQgetvalue(res, 0, 3)[0] == 't';
	}
	PQclear(res);
	return ok;
}

static enum cred_result
check(struct db *db, const char *addr, const char *login, const char *secret,
      struct principal *out, bool audit_success)
{
	/* One key per account however the login is spelt (case, blanks,
	 * DOMAIN\\user, user@realm). */
	char *account = ldapauth_account_key(login, authd_ldap_ad);
	char *ukey = xasprintf("user:%s", account), *akey = xasprintf("addr:%s", addr);
	const char *why = NULL;	/* the reason category of a failure */
	struct throttle_state st;
	char detail[64];
	bool ok = false;

	free(account);
	memset(out, 0, sizeof(*out));
	throttle_get(db, ukey, akey, &st);
	if (*login == '\0' || *secret == '\0' || strlen(login) > 128) {
		why = "malformed";	/* empty or oversized credentials */
		password_verify_dummy(secret);
	} else if (strncmp(secret, TOKEN_PREFIX, 6) == 0) {
		ok = token_check(db, secret, "personal,service", out, &why);
		if (ok && strcmp(out->name, login) != 0) {
			ok = false;
			why = "bad_token";	/* another principal's */
		}
		password_verify_dummy(secret);	/* same time as a password */
	} else {
		ok = password_check(db, login, secret, out, &why, st.locked);
		if (ok)
			out->via = "password";
	}
	/* An unreachable database is an outage, not a failed login. */
	if (!ok && db_unavailable(db)) {
		memset(out, 0, sizeof(*out));
		free(ukey);
		free(akey);
		return CRED_ERROR;
	}
	if (ok && st.locked) {
		ok = false;
		why = "locked";
	}
	if (ok) {
		if (st.user_row)
			throttle_clear(db, ukey);
	} else {
		char q[256];

		/* An outage of the directory is no wrong password. */
		if (why != directory_down) {
			throttle_fail(db, ukey, authd.lockout_threshold);
			throttle_fail(db, akey, authd.lockout_addr_threshold);
		}
		memset(out, 0, sizeof(*out));
		authmetrics_login_failed(why);
		log_escape(q, sizeof(q), login, LOG_ESC_QUOTE);
		log_info("login failed for \"%s\" from %s: %s", q, addr, why);
	}
	/* The reason goes only to the audit log and the server log: the
	 * client's answer is the same for all of them. */
	snprintf(detail, sizeof(detail), "{\"reason\":\"%s\"}",
		 why ? why : "");
	if (!ok || audit_success)
		audit_write(db, ok ? out->name : login, "login", "", addr, ok,
			    ok ? NULL : detail);
	free(ukey);
	free(akey);
	return ok ? CRED_OK : CRED_BAD;
}

enum cred_result
credential_check(struct db *db, const char *addr, const char *login,
		 const char *secret, struct principal *out)
{
	return check(db, addr, login, secret, out, true);
}

enum cred_result
credential_check_unaudited(struct db *db, const char *addr, const char *login,
			   const char *secret, struct principal *out)
{
	return check(db, addr, login, secret, out, false);
}

enum cred_result
credential_refresh(struct db *db, const char *token, struct principal *out)
{
	const char *why;

	memset(out, 0, sizeof(*out));
	if (!token_check(db, token, "refresh", out, &why)) {
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
