/*
 * The management API's prepared statements, numbered from A_COUNT on (see
 * enum api_stmt in api.h). PostgreSQL builds each answer's JSON object
 * (json_build_object), so types, NULLs and escaping are its job and the C
 * side passes documents through. Lists return (cursor key, object) and end
 * in "key > $n ORDER BY key LIMIT $n+1" for keyset pagination. The
 * statements whose columns C reads have their row readers after the
 * table, in its order (apisql.h).
 */
#include "api.h"

/* RFC 3339 in UTC; NULL stays NULL (JSON null). */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define LEVEL(col) "(ARRAY['read', 'write', 'admin'])[" col "]"

#define USER_JSON "json_build_object('name', u.name, 'email', u.email, " \
	"'display_name', u.display_name, 'admin', u.is_admin, " \
	"'disabled', u.disabled, 'source', u.source, " \
	"'locked', coalesce(u.locked_until > now(), false), " \
	"'tokens_valid_after', " TS("u.tokens_valid_after") ", " \
	"'created', " TS("u.created_at") ", 'updated', " TS("u.updated_at") ")"

#define TEAM_JSON "json_build_object('name', t.name, " \
	"'description', t.description, 'ldap_group', t.ldap_group_dn, " \
	"'members', (SELECT count(*) FROM team_members x " \
	"WHERE x.team_id = t.id))"

#define SA_JSON "json_build_object('name', s.name, " \
	"'login', o.name || '+' || s.name, 'description', s.description, " \
	"'disabled', s.disabled, 'created', " TS("s.created_at") ")"

#define TOKEN_JSON "json_build_object('id', k.id, 'name', k.name, " \
	"'kind', k.kind, 'created', " TS("k.created_at") ", " \
	"'expires', " TS("k.expires_at") ", " \
	"'last_used', " TS("k.last_used_at") ", " \
	"'revoked', " TS("k.revoked_at") ", 'read_only', k.read_only, " \
	"'repositories', to_json(k.repositories))"

/* A namespace's quota, for namespace expression ns, with l (quota_limits)
 * and u (quota_usage) joined. */
#define QUOTA_JSON(ns) "json_build_object('namespace', " ns ", " \
	"'limit', l.limit_bytes, 'usage', coalesce(u.bytes, 0), " \
	"'available', CASE WHEN l.limit_bytes IS NOT NULL THEN " \
	"greatest(l.limit_bytes - coalesce(u.bytes, 0), 0) END, " \
	"'blobs', (SELECT count(*) FROM quota_blob_refs b " \
	"WHERE b.namespace = " ns "), " \
	"'limit_updated', " TS("l.updated_at") ")"
/* A list's cursor for a bigint id: its digits padded, so that text order
 * is numeric order. */
#define ID_KEY(col) "lpad(" col "::text, 20, '0')"

#define RULE_JSON_OF(t) "json_build_object('id', " t ".id, " \
	"'namespace', " t ".namespace, 'repository', " t ".repository, " \
	"'pattern', " t ".pattern, 'created_by', " t ".created_by, " \
	"'created', " TS(t ".created_at") ")"
#define RULE_JSON RULE_JSON_OF("r")
#define RULES_MAX "100"

#define POLICY_JSON_OF(t) "json_build_object('id', " t ".id, " \
	"'namespace', " t ".namespace, 'repository', " t ".repository, " \
	"'pattern', " t ".pattern, 'exclude', to_json(" t ".exclude), " \
	"'keep_last', " t ".keep_last, " \
	"'older_than_days', " t ".older_than_days, " \
	"'enabled', " t ".enabled, 'created_by', " t ".created_by, " \
	"'created', " TS(t ".created_at") ", " \
	"'next_run', " TS(t ".next_run_at") ", " \
	"'last_run', " TS(t ".last_run_at") ", " \
	"'last_deleted', " t ".last_deleted)"
#define POLICIES_MAX "100"
#define KEEP_NEW "CASE WHEN $4::boolean THEN $5::int ELSE p.keep_last END"
#define OLDER_NEW "CASE WHEN $6::boolean THEN $7::int " \
	"ELSE p.older_than_days END"

/* The grantee columns $3..$5 (team, user, service account), NULL-safe so
 * that the unique index on grants serves both the upsert and the delete. */
#define GRANTEE "coalesce(team_id, 0) = coalesce($3::bigint, 0) AND " \
	"coalesce(user_id, 0) = coalesce($4::bigint, 0) AND " \
	"coalesce(sa_id, 0) = coalesce($5::bigint, 0)"

