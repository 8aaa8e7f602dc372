#!/bin/bash
# Content management: deleting tags, manifests by digest and blobs, and
# what remains reachable afterwards, in the API and in the database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"
repo_id() { sql "SELECT id FROM repositories WHERE name = '$1'"; }

# --- tags -------------------------------------------------------------------
R=t-mgmt/tags
image_make "$W/img" 2 200
image_push "$REG" "$R" a "$W/img" || not_ok "fixture image pushed" "status $STATUS"
M=$IMG_DIGEST
manifest_push "$REG" "$R" b "$W/img/manifest.json"
RID=$(repo_id "$R")

expect_status "DELETE tag is 202" 202 DELETE "$REG/v2/$R/manifests/a"
expect_status "deleted tag is 404" 404 GET "$REG/v2/$R/manifests/a"
expect_error_code "deleted tag is MANIFEST_UNKNOWN" MANIFEST_UNKNOWN
expect_status "deleted tag is 404 on node 2" 404 HEAD "$REG2/v2/$R/manifests/a"
expect_status "other tag on the same manifest still resolves" 200 GET "$REG/v2/$R/manifests/b"
expect_status "manifest stays reachable by digest after its tag is deleted" 200 GET "$REG/v2/$R/manifests/$M"
check "manifest read by digest after tag delete is intact" body_is "$W/img/manifest.json"
req GET "$REG/v2/$R/tags/list"
expect_eq "tags/list no longer has the deleted tag" '["b"]' "$(jq -c .tags "$BODY")"
expect_eq "tags row is gone, the manifests row stays" "0 1" \
	"$(sql "SELECT (SELECT count(*) FROM tags WHERE repository_id = $RID AND name = 'a'), (SELECT count(*) FROM manifests WHERE repository_id = $RID AND digest = '$M')" | tr '|' ' ')"
req DELETE "$REG/v2/$R/manifests/a"
expect_eq "DELETE of an already deleted tag is 404" 404 "$STATUS"
expect_status "DELETE of an unknown tag is 404" 404 DELETE "$REG/v2/$R/manifests/never"
expect_status "DELETE of tag b on node 2 is 202" 202 DELETE "$REG2/v2/$R/manifests/b"
expect_status "tag deleted on node 2 is gone on node 1" 404 GET "$REG/v2/$R/manifests/b"
expect_status "manifest still there after all tags are deleted" 200 HEAD "$REG/v2/$R/manifests/$M"

# --- manifests by digest --------------------------------------------------------
R=t-mgmt/manifests
image_make "$W/m" 2 300
image_push "$REG" "$R" t1 "$W/m" || not_ok "fixture image pushed" "status $STATUS"
M=$IMG_DIGEST
manifest_push "$REG" "$R" t2 "$W/m/manifest.json"
image_make "$W/keep" 1 100
image_push "$REG" "$R" keep "$W/keep"
KEEP=$IMG_DIGEST
RID=$(repo_id "$R")
L1=$(sha256_of "$W/m/layer1")

expect_status "DELETE manifest by digest is 202" 202 DELETE "$REG/v2/$R/manifests/$M"
expect_status "deleted manifest is 404 by digest" 404 GET "$REG/v2/$R/manifests/$M"
expect_error_code "deleted manifest is MANIFEST_UNKNOWN" MANIFEST_UNKNOWN
expect_status "deleted manifest is 404 by HEAD" 404 HEAD "$REG/v2/$R/manifests/$M"
expect_status "deleted manifest is 404 on node 2" 404 GET "$REG2/v2/$R/manifests/$M"
expect_status "tag t1 of the deleted manifest is 404" 404 GET "$REG/v2/$R/manifests/t1"
expect_status "tag t2 of the deleted manifest is 404" 404 GET "$REG/v2/$R/manifests/t2"
req GET "$REG/v2/$R/tags/list"
expect_eq "tags/list keeps only the tags of other manifests" '["keep"]' "$(jq -c .tags "$BODY")"
expect_status "other manifest in the repository is untouched" 200 GET "$REG/v2/$R/manifests/keep"
expect_eq "no manifests, tags or references rows remain for the deleted manifest" "0 0 0" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $RID AND digest = '$M'),
		(SELECT count(*) FROM tags WHERE repository_id = $RID AND digest = '$M'),
		(SELECT count(*) FROM manifest_references WHERE repository_id = $RID AND manifest_digest = '$M')" | tr '|' ' ')"
