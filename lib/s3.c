/*
 * The S3 client (see s3.h). One call is one struct call: what to send,
 * and where the answer goes; request() signs it, sends it through a
 * pooled curl handle and retries it, and errors are read from the XML
 * body S3 sends with them. Response bodies are parsed with libxml2.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "s3.h"
#include "sigv4.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Bodies of answers kept (XML lists, errors); GETs go to the caller. */
#define ANSWER_MAX (8u << 20)
#define BACKOFF_BASE_MS 100u
#define BACKOFF_CAP_MS 5000u

struct handle {
	CURL *curl;
	struct handle *next;
};

struct s3_client {
	char *scheme;		/* "http" or "https" */
	char *host;		/* as the Host header: host[:port] */
	char *bucket;
	bool virtual_host;
	char *ca_file;
	struct sigv4_creds creds;
	char *access, *secret, *token, *region;
	unsigned timeout, retries;
	/* The curl handles not in use (all of them once no call runs). */
	pthread_mutex_t mu;
	struct handle *idle;
	/* The rate cap: a token bucket of rate tokens a second. */
	unsigned rate;
	double tokens;
	uint64_t refilled_ns;
};

/* What one request sends and where its answer goes. */
struct call {
	const char *method;
	const char *key;	/* NULL: the bucket itself */
	const char *query;	/* encoded already, or NULL */
	const struct sigv4_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
	const char *body_sha256;	/* NULL: computed */
	/* The answer: into out (bounded by out_max) when set, else into
	 * the call's own buffer, answer. */
	char *out;
	size_t out_max, out_len;
	struct buf answer;
	char etag[128];
	uint64_t length;	/* Content-Length of the answer */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

static char *
env_or(const char *v, const char *name)
{
	const char *e;

	if (v != NULL && *v)
		return xstrdup(v);
	e = getenv(name);
	return e && *e ? xstrdup(e) : NULL;
}

struct s3_client *
s3_client_new(const struct storage_s3_config *cfg, char *err, size_t errlen)
{
	struct s3_client *c;
	const char *ep = cfg->endpoint, *rest;
	size_t n;

	pthread_once(&curl_once, curl_init_once);
	if (ep == NULL || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))) {
		snprintf(err, errlen, "s3_endpoint must be an http(s) URL");
		return NULL;
	}
	if (cfg->bucket == NULL || !*cfg->bucket) {
		snprintf(err, errlen, "no bucket");
		return NULL;
	}
	c = xmalloc(sizeof(*c));
	*c = (struct s3_client){ 0 };
	c->scheme = xstrdup(ep[4] == 's' ? "https" : "http");
	rest = ep + (ep[4] == 's' ? 8 : 7);
	n = strcspn(rest, "/");
	c->host = xmalloc(n + 1);
	memcpy(c->host, rest, n);
	c->host[n] = '\0';
	c->bucket = xstrdup(cfg->bucket);
	c->virtual_host = cfg->addressing == STORAGE_S3_VIRTUAL ||
			  (cfg->addressing == STORAGE_S3_AUTO &&
			   strstr(c->host, "amazonaws.com") != NULL);
	c->ca_file = cfg->ca_file && *cfg->ca_file ? xstrdup(cfg->ca_file)
						   : NULL;
	c->access = env_or(cfg->access_key, "AWS_ACCESS_KEY_ID");
	c->secret = env_or(cfg->secret_key, "AWS_SECRET_ACCESS_KEY");
	c->token = env_or(cfg->session_token, "AWS_SESSION_TOKEN");
	c->region = env_or(cfg->region, "AWS_REGION");
	if (c->region == NULL)
		c->region = xstrdup("us-east-1");
	c->creds = (struct sigv4_creds){ c->access, c->secret, c->token,
					 c->region, "s3" };
	c->timeout = cfg->timeout ? cfg->timeout : 60;
	c->retries = cfg->retries;
	c->rate = cfg->rate;
	c->tokens = cfg->rate;
	pthread_mutex_init(&c->mu, NULL);
	if (c->access == NULL || c->secret == NULL) {
		snprintf(err, errlen, "no credentials: set s3_access_key and "
			 "s3_secret_key, or AWS_ACCESS_KEY_ID and "
			 "AWS_SECRET_ACCESS_KEY");
		s3_client_free(c);
		return NULL;
	}
	return c;
}

