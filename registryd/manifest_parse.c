/*
 * Manifest parsing and validation (see manifest_parse.h). The body is
 * untrusted and fuzzed: every field is type-checked before use, arrays are
 * counted before anything is allocated, and every failure path releases
 * what was built so far through manifest_info_release(). Unknown fields
 * are ignored, as the image spec asks.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "digest.h"
#include "log.h"
#include "manifest_parse.h"
#include "util.h"

/* A bound on layers or children, far above any real image. */
#define MF_MAX_ENTRIES 10000

/* Longest media type we will look at; RFC 6838 allows 127 + 1 + 127. */
#define MF_TYPE_MAX 256

/* How much of an offending value a detail message quotes: a sha512 digest. */
#define MF_QUOTE_MAX DIGEST_MAX

struct mf_parse {
	char *detail;
	size_t detail_len;
};

static enum reg_error
mf_fail(struct mf_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum reg_error
mf_fail(struct mf_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->detail != NULL && p->detail_len > 0) {
		va_start(ap, fmt);
		vsnprintf(p->detail, p->detail_len, fmt, ap);
		va_end(ap);
	}
	return E_MANIFEST_INVALID;
}

/*
 * Copies s into buf for quoting in a detail message: printable ASCII only
 * (the detail reaches logs and clients), cut short with "..." when long.
 * Double quotes become '?' too unless keep_quotes, so a value quoted in
 * the message cannot seem to end early.
 */
static const char *
mf_quote(char *buf, size_t n, const char *s, bool keep_quotes)
{
	size_t i = 0;

	for (; *s != '\0' && i + 4 < n && i < MF_QUOTE_MAX; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || (c == '"' && !keep_quotes))
			c = '?';
		buf[i++] = (char)c;
	}
	if (*s != '\0' && i + 4 <= n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * Writes the media type of a Content-Type header into buf: parameters and
 * surrounding whitespace dropped, lowercased (media types are
 * case-insensitive). Leaves buf empty when the header says nothing useful:
 * absent, empty, or one of the generic types clients send by default.
 * Returns -1 when the type is too long to be one we know.
 */
static int
mf_header_type(const char *ct, char *buf, size_t n)
{
	const char *end;
	size_t len;

	buf[0] = '\0';
	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	end = ct + strcspn(ct, ";");
	while (end > ct && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - ct);
	if (len >= n)
		return -1;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)ct[i]);
	buf[len] = '\0';
	if (strcmp(buf, "application/json") == 0 ||
	    strcmp(buf, "application/octet-stream") == 0)
		buf[0] = '\0';
	return 0;
}

/*
 * Maps an effective media type to the canonical constant and its kind;
 * NULL for a type we do not accept (the detail is then set).
 */
static const char *
mf_classify(struct mf_parse *p, const char *mt, enum mf_kind *kind)
{
	static const struct {
		const char *type;
		enum mf_kind kind;
	} known[] = {
		{ MT_OCI_MANIFEST, MF_KIND_IMAGE },
		{ MT_OCI_INDEX, MF_KIND_INDEX },
		{ MT_DOCKER_MANIFEST, MF_KIND_IMAGE },
		{ MT_DOCKER_LIST, MF_KIND_INDEX },
	};
	char q[MF_QUOTE_MAX + 8];

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (strcmp(mt, known[i].type) == 0) {
			*kind = known[i].kind;
			return known[i].type;
		}
	}
	if (strcmp(mt, "application/vnd.docker.distribution.manifest.v1+json")
		    == 0 ||
	    strcmp(mt, "application/vnd.docker.distribution.manifest.v1"
		       "+prettyjws") == 0)
		mf_fail(p, "docker schema1 manifests are not supported");
	else
		mf_fail(p, "unknown media type \"%s\"",
			mf_quote(q, sizeof(q), mt, false));
	return NULL;
}

