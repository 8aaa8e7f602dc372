/*
 * authd's prepared statements. Every one takes parameters; none builds SQL
 * from text. A statement whose rows authd reads has its SQL and its row
 * reader together (authsql.h), above the table: a column moved in the
 * SELECT is moved in the reader beside it.
 */
#include "authd.h"
#include "authsql.h"

/* Row `row` of res exists; else *out (n bytes) is zeroed. */
static bool
has_row(const PGresult *res, int row, void *out, size_t n)
{
	memset(out, 0, n);
	return res != NULL && row >= 0 && row < PQntuples(res);
}

static const char user_by_name_sql[] =
	"SELECT id, name, password_hash, is_admin, disabled, source, "
	"coalesce(locked_until > now(), false) "
	"FROM users WHERE name = $1";

bool
authsql_user_by_name(const PGresult *res, int row, struct authsql_user *out)
{
	const char *source;

	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->id = db_int64(res, row, 0);
	out->name = db_text(res, row, 1);
	out->password_hash = db_text(res, row, 2);
	out->is_admin = db_bool(res, row, 3);
	out->disabled = db_bool(res, row, 4);
	source = db_text(res, row, 5);
	out->directory = source != NULL && !strcmp(source, "ldap");
	out->locked = db_bool(res, row, 6);
	return true;
}

static const char user_by_id_sql[] =
	"SELECT name, is_admin, disabled, source, "
	"coalesce(locked_until > now(), false) FROM users "
	"WHERE id = $1";

bool
authsql_user_by_id(const PGresult *res, int row, struct authsql_user *out)
{
	const char *source;

	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->name = db_text(res, row, 0);
	out->is_admin = db_bool(res, row, 1);
	out->disabled = db_bool(res, row, 2);
	source = db_text(res, row, 3);
	out->directory = source != NULL && !strcmp(source, "ldap");
	out->locked = db_bool(res, row, 4);
	return true;
}

static const char sa_by_id_sql[] =
	"SELECT o.name || '+' || s.name, s.disabled "
	"FROM service_accounts s JOIN organizations o "
	"ON o.id = s.org_id WHERE s.id = $1";

bool
authsql_sa_by_id(const PGresult *res, int row, struct authsql_sa *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->login = db_text(res, row, 0);
	out->disabled = db_bool(res, row, 1);
	return true;
}

/* Dead: revoked, expired, made before its user's last disable
 * (tokens_valid_after, schema/0004_identity.sql), or issued to an
 * access token that is revoked or expired (parent_id, 0006). */
static const char token_by_id_sql[] =
	"SELECT t.kind, t.secret_hash, t.user_id, t.sa_id, "
	"(t.revoked_at IS NOT NULL OR "
	" (t.expires_at IS NOT NULL AND t.expires_at <= now()) OR "
	" coalesce(t.created_at <= u.tokens_valid_after, false) OR "
	" coalesce(pt.revoked_at IS NOT NULL OR "
	"          pt.expires_at <= now(), false)), "
	"t.revoked_at IS NOT NULL, "
	"t.read_only, t.repositories IS NOT NULL "
	"FROM tokens t LEFT JOIN users u ON u.id = t.user_id "
	"LEFT JOIN tokens pt ON pt.id = t.parent_id "
	"WHERE t.id = $1::uuid";

bool
authsql_token_by_id(const PGresult *res, int row, struct authsql_token *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->kind = db_text(res, row, 0);
	out->secret_hash = db_text(res, row, 1);
	out->of_user = !db_isnull(res, row, 2);
	out->user_id = db_int64(res, row, 2);
	out->sa_id = db_int64(res, row, 3);
	out->dead = db_bool(res, row, 4);
	out->revoked = db_bool(res, row, 5);
	out->read_only = db_bool(res, row, 6);
	out->has_repos = db_bool(res, row, 7);
	return true;
}

static const char repo_level_sql[] = "SELECT berth_repo_level($1, $2, $3)";
static const char token_level_sql[] =
	"SELECT berth_token_level($1::uuid, $2, $3, $4)";

bool
authsql_level(const PGresult *res, int row, int *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	*out = (int)db_int64(res, row, 0);
	return true;
}

/* The keys (pair, address) on record, with the seconds that their
 * delay has left (0: none). */
static const char throttle_get_sql[] =
	"SELECT key, greatest(0, coalesce(ceil(extract(epoch FROM "
	"locked_until - now())), 0))::int "
	"FROM login_failures WHERE key IN ($1, $2)";

