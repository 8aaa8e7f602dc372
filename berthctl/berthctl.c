/*
 * berthctl: the operators' command-line client for authd's management API
 * (docs/api.md). Each command is one row of a table naming its words, its
 * arguments and options, and a short function that makes the API call.
 * Results print as indented JSON (lists follow every page and print one
 * array), or as a short line when the API answers without a body.
 * Exit status: 0 on success, 1 when the API or the network refuses (the
 * reason on stderr), 2 on a usage error. The login password is never
 * printed; a generated password for a new user is, once, in the result.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "bytesize.h"
#include "util.h"
#include "version.h"

#define DEFAULT_URL "http://127.0.0.1:5001"
#define RESPONSE_MAX (64u << 20)
#define PAGE_MAX 1000
#define AUDIT_DEFAULT 100
#define LINE_MAX_LEN 4096
#define TOKEN_REPOS_MAX 32 /* authd's limit on a token's repositories */

/* The options a command may take; which ones is in its table row. */
struct opts {
	const char *email, *display_name, *description, *user, *limit;
	const char *expires_in, *actor, *action, *target, *before;
	const char *ldap_group;
	const char *since, *until;
	const char *reason;
	const char *grace;
	const char *ns; /* --namespace: a policy for a whole namespace */
	const char *pattern, *exclude, *keep, *older_than; /* retention */
	bool disabled;
	bool revoke_tokens;
	bool admin, no_admin, org, force, new_password_stdin;
	bool jsonl;
	bool read_only, revive_tokens, delete_repositories;
	bool dry_run;
	bool check; /* quota recompute --check */
	const char *repos[TOKEN_REPOS_MAX]; /* --repo, repeatable */
	int nrepos;
};

struct ctl {
	const char *url; /* base URL, no trailing slash */
	const char *user;
	const char *ca_file; /* PEM CAs for an https URL; NULL: the system's */
	char *password;
	bool password_stdin;
	CURL *curl;
	struct arena arena; /* strings that live until exit */
	struct opts o;
};

struct command {
	const char *words; /* "org member set" */
	const char *args;  /* usage of the positional arguments */
	int nargs;	   /* how many; -1: any (raw api) */
	const char *opts;  /* the options it takes, "--email --admin" */
	int (*run)(struct ctl *c, char **arg);
};

static const char *progname = "berthctl";

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(%s --help lists the commands)\n", progname);
	return 2;
}

/* ---- HTTP -------------------------------------------------------------- */

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	return buf_append(arg, data, size * n) < 0 ? 0 : size * n;
}

/* The message of an API error answer, or the body's start. */
static void
print_api_error(long status, const char *body)
{
	json_t *doc = json_loads(body, 0, NULL);
	const char *msg = json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "errors"), 0), "message"));

	if (msg != NULL)
		fprintf(stderr, "%s: %s (HTTP %ld)\n", progname, msg, status);
	else
		fprintf(stderr, "%s: HTTP %ld: %.200s\n", progname, status,
			body);
	json_decref(doc);
}

/*
 * One request: method on path (under /api/v1) with body (NULL for none).
 * Returns 0 with the answer's JSON in *out (NULL when it had none; caller
 * decrefs), or 1 after printing why it failed.
 */
static int
ctl_request(struct ctl *c, const char *method, const char *path, json_t *body,
	    json_t **out)
{
	char *url = xasprintf("%s/api/v1%s", c->url, path), *text = NULL;
	struct curl_slist *hdrs = NULL;
	struct buf resp;
	long status = 0;
	CURLcode rc;
	int ret = 1;

	*out = NULL;
	buf_init(&resp, RESPONSE_MAX);
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->user);
	curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->password);
	curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "berthctl");
	if (c->ca_file != NULL && *c->ca_file != '\0')
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/json");
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
	}
	if ((rc = curl_easy_perform(c->curl)) != CURLE_OK) {
		fprintf(stderr, "%s: %s %s: %s\n", progname, method, url,
			curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		print_api_error(status, resp.data ? resp.data : "");
		goto out;
	}
	if (resp.len > 0 && (*out = json_loads(resp.data, 0, NULL)) == NULL) {
		fprintf(stderr, "%s: the answer is not JSON\n", progname);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	buf_release(&resp);
	free(text);
	free(url);
	return ret;
}

static void
print_json(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));

	printf("%s\n", text);
	free(text);
}

/* A call whose answer prints as JSON, or as done when it has no body. */
static int
ctl_call(struct ctl *c, const char *method, const char *path, json_t *body,
	 const char *done)
{
	json_t *doc;
	int ret = ctl_request(c, method, path, body, &doc);

	if (ret == 0 && doc != NULL)
		print_json(doc);
	else if (ret == 0 && done != NULL)
		printf("%s\n", done);
	json_decref(doc);
	json_decref(body);
	return ret;
}

/* --limit as a count, 0 when absent; -1 when bad. */
static long long
opt_count(const struct ctl *c)
{
	uint64_t v;

	if (c->o.limit == NULL)
		return 0;
	if (util_parse_u64(c->o.limit, &v) < 0 || v == 0 || v > 1000000000)
		return -1;
	return (long long)v;
}

/*
 * Follows a list's pages ("after", or "before" for the audit log) and
 * prints every item as one array; at most max items when max > 0.
 */
static int
ctl_list(struct ctl *c, const char *path, const char *cursor, long long max)
{
	json_t *all = json_array(), *page = NULL;
	char *next = NULL;
	int ret = 0;

	for (;;) {
		long long want = max > 0 ? max - (long long)json_array_size(all)
					 : PAGE_MAX;
		char sep = strchr(path, '?') ? '&' : '?', *esc = NULL, *p;

		if (want > PAGE_MAX)
			want = PAGE_MAX;
		if (next == NULL) {
			p = xasprintf("%s%climit=%lld", path, sep, want);
		} else {
			esc = curl_easy_escape(c->curl, next, 0);
			p = xasprintf("%s%climit=%lld&%s=%s", path, sep, want,
				      cursor, esc);
		}
		curl_free(esc);
		free(next);
		next = NULL;
		ret = ctl_request(c, "GET", p, NULL, &page);
		free(p);
		if (ret != 0)
			break;
		json_array_extend(all, json_object_get(page, "items"));
		if (json_is_string(json_object_get(page, "next")))
			next = xstrdup(json_string_value(
				json_object_get(page, "next")));
		json_decref(page);
		if (next == NULL ||
		    (max > 0 && (long long)json_array_size(all) >= max))
			break;
	}
	if (ret == 0)
		print_json(all);
	free(next);
	json_decref(all);
	return ret;
}

/*
 * As ctl_list, but prints each item as one line of compact JSON as its
 * page arrives (JSON lines), so an export of any size needs one page of
 * memory; at most max items when max > 0.
 */
