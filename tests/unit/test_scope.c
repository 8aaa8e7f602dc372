/*
 * Scopes of the Docker token spec (authd/scope.c): "type:name:actions"
 * with the name between the first and the last colon (a host port stays
 * in it), actions split on commas, and the grant rules that need no
 * database: the catalog, unknown types and names that are no repository.
 */
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "buf.h"
#include "test.h"

static void
access_free(struct jwt_access *a)
{
	free(a->type);
	free(a->name);
	for (int i = 0; i < a->n_actions; i++)
		free(a->actions[i]);
	free(a->actions);
}

/* a's actions joined by commas, into out. */
static void
actions_of(const struct jwt_access *a, char *out, size_t len)
{
	struct buf b;

	buf_init(&b, len - 1);
	for (int i = 0; i < a->n_actions; i++)
		if (buf_puts(&b, i ? "," : "") < 0 ||
		    buf_puts(&b, a->actions[i]) < 0)
			BUG("actions_of overflow");
	util_strlcpy(out, b.data ? b.data : "", len);
	buf_release(&b);
}

static bool
parses_to(const char *s, const char *type, const char *name,
	  const char *actions)
{
	struct jwt_access a;
	char got[256];
	bool ok;

	if (scope_parse(s, &a) < 0) {
		fprintf(stderr, "scope_parse(\"%s\") failed\n", s);
		access_free(&a);
		return false;
	}
	actions_of(&a, got, sizeof(got));
	ok = !strcmp(a.type, type) && !strcmp(a.name, name) &&
	     !strcmp(got, actions);
	if (!ok)
		fprintf(stderr, "scope_parse(\"%s\") = \"%s\" \"%s\" \"%s\"\n",
			s, a.type, a.name, got);
	access_free(&a);
	return ok;
}

static bool
refused(const char *s)
{
	struct jwt_access a;
	int ret = scope_parse(s, &a);

	/* On failure out may hold parts; freeing them must be safe. */
	access_free(&a);
	return ret == -1;
}

static void
parse_cases(void)
{
	static const struct {
		const char *s, *type, *name, *actions;
	} good[] = {
		{ "repository:org/app:pull", "repository", "org/app", "pull" },
		{ "repository:org/app:pull,push", "repository", "org/app",
		  "pull,push" },
		{ "repository:org/app:push,pull,delete", "repository",
		  "org/app", "push,pull,delete" },
		{ "repository:app:*", "repository", "app", "*" },
		{ "repository:a/b/c/d:pull", "repository", "a/b/c/d", "pull" },
		/* Empty actions are skipped; none at all is still a scope. */
		{ "repository:org/app:,,pull,,push,", "repository", "org/app",
		  "pull,push" },
		{ "repository:org/app:", "repository", "org/app", "" },
		{ "registry:catalog:*", "registry", "catalog", "*" },
		/* The name runs from the first to the last colon. */
		{ "repository:localhost:5000/org/app:pull", "repository",
		  "localhost:5000/org/app", "pull" },
		{ "repository:[::1]:5000/app:pull", "repository",
		  "[::1]:5000/app", "pull" },
		/* A resource class stays out of the type. */
		{ "repository(plugin):vieux/sshfs:pull", "repository",
		  "vieux/sshfs", "pull" },
		/* Actions are kept as sent; the grant judges them. */
		{ "repository:org/app:pull,bogus,PULL", "repository",
		  "org/app", "pull,bogus,PULL" },
		/* Two scopes in one string are one odd name (token.c
		 * splits on spaces first); the grant drops it. */
		{ "repository:a:pull repository:b:push", "repository",
		  "a:pull repository:b", "push" },
	};
	static const char *const bad[] = {
		"", "repository", "repository:org/app", ":", "::", ":::",
		":org/app:pull", "repository::pull", "Repository:org/app:pull",
		"repo-sitory:org/app:pull", "repository :org/app:pull",
		"repo1:org/app:pull", "(plugin):org/app:pull",
		"\xc3\xa9:org/app:pull",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(parses_to(good[i].s, good[i].type, good[i].name,
				good[i].actions));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(refused(bad[i]));
}

/* At most 1024 bytes. */
static void
parse_length(void)
{
	char s[1100];
	size_t pre = strlen("repository:"), post = strlen(":pull");

	memcpy(s, "repository:", pre);
	memset(s + pre, 'a', 1024 - pre - post);
	memcpy(s + 1024 - post, ":pull", post + 1);
	CHECK(strlen(s) == 1024 && !refused(s));
	memmove(s + pre + 1, s + pre, 1024 - pre + 1);
	CHECK(strlen(s) == 1025 && refused(s));
}

/* The actions the grant keeps for a principal (no database reached). */
static bool
grants(const char *s, const struct principal *p, const char *want)
{
	struct jwt_access a;
	struct arena arena;
	char got[256] = "";
	bool ok;

	arena_init(&arena);
	ok = scope_parse(s, &a) == 0 && scope_grant(NULL, &arena, p, &a) == 0;
	arena_release(&arena);
	if (ok)
		actions_of(&a, got, sizeof(got));
	ok = ok && !strcmp(got, want);
	if (!ok)
		fprintf(stderr, "grant(\"%s\") = \"%s\"\n", s, got);
	access_free(&a);
	return ok;
}

static void
grant_cases(void)
{
	static const char *const none[] = {
		/* The catalog has "*" alone; other registry names none. */
		"registry:catalog:pull,push,delete",
		"registry:other:*",
		"registry:Catalog:*",
		/* Unknown types get nothing. */
		"plugin:org/app:pull",
		"repositories:org/app:pull",
		/* Names that are no repository never reach the database. */
		"repository:Org/App:pull",
		"repository:localhost:5000/org/app:pull",
		"repository:org//app:pull",
		"repository:/org/app:pull",
		"repository:org/app/:pull",
		"repository:a:pull repository:b:push",
		"repository:..:pull",
	};
	struct principal user = { .kind = P_USER, .id = 7, .name = "alice" };
	struct principal anon = { .kind = P_ANONYMOUS, .name = "anonymous" };
	struct principal limited = user;

	limited.token_repos = true;
	CHECK(grants("registry:catalog:*", &user, "*"));
	CHECK(grants("registry:catalog:*", &anon, "*"));
	CHECK(grants("registry:catalog:*,*,*", &user, "*"));
	CHECK(grants("registry:catalog:pull,*,push", &user, "*"));
	CHECK(grants("registry:catalog:", &user, ""));
	/* A token limited to some repositories may not list them all. */
	CHECK(grants("registry:catalog:*", &limited, ""));
	for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
		CHECK(grants(none[i], &user, ""));
		CHECK(grants(none[i], &anon, ""));
	}
}

void
test_scope(void)
{
	parse_cases();
	parse_length();
	grant_cases();
}
