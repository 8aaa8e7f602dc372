/*
 * The rows of authd's statements (authsql.c), typed: one struct per shape
 * and one reader beside each statement's SQL, so a column's position is
 * written once, next to the SELECT that puts it there.
 *
 * Each reader fills *out from row `row` of res and returns true, or
 * returns false (with *out zeroed) when res has no such row; loops read
 * `for (i = 0; reader(res, i, &x); i++)`. Texts point into res and live
 * as long as it does.
 */
#ifndef BERTH_AUTHSQL_H
#define BERTH_AUTHSQL_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* A user's login state: A_USER_BY_NAME, or A_USER_BY_ID (whose id is the
 * caller's: it stays 0). */
struct authsql_user {
	int64_t id;
	const char *name;
	const char *password_hash;	/* NULL: no local password */
	bool is_admin;
	bool disabled;
	bool directory;			/* source 'ldap' */
	bool locked;			/* an administrator's lock is on */
};
bool authsql_user_by_name(const PGresult *res, int row,
			  struct authsql_user *out);
bool authsql_user_by_id(const PGresult *res, int row,
			struct authsql_user *out);

/* A service account by id (A_SA_BY_ID). */
struct authsql_sa {
	const char *login;		/* "<org>+<name>" */
	bool disabled;
};
bool authsql_sa_by_id(const PGresult *res, int row, struct authsql_sa *out);

/* An access or refresh token (A_TOKEN_BY_ID). */
struct authsql_token {
	const char *kind;		/* personal, service or refresh */
	const char *secret_hash;	/* bytea as text: PQunescapeBytea */
	bool of_user;			/* else a service account's */
	int64_t user_id, sa_id;
	bool dead;			/* revoked, expired or outlived */
	bool revoked;
	bool read_only;
	bool has_repos;			/* limited to a repository list */
};
bool authsql_token_by_id(const PGresult *res, int row,
			 struct authsql_token *out);

/* The level (0 none, 1 pull, 2 push, 3 delete) of A_REPO_LEVEL and
 * A_TOKEN_LEVEL. */
bool authsql_level(const PGresult *res, int row, int *out);

/* One throttle key on record (A_THROTTLE_GET). */
struct authsql_throttle {
	const char *key;
	int seconds_left;		/* of its delay; 0: none */
};
bool authsql_throttle_get(const PGresult *res, int row,
			  struct authsql_throttle *out);

/* A failure counted (A_THROTTLE_FAIL): [0] the pair's, [1] the
 * address's. */
struct authsql_throttle_fail {
	long long failures[2];
	long long delay[2];		/* seconds; 0: no delay started */
};
bool authsql_throttle_fail(const PGresult *res, int row,
			   struct authsql_throttle_fail *out);

/* A directory user created or refreshed (A_LDAP_USER_CREATE and
 * A_LDAP_USER_UPDATE). */
struct authsql_ldap_user {
	int64_t id;
	bool is_admin;
};
bool authsql_ldap_user(const PGresult *res, int row,
		       struct authsql_ldap_user *out);

/* A team's group DN (A_LDAP_TEAM_DNS), and as the queries compare it. */
struct authsql_team_dn {
	const char *dn;
	const char *lower;
};
bool authsql_ldap_team_dn(const PGresult *res, int row,
			  struct authsql_team_dn *out);

/* The name of a team a user left (A_LDAP_TEAMS_REMOVE). */
bool authsql_ldap_team_left(const PGresult *res, int row, const char **out);

/* A directory user to recheck (A_LDAP_USERS). */
struct authsql_ldap_users {
	int64_t id;
	const char *name;
};
bool authsql_ldap_users(const PGresult *res, int row,
			struct authsql_ldap_users *out);

#endif
