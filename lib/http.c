/*
 * The libmicrohttpd wrapper (see http.h). Worker threads each run their
 * own event loop (MHD's thread pool); a connection stays on one thread for
 * its life, which is what lets each thread own a database connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "connlimit.h"
#include "http.h"
#include "httplog.h"
#include "log.h"
#include "metrics.h"
#include "tls.h"

struct http_server {
	struct MHD_Daemon *mhd;
	const struct http_handlers *h;
	void *ctx;
	const struct netaddr_set *trusted;
	const char *const *route_names;
	int n_routes;
	char *tls_cert, *tls_key;	/* the files, reread by http_tls_reload */
	int fd;
	struct connlimit *cl;	/* per-address limit, header deadline */
};

/* While starting, libmicrohttpd's messages explain a failure (a bad TLS
 * key, say); once serving, they are mostly clients going away. */
static bool mhd_starting;

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (mhd_starting)
		log_warnx("libmicrohttpd: %s", msg);
	else
		log_debug("libmicrohttpd: %s", msg);
}

size_t
http_unescape(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		int hi, lo;

		if (*p == '%' && (hi = util_hexval(p[1])) >= 0 &&
		    (lo = util_hexval(p[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static size_t
unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return http_unescape(s);
}

static void
client_addr(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	util_strlcpy(out, "-", len);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)len);
}

/*
 * Called with the raw request line's URI before anything is decoded: the
 * request starts here, so the router can see how the path was encoded.
 */
static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_server *s = cls;
	struct http_req *r = xcalloc(1, sizeof(*r));
	unsigned char rnd[8];

	r->conn = c;
	r->route = -1;
	r->start_ns = util_now_ns();
	r->ctx = s->ctx;
	r->method = "-";
	r->path = "-";
	arena_init(&r->arena);
	r->raw_path = arena_strndup(&r->arena, uri, strcspn(uri, "?"));
	util_random(rnd, sizeof(rnd));
	util_hex(r->id, rnd, sizeof(rnd));
	client_addr(c, r->client, sizeof(r->client));
	return r;
}

/* The connection's admission handle (notify_cb), or NULL. */
static struct connlimit_conn *
conn_limit_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

struct framing {
	unsigned content_length, transfer_encoding, host;
	bool te_chunked;	/* the one Transfer-Encoding is "chunked" */
	bool bad_name;		/* a header name with a space or control */
};

static enum MHD_Result
framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
	   const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (key == NULL)
		return MHD_YES;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			f->bad_name = true;
	if (strcasecmp(key, "Content-Length") == 0) {
		f->content_length++;
	} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->transfer_encoding++;
		f->te_chunked = value != NULL &&
				strcasecmp(value, "chunked") == 0;
	} else if (strcasecmp(key, "Host") == 0) {
		f->host++;
	}
	return MHD_YES;
}

/*
 * Requests whose body framing two parties could read in two ways, the
 * ground of request smuggling behind a proxy (RFC 9112 6.1, 6.3): two
 * Content-Length headers (libmicrohttpd 0.9.75 takes one of them), a
 * Transfer-Encoding beside a Content-Length (it takes the chunking), a
 * Transfer-Encoding other than a single "chunked" (it waits for a body it
 * cannot delimit). Also no single Host in HTTP/1.1, and a header name
 * with a space ("Name : value"), which it accepts. Returns what is wrong,
 * or NULL.
 */
static const char *
framing_check(struct MHD_Connection *c, const char *version)
{
	struct framing f = { 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, framing_cb, &f);
	if (f.content_length > 1)
		return "more than one Content-Length header";
	if (f.transfer_encoding > 0 && f.content_length > 0)
		return "Transfer-Encoding and Content-Length together";
	if (f.transfer_encoding > 1 || (f.transfer_encoding && !f.te_chunked))
		return "Transfer-Encoding other than chunked";
	if (f.bad_name)
		return "a header name with a space or a control character";
	if (f.host > 1 ||
	    (f.host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0))
		return "HTTP/1.1 needs exactly one Host header";
	return NULL;
}

