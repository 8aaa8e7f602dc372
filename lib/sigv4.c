/*
 * AWS Signature Version 4 (see sigv4.h). Strings are built in bounded
 * buffers; a request larger than SIGV4_MAX is refused, not signed.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sigv4.h"

#define SIGV4_MAX (1u << 20)
#define ALGORITHM "AWS4-HMAC-SHA256"

static const char hexdig[] = "0123456789ABCDEF";

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

/* Appends s[0..n) percent-encoded the way AWS canonicalizes a query. */
static int
encode(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3] = { '%', hexdig[c >> 4], hexdig[c & 15] };

		if (unreserved(c) ? buf_append(b, s + i, 1) < 0
				  : buf_append(b, e, 3) < 0)
			return -1;
	}
	return 0;
}

/* Decodes %XX in s[0..n) into a malloc'd string, *len its length. */
static char *
decode(const char *s, size_t n, size_t *len)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n &&
		    (hi = util_hexval(s[i + 1])) >= 0 &&
		    (lo = util_hexval(s[i + 2])) >= 0) {
			out[k++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	*len = k;
	return out;
}

struct pair {
	char *name, *value;	/* encoded */
};

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* One encoded piece of a query (name or value), malloc'd. */
static char *
reencode(const char *s, size_t n)
{
	struct buf b;
	size_t len;
	char *raw = decode(s, n, &len);

	buf_init(&b, SIGV4_MAX);
	if (encode(&b, raw, len) < 0 || buf_append(&b, "", 0) < 0) {
		free(raw);
		buf_release(&b);
		return NULL;
	}
	free(raw);
	return buf_detach(&b, NULL);
}

/* Appends the canonical form of query: pairs encoded, then sorted. */
static int
canonical_query(struct buf *out, const char *query)
{
	struct pair *pairs = NULL;
	size_t n = 0, cap = 0;
	const char *p = query;
	int ret = 0;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&'), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		eq = memchr(p, '=', len);
		if (len > 0) {
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				pairs = xrealloc(pairs, cap * sizeof(*pairs));
			}
			pairs[n].name = reencode(p, eq ? (size_t)(eq - p) : len);
			pairs[n].value = eq ? reencode(eq + 1, len - (size_t)(eq - p) - 1)
					    : xstrdup("");
			n++;
			if (pairs[n - 1].name == NULL || pairs[n - 1].value == NULL)
				ret = -1;
		}
		p = end ? end + 1 : NULL;
	}
	if (ret == 0 && n > 1)
		qsort(pairs, n, sizeof(*pairs), pair_cmp);
	for (size_t i = 0; i < n && ret == 0; i++)
		if (buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].name,
			       pairs[i].value) < 0)
			ret = -1;
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	return ret;
}

struct hdr {
	char *name;	/* lower-cased */
	const char *value;
	size_t order;
};

static int
hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends value trimmed, runs of spaces and tabs folded to one space. */
static int
fold(struct buf *b, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = any;
			continue;
		}
		if ((space && buf_append(b, " ", 1) < 0) ||
		    buf_append(b, v, 1) < 0)
			return -1;
		space = false;
		any = true;
	}
	return 0;
}

/* The headers to sign, sorted; canonical lines into canon, names into
 * names. */
static int
canonical_headers(struct buf *canon, struct buf *names, const struct hdr *h,
		  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;

		if (same) {
			if (buf_append(canon, ",", 1) < 0)
				return -1;
		} else {
			if ((i > 0 && buf_append(canon, "\n", 1) < 0) ||
			    buf_printf(canon, "%s:", h[i].name) < 0 ||
			    buf_printf(names, "%s%s", i ? ";" : "",
				       h[i].name) < 0)
				return -1;
		}
		if (fold(canon, h[i].value) < 0)
			return -1;
	}
	return n > 0 ? buf_append(canon, "\n", 1) : 0;
}

static bool
clean(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	util_hex(out, md, sizeof(md));
}

static void
hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
	     strlen(msg), out, &n);
}

/* The scope's date ("20150830") and the signature of sts into sig. */
static void
signature(const struct sigv4_creds *c, const char *date, const char *sts,
	  char sig[65])
{
	unsigned char k[32];
	size_t slen = strlen(c->secret_key) + 5;
	char *secret = xmalloc(slen);

	snprintf(secret, slen, "AWS4%s", c->secret_key);
	hmac(secret, strlen(secret), date, k);
	OPENSSL_cleanse(secret, slen);
	free(secret);
	hmac(k, 32, c->region, k);
	hmac(k, 32, c->service, k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, sts, k);
	util_hex(sig, k, 32);
	OPENSSL_cleanse(k, sizeof(k));
}

/*
 * The canonical request, string to sign and signature of r, with the
 * query given (r->query, or the presigned one) and the headers to sign
 * (presign: no x-amz-date header, it is in the query).
 */
