#!/bin/bash
# Real clients through the real token flow: skopeo logs in to $REGA and
# copies a multi-layer image in and out with a password, a personal
# access token and a service account token; a read-only user pulls but
# cannot push; a wrong password fails. Then login delays (an extra authd
# with thresholds of 3 per account and address pair and 5 per address,
# answered 429 unchecked, never blocking access tokens), equal answers and
# timing for unknown users and wrong passwords, the audit log, credential changes despite the credential
# cache, and last key rotation at authd (node 3, by SIGHUP) without one
# failed request. login_failures is shared by every test: we clean ours,
# and node 3's configuration is put back on exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
FILE_START=$(date +%s.%N)
CONF=$BERTH_RUN/node3/conf
cp "$CONF" "$W/conf.orig"
AUTHD_EXTRA_PID= LOOP=

# On any exit: node 3 signs with its own key again, and what we started
# is stopped.
cleanup() {
	[ -z "$LOOP" ] || kill "$LOOP" 2>/dev/null
	[ -z "$AUTHD_EXTRA_PID" ] || kill "$AUTHD_EXTRA_PID" 2>/dev/null
	if ! cmp -s "$CONF" "$W/conf.orig"; then
		cp "$W/conf.orig" "$CONF"
		kill -HUP "$(node_pid 3)"
	fi
}
trap cleanup EXIT
trap "exit 143" TERM
PW=tal-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
H=$REGA_HOSTPORT

if auth_user taluser "$PW" && auth_user talread "$PW" && auth_org talorg &&
	auth_sa talorg ci && auth_grant talorg - 2 sa:talorg+ci &&
	auth_grant talorg talorg/img 1 user:talread &&
	PAT=$(auth_token_new personal user:taluser) &&
	SAT=$(auth_token_new service sa:talorg+ci); then
	ok "fixtures: users, organization talorg, service account talorg+ci, tokens"
else
	not_ok "fixtures" "setup failed"
	exit 0
fi

# forget_failures KEY...: drops our rows from the shared login_failures.
forget_failures() {
	local k list=
	for k in "$@"; do
		list="$list${list:+, }'$k'"
	done
	auth_sql "DELETE FROM login_failures WHERE key IN ($list)" >/dev/null
}

# sk NAME ARGS...: skopeo ARGS under a timeout; ok NAME when it succeeds.
sk() {
	local name=$1
	shift
	if timeout 120 "${SKOPEO[@]}" "$@" >"$W/sk.log" 2>&1; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "skopeo $*: $(tail -c 400 "$W/sk.log")"
	return 1
}

# sk_fails NAME ARGS...: ok NAME when skopeo ARGS fails.
sk_fails() {
	local name=$1
	shift
	if timeout 120 "${SKOPEO[@]}" "$@" >"$W/sk.log" 2>&1; then
		not_ok "$name" "skopeo $* succeeded"
		return 1
	fi
	ok "$name"
}

