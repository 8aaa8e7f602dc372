#!/bin/bash
# The identity lifecycle, through the management API, berthctl, /token and
# registryd node 4, with the tables checked after each step: locking and
# unlocking an account, the bootstrap administrator's password policy,
# access tokens limited to pulls or to repositories, tokens a disable ends for good
# unless the re-enable revives them, user and organization deletion that
# leaves the next owner of the name nothing, and repository deletion.
# Names start with "tid"; the database is shared. Refused logins count
# towards the client address's lockout, so the file forgets them at its end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/auth.sh"
. "$(dirname "$0")/api.sh"

if [ -z "${AUTHD:-}" ] || [ -z "${AUTHD_ADMIN_PASSWORD:-}" ] ||
	[ -z "${REGA:-}" ]; then
	not_ok "harness exports AUTHD, AUTHD_ADMIN_PASSWORD and REGA" "unset"
	exit 0
fi
A=$AUTHD/api/v1
CTL=$BUILD/berthctl
OUT=$SCRATCH/out
ERR=$SCRATCH/err
W=$SCRATCH/w
mkdir -p "$W"
ADMIN="admin:$AUTHD_ADMIN_PASSWORD"
PW=tid-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
ALICE="tid-alice:$PW"
BOB="tid-bob:$PW"
EVE="tid-eve:$PW"
export BERTH_URL=$AUTHD
unset BERTH_USER BERTH_PASSWORD

# ctl USER PASSWORD ARGS...: berthctl as USER; RC, $OUT and $ERR.
ctl() {
	local user=$1 pw=$2
	shift 2
	BERTH_USER=$user BERTH_PASSWORD=$pw "$CTL" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
}