static int
ctl_list_lines(struct ctl *c, const char *path, const char *cursor,
	       long long max)
{
	json_t *page = NULL, *item;
	char *next = NULL;
	long long done = 0;
	size_t i;
	int ret = 0;

	for (;;) {
		long long want = max > 0 ? max - done : PAGE_MAX;
		char sep = strchr(path, '?') ? '&' : '?', *esc = NULL, *p;

		if (want > PAGE_MAX)
			want = PAGE_MAX;
		esc = next ? curl_easy_escape(c->curl, next, 0) : NULL;
		p = next ? xasprintf("%s%climit=%lld&%s=%s", path, sep, want,
				     cursor, esc)
			 : xasprintf("%s%climit=%lld", path, sep, want);
		curl_free(esc);
		free(next);
		next = NULL;
		ret = ctl_request(c, "GET", p, NULL, &page);
		free(p);
		if (ret != 0)
			break;
		json_array_foreach(json_object_get(page, "items"), i, item) {
			char *line = json_dumps(item, JSON_COMPACT);

			printf("%s\n", line ? line : "null");
			free(line);
			done++;
		}
		if (json_is_string(json_object_get(page, "next")))
			next = xstrdup(json_string_value(
				json_object_get(page, "next")));
		json_decref(page);
		if (next == NULL || (max > 0 && done >= max))
			break;
	}
	free(next);
	if (fflush(stdout) != 0 && ret == 0) {
		fprintf(stderr, "%s: could not write the output\n", progname);
		ret = 1;
	}
	return ret;
}

/* ---- arguments --------------------------------------------------------- */

/* s escaped as one URL path segment. */
static const char *
seg(struct ctl *c, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	const char *out = arena_strdup(&c->arena, e ? e : "");

	curl_free(e);
	return out;
}

/* A repository name escaped for a URL path: its slashes stay. */
static const char *
repo_seg(struct ctl *c, const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL)
		return seg(c, s);
	return arena_printf(
		&c->arena, "%s/%s",
		seg(c, arena_strndup(&c->arena, s, (size_t)(slash - s))),
		repo_seg(c, slash + 1));
}

/* One line of stdin without its newline (caller frees), or NULL. */
static char *
read_line(FILE *f)
{
	char line[LINE_MAX_LEN];
	size_t n;

	if (fgets(line, sizeof(line), f) == NULL)
		return NULL;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return xstrdup(line);
}

/* Asks for the password on the terminal, without echo. */
static char *
prompt_password(const char *user)
{
	FILE *tty = fopen("/dev/tty", "r+");
	struct termios old, quiet;
	bool hidden;
	char *pw;

	if (tty == NULL)
		return NULL;
	fprintf(tty, "password for %s: ", user);
	fflush(tty);
	if ((hidden = tcgetattr(fileno(tty), &old) == 0)) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	pw = read_line(tty);
	if (hidden)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	return pw;
}

/* A password for a user being created or changed: stdin's next line with
 * --new-password-stdin, else a generated one (generated set). */
static char *
new_password(struct ctl *c, bool *generated)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
				       "abcdefghijkmnopqrstuvwxyz23456789";
	unsigned char rnd[20];
	char *pw;

	*generated = !c->o.new_password_stdin;
	if (c->o.new_password_stdin)
		return read_line(stdin);
	util_random(rnd, sizeof(rnd));
	pw = xmalloc(sizeof(rnd) + 1);
	for (size_t i = 0; i < sizeof(rnd); i++)
		pw[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	pw[sizeof(rnd)] = '\0';
	return pw;
}

/* "read", "write" or "admin"; NULL after a usage error. */
static const char *
level_arg(const char *s)
{
	if (!strcmp(s, "read") || !strcmp(s, "write") || !strcmp(s, "admin"))
		return s;
	usage_error("level must be read, write or admin, not \"%s\"", s);
	return NULL;
}

/* --expires-in as a JSON integer, or NULL; *bad on a malformed value. */
static json_t *
expires_arg(const struct ctl *c, bool *bad)
{
	uint64_t v;

	*bad = false;
	if (c->o.expires_in == NULL)
		return json_null();
	if (util_parse_u64(c->o.expires_in, &v) < 0 || v == 0 ||
	    v > INT64_MAX) {
		*bad = true;
		return NULL;
	}
	return json_integer((json_int_t)v);
}

/* {name, expires_in, read_only, repositories} for a token, or NULL after
 * a usage error. */
static json_t *
token_body(const struct ctl *c, const char *name)
{
	bool bad;
	json_t *ttl = expires_arg(c, &bad), *body, *repos;

	if (bad) {
		usage_error("--expires-in takes seconds");
		return NULL;
	}
	body = json_pack("{s:s, s:o, s:b}", "name", name, "expires_in", ttl,
			 "read_only", c->o.read_only);
	if (c->o.nrepos > 0) {
		repos = json_array();
		for (int i = 0; i < c->o.nrepos; i++)
			json_array_append_new(repos,
					      json_string(c->o.repos[i]));
		json_object_set_new(body, "repositories", repos);
	}
	return body;
}

/* A list command: every page, or --limit items. */
static int
list(struct ctl *c, const char *p)
{
	long long max = opt_count(c);

	if (max < 0)
		return usage_error("--limit takes a positive count");
	return ctl_list(c, p, "after", max);
}

/* "?delete_repositories=true" when --delete-repositories or its older
 * name --force: the namespace's repositories go with it. */
static const char *
force(const struct ctl *c)
{
	return c->o.force || c->o.delete_repositories
		       ? "?delete_repositories=true"
		       : "";
}

/* ---- commands ------------------------------------------------------------ */

static int
cmd_me(struct ctl *c, char **a)
{
	(void)a;
	return ctl_call(c, "GET", "/me", NULL, NULL);
}

static int
cmd_user_create(struct ctl *c, char **a)
{
	bool generated;
	char *pw = new_password(c, &generated);
	json_t *body, *doc;
	int ret;

	if (pw == NULL)
		return usage_error("no new password on stdin");
	body = json_pack("{s:s, s:s, s:b, s:s?, s:s?}", "name", a[0],
			 "password", pw, "admin", c->o.admin, "email",
			 c->o.email, "display_name", c->o.display_name);
	ret = ctl_request(c, "POST", "/users", body, &doc);
	if (ret == 0 && generated)
		json_object_set_new(doc, "password", json_string(pw));
	if (ret == 0)
		print_json(doc);
	json_decref(doc);
	json_decref(body);
	free(pw);
	return ret;
}

static int
cmd_user_list(struct ctl *c, char **a)
{
	(void)a;
	return list(c, "/users");
}

static int
cmd_user_get(struct ctl *c, char **a)
{
	return ctl_call(c, "GET",
			arena_printf(&c->arena, "/users/%s", seg(c, a[0])),
			NULL, NULL);
}

static int
user_patch(struct ctl *c, const char *name, json_t *body)
{
	return ctl_call(c, "PATCH",
			arena_printf(&c->arena, "/users/%s", seg(c, name)),
			body, NULL);
}

