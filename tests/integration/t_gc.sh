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
. "$(dirname "$0")/auth.sh"

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
	local -a store
	mapfile -t store < <(storage_env)
	env REGISTRYD_DATABASE="$DBINFO" "${store[@]}" \
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
	stored_blob_exists "$d" && left=$((left + 1))
done
expect_eq "no byte of the image is left in storage" 0 "$left"
expect_eq "no row of it is left" "0 0 0 0" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $RID), (SELECT count(*) FROM repository_blobs WHERE repository_id = $RID), (SELECT count(*) FROM blobs WHERE digest IN ($(for d in $LAYERS; do printf "'%s'," "$d"; done)'')), (SELECT count(*) FROM gc_blob_deletions)" | tr '|' ' ')"
expect_eq "the queues are empty" "0 0 0" \
	"$(sql "SELECT (SELECT count(*) FROM gc_manifest_reviews), (SELECT count(*) FROM gc_repo_blob_reviews), (SELECT count(*) FROM gc_blob_reviews)" | tr '|' ' ')"

# --- shared layers, an index's children, referrers --------------------------
R=t-gc/keep
image_make "$W/k1" 2 2000
image_push "$REG" "$R" one "$W/k1" || not_ok "image one pushed" "status $STATUS"
K1=$IMG_DIGEST
SHARED=$(jq -r '.layers[0].digest' "$W/k1/manifest.json")
# A second image with the same first layer, pushed by digest, untagged.
image_make "$W/k2" 1 2100
cp "$W/k1/layer1" "$W/k2/layer2"
jq --argjson d "$(desc_json "$MT_OCI_LAYER" "$W/k1/layer1")" '.layers += [$d]' \
	"$W/k2/manifest.json" >"$W/k2/m2" && mv "$W/k2/m2" "$W/k2/manifest.json"
image_push "$REG" "$R" "" "$W/k2" || not_ok "image two pushed by digest" "status $STATUS"
K2=$(sha256_of "$W/k2/manifest.json")
# An index over two child images, tagged.
image_make "$W/c1" 1 500
image_push "$REG" "$R" "" "$W/c1" || not_ok "child one pushed" "status $STATUS"
image_make "$W/c2" 1 600
image_push "$REG" "$R" "" "$W/c2" || not_ok "child two pushed" "status $STATUS"
C1=$(sha256_of "$W/c1/manifest.json")
C2=$(sha256_of "$W/c2/manifest.json")
index_make "$W/idx.json" "$MT_OCI_INDEX" "$W/c1/manifest.json" "$W/c2/manifest.json"
IDX=$IDX_DIGEST
manifest_push "$REG" "$R" multi "$W/idx.json" || not_ok "index pushed" "status $STATUS"
# A signature-like referrer of image one, untagged.
empty_json_push "$REG" "$R"
artifact_make "$W/sig.json" application/vnd.example.sig "$W/k1/manifest.json"
SIG=$(sha256_of "$W/sig.json")
manifest_push "$REG" "$R" "$SIG" "$W/sig.json" || not_ok "referrer pushed" "status $STATUS"
backdate
gc REGISTRYD_GC_GRACE=3600
expect_eq "of five untagged manifests only the unreferenced image goes" 1 "$(gcv manifests)"
expect_status "the untagged image is gone" 404 HEAD "$REG/v2/$R/manifests/$K2"
for m in "$K1" "$IDX" "$C1" "$C2" "$SIG"; do
	expect_status "kept: $m (tagged, an index's child or a kept manifest's referrer)" 200 HEAD "$REG/v2/$R/manifests/$m"
done
backdate
gc REGISTRYD_GC_GRACE=3600
expect_eq "the gone image's own layer and config go" 2 "$(gcv blob_links)"
check "the layer it shared with a tagged image stays in storage" stored_blob_exists "$SHARED"
check "tagged image one is whole" pullable "$REG" "$R" one
check "the index is whole" pullable "$REG" "$R" multi

expect_status "untag the index" 202 DELETE "$REG/v2/$R/manifests/multi"
expect_status "untag image one" 202 DELETE "$REG/v2/$R/manifests/one"
for i in 1 2 3; do
	backdate
	gc REGISTRYD_GC_GRACE=3600
done
expect_eq "an untagged index, its children, image one and its referrer all go" 0 \
	"$(sql "SELECT count(*) FROM manifests WHERE repository_id = $(repo_id "$R")")"