static int
sign(const struct sigv4_creds *c, const struct sigv4_req *r,
     const char *query, bool date_header, struct sigv4_result *out)
{
	size_t n = r->n_headers + 3, k = 0;
	struct hdr *h = xmalloc(n * sizeof(*h));
	struct buf creq, hdrs, names, sts;
	char hash[65], date[9];
	int ret = -1;

	buf_init(&creq, SIGV4_MAX);
	buf_init(&hdrs, SIGV4_MAX);
	buf_init(&names, SIGV4_MAX);
	buf_init(&sts, SIGV4_MAX);
	h[k++] = (struct hdr){ xstrdup("host"), r->host, 0 };
	if (date_header)
		h[k++] = (struct hdr){ xstrdup("x-amz-date"), out->amz_date, 1 };
	if (date_header && c->session_token != NULL && *c->session_token)
		h[k++] = (struct hdr){ xstrdup("x-amz-security-token"),
				       c->session_token, 2 };
	for (size_t i = 0; i < r->n_headers; i++) {
		if (!clean(r->headers[i].name) || !clean(r->headers[i].value))
			goto out_h;
		h[k] = (struct hdr){ xstrdup(r->headers[i].name),
				     r->headers[i].value, k };
		for (char *p = h[k].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		k++;
	}
	qsort(h, k, sizeof(*h), hdr_cmp);
	memcpy(date, out->amz_date, 8);
	date[8] = '\0';
	if (buf_printf(&creq, "%s\n%s\n", r->method, *r->path ? r->path : "/") <
		    0 ||
	    canonical_query(&creq, query) < 0 ||
	    buf_append(&creq, "\n", 1) < 0 ||
	    canonical_headers(&hdrs, &names, h, k) < 0 ||
	    buf_append(&names, "", 0) < 0 ||
	    buf_printf(&creq, "%s\n%s\n%s", hdrs.data ? hdrs.data : "",
		       names.data, r->payload_hash) < 0)
		goto out_h;
	sha256_hex(creq.data, creq.len, hash);
	if (buf_printf(&sts, ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s",
		       out->amz_date, date, c->region, c->service, hash) < 0)
		goto out_h;
	signature(c, date, sts.data, out->signature);
	out->canonical_request = buf_detach(&creq, NULL);
	out->string_to_sign = buf_detach(&sts, NULL);
	out->signed_headers = buf_detach(&names, NULL);
	ret = 0;
out_h:
	for (size_t i = 0; i < k; i++)
		free(h[i].name);
	free(h);
	buf_release(&creq);
	buf_release(&hdrs);
	buf_release(&names);
	buf_release(&sts);
	return ret;
}

static bool
valid(const struct sigv4_creds *c, const struct sigv4_req *r)
{
	return c->access_key && c->secret_key && c->region && c->service &&
	       clean(r->method) && *r->method && clean(r->host) && *r->host &&
	       clean(r->path) && r->payload_hash && clean(r->payload_hash) &&
	       (r->query == NULL || clean(r->query));
}

static void
set_date(time_t when, char out[17])
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int
sigv4_sign(const struct sigv4_creds *c, const struct sigv4_req *r,
	   struct sigv4_result *out)
{
	struct buf a;

	*out = (struct sigv4_result){ 0 };
	if (!valid(c, r))
		return -1;
	set_date(r->when, out->amz_date);
	if (sign(c, r, r->query, true, out) < 0)
		return -1;
	buf_init(&a, SIGV4_MAX);
	if (buf_printf(&a, ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
		       "SignedHeaders=%s, Signature=%s", c->access_key,
		       out->amz_date, c->region, c->service,
		       out->signed_headers, out->signature) < 0) {
		buf_release(&a);
		sigv4_result_release(out);
		return -1;
	}
	out->authorization = buf_detach(&a, NULL);
	return 0;
}

char *
sigv4_presign(const struct sigv4_creds *c, const struct sigv4_req *r,
	      unsigned expires)
{
	struct sigv4_result res = { 0 };
	struct sigv4_req host_only = *r;
	struct buf q, cred;
	const char *l, *e;
	char *url = NULL;

	if (!valid(c, r) || expires < 1 || expires > 604800)
		return NULL;
	set_date(r->when, res.amz_date);
	buf_init(&q, SIGV4_MAX);
	buf_init(&cred, SIGV4_MAX);
	if (buf_printf(&cred, "%s/%.8s/%s/%s/aws4_request", c->access_key,
		       res.amz_date, c->region, c->service) < 0 ||
	    buf_printf(&q, "%s%sX-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=",
		       r->query && *r->query ? r->query : "",
		       r->query && *r->query ? "&" : "") < 0 ||
	    encode(&q, cred.data, cred.len) < 0 ||
	    buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%u", res.amz_date,
		       expires) < 0)
		goto out;
	if (c->session_token != NULL && *c->session_token &&
	    (buf_puts(&q, "&X-Amz-Security-Token=") < 0 ||
	     encode(&q, c->session_token, strlen(c->session_token)) < 0))
		goto out;
	/* A presigned URL signs the host alone: its user sends no more. */
	host_only.headers = NULL;
	host_only.n_headers = 0;
	if (buf_puts(&q, "&X-Amz-SignedHeaders=host") < 0 ||
	    sign(c, &host_only, q.data, false, &res) < 0)
		goto out;
	/* The query as signed (the canonical request's third line), then
	 * the signature. */
	buf_release(&q);
	buf_init(&q, SIGV4_MAX);
	l = strchr(res.canonical_request, '\n');
	l = l ? strchr(l + 1, '\n') : NULL;
	e = l ? strchr(l + 1, '\n') : NULL;
	if (e == NULL || buf_append(&q, l + 1, (size_t)(e - l - 1)) < 0 ||
	    buf_printf(&q, "&X-Amz-Signature=%s", res.signature) < 0)
		goto out;
	url = buf_detach(&q, NULL);
out:
	sigv4_result_release(&res);
	buf_release(&q);
	buf_release(&cred);
	return url;
}

void
sigv4_result_release(struct sigv4_result *out)
{
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->signed_headers);
	free(out->authorization);
	*out = (struct sigv4_result){ 0 };
}