static int
cmd_user_update(struct ctl *c, char **a)
{
	json_t *body = json_pack("{s:s?, s:s?}", "email", c->o.email,
				 "display_name", c->o.display_name);

	if (c->o.admin && c->o.no_admin) {
		json_decref(body);
		return usage_error("--admin or --no-admin, not both");
	}
	if (c->o.admin || c->o.no_admin)
		json_object_set_new(body, "admin", json_boolean(c->o.admin));
	return user_patch(c, a[0], body);
}

/* Changing one's own password proves the current one: the login's. */
static int
cmd_user_password(struct ctl *c, char **a)
{
	bool generated;
	char *pw = new_password(c, &generated);
	json_t *body, *doc;
	int ret;

	if (pw == NULL)
		return usage_error("no new password on stdin");
	body = json_pack("{s:s}", "password", pw);
	if (c->o.revoke_tokens)
		json_object_set_new(body, "revoke_tokens", json_true());
	if (!strcmp(a[0], c->user))
		json_object_set_new(body, "current_password",
				    json_string(c->password));
	ret = ctl_request(c, "PATCH",
			  arena_printf(&c->arena, "/users/%s", seg(c, a[0])),
			  body, &doc);
	if (ret == 0 && generated)
		printf("new password for %s: %s\n", a[0], pw);
	else if (ret == 0)
		printf("changed the password of %s\n", a[0]);
	json_decref(doc);
	json_decref(body);
	free(pw);
	return ret;
}

static int
cmd_user_disable(struct ctl *c, char **a)
{
	return user_patch(c, a[0], json_pack("{s:b}", "disabled", 1));
}

/* Tokens made before the disable stay dead unless --revive-tokens. */
static int
cmd_user_enable(struct ctl *c, char **a)
{
	json_t *body = json_pack("{s:b}", "disabled", 0);

	if (c->o.revive_tokens)
		json_object_set_new(body, "revive_tokens", json_true());
	return user_patch(c, a[0], body);
}

static int
cmd_user_unlock(struct ctl *c, char **a)
{
	return ctl_call(c, "POST",
			arena_printf(&c->arena, "/users/%s/unlock",
				     seg(c, a[0])),
			NULL, NULL);
}

/* An administrator's lock: until unlock, or --expires-in seconds. */
static int
cmd_user_lock(struct ctl *c, char **a)
{
	bool bad = false;
	json_t *ttl = expires_arg(c, &bad), *body;

	if (bad)
		return usage_error("--expires-in takes seconds");
	body = json_pack("{s:o}", "expires_in", ttl);
	if (c->o.reason != NULL)
		json_object_set_new(body, "reason", json_string(c->o.reason));
	return ctl_call(c, "POST",
			arena_printf(&c->arena, "/users/%s/lock", seg(c, a[0])),
			body, NULL);
}

static int
cmd_user_delete(struct ctl *c, char **a)
{
	return ctl_call(
		c, "DELETE",
		arena_printf(&c->arena, "/users/%s%s", seg(c, a[0]), force(c)),
		NULL, arena_printf(&c->arena, "deleted user %s", a[0]));
}

static int
cmd_org_create(struct ctl *c, char **a)
{
	return ctl_call(c, "POST", "/orgs", json_pack("{s:s}", "name", a[0]),
			NULL);
}

static int
cmd_org_list(struct ctl *c, char **a)
{
	(void)a;
	return list(c, "/orgs");
}

static int
cmd_org_get(struct ctl *c, char **a)
{
	return ctl_call(c, "GET",
			arena_printf(&c->arena, "/orgs/%s", seg(c, a[0])), NULL,
			NULL);
}

static int
cmd_org_delete(struct ctl *c, char **a)
{
	return ctl_call(
		c, "DELETE",
		arena_printf(&c->arena, "/orgs/%s%s", seg(c, a[0]), force(c)),
		NULL, arena_printf(&c->arena, "deleted org %s", a[0]));
}

static int
cmd_org_members(struct ctl *c, char **a)
{
	return list(c,
		    arena_printf(&c->arena, "/orgs/%s/members", seg(c, a[0])));
}

static int
cmd_org_member_set(struct ctl *c, char **a)
{
	if (strcmp(a[2], "owner") != 0 && strcmp(a[2], "member") != 0)
		return usage_error("role must be owner or member");
	return ctl_call(c, "PUT",
			arena_printf(&c->arena, "/orgs/%s/members/%s",
				     seg(c, a[0]), seg(c, a[1])),
			json_pack("{s:s}", "role", a[2]), NULL);
}

static int
cmd_org_member_remove(struct ctl *c, char **a)
{
	return ctl_call(
		c, "DELETE",
		arena_printf(&c->arena, "/orgs/%s/members/%s", seg(c, a[0]),
			     seg(c, a[1])),
		NULL,
		arena_printf(&c->arena, "removed %s from %s", a[1], a[0]));
}

/* /orgs/ORG/teams/TEAM */
static const char *
team_path(struct ctl *c, char **a)
{
	return arena_printf(&c->arena, "/orgs/%s/teams/%s", seg(c, a[0]),
			    seg(c, a[1]));
}

static int
cmd_team_create(struct ctl *c, char **a)
{
	return ctl_call(c, "POST",
			arena_printf(&c->arena, "/orgs/%s/teams", seg(c, a[0])),
			json_pack("{s:s, s:s?, s:s?}", "name", a[1],
				  "description", c->o.description, "ldap_group",
				  c->o.ldap_group),
			NULL);
}

static int
cmd_team_list(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "/orgs/%s/teams", seg(c, a[0])));
}

static int
cmd_team_get(struct ctl *c, char **a)
{
	return ctl_call(c, "GET", team_path(c, a), NULL, NULL);
}

static int
cmd_team_delete(struct ctl *c, char **a)
{
	return ctl_call(
		c, "DELETE", team_path(c, a), NULL,
		arena_printf(&c->arena, "deleted team %s/%s", a[0], a[1]));
}

/* The team follows directory group a[2]: PATCH {ldap_group}. */
static int
cmd_team_link(struct ctl *c, char **a)
{
	return ctl_call(c, "PATCH", team_path(c, a),
			json_pack("{s:s}", "ldap_group", a[2]), NULL);
}

static int
cmd_team_unlink(struct ctl *c, char **a)
{
	return ctl_call(c, "PATCH", team_path(c, a),
			json_pack("{s:n}", "ldap_group"), NULL);
}

static int
cmd_team_members(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "%s/members", team_path(c, a)));
}

static int
cmd_team_member_add(struct ctl *c, char **a)
{
	return ctl_call(c, "PUT",
			arena_printf(&c->arena, "%s/members/%s",
				     team_path(c, a), seg(c, a[2])),
			NULL, NULL);
}

