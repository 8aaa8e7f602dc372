/*
 * Manifest parser tests, kept as data: every tests/data/manifest/valid
 * file must parse, and every invalid file is listed in invalid/cases.txt
 * with the content type to send and the error (and detail) expected.
 * A few checks on extracted fields and size limits follow in code.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_parse.h"
#include "digest.h"
#include "test.h"
#include "util.h"

#define DETAIL_LEN 256

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Parses tests/data/manifest/<rel>; E_INTERNAL if the file is missing. */
static enum reg_error
parse_file(const char *rel, const char *ct, struct manifest_info *mi,
	   char *detail)
{
	char *path = xasprintf("manifest/%s", rel);
	size_t len = 0;
	char *body = test_read_file(path, &len);
	enum reg_error err = E_INTERNAL;

	memset(mi, 0, sizeof(*mi));
	if (body == NULL)
		fprintf(stderr, "FAIL cannot read %s\n", path);
	else
		err = manifest_parse(body, len, ct, mi, detail, DETAIL_LEN);
	free(body);
	free(path);
	return err;
}

static bool
descriptor_ok(const struct mf_descriptor *d)
{
	enum digest_alg alg;

	if (d->media_type == NULL || d->media_type[0] == '\0' ||
	    d->digest == NULL || d->size < 0)
		return false;
	if (digest_parse(d->digest, &alg) != DIGEST_OK)
		return false;
	for (size_t i = 0; i < d->n_urls; i++)
		if (d->urls[i] == NULL)
			return false;
	return d->n_urls == 0 || d->urls != NULL;
}

/* What every successful parse must give, whatever the input. */
static bool
info_ok(const struct manifest_info *mi)
{
	if (mi->media_type == NULL)
		return false;
	if (mi->kind == MF_KIND_IMAGE) {
		if (!descriptor_ok(&mi->config) || mi->n_manifests != 0 ||
		    mi->artifact_type == NULL)
			return false;
		for (size_t i = 0; i < mi->n_layers; i++)
			if (!descriptor_ok(&mi->layers[i]))
				return false;
	} else {
		if (mi->config.digest != NULL || mi->n_layers != 0)
			return false;
		for (size_t i = 0; i < mi->n_manifests; i++)
			if (!descriptor_ok(&mi->manifests[i]))
				return false;
	}
	return mi->subject == NULL || descriptor_ok(mi->subject);
}

static bool
info_empty(const struct manifest_info *mi)
{
	return mi->media_type == NULL && mi->artifact_type == NULL &&
	       mi->layers == NULL && mi->n_layers == 0 &&
	       mi->manifests == NULL && mi->n_manifests == 0 &&
	       mi->subject == NULL && mi->annotations == NULL &&
	       mi->config.digest == NULL && mi->config.media_type == NULL;
}

/*
 * Each valid file parses without a content type (from its mediaType or by
 * inference), then again with the effective type sent as the header.
 */
static void
test_valid_files(void)
{
	char *dirpath = xasprintf("%s/manifest/valid", test_data_dir);
	DIR *dir = opendir(dirpath);
	struct dirent *de;
	int n = 0;

	CHECK(dir != NULL);
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		struct manifest_info mi, mi2;
		char detail[DETAIL_LEN];
		char *rel, *ct;
		enum reg_error err;

		if (!has_suffix(de->d_name, ".json"))
			continue;
		n++;
		rel = xasprintf("valid/%s", de->d_name);
		err = parse_file(rel, NULL, &mi, detail);
		CHECK(err == E_NONE);
		if (err != E_NONE) {
			fprintf(stderr, "  %s: %s\n", rel, detail);
			free(rel);
			continue;
		}
		CHECK(detail[0] == '\0');
		CHECK(info_ok(&mi));
		ct = xasprintf(" %s ; charset=utf-8", mi.media_type);
		err = parse_file(rel, ct, &mi2, detail);
		CHECK(err == E_NONE);
		if (err != E_NONE)
			fprintf(stderr, "  %s as %s: %s\n", rel, ct, detail);
		else
			CHECK(strcmp(mi.media_type, mi2.media_type) == 0);
		manifest_info_release(&mi2);
		manifest_info_release(&mi);
		CHECK(info_empty(&mi));
		free(ct);
		free(rel);
	}
	if (dir != NULL)
		closedir(dir);
	CHECK(n >= 15);
	free(dirpath);
}

