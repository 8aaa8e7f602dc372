#!/bin/bash
# Crash safety: node 1 is killed with SIGKILL while three slow uploads are
# in flight (a PATCH continuing a session, a PATCH on a second session, a
# monolithic PUT). Acknowledged chunks and completed blobs must survive,
# nothing half-written may become a blob, and the sessions must be
# resumable from node 2 and from the restarted node 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"
R=t-crash/img
MIB=$((1024 * 1024))

# Before the crash: a complete image, and two sessions with one
# acknowledged 1 MiB chunk each.
image_make "$W/img" 2 100000
image_push "$REG" "$R" before "$W/img"
expect_eq "before the crash: image pushed (201)" 201 "$STATUS"
IMG=$IMG_DIGEST
rand_blob "$W/done" 300000
blob_push "$REG" "$R" "$W/done"
expect_eq "before the crash: blob completed (201)" 201 "$STATUS"
DONE=$DIGEST

rand_blob "$W/a1" "$MIB"
rand_blob "$W/a2" $((20 * MIB))
A_DIGEST=$(cat "$W/a1" "$W/a2" | sha256sum | sed 's/^/sha256:/; s/ .*//')
upload_start "$REG" "$R"
A_LOC=$UPLOAD_LOC
upload_patch "$W/a1" 0
expect_eq "session A: chunk 1 acknowledged (202)" 202 "$STATUS"
expect_hdr "session A: chunk 1 is 0-1048575" Range "0-$((MIB - 1))"

rand_blob "$W/b1" "$MIB"
rand_blob "$W/b2" $((4 * MIB))
B_DIGEST=$(sha256_of "$W/b1")
upload_start "$REG" "$R"
B_LOC=$UPLOAD_LOC
upload_patch "$W/b1" 0
expect_eq "session B: chunk 1 acknowledged (202)" 202 "$STATUS"

rand_blob "$W/c" $((4 * MIB))
C_DIGEST=$(sha256_of "$W/c")
upload_start "$REG" "$R"
C_LOC=$UPLOAD_LOC

# Slow transfers to node 1, then SIGKILL in the middle of them.
slow() { # OUT URL curl-args...
	local out=$1 url=$2
	shift 2
	curl -sS -g --max-time 60 -o /dev/null -w '%{http_code}' "$@" "$url" >"$out" 2>/dev/null
}
slow "$W/a.status" "$(url_of "$REG" "$A_LOC")" -X PATCH --limit-rate 2M \
	-H 'Content-Type: application/octet-stream' \
	-H "Content-Range: $MIB-$((21 * MIB - 1))" --data-binary @"$W/a2" &
PA=$!
slow "$W/b.status" "$(url_of "$REG" "$B_LOC")" -X PATCH --limit-rate 1M \
	-H 'Content-Type: application/octet-stream' \
	-H "Content-Range: $MIB-$((5 * MIB - 1))" --data-binary @"$W/b2" &
PB=$!
slow "$W/c.status" "$(with_query "$(url_of "$REG" "$C_LOC")" "digest=$C_DIGEST")" -X PUT \
	--limit-rate 1M -H 'Content-Type: application/octet-stream' --data-binary @"$W/c" &
PC=$!
sleep 2
registryd_kill9 1
KILLED=$?
wait "$PA" "$PB" "$PC"
expect_eq "node 1 was killed mid-transfer" 0 "$KILLED"
check_why "the PATCH cut by the crash was not acknowledged" "got $(cat "$W/a.status")" \
	test "$(cat "$W/a.status")" != 202
check_why "the second PATCH cut by the crash was not acknowledged" "got $(cat "$W/b.status")" \
	test "$(cat "$W/b.status")" != 202
check_why "the PUT cut by the crash was not acknowledged" "got $(cat "$W/c.status")" \
	test "$(cat "$W/c.status")" != 201

