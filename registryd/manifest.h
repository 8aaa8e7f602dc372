/*
 * Manifests and referrers (manifest.c), for the router.
 */
#ifndef BERTH_MANIFEST_H
#define BERTH_MANIFEST_H

#include "http.h"

int manifest_get(struct http_req *r);
/* PUT: begin checks the reference and access, end stores the body. */
int manifest_put_begin(struct http_req *r);
int manifest_put_end(struct http_req *r);
int manifest_delete(struct http_req *r);
int referrers_get(struct http_req *r);

#endif
