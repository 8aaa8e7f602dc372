#!/bin/bash
# Authentication under attack (issue 9), each fix attacked the way an
# attacker would, on extra authd nodes sharing the run's database:
#  1. no oracle while locked: an account an administrator locked answers a
#     right and a wrong password alike (timing medians), and nothing it
#     verified while locked is cached;
#  2. lockouts cannot be aimed: a flood of wrong passwords from one
#     address against an administrator leaves that administrator working
#     from another address, and access and service account tokens working
#     from the flooding address itself;
#  3. hashing is no lever: 64 concurrent wrong-password clients (every
#     one hashed: thresholds out of reach) while a client with an access
#     token and one with a cached password measure their p50; the flood is
#     partly shed with 503 and Retry-After;
#  4. access tokens obey their owner: a personal access token cannot mint
#     or revoke tokens or change the password or email; a refresh token
#     from a token login expires with it and dies with it; a password
#     change revokes refresh tokens (and access tokens when asked, also
#     by berthctl); an administrator's lock stops the account's tokens
#     too, and the unlock brings them back.
# Timings are medians of several tries with generous ratios: the machine
# is shared. Names start with "tas"; rows in login_failures are forgotten.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
AUTHD_EXTRA_PID=
cleanup() {
	[ -z "$AUTHD_EXTRA_PID" ] || kill "$AUTHD_EXTRA_PID" 2>/dev/null
	auth_sql "DELETE FROM login_failures WHERE key LIKE 'pair:% tas%'
		OR key LIKE 'addr:127.0.0.%'" >/dev/null 2>&1
}
trap cleanup EXIT
trap "exit 143" TERM
PW=tas-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
S=$AUTH_SERVICE

# median: the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0;
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# timed URL ARGS...: prints "status seconds" of one GET /token.
timed() {
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$@" "$url/token?service=$S"
}

# ratio_check NAME A B LO HI: ok when LO <= A / B <= HI.
ratio_check() {
	local r
	r=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	check "$1 (ratio $r: ${2}s / ${3}s)" awk -v r="$r" -v lo="$4" -v hi="$5" \
		'BEGIN { exit !(r >= lo && r <= hi) }'
}

forget() {
	auth_sql "DELETE FROM login_failures WHERE key LIKE 'pair:% tas%'
		OR key LIKE 'addr:127.0.0.%'" >/dev/null
}

if auth_user taslock "$PW" && auth_user tasfast "$PW" && auth_user tasadmin "$PW" admin &&
	auth_org tasorg && auth_sa tasorg ci && auth_grant tasorg - 1 sa:tasorg+ci &&
	for i in 1 2 3 4 5; do auth_user "tascache$i" "$PW" || exit 1; done &&
	ADMIN_PAT=$(auth_token_new personal user:tasadmin) &&
	SAT=$(auth_token_new service sa:tasorg+ci); then
	ok "fixtures: users, an administrator, a service account, tokens"
else
	not_ok "fixtures" "setup failed"
	exit 0
fi
forget

# ---- 1. no oracle while locked ------------------------------------------------
# High thresholds: this part is about hashing and the cache, not delays.
if ! authd_extra_start "$W/a1" AUTHD_LOCKOUT_THRESHOLD=1000 \
	AUTHD_LOCKOUT_ADDRESS_THRESHOLD=100000; then
	not_ok "an extra authd with thresholds out of reach starts" "$(tail -c 300 "$W/a1/log")"
	exit 0
fi
X=$AUTHD_EXTRA
# tasfast's password is cached: each round compares the locked
# account's right and wrong passwords with a cache hit of the same moment.
for i in 1 2 3; do
	timed "$X" -u "taslock:$PW" >/dev/null	# warm-up
	timed "$X" -u "tasfast:$PW" >/dev/null
