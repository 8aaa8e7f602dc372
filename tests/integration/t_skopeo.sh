#!/bin/bash
# A real client: skopeo copies real OCI images (tar+gzip layers, matching
# diff_ids) and a multi-arch index from OCI layouts into the registry and
# back, through both nodes, as Docker schema2, across repositories (blob
# mounts), and lists and deletes tags. Digests must survive every trip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"
N1=$REG_HOSTPORT
N2=$REG2_HOSTPORT

# sk NAME ARGS...: runs skopeo ARGS; ok NAME on success.
sk() {
	local name=$1
	shift
	if timeout 120 "${SKOPEO[@]}" "$@" >"$W/sk.log" 2>&1; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "skopeo $*: $(tail -c 500 "$W/sk.log")"
	return 1
}

# raw_digest REF: digest of the manifest bytes skopeo reads from REF.
raw_digest() {
	timeout 60 "${SKOPEO[@]}" inspect --raw --tls-verify=false "$1" >"$W/raw" 2>"$W/raw.err" || return 1
	sha256_of "$W/raw"
}

# same_blobs A B: every blob of layout A is in layout B, byte for byte.
same_blobs() {
	local f
	for f in "$1"/blobs/sha256/*; do
		cmp -s "$f" "$2/blobs/sha256/$(basename "$f")" || return 1
	done
}

# --- single image, OCI layout -> node 1 -> OCI layout ------------------------
oci_layout_make "$W/src" 1 3
SRC_DIGEST=$LAYOUT_DIGEST
sk "skopeo copies a 3-layer OCI layout into the registry" \
	copy --dest-tls-verify=false "oci:$W/src:1" "docker://$N1/t-skopeo/img:1"
expect_eq "skopeo inspect --raw gives the manifest digest of the layout" \
	"$SRC_DIGEST" "$(raw_digest "docker://$N1/t-skopeo/img:1")"
check "manifest bytes in the registry equal the layout's" cmp -s "$W/raw" "$W/src/blobs/sha256/${SRC_DIGEST#sha256:}"
req GET "$REG/v2/t-skopeo/img/manifests/1"
expect_hdr "manifest pushed by skopeo is served as an OCI manifest" Content-Type "$MT_OCI_MANIFEST"
for l in $(jq -r '.layers[].digest' "$W/raw"); do
	req GET "$REG/v2/t-skopeo/img/blobs/$l"
	cmp -s "$BODY" "$W/src/blobs/sha256/${l#sha256:}" || break
done
check "every layer pushed by skopeo reads back with curl" body_is "$W/src/blobs/sha256/${l#sha256:}"
if timeout 60 "${SKOPEO[@]}" inspect --tls-verify=false "docker://$N1/t-skopeo/img:1" >"$W/inspect.json" 2>"$W/sk.log"; then
	expect_eq "skopeo inspect sees the three layers" \
		"$(jq -c '[.layers[].digest]' "$W/raw")" "$(jq -c .Layers "$W/inspect.json")"
	expect_eq "skopeo inspect reads the config (architecture)" amd64 "$(jq -r .Architecture "$W/inspect.json")"
else
	not_ok "skopeo inspect of the pushed image" "$(tail -c 300 "$W/sk.log")"
fi

sk "skopeo copies the image back out to a new OCI layout" \
	copy --src-tls-verify=false "docker://$N1/t-skopeo/img:1" "oci:$W/back:1"
expect_eq "the image copied back has the same manifest digest" "$SRC_DIGEST" "$(layout_manifest_digest "$W/back")"
check "the image copied back has the same blobs, byte for byte" same_blobs "$W/src" "$W/back"
sk "skopeo copies the image out by digest" \
	copy --src-tls-verify=false "docker://$N1/t-skopeo/img@$SRC_DIGEST" "oci:$W/bydigest:x"
expect_eq "the image copied by digest has the same manifest digest" "$SRC_DIGEST" \
	"$(layout_manifest_digest "$W/bydigest")"

# --- multi-arch index ----------------------------------------------------------
oci_layout_make_multi "$W/multi" 1
MULTI=$LAYOUT_DIGEST
sk "skopeo copy --all pushes a two-platform index" \
	copy --all --dest-tls-verify=false "oci:$W/multi:1" "docker://$N1/t-skopeo/multi:1"
expect_eq "the index in the registry has the layout's digest" "$MULTI" \
	"$(raw_digest "docker://$N1/t-skopeo/multi:1")"
req GET "$REG/v2/t-skopeo/multi/manifests/1"
expect_hdr "the index is served as an OCI index" Content-Type "$MT_OCI_INDEX"
i=0
for c in $LAYOUT_CHILDREN; do
	i=$((i + 1))
	expect_status "platform manifest $i of 2 is in the registry" 200 \
		GET "$REG/v2/t-skopeo/multi/manifests/$c"
done
sk "skopeo copy --all copies the index back out" \
	copy --all --src-tls-verify=false "docker://$N1/t-skopeo/multi:1" "oci:$W/multi-back:1"
expect_eq "the index copied back has the same digest" "$MULTI" "$(layout_manifest_digest "$W/multi-back")"
check "the index copied back has all blobs of both platforms, byte for byte" \
	same_blobs "$W/multi" "$W/multi-back"
sk "skopeo copies one platform of the index (arm64)" \
	--override-arch arm64 copy --src-tls-verify=false "docker://$N1/t-skopeo/multi:1" "oci:$W/arm64:1"
expect_eq "the arm64 copy is the arm64 manifest of the index" "${LAYOUT_CHILDREN#* }" \
	"$(layout_manifest_digest "$W/arm64")"

# --- across nodes ---------------------------------------------------------------
oci_layout_make "$W/x" 1 2
X=$LAYOUT_DIGEST
sk "skopeo pushes an image through node 1" \
	copy --dest-tls-verify=false "oci:$W/x:1" "docker://$N1/t-skopeo/xnode:1"
sk "skopeo pulls the same image through node 2" \
	copy --src-tls-verify=false "docker://$N2/t-skopeo/xnode:1" "oci:$W/x2:1"
expect_eq "the image pulled through node 2 has the same manifest digest" "$X" "$(layout_manifest_digest "$W/x2")"
check "the image pulled through node 2 has the same blobs" same_blobs "$W/x" "$W/x2"
sk "skopeo copy --all pulls the index through node 2" \
	copy --all --src-tls-verify=false "docker://$N2/t-skopeo/multi:1" "oci:$W/multi2:1"
expect_eq "the index pulled through node 2 has the same digest" "$MULTI" "$(layout_manifest_digest "$W/multi2")"
sk "skopeo copies registry to registry, node 1 to node 2" \
	copy --src-tls-verify=false --dest-tls-verify=false \
	"docker://$N1/t-skopeo/img:1" "docker://$N2/t-skopeo/img-copy:1"
expect_eq "the registry-to-registry copy keeps the manifest digest" "$SRC_DIGEST" \
	"$(raw_digest "docker://$N1/t-skopeo/img-copy:1")"

# --- same registry, other repository: skopeo mounts the blobs --------------------
sk "skopeo copies between repositories of one node (blob mount)" \
	copy --all --src-tls-verify=false --dest-tls-verify=false \
	"docker://$N1/t-skopeo/multi:1" "docker://$N1/t-skopeo/multi-mounted:2"
expect_eq "the copy between repositories keeps the index digest" "$MULTI" \
	"$(raw_digest "docker://$N1/t-skopeo/multi-mounted:2")"
sk "the copy between repositories pulls back completely" \
	copy --all --src-tls-verify=false "docker://$N1/t-skopeo/multi-mounted:2" "oci:$W/mounted:2"
check "the mounted copy has the same blobs" same_blobs "$W/multi" "$W/mounted"

# --- Docker schema2 --------------------------------------------------------------
sk "skopeo pushes the image converted to Docker schema2" \
	copy --format v2s2 --dest-tls-verify=false "oci:$W/src:1" "docker://$N1/t-skopeo/docker:1"
raw_digest "docker://$N1/t-skopeo/docker:1" >/dev/null
expect_eq "the converted manifest is Docker schema2" "$MT_DOCKER_MANIFEST" "$(jq -r .mediaType "$W/raw")"
expect_eq "the Docker manifest keeps the layer digests" \
	"$(jq -c '[.layers[].digest]' "$W/src/blobs/sha256/${SRC_DIGEST#sha256:}")" \
	"$(jq -c '[.layers[].digest]' "$W/raw")"
cp "$W/raw" "$W/docker-manifest.json"
req GET "$REG/v2/t-skopeo/docker/manifests/1" -H "Accept: $MT_DOCKER_MANIFEST"
expect_hdr "the Docker manifest is served with its media type" Content-Type "$MT_DOCKER_MANIFEST"
check "the Docker manifest is served byte for byte" body_is "$W/docker-manifest.json"
sk "skopeo pulls the Docker schema2 image" \
	copy --src-tls-verify=false "docker://$N2/t-skopeo/docker:1" "dir:$W/docker-dir"
check "the Docker image pulled has the same manifest bytes" cmp -s "$W/docker-dir/manifest.json" "$W/docker-manifest.json"

# --- tags and delete ----------------------------------------------------------------
sk "skopeo adds a second tag" \
	copy --src-tls-verify=false --dest-tls-verify=false \
	"docker://$N1/t-skopeo/img:1" "docker://$N1/t-skopeo/img:2"
if timeout 60 "${SKOPEO[@]}" list-tags --tls-verify=false "docker://$N2/t-skopeo/img" >"$W/tags.json" 2>"$W/sk.log"; then
	expect_eq "skopeo list-tags sees both tags" '["1","2"]' "$(jq -c '.Tags | sort' "$W/tags.json")"
else
	not_ok "skopeo list-tags sees both tags" "$(tail -c 300 "$W/sk.log")"
fi
sk "skopeo deletes the registry-to-registry copy" \
	delete --tls-verify=false "docker://$N1/t-skopeo/img-copy:1"
expect_status "the deleted image is gone by digest" 404 GET "$REG/v2/t-skopeo/img-copy/manifests/$SRC_DIGEST"
expect_status "the deleted image's tag is gone" 404 GET "$REG2/v2/t-skopeo/img-copy/manifests/1"
expect_status "the original image is untouched by the delete" 200 GET "$REG/v2/t-skopeo/img/manifests/1"
