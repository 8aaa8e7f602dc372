/*
 * authd's own metric families, beside the HTTP and database ones of
 * lib/metrics.c: failed logins by reason, lockouts, tokens issued.
 */
#ifndef BERTH_AUTHMETRICS_H
#define BERTH_AUTHMETRICS_H

#include "metrics.h"

/* The reason label of a failed login, from credential.c's reason text. */
const char *authmetrics_reason(const char *why);

/* A failed login; why is credential.c's reason ("wrong password", ...). */
void authmetrics_login_failed(const char *why);
/* A pair ("pair:...") or address ("addr:...") key started its delays. */
void authmetrics_lockout(const char *key);
/* A password hash was shed (every slot busy). */
void authmetrics_hash_shed(void);
/* A registry token was issued to a principal of kind (enum principal_kind). */
void authmetrics_token_issued(int kind);

/* Registers the families; once, before serving. */
void authmetrics_register(void);

#endif
