/*
 * Token authorization (docker-token-auth-*). Every handler calls
 * authz_check() with the repository and the actions it needs before it
 * touches data. With auth_realm unset, everything is allowed.
 *
 * DESIGN: tokens are verified locally (signature, algorithm allow-list,
 * exp/nbf, aud, iss) with keys from PEM files and from authd's JWKS. An
 * unknown kid refreshes the JWKS, at most every few seconds, so a key
 * rotated in at authd is picked up without a restart. Key sets are
 * immutable once published; a replaced one is kept until exit because a
 * worker may still be reading it. Without any key (authd down at start, a
 * wrong auth_ca_file) the node is not ready: /readyz says why, tokens get
 * 503, and the fetch is retried every tick and on token use.
 */
#include <curl/curl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "authz.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "registryd.h"
#include "route.h"

#define JWKS_MAX (256u << 10)	/* what jwt_jwks_parse takes */
#define JWKS_MIN_INTERVAL_NS 1000000000ull	/* between two fetches */
#define JWKS_MAX_AGE_NS 60000000000ull		/* refetched at least this often */

struct keyset {
	struct jwt_key **keys;
	int n;
	struct keyset *older;
};

static struct keyset *current;		/* read with __atomic_load_n */
static struct keyset *all_sets;		/* every set, for authz_release */
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_refresh;		/* util_now_ns() of the last fetch */
static bool fetching;			/* a worker is waiting to fetch */
static struct jwt_key **static_keys;	/* from auth_keys */
static int n_static;
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[512];		/* why the last fetch failed */

/* Records why the last fetch failed ("" when it worked); whether that
 * changed, so that a failure retried every second is logged once. */
static bool
set_error(const char *msg)
{
	bool changed;

	pthread_mutex_lock(&error_lock);
	changed = strcmp(last_error, msg) != 0;
	util_strlcpy(last_error, msg, sizeof(last_error));
	pthread_mutex_unlock(&error_lock);
	return changed;
}

static void
publish(struct jwt_key **jwks, int n)
{
	struct keyset *ks = xcalloc(1, sizeof(*ks));

	ks->n = n_static + n;
	ks->keys = xcalloc((size_t)(ks->n ? ks->n : 1), sizeof(*ks->keys));
	for (int i = 0; i < n_static; i++)
		ks->keys[i] = static_keys[i];
	for (int i = 0; i < n; i++)
		ks->keys[n_static + i] = jwks[i];
	ks->older = all_sets;
	all_sets = ks;
	__atomic_store_n(&current, ks, __ATOMIC_RELEASE);
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, data, size * n) < 0 ? 0 : size * n;
}

/* Whether the fetched keys are the current JWKS keys, in order. */
static bool
same_kids(struct jwt_key **keys, int n)
{
	struct keyset *ks = __atomic_load_n(&current, __ATOMIC_ACQUIRE);

	if (ks == NULL || ks->n != n_static + n)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(jwt_key_kid(ks->keys[n_static + i]),
			   jwt_key_kid(keys[i])) != 0)
			return false;
	return true;
}

