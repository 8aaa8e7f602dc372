/*
 * The directory helpers that need no server: Unicode case folding of DNs,
 * the account key that lockouts count under, login name forms, filters.
 */
#include <stdlib.h>
#include <string.h>

#include "ldapauth.h"
#include "test.h"

static int
fold_is(const char *in, const char *want)
{
	char *got = ldapauth_fold(in);
	int eq = strcmp(got, want) == 0;

	if (!eq)
		fprintf(stderr, "fold(\"%s\") = \"%s\"\n", in, got);
	free(got);
	return eq;
}

static int
key_is(const char *login, bool ad, const char *want)
{
	char *got = ldapauth_account_key(login, ad);
	int eq = strcmp(got, want) == 0;

	if (!eq)
		fprintf(stderr, "key(\"%s\") = \"%s\"\n", login, got);
	free(got);
	return eq;
}

void
test_ldapauth(void)
{
	char *a, *b, *f;

	CHECK(fold_is("CN=Ops,OU=Groups,DC=Example",
		      "cn=ops,ou=groups,dc=example"));
	/* Non-ASCII letters fold too, as the directory compares them. */
	a = ldapauth_fold("CN=Développeurs,OU=Groups,DC=berth,DC=test");
	b = ldapauth_fold("cn=DÉVELOPPEURS,ou=groups,dc=BERTH,dc=TEST");
	CHECK(strcmp(a, b) == 0);
	CHECK(strcmp(a, "cn=développeurs,ou=groups,dc=berth,dc=test") == 0);
	free(a);
	free(b);
	CHECK(fold_is("ΣΊΣΥΦΟΣ", "σίσυφοσ"));
	CHECK(fold_is("ÄÖÜ-straße", "äöü-straße"));
	/* Bytes that are not UTF-8 pass through, ASCII folded. */
	CHECK(fold_is("AB\xff\xfe" "CD", "ab\xff\xfe" "cd"));
	CHECK(fold_is("", ""));

	CHECK(key_is("Bob", true, "bob"));
	CHECK(key_is(" bob ", true, "bob"));
	CHECK(key_is("BERTH\\bob", true, "bob"));
	CHECK(key_is("Bob@Berth.Test", true, "bob"));
	CHECK(key_is("\tBOB@realm", true, "bob"));
	/* Without Active Directory only case and blanks are one account. */
	CHECK(key_is(" Bob", false, "bob"));
	CHECK(key_is("DOM\\bob", false, "dom\\bob"));

	f = ldapauth_filter("(uid=%s)", "a*(b)\\");
	CHECK(strcmp(f, "(uid=a\\2A\\28b\\29\\5C)") == 0);
	free(f);
}