rc() {
	if [ "$RC" = "$2" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "exit $RC, want $2; stdout: $(head -c 200 "$OUT"); stderr: $(head -c 200 "$ERR")"
	return 1
}

# actions LOGIN SECRET SCOPE: the actions /token grants for SCOPE, sorted
# and comma-separated ("refused" when /token does not answer 200).
actions() {
	local tok
	tok=$(token_for "$1" "$2" "$3") || { echo refused; return; }
	jwt_claims "$tok" | jq -r '[.access[]?.actions[]] | sort | join(",")'
}

# pat CREDS USER JSON: creates a token for USER; prints its secret.
pat() {
	call "$1" POST "/users/$2/tokens" "$3"
	[ "$STATUS" = 201 ] || return 1
	jq -r .token "$BODY"
}

# pull_tag BASE REPO TAG [curl args]: GET the manifest.
pull_tag() {
	local base=$1 repo=$2 tag=$3
	shift 3
	req GET "$base/v2/$repo/manifests/$tag" -H "Accept: $MT_OCI_MANIFEST" "$@"
}

count() {
	auth_sql "$1"
}

# ---- fixtures ------------------------------------------------------------------
ok_fix=true
for u in tid-alice tid-bob tid-eve; do
	call "$ADMIN" POST /users "{\"name\":\"$u\",\"password\":\"$PW\"}"
	[ "$STATUS" = 201 ] || ok_fix=false
done
call "$ADMIN" POST /orgs '{"name":"tid-acme"}'
[ "$STATUS" = 201 ] || ok_fix=false
for r in tid-alice/app tid-alice/lib tid-alice/sub/x tid-acme/web; do
	d=$W/img-${r//\//-}
	image_make "$d" 1 200 && image_push "$REG" "$r" v1 "$d" || ok_fix=false
done
if $ok_fix; then
	ok "fixtures: users tid-alice, tid-bob, tid-eve, org tid-acme, four repositories"
else
	not_ok "fixtures" "setup failed (last status $STATUS)"
	exit 0
fi

# ---- 1. lock and unlock ---------------------------------------------------------
# A full lock is an administrator's decision (POST .../lock); unlock ends
# it and forgets the account's failed logins from every address.
lock_bob() {
	call "$ADMIN" POST /users/tid-bob/lock '{"reason":"tid test"}'
	auth_sql "INSERT INTO login_failures (key, failures, window_start,
		last_failure, locked_until) VALUES ('pair:203.0.113.9 tid-bob', 10, now(),
		now(), now() + interval '1 hour')
		ON CONFLICT (key) DO UPDATE SET failures = 10,
		locked_until = now() + interval '1 hour'" >/dev/null
}
lock_bob
expect_eq "an administrator locks tid-bob (until unlocked)" '[200,"tid-bob",true,null,"tid test"]' \
	"$(jq -c --argjson s "$STATUS" '[$s, .name, .locked, .until, .reason]' "$BODY")"
want "a locked account cannot sign in, even with its password" 401 "$BOB" GET /me
want "a plain user cannot unlock anyone: 403" 403 "$EVE" POST /users/tid-bob/unlock
want "a plain user cannot lock anyone: 403" 403 "$EVE" POST /users/tid-alice/lock
expect_eq "the refused unlock left the lock" t \
	"$(count "SELECT locked_until > now() FROM users WHERE name = 'tid-bob'")"
want "nor can the locked user themself (locked: 401)" 401 "$BOB" POST /users/tid-bob/unlock
want "an administrator cannot lock themself: 409" 409 "$ADMIN" POST /users/admin/lock
want "lock: a bad expires_in is refused" 400 "$ADMIN" POST /users/tid-eve/lock '{"expires_in":0}'
expect_eq "... and tid-eve is not locked" f \
	"$(count "SELECT coalesce(locked_until > now(), false) FROM users WHERE name = 'tid-eve'")"
want "an administrator unlocks tid-bob" 200 "$ADMIN" POST /users/tid-bob/unlock
expect_eq "unlock answers what it cleared (the refused logins counted too)" \
	'["tid-bob",true,true,12]' "$(jqb '[.name, .was_locked, .was_delayed, .failures]')"
expect_eq "the lock and the delay rows are gone" '|0' \
	"$(count "SELECT coalesce((SELECT locked_until::text FROM users WHERE name = 'tid-bob'), '') || '|' ||
		(SELECT count(*) FROM login_failures WHERE key LIKE 'pair:% tid-bob')")"
want "tid-bob signs in again" 200 "$BOB" GET /me
expect_eq "user.lock and user.unlock are audited" 'admin|true|user.lock,admin|true|user.unlock' \
	"$(count "SELECT string_agg(actor || '|' || success || '|' || action, ',' ORDER BY id) FROM
		(SELECT * FROM audit_log WHERE action IN ('user.lock', 'user.unlock') AND target = 'tid-bob'
		 ORDER BY id DESC LIMIT 2) x")"
want "unlocking an unknown user: 404" 404 "$ADMIN" POST /users/tid-nobody/unlock
want "locking an unknown user: 404" 404 "$ADMIN" POST /users/tid-nobody/lock
want "unlocking an account with no failures: 200" 200 "$ADMIN" POST /users/tid-eve/unlock
expect_eq "... and nothing was locked" false "$(jqb .was_locked)"
ctl admin "$AUTHD_ADMIN_PASSWORD" user lock tid-bob --reason "by berthctl" --expires-in 3600
rc "berthctl user lock" 0
expect_eq "berthctl user lock prints the lock" '[true,"by berthctl"]' "$(jq -c '[.locked, .reason]' "$OUT")"
expect_eq "berthctl user lock: for an hour" t \
	"$(count "SELECT locked_until BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes' FROM users WHERE name = 'tid-bob'")"
ctl admin "$AUTHD_ADMIN_PASSWORD" user unlock tid-bob
rc "berthctl user unlock" 0
expect_eq "berthctl user unlock prints the result" true "$(jq -c .was_locked "$OUT")"
expect_eq "berthctl user unlock cleared the lock" '' \
	"$(count "SELECT locked_until FROM users WHERE name = 'tid-bob'")"
lock_bob
ctl tid-eve "$PW" user unlock tid-bob
rc "berthctl user unlock as a plain user: exit 1" 1
ctl tid-eve "$PW" user lock tid-alice
rc "berthctl user lock as a plain user: exit 1" 1
call "$ADMIN" POST /users/tid-bob/unlock

# ---- 2. the bootstrap administrator's password ------------------------------------
boot() {
	BERTH_ADMIN_PASSWORD=$1 "$BUILD/authd" -c "$BERTH_RUN/node3/conf" \
		bootstrap-admin tid-boot >"$OUT" 2>"$ERR"
	RC=$?
}
boot short
rc "bootstrap-admin refuses a short password" 1
expect_match "... saying why" "password must be at least 8 characters" "$(cat "$ERR")"
boot "berth_0123456789abcdef"
rc "bootstrap-admin refuses a token-shaped password" 1
expect_match "... saying why" 'must not start with "berth_"' "$(cat "$ERR")"
boot "$(head -c 1025 /dev/zero | tr '\0' x)"
rc "bootstrap-admin refuses a password over 1024 characters" 1
expect_eq "no account was made" 0 "$(count "SELECT count(*) FROM users WHERE name = 'tid-boot'")"
call "$ADMIN" POST /users '{"name":"tid-short","password":"short"}'
expect_eq "the API refuses the same password with the same words" \
	'"password must be at least 8 characters"' "$(jqb '.errors[0].message')"
boot ""
rc "bootstrap-admin without BERTH_ADMIN_PASSWORD generates one" 0
GEN=$(sed -n 's/.* with password //p' "$OUT")
expect_match "the generated password has 24 characters" '^[A-Za-z0-9]{24}$' "$GEN"
want "the generated password signs in" 200 "tid-boot:$GEN" GET /me
expect_eq "... as an administrator" true "$(jqb .admin)"
auth_sql "DELETE FROM namespaces WHERE name = 'tid-boot'" >/dev/null

# ---- 3. limited access tokens ---------------------------------------------------
RO=$(pat "$ALICE" tid-alice '{"name":"ro","read_only":true}')
check "a read-only token is created" test -n "$RO"
expect_eq "its answer shows the limits" '[true,null]' "$(jqb '[.read_only, .repositories]')"
RO_ID=$(jq -r .id "$BODY")
LIM=$(pat "$ALICE" tid-alice '{"name":"lim","repositories":["tid-alice/app","tid-alice/sub/*"]}')
check "a repository-limited token is created" test -n "$LIM"
LIM_ID=$(jq -r .id "$BODY")
expect_eq "tokens table: read_only" 'true|' \
	"$(count "SELECT read_only || '|' || coalesce(repositories::text, '') FROM tokens WHERE id = '$RO_ID'")"
expect_eq "tokens table: repositories" 'false|{tid-alice/app,tid-alice/sub/*}' \
	"$(count "SELECT read_only || '|' || repositories::text FROM tokens WHERE id = '$LIM_ID'")"
want "the token list" 200 "$ALICE" GET /users/tid-alice/tokens
expect_eq "the list shows the limits" \
	'[["lim",false,["tid-alice/app","tid-alice/sub/*"]],["ro",true,null]]' \
	"$(jq -c '[.items[] | [.name, .read_only, .repositories]] | sort' "$BODY")"

expect_eq "password: pull and push on tid-alice/app" pull,push \
	"$(actions tid-alice "$PW" repository:tid-alice/app:pull,push)"
expect_eq "read-only token asking pull,push,delete gets pull" pull \
	"$(actions tid-alice "$RO" repository:tid-alice/app:pull,push,delete)"
expect_eq "read-only token asking push alone gets nothing" "" \
	"$(actions tid-alice "$RO" repository:tid-alice/app:push)"
expect_eq "read-only token keeps the catalog" '*' \
	"$(actions tid-alice "$RO" registry:catalog:*)"
expect_eq "limited token: pull,push on a listed repository" pull,push \
	"$(actions tid-alice "$LIM" repository:tid-alice/app:pull,push)"
expect_eq "limited token: under a listed prefix" pull,push \
	"$(actions tid-alice "$LIM" repository:tid-alice/sub/x:pull,push)"
expect_eq "limited token: nothing on another repository of the owner" "" \
	"$(actions tid-alice "$LIM" repository:tid-alice/lib:pull)"
expect_eq "limited token: the prefix is no string prefix (tid-alice/subway)" "" \
	"$(actions tid-alice "$LIM" repository:tid-alice/subway:pull)"
expect_eq "limited token: no catalog" "" \
	"$(actions tid-alice "$LIM" registry:catalog:*)"
call "$ADMIN" PUT /repositories/tid-acme/web/visibility '{"public":true}'
expect_eq "limited token: not even a public repository outside its list" "" \
	"$(actions tid-alice "$LIM" repository:tid-acme/web:pull)"

# Through registryd node 4: the read-only token pulls, never pushes.
tok=$(token_for tid-alice "$RO" repository:tid-alice/app:pull,push)
as_bearer "$tok"
pull_tag "$REGA" tid-alice/app v1 "${BEARER[@]}"
expect_eq "node 4: the read-only token's JWT pulls" 200 "$STATUS"
image_make "$W/ro-push" 1 100
if auth_push "$REGA" tid-alice/app ro "$W/ro-push"; then
	not_ok "node 4: the read-only token's JWT cannot push" "push succeeded"
else
	expect_match "node 4: the read-only token's JWT cannot push" '^(401|403)$' "$STATUS"
fi
expect_eq "no tag ro was made" 0 \
	"$(count "SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = 'tid-alice/app' AND t.name = 'ro'")"
tok=$(token_for tid-alice "$LIM" repository:tid-alice/lib:pull)
as_bearer "$tok"
pull_tag "$REGA" tid-alice/lib v1 "${BEARER[@]}"
expect_match "node 4: the limited token's JWT cannot pull another repository" '^(401|403)$' "$STATUS"
tok=$(token_for tid-alice "$LIM" repository:tid-alice/sub/x:pull,push)
as_bearer "$tok"
image_make "$W/lim-push" 1 100
check "node 4: the limited token's JWT pushes within its list" \
	auth_push "$REGA" tid-alice/sub/x lim "$W/lim-push"
# The automatic mount (mount= without from=) links only blobs the token
# itself may read: a blob of tid-alice/lib, outside the list, is not.
LIB_LAYER=$(sha256_of "$W/img-tid-alice-lib/layer1")
linked() { count "SELECT count(*) FROM repository_blobs b JOIN repositories r ON r.id = b.repository_id WHERE r.name = 'tid-alice/sub/x' AND b.digest = '$LIB_LAYER'"; }
req POST "$REGA/v2/tid-alice/sub/x/blobs/uploads/?mount=$LIB_LAYER" \
	-H 'Content-Length: 0' "${BEARER[@]}"
expect_eq "node 4: the limited token's automatic mount of a blob outside its list opens an upload" 202 "$STATUS"
expect_eq "and links nothing" 0 "$(linked)"
tok=$(token_for tid-alice "$PW" repository:tid-alice/sub/x:pull,push)
as_bearer "$tok"
req POST "$REGA/v2/tid-alice/sub/x/blobs/uploads/?mount=$LIB_LAYER" \
	-H 'Content-Length: 0' "${BEARER[@]}"
expect_eq "node 4: with the owner's password the same automatic mount links it" 201 "$STATUS"
expect_eq "and the link is there" 1 "$(linked)"

# A refresh token got with a limited token is just as limited.
req GET "$AUTHD/token?service=$AUTH_SERVICE&offline_token=true&scope=repository:tid-alice/app:pull" \
	-u "tid-alice:$RO"
RT=$(jq -r '.refresh_token // empty' "$BODY")
check "offline_token with the read-only token gives a refresh token" test -n "$RT"
expect_eq "the refresh token row is read-only too" t \
	"$(count "SELECT read_only FROM tokens WHERE kind = 'refresh' AND user_id = (SELECT id FROM users WHERE name = 'tid-alice') ORDER BY created_at DESC LIMIT 1")"
req POST "$AUTHD/token" --data-urlencode grant_type=refresh_token \
	--data-urlencode "service=$AUTH_SERVICE" --data-urlencode "refresh_token=$RT" \
	--data-urlencode "scope=repository:tid-alice/app:pull,push"
expect_eq "the refresh grant with it: pull only" repository:tid-alice/app:pull \
	"$(jq -r .scope "$BODY")"

# A limited token is for the registry only: it could mint an unlimited one.
n=$(count "SELECT count(*) FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = 'tid-alice')")
want "the limited token cannot create a token: 403" 403 "tid-alice:$LIM" POST /users/tid-alice/tokens '{"name":"esc"}'
want "nor can the read-only one" 403 "tid-alice:$RO" POST /users/tid-alice/tokens '{"name":"esc"}'
want "nor read the API" 403 "tid-alice:$RO" GET /me
expect_eq "no token was made" "$n" \
	"$(count "SELECT count(*) FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = 'tid-alice')")"