expect_eq "... with every blob link" 0 \
	"$(sql "SELECT count(*) FROM repository_blobs WHERE repository_id = $(repo_id "$R")")"
check "... and the shared layer's bytes" stored_blob_gone "$SHARED"

# --- a blob nobody references, a blob another repository still links -------
R=t-gc/orphan
rand_blob "$W/o1" 4096
blob_push "$REG" "$R" "$W/o1" || not_ok "orphan blob pushed" "status $STATUS"
O1=$(sha256_of "$W/o1")
blob_push "$REG" t-gc/orphan2 "$W/o1" || not_ok "same blob pushed to a second repository" "status $STATUS"
sql "UPDATE gc_repo_blob_reviews SET queued_at = queued_at - interval '2 days' WHERE repository_id = $(repo_id "$R")" >/dev/null
gc REGISTRYD_GC_GRACE=3600
expect_status "an uploaded blob no manifest used goes past its grace" 404 HEAD "$REG/v2/$R/blobs/$O1"
expect_status "... while the other repository's link (in its grace) stays" 200 HEAD "$REG/v2/t-gc/orphan2/blobs/$O1"
check "... and so do the bytes" stored_blob_exists "$O1"

# --- an abandoned chunked upload ----------------------------------------------
extra_start "$W/purger" REGISTRYD_UPLOAD_TTL=1 REGISTRYD_GC=false ||
	not_ok "start a node with upload_ttl = 1" "see $W/purger/log"
upload_start "$REG" t-gc/abandoned || not_ok "open a session" "status $STATUS"
rand_blob "$W/chunk" 65536
upload_patch "$W/chunk" 0 || not_ok "send one chunk" "status $STATUS"
AB=$UPLOAD_UUID
check "the chunk is in storage" stored_upload_present "$AB"
for ((i = 0; i < 100; i++)); do
	stored_upload_gone "$AB" && break
	sleep 0.1
done
check "an abandoned chunked upload's bytes are removed" stored_upload_gone "$AB"
expect_eq "... and its session" 0 "$(sql "SELECT count(*) FROM uploads WHERE id = '$AB'")"
extra_stop
expect_eq "the purging node exits 0" 0 "$?"

# --- races, step by step, with a second database session ---------------------
# A psql session on a coprocess: the collector's transaction held open
# while a client request runs against it.
coproc SESS { psql -X -A -t -q 2>&1; }
sess_n=0
# sess SQL: runs SQL in the held session; its output in $SESS_OUT.
sess() {
	local line
	sess_n=$((sess_n + 1))
	printf '%s\nSELECT %s;\n' "$1" "'#end$sess_n'" >&"${SESS[1]}"
	SESS_OUT=
	while IFS= read -r -t 20 line <&"${SESS[0]}"; do
		[ "$line" = "#end$sess_n" ] && return 0
		SESS_OUT+="$line"$'\n'
	done
	return 1
}
# bg_req NAME METHOD URL [curl args]: a request in the background; its
# status lands in $W/NAME.status, its pid in $BG.
bg_req() {
	local name=$1 method=$2 url=$3
	shift 3
	curl -s -o "$W/$name.body" -w '%{http_code}' -X "$method" "$url" "$@" \
		>"$W/$name.status" &
	BG=$!
}
# still_running PID: true after a second if PID has not ended.
still_running() {
	sleep 1
	kill -0 "$1" 2>/dev/null
}
# old_links REPO: every review of REPO's links is past a day's grace.
old_links() {
	sql "UPDATE gc_repo_blob_reviews SET queued_at = now() - interval '2 days'
	     WHERE repository_id = $(repo_id "$1")" >/dev/null
}

# The race GitLab's registry leaves open: a client HEADs a blob, finds
# it, skips the upload, and PUTs a manifest; a collection in between
# must not take the blob. A HEAD postpones the link's review.
R=t-gc/head-race
image_make "$W/h0" 1 1500
for f in "$W/h0/config.json" "$W/h0/layer1"; do
	blob_push "$REG" "$R-control" "$f" || not_ok "control blob pushed" "status $STATUS"
	blob_push "$REG" "$R" "$f" || not_ok "blob pushed" "status $STATUS"
