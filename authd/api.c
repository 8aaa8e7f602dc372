/*
 * The management API (placeholder until the API lands).
 */
#include "authd.h"

int
api_handle(struct http_req *r)
{
	return authd_error(r, 404, "NOT_FOUND", "no such endpoint");
}