want "repositories: [] is refused" 400 "$ALICE" POST /users/tid-alice/tokens '{"name":"x","repositories":[]}'
want "repositories: a bad name is refused" 400 "$ALICE" POST /users/tid-alice/tokens '{"name":"x","repositories":["Bad Name"]}'
expect_error_code "... as NAME_INVALID" NAME_INVALID
want "repositories: a bare * is refused" 400 "$ALICE" POST /users/tid-alice/tokens '{"name":"x","repositories":["*"]}'
want "repositories: not a list" 400 "$ALICE" POST /users/tid-alice/tokens '{"name":"x","repositories":"tid-alice/app"}'
want "read_only: not a boolean" 400 "$ALICE" POST /users/tid-alice/tokens '{"name":"x","read_only":"yes"}'
expect_eq "the refused requests made no token" "$n" \
	"$(count "SELECT count(*) FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = 'tid-alice')")"

ctl tid-alice "$PW" token create ctl-lim --read-only --repo tid-alice/app --repo 'tid-acme/*'
rc "berthctl token create --read-only --repo --repo" 0
expect_eq "berthctl prints the limits" '[true,["tid-alice/app","tid-acme/*"]]' \
	"$(jq -c '[.read_only, .repositories]' "$OUT")"
expect_eq "berthctl's token row" 'true|{tid-alice/app,tid-acme/*}' \
	"$(count "SELECT read_only || '|' || repositories::text FROM tokens WHERE name = 'ctl-lim'")"