done
auth_sql "UPDATE users SET locked_until = 'infinity' WHERE name = 'taslock'" >/dev/null
: >"$W/right" ; : >"$W/wrong"; : >"$W/cached"
for i in 1 2 3 4 5 6 7 8 9; do
	timed "$X" -u "taslock:$PW" >>"$W/right"
	timed "$X" -u "taslock:wrong-$PW" >>"$W/wrong"
	timed "$X" -u "tasfast:$PW" >>"$W/cached"
done
expect_eq "locked oracle: the cached password of another account works meanwhile (9 x 200)" 9 \
	"$(grep -c '^200 ' "$W/cached")"
expect_eq "locked oracle: the right password is refused (9 x 401)" 9 "$(grep -c '^401 ' "$W/right")"
expect_eq "locked oracle: so is a wrong one (9 x 401)" 9 "$(grep -c '^401 ' "$W/wrong")"
m_cached=$(awk '{ print $2 }' "$W/cached" | median)
m_right=$(awk '{ print $2 }' "$W/right" | median)
m_wrong=$(awk '{ print $2 }' "$W/wrong" | median)
echo "# locked oracle medians: cached $m_cached s, locked right $m_right s, locked wrong $m_wrong s"
echo "# locked right: $(awk '{ print $2 }' "$W/right" | tr '\n' ' ')/ wrong: $(awk '{ print $2 }' "$W/wrong" | tr '\n' ' ')"
ratio_check "locked oracle: a right password takes as long as a wrong one" "$m_right" "$m_wrong" 0.5 2
ratio_check "locked oracle: a right password is no faster than a hash (no cache hit)" "$m_right" "$m_cached" 2 100000
# Nothing verified while locked is cached: five accounts, each locked,
# tried with its right password three times, unlocked; the first login
# after must hash (slow), the second hits the cache (fast).
: >"$W/first" ; : >"$W/second"
for i in 1 2 3 4 5; do
	auth_sql "UPDATE users SET locked_until = 'infinity' WHERE name = 'tascache$i'" >/dev/null
	for k in 1 2 3; do timed "$X" -u "tascache$i:$PW" >/dev/null; done
	auth_sql "UPDATE users SET locked_until = NULL WHERE name = 'tascache$i'" >/dev/null
	timed "$X" -u "tascache$i:$PW" >>"$W/first"
	timed "$X" -u "tascache$i:$PW" >>"$W/second"
done
expect_eq "locked cache: after the unlock the password works (5 x 2)" 10 \
	"$(cat "$W/first" "$W/second" | grep -c '^200 ')"
m_first=$(awk '{ print $2 }' "$W/first" | median)
m_second=$(awk '{ print $2 }' "$W/second" | median)
echo "# locked cache medians: first login after the unlock $m_first s, second $m_second s"
ratio_check "locked cache: the first login after an unlock hashes (nothing was cached while locked)" \
	"$m_first" "$m_second" 2.5 100000
authd_extra_stop
expect_eq "the first extra authd exits 0 on SIGTERM" 0 "$?"
AUTHD_EXTRA_PID=
auth_sql "UPDATE users SET locked_until = NULL WHERE name = 'taslock'" >/dev/null
forget

# ---- 2. a flood cannot aim a lockout -------------------------------------------
# Default thresholds. 64 parallel connections send 2560 wrong passwords
# for the administrator from 127.0.0.2; meanwhile the administrator signs
# in from 127.0.0.3 (retrying a 503 after its Retry-After, as a client
# would), and an access token and a service account token work from
# 127.0.0.2 itself.
if ! authd_extra_start "$W/a2"; then
	not_ok "an extra authd with the default thresholds starts" "$(tail -c 300 "$W/a2/log")"
	exit 0
fi
X=$AUTHD_EXTRA
: >"$W/urls"
for ((i = 0; i < 2560; i++)); do
	printf 'url = "%s"\noutput = "/dev/null"\n' "$X/token?service=$S&n=$i" >>"$W/urls"
