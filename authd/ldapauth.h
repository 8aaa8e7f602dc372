/*
 * Directory logins (OpenLDAP and Active Directory) through libldap: find
 * the user with the service account, bind as the user with the password,
 * and read the groups the user belongs to, nested ones included.
 */
#ifndef BERTH_LDAPAUTH_H
#define BERTH_LDAPAUTH_H

#include <stdbool.h>

#include "util.h"

struct ldapauth_config {
	const char *urls;		/* comma-separated, tried in order */
	bool starttls;			/* required on ldap:// URLs */
	const char *ca_file;
	const char *cert_file, *key_file;	/* optional client certificate */
	const char *bind_dn, *bind_password;	/* the service account */
	const char *user_base, *user_filter;	/* filter: %s is the login */
	const char *group_base;
	const char *group_filter;	/* %s is a member DN; "" reads memberOf */
	const char *attr_username, *attr_display, *attr_email;
	bool active_directory;		/* name forms, account state, chain rule */
	bool nested;			/* expand nested groups */
	bool referrals;			/* chase referrals */
	int network_timeout, timeout;	/* seconds */
	int page_size;
	int down_seconds;		/* a failed server is skipped this long */
	int max_concurrent;		/* threads in the directory at once */
};

struct ldapauth_user {
	char *dn;
	char *username;		/* the login attribute, lower-cased */
	char *display_name;
	char *email;
	char **groups;		/* DNs of every group, nested ones included,
				   case folded (ldapauth_fold) */
	int n_groups;
};

enum ldapauth_result {
	LDAPAUTH_OK = 1,
	LDAPAUTH_REFUSED = 0,	/* unknown, wrong password, disabled... */
	LDAPAUTH_ERROR = -1,	/* no directory server reachable */
};

/* Keeps cfg (which must outlive authd's use of it). */
void ldapauth_init(const struct ldapauth_config *cfg);
bool ldapauth_enabled(void);
/* Closes the calling thread's service connection. */
void ldapauth_thread_close(void);

/*
 * Checks login and password against the directory; on LDAPAUTH_OK fills
 * *u (release with ldapauth_user_release). The reason for a refusal is
 * logged, never returned. A refusal before the user's bind (unknown,
 * disabled, expired) connects to a server as a bind would and waits as
 * long as a wrong password takes, so the time does not tell them apart.
 * The user's bind fails over to the next server only when a server did
 * not answer, never after a definite "wrong password". LDAPAUTH_ERROR: no
 * server answered, a search failed, or every server is marked down.
 */
enum ldapauth_result ldapauth_login(const char *login,
				    const char *password,
				    struct ldapauth_user *u);

/* Finds a user by Berth name (no password): LDAPAUTH_REFUSED when gone
 * or disabled, LDAPAUTH_ERROR when no server answered or the search
 * failed (a wrong base is no proof that anyone left). For periodic sync
 * and token checks. */
enum ldapauth_result ldapauth_lookup(const char *username,
				     struct ldapauth_user *u);

void ldapauth_user_release(struct ldapauth_user *u);

/* Reduces "DOMAIN\\user" and "user@realm" to "user" (Active Directory);
 * returns a malloc'd string. */
char *ldapauth_login_name(const char *login, bool active_directory);

/*
 * The account a login names, for counting failures: blanks around it
 * dropped, the Active Directory name forms reduced (ldapauth_login_name)
 * and case folded, so "Bob", " bob", "DOM\\bob" and "bob@realm" are one
 * key. Malloc'd.
 */
char *ldapauth_account_key(const char *login, bool active_directory);

/*
 * s with Unicode case folding (each character through towupper, then
 * towlower, in a UTF-8 locale), as directories compare DNs; bytes that
 * are not UTF-8 fold as ASCII. Malloc'd.
 */
char *ldapauth_fold(const char *s);

/* Replaces each %s in pattern with value escaped per RFC 4515; malloc'd. */
char *ldapauth_filter(const char *pattern, const char *value);

#endif
