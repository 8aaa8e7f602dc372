#!/bin/bash
# Who did what: registryd's audit records (pushes, tag moves, deletes, and
# pulls with audit_pulls) through node 4's token auth as a user with a
# password, with a personal access token (curl and skopeo) and as a
# service account, and anonymously on node 1; each with actor, kind, token id, client and the
# request id the response carried. The writer is asynchronous (a push is
# acknowledged while audit_log is locked; its record follows), drops and
# counts when its queue is full, and flushes on SIGTERM. Then authd's
# failed-login reasons, the API's and berthctl's filters and JSON lines,
# and the retention purge. Names start with "tau".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
CTL=$BUILD/berthctl
EXTRA_PID= LOCKER=
cleanup() {
	[ -z "$LOCKER" ] || kill "$LOCKER" 2>/dev/null
	[ -z "$EXTRA_PID" ] || kill "$EXTRA_PID" 2>/dev/null
	auth_sql "DELETE FROM login_failures WHERE key LIKE 'pair:% tau%'" >/dev/null 2>&1
}
trap cleanup EXIT
trap "exit 143" TERM
PW=tau-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1	# records strictly after T0's second

if auth_user tau "$PW" && auth_user taudis "$PW" && auth_user taulock "$PW" &&
	auth_sql "UPDATE users SET disabled = true WHERE name = 'taudis'" >/dev/null &&
	auth_org tauorg && auth_sa tauorg ci && auth_grant tauorg - 3 sa:tauorg+ci &&
	PAT=$(auth_token_new personal user:tau) &&
	SAT=$(auth_token_new service sa:tauorg+ci) &&
	PAT_OLD=$(auth_token_new personal user:tau "now() - interval '1 day'") &&
	PAT_REV=$(auth_token_new personal user:tau NULL "now()"); then
	ok "fixtures: users tau, taudis (disabled), taulock, service account tauorg+ci, tokens"
else
	not_ok "fixtures" "setup failed"
	exit 0
fi
# The token's uuid, as the tokens table and the JWT's "tid" spell it.
tid_of() {
	local h=${1:6:32}
	echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}
PAT_ID=$(tid_of "$PAT") SAT_ID=$(tid_of "$SAT")
TAU_UID=$(auth_sql "SELECT id FROM users WHERE name = 'tau'")
SA_ID=$(auth_sql "SELECT s.id FROM service_accounts s JOIN organizations o
	ON o.id = s.org_id WHERE o.name = 'tauorg' AND s.name = 'ci'")

# records WHERE: registryd's records matching WHERE, oldest first, one
# line each: action target actor client kind tid id reference digest
# old_digest request_id ("-" for absent members).
records() {
	auth_sql "SELECT concat_ws(' ', action, target, actor, client,
		coalesce(detail->>'kind', '-'), coalesce(detail->>'tid', '-'),
		coalesce(detail->>'id', '-'), coalesce(detail->>'reference', '-'),
		coalesce(detail->>'digest', '-'), coalesce(detail->>'old_digest', '-'),
		coalesce(detail->>'request_id', '-'))
		FROM audit_log WHERE action LIKE 'registry.%' AND ($1) ORDER BY id"
}

# wait_records N WHERE: until N records match (at most 5 s); prints them.
wait_records() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(records "$2" | grep -c .)" -ge "$1" ] && break
		sleep 0.1
	done
	records "$2"
}

# push_as USER SECRET REPO REF DIR: a token for REPO, then the image;
# REQID and DIGEST are the manifest PUT's X-Request-Id and digest.
push_as() {
	local tok
	tok=$(token_for "$1" "$2" "repository:$3:pull,push,delete") || return 1
	as_bearer "$tok"
	auth_push "$REGA" "$3" "$4" "$5" || return 1
	REQID=$(hdr X-Request-Id) DIGEST=$(hdr Docker-Content-Digest)
	[ -n "$REQID" ] && [ -n "$DIGEST" ]
}