done
mark=$(auth_sql "SELECT coalesce(max(id), 0) FROM audit_log")
curl -s -Z --parallel-max 64 --interface 127.0.0.2 -u "tasadmin:wrong-$PW" -K "$W/urls" \
	-w '%{http_code} %header{retry-after}\n' >"$W/flood" 2>/dev/null &
FLOOD=$!
: >"$W/during"
# retrying URL ARGS...: timed, again after 1 s (at most twice) on a 503.
retrying() {
	local t k
	for k in 1 2 3; do
		t=$(timed "$@")
		[ "${t%% *}" = 503 ] || break
		sleep 1
	done
	echo "$t"
}
for i in 1 2 3 4 5; do
	retrying "$X" --interface 127.0.0.3 -u "tasadmin:$PW" | sed 's/^/password /' >>"$W/during"
	timed "$X" --interface 127.0.0.2 -u "tasadmin:$ADMIN_PAT" | sed 's/^/pat /' >>"$W/during"
	timed "$X" --interface 127.0.0.2 -u "tasorg+ci:$SAT" | sed 's/^/sa /' >>"$W/during"
done
wait "$FLOOD"
expect_eq "flood: all 2560 requests were answered" 2560 "$(wc -l <"$W/flood")"
echo "# flood answers: $(awk '{ print $1 }' "$W/flood" | sort | uniq -c | tr -s ' \n' ' ')"
expect_eq "flood: no flood request got a token" 0 "$(grep -c '^200' "$W/flood")"
n429=$(grep -c '^429 [0-9]' "$W/flood")
n503=$(grep -c '^503 1$' "$W/flood")
n401=$(grep -c '^401' "$W/flood")
# Until the pair's tenth failure is hashed, the queue sheds what it
# cannot hash; from then on the pair is refused unchecked.
check "flood: each answer was a hash (401), a shed (503, Retry-After: 1) or a delay (429 with Retry-After)" \
	test "$((n429 + n503 + n401))" = 2560
check "flood: at most a few dozen of the 2560 guesses were hashed ($n401)" test "$n401" -le 40
check "flood: refused unchecked once the pair was delayed ($n429 x 429)" test "$n429" -ge 1
expect_eq "flood: the administrator signed in from another address meanwhile (5 x 200)" 5 \
	"$(grep -c '^password 200 ' "$W/during")"
expect_eq "flood: the administrator's access token worked from the flooding address (5 x 200)" 5 \
	"$(grep -c '^pat 200 ' "$W/during")"
expect_eq "flood: a service account token worked from the flooding address (5 x 200)" 5 \
	"$(grep -c '^sa 200 ' "$W/during")"
timed "$X" --interface 127.0.0.2 -u "tasadmin:$PW" >"$W/after"
expect_eq "flood: the flooding pair itself is still delayed (the right password: 429)" 429 \
	"$(cut -d' ' -f1 "$W/after")"
expect_eq "flood: the delay is on the pair only: not on the account, nor on the other address" \
	"addr:127.0.0.2|false,pair:127.0.0.2 tasadmin|true" \
	"$(auth_sql "SELECT string_agg(key || '|' || coalesce(locked_until > now(), false), ','
		ORDER BY key) FROM login_failures WHERE key IN ('pair:127.0.0.2 tasadmin',
		'addr:127.0.0.2', 'pair:127.0.0.3 tasadmin', 'user:tasadmin')")"
: >"$W/urls2"
for ((i = 0; i < 640; i++)); do
	printf 'url = "%s"\noutput = "/dev/null"\n' "$X/token?service=$S&m=$i" >>"$W/urls2"
done
curl -s -Z --parallel-max 64 --interface 127.0.0.2 -u "tasadmin:wrong-$PW" -K "$W/urls2" \
	-w '%{http_code} %header{retry-after}\n' >"$W/flood2" 2>/dev/null
echo "# second flood answers: $(awk '{ print $1 }' "$W/flood2" | sort | uniq -c | tr -s ' \n' ' ')"
expect_eq "flood: a second flood at the delayed pair is refused unchecked, all of it (640 x 429 with Retry-After)" \
	640 "$(grep -c '^429 [0-9]' "$W/flood2")"