void
s3_client_free(struct s3_client *c)
{
	struct handle *h, *next;

	if (c == NULL)
		return;
	for (h = c->idle; h != NULL; h = next) {
		next = h->next;
		curl_easy_cleanup(h->curl);
		free(h);
	}
	pthread_mutex_destroy(&c->mu);
	if (c->secret != NULL)
		OPENSSL_cleanse(c->secret, strlen(c->secret));
	free(c->scheme);
	free(c->host);
	free(c->bucket);
	free(c->ca_file);
	free(c->access);
	free(c->secret);
	free(c->token);
	free(c->region);
	free(c);
}

/* A pooled handle; all of them are freed with the client. */
static CURL *
handle_take(struct s3_client *c)
{
	struct handle *h;
	CURL *curl;

	pthread_mutex_lock(&c->mu);
	if ((h = c->idle) != NULL) {
		c->idle = h->next;
		h->next = NULL;
		curl = h->curl;
		free(h);
		pthread_mutex_unlock(&c->mu);
		return curl;
	}
	pthread_mutex_unlock(&c->mu);
	return curl_easy_init();
}

static void
handle_give(struct s3_client *c, CURL *curl)
{
	struct handle *h = xmalloc(sizeof(*h));

	h->curl = curl;
	pthread_mutex_lock(&c->mu);
	h->next = c->idle;
	c->idle = h;
	pthread_mutex_unlock(&c->mu);
}

/* Waits for a token of the rate cap. */
static void
rate_wait(struct s3_client *c)
{
	for (;;) {
		uint64_t now = util_now_ns();
		double wait;

		pthread_mutex_lock(&c->mu);
		if (c->refilled_ns != 0) {
			c->tokens += (double)(now - c->refilled_ns) / 1e9 *
				     c->rate;
			if (c->tokens > c->rate)
				c->tokens = c->rate;
		}
		c->refilled_ns = now;
		if (c->tokens >= 1) {
			c->tokens -= 1;
			pthread_mutex_unlock(&c->mu);
			return;
		}
		wait = (1 - c->tokens) / c->rate;
		pthread_mutex_unlock(&c->mu);
		usleep((useconds_t)(wait * 1e6) + 1);
	}
}

unsigned
s3_backoff_ms(unsigned attempt, unsigned random)
{
	unsigned ceiling = BACKOFF_CAP_MS;

	if (attempt < 16 && (BACKOFF_BASE_MS << attempt) < BACKOFF_CAP_MS)
		ceiling = BACKOFF_BASE_MS << attempt;
	return random % (ceiling + 1);
}

/* Appends s percent-encoded as S3 wants a key (keep_slash) or a query
 * value. */
static int
encode(struct buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
		bool plain = (ch >= 'A' && ch <= 'Z') ||
			     (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' ||
			     ch == '_' || ch == '.' || ch == '~' ||
			     (keep_slash && ch == '/');

		if (plain ? buf_append(b, s, 1) < 0 : buf_append(b, e, 3) < 0)
			return -1;
	}
	return 0;
}

