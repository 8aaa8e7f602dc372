/*
 * Directory users in Berth: just-in-time provisioning at the first login,
 * team membership synced from directory groups at each login and by a
 * periodic full sync, and the check that a directory user still exists
 * before one of their tokens is honoured.
 *
 * DESIGN: a directory user is a users row with source 'ldap'. A name that
 * a local account or an organization already holds is never taken over.
 * Teams name their group by DN (teams.ldap_group_dn); membership in those
 * teams follows the directory, while teams without a DN are left alone.
 * An unreachable directory changes nothing: only a definite "gone" or
 * "disabled" answer disables a user. A user's rows change in one
 * transaction (db_tx); the query results of a provisioning or of one
 * user's sync go with an arena of their own.
 */
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "authd.h"
#include "authsql.h"
#include "ldapauth.h"
#include "log.h"
#include "names.h"

#define VALID_CACHE 256

const char *ldapsync_admin_group;
bool authd_ldap_ad;
int ldapsync_max_disable_percent = 10;

static void valid_note(int64_t id, bool valid);

/* {"a","b"}: a PostgreSQL text[] literal, every element quoted. */
static char *
text_array(const char *const *items, int n)
{
	struct buf b;
	int err = 0;

	buf_init(&b, 1u << 24);
	err |= buf_puts(&b, "{");
	for (int i = 0; i < n; i++) {
		err |= buf_puts(&b, i ? ",\"" : "\"");
		for (const char *p = items[i]; *p; p++) {
			char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
			if (c == '"' || c == '\\')
				err |= buf_append(&b, "\\", 1);
			err |= buf_append(&b, &c, 1);
		}
		err |= buf_puts(&b, "\"");
	}
	err |= buf_puts(&b, "}");
	if (err)
		BUG("group list passed its bound");
	return buf_detach(&b, NULL);
}

/* Whether u is in group dn; u's groups are folded already. */
static bool
in_groups(const struct ldapauth_user *u, const char *dn)
{
	char *folded = ldapauth_fold(dn);
	bool in = false;

	for (int i = 0; i < u->n_groups && !in; i++)
		in = strcmp(u->groups[i], folded) == 0;
	free(folded);
	return in;
}

/*
 * The teams' group DNs that u is in, as the queries compare them
 * (lower(ldap_group_dn)), in a text[] literal; NULL on a database error.
 * Berth matches them with Unicode case folding, so "CN=Développeurs"
 * and "cn=DÉVELOPPEURS" are one group whatever the database's locale.
 */
static char *
linked_groups(struct db *db, struct arena *a, const struct ldapauth_user *u)
{
	PGresult *res = db_query(db, a, A_LDAP_TEAM_DNS, 0, NULL);
	struct authsql_team_dn t;
	const char **match;
	int n = 0;

	if (res == NULL)
		return NULL;
	match = arena_alloc(a, sizeof(char *) * (size_t)(PQntuples(res) + 1));
	for (int i = 0; authsql_ldap_team_dn(res, i, &t); i++)
		if (in_groups(u, t.dn))
			match[n++] = t.lower;
	return text_array(match, n);
}

/* Team membership (and admin) from u's groups, for user id. */
static int
sync_groups(struct db *db, struct arena *a, const char *id,
	    const struct ldapauth_user *u)
{
	char *groups = linked_groups(db, a, u);
	const char *p[2] = { id, groups }, *team;
	PGresult *res;
	int ret = -1;

	if (groups == NULL ||
	    db_query(db, a, A_LDAP_ORGS_ADD, 2, p) == NULL ||
	    db_query(db, a, A_LDAP_TEAMS_ADD, 2, p) == NULL ||
	    (res = db_query(db, a, A_LDAP_TEAMS_REMOVE, 2, p)) == NULL)
		goto out;
	for (int i = 0; authsql_ldap_team_left(res, i, &team); i++)
		log_info("ldap: \"%s\" left team \"%s\" with its group",
			 u->username, team);
	if (ldapsync_admin_group != NULL) {
		p[1] = in_groups(u, ldapsync_admin_group) ? "t" : "f";
		if (db_query(db, a, A_LDAP_ADMIN_SET, 2, p) == NULL)
			goto out;
	}
	ret = 0;
out:
	free(groups);
	return ret;
}

/* One user's rows, changed in one transaction (db_tx's fn). */
struct provision {
	const struct ldapauth_user *u;
	struct principal *out;
	struct arena arena;	/* the transaction's query results */
	bool created;
};