/*
 * Answers 400 in the error shape both daemons use ({"errors":[...]}, with
 * the distribution spec's catch-all code) and closes the connection after
 * it: the rest of the bytes cannot be trusted to be a body or a request.
 */
static int
bad_request(struct http_req *r, const char *why)
{
	struct MHD_Response *resp;

	rlog_warnx(r, "bad request: %s", why);
	resp = http_error_resp("UNSUPPORTED", "bad request", why);
	http_resp_header(resp, "Connection", "close");
	return http_respond(r, 400, resp);
}

static enum MHD_Result
access_step(struct http_server *s, struct http_req *r,
	    struct MHD_Connection *c, const char *url, const char *method,
	    const char *version, const char *data, size_t *data_size)
{
	size_t n;

	if (!r->started) {
		const char *bad;

		r->started = true;
		r->path = url;
		r->method = method;
		r->is_head = strcmp(method, "HEAD") == 0;
		connlimit_headers_done(conn_limit_of(c));
		httplog_identify(r, s->trusted);
		if ((bad = framing_check(c, version)) != NULL)
			return bad_request(r, bad) < 0 ? MHD_NO : MHD_YES;
		return s->h->begin(r) < 0 ? MHD_NO : MHD_YES;
	}
	if (*data_size > 0) {
		n = *data_size;
		*data_size = 0;
		r->bytes_in += n;
		connlimit_body_progress(conn_limit_of(c));
		if (r->responded)
			return MHD_YES;	/* answered already: discard */
		return s->h->body(r, data, n) < 0 ? MHD_NO : MHD_YES;
	}
	connlimit_body_done(conn_limit_of(c));
	if (r->responded)
		return MHD_YES;
	if (s->h->end(r) < 0)
		return MHD_NO;
	if (!r->responded)
		BUG("%s %s: no response", r->method, r->path);
	return MHD_YES;
}

/* The application runs with r as the thread's log context, and only then:
 * the thread goes on to other connections' requests after. */
static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
	  const char *method, const char *version, const char *data,
	  size_t *data_size, void **con_cls)
{
	struct http_req *r = *con_cls;
	enum MHD_Result ret;

	if (r == NULL)
		BUG("request without uri_cb");
	httplog_enter(r);
	ret = access_step(cls, r, c, url, method, version, data, data_size);
	httplog_leave();
	return ret;
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	uint64_t ns;

	if (r == NULL)
		return;
	*con_cls = NULL;
	connlimit_request_done(conn_limit_of(c));
	httplog_enter(r);
	if (r->started)
		s->h->done(r, ok);
	httplog_leave();
	ns = util_now_ns() - r->start_ns;
	if (!ok && r->status == 0)
		r->status = 499;	/* client closed, as nginx logs it */
	httplog_request(r,
			r->route >= 0 && r->route < s->n_routes
				? s->route_names[r->route]
				: NULL,
			ok, ns);
	metrics_observe(r->route, r->method, r->status, ns, r->bytes_in,
			ok ? r->bytes_out : 0);
	arena_release(&r->arena);
	free(r);
}

const char *
http_header(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

struct query_each {
	const char *name;
	void (*fn)(const char *value, void *arg);
	void *arg;
};

static enum MHD_Result
query_each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
	      const char *value)
{
	struct query_each *q = cls;

	(void)kind;
	if (key != NULL && value != NULL && strcmp(key, q->name) == 0)
		q->fn(value, q->arg);
	return MHD_YES;
}

void
http_query_each(struct http_req *r, const char *name,
		void (*fn)(const char *value, void *arg), void *arg)
{
	struct query_each q = { name, fn, arg };

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
				  query_each_cb, &q);
}