ctl tid-alice "$PW" token list
expect_eq "berthctl token list shows the limits" true \
	"$(jq -c '[.[] | select(.name == "ctl-lim")][0].read_only' "$OUT")"
ctl tid-alice "$PW" user get tid-alice --repo x
rc "--repo on a command without it: exit 2" 2

# ---- 4. disable and re-enable -------------------------------------------------------
OLD=$(pat "$BOB" tid-bob '{"name":"old"}')
expect_eq "tid-bob's token works" pull \
	"$(actions tid-bob "$OLD" repository:tid-bob/x:pull)"
req GET "$AUTHD/token?service=$AUTH_SERVICE&offline_token=true" -u "$BOB"
OLD_RT=$(jq -r '.refresh_token // empty' "$BODY")
want "disable tid-bob" 200 "$ADMIN" PATCH /users/tid-bob '{"disabled":true}'
expect_eq "disabled_at is stamped" t \
	"$(count "SELECT disabled_at IS NOT NULL FROM users WHERE name = 'tid-bob'")"
expect_eq "while disabled the token is refused" refused \
	"$(actions tid-bob "$OLD" repository:tid-bob/x:pull)"
want "revive_tokens needs disabled:false" 400 "$ADMIN" PATCH /users/tid-bob '{"revive_tokens":true}'
want "re-enable tid-bob" 200 "$ADMIN" PATCH /users/tid-bob '{"disabled":false}'
expect_eq "the answer shows tokens_valid_after" true "$(jqb '.tokens_valid_after != null')"
expect_eq "tokens_valid_after is the disable's time" t \
	"$(count "SELECT tokens_valid_after IS NOT NULL AND disabled_at IS NULL FROM users WHERE name = 'tid-bob'")"
