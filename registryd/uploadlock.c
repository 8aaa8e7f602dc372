/*
 * Upload locks for object storage (see uploadlock.h). The advisory lock
 * is a session's, and a session may take it twice: the node-wide table
 * is what keeps two requests of one node (and one worker thread) apart.
 * A request takes and drops its lock on its own worker thread, so on the
 * same database session.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sql.h"
#include "uploadlock.h"

struct held {
	char id[40];
	struct held *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct held *held;

/* Adds id to the table unless it is there; whether it was added. */
static bool
table_take(const char *id)
{
	struct held *h;
	bool added = true;

	pthread_mutex_lock(&mu);
	for (h = held; h != NULL && added; h = h->next)
		added = strcmp(h->id, id) != 0;
	if (added) {
		h = xmalloc(sizeof(*h));
		util_strlcpy(h->id, id, sizeof(h->id));
		h->next = held;
		held = h;
	}
	pthread_mutex_unlock(&mu);
	return added;
}

static void
table_drop(const char *id)
{
	struct held **p, *h;

	pthread_mutex_lock(&mu);
	for (p = &held; (h = *p) != NULL; p = &h->next) {
		if (strcmp(h->id, id) == 0) {
			*p = h->next;
			free(h);
			break;
		}
	}
	pthread_mutex_unlock(&mu);
}

int
uploadlock_take(const char *id, void *arg)
{
	const char *p[1] = { id };
	struct db *db = db_thread();
	PGresult *res;
	bool took;

	(void)arg;
	if (!table_take(id)) {
		errno = EAGAIN;
		return -1;
	}
	if (db == NULL || (res = db_exec(db, Q_UPLOAD_LOCK, 1, p)) == NULL) {
		table_drop(id);
		errno = EIO;
		return -1;
	}
	took = gc_bool_row(res, 0);
	PQclear(res);
	if (!took) {
		table_drop(id);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

void
uploadlock_drop(const char *id, void *arg)
{
	const char *p[1] = { id };
	struct db *db = db_thread();
	PGresult *res;

	(void)arg;
	/* A session that was lost took its locks with it. */
	if (db != NULL && (res = db_exec(db, Q_UPLOAD_UNLOCK, 1, p)) != NULL)
		PQclear(res);
	else
		log_info("upload %s: lock left to the database session", id);
	table_drop(id);
}
