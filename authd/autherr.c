/*
 * The errors of authd's own routes (enum authd_err in authd.h): each
 * status paired with its code and default message once, here, and
 * answered through authd_fail (endpoint.c). Data only, so the unit tests
 * check it without linking the daemon.
 */
#include "authd.h"

const struct http_error authd_errors[AERR_COUNT] = {
	[AERR_BODY_TOO_LARGE] = { 413, "SIZE_INVALID", "body too large" },
	[AERR_NO_ENDPOINT] = { 404, "NOT_FOUND", "no such endpoint" },
	[AERR_METHOD] = { 405, "UNSUPPORTED", "method not allowed" },
	[AERR_DATABASE] = { 503, "UNAVAILABLE", "database" },
	[AERR_UNAUTHORIZED] = { 401, "UNAUTHORIZED",
				"authentication required" },
	[AERR_THROTTLED] = { 429, "TOOMANYREQUESTS",
			     "too many failed logins; try again later" },
	[AERR_BUSY] = { 503, "UNAVAILABLE",
			"too many logins at once; try again" },
	[AERR_SIGN] = { 500, "UNKNOWN", "could not sign a token" },
	[AERR_SERVICE] = { 400, "UNSUPPORTED", "unknown service" },
	[AERR_GRANT_TYPE] = { 400, "UNSUPPORTED",
			      "grant_type must be password or refresh_token" },
	[AERR_POST_ONLY] = { 405, "UNSUPPORTED", "use POST" },
	[AERR_ADMIN_ONLY] = { 403, "DENIED", "system administrators only" },
	[AERR_NO_DIRECTORY] = { 400, "UNSUPPORTED",
				"no directory is configured" },
	[AERR_SYNC_UNREACHABLE] = { 503, "UNAVAILABLE",
				    "nobody was disabled" },
	[AERR_SYNC_REFUSED] = { 409, "SYNC_REFUSED", "nobody was disabled" },
};