static char *
encoded(const char *s, bool keep_slash)
{
	struct buf b;

	buf_init(&b, ANSWER_MAX);
	if (encode(&b, s, keep_slash) < 0 || buf_append(&b, "", 0) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* The path and Host of a call: /bucket/key or, virtual-host, /key. */
static int
target(const struct s3_client *c, const char *key, struct buf *path,
       struct buf *host)
{
	if (c->virtual_host) {
		if (buf_printf(host, "%s.%s", c->bucket, c->host) < 0 ||
		    buf_puts(path, "/") < 0)
			return -1;
	} else if (buf_puts(host, c->host) < 0 ||
		   buf_printf(path, "/%s%s", c->bucket, key ? "/" : "") < 0) {
		return -1;
	}
	return key ? encode(path, key, true) : 0;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct call *k = arg;
	size_t len = size * n;

	if (k->out != NULL) {
		if (len > k->out_max - k->out_len)
			return 0;	/* more than asked: abort */
		memcpy(k->out + k->out_len, data, len);
		k->out_len += len;
		return len;
	}
	return buf_append(&k->answer, data, len) < 0 ? 0 : len;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct call *k = arg;
	size_t len = size * n;

	if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
		size_t v = 5, e = len;

		while (v < e && (data[v] == ' ' || data[v] == '\t'))
			v++;
		while (e > v && (data[e - 1] == '\r' || data[e - 1] == '\n' ||
				 data[e - 1] == ' '))
			e--;
		snprintf(k->etag, sizeof(k->etag), "%.*s", (int)(e - v),
			 data + v);
	}
	return len;
}

/* The content of the child element named name of node, or NULL. */
static const char *
child_text(xmlNode *node, const char *name)
{
	for (xmlNode *n = node ? node->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n->children && n->children->content
				       ? (const char *)n->children->content
				       : "";
	return NULL;
}

static xmlDoc *
parse(const struct buf *b)
{
	if (b->len == 0)
		return NULL;
	return xmlReadMemory(b->data, (int)b->len, NULL, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR |
				     XML_PARSE_NOWARNING);
}

/* Fills res from an answer's status and error body. */
static void
read_error(struct call *k, long status, struct s3_result *res)
{
	xmlDoc *doc = k->out ? NULL : parse(&k->answer);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	const char *code = root ? child_text(root, "Code") : NULL;
	const char *msg = root ? child_text(root, "Message") : NULL;

	res->status = status;
	snprintf(res->code, sizeof(res->code), "%s", code ? code : "");
	if (status == 404)
		res->kind = S3_NOT_FOUND;
	else if (status == 403)
		res->kind = S3_DENIED;
	else if (status >= 500 || (code && !strcmp(code, "RequestTimeout")))
		res->kind = S3_UNAVAILABLE;
	else
		res->kind = S3_BAD_REQUEST;
	snprintf(res->message, sizeof(res->message), "%s %ld%s%s%s%s",
		 k->method, status, code ? " " : "", code ? code : "",
		 msg ? ": " : "", msg ? msg : "");
	xmlFreeDoc(doc);
}

/* Sends k once; 0 with a 2xx, else -1 with res filled. */
static int
send_once(struct s3_client *c, CURL *curl, struct call *k,
	  struct s3_result *res)
{
	struct buf path, host, url, hv;
	struct sigv4_header *h = xmalloc((k->n_headers + 4) * sizeof(*h));
	struct curl_slist *list = NULL;
	struct sigv4_result sig = { 0 };
	char sha[65], date[40];
	size_t nh = 0;
	long status = 0;
	CURLcode rc;
	int ret = -1;

	buf_init(&path, ANSWER_MAX);
	buf_init(&host, 4096);
	buf_init(&url, ANSWER_MAX);
	buf_init(&hv, ANSWER_MAX);
	k->out_len = 0;
	k->etag[0] = '\0';
	buf_release(&k->answer);
	buf_init(&k->answer, ANSWER_MAX);
	if (k->body_sha256 == NULL) {
		unsigned char md[32];

		EVP_Digest(k->body ? k->body : "", k->body_len, md, NULL,
			   EVP_sha256(), NULL);
		util_hex(sha, md, 32);
	} else {
		snprintf(sha, sizeof(sha), "%s", k->body_sha256);
	}
	for (size_t i = 0; i < k->n_headers; i++)
		h[nh++] = k->headers[i];
	h[nh++] = (struct sigv4_header){ "x-amz-content-sha256", sha };
	if (target(c, k->key, &path, &host) < 0 ||
	    buf_append(&host, "", 0) < 0 || buf_append(&path, "", 0) < 0)
		goto out;
	{
		struct sigv4_req r = { k->method, host.data, path.data,
				       k->query, h, nh, sha, time(NULL) };

		if (sigv4_sign(&c->creds, &r, &sig) < 0)
			goto out;
	}
	if (buf_printf(&url, "%s://%s%s%s%s", c->scheme, host.data, path.data,
		       k->query ? "?" : "", k->query ? k->query : "") < 0)
		goto out;
	for (size_t i = 0; i < nh; i++) {
		buf_release(&hv);
		buf_init(&hv, ANSWER_MAX);
		if (buf_printf(&hv, "%s: %s", h[i].name, h[i].value) < 0)
			goto out;
		list = curl_slist_append(list, hv.data);
	}
	snprintf(date, sizeof(date), "x-amz-date: %s", sig.amz_date);
	list = curl_slist_append(list, date);
	if (c->token != NULL) {
		buf_release(&hv);
		buf_init(&hv, ANSWER_MAX);
		if (buf_printf(&hv, "x-amz-security-token: %s", c->token) < 0)
			goto out;
		list = curl_slist_append(list, hv.data);
	}
	buf_release(&hv);
	buf_init(&hv, ANSWER_MAX);
	if (buf_printf(&hv, "Authorization: %s", sig.authorization) < 0)
		goto out;
	list = curl_slist_append(list, hv.data);
	/* No "Expect: 100-continue" round trip; no default Content-Type. */
	list = curl_slist_append(list, "Expect:");
	list = curl_slist_append(list, "Content-Type:");

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)c->timeout);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, k);
	if (c->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	if (!strcmp(k->method, "HEAD")) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(k->method, "GET")) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, k->method);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
				 k->body ? k->body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)k->body_len);
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		res->status = 0;
		res->kind = S3_UNAVAILABLE;
		snprintf(res->code, sizeof(res->code), "network");
		snprintf(res->message, sizeof(res->message), "%s %s: %s",
			 k->method, c->host, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		read_error(k, status, res);
		goto out;
	}
	{
		curl_off_t len = 0;

		curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
				  &len);
		k->length = len > 0 ? (uint64_t)len : 0;
	}
	*res = (struct s3_result){ .status = status, .kind = S3_OK };
	ret = 0;
