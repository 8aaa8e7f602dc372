/*
 * reqrate: `loadgen rps`, a closed-loop HTTP/1.1 load driver in the manner
 * of wrk: C keep-alive connections spread over T threads, each thread one
 * epoll loop, each connection sending its next request as soon as the
 * last answer is complete.  It exists because Debian's wrk 4.1.0 waits
 * for a body after a HEAD response and so cannot measure HEAD at all; the
 * same driver then measures every request-rate figure, so HEAD and GET
 * are comparable.  Responses are framed by Content-Length or chunked
 * encoding; a HEAD response, a 204 and a 304 have no body.  Each
 * request's latency is kept, so percentiles are exact.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define RESP_BUF (64 * 1024)
#define REQ_MAX 16384

enum conn_state {
	C_SEND,
	C_HEAD,
	C_BODY,
	C_CHUNK_SIZE,
	C_CHUNK_DATA,
	C_CHUNK_CRLF,
	C_TRAILER
};

struct conn {
	int fd;
	enum conn_state state;
	size_t sent;
	char buf[RESP_BUF];
	size_t len;	/* bytes in buf */
	long long need; /* body or chunk bytes still to skip */
	int status;
	bool close; /* the server said Connection: close */
	double t0;  /* when the request's first byte was sent */
};

struct worker {
	const struct rps_opts *o;
	pthread_t thread;
	int n_conns;
	struct conn *conns;
	double *lat;
	size_t n_lat, cap_lat;
	long long errors, bad_status, reconnects;
	int first_bad;
	char why[256];
};

static const char *request_text;
static size_t request_len;
static bool request_is_head;
static struct sockaddr_storage peer;
static socklen_t peer_len;
static double deadline;

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Splits http://host:port/path; fills peer and returns the path. */
static const char *
resolve(const char *url, char *host, size_t hlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	const char *p, *slash, *colon;
	char port[16] = "80";
	size_t n;

	if (strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "loadgen: rps needs an http:// URL\n");
		return NULL;
	}
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	n = (size_t)(slash - p);
	if (n == 0 || n >= hlen) {
		fprintf(stderr, "loadgen: bad host in \"%s\"\n", url);
		return NULL;
	}
	memcpy(host, p, n);
	host[n] = '\0';
	if ((colon = strrchr(host, ':')) != NULL) {
		snprintf(port, sizeof(port), "%s", colon + 1);
		host[colon - host] = '\0';
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		fprintf(stderr, "loadgen: cannot resolve \"%s\"\n", host);
		return NULL;
	}
	memcpy(&peer, ai->ai_addr, ai->ai_addrlen);
	peer_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (colon != NULL) /* the Host header keeps the port */
		host[colon - host] = ':';
	return *slash ? slash : "/";
}

static int
build_request(const struct rps_opts *o)
{
	static char text[REQ_MAX];
	char host[256];
	const char *path = resolve(o->url, host, sizeof(host));
	size_t blen = o->body ? strlen(o->body) : 0;
	int n;

	if (path == NULL)
		return -1;
	n = snprintf(text, sizeof(text),
		     "%s %s HTTP/1.1\r\nHost: %s\r\n"
		     "User-Agent: berth-bench\r\n",
		     o->method, path, host);
	for (int i = 0; i < o->n_headers && n > 0 && n < REQ_MAX; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\r\n",
			      o->headers[i]);
	if (n > 0 && n < REQ_MAX && o->body != NULL)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "Content-Length: %zu\r\n", blen);
	if (n > 0 && n < REQ_MAX)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "\r\n%s",
			      o->body ? o->body : "");
	if (n <= 0 || n >= REQ_MAX) {
		fprintf(stderr, "loadgen: request too long\n");
		return -1;
	}
	request_text = text;
	request_len = (size_t)n;
	request_is_head = !strcmp(o->method, "HEAD");
	return 0;
}

static void
conn_fail(struct worker *w, const char *what)
{
	w->errors++;
	if (w->why[0] == '\0')
		snprintf(w->why, sizeof(w->why), "%s", what);
}

