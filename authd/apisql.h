/*
 * The management API's prepared statements (apisql.c), numbered after
 * authd's own, and the typed rows of those whose columns C reads: a
 * struct or a value per statement, read beside its SQL. The others give
 * one JSON object in column 0, or a list's (cursor key, object) rows,
 * which api.c passes through. Strings read point into the result, which
 * goes with the request's arena (api_exec).
 */
#ifndef BERTH_APISQL_H
#define BERTH_APISQL_H

#include <stdbool.h>
#include <stdint.h>

#include "authd.h"

enum api_stmt {
	API_ME = A_COUNT,
	API_USER_FIND,
	API_USER_GET,
	API_USER_LIST,
	API_USER_UPDATE,
	API_USER_DELETE,
	API_USER_UNLOCK,
	API_USER_LOCK,
	API_USER_REVOKE_TOKENS,
	API_ADMINS_LOCK,
	API_OWNED_LOCK,
	API_SOLE_OWNER,
	API_ORG_BY_NAME,
	API_ORG_NS_INSERT,
	API_ORG_INSERT,
	API_ORG_GET,
	API_ORG_LIST,
	API_ORG_DELETE,
	API_ORG_LOCK,
	API_MEMBER_LIST,
	API_MEMBER_ROLE,
	API_OWNERS_OTHER,
	API_MEMBER_SET,
	API_MEMBER_DELETE,
	API_MEMBER_TEAMS_DELETE,
	API_TEAM_GET,
	API_TEAM_LIST,
	API_TEAM_INSERT,
	API_TEAM_UPDATE,
	API_TEAM_UNLINK_MEMBERS,
	API_TEAM_DELETE,
	API_TEAM_MEMBER_LIST,
	API_TEAM_MEMBER_ADD,
	API_TEAM_MEMBER_DELETE,
	API_GRANT_SET,
	API_GRANT_DELETE,
	API_GRANT_LIST,
	API_SA_GET,
	API_SA_LIST,
	API_SA_INSERT,
	API_SA_UPDATE,
	API_SA_DELETE,
	API_TOKEN_GET,
	API_TOKEN_LIST,
	API_TOKEN_REVOKE,
	API_NS_GET,
	API_NS_REPOS,
	API_REPO_GET,
	API_REPO_GRANTS,
	API_REPO_VISIBILITY,
	API_REPO_LIST,
	API_REPO_DELETE,
	API_NS_PURGE,
	API_AUDIT_LIST,
	API_GC_STATUS,
	API_GC_REPORT,
	API_QUOTA_GET,
	API_QUOTA_LIST,
	API_QUOTA_SET,
	API_QUOTA_CLEAR,
	API_QUOTA_RECOMPUTE,
	API_IMMUTABLE_LIST,
	API_IMMUTABLE_INSERT,
	API_IMMUTABLE_GET,
	API_IMMUTABLE_DELETE,
	API_RETENTION_LIST,
	API_RETENTION_INSERT,
	API_RETENTION_GET,
	API_RETENTION_DELETE,
	API_RETENTION_PLAN,
	API_RETENTION_RUN,
	API_RETENTION_UPDATE,
	API_STMT_END
};

/* API_USER_FIND: a user by name. */
struct apisql_user {
	const char *id;
	const char *name;
	bool admin, disabled;
	bool local;	/* not from the directory */
};
/* Fills *row from the result's one row; false when there is none. */
bool apisql_user_read(const PGresult *res, struct apisql_user *row);

/* API_USER_UNLOCK: what an unlock ended. */
struct apisql_unlock {
	int64_t failures;	/* failed logins forgotten */
	bool was_locked;	/* by an administrator */
	bool was_delayed;	/* a login delay was running */
};
void apisql_unlock_read(const PGresult *res, struct apisql_unlock *row);

/* API_USER_REVOKE_TOKENS: whether row i revoked a refresh token (else
 * an access token). */
bool apisql_revoked_refresh(const PGresult *res, int i);
/* API_ADMINS_LOCK: the name of active administrator i. */
const char *apisql_admin_name(const PGresult *res, int i);
/* API_SOLE_OWNER: an organization the user owns alone, or NULL. */
const char *apisql_sole_owner_org(const PGresult *res);

/* API_ORG_BY_NAME: an organization and the caller's role in it. */
struct apisql_org {
	const char *id;
	const char *role;	/* "owner", "member", NULL: not a member */
};
/* False when there is no such organization. */
bool apisql_org_read(const PGresult *res, struct apisql_org *row);
/* API_ORG_INSERT: the new organization's id. */
const char *apisql_org_insert_id(const PGresult *res);
/* API_MEMBER_ROLE: the user's role, NULL when not a member. */
const char *apisql_member_role(const PGresult *res);
/* API_OWNERS_OTHER: how many other owners the organization has. */
int64_t apisql_owners_other(const PGresult *res);
/* API_TEAM_GET, API_SA_GET: the object's id, NULL when none. */
const char *apisql_child_id(const PGresult *res);
/* API_TEAM_UPDATE: false when the team is gone; *was is the group it
 * had (NULL: none). */
bool apisql_team_update_read(const PGresult *res, const char **was);

/* API_NS_GET: whether the namespace exists. */
bool apisql_ns_exists(const PGresult *res);
/* API_NS_REPOS: a repository of the namespace, NULL when none. */
const char *apisql_ns_repo(const PGresult *res);
/* A_REPO_LEVEL (authsql.c): the caller's level on the repository, 0 to
 * 3. */
int apisql_repo_level(const PGresult *res);

/* API_REPO_DELETE: what went, counted before the delete. */
struct apisql_repo_delete {
	int64_t repos;	/* 0: there was no such repository */
	int64_t tags, manifests, blobs_queued, grants;
};
void apisql_repo_delete_read(const PGresult *res,
			     struct apisql_repo_delete *row);
/* API_NS_PURGE: the repositories deleted. */
int64_t apisql_ns_purged(const PGresult *res);

/* API_NS_GET: whether the namespace (which exists) is an organization's. */
bool apisql_ns_is_org(const PGresult *res);
/* API_QUOTA_SET, API_QUOTA_CLEAR: the limit before, in bytes, as text;
 * NULL when there was none (API_QUOTA_CLEAR: no row, nothing cleared). */
const char *apisql_quota_previous(const PGresult *res);
/* API_QUOTA_RECOMPUTE: how many namespaces were checked, differed and
 * were fixed (column 0, the ones that differ, is JSON for api_json_col). */
struct apisql_recompute {
	int64_t checked, drifted, fixed;
};
void apisql_recompute_read(const PGresult *res, struct apisql_recompute *row);
/* API_IMMUTABLE_GET, API_RETENTION_GET: a rule or a policy (its JSON in
 * column 3), and where it applies. */
struct apisql_scope {
	const char *ns;
	const char *repo;	/* NULL: the whole namespace */
	const char *pattern;
};
/* False when there is no such rule. */
bool apisql_scope_read(const PGresult *res, struct apisql_scope *row);
/* API_RETENTION_RUN: the run's JSON, NULL when the policy is gone. */
const char *apisql_retention_result(const PGresult *res);

#endif
