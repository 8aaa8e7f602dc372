#!/bin/bash
# Push category: POST+PUT, single POST, chunked PATCH sequences with their
# Range bookkeeping and 416s, upload status and cancel, cross-repository
# mounts, manifests of every supported media type, artifacts, subject and
# OCI-Subject, the manifest size limit, and what the database and storage
# hold afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"
UUID_PATH_RE() { printf '^/v2/%s/blobs/uploads/%s([?].*)?$' "$1" "$uuid_re"; }

# --- POST then PUT ---------------------------------------------------------
R=t-push/mono
rand_blob "$W/b1" 3000
D1=$(sha256_of "$W/b1")
upload_start "$REG" "$R"
expect_eq "POST blobs/uploads/ is 202" 202 "$STATUS"
expect_match "POST upload Location is /v2/<name>/blobs/uploads/<uuid>" \
	"$(UUID_PATH_RE "$R")" "$UPLOAD_LOC"
expect_hdr "POST upload has Docker-Distribution-API-Version" \
	Docker-Distribution-API-Version registry/2.0
req PUT "$(with_query "$UPLOAD_URL" "digest=$D1")" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/b1"
expect_eq "PUT whole blob to the upload is 201" 201 "$STATUS"
expect_hdr "PUT whole blob Location is the blob URL" Location "/v2/$R/blobs/$D1"
expect_hdr "PUT whole blob has Docker-Content-Digest" Docker-Content-Digest "$D1"
req GET "$REG/v2/$R/blobs/$D1"
check "blob pushed by POST+PUT reads back identically" body_is "$W/b1"
expect_eq "blobs row has the pushed size" 3000 "$(sql "SELECT size FROM blobs WHERE digest = '$D1'")"
check "blob is stored under blobs/sha256/<2 hex>/<hex>" stored_blob_is "$D1" "$W/b1"
expect_status "finished upload session is gone (GET is 404)" 404 GET "$UPLOAD_URL"
expect_error_code "finished upload session is BLOB_UPLOAD_UNKNOWN" BLOB_UPLOAD_UNKNOWN
expect_eq "finished upload has no uploads row" 0 \
	"$(sql "SELECT count(*) FROM uploads WHERE id::text = '$UPLOAD_UUID'")"
check "finished upload left nothing under uploads/" stored_upload_gone "$UPLOAD_UUID"

blob_push "$REG" "$R" "$W/b1"
expect_eq "pushing an existing blob again is 201" 201 "$STATUS"
expect_eq "pushing a blob twice leaves one blobs row" 1 \
	"$(sql "SELECT count(*) FROM blobs WHERE digest = '$D1'")"

# --- single POST -------------------------------------------------------------
rand_blob "$W/b2" 5000
blob_push_single "$REG" "$R" "$W/b2"
expect_eq "POST ?digest= with the body is 201" 201 "$STATUS"
expect_hdr "POST ?digest= Location is the blob URL" Location "/v2/$R/blobs/$DIGEST"
expect_hdr "POST ?digest= has Docker-Content-Digest" Docker-Content-Digest "$DIGEST"
req GET "$REG/v2/$R/blobs/$DIGEST"
check "blob pushed by single POST reads back identically" body_is "$W/b2"

: >"$W/empty"
blob_push_single "$REG" "$R" "$W/empty"
expect_eq "zero-length blob by single POST is 201" 201 "$STATUS"
req GET "$REG/v2/$R/blobs/$EMPTY_BLOB_DIGEST"
expect_eq "zero-length blob reads back as 200" 200 "$STATUS"
check "zero-length blob has an empty body" body_empty
req HEAD "$REG/v2/$R/blobs/$EMPTY_BLOB_DIGEST"
expect_hdr "zero-length blob HEAD has Content-Length 0" Content-Length 0

# --- chunked ---------------------------------------------------------------
R=t-push/chunked
rand_blob "$W/c" 2500
DC=$(sha256_of "$W/c")
file_slice "$W/c" 0 1000 "$W/c0"
file_slice "$W/c" 1000 1000 "$W/c1"
file_slice "$W/c" 2000 500 "$W/c2"
upload_start "$REG" "$R"
expect_eq "chunked: POST with Content-Length 0 is 202" 202 "$STATUS"
U=$UPLOAD_UUID
req GET "$UPLOAD_URL"
expect_eq "chunked: status of a fresh upload is 204" 204 "$STATUS"
expect_hdr "chunked: status has Docker-Upload-UUID" Docker-Upload-UUID "$U"
upload_patch "$W/c0" 0
expect_eq "chunked: PATCH 0-999 is 202" 202 "$STATUS"
expect_hdr "chunked: PATCH 0-999 answers Range 0-999" Range 0-999
expect_match "chunked: PATCH answers a Location for the session" \
	"$(UUID_PATH_RE "$R")" "$(hdr Location)"