done
old_links "$R-control"
old_links "$R"
for f in "$W/h0/config.json" "$W/h0/layer1"; do
	expect_status "HEAD finds blob $(basename "$f")" 200 HEAD "$REG/v2/$R/blobs/$(sha256_of "$f")"
done
gc REGISTRYD_GC_GRACE=3600
req PUT "$REG/v2/$R-control/manifests/v1" -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/h0/manifest.json"
expect_eq "control: without a HEAD, old unreferenced links are collected (the PUT fails)" 400 "$STATUS"
expect_error_code "... with MANIFEST_BLOB_UNKNOWN" MANIFEST_BLOB_UNKNOWN
manifest_push "$REG" "$R" v1 "$W/h0/manifest.json"
expect_eq "after a HEAD the same collection keeps them: the PUT succeeds" 201 "$STATUS"
check "... and the image is pullable" pullable "$REG" "$R" v1

# A collector holding a blob link it is deleting: the manifest PUT that
# needs the link waits for it, then is refused cleanly.
R=t-gc/put-waits
image_make "$W/p0" 1 1700
image_push "$REG" "$R" "" "$W/p0" >/dev/null
sql "DELETE FROM manifests WHERE repository_id = $(repo_id "$R")" >/dev/null
old_links "$R"
sess "BEGIN; SELECT deleted FROM berth_gc_links(3600, 1000);"
expect_match "the collector's transaction deletes the links" '^[1-9]' "$SESS_OUT"
bg_req putwait PUT "$REG/v2/$R/manifests/v1" -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/p0/manifest.json"
check "a manifest PUT waits for the collector's transaction" still_running "$BG"
sess "COMMIT;"
wait "$BG"
expect_eq "... then is refused with 400 once the links are gone" 400 "$(cat "$W/putwait.status")"
expect_eq "... leaving no manifest and no tag" "0 0" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $(repo_id "$R")), (SELECT count(*) FROM tags WHERE repository_id = $(repo_id "$R"))" | tr '|' ' ')"
image_push "$REG" "$R" v1 "$W/p0" || not_ok "push again" "status $STATUS"
check "pushed again, the image is pullable" pullable "$REG" "$R" v1

# A PUT that renewed a link's review first: the collector skips the row
# it holds (SKIP LOCKED) and, once committed, finds it not due.
R=t-gc/put-first
rand_blob "$W/pf" 2048
blob_push "$REG" "$R" "$W/pf" || not_ok "blob pushed" "status $STATUS"
PF=$DIGEST
old_links "$R"
sess "BEGIN; UPDATE gc_repo_blob_reviews SET queued_at = now() WHERE repository_id = $(repo_id "$R");"
gc REGISTRYD_GC_GRACE=3600
expect_eq "a collection skips the link whose review a push holds" 1 \
	"$(sql "SELECT count(*) FROM repository_blobs WHERE repository_id = $(repo_id "$R")")"
sess "COMMIT;"
gc REGISTRYD_GC_GRACE=3600
expect_status "... and after the push committed, finds it within its grace" 200 HEAD "$REG/v2/$R/blobs/$PF"

# A manifest the collector is deleting, pushed again by tag: the PUT
# waits, then stores it afresh.
R=t-gc/repush
image_make "$W/rp" 1 900
image_push "$REG" "$R" "" "$W/rp" || not_ok "image pushed by digest" "status $STATUS"
RP=$IMG_DIGEST
sql "UPDATE gc_manifest_reviews SET queued_at = now() - interval '2 days' WHERE repository_id = $(repo_id "$R")" >/dev/null
sess "BEGIN; SELECT deleted FROM berth_gc_manifests(3600, 1000);"
expect_match "the collector's transaction deletes the untagged manifest" '^[1-9]' "$SESS_OUT"
bg_req repush PUT "$REG/v2/$R/manifests/latest" -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/rp/manifest.json"
check "a PUT of the same manifest by tag waits for it" still_running "$BG"
sess "COMMIT;"
wait "$BG"
expect_eq "... then stores it (201)" 201 "$(cat "$W/repush.status")"
check "... and it is pullable by its tag" pullable "$REG" "$R" latest