static int
cmd_team_member_remove(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE",
			arena_printf(&c->arena, "%s/members/%s",
				     team_path(c, a), seg(c, a[2])),
			NULL,
			arena_printf(&c->arena, "removed %s from %s/%s", a[2],
				     a[0], a[1]));
}

/* PUT base/grants {repository: REPO or null (--org), level}. */
static int
grant_put(struct ctl *c, const char *base, char **a)
{
	const char *repo = c->o.org ? NULL : a[2];
	const char *level = level_arg(a[c->o.org ? 2 : 3]);

	if (level == NULL)
		return 2;
	return ctl_call(
		c, "PUT", arena_printf(&c->arena, "%s/grants", base),
		json_pack("{s:s?, s:s}", "repository", repo, "level", level),
		NULL);
}

/* DELETE base/grants?repository=REPO (none with --org). */
static int
grant_delete(struct ctl *c, const char *base, char **a)
{
	const char *q = c->o.org ? ""
				 : arena_printf(&c->arena, "?repository=%s",
						seg(c, a[2]));

	return ctl_call(c, "DELETE",
			arena_printf(&c->arena, "%s/grants%s", base, q), NULL,
			arena_printf(&c->arena, "revoked the grant on %s",
				     c->o.org ? a[0] : a[2]));
}

static int
cmd_team_grant(struct ctl *c, char **a)
{
	return grant_put(c, team_path(c, a), a);
}

static int
cmd_team_revoke(struct ctl *c, char **a)
{
	return grant_delete(c, team_path(c, a), a);
}

static int
cmd_team_grants(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "%s/grants", team_path(c, a)));
}

static int
cmd_repo_list(struct ctl *c, char **a)
{
	(void)a;
	return list(c, "/repositories");
}

static int
cmd_repo_get(struct ctl *c, char **a)
{
	return ctl_call(
		c, "GET",
		arena_printf(&c->arena, "/repositories/%s", repo_seg(c, a[0])),
		NULL, NULL);
}

static int
cmd_repo_visibility(struct ctl *c, char **a)
{
	if (strcmp(a[1], "public") != 0 && strcmp(a[1], "private") != 0)
		return usage_error("visibility is public or private");
	return ctl_call(c, "PUT",
			arena_printf(&c->arena, "/repositories/%s/visibility",
				     repo_seg(c, a[0])),
			json_pack("{s:b}", "public", !strcmp(a[1], "public")),
			NULL);
}

static int
cmd_repo_delete(struct ctl *c, char **a)
{
	return ctl_call(
		c, "DELETE",
		arena_printf(&c->arena, "/repositories/%s", repo_seg(c, a[0])),
		NULL, arena_printf(&c->arena, "deleted repository %s", a[0]));
}

static const char *
repo_grant_path(struct ctl *c, char **a)
{
	return arena_printf(&c->arena, "/repositories/%s/grants/users/%s",
			    repo_seg(c, a[0]), seg(c, a[1]));
}

static int
cmd_repo_grant(struct ctl *c, char **a)
{
	const char *level = level_arg(a[2]);

	if (level == NULL)
		return 2;
	return ctl_call(c, "PUT", repo_grant_path(c, a),
			json_pack("{s:s}", "level", level), NULL);
}

static int
cmd_repo_revoke(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE", repo_grant_path(c, a), NULL,
			arena_printf(&c->arena, "revoked %s's grant on %s",
				     a[1], a[0]));
}

/* /users/USER/tokens, USER from --user or the login. */
static const char *
tokens_path(struct ctl *c)
{
	return arena_printf(&c->arena, "/users/%s/tokens",
			    seg(c, c->o.user ? c->o.user : c->user));
}

static int
cmd_token_create(struct ctl *c, char **a)
{
	json_t *body = token_body(c, a[0]);

	if (body == NULL)
		return 2;
	return ctl_call(c, "POST", tokens_path(c), body, NULL);
}

static int
cmd_token_list(struct ctl *c, char **a)
{
	(void)a;
	return list(c, tokens_path(c));
}

static int
cmd_token_revoke(struct ctl *c, char **a)
{
	return ctl_call(
		c, "DELETE",
		arena_printf(&c->arena, "%s/%s", tokens_path(c), seg(c, a[0])),
		NULL, arena_printf(&c->arena, "revoked token %s", a[0]));
}

/* /orgs/ORG/service-accounts/NAME */
static const char *
sa_path(struct ctl *c, char **a)
{
	return arena_printf(&c->arena, "/orgs/%s/service-accounts/%s",
			    seg(c, a[0]), seg(c, a[1]));
}

static int
cmd_sa_create(struct ctl *c, char **a)
{
	return ctl_call(c, "POST",
			arena_printf(&c->arena, "/orgs/%s/service-accounts",
				     seg(c, a[0])),
			json_pack("{s:s, s:s?}", "name", a[1], "description",
				  c->o.description),
			NULL);
}

static int
cmd_sa_list(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "/orgs/%s/service-accounts",
				    seg(c, a[0])));
}

static int
cmd_sa_get(struct ctl *c, char **a)
{
	return ctl_call(c, "GET", sa_path(c, a), NULL, NULL);
}

static int
cmd_sa_delete(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE", sa_path(c, a), NULL,
			arena_printf(&c->arena, "deleted %s+%s", a[0], a[1]));
}

static int
cmd_sa_disable(struct ctl *c, char **a)
{
	return ctl_call(c, "PATCH", sa_path(c, a),
			json_pack("{s:b}", "disabled", 1), NULL);
}

static int
cmd_sa_enable(struct ctl *c, char **a)
{
	return ctl_call(c, "PATCH", sa_path(c, a),
			json_pack("{s:b}", "disabled", 0), NULL);
}

static int
cmd_sa_grant(struct ctl *c, char **a)
{
	return grant_put(c, sa_path(c, a), a);
}

static int
cmd_sa_revoke(struct ctl *c, char **a)
{
	return grant_delete(c, sa_path(c, a), a);
}

static int
cmd_sa_grants(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "%s/grants", sa_path(c, a)));
}

static int
cmd_sa_token(struct ctl *c, char **a)
{
	json_t *body = token_body(c, a[2]);

	if (body == NULL)
		return 2;
	return ctl_call(c, "POST",
			arena_printf(&c->arena, "%s/tokens", sa_path(c, a)),
			body, NULL);
}

static int
cmd_sa_tokens(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "%s/tokens", sa_path(c, a)));
}

static int
cmd_sa_token_revoke(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE",
			arena_printf(&c->arena, "%s/tokens/%s", sa_path(c, a),
				     seg(c, a[2])),
			NULL,
			arena_printf(&c->arena, "revoked token %s", a[2]));
}

/* A full directory sync now (system administrators): {"disabled": N}. */
static int
cmd_ldap_sync(struct ctl *c, char **a)
{
	(void)a;
	return ctl_call(c, "POST", "/ldap/sync", NULL, "synced");
}