upload_patch "$W/c1" 1000
expect_eq "chunked: PATCH 1000-1999 is 202" 202 "$STATUS"
expect_hdr "chunked: PATCH 1000-1999 answers Range 0-1999" Range 0-1999

req GET "$UPLOAD_URL"
expect_eq "chunked: status GET after two chunks is 204" 204 "$STATUS"
expect_hdr "chunked: status GET shows Range 0-1999" Range 0-1999
expect_hdr "chunked: status GET shows Docker-Upload-UUID" Docker-Upload-UUID "$U"
expect_match "chunked: status GET has the session Location" "$(UUID_PATH_RE "$R")" "$(hdr Location)"
check "chunked: status GET has no body" body_empty

# Out of order and overlapping chunks.
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 2100-2599' --data-binary @"$W/c2"
expect_eq "chunked: PATCH with a gap (2100-) is 416" 416 "$STATUS"
expect_hdr "chunked: 416 for a gap shows Range 0-1999" Range 0-1999
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 1500-1999' --data-binary @"$W/c2"
expect_eq "chunked: overlapping PATCH (1500-) is 416" 416 "$STATUS"
expect_hdr "chunked: 416 for an overlap shows Range 0-1999" Range 0-1999
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 0-999' --data-binary @"$W/c0"
expect_eq "chunked: resending the first chunk is 416" 416 "$STATUS"
req GET "$UPLOAD_URL"
expect_hdr "chunked: rejected chunks did not change the upload" Range 0-1999
expect_eq "chunked: uploads row still has 2000 bytes" 2000 \
	"$(sql "SELECT size FROM uploads WHERE id::text = '$U'")"

# Last chunk in the closing PUT.
upload_finish "$DC" "$W/c2" 2000
expect_eq "chunked: closing PUT with the last chunk is 201" 201 "$STATUS"
expect_hdr "chunked: closing PUT Location is the blob URL" Location "/v2/$R/blobs/$DC"
expect_hdr "chunked: closing PUT has Docker-Content-Digest" Docker-Content-Digest "$DC"
req GET "$REG/v2/$R/blobs/$DC"
check "chunked: blob reads back identically" body_is "$W/c"

# Every chunk by PATCH, then an empty PUT; a different chunk size.
rand_blob "$W/c3" 10000
blob_push_chunked "$REG" "$R" "$W/c3" 3333
expect_eq "chunked: four PATCHes then an empty PUT is 201" 201 "$STATUS"
req GET "$REG/v2/$R/blobs/$DIGEST"
check "chunked: four-chunk blob reads back identically" body_is "$W/c3"

# A first chunk that does not start at 0.
upload_start "$REG" "$R"
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 10-509' --data-binary @"$W/c2"
expect_eq "chunked: first chunk not starting at 0 is 416" 416 "$STATUS"

# Docker-style streamed PATCH without Content-Range (skopeo and docker
# push this way) appends at the current offset.
upload_start "$REG" "$R"
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' --data-binary @"$W/c0"
expect_eq "chunked: PATCH without Content-Range is 202" 202 "$STATUS"
expect_hdr "chunked: PATCH without Content-Range answers Range 0-999" Range 0-999
upload_follow "$REG"
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' --data-binary @"$W/c1"
expect_hdr "chunked: second PATCH without Content-Range appends (Range 0-1999)" Range 0-1999
upload_follow "$REG"
upload_finish "$(cat "$W/c0" "$W/c1" | sha256sum | sed 's/^/sha256:/; s/ .*//')"
expect_eq "chunked: streamed upload completes with 201" 201 "$STATUS"

# Digest of the whole blob is checked, not of the last chunk.
upload_start "$REG" "$R"
upload_patch "$W/c0" 0
upload_finish "$(sha256_of "$W/c2")" "$W/c2" 1000
expect_eq "chunked: closing PUT with the last chunk's digest is 400" 400 "$STATUS"
expect_error_code "chunked: closing PUT with the last chunk's digest is DIGEST_INVALID" DIGEST_INVALID

