/*
 * Tag listing and the catalog, paginated with n and last. Each page is one
 * keyset query that asks for n+1 rows: the extra row says whether a Link
 * to the next page is due, without a count that grows with the registry.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "authz.h"
#include "registryd.h"
#include "repo.h"
#include "route.h"
#include "sql.h"
#include "tag.h"

#define PAGE_DEFAULT 1000	/* when n is absent */
#define PAGE_MAX 10000		/* larger n is clamped, with a Link */

/* Reads ?n= into *n; false (answered) when it is not a count. */
static bool
page_size(struct http_req *r, long *n)
{
	const char *s = http_query(r, "n");
	uint64_t v;

	*n = PAGE_DEFAULT;
	if (s == NULL)
		return true;
	if (util_parse_u64(s, &v) < 0) {
		reg_error_respond(r, E_PAGINATION_INVALID, s);
		return false;
	}
	*n = v > PAGE_MAX ? PAGE_MAX : (long)v;
	return true;
}

/*
 * Answers {"<key>": [...], ...} from the first n rows of res, with a Link
 * to the next page when res has more. extra is an optional first member.
 */
static int
respond_page(struct http_req *r, PGresult *res, long n, const char *key,
	     json_t *doc, const char *path)
{
	json_t *list = json_array();
	int rows = PQntuples(res);
	struct MHD_Response *resp;
	char *text;

	for (int i = 0; i < rows && i < n; i++)
		json_array_append_new(list, json_string(page_row_name(res, i)));
	json_object_set_new(doc, key, list);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	resp = http_resp_take(text, strlen(text));
	http_resp_header(resp, "Content-Type", "application/json");
	if (n > 0 && rows > n)
		http_resp_header(
			resp, "Link",
			arena_printf(&r->arena, "<%s?n=%ld&last=%s>; rel=\"next\"",
				     path, n, page_row_name(res, (int)n - 1)));
	return reg_respond(r, 200, resp);
}

int
tags_list(struct http_req *r)
{
	struct reg_req *q = r->app;
	const char *last = http_query(r, "last");
	char repo[24], limit[24];
	const char *p[3] = { repo, last ? last : "", limit };
	enum reg_error e;
	struct db *db;
	PGresult *res;
	int64_t id;
	long n;

	if (!page_size(r, &n))
		return 0;
	if ((e = authz_check(r, q->name, AUTHZ_PULL)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	if ((db = reg_db(r)) == NULL ||
	    (id = repo_id(db, &r->arena, q->name)) < 0)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	if (id == 0)
		return reg_error_respond(r, E_NAME_UNKNOWN, q->name);
	snprintf(repo, sizeof(repo), "%" PRId64, id);
	snprintf(limit, sizeof(limit), "%ld", n + 1);
	if ((res = db_query(db, &r->arena, Q_TAGS_LIST, 3, p)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	return respond_page(r, res, n, "tags",
			    json_pack("{s:s}", "name", q->name),
			    arena_printf(&r->arena, "/v2/%s/tags/list",
					 q->name));
}

int
catalog_list(struct http_req *r)
{
	const char *last = http_query(r, "last");
	char limit[24];
	const char *p[3] = { last ? last : "", limit, NULL };
	enum reg_error e;
	struct db *db;
	PGresult *res;
	long n;

	if (!page_size(r, &n))
		return 0;
	if ((e = authz_check(r, NULL, AUTHZ_CATALOG)) != E_NONE)
		return reg_error_respond(r, e, NULL);
	snprintf(limit, sizeof(limit), "%ld", n + 1);
	/* With auth on, only what the token's subject may pull is listed. */
	p[2] = ((struct reg_req *)r->app)->subject;
	if ((db = reg_db(r)) == NULL ||
	    (res = reg.auth_realm
			   ? db_query(db, &r->arena, Q_CATALOG_FOR, 3, p)
			   : db_query(db, &r->arena, Q_CATALOG, 2, p)) == NULL)
		return reg_error_respond(r, E_UNAVAILABLE, "database");
	return respond_page(r, res, n, "repositories", json_object(),
			    "/v2/_catalog");
}