expect_status "layers of a deleted manifest are still readable in the repository" 200 GET "$REG/v2/$R/blobs/$L1"
check "layer of a deleted manifest still has its bytes" body_is "$W/m/layer1"
req DELETE "$REG/v2/$R/manifests/$M"
expect_eq "DELETE of an already deleted manifest is 404" 404 "$STATUS"
expect_error_code "DELETE of an already deleted manifest is MANIFEST_UNKNOWN" MANIFEST_UNKNOWN
expect_status "DELETE manifest in a repository that does not exist is 404" 404 \
	DELETE "$REG/v2/t-mgmt/no-such-repo/manifests/$M"
manifest_push "$REG" "$R" back "$W/m/manifest.json"
expect_eq "a deleted manifest can be pushed again" 201 "$STATUS"
expect_status "re-pushed manifest resolves by digest" 200 GET "$REG/v2/$R/manifests/$M"
expect_status "re-pushing does not bring back the old tags" 404 GET "$REG/v2/$R/manifests/t1"

# Same manifest in two repositories: deleting one leaves the other.
image_push "$REG" t-mgmt/manifests-twin twin "$W/keep"
expect_status "DELETE manifest in repository A is 202" 202 DELETE "$REG/v2/$R/manifests/$KEEP"
expect_status "same manifest in repository B still resolves" 200 GET "$REG/v2/t-mgmt/manifests-twin/manifests/twin"

# Deleting an index leaves its children; deleting a child of an index.
image_make "$W/c1" 1 50
image_push "$REG" "$R" c1 "$W/c1"
image_make "$W/c2" 1 50
image_push "$REG" "$R" c2 "$W/c2"
index_make "$W/idx.json" "$MT_OCI_INDEX" "$W/c1/manifest.json" "$W/c2/manifest.json"
manifest_push "$REG" "$R" idx "$W/idx.json"
IDX=$MANIFEST_DIGEST
expect_status "DELETE index by digest is 202" 202 DELETE "$REG/v2/$R/manifests/$IDX"
expect_status "children of a deleted index still resolve" 200 GET "$REG/v2/$R/manifests/$(sha256_of "$W/c1/manifest.json")"
expect_status "deleted index tag is 404" 404 GET "$REG/v2/$R/manifests/idx"

# --- referrers follow deletes ---------------------------------------------------
R=t-mgmt/refs
image_make "$W/s" 1 64
image_push "$REG" "$R" s "$W/s"
S=$IMG_DIGEST
empty_json_push "$REG" "$R"
artifact_make "$W/r1.json" application/vnd.example.one "$W/s/manifest.json"
manifest_push "$REG" "$R" "$ART_DIGEST" "$W/r1.json"
R1=$ART_DIGEST
artifact_make "$W/r2.json" application/vnd.example.two "$W/s/manifest.json"
manifest_push "$REG" "$R" "$ART_DIGEST" "$W/r2.json"
R2=$ART_DIGEST
expect_status "DELETE a referrer is 202" 202 DELETE "$REG/v2/$R/manifests/$R1"
req GET "$REG/v2/$R/referrers/$S"
expect_eq "deleted referrer is gone from the referrers list" "[\"$R2\"]" "$(jq -c '[.manifests[].digest]' "$BODY")"
expect_status "DELETE the subject is 202" 202 DELETE "$REG/v2/$R/manifests/$S"
req GET "$REG/v2/$R/referrers/$S"
expect_eq "referrers of a deleted subject is still 200" 200 "$STATUS"
expect_status "referrer of a deleted subject is still readable" 200 GET "$REG/v2/$R/manifests/$R2"