# A PUT that PostgreSQL picks as a deadlock's victim runs again: the
# held session takes the links' reviews, the PUT takes its manifest's
# review and waits for the links, then the session asks for the
# manifest's review. The PUT, waiting first, is aborted (40P01); run
# again, it waits for the session's commit, and is stored (201, not 503).
R=t-gc/deadlock
image_make "$W/dl" 1 1300
image_push "$REG" "$R" v1 "$W/dl" || not_ok "image pushed" "status $STATUS"
jq '.annotations = {"t": "deadlock"}' "$W/dl/manifest.json" >"$W/dl2.json"
DL2=$(sha256_of "$W/dl2.json")
manifest_push "$REG" "$R" "$DL2" "$W/dl2.json" || not_ok "second manifest pushed by digest" "status $STATUS"
sess "BEGIN; UPDATE gc_repo_blob_reviews SET queued_at = now() WHERE repository_id = $(repo_id "$R");"
bg_req deadlock PUT "$REG/v2/$R/manifests/v1" -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/dl2.json"
# put_waits: the PUT's session waits for a row lock on the links.
put_waits() {
	local i
	for i in $(seq 50); do
		[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%gc_repo_blob_reviews%'")" -ge 1 ] && return 0
		sleep 0.05
	done
	return 1
}
check "the PUT waits for the session's links" put_waits
sess "UPDATE gc_manifest_reviews SET queued_at = now() WHERE repository_id = $(repo_id "$R") AND digest = '$DL2';"
check "the deadlock aborts the PUT's transaction, not the session's" \
	test -z "$(grep -i 'deadlock' <<<"$SESS_OUT")"
check "... and the PUT, run again, waits for the session" still_running "$BG"
sess "COMMIT;"
wait "$BG"
expect_eq "... then is stored (201)" 201 "$(cat "$W/deadlock.status")"
req GET "$REG/v2/$R/manifests/v1"
expect_eq "... and the tag names it" "$DL2" "$(hdr Docker-Content-Digest)"
check "... and the node said it ran the transaction again" \
	grep -q "transaction aborted (40P01), running it again" "$(node_dir 1)/log"

# Bytes being removed while the same blob is pushed again: the push
# waits for the removal, then puts its own bytes in place.
R=t-gc/bytes-race
rand_blob "$W/br" 8192
blob_push "$REG" "$R" "$W/br" || not_ok "blob pushed" "status $STATUS"
BR=$DIGEST
old_links "$R"
sql "SELECT berth_gc_links(3600, 1000); SELECT berth_gc_blobs(1000)" >/dev/null
expect_eq "the blob's row is gone, its bytes queued for removal" "0 1" \
	"$(sql "SELECT (SELECT count(*) FROM blobs WHERE digest = '$BR'), (SELECT count(*) FROM gc_blob_deletions WHERE digest = '$BR')" | tr '|' ' ')"
blob_push "$REG" "$R" "$W/br"
expect_eq "pushed again before the removal: 201" 201 "$STATUS"
expect_eq "... the push cancelled the queued removal" 0 \
	"$(sql "SELECT count(*) FROM gc_blob_deletions WHERE digest = '$BR'")"
gc REGISTRYD_GC_GRACE=3600
expect_eq "... a collection then keeps the bytes" "$(sha256_of "$W/br")" \
	"$(curl -sf "$REG/v2/$R/blobs/$BR" | sha256sum | cut -d' ' -f1 | sed 's/^/sha256:/')"
old_links "$R"
sql "SELECT berth_gc_links(3600, 1000); SELECT berth_gc_blobs(1000)" >/dev/null
sess "BEGIN; SELECT digest FROM gc_blob_deletions WHERE digest = '$BR' FOR UPDATE;"
stored_blob_rm "$BR"	# what the collector does while it holds the row
upload_start "$REG" "$R" || not_ok "open a session" "status $STATUS"
bg_req bytes PUT "$(with_query "$UPLOAD_URL" "digest=$BR")" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/br"
check "a push of a blob whose bytes are being removed waits" still_running "$BG"
sess "DELETE FROM gc_blob_deletions WHERE digest = '$BR'; COMMIT;"
wait "$BG"
expect_eq "... then completes (201)" 201 "$(cat "$W/bytes.status")"
expect_eq "... with its own bytes in place" "$BR" \
	"$(stored_blob_digest "$BR")"
expect_eq "... and a row for them" 1 "$(sql "SELECT count(*) FROM blobs WHERE digest = '$BR'")"

# A mount of a blob on its way out (no link left, its row being
# deleted) is no mount: a session starts, and nothing is linked.
R=t-gc/mount
rand_blob "$W/mt" 1024
blob_push "$REG" "$R-src" "$W/mt" || not_ok "blob pushed" "status $STATUS"
MT=$DIGEST
old_links "$R-src"
sql "SELECT berth_gc_links(3600, 1000)" >/dev/null
sess "BEGIN; SELECT deleted FROM berth_gc_blobs(1000);"
bg_req mount POST "$REG/v2/$R/blobs/uploads/?mount=$MT&from=$R-src" -H 'Content-Length: 0'
wait "$BG"
expect_eq "mounting a blob no repository links opens a session instead (202)" 202 "$(cat "$W/mount.status")"
sess "COMMIT;"
expect_eq "... and links nothing" 0 "$(sql "SELECT count(*) FROM repository_blobs WHERE digest = '$MT'")"
# --- the sweep: blob files no row stands on -------------------------------------
# Its files are planted by hand with backdated times, which a bucket does
# not allow: the filesystem run covers it (S3 runs list the same way).
if [ "$STORAGE_KIND" = filesystem ]; then
# A crash between the rename into place and the COMMIT leaves a file with
# no row. A sweep queues those older than the grace for removal; a file a
# push is committing right now (its row not yet committed) is waited for
# and kept.
orphan() {	# orphan NAME AGE: a blob file with no row; sets ORPHAN
	rand_blob "$W/$1" 3000
	ORPHAN=$(sha256_of "$W/$1")
	mkdir -p "$(dirname "$(blob_path "$ORPHAN")")"
	cp "$W/$1" "$(blob_path "$ORPHAN")"
	touch -d "$2" "$(blob_path "$ORPHAN")"
}
orphan old '2 days ago'
OLD=$ORPHAN
orphan fresh now
FRESH=$ORPHAN
rand_blob "$W/kept" 3000
blob_push "$REG" t-gc/sweep "$W/kept" || not_ok "a stored blob pushed" "status $STATUS"
KEPT=$DIGEST
touch -d '2 days ago' "$(blob_path "$KEPT")"
mkdir -p "$STORAGE/blobs/sha256/00"
: >"$STORAGE/blobs/sha256/00/not-a-digest"
touch -d '2 days ago' "$STORAGE/blobs/sha256/00/not-a-digest"
gc REGISTRYD_GC_GRACE=3600 sweep
expect_eq "registryd gc sweep: exit 0" 0 "$GC_RC"
expect_eq "a sweep finds the one old file with no row" 1 "$(gcv orphans)"
check "... and its bytes are removed" stored_blob_gone "$OLD"
check "a file with no row, younger than the grace, stays" stored_blob_exists "$FRESH"
check "an old file with its row stays" stored_blob_exists "$KEPT"
expect_status "... and is still served" 200 GET "$REG/v2/t-gc/sweep/blobs/$KEPT"
check "a file whose name is no digest is left alone" test -e "$STORAGE/blobs/sha256/00/not-a-digest"
rm -f "$STORAGE/blobs/sha256/00/not-a-digest" "$(blob_path "$FRESH")"

orphan racing '2 days ago'
RACING=$ORPHAN
sess "BEGIN; INSERT INTO blobs (digest, size) VALUES ('$RACING', 3000);"
env REGISTRYD_DATABASE="$DBINFO" REGISTRYD_STORAGE="$STORAGE" REGISTRYD_GC_GRACE=3600 \
	REGISTRYD_LOG_LEVEL=warn "$BUILD/registryd" gc sweep >"$W/sweep.json" 2>&1 &
BG=$!
check "a sweep waits for a push committing the file it found" still_running "$BG"
sess "COMMIT;"
wait "$BG"
expect_eq "... then leaves the file to the push" 0 "$(jq .orphans "$W/sweep.json")"
check "... whose bytes stay" stored_blob_exists "$RACING"
sql "DELETE FROM blobs WHERE digest = '$RACING'" >/dev/null
gc REGISTRYD_GC_GRACE=3600 sweep
expect_eq "once its row is gone, the next sweep takes it" 1 "$(gcv orphans)"
check "... and removes it" stored_blob_gone "$RACING"
echo '\q' >&"${SESS[1]}"
wait "$SESS_PID" 2>/dev/null
fi

# --- a repository delete frees its bytes ----------------------------------------
R=t-gc/doomed
image_make "$W/dm" 2 1234
image_push "$REG" "$R" v1 "$W/dm" || not_ok "image pushed" "status $STATUS"
DM=$(jq -r '.layers[0].digest' "$W/dm/manifest.json")
req DELETE "$AUTHD/api/v1/repositories/$R" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "the repository is deleted through the management API" 204 "$STATUS"
gc REGISTRYD_GC_GRACE=3600
expect_eq "a collection, even within the grace, deletes its 3 blobs" 3 "$(gcv blobs)"
check "... and their bytes" stored_blob_gone "$DM"

# --- collectors on two nodes at once ------------------------------------------
# Its 1000 blobs are planted as files: the filesystem run covers it.
if [ "$STORAGE_KIND" = filesystem ]; then
# 1000 unreferenced links (with their blobs and bytes), due now: two nodes
# collecting one item a transaction each delete some, and none twice: the
# work outlasts a node's 1 s sleep, so the later one to wake joins in.
extra_start "$W/gc1" REGISTRYD_GC_GRACE=60 REGISTRYD_GC_INTERVAL=1 REGISTRYD_GC_BATCH=1 ||
	not_ok "start collector node 1" "see $W/gc1/log"
P1=$EXTRA_PID PORT1=$EXTRA_PORT
extra_start "$W/gc2" REGISTRYD_GC_GRACE=60 REGISTRYD_GC_INTERVAL=1 REGISTRYD_GC_BATCH=1 ||
	not_ok "start collector node 2" "see $W/gc2/log"
P2=$EXTRA_PID
sql "INSERT INTO repositories (name) VALUES ('t-gc/many')" >/dev/null
MANY=$(repo_id t-gc/many)
for i in $(seq 1 1000); do
	printf 'blob %d of many\n' "$i" >"$W/many"
	d=$(sha256_of "$W/many")
	mkdir -p "$(dirname "$(blob_path "$d")")"
	cp "$W/many" "$(blob_path "$d")"
	echo "$d"
done >"$W/many.list"
# The list goes in a table: as text in one statement it is too long for
# a command line.
{
	echo "BEGIN; CREATE TEMP TABLE many (d text);"
	sed "s/.*/INSERT INTO many VALUES ('&');/" "$W/many.list"
	echo "INSERT INTO blobs (digest, size) SELECT d, 20 FROM many;
	      INSERT INTO repository_blobs (repository_id, digest) SELECT $MANY, d FROM many;
	      INSERT INTO gc_repo_blob_reviews (repository_id, digest, queued_at)
	      SELECT $MANY, d, now() - interval '1 hour' FROM many;
	      DELETE FROM gc_nodes; COMMIT;"
} >"$W/many.sql"
psql -X -q -v ON_ERROR_STOP=1 -f "$W/many.sql" >/dev/null ||
	not_ok "insert 1000 unreferenced links" "psql failed"
for ((i = 0; i < 300; i++)); do
	[ "$(sql "SELECT count(*) FROM gc_blob_deletions") $(sql "SELECT count(*) FROM repository_blobs WHERE repository_id = $MANY")" = "0 0" ] && break
	sleep 0.2
done
left=0
while read -r d; do
	stored_blob_exists "$d" && left=$((left + 1))
done <"$W/many.list"
expect_eq "two collectors remove all 1000 blobs' bytes" 0 "$left"
expect_eq "... every link and blob row" "0 0" \
	"$(sql "SELECT (SELECT count(*) FROM repository_blobs WHERE repository_id = $MANY), (SELECT count(*) FROM blobs WHERE size = 20 AND digest NOT IN (SELECT digest FROM repository_blobs))" | tr '|' ' ')"
sleep 1.5	# a last record after the work
expect_eq "... each deleted once: the nodes' counts add up to 1000" "1000 1000" \
	"$(sql "SELECT sum(links_deleted), sum(blobs_deleted) FROM gc_nodes" | tr '|' ' ')"
expect_eq "... both nodes took part" 2 "$(sql "SELECT count(*) FROM gc_nodes WHERE blobs_deleted > 0")"
req GET "http://127.0.0.1:$PORT1/metrics"
n1=$(grep -o '^berth_gc_deleted_total{queue="blob"} [0-9]*' "$BODY" | awk '{print $2}')
check "a node's metrics count the blobs it deleted" test "${n1:-0}" -gt 0
check "... and the bytes it freed" grep -q '^berth_gc_freed_bytes_total [1-9]' "$BODY"
check "... and show the queues" grep -q '^berth_gc_queue_length{queue="manifest"} [0-9]' "$BODY"
fi

# --- SIGTERM stays prompt while a collection runs ------------------------------
# 3000 due links collected one per transaction take seconds; a SIGTERM
# in the middle stops the node within one round.
sql "INSERT INTO repositories (name) VALUES ('t-gc/slow')" >/dev/null
SLOW=$(repo_id t-gc/slow)
{
	echo "BEGIN;"
	for i in $(seq 1 3000); do
		printf "INSERT INTO blobs (digest, size) VALUES ('sha256:%064x', 20);\n" "$((900000 + i))"
	done
	echo "INSERT INTO repository_blobs (repository_id, digest)
	      SELECT $SLOW, digest FROM blobs WHERE digest LIKE 'sha256:0000000000%' AND size = 20
	        AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = blobs.digest);
	      INSERT INTO gc_repo_blob_reviews (repository_id, digest, queued_at)
	      SELECT $SLOW, digest, now() - interval '1 hour' FROM repository_blobs
	      WHERE repository_id = $SLOW;
	      COMMIT;"
} >"$W/slow.sql"
psql -X -q -v ON_ERROR_STOP=1 -f "$W/slow.sql" >/dev/null ||
	not_ok "insert 3000 unreferenced links" "psql failed"
