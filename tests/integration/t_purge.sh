# Housekeeping: a node ends upload sessions idle longer than upload_ttl and
# removes upload files no session owns (a crashed single-request upload's),
# while a live session's file is left alone.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/extra.sh"

R=t-purge/repo
upload_start "$REG" "$R" || not_ok "open a session" "status $STATUS"
stale=$UPLOAD_URL
orphan=$STORAGE/uploads/00000000-0000-4000-8000-$(printf '%012d' $RANDOM)
: >"$orphan"
touch -d '10 minutes ago' "$orphan"
sleep 3
# The shared nodes keep idle sessions for an hour.
expect_status "a session younger than upload_ttl survives" 204 GET "$(url_of "$REG" "$stale")"
check "an orphan upload file younger than upload_ttl survives" test -e "$orphan"

extra_start "$SCRATCH/node" REGISTRYD_UPLOAD_TTL=2 ||
	not_ok "start a node with upload_ttl = 2" "see $SCRATCH/node/log"
for ((i = 0; i < 50; i++)); do
	req GET "$(url_of "$REG" "$stale")"
	[ "$STATUS" = 404 ] && [ ! -e "$orphan" ] && break
	sleep 0.2
done
expect_eq "a session idle past upload_ttl is purged" 404 "$STATUS"
check "an upload file with no session is removed" test ! -e "$orphan"

# A PATCH that takes longer than upload_ttl holds the file's lock: the
# purger leaves that session alone, and the chunk is acknowledged.
upload_start "$REG" "$R" || not_ok "open a session for a slow PATCH" "status $STATUS"
rand_blob "$SCRATCH/slow" $((1024 * 1024))
expect_status "a PATCH slower than upload_ttl is acknowledged" 202 PATCH "$UPLOAD_URL" \
	-H 'Content-Type: application/octet-stream' --limit-rate 200K \
	--data-binary @"$SCRATCH/slow"
expect_eq "... and its session was not purged under it" $((1024 * 1024)) \
	"$(sql "SELECT size FROM uploads WHERE id = '$UPLOAD_UUID'")"
extra_stop
expect_eq "the purging node exits 0 on SIGTERM" 0 "$?"
