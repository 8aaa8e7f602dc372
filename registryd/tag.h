/*
 * Tag listing and the catalog (tag.c), for the router.
 */
#ifndef BERTH_TAG_H
#define BERTH_TAG_H

#include "http.h"

int tags_list(struct http_req *r);
int catalog_list(struct http_req *r);

#endif
