/*
 * Tag immutability in registryd: a tag that an immutable rule matches may
 * be created and pushed again with the same digest, never moved to
 * another manifest nor deleted, alone or with its manifest. Every check
 * runs in the transaction of the change and holds the row lock it read
 * under (the tag's, or the manifest's that new tags would point at), so
 * no change can slip between the check and the commit.
 */
#include <stdio.h>

#include "immutable.h"
#include "route.h"
#include "sql.h"

/* "tag v1 is immutable (rule v*)", from row 0 of a rule query. */
static const char *
refusal_text(struct arena *a, const PGresult *res, const char *tag)
{
	struct immutable_row m;

	if (PQntuples(res) == 0)	/* the rule went meanwhile */
		return arena_printf(a, "tag %s is immutable", tag);
	immutable_row_read(res, 0, &m);
	return arena_printf(a, "tag %s is immutable (rule %s)", m.tag,
			    m.pattern);
}

const char *
immutable_refusal(struct db *db, struct arena *a, const char *repo,
		  const char *tag)
{
	const char *p[2] = { repo, tag };
	PGresult *res = db_query(db, a, Q_IMMUTABLE_RULE, 2, p);

	return res == NULL ? NULL : refusal_text(a, res, tag);
}

enum reg_error
immutable_delete_check(struct db *db, struct arena *a, const char *repo,
		       const char *ref, bool by_digest, const char **why)
{
	const char *p[2] = { repo, ref };
	PGresult *res;

	*why = NULL;
	if (by_digest && db_query(db, a, Q_MANIFEST_LOCK, 2, p) == NULL)
		return E_UNAVAILABLE;
	res = db_query(db, a, by_digest ? Q_IMMUTABLE_DIGEST : Q_IMMUTABLE_TAG,
		       2, p);
	if (res == NULL)
		return E_UNAVAILABLE;
	if (PQntuples(res) == 0)
		return E_NONE;
	*why = refusal_text(a, res, ref);
	return E_TAG_IMMUTABLE;
}

int
immutable_respond(struct http_req *r, const char *why)
{
	struct MHD_Response *resp;

	resp = http_error_resp(error_code(E_TAG_IMMUTABLE),
			       why ? why : error_message(E_TAG_IMMUTABLE),
			       NULL);
	return reg_respond(r, error_status(E_TAG_IMMUTABLE), resp);
}
