/*
 * libFuzzer target for manifest_parse(). The input is the body; the
 * content type is picked from a short list by the input's length, so a
 * plain JSON corpus exercises every header path. A successful parse must
 * also satisfy the result's invariants, or we abort.
 */
#include <stdint.h>
#include <stdlib.h>

#include "manifest_parse.h"
#include "digest.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
	NULL,
	"application/json",
	MT_OCI_MANIFEST,
	MT_OCI_INDEX,
	MT_DOCKER_MANIFEST,
	MT_DOCKER_LIST,
	" " MT_OCI_MANIFEST " ; charset=utf-8",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"text/plain",
};

static void
check_descriptor(const struct mf_descriptor *d)
{
	enum digest_alg alg;

	if (d->media_type == NULL || d->media_type[0] == '\0' ||
	    d->digest == NULL || digest_parse(d->digest, &alg) != DIGEST_OK ||
	    d->size < 0 || (d->n_urls > 0 && d->urls == NULL))
		abort();
	for (size_t i = 0; i < d->n_urls; i++)
		if (d->urls[i] == NULL)
			abort();
}

static void
check_info(const struct manifest_info *mi)
{
	if (mi->media_type == NULL)
		abort();
	if (mi->kind == MF_KIND_IMAGE) {
		check_descriptor(&mi->config);
		if (mi->artifact_type == NULL || mi->n_layers > 10000 ||
		    mi->n_manifests != 0)
			abort();
		for (size_t i = 0; i < mi->n_layers; i++)
			check_descriptor(&mi->layers[i]);
	} else {
		if (mi->n_manifests > 10000 || mi->n_layers != 0)
			abort();
		for (size_t i = 0; i < mi->n_manifests; i++)
			check_descriptor(&mi->manifests[i]);
	}
	if (mi->subject != NULL)
		check_descriptor(mi->subject);
	if (mi->annotations != NULL && mi->annotations[0] != '{')
		abort();
}

static void
parse_once(const uint8_t *data, size_t size, const char *ct)
{
	struct manifest_info mi;
	char detail[128];
	enum reg_error err;

	err = manifest_parse((const char *)data, size, ct, &mi, detail,
			     sizeof(detail));
	if (err == E_NONE) {
		check_info(&mi);
	} else if (err >= E_ERROR_MAX || detail[0] == '\0' ||
		   strlen(detail) >= sizeof(detail) || mi.media_type != NULL) {
		abort();
	}
	manifest_info_release(&mi);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_once(data, size, NULL);
	parse_once(data, size, content_types[size % ARRAY_SIZE(content_types)]);
	return 0;
}