/* An optional member that, when present, must be a string. */
static enum reg_error
mf_opt_string(struct mf_parse *p, json_t *obj, const char *where,
	      const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return E_NONE;
	if (!json_is_string(v))
		return mf_fail(p, "%s%s is not a string", where, key);
	*out = json_string_value(v);
	return E_NONE;
}

/* An optional annotations object: string keys to string values. */
static enum reg_error
mf_check_annotations(struct mf_parse *p, json_t *obj, const char *where)
{
	json_t *ann = json_object_get(obj, "annotations");
	const char *key;
	json_t *v;
	char q[MF_QUOTE_MAX + 8];

	if (ann == NULL)
		return E_NONE;
	if (!json_is_object(ann))
		return mf_fail(p, "%sannotations is not an object", where);
	json_object_foreach(ann, key, v) {
		if (!json_is_string(v))
			return mf_fail(p, "%sannotation \"%s\" is not a string",
				       where,
				       mf_quote(q, sizeof(q), key, false));
	}
	return E_NONE;
}

/* A descriptor's optional platform (index entries): os and architecture. */
static enum reg_error
mf_check_platform(struct mf_parse *p, json_t *obj, const char *where)
{
	json_t *plat = json_object_get(obj, "platform");

	if (plat == NULL)
		return E_NONE;
	if (!json_is_object(plat))
		return mf_fail(p, "%splatform is not an object", where);
	if (!json_is_string(json_object_get(plat, "architecture")))
		return mf_fail(p, "%splatform.architecture is missing or "
			       "not a string", where);
	if (!json_is_string(json_object_get(plat, "os")))
		return mf_fail(p, "%splatform.os is missing or not a string",
			       where);
	return E_NONE;
}

static enum reg_error
mf_parse_urls(struct mf_parse *p, json_t *obj, const char *where,
	      struct mf_descriptor *d)
{
	json_t *urls = json_object_get(obj, "urls");
	size_t n;

	if (urls == NULL)
		return E_NONE;
	if (!json_is_array(urls))
		return mf_fail(p, "%surls is not an array", where);
	n = json_array_size(urls);
	if (n > MF_MAX_ENTRIES)
		return mf_fail(p, "%surls has more than %d entries", where,
			       MF_MAX_ENTRIES);
	for (size_t i = 0; i < n; i++) {
		json_t *u = json_array_get(urls, i);

		if (!json_is_string(u) || json_string_length(u) == 0)
			return mf_fail(p, "%surls[%zu] is not a non-empty "
				       "string", where, i);
	}
	d->urls = xcalloc(n, sizeof(*d->urls));
	for (size_t i = 0; i < n; i++) {
		json_t *u = json_array_get(urls, i);

		d->urls[i] = xstrdup(json_string_value(u));
		d->n_urls = i + 1;
	}
	return E_NONE;
}

/*
 * Validates one descriptor and fills *d, which the caller has zeroed and
 * releases whatever happens. where prefixes detail messages: "layers[2]: ".
 */
static enum reg_error
mf_parse_descriptor(struct mf_parse *p, json_t *obj, const char *where,
		    struct mf_descriptor *d)
{
	json_t *mt, *dg, *sz;
	const char *at;
	enum digest_alg alg;
	enum reg_error err;
	char q[MF_QUOTE_MAX + 8];

	if (!json_is_object(obj))
		return mf_fail(p, "%sdescriptor is not an object", where);
	mt = json_object_get(obj, "mediaType");
	if (!json_is_string(mt) || json_string_length(mt) == 0)
		return mf_fail(p, "%smediaType is missing or not a non-empty "
			       "string", where);
	dg = json_object_get(obj, "digest");
	if (!json_is_string(dg))
		return mf_fail(p, "%sdigest is missing or not a string", where);
	if (digest_parse(json_string_value(dg), &alg) != DIGEST_OK)
		return mf_fail(p, "%sdigest \"%s\" is invalid", where,
			       mf_quote(q, sizeof(q), json_string_value(dg),
					false));
	sz = json_object_get(obj, "size");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return mf_fail(p, "%ssize is missing or not an integer >= 0",
			       where);
	if ((err = mf_opt_string(p, obj, where, "artifactType", &at)) != E_NONE)
		return err;
	if ((err = mf_check_annotations(p, obj, where)) != E_NONE)
		return err;
	if ((err = mf_check_platform(p, obj, where)) != E_NONE)
		return err;
	d->media_type = xstrdup(json_string_value(mt));
	d->digest = xstrdup(json_string_value(dg));
	d->size = (int64_t)json_integer_value(sz);
	if (at != NULL && at[0] != '\0')
		d->artifact_type = xstrdup(at);
	return mf_parse_urls(p, obj, where, d);
}

