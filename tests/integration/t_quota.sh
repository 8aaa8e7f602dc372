#!/bin/bash
# Namespace storage quotas: usage counts each blob once per namespace plus
# each manifest, exactly, across pushes, shared blobs, tag, manifest and
# repository deletes and plain-SQL deletes (as garbage collection makes
# them); a manifest PUT past the limit is refused with DENIED and leaves
# nothing; pushes racing for the last room never both pass; recompute
# equals tracked, and finds and fixes drift; the management API and
# berthctl refuse the unauthorized and bad sizes. Names start with "tq".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/auth.sh"
A=$AUTHD/api/v1
. "$(dirname "$0")/api.sh"

W=$SCRATCH/w
mkdir -p "$W"
ADMIN="admin:$AUTHD_ADMIN_PASSWORD"
PW=tq-secret-1
CTL=$BUILD/berthctl
export BERTH_URL=$AUTHD
unset BERTH_USER BERTH_PASSWORD

# ctl USER PASSWORD ARGS...: berthctl as USER; RC, $W/out and $W/err.
ctl() {
	local user=$1 pw=$2
	shift 2
	BERTH_USER=$user BERTH_PASSWORD=$pw "$CTL" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}
rc_is() {
	expect_eq "$1" "$2" "$RC" || echo "# stdout: $(head -c 300 "$W/out"); stderr: $(head -c 300 "$W/err")"
}

