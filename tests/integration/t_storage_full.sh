# A full disk: an extra node whose storage is an 8 MiB tmpfs (mounted here,
# so the run needs root, as CI has) answers 507 with a clear JSON error when
# a push does not fit, leaves no partial file and no row, reports "storage
# unwritable" on /readyz, and recovers once there is room again.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/extra.sh"

W=$SCRATCH
FULL=$W/full
OCTET=(-H 'Content-Type: application/octet-stream')
mkdir -p "$FULL"
cleanup() {
	[ -n "${EXTRA_PID:-}" ] && kill -TERM "$EXTRA_PID" 2>/dev/null
	mountpoint -q "$FULL" && umount "$FULL"
}
trap cleanup EXIT
if ! mount -t tmpfs -o size=8m tmpfs "$FULL"; then
	not_ok "mount an 8 MiB tmpfs for the storage" "mount failed (run as root)"
	exit 0
fi
ok "mount an 8 MiB tmpfs for the storage"

extra_start "$W/node" REGISTRYD_STORAGE="$FULL" \
	REGISTRYD_STORAGE_MIN_FREE=1048576 ||
	not_ok "start a node on the tmpfs" "see $W/node/log"
X=http://127.0.0.1:$EXTRA_PORT
R=t-full/app

# upload_names: the upload files in the tmpfs storage, sorted.
upload_names() {
	ls "$FULL/uploads" | LC_ALL=C sort
}

# wait_ready WANT: up to 20 s for /readyz to answer WANT.
wait_ready() {
	local i
	for ((i = 0; i < 200; i++)); do
		req GET "$X/readyz"
		[ "$STATUS" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

expect_status "the node on an empty tmpfs is ready" 200 GET "$X/readyz"
rand_blob "$W/three" $((3 * 1024 * 1024))
rand_blob "$W/six" $((6 * 1024 * 1024))
rand_blob "$W/again" $((3 * 1024 * 1024))
SIX=$(sha256_of "$W/six")
expect_status "a 3 MiB blob fits" 201 POST \
	"$X/v2/$R/blobs/uploads/?digest=$(sha256_of "$W/three")" "${OCTET[@]}" \
	--data-binary @"$W/three"

upload_start "$X" "$R" || not_ok "open a session" "status $STATUS"
id=$UPLOAD_UUID
req PATCH "$UPLOAD_URL" "${OCTET[@]}" --data-binary @"$W/six"
expect_eq "a PATCH that does not fit is 507" 507 "$STATUS"
expect_error_code "... with a JSON error (code UNKNOWN)" UNKNOWN
expect_match "... whose message says the storage is full" "insufficient storage" \
	"$(jq -r '.errors[0].message' "$BODY" 2>/dev/null)"
expect_eq "... and leaves the session's file at its size" 0 \
	"$(stat -c %s "$FULL/uploads/$id" 2>/dev/null)"
expect_eq "... and the row at 0" 0 "$(sql "SELECT size FROM uploads WHERE id = '$id'")"
req GET "$X/readyz"
expect_eq "/readyz is 503 after the failed write" 503 "$STATUS"
expect_match "... saying storage unwritable" "storage unwritable" "$(cat "$BODY")"

before=$(upload_names)
req POST "$X/v2/$R/blobs/uploads/?digest=$SIX" "${OCTET[@]}" \
	--data-binary @"$W/six"
expect_eq "a monolithic push that does not fit is 507" 507 "$STATUS"
expect_error_code "... with code UNKNOWN" UNKNOWN
expect_eq "... leaves no upload file" "$before" "$(upload_names)"
expect_eq "... and no blobs row" 0 "$(sql "SELECT count(*) FROM blobs WHERE digest = '$SIX'")"
check "... and no blob file" test ! -e "$FULL/blobs/sha256/${SIX:7:2}/${SIX#sha256:}"

# Fill the rest: statvfs sees less than storage_min_free.
dd if=/dev/zero of="$FULL/filler" bs=64k 2>/dev/null
req GET "$X/readyz"
expect_eq "/readyz is 503 while the storage is full" 503 "$STATUS"
expect_match "... saying storage unwritable" "storage unwritable" "$(cat "$BODY")"
rm -f "$FULL/filler"

wait_ready 200
expect_eq "/readyz recovers once there is room" 200 "$STATUS"
expect_status "the session takes a chunk again" 202 PATCH "$UPLOAD_URL" "${OCTET[@]}" \
	--data-binary @"$W/again"
expect_eq "... which is on disk" $((3 * 1024 * 1024)) "$(stat -c %s "$FULL/uploads/$id")"
expect_status "... and completes" 201 PUT \
	"$(with_query "$UPLOAD_URL" "digest=$(sha256_of "$W/again")")"
expect_eq "the completed blob has its row" 1 \
	"$(sql "SELECT count(*) FROM blobs WHERE digest = '$(sha256_of "$W/again")'")"
kill -TERM "$EXTRA_PID"
wait "$EXTRA_PID"
code=$?
EXTRA_PID=
expect_eq "the node exits 0 on SIGTERM" 0 "$code"