/* Splits off the next whitespace-separated field of *s. */
static char *
next_field(char **s)
{
	char *p = *s + strspn(*s, " \t"), *start = p;

	p += strcspn(p, " \t\n");
	if (*p != '\0')
		*p++ = '\0';
	*s = p + strspn(p, " \t");
	return *start ? start : NULL;
}

/* One cases.txt line: "file content-type code [detail substring]". */
static void
check_invalid_case(char *line)
{
	char *file = next_field(&line), *ct = next_field(&line);
	char *code = next_field(&line), *want = line;
	char *rel, detail[DETAIL_LEN];
	struct manifest_info mi;
	enum reg_error err;

	CHECK(file != NULL && ct != NULL && code != NULL);
	if (file == NULL || ct == NULL || code == NULL)
		return;
	want[strcspn(want, "\n")] = '\0';
	rel = xasprintf("invalid/%s", file);
	err = parse_file(rel, strcmp(ct, "-") == 0 ? NULL : ct, &mi, detail);
	CHECK(err != E_NONE && strcmp(error_code(err), code) == 0);
	if (err == E_NONE || strcmp(error_code(err), code) != 0)
		fprintf(stderr, "  %s as %s: got %s (%s)\n", file, ct,
			error_code(err), err == E_NONE ? "" : detail);
	CHECK(info_empty(&mi));
	if (err != E_NONE && err != E_INTERNAL) {
		/* a detail always, lowercase, and the expected one */
		CHECK(detail[0] != '\0' && !isupper((unsigned char)detail[0]));
		CHECK(strstr(detail, want) != NULL);
		if (strstr(detail, want) == NULL)
			fprintf(stderr, "  %s: detail \"%s\" lacks \"%s\"\n",
				file, detail, want);
	}
	manifest_info_release(&mi);
	free(rel);
}

