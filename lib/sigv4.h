/*
 * AWS Signature Version 4, computed with OpenSSL: the Authorization
 * header of a request, and the query of a presigned URL. Pure functions
 * of their inputs (the time included), so AWS's published test vectors
 * and other signers (botocore, AWS::Signature4) check them byte for byte.
 *
 * The signer canonicalizes what it is given: header names lower-cased and
 * sorted, values trimmed with inner runs of spaces folded, same-named
 * headers joined with commas; the query split, each name and value
 * percent-encoded the way AWS wants (unreserved characters kept,
 * everything else %XX upper-case, "?uploads" signed as "uploads="), then
 * sorted. The path is signed as given: S3 does not normalize nor encode
 * it twice, so the caller passes it exactly as it goes on the wire.
 */
#ifndef BERTH_SIGV4_H
#define BERTH_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "util.h"

/* Who signs, and for which region and service ("s3"). */
struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *session_token;	/* or NULL; sent as x-amz-security-token */
	const char *region;		/* "us-east-1" */
	const char *service;		/* "s3" */
};

struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * A request to sign. The signer always signs "host" (from host) and
 * "x-amz-date" (from when), plus x-amz-security-token when the creds have
 * a session token; headers lists the others to sign (an S3 client passes
 * x-amz-content-sha256, range, content-type...), in any order and case.
 */
struct sigv4_req {
	const char *method;		/* "GET" */
	const char *host;		/* the Host header as sent: host[:port] */
	const char *path;		/* as on the wire: "/bucket/key" */
	const char *query;		/* without '?', or NULL */
	const struct sigv4_header *headers;
	size_t n_headers;
	/* Lower-case hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". */
	const char *payload_hash;
	time_t when;
};

/* What signing made; strings are malloc'd (sigv4_result_release). */
struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char signature[65];		/* lower-case hex */
	char amz_date[17];		/* "20150830T123600Z": x-amz-date */
	char *signed_headers;		/* "host;x-amz-date" */
	char *authorization;		/* the Authorization header's value */
};

/*
 * Signs r with c into *out. -1 when an input is missing or malformed
 * (no method, host or payload hash; a header name or value with a CR or
 * LF); *out is then empty.
 */
int sigv4_sign(const struct sigv4_creds *c, const struct sigv4_req *r,
	       struct sigv4_result *out) MUST_CHECK;

/*
 * The query of a presigned URL for r, valid expires seconds (1 to
 * 604800) from r->when: r->query (if any) with the X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders (and
 * X-Amz-Security-Token) parameters and X-Amz-Signature last. Only host
 * is signed (r->headers are not: whoever follows the URL sends none);
 * the payload hash should be "UNSIGNED-PAYLOAD". malloc'd, or NULL as
 * sigv4_sign.
 */
char *sigv4_presign(const struct sigv4_creds *c, const struct sigv4_req *r,
		    unsigned expires) MUST_CHECK;

/* Frees out's strings and leaves it empty. */
void sigv4_result_release(struct sigv4_result *out);

#endif
