/*
 * Repositories (see repo.h). A repository row appears with its first
 * push or mount and is looked up by name; ids are what the other tables
 * hold.
 */
#include "repo.h"
#include "sql.h"

int64_t
repo_id(struct db *db, struct arena *a, const char *name)
{
	const char *p[1] = { name };
	PGresult *res = db_query(db, a, Q_REPO_ID, 1, p);

	if (res == NULL)
		return -1;
	return PQntuples(res) ? repo_row_id(res, 0) : 0;
}

int64_t
repo_ensure(struct db *db, struct arena *a, const char *name)
{
	const char *p[1] = { name };

	/* Q_REPO_ENSURE may find no row when an insert races it. */
	for (int attempt = 0; attempt < 3; attempt++) {
		PGresult *res = db_query(db, a, Q_REPO_ENSURE, 1, p);
		int64_t id = 0;

		if (res == NULL && !db_conflict(db))
			return -1;
		if (res != NULL && PQntuples(res) == 1)
			id = repo_row_id(res, 0);
		if (id > 0)
			return id;
	}
	return -1;
}