usage_of() { sql "SELECT coalesce((SELECT bytes FROM quota_usage WHERE namespace = '$1'), 0)"; }
# truth_of NS: the usage recomputed from the content, in one snapshot.
truth_of() { sql "SELECT recomputed FROM berth_quota_check('$1')"; }
drift_count() {
	sql "SELECT count(*) FROM berth_quota_check(NULL) WHERE tracked <> recomputed OR refs_drift > 0"
}
# exact NAME NS WANT: tracked usage is WANT, and so is the recomputed.
exact() {
	expect_eq "$1" "$3 $3" "$(usage_of "$2") $(truth_of "$2")"
}
# image_bytes DIR: config + layers + manifest of an image_make image.
image_bytes() {
	local f n=0
	for f in "$1"/config.json "$1"/layer* "$1"/manifest.json; do
		n=$((n + $(file_size "$f")))
	done
	echo "$n"
}
blobs_bytes() { echo $(($(image_bytes "$1") - $(file_size "$1/manifest.json"))); }
msize() { file_size "$1/manifest.json"; }
# hold NAME SQL: runs SQL (a transaction ending in a long pg_sleep) in the
# background as session NAME, and returns once it sleeps.
hold() {
	local i
	PGAPPNAME=$1 psql -X -q -v ON_ERROR_STOP=1 -c "$2" >"$W/$1.log" 2>&1 &
	HOLD_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND wait_event = 'PgSleep'")" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
# release NAME: cancels the sleep (and so rolls the session back).
release() {
	sql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$1'" >/dev/null
	wait "$HOLD_PID" 2>/dev/null
}
# waiting N: within about 3 s, N sessions wait for a lock. Not more: a
# registryd worker thread whose request waits stalls the other connections
# it serves, which time out after header_timeout (10 s); so the holder lets
# go soon, and the PUTs stalled behind a waiting one run after it.
waiting() {
	local i
	for ((i = 0; i < 20; i++)); do
		[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
repo_rows() {
	sql "SELECT (SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = '$1'), (SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = '$1')" | tr '|' ' '
}

auth_org tq || not_ok "fixture: organization tq" "insert failed"
for u in tqowner tqmember tqother; do
	auth_user "$u" "$PW" || not_ok "fixture: user $u" "insert failed"
done
auth_member tq tqowner owner
auth_member tq tqmember member

# --- accounting without a limit ---------------------------------------------
image_make "$W/a" 2 3000
image_push "$REG" tq/app 1 "$W/a" || not_ok "fixture: image a pushed to tq/app" "status $STATUS"
A_DIG=$IMG_DIGEST
exact "a push counts its config, layers and manifest" tq "$(image_bytes "$W/a")"
want "the owner reads the namespace's usage" 200 "tqowner:$PW" GET /quotas/tq
expect_eq "GET /quotas/tq: usage, no limit" "$(image_bytes "$W/a") null null 3" \
	"$(jqb '[.usage, .limit, .available, .blobs] | map(tostring) | join(" ")' | tr -d '"')"

# The same image in a second repository of the namespace: the blobs count
# once, the second (repository, digest) manifest once more.
image_push "$REG" tq/other 1 "$W/a" || not_ok "fixture: image a pushed to tq/other" "status $STATUS"
exact "a blob shared by two repositories of a namespace counts once" tq \
	"$(($(image_bytes "$W/a") + $(msize "$W/a")))"
manifest_push "$REG" tq/app 1-again "$W/a/manifest.json"
exact "a second tag on a stored manifest adds nothing" tq \
	"$(($(image_bytes "$W/a") + $(msize "$W/a")))"
# Another namespace holding the same blobs counts them for itself.
image_push "$REG" tqx/app 1 "$W/a" || not_ok "fixture: image a pushed to tqx/app" "status $STATUS"
exact "another namespace counts the same blobs for itself" tqx "$(image_bytes "$W/a")"
exact "and the first namespace is unchanged" tq "$(($(image_bytes "$W/a") + $(msize "$W/a")))"

# --- authorization and bad sizes ----------------------------------------------
want "without credentials the quota API is 401" 401 - GET /quotas/tq
want "a member who is not an owner may not read the quota" 403 "tqmember:$PW" GET /quotas/tq
want "a stranger gets 404 for the organization's quota" 404 "tqother:$PW" GET /quotas/tq
want "a user reads the quota of their own namespace" 200 "tqother:$PW" GET /quotas/tqother
want "a user gets 404 for another user's namespace" 404 "tqother:$PW" GET /quotas/tqowner
want "an owner may not set a limit" 403 "tqowner:$PW" PUT /quotas/tq '{"limit": 1}'
want "a stranger may not set a limit (404)" 404 "tqother:$PW" PUT /quotas/tq '{"limit": 1}'
want "a user may not set the limit of their own namespace" 403 "tqother:$PW" PUT /quotas/tqother '{"limit": 1}'
want "an owner may not clear a limit" 403 "tqowner:$PW" DELETE /quotas/tq
want "an owner may not list every quota" 403 "tqowner:$PW" GET /quotas
want "an owner may not recompute" 403 "tqowner:$PW" POST /quotas/recompute '{}'
for bad in '{"limit": -1}' '{"limit": 1.5}' '{"limit": "1.5GiB"}' '{"limit": "10 XB"}' \
	'{"limit": "-5"}' '{"limit": ""}' '{"limit": true}' '{"limit": [1]}' '{}' \
	'{"limit": 4611686018427387905}' '{"limit": "4097PiB"}' '{"limit": "99999999999999999999"}' \
	'{"limit": "10GiB", "soft": true}' '{"limit": "1 GiB "}'; do
	want "PUT $bad is 400" 400 "$ADMIN" PUT /quotas/tq "$bad"
done
want "a limit on a name outside the grammar is 400" 400 "$ADMIN" PUT /quotas/Bad_NS '{"limit": 1}'
expect_error_code "and names NAME_INVALID" NAME_INVALID
want "a limit on a namespace that does not exist is 404" 404 "$ADMIN" PUT /quotas/tqnobody '{"limit": 1}'
expect_eq "no refused call stored a limit" 0 \
	"$(sql "SELECT count(*) FROM quota_limits WHERE namespace IN ('tq', 'tqother', 'tqowner')")"
ctl admin "$AUTHD_ADMIN_PASSWORD" quota set tq 1.5GiB
rc_is "berthctl quota set with a fraction is a usage error (2)" 2
ctl admin "$AUTHD_ADMIN_PASSWORD" quota set tq 12QB
rc_is "berthctl quota set with an unknown unit is a usage error (2)" 2
ctl tqowner "$PW" quota set tq 10GiB
rc_is "berthctl quota set by an owner is refused (1)" 1

# --- a limit ------------------------------------------------------------------
ctl admin "$AUTHD_ADMIN_PASSWORD" quota set tq 10GiB
rc_is "berthctl quota set tq 10GiB" 0
expect_eq "the limit is stored in bytes" 10737418240 "$(sql "SELECT limit_bytes FROM quota_limits WHERE namespace = 'tq'")"
expect_eq "berthctl prints the quota" "10737418240 $(usage_of tq)" "$(jq -r '"\(.limit) \(.usage)"' "$W/out")"
ctl tqowner "$PW" quota get tq
rc_is "berthctl quota get by an owner" 0

image_make "$W/big" 1 6000
image_make "$W/small" 1 100
BIG=$(sha256_of "$W/big/manifest.json")
USE=$(usage_of tq)
LIMIT=$((USE + $(image_bytes "$W/small") + 200))
want "the administrator sets a limit just above a small image" 200 "$ADMIN" PUT /quotas/tq "{\"limit\": $LIMIT}"
expect_eq "the answer shows limit, usage and what is left" "$LIMIT $USE $((LIMIT - USE))" \
	"$(jqb '"\(.limit) \(.usage) \(.available)"' | tr -d '"')"
for f in "$W/big"/config.json "$W/big"/layer1; do
	blob_push "$REG" tq/app "$f" || not_ok "fixture: blob of the big image" "status $STATUS"
done
expect_eq "uploaded blobs that no manifest references are not counted" "$USE" "$(usage_of tq)"
manifest_push "$REG" tq/app big "$W/big/manifest.json"
expect_status_code "a manifest PUT past the limit is 403 DENIED" 403 DENIED
NEED=$(image_bytes "$W/big")
MSG=$(jq -r '.errors[0].message' "$BODY")
expect_match "the message names the namespace, usage, limit and the bytes needed" \
	"storage quota exceeded: namespace \"tq\" uses $USE bytes .* of its limit of $LIMIT bytes .* this manifest needs $NEED bytes" "$MSG"
expect_eq "the refused push left no manifest and no tag" "0 0" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE digest = '$BIG'), (SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = 'tq/app' AND t.name = 'big')" | tr '|' ' ')"
exact "and did not change the usage" tq "$USE"
req GET "$REG/v2/tq/app/manifests/big"
expect_eq "the refused tag does not resolve" 404 "$STATUS"
req PUT "$REG/v2/tq/app/manifests/$BIG" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/big/manifest.json"
expect_status_code "the same manifest by digest is refused too" 403 DENIED
image_push "$REG" tq/app small "$W/small"
expect_eq "a push that fits under the limit is 201" 201 "$STATUS"
exact "and is counted" tq "$((USE + $(image_bytes "$W/small")))"
req GET "$REG2/v2/tq/app/manifests/small"
expect_eq "the image that fit is served (node 2)" 200 "$STATUS"

# Lowering the limit under the usage stops growth, never what adds nothing.
want "a limit of 0 is accepted" 200 "$ADMIN" PUT /quotas/tq '{"limit": "0"}'
expect_eq "available is 0 when usage is past the limit" "0" "$(jqb .available)"
manifest_push "$REG" tq/app moved "$W/a/manifest.json"
expect_eq "moving a tag to a stored manifest is allowed past the limit" 201 "$STATUS"
image_make "$W/tiny" 1 10
image_push "$REG" tq/app tiny "$W/tiny"
expect_status_code "any new byte is refused past the limit" 403 DENIED

# A real client sees the refusal.
oci_layout_make "$W/layout" 1 2
if timeout 120 "${SKOPEO[@]}" copy --dest-tls-verify=false "oci:$W/layout:1" \
	"docker://$REG_HOSTPORT/tq/real:1" >"$W/sk.log" 2>&1; then
	not_ok "skopeo's push past the limit fails" "it succeeded"
else
	ok "skopeo's push past the limit fails"
fi
expect_match "skopeo shows the quota message with its numbers" \
	'denied: storage quota exceeded: namespace .*tq.* uses [0-9]+ bytes .* of its limit of 0 bytes' \
	"$(tr '\n' ' ' <"$W/sk.log")"
expect_eq "skopeo's refused push left no manifest" 0 \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = 'tq/real'")"

# --- racing pushes ----------------------------------------------------------------
# Six distinct images, blobs uploaded; room for one: the manifest PUTs run
# at once on both nodes and exactly one may pass. A session holding the
# namespace's lock makes them all wait at once first, then lets them go.
USE=$(usage_of tq)
for i in 1 2 3 4 5 6; do
	image_make "$W/race$i" 1 2000
	for f in "$W/race$i"/config.json "$W/race$i"/layer1; do
		blob_push "$REG" tq/race "$f" || not_ok "fixture: race blob $i" "status $STATUS"
	done
done
MAXIMG=0
for i in 1 2 3 4 5 6; do
	n=$(image_bytes "$W/race$i")
	[ "$n" -gt "$MAXIMG" ] && MAXIMG=$n
done
LIMIT=$((USE + MAXIMG + MAXIMG / 2))
want "a limit with room for one of six racing images" 200 "$ADMIN" PUT /quotas/tq "{\"limit\": $LIMIT}"
# put_bg N BASE: the manifest PUT of image N, status in $W/race$N.status.
put_bg() {
	curl -s -o "$W/race$1.body" -w '%{http_code}\n' -X PUT \
		-H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/race$1/manifest.json" \
		"$2/v2/tq/race/manifests/r$1" >"$W/race$1.status" 2>/dev/null
}
hold tqhold "BEGIN; SELECT 1 FROM quota_usage WHERE namespace = 'tq' FOR UPDATE; SELECT pg_sleep(60); COMMIT" ||
	not_ok "fixture: a session holds tq's lock" "$(cat "$W/tqhold.log")"
pids=()
for i in 1 2 3 4 5 6; do
	if [ $((i % 2)) = 0 ]; then put_bg "$i" "$REG2" & else put_bg "$i" "$REG" & fi
	pids+=($!)
done
check_why "racing PUTs wait for the namespace's lock at once" "fewer than 2 waiting" waiting 2
release tqhold
wait "${pids[@]}"
statuses=$(cat "$W"/race[1-6].status | sort | tr '\n' ' ')
expect_eq "of six racing pushes with room for one, one passes and five are DENIED" \
	"201 403 403 403 403 403 " "$statuses"
expect_eq "the namespace is within its limit" 1 "$(sql "SELECT (bytes <= $LIMIT)::int FROM quota_usage WHERE namespace = 'tq'")"
expect_eq "exactly one racing manifest is stored" 1 \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = 'tq/race'")"
WON=$(for i in 1 2 3 4 5 6; do [ "$(cat "$W/race$i.status")" = 201 ] && echo "$i"; done)
exact "the usage counts the one that passed" tq "$((USE + $(image_bytes "$W/race${WON:-1}")))"

# The same new image into two repositories at once, room for its blobs and
# one manifest: the second needs only its manifest, and must not fit.
USE=$(usage_of tq)
image_make "$W/twin" 2 1500
for r in tq/twin1 tq/twin2; do
	for f in "$W/twin"/config.json "$W/twin"/layer*; do
		blob_push "$REG" "$r" "$f" || not_ok "fixture: twin blob" "status $STATUS"
	done
done
LIMIT=$((USE + $(image_bytes "$W/twin") + $(msize "$W/twin") / 2))
want "a limit with room for the twin once" 200 "$ADMIN" PUT /quotas/tq "{\"limit\": $LIMIT}"
curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/twin/manifest.json" "$REG/v2/tq/twin1/manifests/t" >"$W/t1.status" &
p1=$!
curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/twin/manifest.json" "$REG2/v2/tq/twin2/manifests/t" >"$W/t2.status" &
p2=$!
wait "$p1" "$p2"
expect_eq "two racing pushes of one new image: one passes, one is DENIED" "201 403" \
	"$(cat "$W/t1.status" "$W/t2.status" | sort | tr '\n' ' ' | sed 's/ $//')"
exact "the twin's blobs and one manifest are counted" tq "$((USE + $(image_bytes "$W/twin")))"

# Without a limit, racing pushes of one new image count its blobs once.
ctl admin "$AUTHD_ADMIN_PASSWORD" quota clear tq
rc_is "berthctl quota clear tq" 0
expect_eq "the limit is gone" 0 "$(sql "SELECT count(*) FROM quota_limits WHERE namespace = 'tq'")"
want "clearing it again is 404" 404 "$ADMIN" DELETE /quotas/tq
for round in 1 2 3 4; do
	USE=$(usage_of tq)
	image_make "$W/dup$round" 3 700
	for r in 1 2 3; do
		for f in "$W/dup$round"/config.json "$W/dup$round"/layer*; do
			blob_push "$REG" "tq/dup$r" "$f" >/dev/null || not_ok "fixture: dup blob" "status $STATUS"
		done
	done
	hold tqhold "BEGIN; SELECT 1 FROM quota_usage WHERE namespace = 'tq' FOR UPDATE; SELECT pg_sleep(60); COMMIT" ||
		not_ok "fixture: a session holds tq's lock" "$(cat "$W/tqhold.log")"
	pids=()
	for r in 1 2 3; do
		if [ "$r" = 2 ]; then base=$REG2; else base=$REG; fi
		curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $MT_OCI_MANIFEST" \
			--data-binary @"$W/dup$round/manifest.json" \
			"$base/v2/tq/dup$r/manifests/d$round" >"$W/dup$round.$r" &
		pids+=($!)
	done
	waiting 2 || not_ok "round $round: racing PUTs wait at once" "fewer than 2 waiting"
	release tqhold
	wait "${pids[@]}"
	got=$(cat "$W/dup$round".[123] | tr '\n' ' ')
	[ "$got" = "201 201 201 " ] || not_ok "round $round: three racing pushes of one image pass" "$got"
	exact "round $round: three racing pushes of one new image count its blobs once" tq \
		"$((USE + $(image_bytes "$W/dup$round") + 2 * $(msize "$W/dup$round")))"
done

# --- deletes ------------------------------------------------------------------------
USE=$(usage_of tq)
expect_status "DELETE of a tag" 202 DELETE "$REG/v2/tq/app/manifests/1-again"
exact "deleting a tag (the manifest stays) changes nothing" tq "$USE"
expect_status "DELETE of manifest a in tq/other by digest" 202 DELETE "$REG/v2/tq/other/manifests/$A_DIG"
exact "deleting a manifest whose blobs tq/app still references frees only its bytes" tq \
	"$((USE - $(msize "$W/a")))"
USE=$(usage_of tq)
expect_status "DELETE of the small image's manifest" 202 DELETE "$REG/v2/tq/app/manifests/$(sha256_of "$W/small/manifest.json")"
exact "deleting the only manifest of its blobs frees blobs and manifest" tq \
	"$((USE - $(image_bytes "$W/small")))"
# Garbage collection deletes with plain SQL.
USE=$(usage_of tq)
D1=$(sha256_of "$W/dup1/manifest.json")
sql "DELETE FROM manifests WHERE digest = '$D1' AND repository_id IN (SELECT id FROM repositories WHERE name IN ('tq/dup1', 'tq/dup2'))" >/dev/null
exact "a plain DELETE FROM manifests of two copies keeps the third's blobs" tq \
	"$((USE - 2 * $(msize "$W/dup1")))"
sql "DELETE FROM manifests WHERE digest = '$D1'" >/dev/null
exact "deleting the last copy frees the blobs too" tq \
	"$((USE - 2 * $(msize "$W/dup1") - $(image_bytes "$W/dup1")))"
# A repository deleted through the API (the cascade runs after its row is
# gone), then one deleted with plain SQL.
USE=$(usage_of tq)
want "the administrator deletes repository tq/race" 204 "$ADMIN" DELETE /repositories/tq/race
exact "deleting a repository frees what only it referenced" tq \
	"$((USE - $(image_bytes "$W/race${WON:-1}")))"
expect_eq "its namespace record goes at commit" 0 \
	"$(sql "SELECT count(*) FROM quota_repositories q WHERE NOT EXISTS (SELECT 1 FROM repositories r WHERE r.id = q.repository_id)")"
USE=$(usage_of tq)
sql "DELETE FROM repositories WHERE name IN ('tq/twin1', 'tq/twin2')" >/dev/null
exact "a plain DELETE FROM repositories is counted too" tq \
	"$((USE - $(image_bytes "$W/twin")))"
expect_eq "no reference count row is left at zero" 0 "$(sql "SELECT count(*) FROM quota_blob_refs WHERE refs <= 0")"

# --- recompute ------------------------------------------------------------------------
expect_eq "after the pushes and deletes, recompute equals tracked everywhere" 0 "$(drift_count)"
ctl admin "$AUTHD_ADMIN_PASSWORD" quota recompute --check
rc_is "berthctl quota recompute --check exits 0 without drift" 0
expect_eq "and reports no namespace" "0 []" "$(jq -c '"\(.drifted) \(.namespaces)"' "$W/out" | tr -d '"')"
USE=$(usage_of tq)
sql "UPDATE quota_usage SET bytes = bytes + 7 WHERE namespace = 'tq'; UPDATE quota_blob_refs SET refs = refs + 1 WHERE namespace = 'tqx' AND digest = '$(sha256_of "$W/a/layer1")'" >/dev/null
ctl admin "$AUTHD_ADMIN_PASSWORD" quota recompute --check
rc_is "berthctl quota recompute --check exits 3 on drift" 3
expect_eq "and names the drifted namespaces" '["tq","tqx"]' \
	"$(jq -c '[.namespaces[].namespace | select(startswith("tq"))]' "$W/out")"
expect_eq "with what was tracked and what it should be" "$((USE + 7)) $USE" \
	"$(jq -r '.namespaces[] | select(.namespace == "tq") | "\(.tracked) \(.recomputed)"' "$W/out")"
expect_eq "--check changed nothing" "$((USE + 7))" "$(usage_of tq)"
"$BUILD/registryd" -c "$(node_dir 1)/conf" quota-check >"$W/out" 2>"$W/err"
RC=$?
rc_is "registryd quota-check exits 3 on drift" 3
expect_match "and prints the namespace with both numbers" "^tq: tracked $((USE + 7)) bytes, recomputed $USE bytes" "$(grep '^tq:' "$W/out")"
ctl admin "$AUTHD_ADMIN_PASSWORD" quota recompute
rc_is "berthctl quota recompute fixes the drift" 0
expect_eq "it reports both fixed" "true true" \
	"$(jq -r '[.namespaces[] | select(.namespace == "tq" or .namespace == "tqx") | .fixed] | join(" ")' "$W/out")"
exact "the usage is the content's again" tq "$USE"
expect_eq "and no namespace drifts" 0 "$(drift_count)"
"$BUILD/registryd" -c "$(node_dir 1)/conf" quota-check >"$W/out" 2>"$W/err"
RC=$?
rc_is "registryd quota-check exits 0 without drift" 0
sql "UPDATE quota_usage SET bytes = 0 WHERE namespace = 'tq'" >/dev/null
"$BUILD/registryd" -c "$(node_dir 1)/conf" quota-recompute >"$W/out" 2>"$W/err"
RC=$?
rc_is "registryd quota-recompute fixes drift (exit 0)" 0
expect_match "and says so" "^tq: tracked 0 bytes, recomputed $USE bytes, 0 reference counts differ; fixed" "$(grep '^tq:' "$W/out")"
exact "the usage is right after registryd quota-recompute" tq "$USE"
expect_eq "tqx's reference count is right again" 1 \
	"$(sql "SELECT refs FROM quota_blob_refs WHERE namespace = 'tqx' AND digest = '$(sha256_of "$W/a/layer1")'")"

# A delete (as garbage collection makes it) of the last manifest that
# references a blob, racing a push that references it again: the push
# waits for the delete's commit, then counts the blob anew.
image_make "$W/gc" 2 900
image_push "$REG" tq/gc1 1 "$W/gc" || not_ok "fixture: image gc in tq/gc1" "status $STATUS"
for f in "$W/gc"/config.json "$W/gc"/layer*; do
	blob_push "$REG" tq/gc2 "$f" || not_ok "fixture: gc blob in tq/gc2" "status $STATUS"
done
USE=$(usage_of tq)
GC=$(sha256_of "$W/gc/manifest.json")
hold tqgc "BEGIN; DELETE FROM manifests WHERE digest = '$GC' AND repository_id = (SELECT id FROM repositories WHERE name = 'tq/gc1'); SELECT pg_sleep(4); COMMIT" ||
	not_ok "fixture: a session deletes gc's manifest" "$(cat "$W/tqgc.log")"
curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $MT_OCI_MANIFEST" \
	--data-binary @"$W/gc/manifest.json" "$REG2/v2/tq/gc2/manifests/1" >"$W/gc.status" &
p1=$!
check_why "the push waits for the uncommitted delete" "it did not wait" waiting 1
wait "$HOLD_PID" "$p1"
expect_eq "the delete committed and the push passed" "0 201" \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = 'tq/gc1'") $(cat "$W/gc.status")"
exact "the blobs were uncounted by the delete and counted again by the push" tq "$USE"
# One statement deleting across namespaces.
USE=$(usage_of tq)
sql "DELETE FROM manifests WHERE digest = '$A_DIG'" >/dev/null
exact "a delete across namespaces counts in each: tq" tq "$((USE - $(image_bytes "$W/a")))"
exact "and in tqx" tqx 0
expect_eq "no namespace drifts after the races" 0 "$(drift_count)"

# --- the rest of the API ------------------------------------------------------------
want "the administrator lists quotas" 200 "$ADMIN" GET "/quotas?limit=1000"
expect_eq "the list has tq with its usage" "$(usage_of tq)" "$(jqb '.items[] | select(.namespace == "tq") | .usage')"
ctl admin "$AUTHD_ADMIN_PASSWORD" quota list
rc_is "berthctl quota list" 0
expect_eq "audit: quota.set, quota.clear and quota.recompute are recorded" "t t t" \
	"$(sql "SELECT bool_or(action = 'quota.set' AND target = 'tq'), bool_or(action = 'quota.clear' AND target = 'tq'), bool_or(action = 'quota.recompute') FROM audit_log WHERE actor = 'admin'" | tr '|' ' ')"
expect_eq "quota.clear records the limit it cleared" "$LIMIT" \
	"$(sql "SELECT detail->>'previous' FROM audit_log WHERE action = 'quota.clear' ORDER BY id DESC LIMIT 1")"
auth_org tqgone
want "a limit on a namespace that then goes" 200 "$ADMIN" PUT /quotas/tqgone '{"limit": "1MiB"}'
want "the organization is deleted" 204 "$ADMIN" DELETE /orgs/tqgone
expect_eq "its limit went with it" 0 "$(sql "SELECT count(*) FROM quota_limits WHERE namespace = 'tqgone'")"