const struct db_stmt api_stmts[] = {
	[API_ME - A_COUNT] = { "api_me",
		"SELECT " USER_JSON ", (SELECT coalesce(json_agg("
		"json_build_object('name', o.name, 'role', m.role) "
		"ORDER BY o.name), '[]') FROM org_members m "
		"JOIN organizations o ON o.id = m.org_id "
		"WHERE m.user_id = u.id) "
		"FROM users u WHERE u.id = $1" },
	[API_USER_FIND - A_COUNT] = { "api_user_find",
		"SELECT id, name, is_admin, disabled, source = 'local' "
		"FROM users WHERE name = $1" },
	[API_USER_GET - A_COUNT] = { "api_user_get",
		"SELECT " USER_JSON " FROM users u WHERE u.name = $1" },
	[API_USER_LIST - A_COUNT] = { "api_user_list",
		"SELECT u.name, " USER_JSON " FROM users u WHERE u.name > $1 "
		"ORDER BY u.name LIMIT $2" },
	/* NULL leaves a column as it is. */
	[API_USER_UPDATE - A_COUNT] = { "api_user_update",
		"UPDATE users SET password_hash = coalesce($2, password_hash), "
		"email = coalesce($3, email), "
		"display_name = coalesce($4, display_name), "
		"is_admin = coalesce($5::boolean, is_admin), "
		"disabled = coalesce($6::boolean, disabled), "
		"tokens_valid_after = CASE WHEN disabled AND "
		"NOT coalesce($6::boolean, true) AND NOT $7::boolean "
		"THEN greatest(tokens_valid_after, disabled_at) "
		"ELSE tokens_valid_after END, "
		"updated_at = now() WHERE name = $1" },
	/* The namespace row owns the user's row (ON DELETE CASCADE). */
	[API_USER_DELETE - A_COUNT] = { "api_user_delete",
		"DELETE FROM namespaces WHERE name = $1 AND NOT is_org" },
	/* Ends an administrator's lock of user $1 and forgets the account's
	 * failed logins from every address (credential.c's "pair:<address>
	 * <account>" keys, and the "user:" keys of before 0006). Returns the
	 * failures forgotten, whether it was locked, whether any delay was
	 * running. */
	[API_USER_UNLOCK - A_COUNT] = { "api_user_unlock",
		"WITH o AS (SELECT id, coalesce(locked_until > now(), false) "
		"AS was FROM users WHERE name = $1 FOR UPDATE), "
		"u AS (UPDATE users x SET locked_until = NULL, "
		"lock_reason = '' FROM o WHERE x.id = o.id RETURNING o.was), "
		"d AS (DELETE FROM login_failures WHERE key = 'user:' || $1 OR "
		"(left(key, 5) = 'pair:' AND (right(key, length($1) + 1) = "
		"' ' || $1 OR right(key, length($1) + 1) = ' ' || lower($1))) "
		"RETURNING failures, coalesce(locked_until > now(), false) "
		"AS delayed) "
		"SELECT coalesce((SELECT sum(failures) FROM d), 0), "
		"coalesce((SELECT bool_or(was) FROM u), false), "
		"coalesce((SELECT bool_or(delayed) FROM d), false)" },
	/* $2 seconds (0: until unlocked), $3 the reason. */
	[API_USER_LOCK - A_COUNT] = { "api_user_lock",
		"UPDATE users SET locked_until = CASE WHEN $2::bigint > 0 "
		"THEN now() + make_interval(secs => $2::double precision) "
		"ELSE 'infinity' END, lock_reason = coalesce($3, '') "
		"WHERE name = $1 RETURNING json_build_object('name', name, "
		"'locked', true, 'until', CASE WHEN locked_until < 'infinity' "
		"THEN " TS("locked_until") " END, 'reason', lock_reason)" },
	/* A password change ends the user's refresh tokens, and with $2
	 * their access tokens. Returns the kinds revoked. */
	[API_USER_REVOKE_TOKENS - A_COUNT] = { "api_user_revoke_tokens",
		"UPDATE tokens SET revoked_at = now() WHERE user_id = "
		"(SELECT id FROM users WHERE name = $1) AND revoked_at IS NULL "
		"AND (kind = 'refresh' OR $2::boolean) RETURNING kind" },
	[API_ADMINS_LOCK - A_COUNT] = { "api_admins_lock",
		"SELECT name FROM users WHERE is_admin AND NOT disabled "
		"ORDER BY id FOR UPDATE" },
	/* Serializes changes that could leave an organization ownerless. */
	[API_OWNED_LOCK - A_COUNT] = { "api_owned_lock",
		"SELECT o.id FROM organizations o JOIN org_members m "
		"ON m.org_id = o.id WHERE m.user_id = $1 AND m.role = 'owner' "
		"ORDER BY o.id FOR UPDATE OF o" },
	[API_SOLE_OWNER - A_COUNT] = { "api_sole_owner",
		"SELECT o.name FROM organizations o JOIN org_members m "
		"ON m.org_id = o.id WHERE m.user_id = $1 AND m.role = 'owner' "
		"AND NOT EXISTS (SELECT 1 FROM org_members x WHERE "
		"x.org_id = o.id AND x.role = 'owner' AND x.user_id <> $1) "
		"ORDER BY o.name LIMIT 1" },
	[API_ORG_BY_NAME - A_COUNT] = { "api_org_by_name",
		"SELECT o.id, m.role FROM organizations o "
		"LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = $2 "
		"WHERE o.name = $1" },
	[API_ORG_NS_INSERT - A_COUNT] = { "api_org_ns_insert",
		"INSERT INTO namespaces (name, is_org) VALUES ($1, true)" },
	[API_ORG_INSERT - A_COUNT] = { "api_org_insert",
		"INSERT INTO organizations (name) VALUES ($1) RETURNING id" },
	[API_ORG_GET - A_COUNT] = { "api_org_get",
		"SELECT json_build_object('name', o.name, "
		"'created', " TS("o.created_at") ", "
		"'members', (SELECT count(*) FROM org_members m "
		"WHERE m.org_id = o.id), "
		"'teams', (SELECT count(*) FROM teams t "
		"WHERE t.org_id = o.id), "
		"'service_accounts', (SELECT count(*) FROM service_accounts s "
		"WHERE s.org_id = o.id)) FROM organizations o "
		"WHERE o.id = $1" },
	/* Administrators ($2) see every organization, others their own. */
	[API_ORG_LIST - A_COUNT] = { "api_org_list",
		"SELECT o.name, json_build_object('name', o.name, "
		"'created', " TS("o.created_at") ", 'role', m.role) "
		"FROM organizations o LEFT JOIN org_members m "
		"ON m.org_id = o.id AND m.user_id = $1 "
		"WHERE ($2::boolean OR m.role IS NOT NULL) AND o.name > $3 "
		"ORDER BY o.name LIMIT $4" },
	[API_ORG_DELETE - A_COUNT] = { "api_org_delete",
		"DELETE FROM namespaces WHERE name = $1 AND is_org" },
	[API_ORG_LOCK - A_COUNT] = { "api_org_lock",
		"SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE" },
	[API_MEMBER_LIST - A_COUNT] = { "api_member_list",
		"SELECT u.name, json_build_object('user', u.name, "
		"'role', m.role) FROM org_members m JOIN users u "
		"ON u.id = m.user_id WHERE m.org_id = $1 AND u.name > $2 "
		"ORDER BY u.name LIMIT $3" },
	[API_MEMBER_ROLE - A_COUNT] = { "api_member_role",
		"SELECT role FROM org_members WHERE org_id = $1 "
		"AND user_id = $2" },
	[API_OWNERS_OTHER - A_COUNT] = { "api_owners_other",
		"SELECT count(*) FROM org_members WHERE org_id = $1 "
		"AND role = 'owner' AND user_id <> $2" },
	[API_MEMBER_SET - A_COUNT] = { "api_member_set",
		"INSERT INTO org_members (org_id, user_id, role) "
		"VALUES ($1, $2, $3) ON CONFLICT (org_id, user_id) "
		"DO UPDATE SET role = EXCLUDED.role" },
	[API_MEMBER_DELETE - A_COUNT] = { "api_member_delete",
		"DELETE FROM org_members WHERE org_id = $1 AND user_id = $2" },
	/* Team members must be organization members. */
	[API_MEMBER_TEAMS_DELETE - A_COUNT] = { "api_member_teams_delete",
		"DELETE FROM team_members x USING teams t "
		"WHERE t.id = x.team_id AND t.org_id = $1 AND x.user_id = $2" },
	[API_TEAM_GET - A_COUNT] = { "api_team_get",
		"SELECT " TEAM_JSON ", t.id FROM teams t "
		"WHERE t.org_id = $1 AND t.name = $2" },
	[API_TEAM_LIST - A_COUNT] = { "api_team_list",
		"SELECT t.name, " TEAM_JSON " FROM teams t WHERE t.org_id = $1 "
		"AND t.name > $2 ORDER BY t.name LIMIT $3" },
	[API_TEAM_INSERT - A_COUNT] = { "api_team_insert",
		"INSERT INTO teams (org_id, name, description, ldap_group_dn) "
		"VALUES ($1, $2, coalesce($3, ''), $4)" },
	/* $2: whether to set the group ($3, NULL unlinks); NULL $4 keeps the
	 * description. Returns the group it had, read under the row lock. */
	[API_TEAM_UPDATE - A_COUNT] = { "api_team_update",
		"UPDATE teams t SET ldap_group_dn = CASE WHEN $2::boolean "
		"THEN $3 ELSE t.ldap_group_dn END, "
		"description = coalesce($4, t.description) "
		"FROM (SELECT id, ldap_group_dn FROM teams WHERE id = $1 "
		"FOR UPDATE) old WHERE t.id = old.id "
		"RETURNING old.ldap_group_dn" },
	/* The members the directory put there; local users stay. */
	[API_TEAM_UNLINK_MEMBERS - A_COUNT] = { "api_team_unlink_members",
		"DELETE FROM team_members x USING users u "
		"WHERE x.team_id = $1 AND u.id = x.user_id "
		"AND u.source = 'ldap'" },
	[API_TEAM_DELETE - A_COUNT] = { "api_team_delete",
		"DELETE FROM teams WHERE id = $1" },
	[API_TEAM_MEMBER_LIST - A_COUNT] = { "api_team_member_list",
		"SELECT u.name, json_build_object('user', u.name) "
		"FROM team_members x JOIN users u ON u.id = x.user_id "
		"WHERE x.team_id = $1 AND u.name > $2 "
		"ORDER BY u.name LIMIT $3" },
	[API_TEAM_MEMBER_ADD - A_COUNT] = { "api_team_member_add",
		"INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) "
		"ON CONFLICT DO NOTHING" },
	[API_TEAM_MEMBER_DELETE - A_COUNT] = { "api_team_member_delete",
		"DELETE FROM team_members WHERE team_id = $1 "
		"AND user_id = $2" },
	/* $1 namespace, $2 repository or NULL, $3..$5 grantee, $6 level. */
	[API_GRANT_SET - A_COUNT] = { "api_grant_set",
		"INSERT INTO grants (namespace, repository, team_id, user_id, "
		"sa_id, level) VALUES ($1, $2, $3, $4, $5, $6) "
		"ON CONFLICT (namespace, coalesce(repository, ''), "
		"coalesce(team_id, 0), coalesce(user_id, 0), "
		"coalesce(sa_id, 0)) "
		"DO UPDATE SET level = EXCLUDED.level" },
	[API_GRANT_DELETE - A_COUNT] = { "api_grant_delete",
		"DELETE FROM grants WHERE namespace = $1 AND "
		"coalesce(repository, '') = coalesce($2, '') AND " GRANTEE },
	/* An organization-wide grant's key is the namespace itself, which
	 * sorts before the namespace's repositories ("acme" < "acme/x"). */
	[API_GRANT_LIST - A_COUNT] = { "api_grant_list",
		"SELECT coalesce(g.repository, g.namespace), "
		"json_build_object('repository', g.repository, "
		"'level', " LEVEL("g.level") ") FROM grants g "
		"WHERE (g.team_id = $1 OR g.user_id = $2 OR g.sa_id = $3) "
		"AND coalesce(g.repository, g.namespace) > $4 "
		"ORDER BY 1 LIMIT $5" },
	[API_SA_GET - A_COUNT] = { "api_sa_get",
		"SELECT " SA_JSON ", s.id FROM service_accounts s "
		"JOIN organizations o ON o.id = s.org_id "
		"WHERE s.org_id = $1 AND s.name = $2" },
	[API_SA_LIST - A_COUNT] = { "api_sa_list",
		"SELECT s.name, " SA_JSON " FROM service_accounts s "
		"JOIN organizations o ON o.id = s.org_id WHERE s.org_id = $1 "
		"AND s.name > $2 ORDER BY s.name LIMIT $3" },
	[API_SA_INSERT - A_COUNT] = { "api_sa_insert",
		"INSERT INTO service_accounts (org_id, name, description) "
		"VALUES ($1, $2, coalesce($3, ''))" },
	[API_SA_UPDATE - A_COUNT] = { "api_sa_update",
		"UPDATE service_accounts SET "
		"disabled = coalesce($2::boolean, disabled), "
		"description = coalesce($3, description) WHERE id = $1" },
	[API_SA_DELETE - A_COUNT] = { "api_sa_delete",
		"DELETE FROM service_accounts WHERE id = $1" },
	[API_TOKEN_GET - A_COUNT] = { "api_token_get",
		"SELECT " TOKEN_JSON " FROM tokens k WHERE k.id = $1::uuid" },
	/* Ids in byte order: the text of a uuid sorts as its bytes. */
	[API_TOKEN_LIST - A_COUNT] = { "api_token_list",
		"SELECT k.id::text, " TOKEN_JSON " FROM tokens k "
		"WHERE (k.user_id = $1 OR k.sa_id = $2) "
		"AND k.id::text COLLATE \"C\" > $3 "
		"ORDER BY k.id::text COLLATE \"C\" LIMIT $4" },
	[API_TOKEN_REVOKE - A_COUNT] = { "api_token_revoke",
		"UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) "
		"WHERE id = $1::uuid AND (user_id = $2 OR sa_id = $3)" },
	[API_NS_GET - A_COUNT] = { "api_ns_get",
		"SELECT is_org FROM namespaces WHERE name = $1" },
	/* "acme/..." is the range ["acme/", "acme0"): '0' follows '/'. */
	[API_NS_REPOS - A_COUNT] = { "api_ns_repos",
		"SELECT name FROM repositories WHERE name >= $1 || '/' "
		"AND name < $1 || '0' ORDER BY name LIMIT 1" },
	/* A repository may be managed before its first push: no row yet. */
	[API_REPO_GET - A_COUNT] = { "api_repo_get",
		"SELECT json_build_object('name', $1::text, "
		"'public', coalesce(r.public, false), "
		"'created', " TS("r.created_at") ") "
		"FROM (SELECT 1) x LEFT JOIN repositories r ON r.name = $1" },
	/* The grants that reach repository $1, its namespace's included. */
	[API_REPO_GRANTS - A_COUNT] = { "api_repo_grants",
		"SELECT coalesce(json_agg(json_build_object("
		"'kind', CASE WHEN g.team_id IS NOT NULL THEN 'team' "
		"WHEN g.user_id IS NOT NULL THEN 'user' "
		"ELSE 'service_account' END, "
		"'name', coalesce(t.name, u.name, so.name || '+' || s.name), "
		"'repository', g.repository, 'level', " LEVEL("g.level") ") "
		"ORDER BY g.repository NULLS FIRST, g.id), '[]') FROM grants g "
		"LEFT JOIN teams t ON t.id = g.team_id "
		"LEFT JOIN users u ON u.id = g.user_id "
		"LEFT JOIN service_accounts s ON s.id = g.sa_id "
		"LEFT JOIN organizations so ON so.id = s.org_id "
		"WHERE g.namespace = split_part($1, '/', 1) "
		"AND (g.repository IS NULL OR g.repository = $1)" },
	[API_REPO_VISIBILITY - A_COUNT] = { "api_repo_visibility",
		"INSERT INTO repositories (name, public) VALUES ($1, $2) "
		"ON CONFLICT (name) DO UPDATE SET public = EXCLUDED.public" },
	/* The repositories that caller ($1 user or $2 service account) may
	 * read, by the same rule as a token's scopes. */
	[API_REPO_LIST - A_COUNT] = { "api_repo_list",
		"SELECT x.name, json_build_object('name', x.name, "
		"'public', x.public, 'level', " LEVEL("x.level") ") "
		"FROM (SELECT r.name, r.public, "
		"berth_repo_level($1, $2, r.name) AS level FROM repositories r "
		"WHERE r.name > $3) x WHERE x.level >= 1 "
		"ORDER BY x.name LIMIT $4" },
	/* Repository $1, with everything in it, in one statement: the row
	 * lock waits out a registryd write to it; the blobs it linked go to
	 * the GC queue (registryd's review keeps those still linked
	 * elsewhere); grants on it go, so a repository of the same name made
	 * later starts with none. Returns (repositories, tags, manifests,
	 * blobs queued, grants) as counted before the delete. */
	[API_REPO_DELETE - A_COUNT] = { "api_repo_delete",
		"WITH r AS (SELECT id FROM repositories WHERE name = $1 "
		"FOR UPDATE), "
		"q AS (INSERT INTO gc_blob_reviews (digest) "
		"SELECT DISTINCT b.digest FROM repository_blobs b "
		"JOIN r ON b.repository_id = r.id ON CONFLICT (digest) "
		"DO UPDATE SET review_after = now() RETURNING 1), "
		"g AS (DELETE FROM grants WHERE repository = $1 RETURNING 1), "
		"d AS (DELETE FROM repositories WHERE id IN "
		"(SELECT id FROM r) RETURNING 1) "
		"SELECT (SELECT count(*) FROM d), "
		"(SELECT count(*) FROM tags t "
		"JOIN r ON t.repository_id = r.id), "
		"(SELECT count(*) FROM manifests m "
		"JOIN r ON m.repository_id = r.id), "
		"(SELECT count(*) FROM q), (SELECT count(*) FROM g)" },
	/* The same for every repository of namespace $1 (see API_NS_REPOS);
	 * the namespace's grants go with its row. Returns the count. */
	[API_NS_PURGE - A_COUNT] = { "api_ns_purge",
		"WITH r AS (SELECT id FROM repositories "
		"WHERE name >= $1 || '/' AND name < $1 || '0' FOR UPDATE), "
		"q AS (INSERT INTO gc_blob_reviews (digest) "
		"SELECT DISTINCT b.digest FROM repository_blobs b "
		"JOIN r ON b.repository_id = r.id ON CONFLICT (digest) "
		"DO UPDATE SET review_after = now() RETURNING 1), "
		"d AS (DELETE FROM repositories WHERE id IN "
		"(SELECT id FROM r) RETURNING 1) "
		"SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM q)" },
	/* Newest first; $1 is the "before" cursor, the filters may be NULL:
	 * $3 an exact action, $5 an action prefix, $6 since (inclusive),
	 * $7 until (exclusive). */
	[API_AUDIT_LIST - A_COUNT] = { "api_audit_list",
		"SELECT a.id::text, json_build_object('id', a.id, "
		"'at', " TS("a.at") ", 'actor', a.actor, 'action', a.action, "
		"'target', a.target, 'client', a.client, "
		"'success', a.success, 'detail', a.detail) FROM audit_log a "
		"WHERE ($1::bigint IS NULL OR a.id < $1) "
		"AND ($2::text IS NULL OR a.actor = $2) "
		"AND ($3::text IS NULL OR a.action = $3) "
		"AND ($4::text IS NULL OR a.target = $4) "
		"AND ($5::text IS NULL OR "
		"     left(a.action, length($5)) = $5) "
		"AND ($6::timestamptz IS NULL OR a.at >= $6) "
		"AND ($7::timestamptz IS NULL OR a.at < $7) "
		"ORDER BY a.id DESC LIMIT $8" },
	/* The collector's queues and nodes (schema/0008_gc.sql), with the
	 * grace the collectors last ran with; overdue: an hour past due. */
	[API_GC_STATUS - A_COUNT] = { "api_gc_status",
		"SELECT berth_gc_status(coalesce((SELECT max(grace_seconds) "
		"FROM gc_nodes), 86400), 3600)::text" },
	/* What a collection would remove now, with grace $1 (NULL: the
	 * collectors'), read-only. */
	[API_GC_REPORT - A_COUNT] = { "api_gc_report",
		"SELECT berth_gc_report(coalesce($1::bigint, (SELECT "
		"max(grace_seconds) FROM gc_nodes), 86400))::text" },
	/* Namespace $1's quota: limit (null: none), usage and what is left,
	 * in bytes, and the distinct blobs counted (schema/0010_quota.sql). */
	[API_QUOTA_GET - A_COUNT] = { "api_quota_get",
		"SELECT " QUOTA_JSON("$1::text") " FROM (SELECT 1) x "
		"LEFT JOIN quota_limits l ON l.namespace = $1 "
		"LEFT JOIN quota_usage u ON u.namespace = $1" },
	/* Every namespace with content or a limit (a limit makes its usage
	 * row), by name. */
	[API_QUOTA_LIST - A_COUNT] = { "api_quota_list",
		"SELECT u.namespace, " QUOTA_JSON("u.namespace") " "
		"FROM quota_usage u "
		"LEFT JOIN quota_limits l ON l.namespace = u.namespace "
		"WHERE u.namespace > $1 AND (u.bytes <> 0 OR l.namespace "
		"IS NOT NULL) ORDER BY u.namespace LIMIT $2" },
	/* Sets namespace $1's limit to $2 bytes, making its usage row (the
	 * lock a push with a limit takes); returns the limit it had. */
	[API_QUOTA_SET - A_COUNT] = { "api_quota_set",
		"WITH u AS (INSERT INTO quota_usage (namespace) VALUES ($1) "
		"ON CONFLICT (namespace) DO NOTHING), "
		"old AS (SELECT limit_bytes FROM quota_limits "
		"WHERE namespace = $1 FOR UPDATE) "
		"INSERT INTO quota_limits (namespace, limit_bytes) "
		"VALUES ($1, $2::bigint) ON CONFLICT (namespace) DO UPDATE "
		"SET limit_bytes = EXCLUDED.limit_bytes, updated_at = now() "
		"RETURNING (SELECT limit_bytes FROM old)" },
	[API_QUOTA_CLEAR - A_COUNT] = { "api_quota_clear",
		"DELETE FROM quota_limits WHERE namespace = $1 "
		"RETURNING limit_bytes" },
	/* Recomputes every namespace's usage ($1: fix what differs); the
	 * ones that differ as a JSON array, and the counts. */
	[API_QUOTA_RECOMPUTE - A_COUNT] = { "api_quota_recompute",
		"SELECT coalesce(json_agg(json_build_object("
		"'namespace', r.namespace, 'tracked', r.tracked, "
		"'recomputed', r.recomputed, 'refs_drift', r.refs_drift, "
		"'fixed', r.fixed) ORDER BY r.namespace) FILTER (WHERE "
		"r.tracked <> r.recomputed OR r.refs_drift > 0), '[]'), "
		"count(*), count(*) FILTER (WHERE r.tracked <> r.recomputed "
		"OR r.refs_drift > 0), count(*) FILTER (WHERE r.fixed) "
		"FROM berth_quota_recompute($1::boolean) r" },
	/* Immutability rules (apipolicy.c), listed by id: those of
	 * namespace $1 and its repositories, or with $2 those that apply to
	 * repository $2 (its own and its namespace's). */
	[API_IMMUTABLE_LIST - A_COUNT] = { "api_immutable_list",
		"SELECT " ID_KEY("r.id") ", " RULE_JSON " "
		"FROM immutable_rules r "
		"WHERE r.namespace = $1 AND ($2::text IS NULL OR "
		"r.repository IS NULL OR r.repository = $2) "
		"AND " ID_KEY("r.id") " > $3 ORDER BY r.id LIMIT $4" },
	/* At most RULES_MAX per namespace: each is matched on every move
	 * of a tag in it. No row when the namespace has that many. */
	[API_IMMUTABLE_INSERT - A_COUNT] = { "api_immutable_insert",
		"INSERT INTO immutable_rules (namespace, repository, pattern, "
		"created_by) SELECT $1, $2, $3, $4 WHERE (SELECT count(*) "
		"FROM immutable_rules WHERE namespace = $1) < " RULES_MAX " "
		"RETURNING " RULE_JSON_OF("immutable_rules") },
	[API_IMMUTABLE_GET - A_COUNT] = { "api_immutable_get",
		"SELECT namespace, repository, pattern FROM immutable_rules "
		"WHERE id = $1::bigint" },
	[API_IMMUTABLE_DELETE - A_COUNT] = { "api_immutable_delete",
		"DELETE FROM immutable_rules WHERE id = $1::bigint" },
	/* Retention policies (apiretain.c), listed as the rules are. */
	[API_RETENTION_LIST - A_COUNT] = { "api_retention_list",
		"SELECT " ID_KEY("p.id") ", " POLICY_JSON_OF("p") " "
		"FROM retention_policies p "
		"WHERE p.namespace = $1 AND ($2::text IS NULL OR "
		"p.repository IS NULL OR p.repository = $2) "
		"AND " ID_KEY("p.id") " > $3 ORDER BY p.id LIMIT $4" },
	/* $4: the exclusions as a JSON array of strings; $7 NULL: enabled.
	 * No row when the namespace has POLICIES_MAX. */
	[API_RETENTION_INSERT - A_COUNT] = { "api_retention_insert",
		"INSERT INTO retention_policies (namespace, repository, "
		"pattern, exclude, keep_last, older_than_days, enabled, "
		"created_by) SELECT $1, $2, $3, "
		"ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), "
		"$5::int, $6::int, coalesce($7::boolean, true), $8 "
		"WHERE (SELECT count(*) FROM retention_policies "
		"WHERE namespace = $1) < " POLICIES_MAX " "
		"RETURNING " POLICY_JSON_OF("retention_policies") },
	[API_RETENTION_GET - A_COUNT] = { "api_retention_get",
		"SELECT p.namespace, p.repository, p.pattern, "
		POLICY_JSON_OF("p") " FROM retention_policies p "
		"WHERE p.id = $1::bigint" },
	[API_RETENTION_DELETE - A_COUNT] = { "api_retention_delete",
		"DELETE FROM retention_policies WHERE id = $1::bigint" },
	/* A dry run: what policy $1 would delete now, at most $2 tags. */
	[API_RETENTION_PLAN - A_COUNT] = { "api_retention_plan",
		"SELECT json_build_object('policy', $1::bigint, "
		"'count', count(*), 'more', count(*) >= $2::int, "
		"'tags', coalesce(json_agg(json_build_object("
		"'repository', x.repository, 'tag', x.tag, "
		"'digest', x.digest, 'updated', " TS("x.updated_at") ") "
		"ORDER BY x.updated_at, x.repository, x.tag), '[]')) "
		"FROM berth_retention_plan($1::bigint, $2::int) x" },
	/* A run on demand by $2 from client $3, at most $4 tags; the
	 * schedule is left as it is. */
	[API_RETENTION_RUN - A_COUNT] = { "api_retention_run",
		"SELECT berth_retention_run($1::bigint, $4::int, $2, $3, "
		"NULL)::text" },
	/* $2 pattern, $3 exclusions (JSON) and $8 enabled change unless
	 * NULL; keep_last ($5) and older_than_days ($7) when $4 and $6 say
	 * so. No row when the policy would be left with neither bound. */
	[API_RETENTION_UPDATE - A_COUNT] = { "api_retention_update",
		"UPDATE retention_policies p SET "
		"pattern = coalesce($2, p.pattern), "
		"exclude = CASE WHEN $3::jsonb IS NULL THEN p.exclude ELSE "
		"ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END, "
		"keep_last = " KEEP_NEW ", older_than_days = " OLDER_NEW ", "
		"enabled = coalesce($8::boolean, p.enabled) "
		"WHERE p.id = $1::bigint AND (" KEEP_NEW " IS NOT NULL OR "
		OLDER_NEW " IS NOT NULL) RETURNING " POLICY_JSON_OF("p") },
};
const int api_stmts_count = (int)ARRAY_SIZE(api_stmts);