/* A required array of descriptors, e.g. "layers" or "manifests". */
static enum reg_error
mf_parse_list(struct mf_parse *p, json_t *doc, const char *key,
	      struct mf_descriptor **out, size_t *n_out)
{
	json_t *arr = json_object_get(doc, key);
	size_t n;
	enum reg_error err;
	char where[64];

	if (arr == NULL)
		return mf_fail(p, "%s is missing", key);
	if (!json_is_array(arr))
		return mf_fail(p, "%s is not an array", key);
	n = json_array_size(arr);
	if (n > MF_MAX_ENTRIES)
		return mf_fail(p, "%s has more than %d entries", key,
			       MF_MAX_ENTRIES);
	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		/* Counted first, so a failure releases the partial entry. */
		*n_out = i + 1;
		snprintf(where, sizeof(where), "%s[%zu]: ", key, i);
		err = mf_parse_descriptor(p, json_array_get(arr, i), where,
					  &(*out)[i]);
		if (err != E_NONE)
			return err;
	}
	return E_NONE;
}

/*
 * Decides the effective media type from the header and the body's
 * mediaType, inferring it from the shape of the body when neither says.
 */
static enum reg_error
mf_media_type(struct mf_parse *p, json_t *doc, const char *content_type,
	      struct manifest_info *mi)
{
	char hdr[MF_TYPE_MAX];
	char q1[MF_QUOTE_MAX + 8], q2[MF_QUOTE_MAX + 8];
	json_t *body_mt = json_object_get(doc, "mediaType");
	const char *mt = NULL, *canon;

	if (mf_header_type(content_type, hdr, sizeof(hdr)) < 0)
		return mf_fail(p, "content type is too long");
	if (body_mt != NULL && !json_is_string(body_mt))
		return mf_fail(p, "mediaType is not a string");
	if (hdr[0] != '\0') {
		mt = hdr;
		if (body_mt != NULL &&
		    strcmp(json_string_value(body_mt), hdr) != 0)
			return mf_fail(p, "mediaType \"%s\" does not match "
				       "content type \"%s\"",
				       mf_quote(q1, sizeof(q1),
						json_string_value(body_mt),
						false),
				       mf_quote(q2, sizeof(q2), hdr, false));
	} else if (body_mt != NULL) {
		mt = json_string_value(body_mt);
	} else if (json_is_integer(json_object_get(doc, "schemaVersion")) &&
		   json_integer_value(json_object_get(doc, "schemaVersion"))
			   == 1) {
		return mf_fail(p, "docker schema1 manifests are not supported");
	} else if (json_object_get(doc, "manifests") != NULL) {
		mt = MT_OCI_INDEX;
	} else if (json_object_get(doc, "config") != NULL) {
		mt = MT_OCI_MANIFEST;
	} else {
		return mf_fail(p, "no mediaType, and neither config nor "
			       "manifests to tell the type by");
	}
	if ((canon = mf_classify(p, mt, &mi->kind)) == NULL)
		return E_MANIFEST_INVALID;
	mi->media_type = xstrdup(canon);
	return E_NONE;
}

static enum reg_error
mf_parse_doc(struct mf_parse *p, json_t *doc, const char *content_type,
	     struct manifest_info *mi)
{
	json_t *sv, *subject, *ann;
	const char *at;
	enum reg_error err;