out:
	curl_slist_free_all(list);
	sigv4_result_release(&sig);
	free(h);
	buf_release(&path);
	buf_release(&host);
	buf_release(&url);
	buf_release(&hv);
	return ret;
}

/* Sends k, retrying what may pass: 0, or -1 with res. */
static int
request(struct s3_client *c, struct call *k, struct s3_result *res)
{
	CURL *curl = handle_take(c);
	unsigned attempt = 0, r;
	int ret;

	if (curl == NULL) {
		*res = (struct s3_result){ .kind = S3_UNAVAILABLE };
		snprintf(res->message, sizeof(res->message), "no curl handle");
		return -1;
	}
	for (;;) {
		if (c->rate > 0)
			rate_wait(c);
		if ((ret = send_once(c, curl, k, res)) == 0 ||
		    res->kind != S3_UNAVAILABLE || attempt >= c->retries)
			break;
		util_random(&r, sizeof(r));
		log_info("s3: %s; retrying", res->message);
		usleep(s3_backoff_ms(attempt++, r) * 1000u);
	}
	handle_give(c, curl);
	return ret;
}

/* request() for the calls that may fail after their 200 (a copy, a
 * completion): the body then is an Error. */
static int
request_whole(struct s3_client *c, struct call *k, struct s3_result *res)
{
	int ret = request(c, k, res);
	xmlDoc *doc;

	if (ret == 0 && (doc = parse(&k->answer)) != NULL) {
		xmlNode *root = xmlDocGetRootElement(doc);

		if (root && strcmp((const char *)root->name, "Error") == 0) {
			read_error(k, 500, res);
			ret = -1;
		}
		xmlFreeDoc(doc);
	}
	return ret;
}

static void
call_release(struct call *k)
{
	buf_release(&k->answer);
}

int
s3_probe(struct s3_client *c, struct s3_result *res)
{
	struct call k = { .method = "GET", .query = "list-type=2&max-keys=1" };
	int ret;

	buf_init(&k.answer, ANSWER_MAX);
	ret = request(c, &k, res);
	call_release(&k);
	return ret;
}

