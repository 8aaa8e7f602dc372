#!/bin/bash
# Online garbage collection: what goes (untagged manifests, unreferenced
# blob links, unlinked blobs and their bytes) and what stays (tagged
# images, an index's children, a kept manifest's referrers, anything in
# its grace), dry runs, races with pushes run step by step with two
# database sessions, collectors on two nodes at once, and a loop of real
# pushes, deletes and collections after which every committed manifest
# is pullable. The shared nodes run no collector (run.sh); every
# collection here is `registryd gc` or an extra node.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"

W=$SCRATCH/w
mkdir -p "$W"
DBINFO="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER"
repo_id() { sql "SELECT id FROM repositories WHERE name = '$1'"; }

# gc [VAR=VALUE...] [run|dry-run|status]: `registryd gc` with grace 0
# unless told; its JSON in $GC, exit code in $GC_RC.
gc() {
	local -a vars=()
	while [[ ${1:-} == *=* ]]; do
		vars+=("$1")
		shift
	done
	env REGISTRYD_DATABASE="$DBINFO" REGISTRYD_STORAGE="$STORAGE" \
		REGISTRYD_GC_GRACE=0 REGISTRYD_LOG_LEVEL=warn "${vars[@]}" \
		"$BUILD/registryd" gc "$@" >"$W/gc.json" 2>"$W/gc.err"
	GC_RC=$?
	GC=$(cat "$W/gc.json")
}
gcv() { jq -r ".$1" <<<"$GC"; }

# pullable BASE REPO REF: the manifest and every blob it names answer
# 200 with the bytes of their digests (children of an index too).
pullable() {
	local base=$1 repo=$2 ref=$3 d f=$W/pull.$$
	curl -sf -o "$f" -H "Accept: $MT_OCI_MANIFEST, $MT_OCI_INDEX" \
		"$base/v2/$repo/manifests/$ref" || return 1
	for d in $(jq -r '(.config.digest // empty), (.layers[]?.digest)' "$f"); do
		[ "$(curl -sf "$base/v2/$repo/blobs/$d" | sha256sum | cut -d' ' -f1)" = "${d#sha256:}" ] || return 1
	done
	for d in $(jq -r '.manifests[]?.digest' "$f"); do
		pullable "$base" "$repo" "$d" || return 1
	done
}

# backdate: every review queued so far is past any grace.
backdate() {
	sql "UPDATE gc_manifest_reviews SET queued_at = queued_at - interval '2 days';
	     UPDATE gc_repo_blob_reviews SET queued_at = queued_at - interval '2 days';
	     UPDATE manifests SET created_at = created_at - interval '2 days';
	     UPDATE repository_blobs SET created_at = created_at - interval '2 days'" >/dev/null
}

# Leftovers of the tests before this one go first, so counts are ours.
gc
expect_eq "registryd gc runs (exit 0)" 0 "$GC_RC"

# --- an untagged image goes, whole ------------------------------------------
R=t-gc/basic
image_make "$W/a" 2 3000
image_push "$REG" "$R" v1 "$W/a" || not_ok "image pushed" "status $STATUS"
A=$IMG_DIGEST
RID=$(repo_id "$R")
LAYERS=$(jq -r '.config.digest, .layers[].digest' "$W/a/manifest.json")
gc REGISTRYD_GC_GRACE=3600
expect_eq "a tagged image: nothing collected" "0 0 0" "$(gcv manifests) $(gcv blob_links) $(gcv blobs)"
expect_status "DELETE the tag" 202 DELETE "$REG/v2/$R/manifests/v1"
gc REGISTRYD_GC_GRACE=3600
expect_eq "an untagged image within its grace stays" 0 "$(gcv manifests)"
expect_status "... and is pullable by digest" 200 GET "$REG/v2/$R/manifests/$A"
gc REGISTRYD_GC_GRACE=3600 dry-run
expect_eq "a dry run within the grace reports nothing of it" 0 "$(gcv manifests)"
backdate
gc REGISTRYD_GC_GRACE=3600 dry-run
expect_eq "a dry run past the grace: the manifest" 1 "$(gcv manifests)"
expect_eq "... its 3 blob links" 3 "$(gcv blob_links)"
expect_eq "... its 3 blobs" 3 "$(gcv blobs)"
want_bytes=$(($(file_size "$W/a/config.json") + 6000))
expect_eq "... and their bytes" "$want_bytes" "$(gcv blob_bytes)"
expect_eq "a dry run deletes nothing" "1 3" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $RID), (SELECT count(*) FROM repository_blobs WHERE repository_id = $RID)" | tr '|' ' ')"
gc REGISTRYD_GC_GRACE=3600
expect_eq "collection past the grace deletes the manifest" 1 "$(gcv manifests)"
expect_eq "... then (grace again) not yet its links" 0 "$(gcv blob_links)"
backdate
gc REGISTRYD_GC_GRACE=3600
expect_eq "... which go one grace later" 3 "$(gcv blob_links)"
expect_eq "... with their blobs" 3 "$(gcv blobs)"
expect_eq "... whose bytes leave storage" 3 "$(gcv blobs_removed)"
expect_eq "... all of them" "$want_bytes" "$(gcv bytes_freed)"
expect_status "the collected manifest is 404" 404 GET "$REG/v2/$R/manifests/$A"
left=0
for d in $LAYERS; do
	[ -e "$(blob_path "$d")" ] && left=$((left + 1))
done
expect_eq "no byte of the image is left in storage" 0 "$left"
expect_eq "no row of it is left" "0 0 0 0" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $RID), (SELECT count(*) FROM repository_blobs WHERE repository_id = $RID), (SELECT count(*) FROM blobs WHERE digest IN ($(for d in $LAYERS; do printf "'%s'," "$d"; done)'')), (SELECT count(*) FROM gc_blob_deletions)" | tr '|' ' ')"
expect_eq "the queues are empty" "0 0 0" \
	"$(sql "SELECT (SELECT count(*) FROM gc_manifest_reviews), (SELECT count(*) FROM gc_repo_blob_reviews), (SELECT count(*) FROM gc_blob_reviews)" | tr '|' ' ')"
