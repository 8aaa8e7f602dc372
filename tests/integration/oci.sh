# OCI helpers for the integration tests, sourced after lib.sh: push blobs
# (monolithic or in chunks) and manifests, build small API-test images
# from random bytes, and build real OCI image layouts (valid tar+gzip
# layers, diff_ids that match) for skopeo.
#
# Helpers return their results in globals (UPLOAD_URL, DIGEST, IMG_*),
# not on stdout, so that $STATUS, $HDRS and $BODY of the last request
# survive; they return 0 on the expected status and 1 otherwise.

MT_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_OCI_INDEX=application/vnd.oci.image.index.v1+json
MT_OCI_CONFIG=application/vnd.oci.image.config.v1+json
MT_OCI_LAYER=application/vnd.oci.image.layer.v1.tar+gzip
MT_DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
MT_DOCKER_LIST=application/vnd.docker.distribution.manifest.list.v2+json
MT_DOCKER_CONFIG=application/vnd.docker.container.image.v1+json
MT_DOCKER_LAYER=application/vnd.docker.image.rootfs.diff.tar.gzip
MT_EMPTY=application/vnd.oci.empty.v1+json
EMPTY_JSON_DIGEST=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
EMPTY_BLOB_DIGEST=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# skopeo must not depend on the host's policy or auth files.
SKOPEO=(skopeo --insecure-policy)

# url_of BASE LOCATION: absolute URL for a Location header value, which
# the spec allows to be absolute or a path.
url_of() {
	case $2 in
	http://* | https://*) printf '%s' "$2" ;;
	*) printf '%s%s' "$1" "$2" ;;
	esac
}

# with_query URL PARAM: URL with PARAM (k=v) appended as a query parameter;
# the spec allows the upload Location to carry its own parameters.
with_query() {
	case $1 in
	*\?*) printf '%s&%s' "$1" "$2" ;;
	*) printf '%s?%s' "$1" "$2" ;;
	esac
}

# base_of URL: scheme://host:port of an absolute URL.
base_of() {
	printf '%s' "$1" | sed -E 's#^(https?://[^/]+).*#\1#'
}

file_size() {
	stat -c %s "$1"
}

# file_slice FILE OFFSET LEN OUT: copies LEN bytes of FILE from OFFSET.
file_slice() {
	tail -c +"$(($2 + 1))" "$1" | head -c "$3" >"$4"
}

# sql QUERY: runs QUERY against the registry database; prints unaligned
# tuples without headers.
sql() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

# blob_files: every file under $STORAGE/blobs, sorted, one a line.
blob_files() {
	find "$STORAGE/blobs" -type f 2>/dev/null | LC_ALL=C sort
}