expect_eq "after the re-enable the old token stays dead" refused \
	"$(actions tid-bob "$OLD" repository:tid-bob/x:pull)"
req POST "$AUTHD/token" --data-urlencode grant_type=refresh_token \
	--data-urlencode "service=$AUTH_SERVICE" --data-urlencode "refresh_token=$OLD_RT"
expect_eq "so does the old refresh token" 401 "$STATUS"
want "the password still works" 200 "$BOB" GET /me
NEW=$(pat "$BOB" tid-bob '{"name":"new"}')
expect_eq "a token made after the re-enable works" pull \
	"$(actions tid-bob "$NEW" repository:tid-bob/x:pull)"
want "disable again" 200 "$ADMIN" PATCH /users/tid-bob '{"disabled":true}'
want "re-enable with revive_tokens" 200 "$ADMIN" PATCH /users/tid-bob '{"disabled":false,"revive_tokens":true}'
expect_eq "revive_tokens: the token made before this disable works" pull \
	"$(actions tid-bob "$NEW" repository:tid-bob/x:pull)"
expect_eq "... but not one an earlier re-enable ended" refused \
	"$(actions tid-bob "$OLD" repository:tid-bob/x:pull)"
expect_eq "the audit records revive_tokens" true \
	"$(count "SELECT detail->>'revive_tokens' FROM audit_log WHERE action = 'user.update' AND target = 'tid-bob' ORDER BY id DESC LIMIT 1")"
