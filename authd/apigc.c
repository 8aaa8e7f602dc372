/*
 * Garbage collection, as administrators watch it: the review queues and
 * what each collector node did (GET /gc), and what a collection would
 * remove now (GET /gc/dry-run). The collectors themselves run in
 * registryd (registryd/gc.c); these only read.
 */
#include "api.h"
#include "util.h"

/* GET /gc: the queues, due and overdue reviews, and the nodes. */
static int
gc_status(struct api *c)
{
	if (api_need_admin(c) < 0)
		return -1;
	return api_reply_row(c, 200, API_GC_STATUS, 0, NULL, "status");
}

/* GET /gc/dry-run[?grace=SECONDS]: manifests, blob links, blobs and
 * bytes a collection would remove (grace: the collectors' by default). */
static int
gc_dry_run(struct api *c)
{
	const char *grace = http_query(c->r, "grace");
	const char *p[1] = { grace };
	uint64_t g;

	if (api_need_admin(c) < 0)
		return -1;
	if (grace != NULL &&
	    (util_parse_u64(grace, &g) < 0 || g > 31536000))
		return api_fail(c, AE_BAD_REQUEST,
				"grace must be seconds, 0 to 31536000");
	return api_reply_row(c, 200, API_GC_REPORT, 1, p, "report");
}

const struct api_route apigc_routes[] = {
	{ "GET", "gc", gc_status },
	{ "GET", "gc/dry-run", gc_dry_run },
	{ NULL, NULL, NULL },
};