int
s3_head_object(struct s3_client *c, const char *key, uint64_t *size,
	       struct s3_result *res)
{
	struct call k = { .method = "HEAD", .key = key };
	int ret;

	buf_init(&k.answer, ANSWER_MAX);
	if ((ret = request(c, &k, res)) == 0)
		*size = k.length;
	call_release(&k);
	return ret;
}

int
s3_get_range(struct s3_client *c, const char *key, uint64_t off, size_t len,
	     void *buf, size_t *got, struct s3_result *res)
{
	char range[64];
	struct sigv4_header h = { "range", range };
	struct call k = { .method = "GET", .key = key, .headers = &h,
			  .n_headers = 1, .out = buf, .out_max = len };
	int ret;

	*got = 0;
	if (len == 0)
		return 0;
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off,
		 off + len - 1);
	buf_init(&k.answer, ANSWER_MAX);
	if ((ret = request(c, &k, res)) == 0)
		*got = k.out_len;
	call_release(&k);
	return ret;
}

int
s3_put_object(struct s3_client *c, const char *key, const void *buf,
	      size_t len, const char *sha256, struct s3_result *res)
{
	struct call k = { .method = "PUT", .key = key, .body = buf,
			  .body_len = len, .body_sha256 = sha256 };
	int ret;

	buf_init(&k.answer, ANSWER_MAX);
	ret = request(c, &k, res);
	call_release(&k);
	return ret;
}

/* x-amz-copy-source: /bucket/key, encoded. */
static char *
copy_source(struct s3_client *c, const char *from)
{
	struct buf b;

	buf_init(&b, ANSWER_MAX);
	if (buf_printf(&b, "/%s/", c->bucket) < 0 || encode(&b, from, true) < 0 ||
	    buf_append(&b, "", 0) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

int
s3_copy_object(struct s3_client *c, const char *from, const char *to,
	       struct s3_result *res)
{
	char *src = copy_source(c, from);
	struct sigv4_header h = { "x-amz-copy-source", src };
	struct call k = { .method = "PUT", .key = to, .headers = &h,
			  .n_headers = 1 };
	int ret;

	buf_init(&k.answer, ANSWER_MAX);
	ret = request_whole(c, &k, res);
	call_release(&k);
	free(src);
	return ret;
}

int
s3_mpu_create(struct s3_client *c, const char *key, char **upload_id,
	      struct s3_result *res)
{
	struct call k = { .method = "POST", .key = key, .query = "uploads=" };
	const char *id = NULL;
	xmlDoc *doc = NULL;
	int ret;

	*upload_id = NULL;
	buf_init(&k.answer, ANSWER_MAX);
	if ((ret = request(c, &k, res)) == 0 &&
	    ((doc = parse(&k.answer)) == NULL ||
	     (id = child_text(xmlDocGetRootElement(doc), "UploadId")) == NULL)) {
		snprintf(res->message, sizeof(res->message),
			 "CreateMultipartUpload: no UploadId in the answer");
		res->kind = S3_UNAVAILABLE;
		ret = -1;
	}
	if (ret == 0)
		*upload_id = xstrdup(id);
	xmlFreeDoc(doc);
	call_release(&k);
	return ret;
}

int
s3_mpu_part(struct s3_client *c, const char *key, const char *upload_id,
	    int part, const void *buf, size_t len, char *etag, size_t etag_len,
	    struct s3_result *res)
{
	char *id = encoded(upload_id, false), query[1024];
	struct call k = { .method = "PUT", .key = key, .query = query,
			  .body = buf, .body_len = len };
	int ret;

	snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s", part, id);
	free(id);
	buf_init(&k.answer, ANSWER_MAX);
	if ((ret = request(c, &k, res)) == 0)
		snprintf(etag, etag_len, "%s", k.etag);
	call_release(&k);
	return ret;
}

/* Appends s with XML's five characters escaped. */
static int
xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;"
			      : *s == '>' ? "&gt;" : *s == '"' ? "&quot;"
			      : *s == '\'' ? "&apos;" : NULL;

		if (e ? buf_puts(b, e) < 0 : buf_append(b, s, 1) < 0)
			return -1;
	}
	return 0;
}