# --- blobs --------------------------------------------------------------------------
R=t-mgmt/blobs
rand_blob "$W/b" 1000
blob_push "$REG" "$R" "$W/b"
B=$DIGEST
blob_push "$REG" t-mgmt/blobs-twin "$W/b"
rand_blob "$W/b2" 1000
blob_push "$REG" "$R" "$W/b2"
B2=$DIGEST
RID=$(repo_id "$R")

expect_status "DELETE blob is 202" 202 DELETE "$REG/v2/$R/blobs/$B"
expect_status "deleted blob is 404" 404 GET "$REG/v2/$R/blobs/$B"
expect_error_code "deleted blob is BLOB_UNKNOWN" BLOB_UNKNOWN
expect_status "deleted blob is 404 by HEAD" 404 HEAD "$REG/v2/$R/blobs/$B"
expect_status "deleted blob is 404 on node 2" 404 GET "$REG2/v2/$R/blobs/$B"
expect_eq "deleted blob's repository link is gone" 0 \
	"$(sql "SELECT count(*) FROM repository_blobs WHERE repository_id = $RID AND digest = '$B'")"
req GET "$REG/v2/t-mgmt/blobs-twin/blobs/$B"
expect_eq "blob deleted in repository A is still 200 in repository B" 200 "$STATUS"
check "blob deleted in repository A still has its bytes in repository B" body_is "$W/b"
check "blob stays in storage while another repository links it" stored_blob_is "$B" "$W/b"
expect_status "other blob in the repository is untouched" 200 GET "$REG/v2/$R/blobs/$B2"
req DELETE "$REG/v2/$R/blobs/$B"
expect_eq "DELETE of an already deleted blob is 404" 404 "$STATUS"
expect_error_code "DELETE of an already deleted blob is BLOB_UNKNOWN" BLOB_UNKNOWN
UNK=sha256:$(printf 'unknown blob to delete' | sha256sum | cut -d' ' -f1)
expect_status "DELETE of an unknown blob is 404" 404 DELETE "$REG/v2/$R/blobs/$UNK"
expect_status "DELETE blob of another repository is 404" 404 \
	DELETE "$REG/v2/$R/blobs/$(sha256_of "$W/img/layer1")"
expect_status "blob survives a DELETE through a repository that did not have it" 200 \
	GET "$REG/v2/t-mgmt/tags/blobs/$(sha256_of "$W/img/layer1")"

# A manifest needing the deleted blob is refused; pushing it again heals.
jq -n --arg mt "$MT_OCI_MANIFEST" --argjson c "$(desc_json "$MT_OCI_CONFIG" "$W/b2")" \
	--argjson l "$(desc_json "$MT_OCI_LAYER" "$W/b")" \
	'{schemaVersion: 2, mediaType: $mt, config: $c, layers: [$l]}' >"$W/needs.json"
manifest_push "$REG" "$R" needs "$W/needs.json"
expect_eq "manifest needing a deleted blob is 400" 400 "$STATUS"
expect_error_code "manifest needing a deleted blob is MANIFEST_BLOB_UNKNOWN" MANIFEST_BLOB_UNKNOWN
blob_push "$REG" "$R" "$W/b"
expect_eq "deleted blob can be pushed again" 201 "$STATUS"
expect_status "re-pushed blob is readable" 200 GET "$REG/v2/$R/blobs/$B"
manifest_push "$REG" "$R" needs "$W/needs.json"
expect_eq "manifest accepted once the blob is back" 201 "$STATUS"

# Blob deleted in its only repository: re-push through the other node.
rand_blob "$W/solo" 500
blob_push "$REG" t-mgmt/solo "$W/solo"
SOLO=$DIGEST
expect_status "DELETE blob in its only repository is 202" 202 DELETE "$REG2/v2/t-mgmt/solo/blobs/$SOLO"
expect_status "blob deleted on node 2 is 404 on node 1" 404 GET "$REG/v2/t-mgmt/solo/blobs/$SOLO"
blob_push "$REG2" t-mgmt/solo "$W/solo"
req GET "$REG/v2/t-mgmt/solo/blobs/$SOLO"
check "blob deleted from its only repository can be pushed again and read" body_is "$W/solo"