check "flood: far fewer failures were counted (hashed) than sent ($(auth_sql "SELECT failures FROM login_failures WHERE key = 'pair:127.0.0.2 tasadmin'"))" \
	test "$(auth_sql "SELECT failures FROM login_failures WHERE key = 'pair:127.0.0.2 tasadmin'")" -lt 140
check "flood: the delays started are audited (login.throttle)" \
	test "$(auth_sql "SELECT count(*) FROM audit_log WHERE id > $mark AND action = 'login.throttle'
		AND target = 'pair:127.0.0.2 tasadmin'")" -ge 1
authd_extra_stop
expect_eq "the second extra authd exits 0 on SIGTERM" 0 "$?"
AUTHD_EXTRA_PID=
forget

# ---- 3. hashing is no lever --------------------------------------------------
# Thresholds out of reach, so every flood request wants a hash: 64
# parallel connections of wrong passwords, batches of 4000 until told to
# stop (at most 20 s). Meanwhile a client with an access token and one with
# a cached password each measure 21 requests; their p50 must stay low.
if ! authd_extra_start "$W/a3" AUTHD_LOCKOUT_THRESHOLD=1000 \
	AUTHD_LOCKOUT_ADDRESS_THRESHOLD=100000; then
	not_ok "an extra authd for the hash flood starts" "$(tail -c 300 "$W/a3/log")"
	exit 0
fi
X=$AUTHD_EXTRA
auth_user tasflood "$PW"
CPAT=$(auth_token_new personal user:taslock)
# p50 NAME ARGS...: 21 GET /token with ARGS; prints the median seconds,
# and the statuses in $W/NAME.
p50() {
	local name=$1 i
	shift
	: >"$W/$name"
	for ((i = 0; i < 21; i++)); do
		timed "$X" "$@" >>"$W/$name"
	done
	awk '{ print $2 }' "$W/$name" | median
}
for i in 1 2 3; do timed "$X" -u "taslock:$PW" >/dev/null; done	# cached from now on
base_pat=$(p50 base-pat -u "taslock:$CPAT")
base_pw=$(p50 base-pw -u "taslock:$PW")
: >"$W/urls3"
# Enough for the whole measurement even when the queue sheds them fast
# (curl starts over until the stop file or the timeout).
for ((i = 0; i < 20000; i++)); do
	printf 'url = "%s"\noutput = "/dev/null"\n' "$X/token?service=$S&f=$i" >>"$W/urls3"
done
rm -f "$W/stop"
: >"$W/flood3"
timeout 20 bash -c "while [ ! -e '$W/stop' ]; do
	curl -s -Z --parallel-max 64 --interface 127.0.0.4 -u 'tasflood:wrong-$PW' -K '$W/urls3' \
		-w '%{http_code} %header{retry-after}\n' 2>/dev/null
done" >>"$W/flood3" &
FLOOD=$!
sleep 1	# the flood at full strength
n0=$(grep -c 'client=127.0.0.4 ' "$W/a3/log") t0=$(date +%s.%N)
flood_pat=$(p50 flood-pat -u "taslock:$CPAT")
flood_pw=$(p50 flood-pw -u "taslock:$PW")
n1=$(grep -c 'client=127.0.0.4 ' "$W/a3/log") t1=$(date +%s.%N)
touch "$W/stop"
wait "$FLOOD"
echo "# hash flood: $((n1 - n0)) flood answers during the $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s of measurement"
check "hash flood: the flood went on at strength during the measurement (authd's log: $n0 flood requests before, $n1 after)" \
	test "$((n1 - n0))" -ge 200
echo "# hash flood: p50 access token ${base_pat}s alone, ${flood_pat}s under the flood;" \
	"cached password ${base_pw}s alone, ${flood_pw}s under the flood"
