/*
 * Request ids, client addresses and the request log lines (see
 * httplog.h). Every value a client chose goes through lib/log.c's fields,
 * which escape it: a path or a header cannot forge or split a line. The
 * log context (httplog_enter) points at the request itself, so a line
 * logged after the application set r->user names the user.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httplog.h"
#include "log.h"

bool
httplog_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= HTTPLOG_ID_MAX ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}

struct joined {
	const char *name;
	struct arena *arena;
	char *value;
};

static enum MHD_Result
join_cb(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *value)
{
	struct joined *j = cls;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, j->name) != 0)
		return MHD_YES;
	j->value = j->value ? arena_printf(j->arena, "%s, %s", j->value, value)
			    : arena_strdup(j->arena, value);
	return MHD_YES;
}

/* Every header called name, joined with ", " as RFC 9110 5.3 allows. */
static const char *
header_joined(struct http_req *r, const char *name)
{
	struct joined j = { name, &r->arena, NULL };

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, join_cb, &j);
	return j.value;
}

void
httplog_identify(struct http_req *r, const struct netaddr_set *trusted)
{
	const char *id = http_header(r, "X-Request-Id");
	const union MHD_ConnectionInfo *ci;
	struct netaddr peer, client;

	if (id != NULL && httplog_id_valid(id))
		util_strlcpy(r->id, id, sizeof(r->id));
	if (trusted == NULL || trusted->n == 0)
		return;
	ci = MHD_get_connection_info(r->conn,
				     MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || netaddr_from_sockaddr(ci->client_addr, &peer) < 0 ||
	    !netaddr_set_contains(trusted, &peer))
		return;
	if (netaddr_forwarded_client(trusted, header_joined(r, "Forwarded"),
				     header_joined(r, "X-Forwarded-For"),
				     &client) == 0)
		netaddr_format(&client, r->client, sizeof(r->client));
}

void
httplog_request(const struct http_req *r, const char *route, bool ok,
		uint64_t ns)
{
	char status[16], in[24], out[24], ms[32];
	const struct log_field f[] = {
		{ "request_id", "id", LOG_F_WORD, r->id },
		{ "client", NULL, LOG_F_WORD, r->client },
		{ "user", NULL, LOG_F_WORD, r->user },
		{ "method", NULL, LOG_F_WORD, r->method },
		{ "path", NULL, LOG_F_QUOTED, r->path },
		{ "route", NULL, LOG_F_WORD, route },
		{ "status", NULL, LOG_F_NUM, status },
		{ "bytes_in", "in", LOG_F_NUM, in },
		{ "bytes_out", "out", LOG_F_NUM, out },
		{ "duration_ms", "ms", LOG_F_NUM, ms },
		{ "aborted", NULL, LOG_F_TRUE, NULL },
	};

	if (log_level < LOG_LVL_INFO)
		return;
	snprintf(status, sizeof(status), "%u", r->status);
	snprintf(in, sizeof(in), "%llu", (unsigned long long)r->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)r->bytes_out);
	snprintf(ms, sizeof(ms), "%.3f", (double)ns / 1e6);
	log_fields(LOG_LVL_INFO, "request", f,
		   (int)ARRAY_SIZE(f) - (ok ? 1 : 0), NULL);
}

/* The fields that name r in every line logged while handling it. */
static int
req_fields(const void *arg, struct log_field *f, int max)
{
	const struct http_req *r = arg;
	const struct log_field mine[] = {
		{ "request_id", "id", LOG_F_WORD, r->id },
		{ "client", NULL, LOG_F_WORD, r->client },
		{ "user", NULL, LOG_F_WORD, r->user },
		{ "method", NULL, LOG_F_WORD, r->method },
		{ "path", NULL, LOG_F_QUOTED, r->path },
	};
	int n = (int)ARRAY_SIZE(mine) < max ? (int)ARRAY_SIZE(mine) : max;

	memcpy(f, mine, (size_t)n * sizeof(*f));
	return n;
}

void
httplog_enter(struct http_req *r)
{
	log_ctx_set(&(struct log_ctx){ .tag = "req",
				       .fields = req_fields,
				       .arg = r,
				       .warnings = &r->warnings });
}

void
httplog_leave(void)
{
	log_ctx_set(NULL);
}

void
httplog_vwarn(struct http_req *r, const char *fmt, va_list ap)
{
	const struct log_ctx *cur = log_ctx_get();
	struct log_ctx saved;

	if (cur != NULL && cur->arg == r) {
		log_vwarnx(fmt, ap);
		return;
	}
	/* Outside r's callbacks (or inside another request's): name r for
	 * this line only. */
	saved = cur != NULL ? *cur : (struct log_ctx){ 0 };
	httplog_enter(r);
	log_vwarnx(fmt, ap);
	log_ctx_set(saved.fields != NULL ? &saved : NULL);
}
