/*
 * Management API: retention policies, per repository or for a whole
 * namespace (scopes and who may, as for immutability rules: apipolicy.c).
 * A policy's plan and run are SQL functions (schema/0011_retention.sql)
 * that registryd's scheduled runs share: a dry run lists what a run would
 * delete now and changes nothing; a run deletes those tags (tags only; the
 * garbage collector takes what they leave untagged) and writes its audit
 * record in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "tagglob.h"

#define EXCLUDE_MAX 32	/* exclusions per policy (the schema's CHECK) */
/* The most tags a dry run lists or a run deletes. */
#define RUN_MAX "10000"

/* An optional integer field in [min, max] as text, NULL when absent or
 * null. */
static int
int_field(struct api *c, const char *key, json_int_t min, json_int_t max,
	  const char **out)
{
	json_t *v = json_object_get(c->body, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return api_fail(c, AE_BAD_REQUEST,
				"\"%s\" must be an integer from %lld to %lld",
				key, (long long)min, (long long)max);
	*out = arena_printf(&c->r->arena, "%lld",
			    (long long)json_integer_value(v));
	return 0;
}

/* "exclude": an array of patterns, as JSON text for SQL (dflt when
 * absent). */
static int
exclude_field(struct api *c, const char *dflt, const char **out)
{
	json_t *v = json_object_get(c->body, "exclude"), *e;
	const char *why;
	size_t i;
	char *text;

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > EXCLUDE_MAX)
		return api_fail(c, AE_BAD_REQUEST,
				"\"exclude\" must be an array of at most %d "
				"patterns",
				EXCLUDE_MAX);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    json_string_length(e) != strlen(json_string_value(e)) ||
		    !tagglob_valid(json_string_value(e), &why))
			return api_fail(c, AE_BAD_REQUEST,
					"\"exclude\" item %zu is no pattern: "
					"it %s",
					i, json_is_string(e) ? why
							     : "is no string");
	}
	text = json_dumps(v, JSON_COMPACT);
	*out = arena_strdup(&c->r->arena, text);
	free(text);
	return 0;
}

/* The rules of a new policy: p[2] pattern ... p[6] enabled. */
static int
policy_fields(struct api *c, const char **p)
{
	static const char *const fields[] = {
		"namespace", "repository", "pattern", "exclude", "keep_last",
		"older_than_days", "enabled", NULL };

	p[2] = "*";
	if (api_fields(c, fields) < 0 ||
	    (json_object_get(c->body, "pattern") != NULL &&
	     apipolicy_pattern(c, "pattern", &p[2]) < 0) ||
	    exclude_field(c, "[]", &p[3]) < 0 ||
	    int_field(c, "keep_last", 0, 1000000, &p[4]) < 0 ||
	    int_field(c, "older_than_days", 1, 36500, &p[5]) < 0 ||
	    api_bool(c, "enabled", &p[6]) < 0)
		return -1;
	if (p[4] == NULL && p[5] == NULL)
		return api_fail(c, AE_BAD_REQUEST,
				"give \"keep_last\", \"older_than_days\" or "
				"both");
	return 0;
}

/* GET /retention-policies?namespace=NS or ?repository=REPO: readers. */
static int
retention_list(struct api *c)
{
	return apipolicy_list(c, API_RETENTION_LIST);
}

/* POST /retention-policies {namespace | repository, pattern?, exclude?,
 * keep_last?, older_than_days?, enabled?}: admins of the scope. */