extra_start "$W/slow" REGISTRYD_GC_GRACE=60 REGISTRYD_GC_INTERVAL=1 REGISTRYD_GC_BATCH=1 ||
	not_ok "start a collector with batches of 1" "see $W/slow/log"
for ((i = 0; i < 100; i++)); do
	[ "$(sql "SELECT count(*) < 2900 FROM repository_blobs WHERE repository_id = $SLOW")" = t ] && break
	sleep 0.1
done
t0=$(date +%s%N)
extra_stop
code=$?
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "a node stopped in the middle of a collection exits 0" 0 "$code"
check "... within 2 s of SIGTERM (took ${ms} ms)" test "$ms" -lt 2000
check "... leaving the rest for later (it was mid-collection)" \
	test "$(sql "SELECT count(*) FROM repository_blobs WHERE repository_id = $SLOW")" -gt 0
sql "DELETE FROM repositories WHERE id = $SLOW" >/dev/null
gc
expect_eq "... and a collection finishes it" 0 \
	"$(sql "SELECT count(*) FROM blobs WHERE digest LIKE 'sha256:0000000000%' AND size = 20")"

# --- a loop of pushes, deletes and collections, with real clients -----------
# Three clients push images sharing a base layer and delete older tags
# and manifests while both nodes collect with a 2 s grace; afterwards
# every committed manifest must be pullable, every blob row must have its
# bytes, and nothing may be left that a collection would keep forever.
sql "UPDATE gc_nodes SET grace_seconds = 2" >/dev/null
kill -TERM "$P1" "$P2"
wait "$P1" "$P2"
extra_start "$W/gc1b" REGISTRYD_GC_GRACE=2 REGISTRYD_GC_INTERVAL=1 REGISTRYD_GC_BATCH=10 ||
	not_ok "restart collector node 1 with a 2 s grace" "see $W/gc1b/log"