static void
test_invalid_files(void)
{
	size_t len;
	char *cases = test_read_file("manifest/invalid/cases.txt", &len);
	char *dirpath = xasprintf("%s/manifest/invalid", test_data_dir);
	char *line, *save = NULL;
	DIR *dir;
	struct dirent *de;
	int n = 0;

	CHECK(cases != NULL);
	if (cases == NULL)
		goto out;
	/* Every file in the directory must have a case, so none is skipped. */
	if ((dir = opendir(dirpath)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			char *needle;

			if (!has_suffix(de->d_name, ".json"))
				continue;
			needle = xasprintf("\n%s ", de->d_name);
			CHECK(strstr(cases, needle) != NULL);
			if (strstr(cases, needle) == NULL)
				fprintf(stderr, "  no case for %s\n",
					de->d_name);
			free(needle);
		}
		closedir(dir);
	}
	for (line = strtok_r(cases, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		check_invalid_case(line);
		n++;
	}
	CHECK(n >= 60);
out:
	free(dirpath);
	free(cases);
}

/* Fields extracted from a few real-looking documents. */
static void
test_fields(void)
{
	struct manifest_info mi;
	char detail[DETAIL_LEN];

	CHECK(parse_file("valid/docker-schema2.json", NULL, &mi, detail) ==
	      E_NONE);
	CHECK(mi.kind == MF_KIND_IMAGE);
	CHECK(strcmp(mi.media_type, MT_DOCKER_MANIFEST) == 0);
	CHECK(strcmp(mi.artifact_type,
		     "application/vnd.docker.container.image.v1+json") == 0);
	CHECK(mi.config.size == 7023);
	CHECK(mi.n_layers == 3);
	CHECK(mi.n_layers == 3 &&
	      strcmp(mi.layers[2].digest, "sha256:6bdb18f83935f1d97220ee80"
					  "35e6ccd7e764c32102587be4488f940f"
					  "943ebda6") == 0);
	CHECK(mi.n_layers == 3 && mi.layers[1].size == 16724 &&
	      mi.layers[1].urls == NULL);
	CHECK(mi.subject == NULL && mi.annotations == NULL);
	manifest_info_release(&mi);

	CHECK(parse_file("valid/docker-windows-foreign.json", NULL, &mi,
			 detail) == E_NONE);
	CHECK(mi.n_layers == 3 && mi.layers[0].n_urls == 1 &&
	      mi.layers[1].n_urls == 2 && mi.layers[2].n_urls == 0);
	CHECK(mi.n_layers == 3 && mi.layers[0].size == 1654613376);
	CHECK(mi.n_layers == 3 && mi.layers[1].n_urls == 2 &&
	      strncmp(mi.layers[1].urls[1], "https://mirror.example.com/",
		      27) == 0);
	manifest_info_release(&mi);

	CHECK(parse_file("valid/oci-subject.json", NULL, &mi, detail) ==
	      E_NONE);
	CHECK(mi.subject != NULL &&
	      strcmp(mi.subject->media_type, MT_OCI_MANIFEST) == 0 &&
	      mi.subject->size == 1234);
	CHECK(strcmp(mi.artifact_type,
		     "application/vnd.cncf.notary.signature") == 0);
	CHECK(strcmp(mi.config.media_type, MT_OCI_EMPTY) == 0);
	CHECK(mi.annotations != NULL &&
	      strcmp(mi.annotations,
		     "{\"io.cncf.notary.x509chain.thumbprint#S256\":"
		     "\"[\\\"abc\\\"]\",\"org.opencontainers.image.created\":"
		     "\"2024-02-01T10:00:00Z\"}") == 0);
	manifest_info_release(&mi);

	/* no artifactType: the config's media type stands in */
	CHECK(parse_file("valid/oci-subject-no-artifacttype.json", NULL, &mi,
			 detail) == E_NONE);
	CHECK(strcmp(mi.artifact_type,
		     "application/vnd.dev.cosign.artifact.sig.v1+json") == 0);
	CHECK(mi.subject != NULL);
	manifest_info_release(&mi);

	CHECK(parse_file("valid/oci-artifact.json", NULL, &mi, detail) ==
	      E_NONE);
	CHECK(strcmp(mi.artifact_type, "application/vnd.example.sbom.v1+json")
	      == 0);
	CHECK(mi.config.size == 2 && mi.n_layers == 1);
	manifest_info_release(&mi);

	CHECK(parse_file("valid/oci-index.json", NULL, &mi, detail) == E_NONE);
	CHECK(mi.kind == MF_KIND_INDEX && mi.n_manifests == 3);
	CHECK(mi.artifact_type == NULL && mi.layers == NULL);
	CHECK(mi.annotations != NULL &&
	      strcmp(mi.annotations, "{\"com.example.key1\":\"value1\","
				     "\"com.example.key2\":\"value2\"}") == 0);
	manifest_info_release(&mi);

	CHECK(parse_file("valid/oci-index-artifact.json", NULL, &mi, detail)
	      == E_NONE);
	CHECK(mi.artifact_type != NULL &&
	      strcmp(mi.artifact_type, "application/vnd.example.bundle") == 0);
	CHECK(mi.n_manifests == 1 && mi.manifests[0].artifact_type != NULL &&
	      strcmp(mi.manifests[0].artifact_type,
		     "application/vnd.example.part") == 0);
	CHECK(mi.subject != NULL &&
	      strcmp(mi.subject->media_type, MT_OCI_INDEX) == 0);
	manifest_info_release(&mi);

	CHECK(parse_file("valid/oci-manifest-no-mediatype.json", NULL, &mi,
			 detail) == E_NONE);
	CHECK(strcmp(mi.media_type, MT_OCI_MANIFEST) == 0);
	manifest_info_release(&mi);
	CHECK(parse_file("valid/oci-index-no-mediatype.json", NULL, &mi,
			 detail) == E_NONE);
	CHECK(strcmp(mi.media_type, MT_OCI_INDEX) == 0);
	manifest_info_release(&mi);
	CHECK(parse_file("valid/docker-manifest-list.json", NULL, &mi,
			 detail) == E_NONE);
	CHECK(mi.kind == MF_KIND_INDEX && mi.n_manifests == 4 &&
	      strcmp(mi.media_type, MT_DOCKER_LIST) == 0);
	manifest_info_release(&mi);
}

/* Header parameters, whitespace and case; generic types mean "not given". */
static void
test_content_types(void)
{
	static const char *const same[] = {
		NULL,
		"",
		"application/json",
		"application/octet-stream",
		"application/json; charset=utf-8",
		MT_OCI_MANIFEST,
		"\t" MT_OCI_MANIFEST "\t",
		MT_OCI_MANIFEST ";",
		"APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON; charset=\"x;y\"",
	};
	struct manifest_info mi;
	char detail[DETAIL_LEN];
	char *long_ct;

	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		CHECK(parse_file("valid/oci-manifest.json", same[i], &mi,
				 detail) == E_NONE);
		CHECK(mi.media_type != NULL &&
		      strcmp(mi.media_type, MT_OCI_MANIFEST) == 0);
		manifest_info_release(&mi);
	}
	CHECK(parse_file("valid/oci-manifest.json", "text/plain", &mi,
			 detail) == E_MANIFEST_INVALID);
	long_ct = xmalloc(4096);
	memset(long_ct, 'a', 4095);
	long_ct[4095] = '\0';
	CHECK(parse_file("valid/oci-manifest.json", long_ct, &mi, detail) ==
	      E_MANIFEST_INVALID);
	CHECK(strlen(detail) < DETAIL_LEN);
	free(long_ct);
	/* the detail buffer is optional and is never overrun */
	CHECK(manifest_parse("[]", 2, NULL, &mi, NULL, 0) ==
	      E_MANIFEST_INVALID);
	detail[0] = 'X';
	detail[1] = 'Y';
	CHECK(manifest_parse("[]", 2, NULL, &mi, detail, 1) ==
	      E_MANIFEST_INVALID);
	CHECK(detail[0] == '\0' && detail[1] == 'Y');
	CHECK(manifest_parse(NULL, 0, NULL, &mi, detail, DETAIL_LEN) ==
	      E_MANIFEST_INVALID);
}