# Node 2 carries on while node 1 is down.
expect_status "node 2 answers while node 1 is down" 200 GET "$REG2/v2/"
req GET "$(url_of "$REG2" "$A_LOC")"
expect_eq "node 2 still has session A while node 1 is down (204)" 204 "$STATUS"
expect_hdr "node 2 shows session A at exactly chunk 1 while node 1 is down" Range "0-$((MIB - 1))"

registryd_start 1
expect_eq "node 1 restarts" 0 "$?"

req GET "$(url_of "$REG2" "$A_LOC")"
expect_eq "after restart: session A status on node 2 is 204" 204 "$STATUS"
expect_hdr "after restart: session A shows exactly chunk 1 (0-1048575)" Range "0-$((MIB - 1))"
req GET "$(url_of "$REG" "$A_LOC")"
expect_hdr "after restart: node 1 shows session A at exactly chunk 1" Range "0-$((MIB - 1))"
req GET "$(url_of "$REG2" "$B_LOC")"
expect_hdr "after restart: session B shows exactly chunk 1" Range "0-$((MIB - 1))"
req GET "$(url_of "$REG2" "$C_LOC")"
expect_eq "after restart: the session of the cut PUT still exists (204)" 204 "$STATUS"

# Completed work survived.
for node in 1 2; do
	n=$REG
	[ "$node" = 2 ] && n=$REG2
	req GET "$n/v2/$R/blobs/$DONE"
	check "after restart: the completed blob is intact on node $node" body_is "$W/done"
	req GET "$n/v2/$R/manifests/before"
	check "after restart: the image pushed before is intact on node $node" \
		body_is "$W/img/manifest.json"
done
expect_status "after restart: the image's layer is readable" 200 GET "$REG/v2/$R/blobs/$(sha256_of "$W/img/layer2")"

# The cut PUT made no blob.
expect_status "after restart: the cut monolithic PUT did not create its blob" 404 HEAD "$REG2/v2/$R/blobs/$C_DIGEST"
check "after restart: no blob file for the cut PUT" test ! -e "$(blob_path "$C_DIGEST")"
expect_eq "after restart: no blobs row for the cut PUT" 0 "$(sql "SELECT count(*) FROM blobs WHERE digest = '$C_DIGEST'")"

# Resume everything.
UPLOAD_URL=$(url_of "$REG2" "$A_LOC")
upload_patch "$W/a2" "$MIB"
expect_eq "session A: chunk 2 resent through node 2 is 202" 202 "$STATUS"
expect_hdr "session A: chunk 2 through node 2 answers Range 0-22020095" Range "0-$((21 * MIB - 1))"
UPLOAD_URL=$(url_of "$REG" "$(hdr Location)")
upload_finish "$A_DIGEST"
expect_eq "session A: closing PUT on the restarted node 1 is 201" 201 "$STATUS"
req GET "$REG2/v2/$R/blobs/$A_DIGEST"
cat "$W/a1" "$W/a2" >"$W/a.full"
check "session A: the 21 MiB blob has the right bytes" body_is "$W/a.full"

UPLOAD_URL=$(url_of "$REG" "$B_LOC")
upload_finish "$B_DIGEST"
expect_eq "session B: closing right after chunk 1 is 201 (torn tail dropped)" 201 "$STATUS"
req GET "$REG/v2/$R/blobs/$B_DIGEST"
check "session B: the blob is exactly chunk 1" body_is "$W/b1"

UPLOAD_URL=$(url_of "$REG2" "$C_LOC")
req PUT "$(with_query "$UPLOAD_URL" "digest=$C_DIGEST")" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$W/c"
expect_eq "session C: the cut PUT succeeds when retried on node 2" 201 "$STATUS"
req GET "$REG/v2/$R/blobs/$C_DIGEST"
check "session C: the blob has the right bytes" body_is "$W/c"
expect_eq "no upload sessions remain for the repository" 0 \
	"$(sql "SELECT count(*) FROM uploads u JOIN repositories r ON r.id = u.repository_id WHERE r.name = '$R'")"