/* An existing directory user refreshed, or a new one created: its row. */
static PGresult *
provision_row(struct db *db, struct provision *pv)
{
	const struct ldapauth_user *u = pv->u;
	const char *p[4] = { u->username, u->dn, u->display_name, u->email };
	PGresult *res;

	res = db_query(db, &pv->arena, A_LDAP_USER_UPDATE, 4, p);
	if (res == NULL || PQntuples(res) > 0)
		return res;
	/* A new one: the name must be free in the namespace. */
	if ((res = db_query(db, &pv->arena, A_LDAP_NS_CREATE, 1, p)) == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		log_warnx("ldap: \"%s\" is a local account, an "
			  "organization or disabled; not taken over",
			  u->username);
		return NULL;
	}
	pv->created = true;
	return db_query(db, &pv->arena, A_LDAP_USER_CREATE, 4, p);
}

static int
provision_tx(struct db *db, void *arg)
{
	struct provision *pv = arg;
	struct authsql_ldap_user row;
	char id[24];

	if (!authsql_ldap_user(provision_row(db, pv), 0, &row))
		return -1;
	snprintf(id, sizeof(id), "%" PRId64, row.id);
	pv->out->kind = P_USER;
	pv->out->id = row.id;
	util_strlcpy(pv->out->name, pv->u->username, sizeof(pv->out->name));
	pv->out->is_admin = row.is_admin;
	return sync_groups(db, &pv->arena, id, pv->u);
}

int
ldapsync_provision(struct db *db, const struct ldapauth_user *u,
		   struct principal *out)
{
	struct provision pv = { .u = u, .out = out };
	int ret;

	/* The login attribute becomes a namespace: it must be one. */
	if (!names_repo_valid(u->username) || strchr(u->username, '/')) {
		log_warnx("ldap: \"%s\" is not a valid Berth user name",
			  u->username);
		return -1;
	}
	arena_init(&pv.arena);
	ret = db_tx(db, provision_tx, &pv);
	arena_release(&pv.arena);
	if (ret < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (ldapsync_admin_group != NULL)
		out->is_admin = in_groups(u, ldapsync_admin_group);
	/* Just checked: a cached login need not ask the directory again. */
	valid_note(out->id, true);
	if (pv.created) {
		log_info("ldap: provisioned \"%s\" (%s)", u->username, u->dn);
		audit_write(db, u->username, "user.provision", u->username,
			    "", true, NULL);
	}
	return 0;
}

struct valid_slot {
	int64_t id;
	bool valid;
	time_t until;
};

static struct valid_slot valid_cache[VALID_CACHE];
static pthread_mutex_t valid_lock = PTHREAD_MUTEX_INITIALIZER;

bool
ldapsync_still_valid(int64_t id, const char *name)
{
	struct valid_slot *s = &valid_cache[(uint64_t)id % VALID_CACHE];
	struct ldapauth_user u;
	enum ldapauth_result r;
	bool valid;

	if (!ldapauth_enabled())
		return false;	/* no directory: its users cannot log in */
	pthread_mutex_lock(&valid_lock);
	if (s->id == id && s->until > time(NULL)) {
		valid = s->valid;
		pthread_mutex_unlock(&valid_lock);
		return valid;
	}
	pthread_mutex_unlock(&valid_lock);
	r = ldapauth_lookup(name, &u);
	ldapauth_user_release(&u);
	/* An unreachable directory does not revoke anything. */
	valid = r != LDAPAUTH_REFUSED;
	valid_note(id, valid);
	return valid;
}

static void
valid_note(int64_t id, bool valid)
{
	struct valid_slot *s = &valid_cache[(uint64_t)id % VALID_CACHE];

	pthread_mutex_lock(&valid_lock);
	s->id = id;
	s->valid = valid;
	s->until = time(NULL) + (time_t)authd.cred_cache_ttl;
	pthread_mutex_unlock(&valid_lock);
}

/* Logs and audits why a sync disabled nobody. */
static void
sync_abort(struct db *db, struct ldapsync_report *rep)
{
	json_t *d = json_pack("{s:s,s:i,s:i}", "reason", rep->why, "users",
			      rep->users, "would_disable", rep->gone);
	char *detail = json_dumps(d, JSON_COMPACT);

	log_warnx("ldap sync: nobody disabled: %s", rep->why);
	audit_write(db, "ldap-sync", "ldap.sync", "", "", false, detail);
	free(detail);
	json_decref(d);
}

/* One user's sync in one transaction (db_tx's fn); its query results go
 * when it ends, so a long sync holds only the list of users. */
struct sync_one {
	const char *id;
	const struct ldapauth_user *u;
};

static int
sync_one_tx(struct db *db, void *arg)
{
	struct sync_one *so = arg;
	struct arena a;
	int ret;

	arena_init(&a);
	ret = sync_groups(db, &a, so->id, so->u);
	arena_release(&a);
	return ret;
}

/* Looks up every directory user, syncing those found; fills rep's
 * unreachable, why and gone (gone[] the users' rows). */
static void
sync_lookup(struct db *db, const PGresult *users, struct ldapsync_report *rep,
	    int *gone)
{
	struct authsql_ldap_users row;

	for (int i = 0; authsql_ldap_users(users, i, &row); i++) {
		struct ldapauth_user u;
		enum ldapauth_result r = ldapauth_lookup(row.name, &u);
		char id[24];
		struct sync_one so = { id, &u };
		int synced;

		if (r == LDAPAUTH_ERROR) {
			rep->unreachable = true;
			snprintf(rep->why, sizeof(rep->why),
				 "the directory search for \"%s\" failed "
				 "(unreachable, or a wrong or missing user "
				 "base)",
				 row.name);
			break;
		}
		if (r == LDAPAUTH_REFUSED) {
			gone[rep->gone++] = i;
			continue;
		}
		snprintf(id, sizeof(id), "%" PRId64, row.id);
		synced = db_tx(db, sync_one_tx, &so);
		(void)synced;	/* a failure leaves the teams as they were */
		ldapauth_user_release(&u);
	}
}

/* Disables the users of rows gone[], as the directory said; audited. */
static void
sync_disable(struct db *db, struct arena *a, const PGresult *users,
	     struct ldapsync_report *rep, const int *gone)
{
	struct authsql_ldap_users row;