bool
authsql_throttle_get(const PGresult *res, int row,
		     struct authsql_throttle *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->key = db_text(res, row, 0);
	out->seconds_left = (int)db_int64(res, row, 1);
	return true;
}

/* A failure of the pair $1 and of the address $2, in one round
 * trip (berth_login_failed, schema/0006_authsec.sql). */
static const char throttle_fail_sql[] =
	"SELECT a.failures, a.delay, b.failures, b.delay "
	"FROM berth_login_failed($1, $3, $5, $6, $7) a, "
	"berth_login_failed($2, $4, $5, $6, $7) b";

bool
authsql_throttle_fail(const PGresult *res, int row,
		      struct authsql_throttle_fail *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	for (int k = 0; k < 2; k++) {
		out->failures[k] = db_int64(res, row, 2 * k);
		out->delay[k] = db_int64(res, row, 2 * k + 1);
	}
	return true;
}

static const char ldap_user_create_sql[] =
	"INSERT INTO users (name, source, ldap_dn, display_name, email) "
	"VALUES ($1, 'ldap', $2, coalesce($3, ''), coalesce($4, '')) "
	"RETURNING id, is_admin";
static const char ldap_user_update_sql[] =
	"UPDATE users SET ldap_dn = $2, display_name = coalesce($3, ''), "
	"email = coalesce($4, ''), updated_at = now() "
	"WHERE name = $1 AND source = 'ldap' AND NOT disabled "
	"RETURNING id, is_admin";

bool
authsql_ldap_user(const PGresult *res, int row, struct authsql_ldap_user *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->id = db_int64(res, row, 0);
	out->is_admin = db_bool(res, row, 1);
	return true;
}

/* Berth folds the DNs (Unicode); lower() is what the queries below
 * compare, whatever the database's locale folds. */
static const char ldap_team_dns_sql[] =
	"SELECT DISTINCT ldap_group_dn, lower(ldap_group_dn) FROM teams "
	"WHERE ldap_group_dn IS NOT NULL";

bool
authsql_ldap_team_dn(const PGresult *res, int row,
		     struct authsql_team_dn *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->dn = db_text(res, row, 0);
	out->lower = db_text(res, row, 1);
	return true;
}

/* Group DNs compare case-insensitively, as LDAP compares them. */
static const char ldap_teams_remove_sql[] =
	"DELETE FROM team_members tm USING teams t "
	"WHERE tm.team_id = t.id AND tm.user_id = $1 "
	"AND t.ldap_group_dn IS NOT NULL "
	"AND NOT lower(t.ldap_group_dn) = ANY($2::text[]) "
	"RETURNING t.name";

bool
authsql_ldap_team_left(const PGresult *res, int row, const char **out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	*out = db_text(res, row, 0);
	return true;
}

static const char ldap_users_sql[] =
	"SELECT id, name FROM users WHERE source = 'ldap' "
	"AND NOT disabled ORDER BY id";

bool
authsql_ldap_users(const PGresult *res, int row,
		   struct authsql_ldap_users *out)
{
	if (!has_row(res, row, out, sizeof(*out)))
		return false;
	out->id = db_int64(res, row, 0);
	out->name = db_text(res, row, 1);
	return true;
}

