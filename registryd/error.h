/*
 * The registry's error codes and their HTTP form, from the distribution
 * spec's error table. One table maps each code to status, code string and
 * message; handlers only name the code and an optional detail.
 */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

enum reg_error {
	E_NONE = 0,
	E_BLOB_UNKNOWN,
	E_BLOB_UPLOAD_INVALID,
	E_BLOB_UPLOAD_UNKNOWN,
	E_DIGEST_INVALID,
	E_MANIFEST_BLOB_UNKNOWN,
	E_MANIFEST_INVALID,
	E_MANIFEST_UNKNOWN,
	E_NAME_INVALID,
	E_NAME_UNKNOWN,
	E_SIZE_INVALID,
	E_TAG_INVALID,
	E_UNAUTHORIZED,
	E_DENIED,
	E_UNSUPPORTED,
	E_TOOMANYREQUESTS,
	E_RANGE_INVALID,	/* 416 with the upload's current Range */
	E_PAGINATION_INVALID,
	E_METHOD_UNKNOWN,	/* 405 */
	E_NOT_FOUND,		/* 404 for a route that does not exist */
	E_INTERNAL,		/* 500: logged with detail, generic to the client */
	E_UNAVAILABLE,		/* 503: database or storage unreachable */
	E_MANIFEST_TOO_LARGE,	/* 413 */
	E_UPLOAD_BUSY,		/* 416: another request holds the upload */
	E_BLOB_TOO_LARGE,	/* 413 SIZE_INVALID: past max_blob_size */
	E_STORAGE_FULL,		/* 507: storage has no room (ENOSPC) */
	E_QUOTA_EXCEEDED,	/* 403 DENIED: past the namespace's quota */
	E_TAG_IMMUTABLE,	/* 403 DENIED: see registryd/immutable.h */
	E_ERROR_MAX
};

/* HTTP status for the code. */
unsigned error_status(enum reg_error e);
/* Spec code string, e.g. "BLOB_UNKNOWN". */
const char *error_code(enum reg_error e);
/* Default human message, e.g. "blob unknown to registry". */
const char *error_message(enum reg_error e);

#endif