/* /audit with the filters given as options. */
static const char *
audit_path(struct ctl *c)
{
	const char *keys[] = { "actor", "action", "target", "before",
			       "since", "until" };
	const char *vals[] = { c->o.actor, c->o.action, c->o.target,
			       c->o.before, c->o.since, c->o.until };
	const char *p = "/audit";

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (vals[i] != NULL)
			p = arena_printf(&c->arena, "%s%c%s=%s", p,
					 strchr(p, '?') ? '&' : '?', keys[i],
					 seg(c, vals[i]));
	return p;
}

/* The newest records first: --limit of them (default 100); with --jsonl
 * one record per line instead of one array. */
static int
cmd_audit(struct ctl *c, char **a)
{
	long long max = opt_count(c);

	(void)a;
	if (max < 0)
		return usage_error("--limit takes a positive count");
	if (c->o.jsonl)
		return ctl_list_lines(c, audit_path(c), "before",
				      max ? max : AUDIT_DEFAULT);
	return ctl_list(c, audit_path(c), "before", max ? max : AUDIT_DEFAULT);
}

/* Every matching record (or --limit of them), newest first, as JSON
 * lines: for archiving and for jq. */
static int
cmd_audit_export(struct ctl *c, char **a)
{
	long long max = opt_count(c);

	(void)a;
	if (max < 0)
		return usage_error("--limit takes a positive count");
	return ctl_list_lines(c, audit_path(c), "before", max);
}

static int
cmd_gc_status(struct ctl *c, char **a)
{
	(void)a;
	return ctl_call(c, "GET", "/gc", NULL, NULL);
}

/* Collection runs on the registryd nodes all the time (or `registryd gc`
 * where they do not); what an operator asks of it here is a report. */
static int
cmd_gc_run(struct ctl *c, char **a)
{
	uint64_t g;

	(void)a;
	if (!c->o.dry_run)
		return usage_error("gc run needs --dry-run: collection runs on "
				   "the registryd nodes (or `registryd gc` on "
				   "one)");
	if (c->o.grace == NULL)
		return ctl_call(c, "GET", "/gc/dry-run", NULL, NULL);
	if (util_parse_u64(c->o.grace, &g) < 0)
		return usage_error("--grace takes seconds");
	return ctl_call(c, "GET",
			arena_printf(&c->arena, "/gc/dry-run?grace=%s",
				     c->o.grace),
			NULL, NULL);
}

static const char *
quota_path(struct ctl *c, const char *ns)
{
	return arena_printf(&c->arena, "/quotas/%s", seg(c, ns));
}

static int
cmd_quota_get(struct ctl *c, char **a)
{
	return ctl_call(c, "GET", quota_path(c, a[0]), NULL, NULL);
}

static int
cmd_quota_list(struct ctl *c, char **a)
{
	(void)a;
	return list(c, "/quotas");
}

/* SIZE in bytes or with a unit ("10GiB"), checked here: a usage error. */
static int
cmd_quota_set(struct ctl *c, char **a)
{
	uint64_t n;

	if (bytesize_parse(a[1], &n) < 0)
		return usage_error("size \"%s\": a whole number of bytes, "
				   "optionally with a unit (kB, MB, GB, TB, "
				   "PB, KiB, MiB, GiB, TiB, PiB), at most "
				   "4 EiB",
				   a[1]);
	return ctl_call(c, "PUT", quota_path(c, a[0]),
			json_pack("{s:I}", "limit", (json_int_t)n), NULL);
}

static int
cmd_quota_clear(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE", quota_path(c, a[0]), NULL,
			arena_printf(&c->arena, "cleared the quota of %s",
				     a[0]));
}

/* Prints the result; with --check nothing is fixed, and the exit status
 * is 3 when a namespace's tracked usage differs from its content's. */
static int
cmd_quota_recompute(struct ctl *c, char **a)
{
	json_t *body = json_pack("{s:b}", "check", c->o.check), *doc;
	json_int_t drifted;
	int ret;

	(void)a;
	ret = ctl_request(c, "POST", "/quotas/recompute", body, &doc);
	json_decref(body);
	if (ret != 0)
		return ret;
	print_json(doc);
	drifted = json_integer_value(json_object_get(doc, "drifted"));
	json_decref(doc);
	if (c->o.check && drifted > 0) {
		fprintf(stderr, "%s: the usage of %lld namespace(s) drifted\n",
			progname, (long long)drifted);
		return 3;
	}
	return 0;
}

/* ?namespace=NS (--namespace) or ?repository=REPO: a policy's scope. */
static const char *
scope_query(struct ctl *c, char **a)
{
	return c->o.ns ? arena_printf(&c->arena, "namespace=%s",
				      seg(c, c->o.ns))
		       : arena_printf(&c->arena, "repository=%s",
				      seg(c, a[0]));
}

/* {"namespace": NS} or {"repository": REPO}, for a new policy. */
static json_t *
scope_body(struct ctl *c, char **a)
{
	return c->o.ns ? json_pack("{s:s}", "namespace", c->o.ns)
		       : json_pack("{s:s}", "repository", a[0]);
}

static int
cmd_immutable_list(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "/immutable-rules?%s",
				    scope_query(c, a)));
}

/* immutable add REPO|--namespace NS PATTERN */
static int
cmd_immutable_add(struct ctl *c, char **a)
{
	json_t *body = scope_body(c, a);

	json_object_set_new(body, "pattern",
			    json_string(a[c->o.ns ? 0 : 1]));
	return ctl_call(c, "POST", "/immutable-rules", body, NULL);
}

static int
cmd_immutable_remove(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE",
			arena_printf(&c->arena, "/immutable-rules/%s",
				     seg(c, a[0])),
			NULL,
			arena_printf(&c->arena, "removed rule %s", a[0]));
}

/* --keep and --older-than: counts for a retention policy. */
static int
policy_count(json_t *body, const char *key, const char *opt, const char *v)
{
	uint64_t n;

	if (v == NULL)
		return 0;
	if (util_parse_u64(v, &n) < 0 || n > 1000000)
		return usage_error("%s takes a count", opt);
	json_object_set_new(body, key, json_integer((json_int_t)n));
	return 0;
}

/* --exclude a,b,c: the exclusions as an array (no pattern holds ","). */
static json_t *
exclude_list(const char *s)
{
	json_t *list = json_array();
	const char *comma;

	while (s != NULL && *s != '\0') {
		comma = strchr(s, ',');
		json_array_append_new(
			list, comma ? json_stringn(s, (size_t)(comma - s))
				    : json_string(s));
		s = comma ? comma + 1 : NULL;
	}
	return list;
}

/* Adds --pattern, --exclude, --keep and --older-than to body; 2 (body
 * released) on a bad count. */
