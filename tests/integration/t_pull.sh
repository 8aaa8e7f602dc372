#!/bin/bash
# Pull category of the distribution spec: /v2/, manifests and blobs by GET
# and HEAD, 404s for what is not there, Range reads, media types, and
# reads through the second node of what the first one stored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

R=t-pull/img
R2=t-pull/other
W=$SCRATCH/w
mkdir -p "$W"

# Fixtures: an OCI image (tag v1), a Docker image (tag docker), an index.
image_make "$W/oci" 2 4096
OCI_DIR=$W/oci OCI_DIGEST=$IMG_DIGEST OCI_L1=$W/oci/layer1
image_push "$REG" "$R" v1 "$W/oci" || not_ok "fixture oci image pushed" "status $STATUS"
image_make "$W/dock" 1 2048 docker
DOCK_DIGEST=$IMG_DIGEST
image_push "$REG" "$R" docker "$W/dock" || not_ok "fixture docker image pushed" "status $STATUS"
index_make "$W/index.json" "$MT_OCI_INDEX" "$W/oci/manifest.json" "$W/oci/manifest.json"
manifest_push "$REG" "$R" multi "$W/index.json" || not_ok "fixture index pushed" "status $STATUS"
IDX=$IDX_DIGEST
rand_blob "$W/other" 100
blob_push "$REG" "$R2" "$W/other" || not_ok "fixture other repo pushed" "status $STATUS"

# end-1
expect_status "GET /v2/ is 200" 200 GET "$REG/v2/"
expect_hdr "GET /v2/ carries Docker-Distribution-API-Version" \
	Docker-Distribution-API-Version registry/2.0
expect_status "GET /v2/ on node 2 is 200" 200 GET "$REG2/v2/"

# Manifests by tag and by digest.
req GET "$REG/v2/$R/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "GET manifest by tag is 200" 200 "$STATUS"
check "GET manifest by tag returns the pushed bytes" body_is "$OCI_DIR/manifest.json"
expect_hdr "GET manifest by tag has its media type as Content-Type" Content-Type "$MT_OCI_MANIFEST"
expect_hdr "GET manifest by tag has Docker-Content-Digest" Docker-Content-Digest "$OCI_DIGEST"

req GET "$REG/v2/$R/manifests/$OCI_DIGEST" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "GET manifest by digest is 200" 200 "$STATUS"
check "GET manifest by digest returns the pushed bytes" body_is "$OCI_DIR/manifest.json"
expect_hdr "GET manifest by digest has Docker-Content-Digest" Docker-Content-Digest "$OCI_DIGEST"

req GET "$REG/v2/$R/manifests/v1"
check "GET manifest without Accept still returns it" body_is "$OCI_DIR/manifest.json"

req HEAD "$REG/v2/$R/manifests/v1"
expect_eq "HEAD manifest by tag is 200" 200 "$STATUS"
expect_hdr "HEAD manifest by tag has Content-Length of the manifest" \
	Content-Length "$(file_size "$OCI_DIR/manifest.json")"
expect_hdr "HEAD manifest by tag has Docker-Content-Digest" Docker-Content-Digest "$OCI_DIGEST"
check "HEAD manifest has no body" body_empty
expect_status "HEAD manifest by digest is 200" 200 HEAD "$REG/v2/$R/manifests/$OCI_DIGEST"

# Media types come back as stored.
req GET "$REG/v2/$R/manifests/docker" -H "Accept: $MT_DOCKER_MANIFEST"
expect_eq "GET docker manifest is 200" 200 "$STATUS"
expect_hdr "GET docker manifest has the docker media type" Content-Type "$MT_DOCKER_MANIFEST"
check "GET docker manifest returns the pushed bytes" body_is "$W/dock/manifest.json"
expect_hdr "GET docker manifest has Docker-Content-Digest" Docker-Content-Digest "$DOCK_DIGEST"
req GET "$REG/v2/$R/manifests/multi" -H "Accept: $MT_OCI_INDEX"
expect_eq "GET index is 200" 200 "$STATUS"
expect_hdr "GET index has the index media type" Content-Type "$MT_OCI_INDEX"
check "GET index returns the pushed bytes" body_is "$W/index.json"
req GET "$REG/v2/$R/manifests/multi" \
	-H "Accept: $MT_OCI_MANIFEST, $MT_OCI_INDEX, $MT_DOCKER_MANIFEST, $MT_DOCKER_LIST"
expect_hdr "GET index with a list Accept keeps the index media type" Content-Type "$MT_OCI_INDEX"
req HEAD "$REG/v2/$R/manifests/$IDX"
expect_hdr "HEAD index has the index media type" Content-Type "$MT_OCI_INDEX"

# Missing manifests.
expect_status "GET unknown tag is 404" 404 GET "$REG/v2/$R/manifests/nosuchtag"
expect_error_code "GET unknown tag is MANIFEST_UNKNOWN" MANIFEST_UNKNOWN
UNKNOWN=sha256:$(printf 'no such manifest' | sha256sum | cut -d' ' -f1)
expect_status "GET unknown manifest digest is 404" 404 GET "$REG/v2/$R/manifests/$UNKNOWN"
expect_error_code "GET unknown manifest digest is MANIFEST_UNKNOWN" MANIFEST_UNKNOWN
expect_status "HEAD unknown tag is 404" 404 HEAD "$REG/v2/$R/manifests/nosuchtag"
expect_status "HEAD unknown manifest digest is 404" 404 HEAD "$REG/v2/$R/manifests/$UNKNOWN"
req GET "$REG/v2/t-pull/never-pushed/manifests/v1"
expect_status_code "GET manifest of a repository that does not exist is 404" \
	404 "NAME_UNKNOWN MANIFEST_UNKNOWN"