ctl admin "$AUTHD_ADMIN_PASSWORD" user disable tid-bob
ctl admin "$AUTHD_ADMIN_PASSWORD" user enable tid-bob --revive-tokens
rc "berthctl user enable --revive-tokens" 0
expect_eq "berthctl's revive kept the token alive" pull \
	"$(actions tid-bob "$NEW" repository:tid-bob/x:pull)"
ctl admin "$AUTHD_ADMIN_PASSWORD" user disable tid-bob
ctl admin "$AUTHD_ADMIN_PASSWORD" user enable tid-bob
rc "berthctl user enable" 0
expect_eq "berthctl's plain enable ended it" refused \
	"$(actions tid-bob "$NEW" repository:tid-bob/x:pull)"

# ---- 6. repository delete -----------------------------------------------------------
LIB_BLOBS=$(count "SELECT string_agg(digest, ' ' ORDER BY digest) FROM repository_blobs b JOIN repositories r ON r.id = b.repository_id WHERE r.name = 'tid-alice/lib'")
want "tid-bob gets read on tid-alice/lib" 200 "$ALICE" PUT /repositories/tid-alice/lib/grants/users/tid-bob '{"level":"read"}'
want "an outsider deleting it: 404" 404 "$EVE" DELETE /repositories/tid-alice/lib
want "a reader deleting it: 403" 403 "$BOB" DELETE /repositories/tid-alice/lib
want "tid-bob gets write instead" 200 "$ALICE" PUT /repositories/tid-alice/lib/grants/users/tid-bob '{"level":"write"}'
want "a writer deleting it: 403" 403 "$BOB" DELETE /repositories/tid-alice/lib
expect_eq "the refused deletes left it whole" 1 \
	"$(count "SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = 'tid-alice/lib'")"
want "its owner deletes tid-alice/lib" 204 "$ALICE" DELETE /repositories/tid-alice/lib
expect_eq "no repository row, manifest or tag is left" 0 \
	"$(count "SELECT count(*) FROM repositories WHERE name = 'tid-alice/lib'")"
expect_eq "its blobs are queued for GC" "$LIB_BLOBS" \
	"$(count "SELECT string_agg(digest, ' ' ORDER BY digest) FROM gc_blob_reviews WHERE digest = ANY(string_to_array('$LIB_BLOBS', ' '))")"
expect_eq "the grants on it are gone" 0 \
	"$(count "SELECT count(*) FROM grants WHERE repository = 'tid-alice/lib'")"
expect_eq "repo.delete is audited with what went" '{"blobs_queued":2,"grants":1,"manifests":1,"tags":1}' \
	"$(count "SELECT detail::text FROM audit_log WHERE action = 'repo.delete' AND target = 'tid-alice/lib' ORDER BY id DESC LIMIT 1" | jq -cS .)"