# ---- pushes, a tag move, deletes --------------------------------------------
C=127.0.0.1
image_make "$W/a" 1 512
image_make "$W/b" 1 512
image_make "$W/c" 1 512
image_make "$W/d" 1 512
want=()
check "password: push tau/app:v1" push_as tau "$PW" tau/app v1 "$W/a"
D1=$DIGEST
want+=("registry.push tau/app tau $C password - $TAU_UID v1 $D1 - $REQID")
check "password: push tau/app:v1 again, another image (a tag move)" \
	push_as tau "$PW" tau/app v1 "$W/b"
D2=$DIGEST
want+=("registry.push tau/app tau $C password - $TAU_UID v1 $D2 - $REQID")
want+=("registry.tag.move tau/app tau $C password - $TAU_UID v1 $D2 $D1 $REQID")
check "password: the same image under the same tag again (no move)" \
	push_as tau "$PW" tau/app v1 "$W/b"
want+=("registry.push tau/app tau $C password - $TAU_UID v1 $D2 - $REQID")
check "personal access token: push tau/pat:v1" push_as tau "$PAT" tau/pat v1 "$W/c"
D3=$DIGEST
want+=("registry.push tau/pat tau $C pat $PAT_ID $TAU_UID v1 $D3 - $REQID")
check "service account: push tauorg/app:v1" push_as tauorg+ci "$SAT" tauorg/app v1 "$W/d"
D4=$DIGEST
want+=("registry.push tauorg/app tauorg+ci $C service $SAT_ID $SA_ID v1 $D4 - $REQID")

tok=$(token_for tau "$PW" "repository:tau/app:pull,push,delete")
as_bearer "$tok"
req DELETE "$REGA/v2/tau/app/manifests/v1" "${BEARER[@]}"
expect_eq "delete the tag tau/app:v1: 202" 202 "$STATUS"
want+=("registry.tag.delete tau/app tau $C password - $TAU_UID v1 $D2 - $(hdr X-Request-Id)")
req DELETE "$REGA/v2/tau/app/manifests/$D1" "${BEARER[@]}"
expect_eq "delete the manifest tau/app@D1: 202" 202 "$STATUS"
want+=("registry.manifest.delete tau/app tau $C password - $TAU_UID $D1 $D1 - $(hdr X-Request-Id)")
LAYER=$(sha256_of "$W/a/layer1")
req DELETE "$REGA/v2/tau/app/blobs/$LAYER" "${BEARER[@]}"
expect_eq "delete a blob of tau/app: 202" 202 "$STATUS"
want+=("registry.blob.delete tau/app tau $C password - $TAU_UID $LAYER $LAYER - $(hdr X-Request-Id)")
req DELETE "$REGA/v2/tau/app/manifests/nosuchtag" "${BEARER[@]}"
expect_eq "delete of an unknown tag: 404, not audited" 404 "$STATUS"

# Node 4 has audit_pulls off: this GET leaves no record. The delete after
# it goes through the same first-in first-out writer, so once its record
# is in, a record of the pull would be too.
tok=$(token_for tau "$PAT" "repository:tau/pat:pull,push,delete")
as_bearer "$tok"
req GET "$REGA/v2/tau/pat/manifests/v1" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "pull with audit_pulls off: 200" 200 "$STATUS"
req DELETE "$REGA/v2/tau/pat/manifests/v1" "${BEARER[@]}"
want+=("registry.tag.delete tau/pat tau $C pat $PAT_ID $TAU_UID v1 $D3 - $(hdr X-Request-Id)")

got=$(wait_records "${#want[@]}" "target IN ('tau/app', 'tau/pat', 'tauorg/app')")
expect_eq "audit_log holds exactly these records, with actor, kind, token id, client and request id" \
	"$(printf '%s\n' "${want[@]}")" "$got"
expect_eq "each record's request id is the one its response carried (all distinct but the tag move's)" \
	"$((${#want[@]} - 1))" "$(printf '%s\n' "$got" | awk '{ print $NF }' | sort -u | grep -c .)"