P1=$EXTRA_PID
extra_start "$W/gc2b" REGISTRYD_GC_GRACE=2 REGISTRYD_GC_INTERVAL=1 REGISTRYD_GC_BATCH=10 ||
	not_ok "restart collector node 2 with a 2 s grace" "see $W/gc2b/log"
rand_blob "$W/base" 20000
client() {
	local c=$1 i repo=t-gc/loop$c dir fails=0
	local BODY=$W/loop$c.body HDRS=$W/loop$c.hdrs	# req's files, per client
	for i in $(seq 1 12); do
		dir=$W/loop$c.$i
		image_make "$dir" 1 3000 >/dev/null
		cp "$W/base" "$dir/layer2"
		jq --argjson d "$(desc_json "$MT_OCI_LAYER" "$W/base")" '.layers += [$d]' \
			"$dir/manifest.json" >"$dir/m" && mv "$dir/m" "$dir/manifest.json"
		image_push "$REG" "$repo" "t$i" "$dir" || fails=$((fails + 1))
		[ "$i" -gt 2 ] && curl -s -o /dev/null -X DELETE "$REG2/v2/$repo/manifests/t$((i - 2))"
		if [ $((i % 4)) = 0 ]; then
			curl -s -o /dev/null -X DELETE \
				"$REG/v2/$repo/manifests/$(sha256_of "$W/loop$c.$((i - 1))/manifest.json")"
		fi
		sleep 0.$((RANDOM % 5))
	done
	echo "$fails" >"$W/loop$c.fails"
}
pids=()
for c in 1 2 3; do
	client "$c" &
	pids+=($!)