_Static_assert(ARRAY_SIZE(api_stmts) == API_STMT_END - A_COUNT,
	       "api_stmts[] and enum api_stmt disagree");

/* ---- rows, in the table's order ----------------------------------------- */

bool
apisql_user_read(const PGresult *res, struct apisql_user *row)
{
	if (PQntuples(res) != 1)
		return false;
	row->id = db_text(res, 0, 0);
	row->name = db_text(res, 0, 1);
	row->admin = db_bool(res, 0, 2);
	row->disabled = db_bool(res, 0, 3);
	row->local = db_bool(res, 0, 4);
	return true;
}

void
apisql_unlock_read(const PGresult *res, struct apisql_unlock *row)
{
	row->failures = db_int64(res, 0, 0);
	row->was_locked = db_bool(res, 0, 1);
	row->was_delayed = db_bool(res, 0, 2);
}

bool
apisql_revoked_refresh(const PGresult *res, int i)
{
	return !strcmp(db_text(res, i, 0), "refresh");
}

const char *
apisql_admin_name(const PGresult *res, int i)
{
	return db_text(res, i, 0);
}

const char *
apisql_sole_owner_org(const PGresult *res)
{
	return PQntuples(res) > 0 ? db_text(res, 0, 0) : NULL;
}

bool
apisql_org_read(const PGresult *res, struct apisql_org *row)
{
	if (PQntuples(res) != 1)
		return false;
	row->id = db_text(res, 0, 0);
	row->role = db_text(res, 0, 1);
	return true;
}

