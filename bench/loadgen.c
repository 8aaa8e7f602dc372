/*
 * loadgen: the HTTP client of bench/run.sh, so that every server (nginx,
 * registryd, Distribution, authd) is measured through the same code.  This
 * file drives blob pushes (monolithic, chunked, plain PUT), blob pulls and
 * paginated listings; `loadgen rps` (request rates) is in reqrate.c.  Each
 * client is a thread with its own curl easy handle and keep-alive
 * connection, so the client spreads over the cores and does no work per
 * byte beyond what the kernel does: bodies are sent straight from memory
 * and received bodies are only counted.  Blob bytes come from a seeded
 * generator and are hashed before the clock starts.
 *
 * Prints one line of key=value results on stdout; exits 1 when any
 * request failed (the reason goes to stderr), 2 on a usage error.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define MAX_CLIENTS 64
#define MAX_HEADERS LOADGEN_MAX_HEADERS
#define MAX_REPS 64
#define NONCE_LEN 32
#define URL_MAX 4096
#define PAGES_MAX 100000

enum mode { M_PUSH_MONO, M_PUSH_CHUNKED, M_PUT, M_PULL, M_PAGES, M_RPS };

struct opts {
	enum mode mode;
	const char *base; /* push: registry base URL; others: the URL */
	const char *repo; /* push only */
	int clients;
	size_t size;  /* blob size */
	size_t chunk; /* chunked push: bytes per PATCH */
	int reps;     /* pushes per client */
	unsigned long long seed;
	double seconds; /* pull: run time; pages: budget */
	const char *headers[MAX_HEADERS];
	int n_headers;
	const char *digests_out;
	struct rps_opts rps; /* M_RPS */
};

/* One client: its thread, its buffer and what it measured. */
struct client {
	const struct opts *o;
	int id;
	pthread_t thread;
	unsigned char *buf;
	char digest[MAX_REPS][72]; /* "sha256:" + 64 hex */
	unsigned long long bytes;
	int errors;
	char location[URL_MAX]; /* last Location header */
	char link[URL_MAX];	/* last Link rel="next" target */
	curl_off_t got;		/* body bytes of the last response */
};

static pthread_barrier_t start_line;

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: loadgen push-mono|push-chunked BASE REPO [options]\n"
		"       loadgen put URL_PREFIX [options]\n"
		"       loadgen pull URL [options]\n"
		"       loadgen pages URL [options]\n"
		"       loadgen rps URL [options] [-T threads] [-m method] "
		"[-b body]\n"
		"options: -c clients  -s size  -k chunk  -r reps  -S seed\n"
		"         -t seconds  -H 'Name: value'  -o digests-file\n");
	exit(2);
}