# blob_path DIGEST: where storage keeps the bytes of DIGEST.
blob_path() {
	local hex=${1#sha256:}
	printf '%s/blobs/sha256/%s/%s' "$STORAGE" "${hex:0:2}" "$hex"
}

# upload_start BASE REPO [extra curl args]: POST /v2/REPO/blobs/uploads/.
# On 202 with a Location sets UPLOAD_URL (absolute), UPLOAD_LOC (as sent)
# and UPLOAD_UUID (last path segment, without query) and returns 0.
upload_start() {
	local base=$1 repo=$2
	shift 2
	UPLOAD_URL='' UPLOAD_LOC='' UPLOAD_UUID=''
	req POST "$base/v2/$repo/blobs/uploads/" -H 'Content-Length: 0' "$@"
	[ "$STATUS" = 202 ] || return 1
	UPLOAD_LOC=$(hdr Location)
	[ -n "$UPLOAD_LOC" ] || return 1
	UPLOAD_URL=$(url_of "$base" "$UPLOAD_LOC")
	UPLOAD_UUID=${UPLOAD_LOC%%\?*}
	UPLOAD_UUID=${UPLOAD_UUID##*/}
	return 0
}

# upload_follow BASE: after a PATCH/GET that returned Location, moves
# UPLOAD_URL there, as the spec says the next chunk should use it.
upload_follow() {
	local loc
	loc=$(hdr Location)
	[ -n "$loc" ] && UPLOAD_URL=$(url_of "$1" "$loc")
	return 0
}

# upload_patch FILE START [extra curl args]: sends FILE as the chunk that
# starts at byte START of the blob to $UPLOAD_URL. Returns 0 on 202 and
# follows the new Location.
upload_patch() {
	local f=$1 start=$2 n
	shift 2
	n=$(file_size "$f")
	req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
		-H "Content-Range: $start-$((start + n - 1))" \
		--data-binary @"$f" "$@"
	[ "$STATUS" = 202 ] || return 1
	upload_follow "$(base_of "$UPLOAD_URL")"
}

# upload_finish DIGEST [FILE START]: closing PUT to $UPLOAD_URL?digest=,
# optionally carrying FILE as the last chunk starting at START. Returns 0
# on 201.
upload_finish() {
	local d=$1 f=${2:-} start=${3:-}
	if [ -n "$f" ]; then
		local n
		n=$(file_size "$f")
		req PUT "$(with_query "$UPLOAD_URL" "digest=$d")" \
			-H 'Content-Type: application/octet-stream' \
			-H "Content-Range: $start-$((start + n - 1))" \
			--data-binary @"$f"
	else
		req PUT "$(with_query "$UPLOAD_URL" "digest=$d")" \
			-H 'Content-Length: 0'
	fi
	[ "$STATUS" = 201 ]
}

# blob_push BASE REPO FILE: POST then PUT with the whole blob (the
# spec's "POST then PUT"). Sets DIGEST; returns 0 on 201.
blob_push() {
	local base=$1 repo=$2 f=$3
	DIGEST=$(sha256_of "$f")
	upload_start "$base" "$repo" || return 1
	req PUT "$(with_query "$UPLOAD_URL" "digest=$DIGEST")" \
		-H 'Content-Type: application/octet-stream' --data-binary @"$f"
	[ "$STATUS" = 201 ]
}

# blob_push_single BASE REPO FILE: single POST with ?digest= and the body.
# Sets DIGEST; returns 0 on 201.
blob_push_single() {
	local base=$1 repo=$2 f=$3
	DIGEST=$(sha256_of "$f")
	req POST "$base/v2/$repo/blobs/uploads/?digest=$DIGEST" \
		-H 'Content-Type: application/octet-stream' --data-binary @"$f"
	[ "$STATUS" = 201 ]
}

# blob_push_chunked BASE REPO FILE CHUNK: POST, PATCH chunks of CHUNK
# bytes with Content-Range, then a PUT without body. Sets DIGEST; returns
# 0 on 201.
blob_push_chunked() {
	local base=$1 repo=$2 f=$3 chunk=$4 size off=0 part
	DIGEST=$(sha256_of "$f")
	size=$(file_size "$f")
	part=$SCRATCH/.chunk.$$
	upload_start "$base" "$repo" || return 1
	while [ "$off" -lt "$size" ]; do
		file_slice "$f" "$off" "$chunk" "$part"
		upload_patch "$part" "$off" || return 1
		off=$((off + $(file_size "$part")))
	done
	rm -f "$part"
	upload_finish "$DIGEST"
}

# manifest_push BASE REPO REF FILE [CONTENT_TYPE]: PUT a manifest; the
# Content-Type defaults to the document's mediaType. Sets MANIFEST_DIGEST;
# returns 0 on 201.
manifest_push() {
	local base=$1 repo=$2 ref=$3 f=$4 ct=${5:-}
	[ -n "$ct" ] || ct=$(jq -r '.mediaType // empty' "$f")
	MANIFEST_DIGEST=$(sha256_of "$f")
	req PUT "$base/v2/$repo/manifests/$ref" -H "Content-Type: $ct" \
		--data-binary @"$f"
	[ "$STATUS" = 201 ]
}

# desc_json MEDIATYPE FILE: a compact descriptor for FILE.
desc_json() {
	jq -cn --arg mt "$1" --arg d "$(sha256_of "$2")" \
		--argjson s "$(file_size "$2")" \
		'{mediaType: $mt, digest: $d, size: $s}'
}

# image_make DIR NLAYERS [BYTES] [oci|docker]: an API-test image made of
# random bytes: DIR/config.json, DIR/layer1..N and DIR/manifest.json.
# Layers are not real tars, which the registry must not care about.
# Sets IMG_MANIFEST (path), IMG_DIGEST, IMG_CONFIG, IMG_LAYERS (paths).
image_make() {
	local dir=$1 n=$2 bytes=${3:-1024} flavour=${4:-oci}
	local mt_m=$MT_OCI_MANIFEST mt_c=$MT_OCI_CONFIG mt_l=$MT_OCI_LAYER
	local i layers='[]' nonce
	if [ "$flavour" = docker ]; then
		mt_m=$MT_DOCKER_MANIFEST mt_c=$MT_DOCKER_CONFIG
		mt_l=$MT_DOCKER_LAYER
	fi
	mkdir -p "$dir"
	IMG_LAYERS=
	for i in $(seq 1 "$n"); do
		rand_blob "$dir/layer$i" "$bytes"
		layers=$(jq -c --argjson d "$(desc_json "$mt_l" "$dir/layer$i")" \
			'. + [$d]' <<<"$layers")
		IMG_LAYERS="$IMG_LAYERS $dir/layer$i"
	done
	nonce=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	jq -cn --arg nonce "$nonce" --argjson l "$layers" '{
		architecture: "amd64", os: "linux",
		config: {Labels: {nonce: $nonce}},
		rootfs: {type: "layers", diff_ids: [$l[].digest]}
	}' >"$dir/config.json"
	IMG_CONFIG=$dir/config.json
	jq -n --arg mt "$mt_m" --argjson c "$(desc_json "$mt_c" "$dir/config.json")" \
		--argjson l "$layers" \
		'{schemaVersion: 2, mediaType: $mt, config: $c, layers: $l}' \
		>"$dir/manifest.json"
	IMG_MANIFEST=$dir/manifest.json
	IMG_DIGEST=$(sha256_of "$IMG_MANIFEST")
}

# image_push BASE REPO REF DIR: pushes the blobs image_make wrote in DIR,
# then the manifest under REF (a tag or "" for by digest). Sets
# MANIFEST_DIGEST; returns 0 when every request succeeded.
image_push() {
	local base=$1 repo=$2 ref=$3 dir=$4 f
	for f in "$dir"/config.json "$dir"/layer*; do
		blob_push "$base" "$repo" "$f" || return 1
	done
	[ -n "$ref" ] || ref=$(sha256_of "$dir/manifest.json")
	manifest_push "$base" "$repo" "$ref" "$dir/manifest.json"
}

# index_make OUT MEDIATYPE MANIFEST... : an index (OCI or Docker list,
# from MEDIATYPE) over the given manifest files (each described with its
# own mediaType), with amd64, arm64, ... as platforms in that order. Sets
# IDX_DIGEST.
index_make() {
	local out=$1 mt=$2 f i=0 list='[]' archs=(amd64 arm64 ppc64le s390x)
	shift 2
	for f in "$@"; do
		list=$(jq -c --argjson d "$(desc_json "$(jq -r .mediaType "$f")" "$f")" \
			--arg a "${archs[$i]}" \
			'. + [$d + {platform: {architecture: $a, os: "linux"}}]' \
			<<<"$list")
		i=$((i + 1))
	done
	jq -n --arg mt "$mt" --argjson m "$list" \
		'{schemaVersion: 2, mediaType: $mt, manifests: $m}' >"$out"
	IDX_DIGEST=$(sha256_of "$out")
}

# artifact_make OUT ARTIFACT_TYPE [SUBJECT_FILE] [ANNOTATIONS_JSON]: an
# artifact manifest with the empty config and one empty-JSON layer,
# optionally with a subject (the descriptor of SUBJECT_FILE, an OCI
# manifest or index) and annotations. The empty blob "{}" must be in the
# repository before the push. Sets ART_DIGEST.
artifact_make() {
	local out=$1 at=$2 subj=${3:-} ann=${4:-null} sdesc=null smt
	if [ -n "$subj" ]; then
		smt=$(jq -r '.mediaType // empty' "$subj")
		sdesc=$(desc_json "${smt:-$MT_OCI_MANIFEST}" "$subj")
	fi
	jq -n --arg mt "$MT_OCI_MANIFEST" --arg at "$at" --arg e "$MT_EMPTY" \
		--arg ed "$EMPTY_JSON_DIGEST" --argjson s "$sdesc" \
		--argjson a "$ann" '{
		schemaVersion: 2, mediaType: $mt, artifactType: $at,
		config: {mediaType: $e, digest: $ed, size: 2},
		layers: [{mediaType: $e, digest: $ed, size: 2}]
	} + (if $s == null then {} else {subject: $s} end)
	  + (if $a == null then {} else {annotations: $a} end)' >"$out"
	ART_DIGEST=$(sha256_of "$out")
}