pull_tag "$REG" tid-alice/lib v1
expect_status_code "a pull of it answers NAME_UNKNOWN or MANIFEST_UNKNOWN" 404 "NAME_UNKNOWN MANIFEST_UNKNOWN"
tok=$(token_for tid-alice "$PW" repository:tid-alice/lib:pull)
as_bearer "$tok"
pull_tag "$REGA" tid-alice/lib v1 "${BEARER[@]}"
expect_status_code "node 4: the same" 404 "NAME_UNKNOWN MANIFEST_UNKNOWN"
req GET "$REG/v2/_catalog?n=1000"
expect_eq "the catalog no longer lists it" "tid-alice/app tid-alice/sub/x" "$(catalog_of tid-alice/)"
want "deleting it again: 404" 404 "$ALICE" DELETE /repositories/tid-alice/lib
want "an administrator may delete any" 204 "$ADMIN" DELETE /repositories/tid-alice/sub/x
ctl tid-eve "$PW" repo delete tid-alice/app
rc "berthctl repo delete by an outsider: exit 1" 1
expect_eq "... which left it" 1 "$(count "SELECT count(*) FROM repositories WHERE name = 'tid-alice/app'")"
image_make "$W/ctl" 1 100 && image_push "$REG" tid-alice/ctl v1 "$W/ctl"
ctl tid-alice "$PW" repo delete tid-alice/ctl
rc "berthctl repo delete" 0
expect_eq "berthctl repo delete prints a line" "deleted repository tid-alice/ctl" "$(cat "$OUT")"
expect_eq "... and it is gone" 0 "$(count "SELECT count(*) FROM repositories WHERE name = 'tid-alice/ctl'")"

# ---- 5. a deleted name's next owner inherits nothing ----------------------------------
# tid-gone: a private repository, a grant on an org repository, a team
# membership, an org-wide grant to them, a token and a lockout.
call "$ADMIN" POST /users "{\"name\":\"tid-gone\",\"password\":\"$PW\"}"
image_make "$W/gone" 1 200 && image_push "$REG" tid-gone/secret v1 "$W/gone"
GONE_PAT=$(pat "tid-gone:$PW" tid-gone '{"name":"gone"}')
call "$ADMIN" PUT /orgs/tid-acme/members/tid-gone '{"role":"member"}'
call "$ADMIN" POST /orgs/tid-acme/teams '{"name":"devs"}'
call "$ADMIN" PUT /orgs/tid-acme/teams/devs/members/tid-gone
call "$ADMIN" PUT /repositories/tid-acme/web/grants/users/tid-gone '{"level":"write"}'
auth_sql "INSERT INTO login_failures (key, failures, window_start, locked_until)
	VALUES ('pair:203.0.113.9 tid-gone', 3, now(), NULL)" >/dev/null
GONE_ID=$(count "SELECT id FROM users WHERE name = 'tid-gone'")
expect_eq "tid-gone's fixtures" '1|1|1|1|1' \
	"$(count "SELECT (SELECT count(*) FROM repositories WHERE name LIKE 'tid-gone/%') || '|' ||
		(SELECT count(*) FROM grants WHERE user_id = $GONE_ID) || '|' ||
		(SELECT count(*) FROM team_members WHERE user_id = $GONE_ID) || '|' ||
		(SELECT count(*) FROM tokens WHERE user_id = $GONE_ID) || '|' ||
		(SELECT count(*) FROM login_failures WHERE key = 'pair:203.0.113.9 tid-gone')")"
want "deleting a user whose namespace holds repositories: 409" 409 "$ADMIN" DELETE /users/tid-gone
expect_match "... naming the way out" 'delete_repositories=true' "$(jqb '.errors[0].message')"
expect_eq "the refused delete changed nothing" 1 \
	"$(count "SELECT count(*) FROM users WHERE name = 'tid-gone'")"
want "delete_repositories=true deletes the user and the repositories" 204 \
	"$ADMIN" DELETE "/users/tid-gone?delete_repositories=true"
expect_eq "nothing of tid-gone is left (repositories, grants, teams, tokens, lockout)" '0|0|0|0|0' \
	"$(count "SELECT (SELECT count(*) FROM repositories WHERE name LIKE 'tid-gone/%') || '|' ||
		(SELECT count(*) FROM grants WHERE user_id = $GONE_ID) || '|' ||
		(SELECT count(*) FROM team_members WHERE user_id = $GONE_ID) || '|' ||
		(SELECT count(*) FROM tokens WHERE user_id = $GONE_ID) || '|' ||
		(SELECT count(*) FROM login_failures WHERE key = 'pair:203.0.113.9 tid-gone')")"
