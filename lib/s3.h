/*
 * A client of S3's REST API on libcurl, for the S3 storage driver
 * (storages3.c): the calls it makes, signed with Signature Version 4
 * (sigv4.h), retried with exponential backoff and full jitter after a
 * 5xx, SlowDown, RequestTimeout or a network error, under a per-process
 * request-rate cap. Keys are passed as they are and encoded here (every
 * byte but A-Z a-z 0-9 - _ . ~ and '/'). Thread-safe: curl handles come
 * from a pool, so connections are kept and reused. Secrets and signed
 * URLs are never logged.
 */
#ifndef BERTH_S3_H
#define BERTH_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "storage.h"
#include "util.h"

struct s3_client;

enum s3_kind {
	S3_OK,
	S3_NOT_FOUND,		/* 404: NoSuchKey, NoSuchUpload, NoSuchBucket */
	S3_DENIED,		/* 403: credentials, signature, policy */
	S3_BAD_REQUEST,		/* another 4xx */
	S3_UNAVAILABLE,		/* 5xx, SlowDown, the network: after retries */
};

/* How a call ended: the last HTTP status (0 without an answer), the S3
 * error code and a message fit to log. */
struct s3_result {
	long status;
	enum s3_kind kind;
	char code[64];
	char message[256];
};

/* The client for c's bucket (credentials from the environment when c
 * has none); NULL with why in err. No request is made. */
struct s3_client *s3_client_new(const struct storage_s3_config *c, char *err,
				size_t errlen) MUST_CHECK;
void s3_client_free(struct s3_client *c);

/* Lists at most one key: proves endpoint, credentials and bucket. */
int s3_probe(struct s3_client *c, struct s3_result *res) MUST_CHECK;

int s3_head_object(struct s3_client *c, const char *key, uint64_t *size,
		   struct s3_result *res) MUST_CHECK;
/* Up to len bytes of key from off into buf; *got the count. */
int s3_get_range(struct s3_client *c, const char *key, uint64_t off,
		 size_t len, void *buf, size_t *got,
		 struct s3_result *res) MUST_CHECK;
/* Stores buf as key; sha256 is the body's hex SHA-256, which the store
 * checks (signed as x-amz-content-sha256). */
int s3_put_object(struct s3_client *c, const char *key, const void *buf,
		  size_t len, const char *sha256, struct s3_result *res)
	MUST_CHECK;
/* Server-side copies: CopyObject (up to 5 GiB), or a multipart upload of
 * UploadPartCopy ranges of part bytes. */
int s3_copy_object(struct s3_client *c, const char *from, const char *to,
		   struct s3_result *res) MUST_CHECK;
int s3_copy_parts(struct s3_client *c, const char *from, const char *to,
		  uint64_t size, size_t part, struct s3_result *res) MUST_CHECK;

/* DeleteObjects of up to 1000 keys; gone[i] tells each one's fate. */
int s3_delete_objects(struct s3_client *c, const char *const *keys, size_t n,
		      bool *gone) MUST_CHECK;
/* Deletes every key under prefix. */
int s3_delete_prefix(struct s3_client *c, const char *prefix) MUST_CHECK;

/* Calls fn for each key under prefix (ListObjectsV2, every page). */
typedef void s3_key_fn(const char *key, uint64_t size, time_t mtime,
		       void *arg);
int s3_list_objects(struct s3_client *c, const char *prefix, s3_key_fn *fn,
		    void *arg) MUST_CHECK;

/* Multipart uploads. */
int s3_mpu_create(struct s3_client *c, const char *key, char **upload_id,
		  struct s3_result *res) MUST_CHECK;
int s3_mpu_part(struct s3_client *c, const char *key, const char *upload_id,
		int part, const void *buf, size_t len, char *etag,
		size_t etag_len, struct s3_result *res) MUST_CHECK;
int s3_mpu_complete(struct s3_client *c, const char *key,
		    const char *upload_id, const char *const *etags, int n,
		    struct s3_result *res) MUST_CHECK;
/* fn(key, 0, initiated, arg) for each multipart upload under prefix. */
int s3_mpu_list(struct s3_client *c, const char *prefix, s3_key_fn *fn,
		void *arg) MUST_CHECK;
/* Aborts every multipart upload under prefix. */
int s3_mpu_abort_all(struct s3_client *c, const char *prefix) MUST_CHECK;

/* A presigned GET URL of key, valid expires seconds; malloc'd. */
char *s3_presign_get(struct s3_client *c, const char *key, unsigned expires);

/* The delay before retry attempt n (0-based): full jitter under an
 * exponential ceiling, in milliseconds; for tests. */
unsigned s3_backoff_ms(unsigned attempt, unsigned random);

#endif