# empty_json_push BASE REPO: puts the "{}" blob artifacts use as config.
empty_json_push() {
	printf '{}' >"$SCRATCH/.empty.json"
	blob_push "$1" "$2" "$SCRATCH/.empty.json"
}

# _layout_add DIR FILE: moves FILE into the layout's blobs/sha256 and sets
# _DIGEST and _SIZE.
_layout_add() {
	_DIGEST=$(sha256_of "$2")
	_SIZE=$(file_size "$2")
	mv "$2" "$1/blobs/sha256/${_DIGEST#sha256:}"
}

# _layout_image DIR ARCH NLAYERS: writes a real image (gzip tar layers,
# config with matching diff_ids) into the layout's blobs. Sets _DIGEST and
# _SIZE to the manifest's.
_layout_image() {
	local dir=$1 arch=$2 n=$3 i tmp layers='[]' diffs='[]' hist='[]'
	tmp=$(mktemp -d "$SCRATCH/layer.XXXXXX")
	for i in $(seq 1 "$n"); do
		mkdir -p "$tmp/root$i/data/l$i"
		head -c $((2048 + i * 512)) /dev/urandom >"$tmp/root$i/data/l$i/rand.bin"
		printf 'layer %s of %s for %s\n' "$i" "$n" "$arch" \
			>"$tmp/root$i/data/l$i/README"
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			-C "$tmp/root$i" -cf "$tmp/layer$i.tar" data
		diffs=$(jq -c --arg d "$(sha256_of "$tmp/layer$i.tar")" \
			'. + [$d]' <<<"$diffs")
		hist=$(jq -c --arg c "layer $i" '. + [{created_by: $c}]' <<<"$hist")
		gzip -n -c "$tmp/layer$i.tar" >"$tmp/layer$i.tar.gz"
		_layout_add "$dir" "$tmp/layer$i.tar.gz"
		layers=$(jq -c --arg mt "$MT_OCI_LAYER" --arg d "$_DIGEST" \
			--argjson s "$_SIZE" '. + [{mediaType: $mt, digest: $d, size: $s}]' \
			<<<"$layers")
	done
	jq -n --arg a "$arch" --argjson d "$diffs" --argjson h "$hist" \
		--arg nonce "$(basename "$tmp")" '{
		created: "2024-01-01T00:00:00Z", architecture: $a, os: "linux",
		config: {Env: ["PATH=/usr/bin:/bin"], Labels: {nonce: $nonce}},
		rootfs: {type: "layers", diff_ids: $d}, history: $h
	}' >"$tmp/config.json"
	_layout_add "$dir" "$tmp/config.json"
	jq -n --arg mt "$MT_OCI_MANIFEST" --arg cmt "$MT_OCI_CONFIG" \
		--arg cd "$_DIGEST" --argjson cs "$_SIZE" --argjson l "$layers" \
		'{schemaVersion: 2, mediaType: $mt,
		  config: {mediaType: $cmt, digest: $cd, size: $cs}, layers: $l}' \
		>"$tmp/manifest.json"
	_layout_add "$dir" "$tmp/manifest.json"
	rm -rf "$tmp"
}