# --- cancel --------------------------------------------------------------------
R=t-push/cancel
upload_start "$REG" "$R"
U=$UPLOAD_UUID
upload_patch "$W/c0" 0
req DELETE "$UPLOAD_URL"
expect_status_code "cancel: DELETE on the upload is 204" "204" ""
expect_status "cancel: status GET afterwards is 404" 404 GET "$UPLOAD_URL"
expect_error_code "cancel: status GET afterwards is BLOB_UPLOAD_UNKNOWN" BLOB_UPLOAD_UNKNOWN
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 1000-1999' --data-binary @"$W/c1"
expect_eq "cancel: PATCH afterwards is 404" 404 "$STATUS"
req PUT "$(with_query "$UPLOAD_URL" "digest=$(sha256_of "$W/c0")")" -H 'Content-Length: 0'
expect_eq "cancel: PUT afterwards is 404" 404 "$STATUS"
expect_eq "cancel: no uploads row remains" 0 "$(sql "SELECT count(*) FROM uploads WHERE id::text = '$U'")"
check "cancel: nothing remains under uploads/" stored_upload_gone "$U"
expect_status "cancel: DELETE again is 404" 404 DELETE "$UPLOAD_URL"

# --- cross-repository mount ----------------------------------------------------
SRC=t-push/mount-src
rand_blob "$W/m" 777
blob_push "$REG" "$SRC" "$W/m"
DM=$DIGEST
rand_blob "$W/unrelated" 10
blob_push "$REG" t-push/mount-other "$W/unrelated"
req POST "$REG/v2/t-push/mount-dst/blobs/uploads/?mount=$DM&from=$SRC" -H 'Content-Length: 0'
expect_eq "mount from a repository that has the blob is 201" 201 "$STATUS"
expect_hdr "mount Location is the blob URL in the target" Location "/v2/t-push/mount-dst/blobs/$DM"
expect_hdr "mount has Docker-Content-Digest" Docker-Content-Digest "$DM"
req GET "$REG/v2/t-push/mount-dst/blobs/$DM"
check "mounted blob reads back in the target" body_is "$W/m"

req POST "$REG/v2/t-push/mount-dst2/blobs/uploads/?mount=$DM&from=t-push/mount-other" -H 'Content-Length: 0'
expect_eq "mount from a repository without the blob is 202" 202 "$STATUS"
expect_match "mount fallback gives an upload Location" \
	"$(UUID_PATH_RE t-push/mount-dst2)" "$(hdr Location)"
UPLOAD_URL=$(url_of "$REG" "$(hdr Location)")
expect_status "mount fallback did not link the blob" 404 GET "$REG/v2/t-push/mount-dst2/blobs/$DM"
upload_finish "$DM" "$W/m" 0
expect_eq "mount fallback session accepts the upload (201)" 201 "$STATUS"

UNK=sha256:$(printf 'never pushed anywhere' | sha256sum | cut -d' ' -f1)
req POST "$REG/v2/t-push/mount-dst3/blobs/uploads/?mount=$UNK&from=$SRC" -H 'Content-Length: 0'
expect_eq "mount of an unknown blob is 202" 202 "$STATUS"
req POST "$REG/v2/t-push/mount-dst4/blobs/uploads/?mount=$DM" -H 'Content-Length: 0'
expect_eq "mount without from of a known blob is 201" 201 "$STATUS"
expect_hdr "mount without from Location is the blob URL" Location "/v2/t-push/mount-dst4/blobs/$DM"
req GET "$REG/v2/t-push/mount-dst4/blobs/$DM"
check "blob mounted without from reads back" body_is "$W/m"
req POST "$REG/v2/t-push/mount-dst5/blobs/uploads/?mount=$UNK" -H 'Content-Length: 0'
expect_eq "mount without from of an unknown blob is 202" 202 "$STATUS"
expect_eq "mounting never copies: one blobs row for the digest" 1 \
	"$(sql "SELECT count(*) FROM blobs WHERE digest = '$DM'")"