echo "# hash flood answers: $(awk '{ print $1 }' "$W/flood3" | sort | uniq -c | tr -s ' \n' ' ')"
expect_eq "hash flood: every access token request succeeded (21 x 200)" 21 "$(grep -c '^200 ' "$W/flood-pat")"
expect_eq "hash flood: every cached password request succeeded (21 x 200)" 21 "$(grep -c '^200 ' "$W/flood-pw")"
check "hash flood: the access token's p50 stays under 250 ms (${flood_pat}s)" \
	awk -v t="$flood_pat" 'BEGIN { exit !(t < 0.25) }'
check "hash flood: the cached password's p50 stays under 250 ms (${flood_pw}s)" \
	awk -v t="$flood_pw" 'BEGIN { exit !(t < 0.25) }'
n503=$(grep -c '^503 1$' "$W/flood3")
check "hash flood: the queue shed part of the flood with 503 and Retry-After: 1 ($n503)" test "$n503" -ge 1
expect_eq "hash flood: no flood request was answered otherwise than 401 or 503" "" \
	"$(awk '$1 != 401 && $1 != 503 { print $1 }' "$W/flood3" | sort -u | tr '\n' ' ')"
curl -s "$X/metrics" >"$W/metrics"
check "hash flood: berth_authd_password_hash_shed_total counts the sheds" \
	awk '$1 == "berth_authd_password_hash_shed_total" && $2 > 0 { f = 1 } END { exit !f }' "$W/metrics"
authd_extra_stop
expect_eq "the third extra authd exits 0 on SIGTERM" 0 "$?"
AUTHD_EXTRA_PID=
forget

# ---- 4. access tokens obey their owner -----------------------------------------
A=$AUTHD/api/v1
# api CREDS METHOD PATH [JSON]: the management API on node 3.
api() {
	local -a args=(-u "$1" -H 'Content-Type: application/json')
	[ -z "${4:-}" ] || args+=(--data-binary "$4")
	req "$2" "$A$3" "${args[@]}"
}
auth_user tasuser "$PW"
UPAT=$(auth_token_new personal user:tasuser "now() + interval '10 minutes'")
UPAT_ID=$(auth_sql "SELECT id FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = 'tasuser')")
ntok() {
	auth_sql "SELECT count(*) FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = '$1')"
}
hash0=$(auth_sql "SELECT password_hash FROM users WHERE name = 'tasuser'")
api "tasuser:$UPAT" POST /users/tasuser/tokens '{"name":"minted"}'
expect_eq "a PAT cannot create a token: 403" 403 "$STATUS"
expect_eq "... and none was made" 1 "$(ntok tasuser)"
api "tasuser:$UPAT" DELETE "/users/tasuser/tokens/$UPAT_ID"
expect_eq "a PAT cannot revoke a token: 403" 403 "$STATUS"
expect_eq "... and it is not revoked" t \
	"$(auth_sql "SELECT revoked_at IS NULL FROM tokens WHERE id = '$UPAT_ID'")"
api "tasuser:$UPAT" PATCH /users/tasuser "{\"password\":\"new-$PW\",\"current_password\":\"$PW\"}"
expect_eq "a PAT cannot change its owner's password: 403" 403 "$STATUS"
expect_eq "... and the password is unchanged" "$hash0" \
	"$(auth_sql "SELECT password_hash FROM users WHERE name = 'tasuser'")"