static int
policy_body(struct ctl *c, json_t *body)
{
	if (policy_count(body, "keep_last", "--keep", c->o.keep) != 0 ||
	    policy_count(body, "older_than_days", "--older-than",
			 c->o.older_than) != 0) {
		json_decref(body);
		return 2;
	}
	if (c->o.pattern != NULL)
		json_object_set_new(body, "pattern",
				    json_string(c->o.pattern));
	if (c->o.exclude != NULL)
		json_object_set_new(body, "exclude",
				    exclude_list(c->o.exclude));
	return 0;
}

/* retention add REPO|--namespace NS [--pattern P] [--exclude P,...]
 * [--keep N] [--older-than DAYS] [--disabled] */
static int
cmd_retention_add(struct ctl *c, char **a)
{
	json_t *body = scope_body(c, a);

	if (policy_body(c, body) != 0)
		return 2;
	if (c->o.disabled)
		json_object_set_new(body, "enabled", json_false());
	return ctl_call(c, "POST", "/retention-policies", body, NULL);
}

/* retention update ID [--pattern P] [--exclude P,...] [--keep N]
 * [--older-than DAYS]: what is given changes. */
static int
cmd_retention_update(struct ctl *c, char **a)
{
	json_t *body = json_object();

	if (policy_body(c, body) != 0)
		return 2;
	return ctl_call(c, "PATCH", arena_printf(&c->arena,
						 "/retention-policies/%s",
						 seg(c, a[0])),
			body, NULL);
}

static int
retention_enable(struct ctl *c, const char *id, bool on)
{
	return ctl_call(c, "PATCH",
			arena_printf(&c->arena, "/retention-policies/%s",
				     seg(c, id)),
			json_pack("{s:b}", "enabled", on), NULL);
}

static int
cmd_retention_enable(struct ctl *c, char **a)
{
	return retention_enable(c, a[0], true);
}

static int
cmd_retention_disable(struct ctl *c, char **a)
{
	return retention_enable(c, a[0], false);
}

static int
cmd_retention_list(struct ctl *c, char **a)
{
	return list(c, arena_printf(&c->arena, "/retention-policies?%s",
				    scope_query(c, a)));
}

static const char *
policy_path(struct ctl *c, const char *id, const char *tail)
{
	return arena_printf(&c->arena, "/retention-policies/%s%s",
			    seg(c, id), tail);
}

static int
cmd_retention_get(struct ctl *c, char **a)
{
	return ctl_call(c, "GET", policy_path(c, a[0], ""), NULL, NULL);
}

static int
cmd_retention_remove(struct ctl *c, char **a)
{
	return ctl_call(c, "DELETE", policy_path(c, a[0], ""), NULL,
			arena_printf(&c->arena, "removed policy %s", a[0]));
}

static int
cmd_retention_dry_run(struct ctl *c, char **a)
{
	return ctl_call(c, "POST", policy_path(c, a[0], "/dry-run"), NULL,
			NULL);
}

static int
cmd_retention_run(struct ctl *c, char **a)
{
	return ctl_call(c, "POST", policy_path(c, a[0], "/run"), NULL, NULL);
}

/* api METHOD PATH [JSON]: PATH under /api/v1. */
static int
cmd_api(struct ctl *c, char **a)
{
	json_t *body = NULL;
	json_error_t err;
	int n = 0;

	while (a[n] != NULL)
		n++;
	if (n < 2 || n > 3)
		return usage_error("usage: api METHOD PATH [JSON]");
	if (n == 3 && (body = json_loads(a[2], 0, &err)) == NULL)
		return usage_error("JSON argument: %s", err.text);
	return ctl_call(c, a[0],
			a[1][0] == '/' ? a[1]
				       : arena_printf(&c->arena, "/%s", a[1]),
			body, "ok");
}

static const struct command commands[] = {
	{ "me", "", 0, "", cmd_me },
	{ "user create", "NAME", 1,
	  "--admin --email --display-name --new-password-stdin",
	  cmd_user_create },
	{ "user list", "", 0, "--limit", cmd_user_list },
	{ "user get", "NAME", 1, "", cmd_user_get },
	{ "user update", "NAME", 1, "--email --display-name --admin --no-admin",
	  cmd_user_update },
	{ "user password", "NAME", 1, "--new-password-stdin --revoke-tokens",
	  cmd_user_password },
	{ "user disable", "NAME", 1, "", cmd_user_disable },
	{ "user enable", "NAME", 1, "--revive-tokens", cmd_user_enable },
	{ "user unlock", "NAME", 1, "", cmd_user_unlock },
	{ "user lock", "NAME", 1, "--reason --expires-in", cmd_user_lock },
	{ "user delete", "NAME", 1, "--delete-repositories --force",
	  cmd_user_delete },
	{ "org create", "ORG", 1, "", cmd_org_create },
	{ "org list", "", 0, "--limit", cmd_org_list },
	{ "org get", "ORG", 1, "", cmd_org_get },
	{ "org delete", "ORG", 1, "--delete-repositories --force",
	  cmd_org_delete },
	{ "org members", "ORG", 1, "--limit", cmd_org_members },
	{ "org member set", "ORG USER owner|member", 3, "",
	  cmd_org_member_set },
	{ "org member remove", "ORG USER", 2, "", cmd_org_member_remove },
	{ "team create", "ORG TEAM", 2, "--description --ldap-group",
	  cmd_team_create },
	{ "team list", "ORG", 1, "--limit", cmd_team_list },
	{ "team get", "ORG TEAM", 2, "", cmd_team_get },
	{ "team delete", "ORG TEAM", 2, "", cmd_team_delete },
	{ "team link", "ORG TEAM GROUP-DN", 3, "", cmd_team_link },
	{ "team unlink", "ORG TEAM", 2, "", cmd_team_unlink },
	{ "team members", "ORG TEAM", 2, "--limit", cmd_team_members },
	{ "team member add", "ORG TEAM USER", 3, "", cmd_team_member_add },
	{ "team member remove", "ORG TEAM USER", 3, "",
	  cmd_team_member_remove },
	{ "team grant", "ORG TEAM REPO|--org read|write|admin", 4, "--org",
	  cmd_team_grant },
	{ "team revoke", "ORG TEAM REPO|--org", 3, "--org", cmd_team_revoke },
	{ "team grants", "ORG TEAM", 2, "--limit", cmd_team_grants },
	{ "repo list", "", 0, "--limit", cmd_repo_list },
	{ "repo get", "REPO", 1, "", cmd_repo_get },
	{ "repo visibility", "REPO public|private", 2, "",
	  cmd_repo_visibility },
	{ "repo grant", "REPO USER read|write|admin", 3, "", cmd_repo_grant },
	{ "repo revoke", "REPO USER", 2, "", cmd_repo_revoke },
	{ "repo delete", "REPO", 1, "", cmd_repo_delete },
	{ "token create", "TOKENNAME", 1,
	  "--user --expires-in --read-only --repo", cmd_token_create },
	{ "token list", "", 0, "--user --limit", cmd_token_list },
	{ "token revoke", "ID", 1, "--user", cmd_token_revoke },
	{ "sa create", "ORG NAME", 2, "--description", cmd_sa_create },
	{ "sa list", "ORG", 1, "--limit", cmd_sa_list },
	{ "sa get", "ORG NAME", 2, "", cmd_sa_get },
	{ "sa delete", "ORG NAME", 2, "", cmd_sa_delete },
	{ "sa disable", "ORG NAME", 2, "", cmd_sa_disable },
	{ "sa enable", "ORG NAME", 2, "", cmd_sa_enable },
	{ "sa grant", "ORG NAME REPO|--org read|write|admin", 4, "--org",
	  cmd_sa_grant },
	{ "sa revoke", "ORG NAME REPO|--org", 3, "--org", cmd_sa_revoke },
	{ "sa grants", "ORG NAME", 2, "--limit", cmd_sa_grants },
	{ "sa token", "ORG NAME TOKENNAME", 3,
	  "--expires-in --read-only --repo", cmd_sa_token },
	{ "sa tokens", "ORG NAME", 2, "--limit", cmd_sa_tokens },
	{ "sa token-revoke", "ORG NAME ID", 3, "", cmd_sa_token_revoke },
	{ "ldap sync", "", 0, "", cmd_ldap_sync },
	{ "audit", "", 0,
	  "--limit --actor --action --target --before --since --until --jsonl",
	  cmd_audit },
	{ "audit export", "", 0,
	  "--limit --actor --action --target --before --since --until",
	  cmd_audit_export },
	{ "gc status", "", 0, "", cmd_gc_status },
	{ "gc run", "", 0, "--dry-run --grace", cmd_gc_run },
	{ "quota get", "NS", 1, "", cmd_quota_get },
	{ "quota list", "", 0, "--limit", cmd_quota_list },
	{ "quota set", "NS SIZE", 2, "", cmd_quota_set },
	{ "quota clear", "NS", 1, "", cmd_quota_clear },
	{ "quota recompute", "", 0, "--check", cmd_quota_recompute },
	{ "immutable list", "REPO|--namespace NS", 1, "--namespace --limit",
	  cmd_immutable_list },
	{ "immutable add", "REPO|--namespace NS PATTERN", 2, "--namespace",
	  cmd_immutable_add },
	{ "immutable remove", "ID", 1, "", cmd_immutable_remove },
	{ "retention add", "REPO|--namespace NS", 1,
	  "--namespace --pattern --exclude --keep --older-than --disabled",
	  cmd_retention_add },
	{ "retention list", "REPO|--namespace NS", 1, "--namespace --limit",
	  cmd_retention_list },
	{ "retention get", "ID", 1, "", cmd_retention_get },
	{ "retention update", "ID", 1,
	  "--pattern --exclude --keep --older-than", cmd_retention_update },
	{ "retention enable", "ID", 1, "", cmd_retention_enable },
	{ "retention disable", "ID", 1, "", cmd_retention_disable },
	{ "retention remove", "ID", 1, "", cmd_retention_remove },
	{ "retention dry-run", "ID", 1, "", cmd_retention_dry_run },
	{ "retention run", "ID", 1, "", cmd_retention_run },
	{ "api", "METHOD PATH [JSON]", -1, "", cmd_api },
};

