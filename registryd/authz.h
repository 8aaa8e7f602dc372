/*
 * Token authorization (authz.c): the seam every handler calls before it
 * touches data, and the key sets it verifies tokens with.
 */
#ifndef BERTH_AUTHZ_H
#define BERTH_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "http.h"
#include "util.h"

enum authz_action {
	AUTHZ_PULL = 1 << 0,
	AUTHZ_PUSH = 1 << 1,
	AUTHZ_DELETE = 1 << 2,
	AUTHZ_CATALOG = 1 << 3,
};

/*
 * E_NONE when the request's bearer token grants actions on repository
 * name (name NULL: the catalog for AUTHZ_CATALOG, or any valid token for
 * 0). Otherwise E_UNAUTHORIZED with the challenge naming the scope set in
 * the request, for reg_error_respond().
 */
enum reg_error authz_check(struct http_req *r, const char *name,
			   unsigned actions);
/* Adds a scope to the challenge of a refused request (mount's from). */
void authz_challenge_add(struct http_req *r, const char *name,
			 unsigned actions);
/* Loads keys (PEM files, comma-separated) and the JWKS; -1 (logged). */
int authz_init(const char *key_files) MUST_CHECK;
void authz_release(void);
/* Housekeeping: refetches the JWKS when it is a minute old, or a second
 * old while there is no key. */
void authz_tick(void);
/* Whether token auth is on but there is no key to verify with yet. */
bool authz_waiting(void);
/* Then writes why ("no keys to verify tokens with: ...\n") and is true. */
bool authz_unready(char *why, size_t len);

#endif