# Without auth (node 1): anonymous.
image_make "$W/e" 1 256
image_push "$REG" tauanon/app v1 "$W/e"
RID=$(hdr X-Request-Id)
expect_eq "no auth: push recorded as anonymous" \
	"registry.push tauanon/app anonymous $C anonymous - - v1 $IMG_DIGEST - $RID" \
	"$(wait_records 1 "target = 'tauanon/app'")"

# A real client: skopeo with the personal access token as its password.
oci_layout_make "$W/sk" 1 2
if timeout 120 "${SKOPEO[@]}" copy --dest-tls-verify=false --dest-creds "tau:$PAT" \
	"oci:$W/sk:1" "docker://$REGA_HOSTPORT/tau/sk:1" >"$W/sk.log" 2>&1; then
	ok "skopeo: copy into tau/sk:1 with the personal access token"
else
	not_ok "skopeo: copy into tau/sk:1" "$(tail -c 300 "$W/sk.log")"
fi
expect_eq "skopeo: its push is recorded with the token's kind and id" \
	"registry.push tau/sk tau $C pat $PAT_ID $TAU_UID 1 $LAYOUT_DIGEST -" \
	"$(wait_records 1 "target = 'tau/sk'" | awk '{ NF--; print }')"

# The request log names the actor's token beside the request id.
check "node 4's log: the push by personal access token, with its token id" \
	grep -q "audit id=.* action=registry.push target=\"tau/pat\" actor=\"tau\" kind=pat tid=$PAT_ID" \
	"$BERTH_RUN/node4/log"

# ---- asynchronous: a push does not wait for the audit log ----------------------
# LOCK ... EXCLUSIVE lets reads through but holds every INSERT: the writer
# waits, the push must not. The token comes first (authd audits it).
tok=$(token_for tau "$PW" "repository:tau/async:pull,push")
as_bearer "$tok"
image_make "$W/f" 1 256
(psql -X -q -c "BEGIN; LOCK TABLE audit_log IN EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" \
	>/dev/null 2>&1) &
LOCKER=$!
for ((i = 0; i < 50; i++)); do
	[ "$(auth_sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = 'audit_log' AND l.mode = 'ExclusiveLock' AND l.granted")" = 1 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
auth_push "$REGA" tau/async v1 "$W/f"
PUSH_STATUS=$STATUS RID=$(hdr X-Request-Id)
t2=$(date +%s.%N)
expect_eq "audit_log locked: the push is still acknowledged (201)" 201 "$PUSH_STATUS"
check "audit_log locked: the whole push took under 2 s ($(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s) while the lock holds 4 s" \
	awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b - a < 2) }'
expect_eq "audit_log locked: its record is not written yet" 0 \
	"$(auth_sql "SELECT count(*) FROM audit_log WHERE target = 'tau/async'")"
wait "$LOCKER"
LOCKER=
for ((i = 0; i < 50; i++)); do
	[ "$(auth_sql "SELECT count(*) FROM audit_log WHERE target = 'tau/async'")" = 1 ] && break
	sleep 0.1
done
expect_eq "lock released: the record arrives within seconds, with its request id" "$RID" \
	"$(auth_sql "SELECT detail->>'request_id' FROM audit_log WHERE target = 'tau/async'")"