expect_status "manifest tagged in one repository is unknown in another" \
	404 GET "$REG/v2/$R2/manifests/v1"
expect_status "manifest digest from one repository is unknown in another" \
	404 GET "$REG/v2/$R2/manifests/$OCI_DIGEST"

# Blobs.
L1=$(sha256_of "$OCI_L1")
req GET "$REG/v2/$R/blobs/$L1"
expect_eq "GET blob is 200" 200 "$STATUS"
check "GET blob returns the pushed bytes" body_is "$OCI_L1"
expect_hdr "GET blob has Docker-Content-Digest" Docker-Content-Digest "$L1"
expect_hdr "GET blob has Content-Length" Content-Length 4096
req GET "$REG/v2/$R/blobs/$(sha256_of "$OCI_DIR/config.json")"
check "GET config blob returns the pushed bytes" body_is "$OCI_DIR/config.json"

req HEAD "$REG/v2/$R/blobs/$L1"
expect_eq "HEAD blob is 200" 200 "$STATUS"
expect_hdr "HEAD blob has Content-Length" Content-Length 4096
expect_hdr "HEAD blob has Docker-Content-Digest" Docker-Content-Digest "$L1"
check "HEAD blob has no body" body_empty

UNKNOWN_BLOB=sha256:$(printf 'no such blob' | sha256sum | cut -d' ' -f1)
expect_status "GET unknown blob is 404" 404 GET "$REG/v2/$R/blobs/$UNKNOWN_BLOB"
expect_error_code "GET unknown blob is BLOB_UNKNOWN" BLOB_UNKNOWN
expect_status "HEAD unknown blob is 404" 404 HEAD "$REG/v2/$R/blobs/$UNKNOWN_BLOB"
expect_status "blob of repository A is 404 through repository B" 404 GET "$REG/v2/$R2/blobs/$L1"
expect_status "HEAD blob of repository A is 404 through repository B" 404 HEAD "$REG/v2/$R2/blobs/$L1"
expect_status "GET blob of a repository that does not exist is 404" \
	404 GET "$REG/v2/t-pull/never-pushed/blobs/$L1"

# Range reads (RFC 9110), used for resumable pulls.
file_slice "$OCI_L1" 10 10 "$W/r10"
req GET "$REG/v2/$R/blobs/$L1" -H 'Range: bytes=10-19'
expect_eq "GET blob with Range bytes=10-19 is 206" 206 "$STATUS"
expect_hdr "ranged GET has Content-Range bytes 10-19/4096" Content-Range "bytes 10-19/4096"
check "ranged GET returns exactly bytes 10..19" body_is "$W/r10"
file_slice "$OCI_L1" 4000 96 "$W/rtail"
req GET "$REG/v2/$R/blobs/$L1" -H 'Range: bytes=4000-'
expect_eq "GET blob with open Range bytes=4000- is 206" 206 "$STATUS"
check "open ranged GET returns the tail from byte 4000" body_is "$W/rtail"
expect_hdr "open ranged GET has Content-Range bytes 4000-4095/4096" Content-Range "bytes 4000-4095/4096"
file_slice "$OCI_L1" 0 1 "$W/r0"
req GET "$REG/v2/$R/blobs/$L1" -H 'Range: bytes=0-0'
check "ranged GET bytes=0-0 returns the first byte" body_is "$W/r0"
req GET "$REG/v2/$R/blobs/$L1" -H 'Range: bytes=5000-6000'
if [ "$STATUS" = 416 ] || { [ "$STATUS" = 200 ] && body_is "$OCI_L1"; }; then
	ok "unsatisfiable Range is 416 (or ignored with the full blob)"
else
	not_ok "unsatisfiable Range is 416 (or ignored with the full blob)" "got $STATUS"
fi

# Multi-component repository names.
rand_blob "$W/deep" 64
blob_push "$REG" t-pull/a/b/c/d "$W/deep"
expect_status "GET blob in a four-component repository name" 200 GET "$REG/v2/t-pull/a/b/c/d/blobs/$DIGEST"
check "blob in a four-component repository name has the right bytes" body_is "$W/deep"
rand_blob "$W/sep" 64
blob_push "$REG" t-pull/a.b_c__d--e "$W/sep"
expect_status "GET blob in a repository name using . _ __ and -- separators" \
	200 GET "$REG/v2/t-pull/a.b_c__d--e/blobs/$DIGEST"

# The second node serves what the first stored.
req GET "$REG2/v2/$R/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "node 2 serves the manifest pushed to node 1" 200 "$STATUS"
check "node 2 returns the same manifest bytes" body_is "$OCI_DIR/manifest.json"
expect_hdr "node 2 returns the same Content-Type" Content-Type "$MT_OCI_MANIFEST"
req GET "$REG2/v2/$R/blobs/$L1"
expect_eq "node 2 serves the blob pushed to node 1" 200 "$STATUS"
check "node 2 returns the same blob bytes" body_is "$OCI_L1"
req GET "$REG2/v2/$R/blobs/$L1" -H 'Range: bytes=10-19'
check "node 2 serves Range reads too" body_is "$W/r10"
