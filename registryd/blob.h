/*
 * Blob reads and deletes (blob.c), for the router.
 */
#ifndef BERTH_BLOB_H
#define BERTH_BLOB_H

#include "http.h"

/* GET/HEAD of a blob, with Range. */
int blob_get(struct http_req *r);
/* DELETE: unlinks the blob from the repository, queued for the collector. */
int blob_delete(struct http_req *r);

#endif