# roundtrip WHO AUTHFILE REPO: copies the layout in $W/src into REPO:1 on
# $REGA and back out to $W/out-WHO; digests and blobs must survive.
roundtrip() {
	local who=$1 af=$2 repo=$3 f
	sk "$who: skopeo copy of a 3-layer image into $repo" copy --authfile "$af" \
		--dest-tls-verify=false "oci:$W/src:1" "docker://$H/$repo:1" || return 1
	sk "$who: skopeo copy of $repo back out" copy --authfile "$af" \
		--src-tls-verify=false "docker://$H/$repo:1" "oci:$W/out-$who:1" || return 1
	expect_eq "$who: the manifest digest survives the round trip" "$SRC_DIGEST" \
		"$(layout_manifest_digest "$W/out-$who")"
	for f in "$W"/src/blobs/sha256/*; do
		cmp -s "$f" "$W/out-$who/blobs/sha256/$(basename "$f")" || break
	done
	check "$who: every blob comes back byte for byte" cmp -s "$f" "$W/out-$who/blobs/sha256/$(basename "$f")"
}

# ---- skopeo ------------------------------------------------------------------
oci_layout_make "$W/src" 1 3
SRC_DIGEST=$LAYOUT_DIGEST

AF=$W/auth-user.json
sk "password: skopeo login" login --authfile "$AF" --tls-verify=false -u taluser -p "$PW" "$H"
check "password: the authfile holds the registry" jq_ok --arg h "$H" '.auths | has($h)' "$AF"
roundtrip password "$AF" taluser/img

AF=$W/auth-pat.json
sk "personal access token: skopeo login" login --authfile "$AF" --tls-verify=false -u taluser -p "$PAT" "$H"
roundtrip pat "$AF" taluser/pat

AF=$W/auth-sa.json
sk "service account token: skopeo login as talorg+ci" login --authfile "$AF" --tls-verify=false \
	-u talorg+ci -p "$SAT" "$H"
roundtrip service-account "$AF" talorg/img

AF=$W/auth-read.json
sk "read-only: skopeo login" login --authfile "$AF" --tls-verify=false -u talread -p "$PW" "$H"
sk "read-only: skopeo copy out of talorg/img" copy --authfile "$AF" --src-tls-verify=false \
	"docker://$H/talorg/img:1" "oci:$W/out-read:1"
expect_eq "read-only: the pulled digest" "$SRC_DIGEST" "$(layout_manifest_digest "$W/out-read")"
oci_layout_make "$W/src2" 1 2
sk_fails "read-only: skopeo copy into talorg/img fails" copy --authfile "$AF" \
	--dest-tls-verify=false "oci:$W/src2:1" "docker://$H/talorg/img:2"
req GET "$REG/v2/talorg/img/manifests/2"
expect_eq "read-only: the refused copy left no tag" 404 "$STATUS"
sk_fails "read-only: skopeo copy into another user's namespace fails" copy \
	--authfile "$AF" --dest-tls-verify=false "oci:$W/src2:1" "docker://$H/taluser/img:2"

AF=$W/auth-bad.json
sk_fails "wrong password: skopeo login fails" login --authfile "$AF" --tls-verify=false \
	-u taluser -p "wrong-$PW" "$H"
check "wrong password: nothing stored in the authfile" \
	bash -c "[ ! -s '$AF' ] || ! jq -e --arg h '$H' '.auths | has(\$h)' '$AF' >/dev/null"
sk_fails "another user's name with a personal access token: login fails" login --authfile "$AF" \
	--tls-verify=false -u talread -p "$PAT" "$H"
forget_failures "pair:127.0.0.1 taluser" "pair:127.0.0.1 talread" addr:127.0.0.1

# ---- delays ------------------------------------------------------------------
# Failed passwords delay one account from one address (a pair), and one
# address's password logins; a delayed login is refused (429, Retry-After)
# without its password being looked at, and nothing locks an account
# everywhere. lockout_delay=60 holds each delay through the checks.
# basic_from ADDR URL USER PASS: GET /token from source address ADDR.
basic_from() {
	req GET "$2/token?service=$AUTH_SERVICE" --interface "$1" -u "$3:$4"
}
auth_user tallock "$PW" && auth_user tallock2 "$PW"
LPAT=$(auth_token_new personal user:tallock)
if ! authd_extra_start "$W/authd-lock" AUTHD_LOCKOUT_THRESHOLD=3 \
	AUTHD_LOCKOUT_ADDRESS_THRESHOLD=5 AUTHD_LOCKOUT_DELAY=60 AUTHD_LOG_LEVEL=debug; then
	not_ok "extra authd with thresholds of 3 (pair) and 5 (address) starts" "$(tail -c 300 "$W/authd-lock/log")"
	exit 0	# cleanup stops it
fi
L=$AUTHD_EXTRA
basic_from 127.0.0.2 "$L" tallock "$PW"
expect_eq "delay: the correct password works at first" 200 "$STATUS"
basic_from 127.0.0.2 "$L" tallock "wrong-$PW"
cp "$BODY" "$W/wrong.body"
WRONG_CHALLENGE=$(challenge)
for i in 2 3; do
	basic_from 127.0.0.2 "$L" tallock "wrong-$PW"
done
expect_eq "delay: the third wrong password answers 401" 401 "$STATUS"
basic_from 127.0.0.2 "$L" tallock "$PW"
expect_eq "delay: after 3 failures the pair's correct password is refused unchecked (429)" 429 "$STATUS"
expect_eq "delay: the answer says when to retry" 60 "$(hdr Retry-After)"
expect_eq "delay: in authd's error format" TOOMANYREQUESTS "$(jq -r '.errors[0].code' "$BODY")"
expect_eq "delay: recorded for the pair in login_failures" t \
	"$(auth_sql "SELECT locked_until > now() FROM login_failures WHERE key = 'pair:127.0.0.2 tallock'")"
expect_eq "delay: no account-wide key" 0 \
	"$(auth_sql "SELECT count(*) FROM login_failures WHERE key LIKE 'user:tallock%'")"
basic_from 127.0.0.3 "$L" tallock "$PW"
expect_eq "delay: the same account from another address works (200)" 200 "$STATUS"
basic_from 127.0.0.2 "$AUTHD" tallock "$PW"
expect_eq "delay: the other authd node delays the pair too" 429 "$STATUS"
token_post_lock() {
	req POST "$L/token" --interface 127.0.0.2 --data-urlencode grant_type=password \
		--data-urlencode username=tallock --data-urlencode "password=$PW" \
		--data-urlencode "service=$AUTH_SERVICE" --data-urlencode client_id=t
}
token_post_lock
expect_eq "delay: the password grant is delayed as well" 429 "$STATUS"
basic_from 127.0.0.2 "$L" tallock "$LPAT"
expect_eq "delay: the account's access token still works from the delayed address" 200 "$STATUS"

for i in 1 2 3 4 5; do
	basic_from 127.0.0.5 "$L" "talghost$i" "$PW"
done
basic_from 127.0.0.5 "$L" tallock2 "$PW"
expect_eq "delay per address: after 5 failures from one address, a good password login from it is refused (429)" 429 "$STATUS"
basic_from 127.0.0.5 "$L" tallock "$LPAT"
expect_eq "delay per address: an access token from that address still works" 200 "$STATUS"
basic_from 127.0.0.6 "$L" tallock2 "$PW"
expect_eq "delay per address: the same account from another address works" 200 "$STATUS"
LOCK_KEYS=("pair:127.0.0.2 tallock" "pair:127.0.0.3 tallock" "pair:127.0.0.5 tallock2"
	"pair:127.0.0.6 tallock2" "pair:127.0.0.5 talghost1" "pair:127.0.0.5 talghost2"
	"pair:127.0.0.5 talghost3" "pair:127.0.0.5 talghost4" "pair:127.0.0.5 talghost5"
	addr:127.0.0.2 addr:127.0.0.3 addr:127.0.0.4 addr:127.0.0.5 addr:127.0.0.6)
forget_failures "${LOCK_KEYS[@]}"
basic_from 127.0.0.2 "$L" tallock "$PW"
expect_eq "delay: lifted once its row is gone" 200 "$STATUS"

# ---- unknown user and wrong password look alike -----------------------------
auth_user taltime "$PW"
# Warm-up: worker threads open their database connections on first use.
for i in 1 2 3; do
	basic_from 127.0.0.7 "$L" taltime "$PW"
done
t_wrong=0 t_unknown=0 same=1
for i in 1 2 3 4 5 6 7 8; do
	t=$(curl -s -o "$W/w.body" -D "$W/w.hdr" -w '%{http_code} %{time_total}' --interface 127.0.0.7 \
		-u "taltime:wrong-$PW-$i" "$L/token?service=$AUTH_SERVICE")
	sw=${t%% *} t_wrong=$(awk -v a="$t_wrong" -v b="${t##* }" 'BEGIN { print a + b }')
	t=$(curl -s -o "$W/u.body" -D "$W/u.hdr" -w '%{http_code} %{time_total}' --interface 127.0.0.7 \
		-u "talnobody$i:wrong-$PW-$i" "$L/token?service=$AUTH_SERVICE")
	su=${t%% *} t_unknown=$(awk -v a="$t_unknown" -v b="${t##* }" 'BEGIN { print a + b }')
	if [ "$sw" != "$su" ] || ! cmp -s "$W/w.body" "$W/u.body" ||
		[ "$(grep -i '^www-authenticate' "$W/w.hdr")" != "$(grep -i '^www-authenticate' "$W/u.hdr")" ]; then
		same=0
	fi
	# Below the thresholds: this part is about hashing, not delays.
	forget_failures addr:127.0.0.7 "pair:127.0.0.7 taltime" "pair:127.0.0.7 talnobody$i"
done
expect_eq "unknown user and wrong password: the same status (401)" 401 "$sw"
expect_eq "unknown user and wrong password: identical status, body and challenge (8 tries each)" 1 "$same"
ratio=$(awk -v u="$t_unknown" -v w="$t_wrong" 'BEGIN { printf "%.2f", (w > 0 ? u / w : 0) }')
check "unknown user takes at least half the time of a wrong password (ratio $ratio, means $(awk -v u="$t_unknown" -v w="$t_wrong" 'BEGIN { printf "%.3fs/%.3fs", u / 8, w / 8 }'))" \
	awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5 && r <= 2) }'
forget_failures addr:127.0.0.7 "pair:127.0.0.7 taltime"
authd_extra_stop
expect_eq "the extra authd exits 0 on SIGTERM" 0 "$?"
AUTHD_EXTRA_PID=

# ---- audit -------------------------------------------------------------------
auth_user talaudit "$PW"
mark=$(auth_sql "SELECT coalesce(max(id), 0) FROM audit_log")
req GET "$AUTHD/token?service=$AUTH_SERVICE" -u "talaudit:wrong-$PW"
req GET "$AUTHD/token?service=$AUTH_SERVICE&scope=repository:talaudit/x:pull,push,delete&scope=repository:taluser/img:push" \
	-u "talaudit:$PW"
audit() {
	auth_sql "SELECT count(*) FROM audit_log WHERE id > $mark AND $1"
}
expect_eq "audit: a failed login" 1 \
	"$(audit "actor = 'talaudit' AND action = 'login' AND NOT success AND client = '127.0.0.1'")"
expect_eq "audit: a successful login" 1 \
	"$(audit "actor = 'talaudit' AND action = 'login' AND success AND client = '127.0.0.1'")"
expect_eq "audit: the token with the access granted (and only that)" 1 \
	"$(audit "actor = 'talaudit' AND action = 'token' AND success AND target = '$AUTH_SERVICE'
		AND detail->'access' = '[{\"type\":\"repository\",\"name\":\"talaudit/x\",\"actions\":[\"pull\",\"push\",\"delete\"]}]'::jsonb")"
check "audit: no password in the audit log" \
	[ "$(audit "detail::text LIKE '%$PW%' OR target LIKE '%$PW%'")" = 0 ]
forget_failures "pair:127.0.0.1 talaudit" addr:127.0.0.1

# ---- changes to credentials take effect at once --------------------------------
# Verified passwords are cached (as an HMAC) for credential_cache_ttl: a
# new password, a disabled account or a revoked token must still count.
auth_user talchange "$PW"
CPAT=$(auth_token_new personal user:talchange)
login() {	# login USER PASS: GET /token, sets STATUS
	req GET "$AUTHD/token?service=$AUTH_SERVICE" -u "$1:$2"
}
login talchange "$PW"
login talchange "$PW"
expect_eq "cache: a password works (twice, so it is cached)" 200 "$STATUS"
auth_hash "new-$PW"
auth_sql "UPDATE users SET password_hash = '$AUTH_HASH' WHERE name = 'talchange'" >/dev/null
login talchange "$PW"
expect_eq "cache: after a password change the old password is refused" 401 "$STATUS"
login talchange "new-$PW"
expect_eq "cache: the new password works" 200 "$STATUS"
login talchange "$CPAT"
expect_eq "cache: the personal access token works" 200 "$STATUS"
auth_sql "UPDATE tokens SET revoked_at = now() WHERE user_id =
	(SELECT id FROM users WHERE name = 'talchange')" >/dev/null
login talchange "$CPAT"
expect_eq "cache: a revoked personal access token is refused at once" 401 "$STATUS"
auth_sql "UPDATE users SET disabled = true WHERE name = 'talchange'" >/dev/null
login talchange "new-$PW"
expect_eq "cache: a disabled account is refused at once, though its password is cached" 401 "$STATUS"
forget_failures "pair:127.0.0.1 talchange" addr:127.0.0.1

# ---- key rotation ------------------------------------------------------------
# registryd refetches the JWKS on an unknown kid, but at most every 5 s:
# the JWKS was last fetched when node 4 started or when some earlier test
# showed it an unknown kid, and nothing in this file does before here. So
# 5.5 s into this file, the first new token is bound to trigger a fetch.
elapsed=$(awk -v a="$FILE_START" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
awk -v e="$elapsed" 'BEGIN { exit !(e < 5.5) }' && sleep "$(awk -v e="$elapsed" 'BEGIN { print 5.5 - e }')"
OLD=$(token_for taluser "$PW" "repository:taluser/img:pull")
OLD_KID=$(jwt_header "$OLD" | jq -r .kid)
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$W/new-key.pem" 2>/dev/null

# The loop: a fresh token and a pull with it, and a pull with the token
# from before the rotation, until $W/stop appears.
rm -f "$W/stop"
(
	while [ ! -e "$W/stop" ]; do
		t=$(curl -s -G "$AUTHD/token" -u "taluser:$PW" --data-urlencode "service=$AUTH_SERVICE" \
			--data-urlencode "scope=repository:taluser/img:pull" | jq -r '.token // empty')
		kid=$(jwt_header "$t" | jq -r '.kid // "none"' 2>/dev/null)
		s=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" \
			-H "Accept: $MT_OCI_MANIFEST" "$REGA/v2/taluser/img/manifests/1")
		echo "fresh $s ${kid:-none}"
		s=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OLD" \
			-H "Accept: $MT_OCI_MANIFEST" "$REGA/v2/taluser/img/manifests/1")
		echo "old $s $OLD_KID"
	done
) >"$W/loop.log" 2>&1 &
LOOP=$!
sleep 0.5
sed -i "s#^signing_keys = .*#signing_keys = $AUTH_KEY,$W/new-key.pem#" "$CONF"
kill -HUP "$(node_pid 3)"
for ((i = 0; i < 50; i++)); do
	[ "$(curl -s "$AUTHD/jwks" | jq '.keys | length')" = 2 ] && break
	sleep 0.1
done
# Until the loop has pulled a few times with tokens of the new key.
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c "^fresh 200 " "$W/loop.log" | head -1)" -gt 0 ] &&
		[ "$(awk -v k="$OLD_KID" '$1 == "fresh" && $3 != k' "$W/loop.log" | wc -l)" -ge 3 ] && break
	sleep 0.1
done
touch "$W/stop"
wait "$LOOP"
LOOP=
curl -sS "$AUTHD/jwks" -o "$W/jwks.json"
expect_eq "rotation: the JWKS publishes both keys" 2 "$(jq '.keys | length' "$W/jwks.json")"
NEW=$(token_for taluser "$PW" "repository:taluser/img:pull")
NEW_KID=$(jwt_header "$NEW" | jq -r .kid)
check "rotation: new tokens carry the new key's kid" test -n "$NEW_KID" -a "$NEW_KID" != "$OLD_KID"
check "rotation: the new kid is in the JWKS" jq_ok --arg k "$NEW_KID" 'any(.keys[]; .kid == $k)' "$W/jwks.json"
check "rotation: the loop ran before and after the switch" \
	bash -c "grep -q '^fresh 200 $OLD_KID\$' '$W/loop.log' && grep -q '^fresh 200 $NEW_KID\$' '$W/loop.log'"
expect_eq "rotation: no request of the loop failed ($(wc -l <"$W/loop.log") requests)" "" \
	"$(grep -v ' 200 ' "$W/loop.log" | sort | uniq -c | tr '\n' ';')"
pull() {
	req GET "$REGA/v2/taluser/img/manifests/1" -H "Authorization: Bearer $1" -H "Accept: $MT_OCI_MANIFEST"
}
pull "$OLD"
expect_eq "rotation: a token from before the rotation still pulls" 200 "$STATUS"
pull "$NEW"
expect_eq "rotation: a token signed with the new key pulls" 200 "$STATUS"
# A second rotation soon after the first: registryd fetched the JWKS
# when it first saw the new kid, and a token with a kid nobody knows (which
# anyone can send, every 5 s) keeps it from fetching again. Tokens of the
# next key must not be refused meanwhile.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$W/new-key2.pem" 2>/dev/null
pull "$(jwt_make "$W/new-key2.pem" '{"typ":"JWT","alg":"ES256","kid":"TALX:TALX:TALX:TALX:TALX:TALX:TALX:TALX:TALX:TALX:TALX:TALX"}' \
	"$(jwt_claims "$NEW")")"
sed -i "s#^signing_keys = .*#signing_keys = $AUTH_KEY,$W/new-key.pem,$W/new-key2.pem#" "$CONF"
kill -HUP "$(node_pid 3)"
for ((i = 0; i < 50; i++)); do
	[ "$(curl -s "$AUTHD/jwks" | jq '.keys | length')" = 3 ] && break
	sleep 0.1
done
NEW2=$(token_for taluser "$PW" "repository:taluser/img:pull")
pull "$NEW2"
first=$STATUS
[ "$first" = 200 ] || { sleep 5.2; pull "$NEW2"; }
expect_eq "rotation: right after an unknown-kid token, a token of the next new key pulls" 200 "$first"
expect_eq "rotation: a token of the next new key pulls (at the latest 5 s later)" 200 "$STATUS"
# Put node 3 back as it was for the other tests.
cp "$W/conf.orig" "$CONF"
kill -HUP "$(node_pid 3)"
for ((i = 0; i < 50; i++)); do
	[ "$(curl -s "$AUTHD/jwks" | jq '.keys | length')" = 1 ] && break
	sleep 0.1
done
expect_eq "rotation: after reverting, authd signs with the first key again" "$OLD_KID" \
	"$(jwt_header "$(token_for taluser "$PW" "repository:taluser/img:pull")" | jq -r .kid)"