int
s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		const char *const *etags, int n, struct s3_result *res)
{
	char *id = encoded(upload_id, false), query[1024];
	struct call k = { .method = "POST", .key = key, .query = query };
	struct buf body;
	int ret = -1;

	snprintf(query, sizeof(query), "uploadId=%s", id);
	free(id);
	buf_init(&body, ANSWER_MAX);
	if (buf_puts(&body, "<CompleteMultipartUpload>") < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>",
			       i + 1) < 0 ||
		    xml_escape(&body, etags[i]) < 0 ||
		    buf_puts(&body, "</ETag></Part>") < 0)
			goto out;
	if (buf_puts(&body, "</CompleteMultipartUpload>") < 0)
		goto out;
	k.body = body.data;
	k.body_len = body.len;
	buf_init(&k.answer, ANSWER_MAX);
	ret = request_whole(c, &k, res);
	call_release(&k);
out:
	buf_release(&body);
	return ret;
}

static int
mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
	  struct s3_result *res)
{
	char *id = encoded(upload_id, false), query[1024];
	struct call k = { .method = "DELETE", .key = key, .query = query };
	int ret;

	snprintf(query, sizeof(query), "uploadId=%s", id);
	free(id);
	buf_init(&k.answer, ANSWER_MAX);
	ret = request(c, &k, res);
	call_release(&k);
	return ret == 0 || res->kind == S3_NOT_FOUND ? 0 : -1;
}

int
s3_copy_parts(struct s3_client *c, const char *from, const char *to,
	      uint64_t size, size_t part, struct s3_result *res)
{
	char *src = copy_source(c, from), *upload_id = NULL, *id, range[80];
	char query[1024];
	int n = (int)((size + part - 1) / part), ret = -1;
	char (*etags)[128] = xmalloc((size_t)n * sizeof(*etags));
	const char **list = xmalloc((size_t)n * sizeof(char *));
	struct s3_result ignored;

	if (s3_mpu_create(c, to, &upload_id, res) < 0)
		goto out;
	id = encoded(upload_id, false);
	for (int i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * part;
		uint64_t end = off + part > size ? size : off + part;
		struct sigv4_header h[2] = { { "x-amz-copy-source", src },
					     { "x-amz-copy-source-range", range } };
		struct call k = { .method = "PUT", .key = to, .query = query,
				  .headers = h, .n_headers = 2 };
		xmlDoc *doc;
		const char *etag = NULL;

		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
			 off, end - 1);
		snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s",
			 i + 1, id);
		buf_init(&k.answer, ANSWER_MAX);
		ret = request(c, &k, res);
		doc = ret == 0 ? parse(&k.answer) : NULL;
		if (doc)
			etag = child_text(xmlDocGetRootElement(doc), "ETag");
		if (ret == 0 && etag == NULL)
			ret = -1;
		if (ret == 0)
			snprintf(etags[i], sizeof(etags[i]), "%s", etag);
		list[i] = etags[i];
		xmlFreeDoc(doc);
		call_release(&k);
		if (ret < 0)
			break;
	}
	free(id);
	if (ret == 0)
		ret = s3_mpu_complete(c, to, upload_id, list, n, res);
	if (ret < 0)
		(void)mpu_abort(c, to, upload_id, &ignored);
out:
	free(upload_id);
	free(src);
	free(etags);
	free(list);
	return ret;
}