done
wait "${pids[@]}"
expect_eq "every push in the loop succeeded (a push wins over the collector)" "0 0 0" \
	"$(cat "$W/loop1.fails" "$W/loop2.fails" "$W/loop3.fails" | tr '\n' ' ' | sed 's/ $//')"
sleep 7	# two graces and a round: what the loop untagged is collected
bad=0 total=0
while IFS='|' read -r repo digest; do
	total=$((total + 1))
	pullable "$REG" "$repo" "$digest" || { bad=$((bad + 1)); echo "# not pullable: $repo@$digest"; }
done < <(sql "SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name LIKE 't-gc/loop%'")
expect_eq "every manifest left after the loop is pullable" 0 "$bad"
expect_eq "... and they are exactly the tagged ones" \
	"$(sql "SELECT count(DISTINCT (t.repository_id, t.digest)) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name LIKE 't-gc/loop%'")" "$total"
expect_eq "every blob row has its bytes" 0 \
	"$(sql "SELECT digest FROM blobs" | while read -r d; do stored_blob_exists "$d" || echo "$d"; done | wc -l)"
check "the shared base layer survived" stored_blob_exists "$(sha256_of "$W/base")"
kill -TERM "$P1"
wait "$P1"
expect_eq "collector node 1 exits 0 on SIGTERM" 0 "$?"
extra_stop
expect_eq "collector node 2 exits 0 on SIGTERM" 0 "$?"