/* Sizes take an optional K/M/G suffix (powers of 1024). */
static size_t
parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		usage();
	switch (*end) {
	case 'K':
		v <<= 10;
		break;
	case 'M':
		v <<= 20;
		break;
	case 'G':
		v <<= 30;
		break;
	case '\0':
		break;
	default:
		usage();
	}
	return (size_t)v;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int c, need;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "push-mono"))
		o->mode = M_PUSH_MONO;
	else if (!strcmp(argv[1], "push-chunked"))
		o->mode = M_PUSH_CHUNKED;
	else if (!strcmp(argv[1], "put"))
		o->mode = M_PUT;
	else if (!strcmp(argv[1], "pull"))
		o->mode = M_PULL;
	else if (!strcmp(argv[1], "pages"))
		o->mode = M_PAGES;
	else if (!strcmp(argv[1], "rps"))
		o->mode = M_RPS;
	else
		usage();
	need = o->mode == M_PUSH_MONO || o->mode == M_PUSH_CHUNKED ? 4 : 3;
	if (argc < need)
		usage();
	o->base = argv[2];
	o->repo = need == 4 ? argv[3] : NULL;
	o->clients = 1;
	o->size = 1 << 20;
	o->chunk = 16 << 20;
	o->reps = 1;
	o->seed = 1;
	o->seconds = 5;
	o->rps.method = "GET";
	o->rps.threads = 1;
	optind = need;
	while ((c = getopt(argc, argv, "c:s:k:r:S:t:H:o:T:m:b:")) != -1) {
		switch (c) {
		case 'c':
			o->clients = atoi(optarg);
			break;
		case 's':
			o->size = parse_size(optarg);
			break;
		case 'k':
			o->chunk = parse_size(optarg);
			break;
		case 'r':
			o->reps = atoi(optarg);
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 10);
			break;
		case 't':
			o->seconds = atof(optarg);
			break;
		case 'H':
			if (o->n_headers == MAX_HEADERS)
				usage();
			o->headers[o->n_headers++] = optarg;
			break;
		case 'o':
			o->digests_out = optarg;
			break;
		case 'T':
			o->rps.threads = atoi(optarg);
			break;
		case 'm':
			o->rps.method = optarg;
			break;
		case 'b':
			o->rps.body = optarg;
			break;
		default:
			usage();
		}
	}
	if (o->clients < 1 ||
	    o->clients > (o->mode == M_RPS ? 4096 : MAX_CLIENTS) ||
	    o->reps < 1 || o->reps > MAX_REPS || o->size < NONCE_LEN ||
	    o->chunk == 0 || o->seconds <= 0 || o->rps.threads < 1)
		usage();
	o->rps.url = o->base;
	o->rps.conns = o->clients;
	o->rps.seconds = o->seconds;
	o->rps.n_headers = o->n_headers;
	memcpy(o->rps.headers, o->headers, sizeof(o->headers));
	if (o->rps.threads > o->clients)
		o->rps.threads = o->clients;
}

/* splitmix64: fast, and different for every seed and client. */
static uint64_t
mix_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The first NONCE_LEN bytes make each (seed, client, rep) a new blob. */
static void
blob_nonce(struct client *c, int rep)
{
	char nonce[64];

	/* at least 31 characters and the NUL: NONCE_LEN bytes are set */
	snprintf(nonce, sizeof(nonce), "%-20llu %4d %4d\n", c->o->seed, c->id,
		 rep);
	memcpy(c->buf, nonce, NONCE_LEN);
}

static int
blob_prepare(struct client *c)
{
	uint64_t s = c->o->seed * 1000003ULL + (uint64_t)c->id, v;
	size_t i, n = c->o->size;
	unsigned char md[32];
	unsigned int mdlen;

	c->buf = malloc(n);
	if (c->buf == NULL) {
		fprintf(stderr, "loadgen: out of memory for a %zu-byte blob\n",
			n);
		return -1;
	}
	for (i = 0; i + 8 <= n; i += 8) {
		v = mix_next(&s);
		memcpy(c->buf + i, &v, 8);
	}
	for (; i < n; i++)
		c->buf[i] = (unsigned char)mix_next(&s);
	for (int r = 0; r < c->o->reps; r++) {
		blob_nonce(c, r);
		if (!EVP_Digest(c->buf, n, md, &mdlen, EVP_sha256(), NULL)) {
			fprintf(stderr, "loadgen: sha256 failed\n");
			return -1;
		}
		memcpy(c->digest[r], "sha256:", 7);
		for (unsigned j = 0; j < mdlen; j++)
			snprintf(c->digest[r] + 7 + 2 * j, 3, "%02x", md[j]);
	}
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct client *c = arg;

	(void)p;
	c->got += (curl_off_t)(size * n);
	return size * n;
}

