/*
 * Management API: namespaces' storage quotas. A namespace's usage (the
 * distinct blobs and the manifests of its repositories, counted by the
 * triggers of schema/0010_quota.sql) and its limit may be read by its
 * user, its organization's owners and system administrators; only system
 * administrators set or clear a limit, list every namespace, or recompute
 * the accounting. To anyone else a namespace answers 404, as if it did
 * not exist. registryd enforces the limit at manifest PUT.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "bytesize.h"

/* Finds the namespace of the path (c->arg[0]) for the caller, who must
 * be able to read its quota, and with manage be an administrator. */
static int
quota_ns(struct api *c, bool manage, const char **ns)
{
	const char *p[1] = { c->arg[0] };
	bool admin = c->who.kind == P_USER && c->who.is_admin;
	struct api_org o;
	PGresult *res;

	*ns = c->arg[0];
	if (!api_name_valid(*ns))
		return api_fail(c, AE_NAME_INVALID,
				"\"%.64s\" is not a namespace's name", *ns);
	if ((res = api_exec(c, API_NS_GET, 1, p)) == NULL)
		return -1;
	if (!apisql_ns_exists(res))
		return api_fail(c, AE_NOT_FOUND, "namespace \"%s\" not found",
				*ns);
	if (admin)
		return 0;
	if (apisql_ns_is_org(res)) {
		if (api_org(c, *ns, true, &o) < 0)
			return -1;
	} else if (c->who.kind != P_USER || strcmp(c->who.name, *ns) != 0) {
		return api_fail(c, AE_NOT_FOUND, "namespace \"%s\" not found",
				*ns);
	}
	return manage ? api_need_admin(c) : 0;
}

/* "limit": a JSON integer of bytes, or a size such as "10GiB" (lib/
 * bytesize.h); written as decimal text into out. */
static int
quota_limit_arg(struct api *c, char *out, size_t len)
{
	json_t *v = json_object_get(c->body, "limit");
	const char *s;
	uint64_t n = 0;
	bool ok = false;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		ok = i >= 0 && (uint64_t)i <= BYTESIZE_MAX;
		n = (uint64_t)i;
	} else if (v == NULL || json_is_string(v)) {
		/* api_str refuses control characters, NUL among them. */
		if (api_str(c, "limit", true, 32, &s) < 0)
			return -1;
		ok = bytesize_parse(s, &n) == 0;
	}
	if (!ok)
		return api_fail(c, AE_BAD_REQUEST,
				"\"limit\" must be a whole number of bytes "
				"from 0 to %" PRIu64 ", or a size such as "
				"\"500MB\" or \"10GiB\"",
				(uint64_t)BYTESIZE_MAX);
	snprintf(out, len, "%" PRIu64, n);
	return 0;
}

static int
quota_get(struct api *c)
{
	const char *ns;

	if (quota_ns(c, false, &ns) < 0)
		return -1;
	return api_reply_row(c, 200, API_QUOTA_GET, 1, &ns, "namespace");
}

static int
quota_list(struct api *c)
{
	const char *p[2] = { api_after(c) };

	if (api_need_admin(c) < 0)
		return -1;
	return api_list(c, API_QUOTA_LIST, 2, p);
}

/* JSON of a limit read back as text: a number, or null. */
static json_t *
limit_json(const char *text)
{
	return text ? json_integer((json_int_t)strtoll(text, NULL, 10))
		    : json_null();
}

/* PUT {limit}: from the next manifest PUT on, pushes that would take the
 * namespace's usage past it are refused; a limit under the usage only
 * stops growth. */
static int
quota_set(struct api *c)
{
	static const char *const fields[] = { "limit", NULL };
	char limit[24];
	const char *p[2] = { NULL, limit };
	PGresult *res;

	if (quota_ns(c, true, &p[0]) < 0 || api_fields(c, fields) < 0 ||
	    quota_limit_arg(c, limit, sizeof(limit)) < 0)
		return -1;
	if ((res = api_exec(c, API_QUOTA_SET, 2, p)) == NULL)
		return -1;
	api_audit(c, "quota.set", p[0],
		  json_pack("{s:o, s:o}", "limit", limit_json(limit),
			    "previous",
			    limit_json(apisql_quota_previous(res))));
	return api_reply_row(c, 200, API_QUOTA_GET, 1, p, "namespace");
}

static int
quota_clear(struct api *c)
{
	const char *ns, *old;
	PGresult *res;

	if (quota_ns(c, true, &ns) < 0 ||
	    (res = api_exec(c, API_QUOTA_CLEAR, 1, &ns)) == NULL)
		return -1;
	if ((old = apisql_quota_previous(res)) == NULL)
		return api_fail(c, AE_NOT_FOUND,
				"namespace \"%s\" has no quota", ns);
	api_audit(c, "quota.clear", ns,
		  json_pack("{s:o}", "previous", limit_json(old)));
	return api_no_content(c);
}

/*
 * POST {check}: recomputes every namespace's usage from its content and
 * compares it with the tracked usage (in one snapshot, so exact accounting
 * shows no difference while pushes run); without check, rewrites the
 * namespaces that differ. Answers the counts and the namespaces that
 * differed.
 */
static int
quota_recompute(struct api *c)
{
	static const char *const fields[] = { "check", NULL };
	struct apisql_recompute row;
	const char *p[1];
	PGresult *res;
	json_t *doc;
	bool fix;

	if (api_need_admin(c) < 0 || api_fields(c, fields) < 0 ||
	    api_bool(c, "check", &p[0]) < 0)
		return -1;
	fix = p[0] == NULL || *p[0] == 'f';
	p[0] = fix ? "t" : "f";
	if ((res = api_exec(c, API_QUOTA_RECOMPUTE, 1, p)) == NULL)
		return -1;
	apisql_recompute_read(res, &row);
	doc = json_pack("{s:b, s:I, s:I, s:I, s:o}", "check", !fix, "checked",
			(json_int_t)row.checked, "drifted",
			(json_int_t)row.drifted, "fixed",
			(json_int_t)row.fixed, "namespaces",
			api_json_col(res, 0, 0));
	if (fix)
		api_audit(c, "quota.recompute", "",
			  json_pack("{s:I, s:I, s:I}", "checked",
				    (json_int_t)row.checked, "drifted",
				    (json_int_t)row.drifted, "fixed",
				    (json_int_t)row.fixed));
	return api_reply(c, 200, doc);
}

const struct api_route apiquota_routes[] = {
	{ "GET", "quotas", quota_list },
	{ "POST", "quotas/recompute", quota_recompute },
	{ "GET", "quotas/*", quota_get },
	{ "PUT", "quotas/*", quota_set },
	{ "DELETE", "quotas/*", quota_clear },
	{ NULL, NULL, NULL },
};