# --- manifests -------------------------------------------------------------------
R=t-push/manifests
image_make "$W/oci" 2 512
OCI=$W/oci/manifest.json
image_push "$REG" "$R" v1 "$W/oci"
expect_eq "OCI image manifest PUT by tag is 201" 201 "$STATUS"
expect_hdr "manifest PUT Location is the manifest URL" Location "/v2/$R/manifests/$IMG_DIGEST"
expect_hdr "manifest PUT has Docker-Content-Digest of the bytes" Docker-Content-Digest "$IMG_DIGEST"
req GET "$REG/v2/$R/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
check "OCI manifest is stored byte for byte" body_is "$OCI"
expect_eq "manifests row for the OCI manifest has its media type" "$MT_OCI_MANIFEST" \
	"$(sql "SELECT m.media_type FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = '$R' AND m.digest = '$IMG_DIGEST'")"

# Byte-exact storage: whitespace and key order are kept.
jq -S . "$OCI" | sed 's/^/ /' >"$W/oci-pretty.json"
printf '\n\n' >>"$W/oci-pretty.json"
manifest_push "$REG" "$R" pretty "$W/oci-pretty.json" "$MT_OCI_MANIFEST"
expect_eq "re-indented copy of a manifest is accepted (201)" 201 "$STATUS"
expect_hdr "re-indented copy gets the digest of its own bytes" Docker-Content-Digest "$MANIFEST_DIGEST"
req GET "$REG/v2/$R/manifests/pretty"
check "re-indented copy is returned byte for byte" body_is "$W/oci-pretty.json"

image_make "$W/oci2" 1 256
for f in "$W"/oci2/config.json "$W"/oci2/layer1; do blob_push "$REG" "$R" "$f"; done
manifest_push "$REG" "$R" "$IMG_DIGEST" "$W/oci2/manifest.json"
expect_eq "manifest PUT by digest is 201" 201 "$STATUS"
expect_hdr "manifest PUT by digest Location" Location "/v2/$R/manifests/$IMG_DIGEST"
OCI2_DIGEST=$IMG_DIGEST

image_make "$W/dock" 2 300 docker
image_push "$REG" "$R" docker "$W/dock"
expect_eq "Docker schema2 manifest is 201" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/docker" -H "Accept: $MT_DOCKER_MANIFEST"
expect_hdr "Docker schema2 manifest comes back with its media type" Content-Type "$MT_DOCKER_MANIFEST"
check "Docker schema2 manifest comes back byte for byte" body_is "$W/dock/manifest.json"

index_make "$W/index.json" "$MT_OCI_INDEX" "$OCI" "$W/oci2/manifest.json"
manifest_push "$REG" "$R" index "$W/index.json"
expect_eq "OCI image index is 201" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/index"
expect_hdr "OCI image index comes back with its media type" Content-Type "$MT_OCI_INDEX"
check "OCI image index comes back byte for byte" body_is "$W/index.json"
expect_eq "index references its two children in manifest_references" 2 \
	"$(sql "SELECT count(*) FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id WHERE r.name = '$R' AND mr.manifest_digest = '$IDX_DIGEST' AND mr.is_manifest")"

image_make "$W/dock2" 1 300 docker
image_push "$REG" "$R" docker2 "$W/dock2"
index_make "$W/list.json" "$MT_DOCKER_LIST" "$W/dock/manifest.json" "$W/dock2/manifest.json"
manifest_push "$REG" "$R" list "$W/list.json"
expect_eq "Docker manifest list is 201" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/list" -H "Accept: $MT_DOCKER_LIST"
expect_hdr "Docker manifest list comes back with its media type" Content-Type "$MT_DOCKER_LIST"
check "Docker manifest list comes back byte for byte" body_is "$W/list.json"

empty_json_push "$REG" "$R"
artifact_make "$W/art.json" application/vnd.example.thing.v1
manifest_push "$REG" "$R" artifact "$W/art.json"
expect_eq "artifact with the empty config is 201" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/artifact"
check "artifact comes back byte for byte" body_is "$W/art.json"
expect_eq "artifact's artifactType is recorded" application/vnd.example.thing.v1 \
	"$(sql "SELECT m.artifact_type FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = '$R' AND m.digest = '$ART_DIGEST'")"

# Subject that does not exist yet.
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[],"annotations":{"n":"%s"}}' \
	"$MT_OCI_INDEX" "$RANDOM$RANDOM" >"$W/future-subject.json"
