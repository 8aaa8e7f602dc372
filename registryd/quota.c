/*
 * Namespace storage quotas at manifest PUT (see quota.h). A namespace
 * without a limit costs one indexed lookup that locks nothing. One with a
 * limit has its usage row locked (FOR UPDATE) until the PUT commits: the
 * triggers that count a push lock the same row, so the usage read here is
 * final, and of two pushes racing for the last room only the first fits.
 * The recompute commands run the schema's own proof, berth_quota_check.
 */
#include <inttypes.h>
#include <stdio.h>

#include "log.h"

#include "bytesize.h"
#include "quota.h"
#include "sql.h"

const char *
quota_namespace(struct arena *a, const char *name)
{
	const char *slash = strchr(name, '/');

	return slash ? arena_strndup(a, name, (size_t)(slash - name)) : name;
}

/* The message of a refusal: clients show it to the one who pushed. */
static const char *
refusal(struct arena *a, const char *ns, const struct quota_row *q,
	int64_t needed)
{
	char lim[32], use[32], need[32];

	bytesize_format((uint64_t)q->limit, lim, sizeof(lim));
	bytesize_format((uint64_t)q->usage, use, sizeof(use));
	bytesize_format((uint64_t)needed, need, sizeof(need));
	return arena_printf(a,
			    "storage quota exceeded: namespace \"%s\" uses "
			    "%" PRId64 " bytes (%s) of its limit of %" PRId64
			    " bytes (%s), and this manifest needs %" PRId64
			    " bytes (%s) more",
			    ns, q->usage, use, q->limit, lim, needed, need);
}

int
quota_check(struct db *db, struct arena *a, const struct quota_push *p,
	    enum reg_error *err, const char **detail)
{
	const char *ns = quota_namespace(a, p->repo);
	const char *np[5] = { ns, NULL, p->repo_id, p->digest, NULL };
	struct quota_row q;
	PGresult *res;
	char size[24];
	int64_t needed;

	if ((res = db_query(db, a, Q_QUOTA_LOCK, 1, np)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return 0;	/* no limit */
	quota_row_read(res, 0, &q);
	snprintf(size, sizeof(size), "%zu", p->size);
	np[1] = sql_array(a, p->blobs, p->n_blobs);
	np[4] = size;
	if ((res = db_query(db, a, Q_QUOTA_NEEDED, 5, np)) == NULL)
		return -1;
	/* Nothing new (a tag moved to a stored manifest) always fits, even
	 * in a namespace already past a limit lowered under its usage. */
	needed = quota_needed_row(res, 0);
	if (needed == 0 || q.usage + needed <= q.limit)
		return 0;
	*err = E_QUOTA_EXCEEDED;
	*detail = refusal(a, ns, &q, needed);
	return -1;
}

/* Prints the namespaces of a berth_quota_recompute() result that differ;
 * returns how many. */
static int
print_drift(const PGresult *res)
{
	int drifted = 0;

	for (int i = 0; i < PQntuples(res); i++) {
		bool fixed = db_bool(res, i, 4);

		if (!strcmp(db_text(res, i, 1), db_text(res, i, 2)) &&
		    db_int64(res, i, 3) == 0 && !fixed)
			continue;
		drifted++;
		printf("%s: tracked %s bytes, recomputed %s bytes, %s "
		       "reference counts differ%s\n",
		       db_text(res, i, 0), db_text(res, i, 1),
		       db_text(res, i, 2), db_text(res, i, 3),
		       fixed ? "; fixed" : "");
	}
	return drifted;
}

int
quota_recompute_command(const char *conninfo, bool check)
{
	const char *p[1] = { check ? "f" : "t" };
	PGconn *conn = db_connect_raw(conninfo);
	PGresult *res;
	int drifted, ret = 1;

	if (conn == NULL)
		return 1;
	res = PQexecParams(conn,
			   "SELECT namespace, tracked, recomputed, refs_drift, "
			   "fixed FROM berth_quota_recompute($1::boolean)",
			   1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("quota recompute failed: %s",
			  PQresultErrorMessage(res));
		goto out;
	}
	drifted = print_drift(res);
	printf("%d namespaces checked, %d differed%s\n", PQntuples(res),
	       drifted, check ? "" : drifted ? ", fixed" : "");
	ret = check && drifted > 0 ? 3 : 0;
out:
	PQclear(res);
	PQfinish(conn);
	return ret;
}