# _layout_init DIR: an empty OCI image layout.
_layout_init() {
	mkdir -p "$1/blobs/sha256"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
}

# _layout_index DIR TAG MEDIATYPE: index.json naming one manifest, the one
# in _DIGEST/_SIZE, as TAG.
_layout_index() {
	jq -n --arg mt "$3" --arg d "$_DIGEST" --argjson s "$_SIZE" --arg t "$2" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		  manifests: [{mediaType: $mt, digest: $d, size: $s,
		  annotations: {"org.opencontainers.image.ref.name": $t}}]}' \
		>"$1/index.json"
}

# oci_layout_make DIR TAG NLAYERS: a real single-platform image as an OCI
# image layout (usable as skopeo's oci:DIR:TAG). Sets LAYOUT_DIGEST to the
# manifest digest.
oci_layout_make() {
	local dir=$1 tag=$2 n=$3
	_layout_init "$dir"
	_layout_image "$dir" amd64 "$n"
	_layout_index "$dir" "$tag" "$MT_OCI_MANIFEST"
	LAYOUT_DIGEST=$_DIGEST
}

# oci_layout_make_multi DIR TAG: a real multi-arch image (linux/amd64 and
# linux/arm64, two layers each) as an OCI layout whose TAG names the image
# index. Sets LAYOUT_DIGEST to the index digest and LAYOUT_CHILDREN to the
# two manifest digests.
oci_layout_make_multi() {
	local dir=$1 tag=$2 d1 s1 d2 s2
	_layout_init "$dir"
	_layout_image "$dir" amd64 2
	d1=$_DIGEST s1=$_SIZE
	_layout_image "$dir" arm64 2
	d2=$_DIGEST s2=$_SIZE
	jq -n --arg mt "$MT_OCI_MANIFEST" --arg d1 "$d1" --argjson s1 "$s1" \
		--arg d2 "$d2" --argjson s2 "$s2" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		  manifests: [
		  {mediaType: $mt, digest: $d1, size: $s1,
		   platform: {architecture: "amd64", os: "linux"}},
		  {mediaType: $mt, digest: $d2, size: $s2,
		   platform: {architecture: "arm64", os: "linux"}}]}' \
		>"$SCRATCH/.index.json"
	_layout_add "$dir" "$SCRATCH/.index.json"
	_layout_index "$dir" "$tag" "$MT_OCI_INDEX"
	LAYOUT_DIGEST=$_DIGEST
	LAYOUT_CHILDREN="$d1 $d2"
}

