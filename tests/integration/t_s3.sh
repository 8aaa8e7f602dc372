#!/bin/bash
# needs: s3
# The S3 driver on a real radosgw, beyond what the suite's S3 run covers:
# blobs of several multipart parts (a chunked push whose PATCHes go to two
# nodes, a monolithic one), a wrong digest leaving nothing, 307 redirects
# to presigned URLs that expire, and wrong credentials stopping a node at
# start. Its nodes are extra nodes on S3 whatever the run's storage.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"

W=$SCRATCH/w
mkdir -p "$W"
STORAGE_KIND=s3
PART=5242880
extra_start "$W/n1" REGISTRYD_S3_PART_SIZE=$PART REGISTRYD_GC=false ||
	not_ok "start S3 node 1" "see $W/n1/log"
N1=http://127.0.0.1:$EXTRA_PORT P1=$EXTRA_PID
extra_start "$W/n2" REGISTRYD_S3_PART_SIZE=$PART REGISTRYD_GC=false \
	REGISTRYD_S3_REDIRECT=true REGISTRYD_S3_REDIRECT_EXPIRY=3 ||
	not_ok "start S3 node 2" "see $W/n2/log"
N2=http://127.0.0.1:$EXTRA_PORT
R=t-s3/parts

# --- a chunked push of three parts, its PATCHes on two nodes -----------------
head -c $((7 << 20)) /dev/urandom >"$W/c0"
head -c $((6 << 20)) /dev/urandom >"$W/c1"
cat "$W/c0" "$W/c1" >"$W/big"
BIG=$(sha256_of "$W/big")
upload_start "$N1" "$R" || not_ok "open a session on node 1" "status $STATUS"
U=$UPLOAD_UUID
upload_patch "$W/c0" 0
expect_eq "PATCH of 7 MiB on node 1 (one part and a tail) is 202" 202 "$STATUS"
check "... a multipart upload holds its first part" test -n "$(s3obj mpu "uploads/$U/")"
check "... and the tail is an object of its own" test -n "$(s3obj ls "uploads/$U/tail.")"
UPLOAD_URL=${UPLOAD_URL/$N1/$N2}
upload_patch "$W/c1" $((7 << 20))
expect_eq "PATCH of 6 MiB on node 2, from node 1's tail, is 202" 202 "$STATUS"
expect_hdr "... and node 2 counts both" Range "0-$(((13 << 20) - 1))"
UPLOAD_URL=${UPLOAD_URL/$N2/$N1}
upload_finish "$BIG"
expect_eq "the closing PUT on node 1 is 201" 201 "$STATUS"
check "the bucket holds the 13 MiB blob under its digest" stored_blob_is "$BIG" "$W/big"
req GET "$N1/v2/$R/blobs/$BIG"
check "node 1 serves it back through the store" body_is "$W/big"
req GET "$N1/v2/$R/blobs/$BIG" -H 'Range: bytes=7340030-7340039'
expect_eq "... a range across the first part's end is 206" 206 "$STATUS"
check "... with those ten bytes" cmp -s "$BODY" <(tail -c +7340031 "$W/big" | head -c 10)
check "nothing of the upload is left: objects and multipart uploads" stored_upload_gone "$U"

# --- a monolithic push of three parts ----------------------------------------
head -c $((12 << 20)) /dev/urandom >"$W/mono"
blob_push_single "$N1" "$R" "$W/mono"
expect_eq "a monolithic push of 12 MiB is 201" 201 "$STATUS"
check "... and the bucket holds its bytes" stored_blob_is "$(sha256_of "$W/mono")" "$W/mono"
check "... and no multipart upload is left" test -z "$(s3obj mpu uploads/)"

# --- a wrong digest --------------------------------------------------------------
head -c $((11 << 20)) /dev/urandom >"$W/liar"
req POST "$N1/v2/$R/blobs/uploads/?digest=sha256:$(printf '0%.0s' {1..64})" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/liar"
expect_eq "a monolithic push under a wrong digest is 400" 400 "$STATUS"
expect_error_code "... DIGEST_INVALID" DIGEST_INVALID
check "... and leaves no object under that digest" stored_blob_gone "sha256:$(printf '0%.0s' {1..64})"
check "... nor any multipart upload" test -z "$(s3obj mpu uploads/)"

# --- redirects to presigned URLs -------------------------------------------------
req GET "$N2/v2/$R/blobs/$BIG"
expect_eq "a blob GET on a node with s3_redirect is 307" 307 "$STATUS"
LOC=$(hdr Location)
expect_match "... to a presigned URL of the bucket" "^$S3_ENDPOINT/.*X-Amz-Signature=[0-9a-f]{64}" "$LOC"
curl -sf -o "$W/fetched" "$LOC"
check "... which serves the blob's bytes" cmp -s "$W/fetched" "$W/big"
expect_status "a GET of a blob the repository does not link is still 404" 404 GET "$N2/v2/t-s3/other/blobs/$BIG"
sleep 4
expect_eq "the URL is refused once it expired" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$LOC")"

kill -TERM "$P1"
wait "$P1"
expect_eq "node 1 exits 0" 0 "$?"
extra_stop
expect_eq "node 2 exits 0" 0 "$?"

# --- wrong credentials -------------------------------------------------------------
mapfile -t store < <(storage_env)
env "${store[@]}" REGISTRYD_S3_SECRET_KEY=not-the-secret \
	REGISTRYD_LISTEN="127.0.0.1:$(extra_free_port)" \
	REGISTRYD_DATABASE="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" \
	timeout 30 "$BUILD/registryd" >"$W/badkey.log" 2>&1
RC=$?
check "a node with a wrong secret key does not start (exit 1)" test "$RC" = 1
check "... and says why, in S3's words" grep -q 'SignatureDoesNotMatch' "$W/badkey.log"
check "... without logging the secret" test -z "$(grep -F not-the-secret "$W/badkey.log")"
env "${store[@]}" REGISTRYD_S3_BUCKET=no-such-bucket \
	REGISTRYD_LISTEN="127.0.0.1:$(extra_free_port)" \
	REGISTRYD_DATABASE="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" \
	timeout 30 "$BUILD/registryd" >"$W/nobucket.log" 2>&1
check "a node naming a missing bucket does not start" test "$?" = 1
check "... and says NoSuchBucket" grep -q 'NoSuchBucket' "$W/nobucket.log"