expect_eq "tid-gone's blobs are queued for GC" 2 \
	"$(count "SELECT count(*) FROM gc_blob_reviews WHERE digest IN ('$(sha256_of "$W/gone/config.json")', '$(sha256_of "$W/gone/layer1")')")"
expect_eq "user.delete is audited with the repositories" 1 \
	"$(count "SELECT detail->>'repositories' FROM audit_log WHERE action = 'user.delete' AND target = 'tid-gone' ORDER BY id DESC LIMIT 1")"
want "a new tid-gone is created" 201 "$ADMIN" POST /users "{\"name\":\"tid-gone\",\"password\":\"$PW-new\"}"
NEW_ID=$(count "SELECT id FROM users WHERE name = 'tid-gone'")
want "the new tid-gone lists repositories" 200 "tid-gone:$PW-new" GET /repositories
expect_eq "... and sees none of the old one's (nor tid-acme/web's write)" \
	'[{"level":"read","name":"tid-acme/web"}]' \
	"$(jq -cS '[.items[] | select(.name | startswith("tid-")) | {name, level}]' "$BODY")"
want "the new tid-gone is in no organization" 200 "tid-gone:$PW-new" GET /me
expect_eq "... orgs" '[]' "$(jqb .orgs)"
expect_eq "no grants, teams or tokens for the new tid-gone" '0|0|0' \
	"$(count "SELECT (SELECT count(*) FROM grants WHERE user_id = $NEW_ID) || '|' ||
		(SELECT count(*) FROM team_members WHERE user_id = $NEW_ID) || '|' ||
		(SELECT count(*) FROM tokens WHERE user_id = $NEW_ID)")"
expect_eq "the old tid-gone's token does not sign in as the new one" refused \
	"$(actions tid-gone "$GONE_PAT" repository:tid-gone/secret:pull)"
tok=$(token_for tid-gone "$PW-new" repository:tid-gone/secret:pull)
as_bearer "$tok"
pull_tag "$REGA" tid-gone/secret v1 "${BEARER[@]}"
expect_status_code "node 4: the old private repository is gone" 404 "NAME_UNKNOWN MANIFEST_UNKNOWN"
expect_eq "tid-acme/web: only read for the new tid-gone (it is public)" pull \
	"$(actions tid-gone "$PW-new" repository:tid-acme/web:pull,push)"

# An organization: its repository, its teams and grants go with it.
call "$ADMIN" POST /orgs '{"name":"tid-org"}'
call "$ADMIN" PUT /orgs/tid-org/members/tid-eve '{"role":"owner"}'
call "$ADMIN" POST /orgs/tid-org/teams '{"name":"t"}'
call "$ADMIN" PUT /orgs/tid-org/teams/t/members/tid-bob
call "$ADMIN" PUT /orgs/tid-org/teams/t/grants '{"repository":null,"level":"write"}'
image_make "$W/org" 1 200 && image_push "$REG" tid-org/app v1 "$W/org"
want "deleting an org holding repositories: 409" 409 "$EVE" DELETE /orgs/tid-org
ctl tid-eve "$PW" org delete tid-org --delete-repositories
rc "berthctl org delete --delete-repositories" 0
expect_eq "the org's repository and grants are gone" '0|0' \
	"$(count "SELECT (SELECT count(*) FROM repositories WHERE name LIKE 'tid-org/%') || '|' ||
		(SELECT count(*) FROM grants WHERE namespace = 'tid-org')")"
want "tid-bob creates an org named tid-org" 201 "$BOB" POST /orgs '{"name":"tid-org"}'
want "the new tid-org" 200 "$BOB" GET /orgs/tid-org
expect_eq "... has one member and no teams" '[1,0,0]' "$(jqb '[.members, .teams, .service_accounts]')"
expect_eq "tid-eve is no owner of the new tid-org" "" \
	"$(actions tid-eve "$PW" repository:tid-org/app:pull,push)"
req GET "$REG/v2/tid-org/app/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
expect_status_code "the old org's image is gone" 404 "NAME_UNKNOWN MANIFEST_UNKNOWN"

auth_sql "DELETE FROM login_failures WHERE key = 'addr:127.0.0.1' OR key LIKE 'pair:% tid-%'" >/dev/null