# layout_manifest_digest DIR: digest of the first manifest in index.json.
layout_manifest_digest() {
	jq -r '.manifests[0].digest' "$1/index.json"
}

# check NAME CMD...: ok NAME when CMD succeeds, else not_ok with the command
# and the last HTTP status.
check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "failed: $* (last status ${STATUS:-none})"
	fi
}

# check_why NAME WHY CMD...: like check, with WHY as the failure reason.
check_why() {
	local name=$1 why=$2
	shift 2
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "$why"
	fi
}

# body_is FILE: the last response body is byte-identical to FILE.
body_is() {
	cmp -s "$BODY" "$1"
}

# body_empty: the last response had no body.
body_empty() {
	[ ! -s "$BODY" ]
}

# status_in LIST...: the last status is one of LIST.
status_in() {
	local s
	for s in "$@"; do
		[ "$STATUS" = "$s" ] && return 0
	done
	return 1
}

# error_code_in CODE...: the last body is a spec error whose first code is
# one of CODE.
error_code_in() {
	local got c
	got=$(jq -r '.errors[0].code // empty' "$BODY" 2>/dev/null)
	for c in "$@"; do
		[ "$got" = "$c" ] && return 0
	done
	return 1
}

# expect_status_code NAME STATUSES CODES: one check that the last
# response's status is in the space-separated STATUSES and its first error
# code in CODES (CODES empty: any body).
expect_status_code() {
	local name=$1 statuses=$2 codes=$3 got=
	if [[ $STATUS == [45]* ]]; then
		got=$(jq -r '.errors[0].code // empty' "$BODY" 2>/dev/null)
	fi
	if [[ " $statuses " == *" $STATUS "* ]] &&
		{ [ -z "$codes" ] || [[ " $codes " == *" $got "* && -n $got ]]; }; then
		ok "$name"
	else
		not_ok "$name" "want status in ($statuses) code in (${codes:-any}), got $STATUS ${got:-<no code>}: $(head -c 200 "$BODY" 2>/dev/null | tr -cd '[:print:]')"
	fi
}