	if (!json_is_object(doc))
		return mf_fail(p, "manifest is not a json object");
	if ((err = mf_media_type(p, doc, content_type, mi)) != E_NONE)
		return err;
	sv = json_object_get(doc, "schemaVersion");
	if (sv == NULL)
		return mf_fail(p, "schemaVersion is missing");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return mf_fail(p, "schemaVersion must be the integer 2");

	if (mi->kind == MF_KIND_IMAGE) {
		json_t *config = json_object_get(doc, "config");

		if (config == NULL)
			return mf_fail(p, "config is missing");
		err = mf_parse_descriptor(p, config, "config: ", &mi->config);
		if (err == E_NONE)
			err = mf_parse_list(p, doc, "layers", &mi->layers,
					    &mi->n_layers);
	} else {
		err = mf_parse_list(p, doc, "manifests", &mi->manifests,
				    &mi->n_manifests);
	}
	if (err != E_NONE)
		return err;

	if ((subject = json_object_get(doc, "subject")) != NULL) {
		mi->subject = xcalloc(1, sizeof(*mi->subject));
		err = mf_parse_descriptor(p, subject, "subject: ", mi->subject);
		if (err != E_NONE)
			return err;
	}
	if ((err = mf_opt_string(p, doc, "", "artifactType", &at)) != E_NONE)
		return err;
	/* The referrers API's rule: an empty artifactType counts as none. */
	if (at != NULL && at[0] != '\0')
		mi->artifact_type = xstrdup(at);
	else if (mi->kind == MF_KIND_IMAGE)
		mi->artifact_type = xstrdup(mi->config.media_type);

	if ((err = mf_check_annotations(p, doc, "")) != E_NONE)
		return err;
	if ((ann = json_object_get(doc, "annotations")) != NULL) {
		char *s = json_dumps(ann, JSON_COMPACT);

		if (s == NULL)
			fatalx("out of memory serialising annotations");
		mi->annotations = xstrdup(s);
		free(s);
	}
	return E_NONE;
}

enum reg_error
manifest_parse(const char *body, size_t len, const char *content_type,
	       struct manifest_info *out, char *detail, size_t detail_len)
{
	struct mf_parse p = { detail, detail_len };
	json_error_t jerr;
	json_t *doc = NULL;
	enum reg_error err;
	char q[MF_QUOTE_MAX + 8];

	memset(out, 0, sizeof(*out));
	if (detail != NULL && detail_len > 0)
		detail[0] = '\0';
	if (len > MANIFEST_MAX) {
		err = mf_fail(&p, "manifest is larger than %u bytes",
			      MANIFEST_MAX);
		goto out;
	}
	if (body == NULL || len == 0) {
		err = mf_fail(&p, "manifest is empty");
		goto out;
	}
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		err = mf_fail(&p, "invalid json at line %d column %d: %s",
			      jerr.line, jerr.column,
			      mf_quote(q, sizeof(q), jerr.text, true));
		goto out;
	}
	err = mf_parse_doc(&p, doc, content_type, out);
out:
	if (err != E_NONE)
		manifest_info_release(out);
	json_decref(doc);
	return err;
}

static void
mf_descriptor_release(struct mf_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->artifact_type);
	for (size_t i = 0; i < d->n_urls; i++)
		free(d->urls[i]);
	free(d->urls);
	memset(d, 0, sizeof(*d));
}

void
manifest_info_release(struct manifest_info *mi)
{
	free(mi->media_type);
	free(mi->artifact_type);
	mf_descriptor_release(&mi->config);
	for (size_t i = 0; i < mi->n_layers; i++)
		mf_descriptor_release(&mi->layers[i]);
	free(mi->layers);
	for (size_t i = 0; i < mi->n_manifests; i++)
		mf_descriptor_release(&mi->manifests[i]);
	free(mi->manifests);
	if (mi->subject != NULL)
		mf_descriptor_release(mi->subject);
	free(mi->subject);
	free(mi->annotations);
	memset(mi, 0, sizeof(*mi));
}