api "tasuser:$UPAT" PATCH /users/tasuser '{"email":"evil@example.com"}'
expect_eq "a PAT cannot change its owner's email: 403" 403 "$STATUS"
expect_eq "... and the email is unchanged" "" "$(auth_sql "SELECT email FROM users WHERE name = 'tasuser'")"
api "tasuser:$UPAT" PATCH /users/tasuser '{"display_name":"Tas User"}'
expect_eq "a PAT may still change the display name: 200" 200 "$STATUS"
api "tasuser:$UPAT" GET /users/tasuser/tokens
expect_eq "a PAT may still list the tokens: 200" 200 "$STATUS"
api "tasadmin:$ADMIN_PAT" POST /orgs/tasorg/service-accounts/ci/tokens '{"name":"minted"}'
expect_eq "an administrator's PAT cannot mint a service account token: 403" 403 "$STATUS"
api "tasadmin:$ADMIN_PAT" POST /users/tasuser/tokens '{"name":"minted"}'
expect_eq "an administrator's PAT cannot mint another user's token: 403" 403 "$STATUS"
api "tasadmin:$ADMIN_PAT" PATCH /users/tasuser "{\"password\":\"new-$PW\"}"
expect_eq "an administrator's PAT cannot set a password: 403" 403 "$STATUS"
expect_eq "... and nothing was made or changed" "1|$hash0" \
	"$(auth_sql "SELECT (SELECT count(*) FROM tokens WHERE user_id = u.id) || '|' || password_hash
		FROM users u WHERE name = 'tasuser'")"
LPAT=$(auth_token_new personal user:tasuser)
auth_sql "UPDATE tokens SET read_only = true WHERE secret_hash = sha256(decode('${LPAT:38}', 'hex'))" >/dev/null
api "tasuser:$LPAT" POST /users/tasuser/tokens '{"name":"minted"}'
expect_eq "a limited PAT cannot create a token either: 403" 403 "$STATUS"
api "tasuser:$PW" POST /users/tasuser/tokens '{"name":"by-password"}'
expect_eq "the password still creates tokens: 201" 201 "$STATUS"