# ---- audit_pulls on: an extra node with token auth ---------------------------
if extra_start "$W/pulls" REGISTRYD_AUTH_REALM="$AUTHD/token" \
	REGISTRYD_AUTH_JWKS_URL="$AUTHD/jwks" REGISTRYD_AUDIT_PULLS=true; then
	ok "extra registryd with audit_pulls = true"
	X=http://127.0.0.1:$EXTRA_PORT
	tok=$(token_for tauorg+ci "$SAT" "repository:tauorg/app:pull")
	as_bearer "$tok"
	req HEAD "$X/v2/tauorg/app/manifests/v1" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
	req GET "$X/v2/tauorg/app/manifests/v1" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
	expect_eq "audit_pulls: GET the manifest: 200" 200 "$STATUS"
	RID=$(hdr X-Request-Id)
	req GET "$X/v2/tauorg/app/manifests/$D4" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
	RID2=$(hdr X-Request-Id)
	# SIGTERM at once: the records still queued are written before exit.
	check "audit_pulls: the node exits 0 on SIGTERM" extra_stop
	EXTRA_PID=
	expect_eq "audit_pulls: the GETs (not the HEAD) are recorded, flushed at SIGTERM" \
		"$(printf '%s\n' "registry.pull tauorg/app tauorg+ci $C service $SAT_ID $SA_ID v1 $D4 - $RID" \
			"registry.pull tauorg/app tauorg+ci $C service $SAT_ID $SA_ID $D4 $D4 - $RID2")" \
		"$(records "target = 'tauorg/app' AND action = 'registry.pull'")"
else
	not_ok "extra registryd with audit_pulls = true" "did not start: $(tail -c 300 "$W/pulls/log")"
fi
expect_eq "audit_pulls off (node 4): the pull of tau/pat left no record" "" \
	"$(records "target = 'tau/pat' AND action = 'registry.pull'")"

# ---- a full queue drops, counts and warns --------------------------------------
# audit_queue = 1, no auth, pulls audited; audit_log locked while 5 pulls
# arrive: at most 2 records can wait (one taken by the writer, one queued).
if extra_start "$W/drop" REGISTRYD_AUDIT_PULLS=true REGISTRYD_AUDIT_QUEUE=1; then
	ok "extra registryd with audit_queue = 1"
	X=http://127.0.0.1:$EXTRA_PORT
	(psql -X -q -c "BEGIN; LOCK TABLE audit_log IN EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" \
		>/dev/null 2>&1) &
	LOCKER=$!
	for ((i = 0; i < 50; i++)); do
		[ "$(auth_sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'audit_log' AND l.mode = 'ExclusiveLock' AND l.granted")" = 1 ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	codes=
	for i in 1 2 3 4 5; do
		req GET "$X/v2/tauanon/app/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
		codes="$codes$STATUS "
	done
	t2=$(date +%s.%N)
	expect_eq "queue full: every pull is answered" "200 200 200 200 200 " "$codes"
	check "queue full: 5 pulls took under 2 s" awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b - a < 2) }'
	wait "$LOCKER"
	LOCKER=
	check "queue full: the node exits 0 on SIGTERM" extra_stop
	EXTRA_PID=
	line=$(grep -o 'audit log: [0-9]* records written, [0-9]* dropped' "$W/drop/log")
	written=$(awk '{ print $3 }' <<<"$line") dropped=$(awk '{ print $6 }' <<<"$line")
	check "queue full: the node warned" grep -q "audit queue full: [0-9]* records dropped" "$W/drop/log"
	expect_eq "queue full: written + dropped = 5 ($line)" 5 "$((written + dropped))"
	check "queue full: at least 3 dropped" test "${dropped:-0}" -ge 3
	expect_eq "queue full: audit_log has the written ones" "$written" \
		"$(auth_sql "SELECT count(*) FROM audit_log WHERE target = 'tauanon/app' AND action = 'registry.pull'")"
else
	not_ok "extra registryd with audit_queue = 1" "did not start: $(tail -c 300 "$W/drop/log")"
fi

# ---- failed logins: a reason in the audit record, the same answer --------------
# An administrator's lock (schema/0006_authsec.sql).
auth_sql "UPDATE users SET locked_until = now() + interval '1 hour' WHERE name = 'taulock'" >/dev/null
# A secret of the right shape that matches no stored hash.
BADPAT=${PAT:0:38}$(printf '%s' "${PAT:38}" | tr '0-9a-f' '1-9a-f0')
declare -A why=([tau:wrong-$PW]=bad_password [taunobody:$PW]=unknown_user
	[tau:$PAT_OLD]=expired [tau:$PAT_REV]=revoked [taudis:$PW]=disabled
	[taulock:$PW]=locked [tau:$BADPAT]=bad_token [tauorg+ci:$PAT]=bad_token)