static int
conn_open(struct worker *w, int ep, struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET};
	int one = 1;

	c->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		conn_fail(w, strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&peer, peer_len) < 0 &&
	    errno != EINPROGRESS) {
		conn_fail(w, strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->state = C_SEND;
	c->sent = 0;
	c->len = 0;
	c->t0 = mono_now();
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_fail(w, strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
conn_reopen(struct worker *w, int ep, struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	w->reconnects++;
	if (mono_now() < deadline)
		conn_open(w, ep, c);
}

static void
record(struct worker *w, struct conn *c)
{
	if (w->n_lat == w->cap_lat) {
		w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 65536;
		w->lat = realloc(w->lat, w->cap_lat * sizeof(*w->lat));
		if (w->lat == NULL) {
			fprintf(stderr, "loadgen: out of memory\n");
			exit(1);
		}
	}
	w->lat[w->n_lat++] = mono_now() - c->t0;
	if (c->status >= 400) {
		w->bad_status++;
		if (w->first_bad == 0)
			w->first_bad = c->status;
	}
}

/* Parses the header block in c->buf[0..end); sets status and framing. */
static int
parse_head(struct conn *c, size_t end)
{
	char *line = c->buf, *eol, *stop = c->buf + end;
	bool chunked = false;
	long long clen = -1;

	if (end < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0)
		return -1;
	c->status = atoi(c->buf + 9);
	c->close = false;
	while ((eol = memmem(line, (size_t)(stop - line), "\r\n", 2)) != NULL &&
	       eol != line) {
		*eol = '\0';
		if (!strncasecmp(line, "content-length:", 15))
			clen = atoll(line + 15);
		else if (!strncasecmp(line, "transfer-encoding:", 18) &&
			 strstr(line + 18, "chunked") != NULL)
			chunked = true;
		else if (!strncasecmp(line, "connection:", 11) &&
			 strcasestr(line + 11, "close") != NULL)
			c->close = true;
		line = eol + 2;
	}
	if (request_is_head || c->status == 204 || c->status == 304 ||
	    (c->status >= 100 && c->status < 200)) {
		c->need = 0;
		c->state = C_BODY;
	} else if (chunked) {
		c->state = C_CHUNK_SIZE;
	} else if (clen >= 0) {
		c->need = clen;
		c->state = C_BODY;
	} else {
		return -1; /* read-until-close is not for keep-alive */
	}
	return 0;
}

/*
 * Consumes what is in c->buf.  Returns 1 when the response is complete,
 * 0 when more bytes are needed, -1 on a framing error.
 */
static int
consume(struct conn *c)
{
	char *eol;
	size_t take = 0;

	for (;;) {
		switch (c->state) {
		case C_SEND:
			return -1; /* bytes before the request went out */
		case C_HEAD:
			eol = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (eol == NULL)
				return c->len == RESP_BUF ? -1 : 0;
			take = (size_t)(eol - c->buf) + 4;
			if (parse_head(c, take) < 0)
				return -1;
			break;
		case C_BODY:
			take = (long long)c->len < c->need ? c->len
							   : (size_t)c->need;
			c->need -= (long long)take;
			if (c->need == 0) {
				memmove(c->buf, c->buf + take, c->len - take);
				c->len -= take;
				return 1;
			}
			break;
		case C_CHUNK_SIZE:
			eol = memmem(c->buf, c->len, "\r\n", 2);
			if (eol == NULL)
				return c->len == RESP_BUF ? -1 : 0;
			c->need = strtoll(c->buf, NULL, 16);
			take = (size_t)(eol - c->buf) + 2;
			c->state = c->need == 0 ? C_TRAILER : C_CHUNK_DATA;
			break;
		case C_CHUNK_DATA:
			take = (long long)c->len < c->need ? c->len
							   : (size_t)c->need;
			c->need -= (long long)take;
			if (c->need == 0)
				c->state = C_CHUNK_CRLF;
			break;
		case C_CHUNK_CRLF:
			if (c->len < 2)
				return 0;
			take = 2;
			c->state = C_CHUNK_SIZE;
			break;
		case C_TRAILER:
			eol = memmem(c->buf, c->len, "\r\n", 2);
			if (eol == NULL)
				return 0;
			take = (size_t)(eol - c->buf) + 2;
			if (eol == c->buf) {
				memmove(c->buf, c->buf + take, c->len - take);
				c->len -= take;
				return 1;
			}
			break;
		}
		memmove(c->buf, c->buf + take, c->len - take);
		c->len -= take;
		if (c->len == 0 && c->state != C_BODY)
			return 0;
		if (c->len == 0 && c->need > 0)
			return 0;
	}
}

static void
conn_send(struct worker *w, int ep, struct conn *c)
{
	ssize_t n;

	while (c->sent < request_len) {
		n = send(c->fd, request_text + c->sent, request_len - c->sent,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_fail(w, "send failed");
			conn_reopen(w, ep, c);
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = C_HEAD;
}

static void
conn_read(struct worker *w, int ep, struct conn *c)
{
	ssize_t n;
	int done;

	for (;;) {
		n = recv(c->fd, c->buf + c->len, RESP_BUF - c->len, 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/*
			 * A close before any byte of the answer is a
			 * keep-alive race (counted in reconnects, and that
			 * request is lost); anything later is an error.
			 */
			if (c->state != C_HEAD || c->len != 0)
				conn_fail(w, "connection closed mid-response");
			conn_reopen(w, ep, c);
			return;
		}
		c->len += (size_t)n;
		while ((done = consume(c)) == 1) {
			record(w, c);
			if (c->close) {
				conn_reopen(w, ep, c);
				return;
			}
			if (c->len != 0) {
				conn_fail(w, "bytes after the response");
				conn_reopen(w, ep, c);
				return;
			}
			if (mono_now() >= deadline)
				return;
			c->state = C_SEND;
			c->sent = 0;
			c->t0 = mono_now();
			conn_send(w, ep, c);
			if (c->state == C_SEND || c->fd < 0)
				return;
		}
		if (done < 0) {
			conn_fail(w, "malformed response");
			conn_reopen(w, ep, c);
			return;
		}
	}
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	int ep = epoll_create1(0), n, i;

	for (i = 0; i < w->n_conns; i++)
		conn_open(w, ep, &w->conns[i]);
	while (mono_now() < deadline) {
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (c->state == C_SEND && (evs[i].events & EPOLLOUT))
				conn_send(w, ep, c);
			if (c->fd >= 0 && c->state != C_SEND &&
			    (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(w, ep, c);
		}
	}
	for (i = 0; i < w->n_conns; i++)
		if (w->conns[i].fd >= 0)
			close(w->conns[i].fd);
	close(ep);
	return NULL;
}

static int
cmp_lat(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
reqrate_run(const struct rps_opts *o)
{
	struct worker *w = calloc((size_t)o->threads, sizeof(*w));
	size_t total = 0, k = 0;
	long long errors = 0, bad = 0, reconnects = 0;
	double *all, t0, secs;
	const char *why = NULL;
	int first_bad = 0, i;

	if (w == NULL || build_request(o) < 0)
		return 1;
	t0 = mono_now();
	deadline = t0 + o->seconds;
	for (i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].n_conns =
		    o->conns / o->threads + (i < o->conns % o->threads);
		w[i].conns = calloc((size_t)w[i].n_conns, sizeof(struct conn));
		if (w[i].conns == NULL ||
		    pthread_create(&w[i].thread, NULL, worker_run, &w[i])) {
			fprintf(stderr, "loadgen: could not start a thread\n");
			return 1;
		}
	}
	for (i = 0; i < o->threads; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n_lat;
		errors += w[i].errors;
		bad += w[i].bad_status;
		reconnects += w[i].reconnects;
		if (first_bad == 0)
			first_bad = w[i].first_bad;
		if (why == NULL && w[i].why[0] != '\0')
			why = w[i].why;
	}
	secs = mono_now() - t0;
	if ((all = malloc((total ? total : 1) * sizeof(*all))) == NULL)
		return 1;
	for (i = 0; i < o->threads; i++) {
		memcpy(all + k, w[i].lat, w[i].n_lat * sizeof(*all));
		k += w[i].n_lat;
	}
	qsort(all, total, sizeof(*all), cmp_lat);
	printf("requests=%zu seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f "
	       "errors=%lld bad_status=%lld first_bad=%d reconnects=%lld\n",
	       total, secs, (double)total / secs,
	       lat_percentile(all, total, 50) * 1e3,
	       lat_percentile(all, total, 99) * 1e3, errors, bad, first_bad,
	       reconnects);
	if (why != NULL)
		fprintf(stderr, "loadgen: %s %s: %s\n", o->method, o->url, why);
	if (first_bad != 0)
		fprintf(stderr,
			"loadgen: %s %s: %lld answers with status %d "
			"or another error status\n",
			o->method, o->url, bad, first_bad);
	for (i = 0; i < o->threads; i++) {
		free(w[i].conns);
		free(w[i].lat);
	}
	free(w);
	free(all);
	return errors || bad || total == 0 ? 1 : 0;
}
