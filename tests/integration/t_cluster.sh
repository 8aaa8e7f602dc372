#!/bin/bash
# Two nodes, one registry: an upload session moves between nodes mid-way;
# eight clients push the same blob, the same tag and into a new repository
# at once, across both nodes, and the database ends up with exactly one
# row where one is due and a tag that both nodes agree on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"
NODES=("$REG" "$REG2")
CLEAN='^(201|409|429|503)$'	# success, or a clean refusal to retry

# --- one upload, three hops --------------------------------------------------
R=t-cluster/hops
rand_blob "$W/hop" 300000
D=$(sha256_of "$W/hop")
file_slice "$W/hop" 0 100000 "$W/h0"
file_slice "$W/hop" 100000 100000 "$W/h1"
file_slice "$W/hop" 200000 100000 "$W/h2"
upload_start "$REG" "$R"
expect_eq "hops: POST on node 1 is 202" 202 "$STATUS"
LOC=$UPLOAD_LOC
upload_patch "$W/h0" 0
expect_hdr "hops: PATCH 1 on node 1 answers Range 0-99999" Range 0-99999
UPLOAD_URL=$(url_of "$REG2" "$(hdr Location)")
req GET "$UPLOAD_URL"
expect_eq "hops: node 2 knows the session node 1 opened (204)" 204 "$STATUS"
expect_hdr "hops: node 2 reports node 1's progress" Range 0-99999
upload_patch "$W/h1" 100000
expect_eq "hops: PATCH 2 on node 2 is 202" 202 "$STATUS"
expect_hdr "hops: PATCH 2 on node 2 answers Range 0-199999" Range 0-199999
UPLOAD_URL=$(url_of "$REG" "$(hdr Location)")
req GET "$UPLOAD_URL"
expect_hdr "hops: node 1 reports node 2's progress" Range 0-199999
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 100000-199999' --data-binary @"$W/h1"
expect_eq "hops: node 1 refuses node 2's chunk again with 416" 416 "$STATUS"
upload_finish "$D" "$W/h2" 200000
expect_eq "hops: closing PUT on node 1 is 201" 201 "$STATUS"
expect_hdr "hops: closing PUT has the whole blob's digest" Docker-Content-Digest "$D"
req GET "$REG2/v2/$R/blobs/$D"
check "hops: the blob reads back identically on node 2" body_is "$W/hop"
expect_status "hops: the session is gone on node 2" 404 GET "$(url_of "$REG2" "$LOC")"

upload_start "$REG2" "$R"
upload_patch "$W/h0" 0
expect_status "cancel: DELETE on node 1 of a session opened on node 2" "202|204" DELETE "$(url_of "$REG" "$UPLOAD_LOC")"
expect_status "cancel: the session is gone on node 2" 404 GET "$(url_of "$REG2" "$UPLOAD_LOC")"