first_body= same=1
for cred in "${!why[@]}"; do
	user=${cred%%:*} secret=${cred#*:}
	req GET "$AUTHD/token?service=$AUTH_SERVICE&scope=repository:tau/app:pull" -u "$user:$secret"
	[ "$STATUS" = 401 ] || same=0
	[ -n "$first_body" ] || first_body=$(cat "$BODY")
	[ "$(cat "$BODY")" = "$first_body" ] || same=0
	got=$(auth_sql "SELECT detail->>'reason' FROM audit_log WHERE action = 'login'
		AND NOT success AND actor = '$user' ORDER BY id DESC LIMIT 1")
	expect_eq "failed login ($user, ${why[$cred]}): the reason is audited" "${why[$cred]}" "$got"
done
expect_eq "failed logins: every answer is the same 401 and body" 1 "$same"
tok=$(token_for tau "$PAT" "repository:tau/app:pull")
expect_eq "a login by personal access token is audited with its kind and token id" "pat $PAT_ID" \
	"$(auth_sql "SELECT concat_ws(' ', detail->>'kind', detail->>'tid') FROM audit_log
		WHERE action = 'login' AND success AND actor = 'tau' ORDER BY id DESC LIMIT 1")"
jwt=$(jwt_claims "$tok")
expect_eq "the JWT carries the berth claim; the Docker claims are unchanged" \
	"pat $PAT_ID $TAU_UID tau $AUTH_ISSUER $AUTH_SERVICE" \
	"$(jq -r '[.berth.kind, .berth.tid, .berth.id, .sub, .iss, .aud] | join(" ")' <<<"$jwt")"

# ---- the API's filters ------------------------------------------------------------
ADMIN=(-u "admin:$AUTHD_ADMIN_PASSWORD")
api() { req GET "$AUTHD/api/v1/audit?$1" "${ADMIN[@]}"; }
body() { jq -c "$1" "$BODY" 2>/dev/null; }
bodyr() { jq -r "$1" "$BODY" 2>/dev/null; }
N_TAU=$(auth_sql "SELECT count(*) FROM audit_log WHERE actor = 'tau' AND action LIKE 'registry.%'")
api "actor=tau&action=registry.&limit=1000"
expect_eq "API: actor=tau&action=registry. (a prefix): every registry record of tau" \
	"$N_TAU true" "$(bodyr '[(.items | length), all(.items[]; .actor == "tau" and (.action | startswith("registry.")))] | join(" ")')"
api "actor=tau&action=registry.*&limit=1000"
expect_eq "API: action=registry.* is the same prefix" "$N_TAU" "$(body '.items | length')"
api "actor=tau&action=registry.tag.move"
expect_eq "API: an exact action" '["registry.tag.move"]' "$(body '[.items[].action]')"
api "actor=tau&action=registry&limit=1000"
expect_eq "API: action=registry (no dot) is exact: nothing" 0 "$(body '.items | length')"
api "actor=tau&action=registry.&since=$T0&until=2999-01-01T00:00:00Z&limit=1000"
expect_eq "API: since/until around this test: all of them" "$N_TAU" "$(body '.items | length')"
api "actor=tau&action=registry.&until=$T0"
expect_eq "API: until before this test: none" 0 "$(body '.items | length')"
api "actor=tau&since=2999-01-01T00:00:00%2B02:00"
expect_eq "API: since in the future (with an offset): none" "200 0" "$STATUS $(body '.items | length')"
api "actor=tau&action=registry.&limit=2"
NEXT=$(jq -r .next "$BODY")
api "actor=tau&action=registry.&limit=1000&before=$NEXT"
expect_eq "API: pagination with before= still works with the filters" "$((N_TAU - 2))" "$(body '.items | length')"
for bad in "since=yesterday" "until=2026-02-30T00:00:00Z" "since=2026-01-01T25:00:00Z" \
	"since=2026-01-01" "until=2026-01-01T00:00:00"; do
	api "$bad"
	expect_eq "API: $bad is refused with 400 BAD_REQUEST" "400 \"BAD_REQUEST\"" \
		"$STATUS $(body '.errors[0].code')"
done

# ---- berthctl ------------------------------------------------------------------------
ctl() { BERTH_URL=$AUTHD BERTH_USER=admin BERTH_PASSWORD=$AUTHD_ADMIN_PASSWORD "$CTL" "$@" >"$W/out" 2>"$W/err"; }
ctl audit --actor tau --action registry. --since "$T0" --until 2999-01-01T00:00:00Z --limit 1000
rc=$?
expect_eq "berthctl audit --actor --action --since --until" "0 $N_TAU" \
	"$rc $(jq 'length' "$W/out" 2>/dev/null)"
ctl audit --actor tauorg+ci --action registry.push --jsonl
rc=$?
expect_eq "berthctl audit --jsonl: one record per line" "0 1 $D4" \
	"$rc $(grep -c . "$W/out") $(jq -r .detail.digest "$W/out" 2>/dev/null)"
auth_sql "INSERT INTO audit_log (actor, action, target, success)
	SELECT 'tau-bulk', 'registry.bulk', 'tau/bulk' || i, true
	FROM generate_series(1, 1500) i" >/dev/null
ctl audit export --actor tau-bulk --action registry.
rc=$?
expect_eq "berthctl audit export: all pages (1500 records, two pages of 1000)" "0 1500" \
	"$rc $(grep -c . "$W/out")"
check "berthctl audit export: every line parses with jq" \
	sh -c "while IFS= read -r l; do printf '%s' \"\$l\" | jq -e .id >/dev/null || exit 1; done <'$W/out'"
expect_eq "berthctl audit export: 1500 distinct records, newest first" "1500 true" \
	"$(jq -s '[(map(.id) | unique | length), (map(.id) == (map(.id) | sort | reverse))] | join(" ")' -r "$W/out")"
ctl audit export --since nonsense
rc=$?
expect_eq "berthctl audit export --since nonsense: exit 1 with the API's reason" "1 yes" \
	"$rc $(grep -q 'RFC 3339' "$W/err" && echo yes)"

# ---- retention --------------------------------------------------------------------
auth_sql "INSERT INTO audit_log (at, actor, action, success) VALUES
	(now() - interval '400 days', 'tau-old', 'tau.old', true),
	(now() - interval '300 days', 'tau-old', 'tau.recent', true)" >/dev/null
"$BUILD/authd" -c "$BERTH_RUN/node3/conf" purge-audit >"$W/purge" 2>&1
rc=$?
expect_eq "purge-audit (365 days by default): the 400-day-old record goes, the 300-day-old stays" \
	"0 tau.recent" "$rc $(auth_sql "SELECT string_agg(action, ',') FROM audit_log WHERE actor = 'tau-old'")"
AUTHD_AUDIT_RETENTION_DAYS=0 "$BUILD/authd" -c "$BERTH_RUN/node3/conf" purge-audit >"$W/purge" 2>&1
rc=$?
expect_eq "purge-audit with audit_retention_days = 0 keeps everything" \
	"0 1" "$rc $(auth_sql "SELECT count(*) FROM audit_log WHERE actor = 'tau-old'")"
AUTHD_AUDIT_RETENTION_DAYS=200 "$BUILD/authd" -c "$BERTH_RUN/node3/conf" purge-audit >"$W/purge" 2>&1
rc=$?
expect_eq "purge-audit with audit_retention_days = 200 removes the 300-day-old record" \
	"0 0 yes" "$rc $(auth_sql "SELECT count(*) FROM audit_log WHERE actor = 'tau-old'") $(grep -q 'purged 1 audit records' "$W/purge" && echo yes)"
expect_eq "purge-audit kept this test's fresh records" "$N_TAU" \
	"$(auth_sql "SELECT count(*) FROM audit_log WHERE actor = 'tau' AND action LIKE 'registry.%'")"