struct MHD_Response *
http_resp_copy(const void *data, size_t len)
{
	return MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
					       MHD_RESPMEM_MUST_COPY);
}

struct MHD_Response *
http_resp_take(void *data, size_t len)
{
	return MHD_create_response_from_buffer(len, data,
					       MHD_RESPMEM_MUST_FREE);
}

struct MHD_Response *
http_resp_fd(int fd, uint64_t off, uint64_t len)
{
	return MHD_create_response_from_fd_at_offset64(len, fd, off);
}

struct MHD_Response *
http_resp_reader(uint64_t len,
		 ssize_t (*read)(void *cls, uint64_t pos, char *buf, size_t max),
		 void *cls, void (*done)(void *cls))
{
	/* libmicrohttpd reads into its own buffer of this size. */
	return MHD_create_response_from_callback(len, 256 * 1024, read, cls,
						 done);
}

static ssize_t
no_content(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

struct MHD_Response *
http_resp_head(uint64_t len)
{
	return MHD_create_response_from_callback(len, 4096, no_content, NULL,
						 NULL);
}

void
http_resp_header(struct MHD_Response *resp, const char *name,
		 const char *value)
{
	if (MHD_add_response_header(resp, name, value) != MHD_YES)
		BUG("could not add header %s", name);
}

struct MHD_Response *
http_error_resp(const char *code, const char *message, const char *detail)
{
	json_t *doc = json_pack("{s:s, s:s}", "code", code, "message",
				message);
	struct MHD_Response *resp;
	char *text;

	if (detail != NULL)
		json_object_set_new(doc, "detail", json_string(detail));
	doc = json_pack("{s:[o]}", "errors", doc);
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		fatalx("could not encode an error body");
	json_decref(doc);
	resp = http_resp_take(text, strlen(text));
	http_resp_header(resp, "Content-Type", "application/json");
	return resp;
}

int
http_respond(struct http_req *r, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ok;

	if (r->responded)
		BUG("%s %s: answered twice", r->method, r->path);
	http_resp_header(resp, "X-Request-Id", r->id);
	r->status = status;
	r->responded = true;
	ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ok == MHD_YES ? 0 : -1;
}

void
rlog_warnx(struct http_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	httplog_vwarn(r, fmt, ap);
	va_end(ap);
}

/* Resolves "host:port" or "[v6]:port" for bind(); -1 (logged). */
static int
listen_resolve(const char *listen_addr, struct addrinfo **ai)
{
	char host[256], *colon;
	const char *port;
	struct addrinfo hints = { 0 };
	int err;

	util_strlcpy(host, listen_addr, sizeof(host));
	if ((colon = strrchr(host, ':')) == NULL) {
		log_warnx("listen address \"%s\" has no port", listen_addr);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((err = getaddrinfo(host[0] ? host : NULL, port, &hints, ai))) {
		log_warnx("could not resolve listen address \"%s\": %s",
			  listen_addr, gai_strerror(err));
		return -1;
	}
	return 0;
}

int
http_listen_check(const char *listen_addr)
{
	struct addrinfo *ai = NULL;

	if (listen_resolve(listen_addr, &ai) < 0)
		return -1;
	freeaddrinfo(ai);
	return 0;
}

int
http_check_serving(const char *listen_addr, const char *tls_cert,
		   const char *tls_key)
{
	int ret = 0;

	if (http_listen_check(listen_addr) < 0)
		ret = conf_error("listen: cannot serve on \"%s\"",
				 listen_addr);
	if ((tls_cert != NULL) != (tls_key != NULL)) {
		ret = conf_error("tls_cert and tls_key go together: set both "
				 "or neither");
	} else if (tls_cert != NULL) {
		struct tls_creds *c = tls_creds_load(tls_cert, tls_key);

		if (c == NULL)
			ret = conf_error("tls_cert \"%s\" with tls_key \"%s\" "
					 "cannot serve https",
					 tls_cert, tls_key);
		tls_creds_free(c);
	}
	return ret;
}

static int
listen_socket(const char *listen_addr)
{
	struct addrinfo *ai = NULL;
	/* Seconds the kernel holds a silent connection before accept. */
	int fd = -1, one = 1, defer = 5;

	if (listen_resolve(listen_addr, &ai) < 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		log_warn("could not listen on \"%s\"", listen_addr);
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
			      sizeof(defer)) < 0) {
		/* Only the first-byte checks lose their bytes: go on. */
		log_warn("TCP_DEFER_ACCEPT on \"%s\"", listen_addr);
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * A TLS ClientHello on a plain-HTTP port gets an HTTP answer, so that the
 * client learns that the port speaks HTTP: Go's clients then report
 * "server gave HTTP response to HTTPS client", on which `docker manifest
 * --insecure` (and others) fall back to http://. libmicrohttpd 0.9.75
 * answers 400 to a first line with a space but closes without a word when
 * the bytes before the first newline hold none, which happens to about one
 * ClientHello in ten; the client then sees EOF and gives up.
 *
 * The handshake rarely arrives with the accept, so the listening socket
 * has TCP_DEFER_ACCEPT (listen_socket): the kernel hands over a connection
 * once its first bytes are in, and the peek here never waits. A client
 * that stays silent past the deferral is accepted without bytes and goes
 * on as an ordinary connection, so no worker ever waits for a client here.
 */
static void
plain_sniff(struct MHD_Connection *c)
{
	static const char answer[] =
		"HTTP/1.1 400 Bad Request\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: 39\r\n"
		"Connection: close\r\n\r\n"
		"this port speaks HTTP, not HTTPS (TLS)\n";
	const union MHD_ConnectionInfo *ci;
	unsigned char first;
	int fd;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	fd = ci->connect_fd;
	/* 0x16: a TLS handshake record, which no HTTP method starts with. */
	if (recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) != 1 || first != 0x16)
		return;
	if (send(fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) <
	    0)
		log_debug("could not answer a TLS handshake on a plain port");
	shutdown(fd, SHUT_RDWR);	/* libmicrohttpd then closes it */
}

/* The accept policy: an address at its limit is refused before a
 * connection is made (conn_admit holds it exactly). */
static enum MHD_Result
accept_cb(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *s = cls;

	(void)addrlen;
	return connlimit_admit(s->cl, addr) ? MHD_YES : MHD_NO;
}

/* Counts a new connection for its address and arms its header deadline;
 * over the limit, shuts it down (libmicrohttpd then closes it): -1. */
static int
conn_admit(struct http_server *s, struct MHD_Connection *c, void **socket_ctx)
{
	const union MHD_ConnectionInfo *fd, *addr;

	fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (fd == NULL)
		return 0;
	*socket_ctx = connlimit_open(s->cl, fd->connect_fd,
				     addr ? addr->client_addr : NULL);
	if (*socket_ctx != NULL)
		return 0;
	log_debug("refused a connection: its address holds "
		  "max_connections_per_address already");
	shutdown(fd->connect_fd, SHUT_RDWR);
	return -1;
}

/* A new connection: admission (conn_admit), then a TLS port watches its
 * first bytes (tls.h), a plain one answers a TLS handshake (plain_sniff). */
static void
notify_cb(void *cls, struct MHD_Connection *c, void **socket_ctx,
	  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		connlimit_close(s->cl, *socket_ctx);
		*socket_ctx = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED || conn_admit(s, c,
								socket_ctx) < 0)
		return;
	if (s->tls_cert == NULL) {
		plain_sniff(c);
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci != NULL && ci->tls_session != NULL)
		tls_sniff_start(ci->tls_session);
}

/*
 * The connections the server holds at once: max_connections, or by
 * default as many as the open file limit (raised to its hard limit) leaves
 * room for with a file open for each and a reserve for the process.
 */
static unsigned
conn_limit(const struct http_config *cfg)
{
	unsigned long nofile = connlimit_raise_nofile();
	unsigned long reserve = 64 + 4 * (unsigned long)cfg->threads;
	unsigned long room = nofile > 2 * reserve ? (nofile - reserve) / 2
						  : nofile / 4;

	if (cfg->max_connections == 0)
		return room > 65536 ? 65536 : (unsigned)room;
	if (cfg->max_connections > room)
		log_warnx("max_connections %u is more than the open file "
			  "limit %lu leaves room for (%lu)",
			  cfg->max_connections, nofile, room);
	return cfg->max_connections;
}

struct http_server *
http_start(const struct http_config *cfg, const struct http_handlers *h,
	   void *ctx)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_USE_ITC;

	s->h = h;
	s->ctx = ctx;
	s->trusted = cfg->trusted_proxies;
	s->route_names = cfg->route_names;
	s->n_routes = cfg->route_names ? cfg->n_routes : 0;
	if ((s->fd = listen_socket(cfg->listen)) < 0)
		goto fail;
	if ((s->cl = connlimit_new(&(struct connlimit_config){
		     .per_address = cfg->max_per_address,
		     .header_timeout = cfg->header_timeout,
		     .keepalive = cfg->idle_timeout,
		     .exempt = cfg->trusted_proxies })) == NULL)
		goto fail;
	if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
		log_warnx("tls_cert and tls_key go together");
		goto fail;
	}
	if (cfg->tls_cert != NULL) {
		struct tls_creds *creds;

		if ((creds = tls_creds_load(cfg->tls_cert, cfg->tls_key)) ==
		    NULL)
			goto fail;
		tls_publish(creds);
		log_info("tls: serving certificate %s",
			 tls_creds_describe(creds));
		s->tls_cert = xstrdup(cfg->tls_cert);
		s->tls_key = xstrdup(cfg->tls_key);
		flags |= MHD_USE_TLS;
	}
	mhd_starting = true;
	/* The logger goes first, or MHD logs the options before it itself;
	 * with TLS, certificates come from tls_cert_retrieve (reloadable). */
	s->mhd = MHD_start_daemon(
		flags, 0, accept_cb, s, access_cb, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
		MHD_OPTION_NOTIFY_CONNECTION, notify_cb, s,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout,
		MHD_OPTION_CONNECTION_LIMIT, conn_limit(cfg),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->conn_memory,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s,
		s->tls_cert ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END,
		tls_cert_retrieve, MHD_OPTION_END);
	mhd_starting = false;
	if (s->mhd == NULL) {
		log_warnx("could not start the HTTP server on \"%s\"",
			  cfg->listen);
		goto fail;
	}
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	connlimit_free(s->cl);
	tls_release();
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
	return NULL;
}

int
http_tls_reload(struct http_server *s)
{
	const struct tls_creds *old = tls_current();
	struct tls_creds *c;

	if (s->tls_cert == NULL)
		return 0;
	if ((c = tls_creds_load(s->tls_cert, s->tls_key)) == NULL) {
		log_warnx("SIGHUP: TLS certificate not reloaded; still serving "
			  "%s", tls_creds_describe(old));
		return -1;
	}
	if (strcmp(tls_creds_describe(c), tls_creds_describe(old)) == 0) {
		/* Same subject, serial and expiry: the same certificate. */
		tls_creds_free(c);
		log_info("SIGHUP: TLS certificate unchanged (%s)",
			 tls_creds_describe(old));
		return 0;
	}
	tls_publish(c);
	log_info("SIGHUP: TLS certificate reloaded; new connections get %s",
		 tls_creds_describe(c));
	return 0;
}

void
http_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	/* Quiescing hands the listening socket back to us to close. */
	if (MHD_quiesce_daemon(s->mhd) >= 0)
		close(s->fd);
	MHD_stop_daemon(s->mhd);
	connlimit_free(s->cl);
	tls_release();
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
}