SUBJ=$(sha256_of "$W/future-subject.json")
artifact_make "$W/ref.json" application/vnd.example.sig.v1 "$W/future-subject.json"
manifest_push "$REG" "$R" "$ART_DIGEST" "$W/ref.json"
expect_eq "manifest whose subject does not exist is accepted (201)" 201 "$STATUS"
expect_hdr "manifest with subject answers OCI-Subject" OCI-Subject "$SUBJ"
artifact_make "$W/ref2.json" application/vnd.example.sig.v1 "$OCI"
manifest_push "$REG" "$R" "$ART_DIGEST" "$W/ref2.json"
expect_hdr "manifest with an existing subject answers OCI-Subject" OCI-Subject "$(sha256_of "$OCI")"
manifest_push "$REG" "$R" v1-again "$OCI"
check "manifest without subject has no OCI-Subject" test -z "$(hdr OCI-Subject)"

# Tags move.
manifest_push "$REG" "$R" moving "$OCI"
manifest_push "$REG" "$R" moving "$W/oci2/manifest.json"
expect_eq "re-tagging to another manifest is 201" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/moving"
expect_hdr "re-tagged tag resolves to the new manifest" Docker-Content-Digest "$OCI2_DIGEST"
TAG128=$(printf 'a%.0s' $(seq 1 128))
manifest_push "$REG" "$R" "$TAG128" "$OCI"
expect_eq "128-character tag is accepted" 201 "$STATUS"
expect_status "128-character tag resolves" 200 GET "$REG/v2/$R/manifests/$TAG128"
manifest_push "$REG" "$R" "_Mixed.Case-9" "$OCI"
expect_eq "tag with _ . - and capitals is accepted" 201 "$STATUS"

# Manifests through node 2 are visible on node 1.
manifest_push "$REG2" "$R" via-node2 "$OCI"
expect_eq "manifest PUT on node 2 is 201" 201 "$STATUS"
expect_status "manifest pushed on node 2 resolves on node 1" 200 GET "$REG/v2/$R/manifests/via-node2"

# Blobs a manifest needs must be in the repository.
image_make "$W/missing" 1 100
blob_push "$REG" "$R" "$W/missing/config.json"
manifest_push "$REG" "$R" missing "$W/missing/manifest.json"
expect_eq "manifest with an unknown layer is 400" 400 "$STATUS"
expect_error_code "manifest with an unknown layer is MANIFEST_BLOB_UNKNOWN" MANIFEST_BLOB_UNKNOWN
image_make "$W/elsewhere" 1 100
image_push "$REG" t-push/elsewhere x "$W/elsewhere"
manifest_push "$REG" "$R" elsewhere "$W/elsewhere/manifest.json"
expect_eq "manifest with blobs only in another repository is 400 MANIFEST_BLOB_UNKNOWN" \
	"400 MANIFEST_BLOB_UNKNOWN" "$STATUS $(jq -r '.errors[0].code' "$BODY" 2>/dev/null)"

# Size limit: 4 MB must be accepted, more than 4 MiB refused.
big_manifest() { # OUT BYTES: OCI manifest of exactly BYTES bytes
	local pad=$(($2 - $(jq -c '.annotations = {"pad": ""}' "$OCI" | wc -c) + 1))
	head -c "$pad" /dev/zero | tr '\0' x >"$W/pad"
	jq -c --rawfile p "$W/pad" '.annotations = {"pad": $p}' "$OCI" |
		head -c "$2" >"$1"
}
big_manifest "$W/big-ok.json" 4000000
manifest_push "$REG" "$R" big-ok "$W/big-ok.json"
expect_eq "manifest of 4,000,000 bytes is accepted" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/big-ok"
check "manifest of 4,000,000 bytes reads back byte for byte" body_is "$W/big-ok.json"
big_manifest "$W/big.json" $((4 * 1024 * 1024 + 1))
check "oversize test manifest is valid JSON of 4 MiB + 1" \
	test "$(jq -e .schemaVersion "$W/big.json")" = 2 -a "$(file_size "$W/big.json")" = $((4 * 1024 * 1024 + 1))
manifest_push "$REG" "$R" big "$W/big.json"
if [ "$STATUS" = 413 ] || { [ "$STATUS" = 400 ] && error_code_in MANIFEST_INVALID; }; then
	ok "manifest over 4 MiB is refused (413 or 400 MANIFEST_INVALID)"
else
	not_ok "manifest over 4 MiB is refused (413 or 400 MANIFEST_INVALID)" "got $STATUS"
fi
expect_status "refused oversize manifest did not create the tag" 404 GET "$REG/v2/$R/manifests/big"
expect_eq "refused oversize manifest has no manifests row" 0 \
	"$(sql "SELECT count(*) FROM manifests WHERE digest = '$(sha256_of "$W/big.json")'")"
