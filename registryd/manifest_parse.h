/*
 * Manifest parsing and validation, without I/O: Docker schema2 manifests
 * and manifest lists, OCI image manifests and indexes, and artifacts.
 * The handler (manifest.c) checks what the result references against the
 * database; this module only says what the document is and points at.
 */
#ifndef BERTH_MANIFEST_PARSE_H
#define BERTH_MANIFEST_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MANIFEST_MAX (4u * 1024 * 1024)

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"

struct mf_descriptor {
	char *media_type;
	char *digest;		/* validated with digest_parse() */
	int64_t size;		/* >= 0 */
	char *artifact_type;	/* NULL when absent */
	char **urls;		/* foreign layers; NULL when absent */
	size_t n_urls;
};

enum mf_kind { MF_KIND_IMAGE, MF_KIND_INDEX };

struct manifest_info {
	enum mf_kind kind;
	char *media_type;	/* the effective media type */
	/*
	 * artifactType if present; for image manifests without one, the
	 * config's mediaType (the referrers API's rule); else NULL.
	 */
	char *artifact_type;
	struct mf_descriptor config;	/* image manifests only */
	struct mf_descriptor *layers;	/* image manifests: layers */
	size_t n_layers;
	struct mf_descriptor *manifests; /* indexes: children */
	size_t n_manifests;
	struct mf_descriptor *subject;	/* NULL when absent */
	char *annotations;	/* compact JSON object text, or NULL */
};

/*
 * Parses and validates body (len bytes, not NUL-terminated) as sent with
 * content_type (NULL when the request had none). On success fills *out
 * (release it with manifest_info_release()) and returns E_NONE. On failure
 * returns the spec's error (E_MANIFEST_INVALID, E_UNSUPPORTED, ...) and
 * writes a short lowercase reason into detail; *out is left empty.
 */
enum reg_error manifest_parse(const char *body, size_t len,
			      const char *content_type,
			      struct manifest_info *out, char *detail,
			      size_t detail_len);

void manifest_info_release(struct manifest_info *mi);

#endif