/* ---- command line -------------------------------------------------------- */

/* A command option: its name, and where its value goes (NULL: a flag). */
static const char **
opt_value(struct opts *o, const char *name, bool **flag)
{
	static const struct {
		const char *name;
		size_t value; /* offsetof a const char * in struct opts */
		size_t flag;  /* offsetof a bool, for flags */
		bool is_flag;
	} known[] = {
#define V(n, f) { n, offsetof(struct opts, f), 0, false }
#define F(n, f)                                                                \
	{                                                                      \
		n, 0, offsetof(struct opts, f), true                           \
	}
		V("--email", email),
		V("--display-name", display_name),
		V("--description", description),
		V("--user", user),
		V("--limit", limit),
		V("--expires-in", expires_in),
		V("--actor", actor),
		V("--action", action),
		V("--target", target),
		V("--before", before),
		V("--ldap-group", ldap_group),
		V("--since", since),
		V("--until", until),
		V("--reason", reason),
		V("--grace", grace),
		V("--namespace", ns),
		V("--pattern", pattern),
		V("--exclude", exclude),
		V("--keep", keep),
		V("--older-than", older_than),
		F("--disabled", disabled),
		F("--jsonl", jsonl),
		F("--admin", admin),
		F("--no-admin", no_admin),
		F("--org", org),
		F("--force", force),
		F("--new-password-stdin", new_password_stdin),
		F("--read-only", read_only),
		F("--revive-tokens", revive_tokens),
		F("--revoke-tokens", revoke_tokens),
		F("--delete-repositories", delete_repositories),
		F("--dry-run", dry_run),
		F("--check", check),
#undef V
#undef F
	};

	*flag = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (strcmp(known[i].name, name) != 0)
			continue;
		if (known[i].is_flag) {
			*flag = (bool *)((char *)o + known[i].flag);
			return NULL;
		}
		return (const char **)(void *)((char *)o + known[i].value);
	}
	return NULL;
}

/* Whether option name is in the command's space-separated list. */
static bool
opt_allowed(const struct command *cmd, const char *name)
{
	size_t n = strlen(name);
	const char *p = cmd->opts;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == cmd->opts || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

/* Splits argv into options (into c->o) and positional arguments. */
static int
parse_args(struct ctl *c, const struct command *cmd, int argc, char **argv,
	   char **pos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char **val;
		bool *flag;

		if (strncmp(argv[i], "--", 2) != 0 || cmd->nargs < 0) {
			pos[(*npos)++] = argv[i];
			continue;
		}
		/* The one option that may repeat. */
		if (!strcmp(argv[i], "--repo") && opt_allowed(cmd, "--repo")) {
			if (i + 1 == argc)
				return usage_error("--repo needs a value");
			if (c->o.nrepos == TOKEN_REPOS_MAX)
				return usage_error("at most %d --repo",
						   TOKEN_REPOS_MAX);
			c->o.repos[c->o.nrepos++] = argv[++i];
			continue;
		}
		val = opt_value(&c->o, argv[i], &flag);
		if ((val == NULL && flag == NULL) || !opt_allowed(cmd, argv[i]))
			return usage_error("%s takes no option %s", cmd->words,
					   argv[i]);
		if (flag != NULL)
			*flag = true;
		else if (i + 1 == argc)
			return usage_error("%s needs a value", argv[i]);
		else
			*val = argv[++i];
	}
	pos[*npos] = NULL;
	return 0;
}