const struct db_stmt authd_stmts[A_COUNT] = {
	[A_USER_BY_NAME] = { "user_by_name", user_by_name_sql },
	/* A service account logs in as "<org>+<name>". */
	[A_SA_BY_LOGIN] = { "sa_by_login",
		"SELECT s.id, o.name || '+' || s.name, s.disabled "
		"FROM service_accounts s JOIN organizations o "
		"ON o.id = s.org_id WHERE o.name = $1 AND s.name = $2" },
	[A_TOKEN_BY_ID] = { "token_by_id", token_by_id_sql },
	[A_TOKEN_TOUCH] = { "token_touch",
		"SELECT berth_token_touch($1::uuid)" },
	/* Limits: $9 read-only and $10 the repositories (a JSON array),
	 * each NULL to take those of token $8 (NULL: none). A token made
	 * from token $8 never outlives it (least() skips NULLs), and a
	 * refresh token dies with it (parent_id). */
	[A_TOKEN_INSERT] = { "token_insert",
		"INSERT INTO tokens (id, kind, user_id, sa_id, name, "
		"secret_hash, expires_at, read_only, repositories, parent_id) "
		"SELECT $1::uuid, $2, $3, $4, $5, "
		"$6, least(CASE WHEN $7::bigint > 0 THEN now() + "
		"make_interval(secs => $7::double precision) END, "
		"p.expires_at), "
		"coalesce($9::boolean, p.read_only, false), "
		"CASE WHEN $10::json IS NULL THEN p.repositories "
		"ELSE ARRAY(SELECT json_array_elements_text($10::json)) END, "
		"CASE WHEN $2 = 'refresh' THEN p.id END "
		"FROM (SELECT 1) x LEFT JOIN tokens p ON p.id = $8::uuid" },
	[A_REPO_LEVEL] = { "repo_level", repo_level_sql },
	[A_TOKEN_LEVEL] = { "token_level", token_level_sql },
	[A_THROTTLE_GET] = { "throttle_get", throttle_get_sql },
	[A_THROTTLE_FAIL] = { "throttle_fail", throttle_fail_sql },
	[A_THROTTLE_CLEAR] = { "throttle_clear",
		"DELETE FROM login_failures WHERE key = $1" },
	/* Keys quiet for the window after their last failure and delay. */
	[A_THROTTLE_PURGE] = { "throttle_purge",
		"DELETE FROM login_failures WHERE greatest(last_failure, "
		"locked_until, window_start) < now() - "
		"make_interval(secs => $1::double precision)" },
	[A_AUDIT] = { "audit",
		"INSERT INTO audit_log (actor, action, target, client, "
		"success, detail) VALUES ($1, $2, $3, $4, $5, "
		"coalesce($6, '{}')::jsonb)" },
	/* Token issuing: see berth_audit_async in schema/0002_auth.sql. */
	[A_AUDIT2] = { "audit2",
		"SELECT berth_audit_async($1, $2, $3, $4, $5, $6, $7, $8)" },
	[A_USER_CREATE_NS] = { "user_create_ns",
		"INSERT INTO namespaces (name, is_org) VALUES ($1, false)" },
	[A_USER_CREATE] = { "user_create",
		"INSERT INTO users (name, password_hash, is_admin, email, "
		"display_name) VALUES ($1, $2, $3, coalesce($4, ''), "
		"coalesce($5, '')) RETURNING id" },
	[A_USER_BY_ID] = { "user_by_id", user_by_id_sql },
	[A_SA_BY_ID] = { "sa_by_id", sa_by_id_sql },
	[A_LDAP_NS_CREATE] = { "ldap_ns_create",
		"INSERT INTO namespaces (name, is_org) VALUES ($1, false) "
		"ON CONFLICT (name) DO NOTHING RETURNING name" },
	[A_LDAP_USER_CREATE] = { "ldap_user_create", ldap_user_create_sql },
	[A_LDAP_USER_UPDATE] = { "ldap_user_update", ldap_user_update_sql },
	[A_LDAP_TEAMS_ADD] = { "ldap_teams_add",
		"INSERT INTO team_members (team_id, user_id) "
		"SELECT t.id, $1::bigint FROM teams t "
		"WHERE lower(t.ldap_group_dn) = ANY($2::text[]) "
		"ON CONFLICT DO NOTHING" },
	[A_LDAP_ORGS_ADD] = { "ldap_orgs_add",
		"INSERT INTO org_members (org_id, user_id, role) "
		"SELECT DISTINCT t.org_id, $1::bigint, 'member' FROM teams t "
		"WHERE lower(t.ldap_group_dn) = ANY($2::text[]) "
		"ON CONFLICT DO NOTHING" },
	[A_LDAP_TEAMS_REMOVE] = { "ldap_teams_remove", ldap_teams_remove_sql },
	[A_LDAP_ADMIN_SET] = { "ldap_admin_set",
		"UPDATE users SET is_admin = $2 WHERE id = $1 "
		"AND source = 'ldap'" },
	[A_LDAP_USERS] = { "ldap_users", ldap_users_sql },
	[A_LDAP_DISABLE] = { "ldap_disable",
		"UPDATE users SET disabled = true, updated_at = now() "
		"WHERE id = $1 AND source = 'ldap'" },
	[A_LDAP_TEAM_DNS] = { "ldap_team_dns", ldap_team_dns_sql },
	[A_PING] = { "ping", "SELECT 1" },
	/* One bounded batch, oldest first, so a purge never holds many
	 * row locks or a long transaction. */
	[A_AUDIT_PURGE] = { "audit_purge",
		"DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
		"WHERE at < now() - make_interval(days => $1::int) "
		"ORDER BY at LIMIT $2)" },
};