static time_t
iso_time(const char *s)
{
	struct tm tm = { 0 };

	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/* One page of a list (ListObjectsV2 or ListMultipartUploads): fn for
 * each item; the next page's query, or NULL at the end (malloc'd). */
static char *
list_page(xmlNode *root, bool uploads, s3_key_fn *fn, void *arg,
	  const char *prefix)
{
	const char *trunc = child_text(root, "IsTruncated");
	struct buf q;
	char *p;

	for (xmlNode *n = root->children; n != NULL; n = n->next) {
		const char *key, *size;

		if (n->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)n->name, uploads ? "Upload"
							  : "Contents"))
			continue;
		if ((key = child_text(n, "Key")) == NULL)
			continue;
		if (uploads) {
			fn(key, 0, iso_time(child_text(n, "Initiated")), arg);
			continue;
		}
		size = child_text(n, "Size");
		fn(key, size ? strtoull(size, NULL, 10) : 0,
		   iso_time(child_text(n, "LastModified")), arg);
	}
	if (trunc == NULL || strcmp(trunc, "true") != 0)
		return NULL;
	buf_init(&q, ANSWER_MAX);
	p = encoded(prefix, false);
	if (uploads) {
		const char *km = child_text(root, "NextKeyMarker");
		const char *um = child_text(root, "NextUploadIdMarker");
		char *a = encoded(km ? km : "", false);
		char *b = encoded(um ? um : "", false);

		if (buf_printf(&q, "key-marker=%s&prefix=%s&upload-id-marker=%s"
			       "&uploads=", a, p, b) < 0)
			buf_release(&q);
		free(a);
		free(b);
	} else {
		const char *t = child_text(root, "NextContinuationToken");
		char *a = encoded(t ? t : "", false);

		if (buf_printf(&q, "continuation-token=%s&list-type=2&prefix=%s",
			       a, p) < 0)
			buf_release(&q);
		free(a);
	}
	free(p);
	return q.data ? buf_detach(&q, NULL) : NULL;
}

static int
list(struct s3_client *c, const char *prefix, bool uploads, s3_key_fn *fn,
     void *arg)
{
	char *p = encoded(prefix, false), *query;
	struct s3_result res;
	struct buf q;
	int ret = 0;

	buf_init(&q, ANSWER_MAX);
	if (buf_printf(&q, uploads ? "prefix=%s&uploads=" : "list-type=2&prefix=%s",
		       p) < 0) {
		free(p);
		return -1;
	}
	free(p);
	query = buf_detach(&q, NULL);
	while (query != NULL && ret == 0) {
		struct call k = { .method = "GET", .query = query };
		xmlDoc *doc = NULL;
		char *next = NULL;

		buf_init(&k.answer, ANSWER_MAX);
		if (request(c, &k, &res) < 0 ||
		    (doc = parse(&k.answer)) == NULL) {
			log_warnx("s3: list %s: %s", prefix, res.message);
			ret = -1;
		} else {
			next = list_page(xmlDocGetRootElement(doc), uploads, fn,
					 arg, prefix);
		}
		xmlFreeDoc(doc);
		call_release(&k);
		free(query);
		query = next;
	}
	free(query);
	return ret;
}

int
s3_list_objects(struct s3_client *c, const char *prefix, s3_key_fn *fn,
		void *arg)
{
	return list(c, prefix, false, fn, arg);
}

int
s3_mpu_list(struct s3_client *c, const char *prefix, s3_key_fn *fn,
	    void *arg)
{
	return list(c, prefix, true, fn, arg);
}

/* Keys collected from a list, for the batched deletes. */
struct keys {
	char **k;
	size_t n, cap;
};

static void
collect_key(const char *key, uint64_t size, time_t mtime, void *arg)
{
	struct keys *ks = arg;

	(void)size;
	(void)mtime;
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 16;
		ks->k = xrealloc(ks->k, ks->cap * sizeof(char *));
	}
	ks->k[ks->n++] = xstrdup(key);
}

static void
keys_release(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
}