	for (int k = 0; k < rep->gone; k++) {
		char id[24];
		const char *p[1] = { id };

		if (!authsql_ldap_users(users, gone[k], &row))
			continue;
		snprintf(id, sizeof(id), "%" PRId64, row.id);
		if (db_query(db, a, A_LDAP_DISABLE, 1, p) == NULL)
			continue;
		rep->disabled++;
		audit_write(db, "ldap-sync", "user.disable", row.name, "", true,
			    "{\"reason\":\"gone or disabled in the "
			    "directory\"}");
	}
}

int
ldapsync_run(struct db *db, struct ldapsync_report *rep)
{
	struct arena a;
	PGresult *users;
	int *gone = NULL, allowed, n;

	memset(rep, 0, sizeof(*rep));
	arena_init(&a);
	if ((users = db_query(db, &a, A_LDAP_USERS, 0, NULL)) == NULL) {
		snprintf(rep->why, sizeof(rep->why), "database error");
		goto out;
	}
	n = PQntuples(users);
	rep->users = n;
	gone = xmalloc(sizeof(int) * (size_t)(n + 1));
	/* First every look-up; nobody is disabled before all have answered. */
	sync_lookup(db, users, rep, gone);
	/* A mass departure is more likely a broken directory than real. */
	allowed = n * ldapsync_max_disable_percent / 100;
	if (allowed < 1)
		allowed = 1;
	if (!rep->unreachable && rep->gone > allowed)
		snprintf(rep->why, sizeof(rep->why),
			 "%d of %d directory users would be disabled, more "
			 "than ldap_sync_max_disable_percent (%d%%) allows",
			 rep->gone, n, ldapsync_max_disable_percent);
	if (rep->why[0] != '\0')
		sync_abort(db, rep);
	else
		sync_disable(db, &a, users, rep, gone);
out:
	free(gone);
	arena_release(&a);
	return rep->why[0] != '\0' ? -1 : rep->disabled;
}

int
ldapsync_all(struct db *db)
{
	struct ldapsync_report rep;

	return ldapsync_run(db, &rep);
}

int
ldapsync_handle(struct http_req *r)
{
	struct principal who;
	struct ldapsync_report rep;
	char *user = NULL, *pass = NULL, *body;
	enum cred_result cr;
	struct db *db;
	int n;

	if (strcmp(r->method, "POST") != 0)
		return authd_fail(r, AERR_POST_ONLY, NULL);
	if ((db = db_thread()) == NULL)
		return authd_fail(r, AERR_DATABASE, NULL);
	if (credential_basic(r, &user, &pass) != 1) {
		free(user);
		free(pass);
		return authd_unauthorized(r);
	}
	if ((cr = credential_check(db, r->client, user, pass, &who)) !=
	    CRED_OK) {
		free(user);
		free(pass);
		return authd_refused(r, cr, &who);
	}
	free(user);
	free(pass);
	r->user = arena_strdup(&r->arena, who.name);
	if (!who.is_admin)
		return authd_fail(r, AERR_ADMIN_ONLY, NULL);
	if (!ldapauth_enabled())
		return authd_fail(r, AERR_NO_DIRECTORY, NULL);
	if ((n = ldapsync_run(db, &rep)) < 0) {
		enum authd_err e = rep.unreachable ? AERR_SYNC_UNREACHABLE
						   : AERR_SYNC_REFUSED;

		return authd_fail(r, e,
				  arena_printf(&r->arena, "%s: %s",
					       authd_errors[e].message,
					       rep.why));
	}
	audit_write(db, who.name, "ldap.sync", "", r->client, true, NULL);
	body = xasprintf("{\"disabled\":%d,\"users\":%d}", n, rep.users);
	return authd_json(r, 200, body);
}
