/*
 * The error table (see error.h): status, code and message per error.
 */
#include "error.h"
#include "http.h"
#include "util.h"

static const struct http_error errors[E_ERROR_MAX] = {
	[E_NONE] = { 200, "NONE", "no error" },
	[E_BLOB_UNKNOWN] = { 404, "BLOB_UNKNOWN", "blob unknown to registry" },
	[E_BLOB_UPLOAD_INVALID] = { 400, "BLOB_UPLOAD_INVALID",
				    "blob upload invalid" },
	[E_BLOB_UPLOAD_UNKNOWN] = { 404, "BLOB_UPLOAD_UNKNOWN",
				    "blob upload unknown to registry" },
	[E_DIGEST_INVALID] = { 400, "DIGEST_INVALID",
			       "provided digest did not match uploaded content" },
	[E_MANIFEST_BLOB_UNKNOWN] = { 400, "MANIFEST_BLOB_UNKNOWN",
				      "manifest references a manifest or blob "
				      "unknown to registry" },
	[E_MANIFEST_INVALID] = { 400, "MANIFEST_INVALID", "manifest invalid" },
	[E_MANIFEST_UNKNOWN] = { 404, "MANIFEST_UNKNOWN",
				 "manifest unknown to registry" },
	[E_NAME_INVALID] = { 400, "NAME_INVALID", "invalid repository name" },
	[E_NAME_UNKNOWN] = { 404, "NAME_UNKNOWN",
			     "repository name not known to registry" },
	[E_SIZE_INVALID] = { 400, "SIZE_INVALID",
			     "provided length did not match content length" },
	[E_TAG_INVALID] = { 400, "TAG_INVALID", "invalid tag" },
	[E_UNAUTHORIZED] = { 401, "UNAUTHORIZED", "authentication required" },
	[E_DENIED] = { 403, "DENIED", "requested access to the resource is denied" },
	[E_UNSUPPORTED] = { 415, "UNSUPPORTED", "the operation is unsupported" },
	[E_TOOMANYREQUESTS] = { 429, "TOOMANYREQUESTS", "too many requests" },
	[E_RANGE_INVALID] = { 416, "BLOB_UPLOAD_INVALID",
			      "requested range not satisfiable" },
	/* Only the spec's codes reach clients, so these borrow UNSUPPORTED. */
	[E_PAGINATION_INVALID] = { 400, "UNSUPPORTED",
				   "invalid number of results requested" },
	[E_METHOD_UNKNOWN] = { 405, "UNSUPPORTED", "method not allowed" },
	[E_NOT_FOUND] = { 404, "UNSUPPORTED", "no such route" },
	[E_INTERNAL] = { 500, "UNKNOWN", "internal error" },
	[E_UNAVAILABLE] = { 503, "UNAVAILABLE", "service unavailable" },
	[E_MANIFEST_TOO_LARGE] = { 413, "MANIFEST_INVALID",
				   "manifest too large" },
	[E_UPLOAD_BUSY] = { 416, "BLOB_UPLOAD_INVALID",
			    "another request is writing to this upload" },
	[E_BLOB_TOO_LARGE] = { 413, "SIZE_INVALID",
			       "blob larger than this registry accepts" },
	/* The spec has no code for a full disk: UNKNOWN, as for other server
	 * faults, with a status and message that say what happened. */
	[E_STORAGE_FULL] = { 507, "UNKNOWN",
			     "insufficient storage: the registry's storage "
			     "is full" },
	/* The detail, with the numbers, is the message (see route.c). */
	[E_QUOTA_EXCEEDED] = { 403, "DENIED", "storage quota exceeded" },
	/* The message names the tag and the rule (immutable_respond). */
	[E_TAG_IMMUTABLE] = { 403, "DENIED", "tag is immutable" },
};

unsigned
error_status(enum reg_error e)
{
	if ((unsigned)e >= E_ERROR_MAX)
		BUG("error %d out of range", (int)e);
	return errors[e].status;
}

const char *
error_code(enum reg_error e)
{
	if ((unsigned)e >= E_ERROR_MAX)
		BUG("error %d out of range", (int)e);
	return errors[e].code;
}

const char *
error_message(enum reg_error e)
{
	if ((unsigned)e >= E_ERROR_MAX)
		BUG("error %d out of range", (int)e);
	return errors[e].message;
}