int
s3_delete_objects(struct s3_client *c, const char *const *keys, size_t n,
		  bool *gone)
{
	struct call k = { .method = "POST", .query = "delete=" };
	struct sigv4_header h = { "content-md5", NULL };
	unsigned char md5[16];
	char b64[32];
	struct s3_result res;
	struct buf body;
	xmlDoc *doc = NULL;
	int ret = -1;

	for (size_t i = 0; i < n; i++)
		gone[i] = false;
	if (n == 0)
		return 0;
	buf_init(&body, ANSWER_MAX);
	if (buf_puts(&body, "<Delete><Quiet>true</Quiet>") < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (buf_puts(&body, "<Object><Key>") < 0 ||
		    xml_escape(&body, keys[i]) < 0 ||
		    buf_puts(&body, "</Key></Object>") < 0)
			goto out;
	if (buf_puts(&body, "</Delete>") < 0)
		goto out;
	/* DeleteObjects requires Content-MD5. */
	EVP_Digest(body.data, body.len, md5, NULL, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)b64, md5, 16);
	h.value = b64;
	k.headers = &h;
	k.n_headers = 1;
	k.body = body.data;
	k.body_len = body.len;
	buf_init(&k.answer, ANSWER_MAX);
	if (request(c, &k, &res) < 0) {
		log_warnx("s3: DeleteObjects: %s", res.message);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		gone[i] = true;
	/* Quiet: only the failures are listed. */
	ret = 0;
	if ((doc = parse(&k.answer)) != NULL) {
		xmlNode *root = xmlDocGetRootElement(doc);

		for (xmlNode *e = root ? root->children : NULL; e; e = e->next) {
			const char *key;

			if (e->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)e->name, "Error") ||
			    (key = child_text(e, "Key")) == NULL)
				continue;
			for (size_t i = 0; i < n; i++)
				if (strcmp(keys[i], key) == 0)
					gone[i] = false;
			log_warnx("s3: could not delete %s: %s", key,
				  child_text(e, "Code") ? child_text(e, "Code")
							: "error");
			ret = -1;
		}
	}
out:
	xmlFreeDoc(doc);
	call_release(&k);
	buf_release(&body);
	return ret;
}

int
s3_delete_prefix(struct s3_client *c, const char *prefix)
{
	struct keys ks = { 0 };
	int ret = s3_list_objects(c, prefix, collect_key, &ks);

	for (size_t i = 0; i < ks.n && ret == 0; i += 1000) {
		size_t n = ks.n - i < 1000 ? ks.n - i : 1000;
		bool *gone = xmalloc(n);

		ret = s3_delete_objects(c, (const char *const *)ks.k + i, n,
					gone);
		free(gone);
	}
	keys_release(&ks);
	return ret;
}

int
s3_mpu_abort_all(struct s3_client *c, const char *prefix)
{
	char *p = encoded(prefix, false), query[2048];
	struct call k = { .method = "GET", .query = query };
	struct s3_result res;
	xmlDoc *doc = NULL;
	int ret = 0;

	/* One page: an upload has one multipart upload at a time. */
	snprintf(query, sizeof(query), "prefix=%s&uploads=", p);
	free(p);
	buf_init(&k.answer, ANSWER_MAX);
	if (request(c, &k, &res) < 0 || (doc = parse(&k.answer)) == NULL) {
		call_release(&k);
		return -1;
	}
	for (xmlNode *n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
		const char *key, *id;

		if (n->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)n->name, "Upload") ||
		    (key = child_text(n, "Key")) == NULL ||
		    (id = child_text(n, "UploadId")) == NULL)
			continue;
		if (mpu_abort(c, key, id, &res) < 0)
			ret = -1;
	}
	xmlFreeDoc(doc);
	call_release(&k);
	return ret;
}

char *
s3_presign_get(struct s3_client *c, const char *key, unsigned expires)
{
	struct buf path, host, url;
	char *q, *out = NULL;

	buf_init(&path, ANSWER_MAX);
	buf_init(&host, 4096);
	buf_init(&url, ANSWER_MAX);
	if (target(c, key, &path, &host) < 0 || buf_append(&host, "", 0) < 0 ||
	    buf_append(&path, "", 0) < 0)
		goto out;
	{
		struct sigv4_req r = { "GET", host.data, path.data, NULL, NULL,
				       0, "UNSIGNED-PAYLOAD", time(NULL) };

		if ((q = sigv4_presign(&c->creds, &r, expires)) == NULL)
			goto out;
	}
	if (buf_printf(&url, "%s://%s%s?%s", c->scheme, host.data, path.data,
		       q) == 0)
		out = buf_detach(&url, NULL);
	free(q);
out:
	buf_release(&path);
	buf_release(&host);
	buf_release(&url);
	return out;
}