/* A manifest with n layers; caller frees. */
static char *
make_layers(size_t n, size_t *len)
{
	size_t cap = 200 + n * 128, off;
	char *s = xmalloc(cap);
	char dg[DIGEST_MAX];

	off = (size_t)snprintf(s, cap, "{\"schemaVersion\":2,\"config\":"
				       "{\"mediaType\":\"a/b\",\"size\":1,"
				       "\"digest\":\"sha256:%064d\"},"
				       "\"layers\":[", 0);
	for (size_t i = 0; i < n; i++) {
		digest_buffer(DIGEST_SHA256, &i, sizeof(i), dg);
		off += (size_t)snprintf(s + off, cap - off,
					"%s{\"mediaType\":\"a/b\",\"size\":%zu,"
					"\"digest\":\"%s\"}",
					i ? "," : "", i, dg);
	}
	off += (size_t)snprintf(s + off, cap - off, "]}");
	*len = off;
	return s;
}

static void
test_limits(void)
{
	struct manifest_info mi;
	char detail[DETAIL_LEN];
	size_t len, blen;
	char *s, *body;

	s = make_layers(10000, &len);
	CHECK(manifest_parse(s, len, NULL, &mi, detail, sizeof(detail)) ==
	      E_NONE);
	CHECK(mi.n_layers == 10000 && info_ok(&mi));
	manifest_info_release(&mi);
	free(s);

	s = make_layers(10001, &len);
	CHECK(manifest_parse(s, len, NULL, &mi, detail, sizeof(detail)) ==
	      E_MANIFEST_INVALID);
	CHECK(strstr(detail, "more than 10000") != NULL);
	CHECK(info_empty(&mi));
	free(s);

	/* exactly MANIFEST_MAX bytes is accepted, one more is not */
	s = test_read_file("manifest/valid/oci-manifest.json", &len);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	body = xmalloc(MANIFEST_MAX + 1);
	memset(body, ' ', MANIFEST_MAX + 1);
	memcpy(body, s, len);
	blen = MANIFEST_MAX;
	CHECK(manifest_parse(body, blen, NULL, &mi, detail, sizeof(detail)) ==
	      E_NONE);
	manifest_info_release(&mi);
	CHECK(manifest_parse(body, blen + 1, NULL, &mi, detail,
			     sizeof(detail)) == E_MANIFEST_INVALID);
	CHECK(strstr(detail, "larger than") != NULL);
	/* not NUL-terminated: only len bytes are read */
	CHECK(manifest_parse(s, len - 2, NULL, &mi, detail, sizeof(detail)) ==
	      E_MANIFEST_INVALID);
	free(body);
	free(s);
}

void
test_manifest(void)
{
	test_valid_files();
	test_invalid_files();
	test_fields();
	test_content_types();
	test_limits();
}