# A refresh token from a PAT login: never past the PAT, dead with it.
req GET "$AUTHD/token?service=$S&offline_token=true" -u "tasuser:$UPAT"
R=$(jq -r '.refresh_token // empty' "$BODY")
check "a PAT login with offline_token=true gets a refresh token" test -n "$R"
RID=$(printf '%s' "${R:6:32}" | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')
expect_eq "the refresh token expires no later than the PAT (10 minutes, not refresh_ttl)" "t|t" \
	"$(auth_sql "SELECT (r.expires_at <= p.expires_at) || '|' || (r.parent_id = p.id)
		FROM tokens r, tokens p WHERE r.id = '$RID' AND p.id = '$UPAT_ID'" | sed 's/true/t/g')"
refresh() {
	req POST "$AUTHD/token" --data-urlencode grant_type=refresh_token \
		--data-urlencode "refresh_token=$1" --data-urlencode "service=$S" \
		--data-urlencode client_id=tas
}
refresh "$R"
expect_eq "the refresh token works while the PAT lives" 200 "$STATUS"
auth_sql "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = '$UPAT_ID'" >/dev/null
refresh "$R"
expect_eq "once the PAT has expired, its refresh token is refused" 401 "$STATUS"
UPAT2=$(auth_token_new personal user:tasuser)
UPAT2_ID=$(auth_sql "SELECT id FROM tokens WHERE secret_hash = sha256(decode('${UPAT2:38}', 'hex'))")
req GET "$AUTHD/token?service=$S&offline_token=true" -u "tasuser:$UPAT2"
R2=$(jq -r '.refresh_token // empty' "$BODY")
api "tasuser:$PW" DELETE "/users/tasuser/tokens/$UPAT2_ID"
expect_eq "the owner revokes the PAT with the password: 204" 204 "$STATUS"
refresh "$R2"
expect_eq "a revoked PAT's refresh token is refused" 401 "$STATUS"

# A password change revokes the refresh tokens; the access tokens too
# only when asked.
req GET "$AUTHD/token?service=$S&offline_token=true" -u "tasuser:$PW"
R3=$(jq -r '.refresh_token // empty' "$BODY")
UPAT3=$(auth_token_new personal user:tasuser)
api "tasuser:$PW" PATCH /users/tasuser '{"revoke_tokens":true}'
expect_eq "revoke_tokens without a password: 400" 400 "$STATUS"
api "tasuser:$PW" PATCH /users/tasuser "{\"password\":\"new-$PW\",\"current_password\":\"$PW\"}"
expect_eq "the owner changes the password: 200" 200 "$STATUS"
refresh "$R3"
expect_eq "the password change revoked the refresh token" 401 "$STATUS"
expect_eq "... every refresh token of the user" 0 \
	"$(auth_sql "SELECT count(*) FROM tokens WHERE kind = 'refresh' AND revoked_at IS NULL
		AND user_id = (SELECT id FROM users WHERE name = 'tasuser')")"
req GET "$AUTHD/token?service=$S" -u "tasuser:$UPAT3"
expect_eq "the access token survives a plain password change" 200 "$STATUS"
expect_eq "the change is audited with what it revoked (the three refresh tokens left)" '{"access": 0, "refresh": 3}' \
	"$(auth_sql "SELECT detail->'tokens_revoked' FROM audit_log WHERE action = 'user.update'
		AND target = 'tasuser' ORDER BY id DESC LIMIT 1")"
api "tasuser:new-$PW" PATCH /users/tasuser \
	"{\"password\":\"$PW\",\"current_password\":\"new-$PW\",\"revoke_tokens\":true}"
expect_eq "a password change with revoke_tokens: 200" 200 "$STATUS"
req GET "$AUTHD/token?service=$S" -u "tasuser:$UPAT3"
expect_eq "... revoked the access tokens too" 401 "$STATUS"
expect_eq "... all of them" 0 \
	"$(auth_sql "SELECT count(*) FROM tokens WHERE revoked_at IS NULL
		AND user_id = (SELECT id FROM users WHERE name = 'tasuser')")"

# berthctl user password --revoke-tokens, by the user themself.
UPAT4=$(auth_token_new personal user:tasuser)
BERTH_URL=$AUTHD BERTH_USER=tasuser BERTH_PASSWORD=$PW "$BUILD/berthctl" user password tasuser \
	--new-password-stdin --revoke-tokens <<<"ctl-$PW" >"$W/ctl.out" 2>&1
expect_eq "berthctl user password --revoke-tokens: exit 0" 0 "$?"
req GET "$AUTHD/token?service=$S" -u "tasuser:$UPAT4"
expect_eq "... revoked the access token" 401 "$STATUS"
req GET "$AUTHD/token?service=$S" -u "tasuser:ctl-$PW"
expect_eq "... and the new password works" 200 "$STATUS"

# An administrator's lock stops every login of the account: its access
# token and its refresh token too; the service account of its
# organization is no part of it.
UPAT5=$(auth_token_new personal user:tasuser)
req GET "$AUTHD/token?service=$S&offline_token=true" -u "tasuser:ctl-$PW"
R5=$(jq -r '.refresh_token // empty' "$BODY")
api "tasadmin:$PW" POST /users/tasuser/lock '{"reason":"stolen laptop"}'
expect_eq "an administrator locks tasuser" 200 "$STATUS"
req GET "$AUTHD/token?service=$S" -u "tasuser:$UPAT5"
expect_eq "locked: the access token is refused" 401 "$STATUS"
refresh "$R5"
expect_eq "locked: the refresh token is refused" 401 "$STATUS"
req GET "$AUTHD/token?service=$S" -u "tasuser:ctl-$PW"
expect_eq "locked: the password is refused" 401 "$STATUS"
req GET "$AUTHD/token?service=$S" -u "tasorg+ci:$SAT"
expect_eq "locked: a service account token works" 200 "$STATUS"
api "tasadmin:$PW" POST /users/tasuser/unlock
expect_eq "an administrator unlocks tasuser" 200 "$STATUS"
req GET "$AUTHD/token?service=$S" -u "tasuser:$UPAT5"
expect_eq "unlocked: the access token works again" 200 "$STATUS"
refresh "$R5"
expect_eq "unlocked: the refresh token works again" 200 "$STATUS"
forget