# --- concurrency helpers -----------------------------------------------------------
# Each client runs curl in the background and writes its statuses to
# $W/<kind>.<i>; lib.sh's req is not used there, as it shares files.
status_of() {
	curl -sS -g --max-time 60 -o "$W/out.$1" -w '%{http_code}\n' "${@:2}" 2>/dev/null || true
}
# all_clean KIND N: every status line of the N clients matches $CLEAN.
statuses() { cat "$W/$1".* 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
all_clean() {
	local f s
	for f in "$W/$1".*; do
		while read -r s; do
			[[ $s =~ $CLEAN ]] || return 1
		done <"$f"
	done
}
count_201() { cat "$W/$1".* | grep -c '^201$'; }

# --- eight clients push one blob --------------------------------------------------
R=t-cluster/same-blob
rand_blob "$W/same" 500000
SD=$(sha256_of "$W/same")
for i in 0 1 2 3 4 5 6 7; do
	n=${NODES[$((i % 2))]}
	if [ $((i / 2 % 2)) = 0 ]; then
		# single POST
		( status_of "sb$i" -X POST -H 'Content-Type: application/octet-stream' \
			--data-binary @"$W/same" "$n/v2/$R/blobs/uploads/?digest=$SD" >"$W/blob.$i" ) &
	else
		# POST then PUT
		(
			loc=$(curl -sS -g --max-time 60 -o /dev/null -D - -X POST -H 'Content-Length: 0' \
				"$n/v2/$R/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
			status_of "sb$i" -X PUT -H 'Content-Type: application/octet-stream' \
				--data-binary @"$W/same" "$(with_query "$(url_of "$n" "$loc")" "digest=$SD")" >"$W/blob.$i"
		) &
	fi
done
wait
check_why "same blob from 8 clients: every push succeeds or fails cleanly" "statuses: $(statuses blob)" all_clean blob
check "same blob from 8 clients: at least one push succeeds" test "$(count_201 blob)" -ge 1
expect_eq "same blob from 8 clients: exactly one blobs row" 1 \
	"$(sql "SELECT count(*) FROM blobs WHERE digest = '$SD'")"
expect_eq "same blob from 8 clients: blobs row has the right size" 500000 \
	"$(sql "SELECT size FROM blobs WHERE digest = '$SD'")"
expect_eq "same blob from 8 clients: exactly one repository link" 1 \
	"$(sql "SELECT count(*) FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = '$R' AND rb.digest = '$SD'")"
expect_eq "same blob from 8 clients: exactly one repositories row" 1 \
	"$(sql "SELECT count(*) FROM repositories WHERE name = '$R'")"
check "same blob from 8 clients: the stored blob has the right bytes" stored_blob_is "$SD" "$W/same"
req GET "$REG/v2/$R/blobs/$SD"
check "same blob from 8 clients: node 1 serves the right bytes" body_is "$W/same"
req GET "$REG2/v2/$R/blobs/$SD"
check "same blob from 8 clients: node 2 serves the right bytes" body_is "$W/same"
expect_eq "same blob from 8 clients: no upload sessions are left" 0 \
	"$(sql "SELECT count(*) FROM uploads u JOIN repositories r ON r.id = u.repository_id WHERE r.name = '$R'")"
check "same blob from 8 clients: no stray temp files beside the blob" stored_no_strays "$SD"

# --- eight clients create one repository ---------------------------------------------
R=t-cluster/new-repo
for i in 0 1 2 3 4 5 6 7; do
	rand_blob "$W/nr$i" 1000
	( status_of "nr$i" -X POST -H 'Content-Type: application/octet-stream' \
		--data-binary @"$W/nr$i" "${NODES[$((i % 2))]}/v2/$R/blobs/uploads/?digest=$(sha256_of "$W/nr$i")" >"$W/repo.$i" ) &
done
wait
check_why "new repository from 8 clients: all 8 pushes are 201" "statuses: $(statuses repo)" \
	test "$(count_201 repo)" = 8
expect_eq "new repository from 8 clients: exactly one repositories row" 1 \
	"$(sql "SELECT count(*) FROM repositories WHERE name = '$R'")"
expect_eq "new repository from 8 clients: all 8 blobs are linked" 8 \
	"$(sql "SELECT count(*) FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.name = '$R'")"

# --- eight clients push one tag ----------------------------------------------------------
R=t-cluster/same-tag
image_make "$W/base" 1 2000
image_push "$REG" "$R" base "$W/base" || not_ok "fixture image pushed" "status $STATUS"
for i in 0 1 2 3 4 5 6 7; do
	jq --arg i "$i" '.annotations = {"client": $i}' "$W/base/manifest.json" >"$W/m$i.json"
	sha256_of "$W/m$i.json" >>"$W/pushed"
done
for i in 0 1 2 3 4 5 6 7; do
	( status_of "st$i" -X PUT -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/m$i.json" \
		"${NODES[$((i % 2))]}/v2/$R/manifests/latest" >"$W/tag.$i" ) &
done
wait
check_why "same tag from 8 clients: every push succeeds or fails cleanly" "statuses: $(statuses tag)" all_clean tag
expect_eq "same tag from 8 clients: exactly one tags row" 1 \
	"$(sql "SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = '$R' AND t.name = 'latest'")"
req GET "$REG/v2/$R/manifests/latest"
T1=$(hdr Docker-Content-Digest)
check "same tag from 8 clients: the tag resolves to one of the pushed manifests" grep -qx "$T1" "$W/pushed"
check "same tag from 8 clients: the tag's body matches its digest" test "$(sha256_of "$BODY")" = "$T1"
req GET "$REG2/v2/$R/manifests/latest"
expect_eq "same tag from 8 clients: both nodes resolve the tag alike" "$T1" "$(hdr Docker-Content-Digest)"
TAGROW=$(sql "SELECT t.digest FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = '$R' AND t.name = 'latest'")
expect_eq "same tag from 8 clients: the tags row points where GET does" "$T1" "$TAGROW"
expect_eq "same tag from 8 clients: every accepted manifest is stored" "$(count_201 tag)" \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = '$R' AND m.digest IN ($(sed "s/.*/'&'/" "$W/pushed" | paste -sd,))")"
# every_201_reads_back: each client that got 201 reads its own body back.
every_201_reads_back() {
	local i
	for i in 0 1 2 3 4 5 6 7; do
		[ "$(cat "$W/tag.$i")" = 201 ] || continue
		req GET "$REG2/v2/$R/manifests/$(sed -n "$((i + 1))p" "$W/pushed")"
		body_is "$W/m$i.json" || return 1
	done
}
check "same tag from 8 clients: every accepted manifest reads back by digest" every_201_reads_back

# The same manifest bytes from 8 clients at once.
for i in 0 1 2 3 4 5 6 7; do
	( status_of "sm$i" -X PUT -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/m0.json" \
		"${NODES[$((i % 2))]}/v2/$R/manifests/same" >"$W/same.$i" ) &
done
wait
check_why "same manifest from 8 clients: every push succeeds or fails cleanly" "statuses: $(statuses same)" all_clean same
expect_eq "same manifest from 8 clients: one manifests row" 1 \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = '$R' AND m.digest = '$(sed -n 1p "$W/pushed")'")"
expect_status "same manifest from 8 clients: the tag resolves" 200 GET "$REG2/v2/$R/manifests/same"

# --- a fleet of CI jobs pushes one tag ------------------------------------------------
# 32 clients, eight rounds, each a different manifest over the same
# layers: every push is accepted, as no client is told to retry when
# nothing failed. (Pushes that took the layers' review rows in
# different orders deadlocked, and one in a hundred was told 503.)
R=t-cluster/fleet
image_make "$W/fleet" 4 1500
image_push "$REG" "$R" base "$W/fleet" || not_ok "fixture image pushed" "status $STATUS"
for round in 1 2 3 4 5 6 7 8; do
	for i in $(seq 0 31); do
		jq --arg i "$round.$i" '.annotations = {"client": $i}' "$W/fleet/manifest.json" >"$W/f$i.json"
	done
	for i in $(seq 0 31); do
		( status_of "fl$i" -X PUT -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/f$i.json" \
			"${NODES[$((i % 2))]}/v2/$R/manifests/latest" >>"$W/fleet.$i" ) &
	done
	wait
done
check_why "same tag from 32 clients, 8 rounds: all 256 pushes are 201" "statuses: $(statuses fleet)" \
	test "$(count_201 fleet)" = 256
expect_eq "... and 257 manifests are stored" 257 \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = '$R'")"

# --- parallel chunked uploads of different blobs through both nodes -------------------
R=t-cluster/parallel
for i in 0 1 2 3 4 5 6 7; do
	rand_blob "$W/p$i" 200000
	(
		SCRATCH=$W/p$i.d
		mkdir -p "$SCRATCH"
		HDRS=$SCRATCH/h BODY=$SCRATCH/b
		blob_push_chunked "${NODES[$((i % 2))]}" "$R" "$W/p$i" 65536
		echo "$STATUS" >"$W/par.$i"
	) &
done
wait
check_why "parallel chunked uploads: all 8 complete with 201" "statuses: $(statuses par)" \
	test "$(count_201 par)" = 8
BAD=0
for i in 0 1 2 3 4 5 6 7; do
	req GET "${NODES[$(((i + 1) % 2))]}/v2/$R/blobs/$(sha256_of "$W/p$i")"
	body_is "$W/p$i" || BAD=$((BAD + 1))
done
expect_eq "parallel chunked uploads: every blob reads back on the other node" 0 "$BAD"