static int
retention_add(struct api *c)
{
	struct api_scope s;
	const char *p[8];
	PGresult *res;
	json_t *doc;

	if (policy_fields(c, p) < 0 || apipolicy_scope(c, true, 3, &s) < 0)
		return -1;
	p[0] = s.ns;
	p[1] = s.repo;
	p[7] = c->who.name;
	if ((res = api_exec(c, API_RETENTION_INSERT, 8, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return api_fail(c, AE_CONFLICT,
				"namespace \"%s\" has as many retention "
				"policies as it may",
				s.ns);
	doc = api_json_col(res, 0, 0);
	api_audit(c, "retention.add", s.label, json_deep_copy(doc));
	return api_reply(c, 201, doc);
}

/* The policy of the path, checked against the caller; its JSON in *res
 * (column 3). */
static int
policy_find(struct api *c, int need, struct api_scope *s, const char **id,
	    PGresult **res)
{
	struct apisql_scope row;
	const char *p[1];

	if (apipolicy_id(c, 0, "policy", &p[0]) < 0 ||
	    (*res = api_exec(c, API_RETENTION_GET, 1, p)) == NULL)
		return -1;
	if (!apisql_scope_read(*res, &row))
		return api_fail(c, AE_NOT_FOUND, "policy %s not found", p[0]);
	*id = p[0];
	s->ns = row.ns;
	s->repo = row.repo;
	return apipolicy_scope_check(c, need, s);
}

static int
retention_get(struct api *c)
{
	struct api_scope s;
	const char *id;
	PGresult *res;

	if (policy_find(c, 1, &s, &id, &res) < 0)
		return -1;
	return api_reply(c, 200, api_json_col(res, 0, 3));
}

static int
retention_remove(struct api *c)
{
	struct api_scope s;
	const char *id, *p[1];
	PGresult *res;
	int n;

	if (policy_find(c, 3, &s, &id, &res) < 0)
		return -1;
	p[0] = id;
	if ((n = api_exec_count(c, API_RETENTION_DELETE, 1, p)) < 0)
		return -1;
	if (n == 0)
		return api_fail(c, AE_NOT_FOUND, "policy %s not found", id);
	api_audit(c, "retention.remove", s.label, api_json_col(res, 0, 3));
	return api_no_content(c);
}

/* PATCH /retention-policies/{id} {pattern?, exclude?, keep_last?,
 * older_than_days?, enabled?}: admins. A field given changes (null
 * lifts a bound); one that is absent stays. */
static int
retention_update(struct api *c)
{
	static const char *const fields[] = { "pattern", "exclude",
		"keep_last", "older_than_days", "enabled", NULL };
	struct api_scope s;
	const char *id, *p[8] = { NULL };
	PGresult *res;

	if (policy_find(c, 3, &s, &id, &res) < 0 || api_fields(c, fields) < 0 ||
	    (json_object_get(c->body, "pattern") != NULL &&
	     apipolicy_pattern(c, "pattern", &p[1]) < 0) ||
	    exclude_field(c, NULL, &p[2]) < 0 ||
	    int_field(c, "keep_last", 0, 1000000, &p[4]) < 0 ||
	    int_field(c, "older_than_days", 1, 36500, &p[6]) < 0 ||
	    api_bool(c, "enabled", &p[7]) < 0)
		return -1;
	p[0] = id;
	p[3] = json_object_get(c->body, "keep_last") ? "t" : "f";
	p[5] = json_object_get(c->body, "older_than_days") ? "t" : "f";
	if ((res = api_exec(c, API_RETENTION_UPDATE, 8, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0)	/* it would have neither bound */
		return api_fail(c, AE_BAD_REQUEST,
				"a policy keeps \"keep_last\", "
				"\"older_than_days\" or both");
	api_audit(c, "retention.update", s.label,
		  json_pack("{s:I, s:O}", "id",
			    (json_int_t)strtoll(id, NULL, 10), "changes",
			    c->body));
	return api_reply(c, 200, api_json_col(res, 0, 0));
}

/* POST /retention-policies/{id}/dry-run: readers. What a run would
 * delete now: {"policy", "count", "more", "tags": [{repository, tag,
 * digest, updated}]}, oldest first. */
static int
retention_dry_run(struct api *c)
{
	struct api_scope s;
	const char *id, *p[2];
	PGresult *res;

	if (policy_find(c, 1, &s, &id, &res) < 0)
		return -1;
	p[0] = id;
	p[1] = RUN_MAX;
	return api_reply_row(c, 200, API_RETENTION_PLAN, 2, p, "policy");
}

/* A run on demand, as its transaction does it. */
struct run {
	const char *p[4];	/* policy, actor, client, RUN_MAX */
	const char *result;
};

static int
run_body(struct api *c, void *arg)
{
	struct run *run = arg;
	PGresult *res = api_exec(c, API_RETENTION_RUN, 4, run->p);

	if (res == NULL)
		return -1;
	run->result = apisql_retention_result(res);
	return 0;
}

/* POST /retention-policies/{id}/run: admins. Deletes what the dry run
 * lists (at most RUN_MAX tags; "more" says some are left) and answers
 * {"policy", "count", "more", "deleted": [{repository, tag, digest}]};
 * the audit record (retention.run) commits with the deletes. */
static int
retention_run(struct api *c)
{
	struct api_scope s;
	struct run run = { { NULL, NULL, NULL, NULL }, NULL };
	PGresult *res;
	json_error_t err;
	json_t *doc;

	if (policy_find(c, 3, &s, &run.p[0], &res) < 0)
		return -1;
	run.p[1] = c->who.name;
	run.p[2] = c->r->client;
	run.p[3] = RUN_MAX;
	if (api_tx(c, run_body, &run) < 0)
		return -1;
	if (run.result == NULL ||
	    (doc = json_loads(run.result, 0, &err)) == NULL)
		return api_fail(c, AE_NOT_FOUND, "policy %s not found",
				run.p[0]);
	return api_reply(c, 200, doc);
}

const struct api_route apiretain_routes[] = {
	{ "GET", "retention-policies", retention_list },
	{ "POST", "retention-policies", retention_add },
	{ "POST", "retention-policies/*/dry-run", retention_dry_run },
	{ "POST", "retention-policies/*/run", retention_run },
	{ "GET", "retention-policies/*", retention_get },
	{ "PATCH", "retention-policies/*", retention_update },
	{ "DELETE", "retention-policies/*", retention_remove },
	{ NULL, NULL, NULL },
};