/* Keeps Location and the rel="next" target of Link, both as sent. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct client *c = arg;
	size_t len = size * n, v;
	const char *lt, *gt;

	if (len > 9 && !strncasecmp(p, "location:", 9)) {
		for (v = 9; v < len && p[v] == ' '; v++)
			;
		while (len > v && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		if (len - v < sizeof(c->location)) {
			memcpy(c->location, p + v, len - v);
			c->location[len - v] = '\0';
		}
	} else if (len > 5 && !strncasecmp(p, "link:", 5) &&
		   memmem(p, len, "rel=\"next\"", 10) != NULL &&
		   (lt = memchr(p, '<', len)) != NULL &&
		   (gt = memchr(lt, '>', len - (size_t)(lt - p))) != NULL &&
		   (size_t)(gt - lt - 1) < sizeof(c->link)) {
		memcpy(c->link, lt + 1, (size_t)(gt - lt - 1));
		c->link[gt - lt - 1] = '\0';
	}
	return size * n;
}

/*
 * One request on the client's handle (connections stay open across
 * curl_easy_reset).  A body, when given, is sent from memory with no copy.
 * Returns the HTTP status, or -1 on a transport error.
 */
static long
request(struct client *c, CURL *h, const char *method, const char *url,
	const unsigned char *body, size_t len, const char *extra)
{
	struct curl_slist *hdrs = NULL;
	long status = -1;
	CURLcode rc;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 body ? (const char *)body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		hdrs = curl_slist_append(
		    hdrs, "Content-Type: application/octet-stream");
	}
	/* registry clients do not wait for 100 Continue */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (extra != NULL)
		hdrs = curl_slist_append(hdrs, extra);
	for (int i = 0; i < c->o->n_headers; i++)
		hdrs = curl_slist_append(hdrs, c->o->headers[i]);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	c->location[0] = '\0';
	c->link[0] = '\0';
	c->got = 0;
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		fprintf(stderr, "loadgen: %s %s: %s\n", method, url,
			curl_easy_strerror(rc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	return status;
}

static int
expect_status(const char *what, const char *url, long got, long want,
	      long want2)
{
	if (got == want || got == want2)
		return 0;
	if (got != -1)
		fprintf(stderr, "loadgen: %s %s: status %ld, want %ld\n", what,
			url, got, want);
	return -1;
}

/* An absolute URL for a Location header, which may be a path. */
static void
absolute(char *out, size_t len, const char *base, const char *loc)
{
	if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
		snprintf(out, len, "%s", loc);
	else
		snprintf(out, len, "%s%s", base, loc);
}

/* PUT <Location>?digest=D, with the body given (the whole blob or none). */
static int
upload_finish(struct client *c, CURL *h, int rep, const unsigned char *body,
	      size_t len)
{
	char url[URL_MAX], next[URL_MAX];
	long st;

	absolute(next, sizeof(next), c->o->base, c->location);
	if (snprintf(url, sizeof(url), "%s%cdigest=%s", next,
		     strchr(next, '?') ? '&' : '?',
		     c->digest[rep]) >= (int)sizeof(url)) {
		fprintf(stderr, "loadgen: upload URL too long\n");
		return -1;
	}
	st = request(c, h, "PUT", url, body, len, NULL);
	return expect_status("PUT", url, st, 201, 201);
}

static int
upload_start(struct client *c, CURL *h)
{
	char url[URL_MAX];
	long st;

	snprintf(url, sizeof(url), "%s/v2/%s/blobs/uploads/", c->o->base,
		 c->o->repo);
	st = request(c, h, "POST", url, NULL, 0, NULL);
	return expect_status("POST", url, st, 202, 202);
}

/*
 * The monolithic push both servers take: POST, then one PUT with the
 * whole blob.  (Distribution 2.8 answers a single POST with ?digest= and
 * a body by opening a session and ignoring the body.)
 */
static int
push_mono(struct client *c, CURL *h, int rep)
{
	if (upload_start(c, h) < 0)
		return -1;
	return upload_finish(c, h, rep, c->buf, c->o->size);
}

/* POST, PATCHes of -k bytes with Content-Range, then an empty PUT. */
static int
push_chunked(struct client *c, CURL *h, int rep)
{
	char next[URL_MAX], range[64];
	size_t off, n;
	long st;

	if (upload_start(c, h) < 0)
		return -1;
	for (off = 0; off < c->o->size; off += n) {
		n = c->o->size - off < c->o->chunk ? c->o->size - off
						   : c->o->chunk;
		absolute(next, sizeof(next), c->o->base, c->location);
		snprintf(range, sizeof(range), "Content-Range: %zu-%zu", off,
			 off + n - 1);
		st = request(c, h, "PATCH", next, c->buf + off, n, range);
		if (expect_status("PATCH", next, st, 202, 202) < 0)
			return -1;
	}
	return upload_finish(c, h, rep, NULL, 0);
}

static int
put_plain(struct client *c, CURL *h, int rep)
{
	char url[URL_MAX];
	long st;

	snprintf(url, sizeof(url), "%s/%llu-%d-%d", c->o->base, c->o->seed,
		 c->id, rep);
	st = request(c, h, "PUT", url, c->buf, c->o->size, NULL);
	return expect_status("PUT", url, st, 201, 204);
}

static void *
push_thread(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	int r, rc;

	pthread_barrier_wait(&start_line);
	for (r = 0; r < c->o->reps; r++) {
		blob_nonce(c, r);
		if (c->o->mode == M_PUSH_MONO)
			rc = push_mono(c, h, r);
		else if (c->o->mode == M_PUSH_CHUNKED)
			rc = push_chunked(c, h, r);
		else
			rc = put_plain(c, h, r);
		if (rc < 0) {
			c->errors++;
			break;
		}
		c->bytes += c->o->size;
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* GETs the URL until the time is up; a transfer under way is finished. */
static void *
pull_thread(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	double deadline;
	curl_off_t want;
	long st;

	pthread_barrier_wait(&start_line);
	deadline = now_sec() + c->o->seconds;
	do {
		st = request(c, h, "GET", c->o->base, NULL, 0, NULL);
		if (expect_status("GET", c->o->base, st, 200, 200) < 0) {
			c->errors++;
			break;
		}
		curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
		if (want >= 0 && want != c->got) {
			fprintf(stderr, "loadgen: GET %s: %lld of %lld bytes\n",
				c->o->base, (long long)c->got, (long long)want);
			c->errors++;
			break;
		}
		c->bytes += (unsigned long long)c->got;
	} while (now_sec() < deadline);
	curl_easy_cleanup(h);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
lat_percentile(const double *v, size_t n, double p)
{
	long i = (long)(p / 100.0 * (double)n + 0.999999) - 1;

	if (n == 0)
		return 0;
	return v[i < 0 ? 0 : (size_t)i >= n ? n - 1 : (size_t)i];
}

/* The length of the one array in a catalog or tag list page. */
static long
page_items(const char *text, size_t len)
{
	json_t *doc = json_loadb(text, len, 0, NULL), *a;
	long n = -1;

	if (doc == NULL)
		return -1;
	if ((a = json_object_get(doc, "repositories")) == NULL)
		a = json_object_get(doc, "tags");
	if (json_is_array(a))
		n = (long)json_array_size(a);
	else if (json_is_null(a))
		n = 0;
	json_decref(doc);
	return n;
}

struct page_body {
	char *data;
	size_t len, cap;
};

static size_t
on_page(char *p, size_t size, size_t n, void *arg)
{
	struct page_body *b = arg;
	size_t len = size * n;

	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		if ((b->data = realloc(b->data, b->cap)) == NULL) {
			fprintf(stderr, "loadgen: out of memory\n");
			exit(1);
		}
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

/*
 * Follows rel="next" links from the URL until the last page or until the
 * budget (-t) is spent; complete=0 then says the walk was cut short.
 */
static int
run_pages(const struct opts *o)
{
	static double lat[PAGES_MAX];
	struct client c = {.o = o};
	struct page_body body = {0};
	struct curl_slist *hdrs = NULL;
	char url[URL_MAX], origin[URL_MAX], *slash;
	CURL *h = curl_easy_init();
	double t0, t, total;
	long items = 0, k, st;
	int pages = 0, complete = 0, errors = 0;

	/* scheme://host:port, for relative links */
	snprintf(origin, sizeof(origin), "%s", o->base);
	slash = strstr(origin, "://");
	if (slash && (slash = strchr(slash + 3, '/')) != NULL)
		*slash = '\0';
	for (int i = 0; i < o->n_headers; i++)
		hdrs = curl_slist_append(hdrs, o->headers[i]);
	snprintf(url, sizeof(url), "%s", o->base);
	t0 = now_sec();
	while (pages < PAGES_MAX) {
		curl_easy_reset(h);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_page);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
		body.len = 0;
		c.link[0] = '\0';
		t = now_sec();
		if (curl_easy_perform(h) != CURLE_OK) {
			fprintf(stderr, "loadgen: GET %s failed\n", url);
			errors++;
			break;
		}
		lat[pages++] = now_sec() - t;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
		if (expect_status("GET", url, st, 200, 200) < 0 ||
		    (k = page_items(body.data, body.len)) < 0) {
			if (st == 200)
				fprintf(stderr, "loadgen: GET %s: not a list\n",
					url);
			errors++;
			break;
		}
		items += k;
		if (c.link[0] == '\0') {
			complete = 1;
			break;
		}
		if (now_sec() - t0 > o->seconds)
			break;
		absolute(url, sizeof(url), origin, c.link);
	}
	total = now_sec() - t0;
	qsort(lat, (size_t)pages, sizeof(*lat), cmp_double);
	printf("pages=%d items=%ld seconds=%.4f p50_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f complete=%d errors=%d\n",
	       pages, items, total,
	       lat_percentile(lat, (size_t)pages, 50) * 1e3,
	       lat_percentile(lat, (size_t)pages, 99) * 1e3,
	       pages ? lat[pages - 1] * 1e3 : 0.0, complete, errors);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(body.data);
	return errors ? 1 : 0;
}

static int
write_digests(const struct opts *o, struct client *cl)
{
	FILE *f = fopen(o->digests_out, "a");

	if (f == NULL) {
		fprintf(stderr, "loadgen: could not open \"%s\": %s\n",
			o->digests_out, strerror(errno));
		return -1;
	}
	for (int i = 0; i < o->clients; i++)
		for (int r = 0; r < o->reps; r++)
			fprintf(f, "%s\n", cl[i].digest[r]);
	return fclose(f);
}

int
main(int argc, char **argv)
{
	static struct client cl[MAX_CLIENTS];
	struct opts o = {0};
	unsigned long long bytes = 0;
	double secs;
	int errors = 0, i;
	void *(*fn)(void *);

	parse_args(argc, argv, &o);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (o.mode == M_PAGES)
		return run_pages(&o);
	if (o.mode == M_RPS)
		return reqrate_run(&o.rps);
	fn = o.mode == M_PULL ? pull_thread : push_thread;
	pthread_barrier_init(&start_line, NULL, (unsigned)o.clients + 1);
	for (i = 0; i < o.clients; i++) {
		cl[i].o = &o;
		cl[i].id = i;
		if (o.mode != M_PULL && blob_prepare(&cl[i]) < 0)
			return 1;
	}
	if (o.digests_out != NULL && o.mode != M_PULL &&
	    write_digests(&o, cl) < 0)
		return 1;
	for (i = 0; i < o.clients; i++)
		if (pthread_create(&cl[i].thread, NULL, fn, &cl[i]) != 0) {
			fprintf(stderr, "loadgen: could not start a thread\n");
			return 1;
		}
	pthread_barrier_wait(&start_line);
	secs = now_sec();
	for (i = 0; i < o.clients; i++) {
		pthread_join(cl[i].thread, NULL);
		bytes += cl[i].bytes;
		errors += cl[i].errors;
		free(cl[i].buf);
	}
	secs = now_sec() - secs;
	printf("bytes=%llu seconds=%.4f mbps=%.1f errors=%d\n", bytes, secs,
	       secs > 0 ? (double)bytes / secs / 1e6 : 0.0, errors);
	curl_global_cleanup();
	return errors ? 1 : 0;
}
