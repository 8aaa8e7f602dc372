/*
 * Blob uploads (upload.c): the handlers the router calls and the
 * housekeeping of idle sessions.
 */
#ifndef BERTH_UPLOAD_H
#define BERTH_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "http.h"

/* Handlers: begin may answer; body and end as in http.h. */
int upload_begin(struct http_req *r);
int upload_body(struct http_req *r, const char *data, size_t len);
int upload_end(struct http_req *r);
int upload_status(struct http_req *r);
int upload_cancel(struct http_req *r);
/*
 * Ends upload sessions idle for more than ttl seconds and removes upload
 * files that no session owns (a crashed monolithic upload's), on any node.
 * A file some request holds locked (a PATCH still arriving) is left alone.
 */
void upload_purge(struct db *db, long long ttl);

#endif