const char *
apisql_org_insert_id(const PGresult *res)
{
	return db_text(res, 0, 0);
}

const char *
apisql_member_role(const PGresult *res)
{
	return PQntuples(res) > 0 ? db_text(res, 0, 0) : NULL;
}

int64_t
apisql_owners_other(const PGresult *res)
{
	return db_int64(res, 0, 0);
}

const char *
apisql_child_id(const PGresult *res)
{
	return PQntuples(res) == 1 ? db_text(res, 0, 1) : NULL;
}

bool
apisql_team_update_read(const PGresult *res, const char **was)
{
	*was = NULL;
	if (PQntuples(res) != 1)
		return false;
	*was = db_text(res, 0, 0);
	return true;
}

bool
apisql_ns_exists(const PGresult *res)
{
	return PQntuples(res) == 1;
}

const char *
apisql_ns_repo(const PGresult *res)
{
	return PQntuples(res) > 0 ? db_text(res, 0, 0) : NULL;
}

void
apisql_repo_delete_read(const PGresult *res, struct apisql_repo_delete *row)
{
	row->repos = db_int64(res, 0, 0);
	row->tags = db_int64(res, 0, 1);
	row->manifests = db_int64(res, 0, 2);
	row->blobs_queued = db_int64(res, 0, 3);
	row->grants = db_int64(res, 0, 4);
}

int64_t
apisql_ns_purged(const PGresult *res)
{
	return db_int64(res, 0, 0);
}

bool
apisql_ns_is_org(const PGresult *res)
{
	return db_bool(res, 0, 0);
}

const char *
apisql_quota_previous(const PGresult *res)
{
	return PQntuples(res) > 0 ? db_text(res, 0, 0) : NULL;
}

void
apisql_recompute_read(const PGresult *res, struct apisql_recompute *row)
{
	row->checked = db_int64(res, 0, 1);
	row->drifted = db_int64(res, 0, 2);
	row->fixed = db_int64(res, 0, 3);
}

bool
apisql_scope_read(const PGresult *res, struct apisql_scope *row)
{
	if (PQntuples(res) != 1)
		return false;
	row->ns = db_text(res, 0, 0);
	row->repo = db_text(res, 0, 1);
	row->pattern = db_text(res, 0, 2);
	return true;
}

const char *
apisql_retention_result(const PGresult *res)
{
	return PQntuples(res) == 1 ? db_text(res, 0, 0) : NULL;
}

/* A statement of authsql.c, read here for the API. */
int
apisql_repo_level(const PGresult *res)
{
	return (int)db_int64(res, 0, 0);
}