# --- the management API and berthctl -------------------------------------------
ctl() {
	BERTH_URL=$AUTHD BERTH_USER=${CTL_USER:-admin} \
		BERTH_PASSWORD=${CTL_PW:-$AUTHD_ADMIN_PASSWORD} \
		"$BUILD/berthctl" "$@" >"$W/out" 2>"$W/err" </dev/null
	RC=$?
}
ctl gc status
expect_eq "berthctl gc status: exit 0" 0 "$RC"
check "... lists the collector nodes" test "$(jq '.nodes | length' "$W/out")" -ge 2
expect_eq "... and the queues" number "$(jq -r '.manifest_reviews | type' "$W/out")"
R=t-gc/report
image_make "$W/rep" 1 4321
image_push "$REG" "$R" "" "$W/rep" || not_ok "untagged image pushed" "status $STATUS"
ctl gc run --dry-run --grace 0
expect_eq "berthctl gc run --dry-run: exit 0" 0 "$RC"
check "... reports at least the untagged image" test "$(jq .manifests "$W/out")" -ge 1
check "... and its layer's bytes" test "$(jq .blob_bytes "$W/out")" -ge 4321
expect_status "... deleting nothing" 200 HEAD "$REG/v2/$R/manifests/$IMG_DIGEST"
ctl gc run --dry-run
expect_eq "with the collectors' grace (2 s), a fresh push is not reported" 0 \
	"$(jq .manifests "$W/out")"
ctl gc run
expect_eq "berthctl gc run without --dry-run is a usage error" 2 "$RC"
ctl gc run --dry-run --grace soon
expect_eq "a bad --grace is a usage error" 2 "$RC"
A=$AUTHD/api/v1
req GET "$A/gc/dry-run?grace=-1" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "GET /gc/dry-run with a bad grace: 400" 400 "$STATUS"
auth_user tgc-user pw-tgc-user || not_ok "make a plain user" "sql failed"
for path in /gc /gc/dry-run; do
	req GET "$A$path" -u tgc-user:pw-tgc-user
	expect_eq "GET $path by a user who is no administrator: 403" 403 "$STATUS"
	req GET "$A$path"
	expect_eq "GET $path anonymously: 401" 401 "$STATUS"
done
