/*
 * libFuzzer target for the small parsers of untrusted request text: the
 * repository name and tag grammars, upload ids, Content-Range and Range,
 * token scopes, urlencoded forms, and the LDAP filter escaping and login
 * name forms. The first byte picks the parser; the rest is its input.
 * Besides not crashing, each checks a property of its answer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "authd.h"
#include "ldapauth.h"
#include "names.h"
#include "range.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
count_value(const char *value, void *arg)
{
	if (strlen(value) > 64 * 1024)
		abort();
	(*(int *)arg)++;
}

static void
check_scope(const char *s)
{
	struct jwt_access a;

	if (scope_parse(s, &a) == 0 &&
	    (a.type == NULL || a.name == NULL || *a.type == '\0'))
		abort();
	free(a.type);
	free(a.name);
	for (int i = 0; i < a.n_actions; i++)
		free(a.actions[i]);
	free(a.actions);
}

static void
check_filter(const char *s)
{
	char *f = ldapauth_filter("(uid=%s)", s);

	/* Escaped: no filter metacharacter of the input survives. */
	for (const char *p = f + 5; p[1] != '\0'; p++)
		if (*p == '(' || *p == ')' || *p == '*')
			abort();
	free(f);
	free(ldapauth_login_name(s, true));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint64_t a, b, off, len;
	int n = 0;

	if (size < 1 || size > 4096)
		return 0;
	s = xstrndup((const char *)data + 1, size - 1);
	switch (data[0] % 7) {
	case 0:
		if (names_repo_valid(s) &&
		    (strlen(s) > NAME_MAX_LEN || strstr(s, "..") ||
		     strstr(s, "//") || *s == '/'))
			abort();
		break;
	case 1:
		if (names_tag_valid(s) && (strlen(s) > 128 || strchr(s, '/')))
			abort();
		(void)reg_uuid_valid(s);
		break;
	case 2:
		if (range_parse_upload(s, &a, &b) == 0 && b < a)
			abort();
		break;
	case 3:
		if (range_parse_request(s, 1000, &off, &len) == 0 &&
		    (len == 0 || off + len > 1000))
			abort();
		break;
	case 4:
		check_scope(s);
		break;
	case 5:
		form_each(s, strlen(s), "scope", count_value, &n);
		free(form_get(s, strlen(s), "grant_type"));
		break;
	case 6:
		check_filter(s);
		break;
	}
	free(s);
	return 0;
}