/* Fetches the JWKS; the caller holds refresh_lock. */
static int
fetch_jwks(void)
{
	CURL *c = curl_easy_init();
	struct jwt_key **keys = NULL;
	struct buf b;
	long status = 0;
	int n = 0, ret = -1;
	char cerr[CURL_ERROR_SIZE], msg[sizeof(last_error)];
	CURLcode rc;

	buf_init(&b, JWKS_MAX);
	curl_easy_setopt(c, CURLOPT_URL, reg.auth_jwks_url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (reg.auth_ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, reg.auth_ca_file);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	cerr[0] = '\0';
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	last_refresh = util_now_ns();
	if (rc != CURLE_OK || status != 200) {
		snprintf(msg, sizeof(msg),
			 "could not fetch the JWKS from \"%s\": %s (HTTP %ld)",
			 reg.auth_jwks_url,
			 cerr[0] ? cerr : curl_easy_strerror(rc), status);
		goto out;
	}
	if (jwt_jwks_parse(b.data ? b.data : "", b.len, &keys, &n) < 0) {
		snprintf(msg, sizeof(msg),
			 "the JWKS from \"%s\" does not parse",
			 reg.auth_jwks_url);
		goto out;
	}
	if (same_kids(keys, n)) {
		/* Nothing rotated: keep the set workers already use. */
		for (int i = 0; i < n; i++)
			jwt_key_free(keys[i]);
	} else {
		publish(keys, n);
		log_info("loaded %d signing keys from \"%s\"", n,
			 reg.auth_jwks_url);
	}
	free(keys);
	ret = 0;
out:
	if (ret < 0 && set_error(msg))
		log_warnx("%s", msg);
	else if (ret < 0)
		log_debug("%s", msg);
	else if (set_error(""))
		log_info("fetched the JWKS from \"%s\" again",
			 reg.auth_jwks_url);
	buf_release(&b);
	return ret;
}

/*
 * An unknown kid may be a key rotated in since the last fetch. Anyone can
 * send a token with a made-up kid, so fetches are at least a second apart
 * and only one worker at a time waits for one (at most that second): a
 * flood of forged kids costs authd one request a second and ties up one
 * worker, while a real new key is still fetched within a second.
 */
static void
maybe_refresh(void)
{
	uint64_t since;

	if (reg.auth_jwks_url == NULL ||
	    __atomic_exchange_n(&fetching, true, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&refresh_lock);
	since = util_now_ns() - last_refresh;
	if (since < JWKS_MIN_INTERVAL_NS) {
		uint64_t wait = JWKS_MIN_INTERVAL_NS - since;
		struct timespec ts = { (time_t)(wait / 1000000000u),
				       (long)(wait % 1000000000u) };
		nanosleep(&ts, NULL);
	}
	(void)fetch_jwks();
	pthread_mutex_unlock(&refresh_lock);
	__atomic_store_n(&fetching, false, __ATOMIC_RELEASE);
}

/* Whether the published set holds any key (the node can verify). */
static bool
have_keys(void)
{
	struct keyset *ks = __atomic_load_n(&current, __ATOMIC_ACQUIRE);

	return ks != NULL && ks->n > 0;
}

bool
authz_waiting(void)
{
	return reg.auth_realm != NULL && !have_keys();
}

bool
authz_unready(char *why, size_t len)
{
	if (!authz_waiting())
		return false;
	pthread_mutex_lock(&error_lock);
	snprintf(why, len, "no keys to verify tokens with: %s\n",
		 last_error[0] ? last_error : "the JWKS was not fetched yet");
	pthread_mutex_unlock(&error_lock);
	return true;
}

void
authz_tick(void)
{
	uint64_t age = util_now_ns() - last_refresh;

	/* A key dropped from authd stops being trusted within a minute;
	 * without any key, every tick tries again. */
	if (reg.auth_jwks_url == NULL ||
	    age < (have_keys() ? JWKS_MAX_AGE_NS : JWKS_MIN_INTERVAL_NS))
		return;
	pthread_mutex_lock(&refresh_lock);
	(void)fetch_jwks();
	pthread_mutex_unlock(&refresh_lock);
}

int
authz_init(const char *key_files)
{
	char **files;
	int n;

	if (reg.auth_realm == NULL)
		return 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	n = util_list_split(key_files, &files);
	static_keys = xcalloc((size_t)(n ? n : 1), sizeof(*static_keys));
	for (int i = 0; i < n; i++) {
		if ((static_keys[n_static] = jwt_key_load_public(files[i])) ==
		    NULL) {
			util_list_free(files, n);
			return -1;
		}
		n_static++;
	}
	util_list_free(files, n);
	if (n_static == 0 && reg.auth_jwks_url == NULL) {
		log_warnx("auth_realm is set but neither auth_keys nor "
			  "auth_jwks_url gives a key to verify tokens with");
		return -1;
	}
	publish(NULL, 0);
	/* authd may start after us: an unreachable JWKS is retried later. */
	if (reg.auth_jwks_url != NULL) {
		pthread_mutex_lock(&refresh_lock);
		(void)fetch_jwks();
		pthread_mutex_unlock(&refresh_lock);
	}
	if (!have_keys())
		log_warnx("no key to verify tokens with: every token is "
			  "refused (503) and /readyz answers 503 until the "
			  "JWKS at \"%s\" can be fetched; retrying every "
			  "second", reg.auth_jwks_url);
	return 0;
}

void
authz_release(void)
{
	while (all_sets != NULL) {
		struct keyset *ks = all_sets;

		all_sets = ks->older;
		/* JWKS keys belong to the set they came in; static ones
		 * are shared and freed below. */
		for (int i = n_static; i < ks->n; i++)
			jwt_key_free(ks->keys[i]);
		free(ks->keys);
		free(ks);
	}
	for (int i = 0; i < n_static; i++)
		jwt_key_free(static_keys[i]);
	free(static_keys);
	static_keys = NULL;
	n_static = 0;
	if (reg.auth_realm != NULL)
		curl_global_cleanup();
}

static const char *
scope_of(struct http_req *r, const char *name, unsigned actions)
{
	if (name == NULL)
		return actions & AUTHZ_CATALOG ? "registry:catalog:*" : NULL;
	return arena_printf(&r->arena, "repository:%s:%s%s%s", name,
			    actions & AUTHZ_PULL ? "pull" : "",
			    actions & AUTHZ_PUSH ? ",push" : "",
			    actions & AUTHZ_DELETE
				    ? (actions & (AUTHZ_PULL | AUTHZ_PUSH)
					       ? ",delete"
					       : "delete")
				    : "");
}

static void
set_challenge(struct http_req *r, const char *scope, const char *error)
{
	struct reg_req *q = r->app;

	q->challenge = arena_printf(
		&r->arena, "Bearer realm=\"%s\",service=\"%s\"%s%s%s%s%s",
		reg.auth_realm, reg.auth_service, scope ? ",scope=\"" : "",
		scope ? scope : "", scope ? "\"" : "",
		error ? ",error=\"" : "", error ? error : "");
	if (error != NULL)
		q->challenge = arena_printf(&r->arena, "%s\"", q->challenge);
}

void
authz_challenge_add(struct http_req *r, const char *name, unsigned actions)
{
	struct reg_req *q = r->app;
	const char *scope = scope_of(r, name, actions);
	char *at;

	if (q->challenge == NULL || scope == NULL ||
	    (at = strstr(q->challenge, ",scope=\"")) == NULL)
		return;
	at = strchr(at + 8, '"');
	q->challenge = arena_printf(&r->arena, "%.*s %s%s",
				    (int)(at - q->challenge), q->challenge,
				    scope, at);
}

static bool
has_action(const struct jwt_access *a, const char *action)
{
	for (int i = 0; i < a->n_actions; i++)
		if (!strcmp(a->actions[i], action) || !strcmp(a->actions[i], "*"))
			return true;
	return false;
}

static bool
granted(const struct jwt_claims *c, const char *name, unsigned actions)
{
	const char *type = name ? "repository" : "registry";
	const char *want = name ? name : "catalog";
	unsigned have = 0;

	if (name == NULL && !(actions & AUTHZ_CATALOG))
		return true;	/* any valid token, e.g. for GET /v2/ */
	for (int i = 0; i < c->n_access; i++) {
		const struct jwt_access *a = &c->access[i];

		if (strcmp(a->type, type) || strcmp(a->name, want))
			continue;
		if (has_action(a, "pull"))
			have |= AUTHZ_PULL;
		if (has_action(a, "push"))
			have |= AUTHZ_PUSH;
		if (has_action(a, "delete"))
			have |= AUTHZ_DELETE;
		if (has_action(a, "*"))
			have |= AUTHZ_CATALOG;
	}
	return (have & actions) == actions;
}

/*
 * Each worker remembers the last tokens it verified (by SHA-256), so a
 * client's burst of requests with one token costs one signature check.
 * A cached token is still held to its exp and nbf.
 */
#define TOKEN_CACHE 64

struct cached_token {
	unsigned char hash[SHA256_DIGEST_LENGTH];
	bool used;
	struct jwt_claims claims;
};

struct token_cache {
	struct cached_token e[TOKEN_CACHE];
	unsigned next;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
cache_free(void *p)
{
	struct token_cache *tc = p;

	for (int i = 0; i < TOKEN_CACHE; i++)
		if (tc->e[i].used)
			jwt_claims_release(&tc->e[i].claims);
	free(tc);
}

static void
cache_make_key(void)
{
	if (pthread_key_create(&cache_key, cache_free) != 0)
		fatalx("pthread_key_create failed");
}

static struct token_cache *
thread_cache(void)
{
	struct token_cache *tc;

	pthread_once(&cache_once, cache_make_key);
	if ((tc = pthread_getspecific(cache_key)) == NULL) {
		tc = xcalloc(1, sizeof(*tc));
		pthread_setspecific(cache_key, tc);
	}
	return tc;
}

static enum jwt_verdict
verify(const char *token, struct jwt_claims *c)
{
	struct keyset *ks = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
	enum jwt_verdict v;

	v = jwt_verify(token, ks->keys, ks->n, reg.auth_issuer,
		       reg.auth_service, time(NULL), reg.auth_leeway, c);
	if (v == JWT_UNKNOWN_KID) {
		maybe_refresh();
		ks = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
		v = jwt_verify(token, ks->keys, ks->n, reg.auth_issuer,
			       reg.auth_service, time(NULL), reg.auth_leeway,
			       c);
	}
	return v;
}

/* The verified claims of token, from the cache or a fresh check. */
static const struct jwt_claims *
claims_of(const char *token, enum jwt_verdict *v)
{
	struct token_cache *tc = thread_cache();
	unsigned char hash[SHA256_DIGEST_LENGTH];
	int64_t now = time(NULL);
	struct cached_token *slot;
	struct jwt_claims c = { 0 };

	SHA256((const unsigned char *)token, strlen(token), hash);
	for (int i = 0; i < TOKEN_CACHE; i++) {
		struct cached_token *e = &tc->e[i];

		if (!e->used || memcmp(e->hash, hash, sizeof(hash)) != 0)
			continue;
		if (now >= e->claims.exp + reg.auth_leeway) {
			*v = JWT_EXPIRED;
			return NULL;
		}
		*v = JWT_OK;
		return &e->claims;
	}
	if ((*v = verify(token, &c)) != JWT_OK)
		return NULL;
	slot = &tc->e[tc->next++ % TOKEN_CACHE];
	if (slot->used)
		jwt_claims_release(&slot->claims);
	memcpy(slot->hash, hash, sizeof(hash));
	slot->claims = c;
	slot->used = true;
	return &slot->claims;
}

/*
 * The message of an insufficient_scope refusal: the first action the token
 * lacks and the level (docs/auth.md) that grants it, so that a client and
 * its user learn why, e.g. that delete needs admin and not only write.
 */
static const char *
denied_message(struct http_req *r, const struct jwt_claims *c,
	       const char *name, unsigned actions)
{
	static const struct {
		unsigned action;
		const char *verb, *level;
	} needs[] = {
		{ AUTHZ_PULL, "pull", "read" },
		{ AUTHZ_PUSH, "push", "write" },
		{ AUTHZ_DELETE, "delete", "admin" },
	};

	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if ((actions & needs[i].action) &&
		    !granted(c, name, needs[i].action))
			return arena_printf(&r->arena,
					    "%s requires %s access to "
					    "repository \"%s\"",
					    needs[i].verb, needs[i].level,
					    name);
	return NULL;
}

enum reg_error
authz_check(struct http_req *r, const char *name, unsigned actions)
{
	struct reg_req *q = r->app;
	const char *h = http_header(r, "Authorization");
	const char *scope = scope_of(r, name, actions);
	const struct jwt_claims *c;
	enum jwt_verdict v;
	bool ok;

	q->denied = NULL;
	if (reg.auth_realm == NULL)
		return E_NONE;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		set_challenge(r, scope, NULL);
		return E_UNAUTHORIZED;
	}
	if ((c = claims_of(h + 7, &v)) == NULL && !have_keys()) {
		/* Not the client's fault: say so, rather than "invalid
		 * username or password". */
		rlog_warnx(r, "token not checked: no keys to verify tokens "
			   "with (see /readyz)");
		return E_UNAVAILABLE;
	}
	if (c == NULL) {
		rlog_warnx(r, "token refused: %s", jwt_verdict_str(v));
		set_challenge(r, scope, "invalid_token");
		return E_UNAUTHORIZED;
	}
	ok = granted(c, name, actions);
	q->subject = arena_strdup(&r->arena, c->sub ? c->sub : "");
	r->user = *q->subject ? q->subject : NULL;
	q->kind = c->kind ? arena_strdup(&r->arena, c->kind) : NULL;
	q->tid = c->tid ? arena_strdup(&r->arena, c->tid) : NULL;
	q->pid = c->id;
	if (!ok) {
		set_challenge(r, scope, "insufficient_scope");
		q->denied = denied_message(r, c, name, actions);
		return E_UNAUTHORIZED;
	}
	return E_NONE;
}