/* The longest command whose words start argv; *used counts them. */
static const struct command *
find_command(int argc, char **argv, int *used)
{
	const struct command *best = NULL;
	int best_n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char *words = xstrdup(commands[i].words), *save = NULL, *w;
		int n = 0;
		bool match = true;

		for (w = strtok_r(words, " ", &save); w && match;
		     w = strtok_r(NULL, " ", &save), n++)
			match = n < argc && !strcmp(argv[n], w);
		free(words);
		if (match && n > best_n) {
			best = &commands[i];
			best_n = n;
		}
	}
	*used = best_n;
	return best;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--url URL] [--user NAME] [--password-stdin] "
		"[--ca-file FILE] COMMAND ...\n"
		"       %s --version\n"
		"  URL from --url or BERTH_URL (default %s), the login from "
		"--user or BERTH_USER,\n"
		"  its password from stdin's first line, BERTH_PASSWORD or "
		"the terminal.\n"
		"  FILE from --ca-file or BERTH_CA_FILE: PEM CA certificates "
		"an https URL's\n"
		"  certificate must chain to (default: the system's trust "
		"store).\n"
		"  REPO|--org: a repository, or --org for the whole "
		"organization.\n"
		"  GROUP-DN (team link, --ldap-group): a directory group's DN, "
		"such as\n"
		"  cn=devs,ou=groups,dc=example,dc=com; the team's directory "
		"users then follow\n"
		"  it at each login and sync, and team unlink removes them "
		"(docs/ldap.md).\n"
		"  ldap sync: a full directory sync now (system "
		"administrators).\n"
		"  token create, sa token: --read-only limits the token to "
		"pulls, --repo REPO\n"
		"  (repeatable; a name or a prefix such as acme/*) to those "
		"repositories.\n"
		"  user enable --revive-tokens: the tokens made before the "
		"disable work again.\n"
		"  user delete, org delete --delete-repositories (or "
		"--force): the namespace's\n"
		"  repositories are deleted with it; without, it must have "
		"none.\n"
		"  user lock: refuses every login of the account until "
		"user unlock (or\n"
		"  --expires-in seconds); user unlock also forgets its failed "
		"logins (system\n"
		"  administrators). user password --revoke-tokens also "
		"revokes access tokens.\n"
		"  repo delete: the repository, its tags and manifests "
		"(its admins).\n"
		"  REPO|--namespace NS: a policy for one repository, or for "
		"every repository of\n"
		"  namespace NS. immutable add: tags matching PATTERN (* any "
		"run, ? one\n"
		"  character: v*, release-*) can no longer move or be "
		"deleted; immutable remove\n"
		"  ID lifts the rule again (the scope's admins).\n"
		"  retention add: tags matching --pattern (default *) but no "
		"--exclude pattern\n"
		"  (comma-separated) and no immutable rule; of those it keeps "
		"the --keep most\n"
		"  recent per repository and deletes the rest not updated for "
		"--older-than days\n"
		"  (one or both); --disabled: no scheduled runs. retention "
		"dry-run ID lists\n"
		"  what retention run ID would delete now.\n"
		"  audit: --action X. or X* matches a prefix; --since and "
		"--until take RFC 3339\n"
		"  times (2026-01-31T00:00:00Z); audit export prints every "
		"record as JSON lines.\n"
		"  quota set NS SIZE: SIZE in bytes or with a unit (10GiB, "
		"500MB); quota\n"
		"  recompute --check fixes nothing and exits 3 on a "
		"difference.\n"
		"commands:\n",
		progname, progname, DEFAULT_URL);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s %s%s%s\n", commands[i].words, commands[i].args,
			*commands[i].opts ? " " : "", commands[i].opts);
}

/* The global options before the command; returns argv's index after. */
static int
parse_globals(struct ctl *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && !strncmp(argv[i], "-", 1); i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(argv[i], "-V") ||
			   !strcmp(argv[i], "--version")) {
			version_print(progname);
			exit(0);
		} else if (!strcmp(argv[i], "--password-stdin")) {
			c->password_stdin = true;
		} else if (!strcmp(argv[i], "--url") && i + 1 < argc) {
			c->url = argv[++i];
		} else if (!strcmp(argv[i], "--user") && i + 1 < argc) {
			c->user = argv[++i];
		} else if (!strcmp(argv[i], "--ca-file") && i + 1 < argc) {
			c->ca_file = argv[++i];
		} else {
			return -usage_error("unknown option %s", argv[i]);
		}
	}
	return i;
}

/* The login's password: stdin, BERTH_PASSWORD, or the terminal. */
static int
get_password(struct ctl *c)
{
	const char *env = getenv("BERTH_PASSWORD");

	if (c->password_stdin)
		c->password = read_line(stdin);
	else if (env != NULL && *env != '\0')
		c->password = xstrdup(env);
	else if (isatty(STDIN_FILENO))
		c->password = prompt_password(c->user);
	if (c->password == NULL || *c->password == '\0')
		return usage_error("no password: use --password-stdin or "
				   "BERTH_PASSWORD");
	return 0;
}

static int
run(struct ctl *c, int argc, char **argv)
{
	const struct command *cmd;
	char **pos;
	int used, npos, want, ret, i;
	size_t n;

	if ((i = parse_globals(c, argc, argv)) < 0)
		return -i;
	if (i == argc)
		return usage_error("no command");
	/* "http://host:5001/" and "http://host:5001" are the same. */
	n = strlen(c->url);
	if (n > 0 && c->url[n - 1] == '/')
		c->url = arena_strndup(&c->arena, c->url, n - 1);
	if ((cmd = find_command(argc - i, argv + i, &used)) == NULL)
		return usage_error("unknown command \"%s\"", argv[i]);
	i += used;
	pos = arena_alloc(&c->arena, sizeof(*pos) * (size_t)(argc - i + 1));
	if ((ret = parse_args(c, cmd, argc - i, argv + i, pos, &npos)) != 0)
		return ret;
	want = cmd->nargs - (c->o.org || c->o.ns ? 1 : 0);
	if (cmd->nargs >= 0 && npos != want)
		return usage_error("usage: %s %s %s", progname, cmd->words,
				   cmd->args);
	if (c->user == NULL || *c->user == '\0')
		return usage_error("no login: use --user or BERTH_USER");
	if ((ret = get_password(c)) != 0)
		return ret;
	return cmd->run(c, pos);
}

int
main(int argc, char **argv)
{
	struct ctl c = { .url = getenv("BERTH_URL"),
			 .user = getenv("BERTH_USER"),
			 .ca_file = getenv("BERTH_CA_FILE") };
	int ret;

	arena_init(&c.arena);
	if (c.url == NULL || *c.url == '\0')
		c.url = DEFAULT_URL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (c.curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "%s: could not start libcurl\n", progname);
		return 1;
	}
	ret = run(&c, argc, argv);
	curl_easy_cleanup(c.curl);
	curl_global_cleanup();
	if (c.password != NULL)
		explicit_bzero(c.password, strlen(c.password));
	free(c.password);
	arena_release(&c.arena);
	return ret;
}
