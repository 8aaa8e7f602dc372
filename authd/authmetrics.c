/*
 * authd's metric families (see authmetrics.h). credential.c names a failed
 * login's cause in words for its log line; the table below folds those
 * into a few stable label values, so a new cause shows as "other" until
 * it is listed here.
 */
#include "authd.h"
#include "authmetrics.h"

static const char *const reasons[] = { "bad_credentials", "bad_token",
				       "locked",	  "disabled",
				       "directory_error", "throttled",
				       "other" };

static const struct {
	const char *why;	/* credential.c's reason category (audit) */
	int reason;		/* index into reasons */
} causes[] = {
	{ "bad_password", 0 },
	{ "unknown_user", 0 },
	{ "malformed", 0 },
	{ "directory_refused", 0 },
	{ "bad_token", 1 },
	{ "locked", 2 },
	{ "disabled", 3 },
	{ "directory_unavailable", 4 },
	{ "not_provisioned", 4 },
	{ "throttled", 5 },
};

static struct metric login_failures = {
	.name = "login_failures_total",
	.help = "failed logins by reason (bad_credentials: unknown user, "
		"wrong or empty password, refused by the directory; locked: "
		"by an administrator; throttled: refused unchecked during a "
		"delay)",
	.kind = METRIC_COUNTER,
	.label = "reason",
	.values = reasons,
	.nvalues = (int)ARRAY_SIZE(reasons),
};

static const char *const lock_kinds[] = { "pair", "address" };

static struct metric lockouts = {
	.name = "lockouts_total",
	.help = "login delays started: an (account, address) pair or a "
		"client address reached its failure threshold",
	.kind = METRIC_COUNTER,
	.label = "kind",
	.values = lock_kinds,
	.nvalues = 2,
};

static const char *const principals[] = { "anonymous", "user", "service" };

static struct metric tokens_issued = {
	.name = "tokens_issued_total",
	.help = "registry tokens issued, by the kind of principal",
	.kind = METRIC_COUNTER,
	.label = "principal",
	.values = principals,
	.nvalues = 3,
};

const char *
authmetrics_reason(const char *why)
{
	for (size_t i = 0; why != NULL && i < ARRAY_SIZE(causes); i++)
		if (strcmp(why, causes[i].why) == 0)
			return reasons[causes[i].reason];
	return "other";
}

void
authmetrics_login_failed(const char *why)
{
	const char *reason = authmetrics_reason(why);

	for (int i = 0; i < login_failures.nvalues; i++)
		if (reasons[i] == reason)
			metric_add(&login_failures, i, 1);
}

void
authmetrics_lockout(const char *key)
{
	metric_add(&lockouts, strncmp(key, "addr:", 5) == 0, 1);
}

static struct metric hash_shed = {
	.name = "password_hash_shed_total",
	.help = "password checks refused (503) because every hash slot "
		"stayed busy",
	.kind = METRIC_COUNTER,
};

void
authmetrics_hash_shed(void)
{
	metric_add(&hash_shed, 0, 1);
}

void
authmetrics_token_issued(int kind)
{
	if (kind == P_ANONYMOUS || kind == P_USER || kind == P_SERVICE)
		metric_add(&tokens_issued,
			   kind == P_ANONYMOUS ? 0 : kind == P_USER ? 1 : 2, 1);
}

void
authmetrics_register(void)
{
	/* Registration prepends: the last one registered renders first. */
	metrics_register(&hash_shed);
	metrics_register(&tokens_issued);
	metrics_register(&lockouts);
	metrics_register(&login_failures);
}
