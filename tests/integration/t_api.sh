#!/bin/bash
# The management API on authd (/api/v1): every resource's success path,
# authorization (administrators, owners, members, outsiders, service
# accounts), validation, pagination, the audit trail, and tokens used as
# passwords at /token. Names start with "tapi"; the database is shared.
# Failed logins count towards authd's lockout per client address, so this
# file keeps them few (each is marked "failed login").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api.sh"

if [ -z "${AUTHD:-}" ] || [ -z "${AUTHD_ADMIN_PASSWORD:-}" ]; then
	not_ok "harness exports AUTHD and AUTHD_ADMIN_PASSWORD" "unset"
	exit 0
fi
A=$AUTHD/api/v1
SERVICE=${AUTHD_SERVICE:-berth-registry}
ADMIN="admin:$AUTHD_ADMIN_PASSWORD"
ALICE=tapi-alice:alicepass1
BOB=tapi-bob:bobpass123
CAROL=tapi-carol:carolpass1
DAVE=tapi-dave:davepass12

# actions CREDS SCOPE: the actions /token grants CREDS ("-": anonymous)
# for SCOPE, as a compact JSON array.
actions() {
	local -a args=()
	local p
	[ "$1" = - ] || args=(-u "$1")
	req GET "$AUTHD/token?service=$SERVICE&scope=$2" "${args[@]}"
	[ "$STATUS" = 200 ] || { echo "status $STATUS"; return; }
	p=$(jq -r .token "$BODY" | cut -d. -f2 | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d 2>/dev/null |
		jq -c '[.access[]?.actions[]] | sort'
}

# ---- authentication and routing --------------------------------------------
want "no credentials: 401" 401 - GET /me
expect_hdr "401 asks for Basic" WWW-Authenticate 'Basic realm="berth"'
want "unknown path without credentials: 401, not 404" 401 - GET /nowhere
want "administrator: GET /me" 200 "$ADMIN" GET /me
expect_eq "GET /me names the caller" '"admin" true "user"' \
	"$(jq -r '"\"" + .name + "\" " + (.admin | tostring) + " \"" + .kind + "\""' "$BODY")"
want "wrong password: 401 (failed login)" 401 admin:wrong-password GET /me
want "unknown endpoint: 404" 404 "$ADMIN" GET /nowhere
expect_error_code "unknown endpoint is NOT_FOUND" NOT_FOUND
want "wrong method: 405" 405 "$ADMIN" PATCH /orgs
want "bad JSON: 400" 400 "$ADMIN" POST /users '{"name":'
expect_error_code "bad JSON is BAD_REQUEST" BAD_REQUEST
want "JSON array body: 400" 400 "$ADMIN" POST /users '["tapi-x"]'
want "duplicate JSON key: 400" 400 "$ADMIN" POST /users \
	'{"name":"tapi-x","name":"tapi-y","password":"longenough"}'

# ---- users ----------------------------------------------------------------
want "admin creates a user" 201 "$ADMIN" POST /users \
	'{"name":"tapi-alice","password":"alicepass1","email":"alice@example.com","display_name":"Alice"}'
expect_eq "created user's record" '["tapi-alice","alice@example.com","Alice",false,false]' \
	"$(jqb '[.name, .email, .display_name, .admin, .disabled]')"
expect_eq "no password hash in the answer" false "$(jqb 'has("password_hash") or has("password")')"
for u in tapi-bob:bobpass123 tapi-carol:carolpass1 tapi-dave:davepass12; do
	want "admin creates ${u%%:*}" 201 "$ADMIN" POST /users \
		"{\"name\":\"${u%%:*}\",\"password\":\"${u#*:}\"}"
done
want "same name again: 409" 409 "$ADMIN" POST /users '{"name":"tapi-alice","password":"alicepass1"}'
expect_error_code "name taken is CONFLICT" CONFLICT
want "upper-case name: 400" 400 "$ADMIN" POST /users '{"name":"Tapi-Up","password":"longenough"}'
expect_error_code "bad name is NAME_INVALID" NAME_INVALID
want "double separator in a name: 400" 400 "$ADMIN" POST /users '{"name":"tapi--x","password":"longenough"}'
want "slash in a name: 400" 400 "$ADMIN" POST /users '{"name":"tapi/x","password":"longenough"}'
want "65-byte name: 400" 400 "$ADMIN" POST /users \
	"{\"name\":\"tapi$(printf 'a%.0s' {1..61})\",\"password\":\"longenough\"}"
want "7-character password: 400" 400 "$ADMIN" POST /users '{"name":"tapi-x","password":"1234567"}'
want "password shaped like a token: 400" 400 "$ADMIN" POST /users '{"name":"tapi-x","password":"berth_0123456789"}'
want "missing password: 400" 400 "$ADMIN" POST /users '{"name":"tapi-x"}'
want "unknown field: 400" 400 "$ADMIN" POST /users '{"name":"tapi-x","password":"longenough","admn":true}'
want "admin must be a boolean: 400" 400 "$ADMIN" POST /users '{"name":"tapi-x","password":"longenough","admin":"yes"}'
want "email without @: 400" 400 "$ADMIN" POST /users '{"name":"tapi-x","password":"longenough","email":"nope"}'
want "GET the bad user: never created" 404 "$ADMIN" GET /users/tapi-x
want "plain user cannot create users: 403" 403 "$ALICE" POST /users '{"name":"tapi-x","password":"longenough"}'
expect_error_code "denied is DENIED" DENIED
want "plain user cannot list users: 403" 403 "$ALICE" GET /users
want "user reads own record" 200 "$ALICE" GET /users/tapi-alice
want "user cannot read another user: 404" 404 "$ALICE" GET /users/tapi-bob
want "admin reads any user" 200 "$ADMIN" GET /users/tapi-bob
want "GET an unknown user: 404" 404 "$ADMIN" GET /users/tapi-nobody
want "user changes own email" 200 "$ALICE" PATCH /users/tapi-alice '{"email":"a2@example.com"}'
expect_eq "email changed" '"a2@example.com"' "$(jqb .email)"
want "user cannot make self admin: 403" 403 "$ALICE" PATCH /users/tapi-alice '{"admin":true}'
want "user cannot disable another: 404" 404 "$ALICE" PATCH /users/tapi-bob '{"disabled":true}'
want "own password change needs current_password: 400" 400 "$ALICE" PATCH /users/tapi-alice \
	'{"password":"alicepass2"}'
want "wrong current_password: 403 (failed login)" 403 "$ALICE" PATCH /users/tapi-alice \
	'{"password":"alicepass2","current_password":"not-it-at-all"}'
want "own password change with current_password" 200 "$ALICE" PATCH /users/tapi-alice \
	'{"password":"alicepass2","current_password":"alicepass1"}'
want "old password refused (failed login)" 401 "$ALICE" GET /me
ALICE=tapi-alice:alicepass2
want "new password works" 200 "$ALICE" GET /me
want "admin resets a password without the current one" 200 "$ADMIN" PATCH /users/tapi-alice \
	'{"password":"alicepass3"}'
ALICE=tapi-alice:alicepass3
want "reset password works" 200 "$ALICE" GET /me
want "admin disables a user" 200 "$ADMIN" PATCH /users/tapi-dave '{"disabled":true}'
expect_eq "disabled in the record" true "$(jqb .disabled)"
want "disabled user cannot sign in (failed login)" 401 "$DAVE" GET /me
want "admin enables the user again" 200 "$ADMIN" PATCH /users/tapi-dave '{"disabled":false}'
want "enabled user signs in" 200 "$DAVE" GET /me
want "admin makes a user admin" 200 "$ADMIN" PATCH /users/tapi-carol '{"admin":true}'
want "the new admin lists users" 200 "$CAROL" GET /users
want "admin takes admin away" 200 "$ADMIN" PATCH /users/tapi-carol '{"admin":false}'
want "former admin cannot list users" 403 "$CAROL" GET /users

# ---- pagination --------------------------------------------------------------
for i in 1 2 3; do
	want "admin creates tapi-p$i" 201 "$ADMIN" POST /users "{\"name\":\"tapi-p$i\",\"password\":\"longenough\"}"
done
want "first page of two" 200 "$ADMIN" GET "/users?after=tapi-p&limit=2"
expect_eq "first page: p1, p2" '["tapi-p1","tapi-p2"]' "$(jqb '[.items[].name]')"
expect_eq "first page: next is the last name" '"tapi-p2"' "$(jqb .next)"
want "second page" 200 "$ADMIN" GET "/users?after=tapi-p2&limit=2"
expect_eq "second page starts at p3" '"tapi-p3"' "$(jqb '.items[0].name')"
want "limit=0: 400" 400 "$ADMIN" GET "/users?limit=0"
want "limit=abc: 400" 400 "$ADMIN" GET "/users?limit=abc"
want "limit above 1000 is capped" 200 "$ADMIN" GET "/users?limit=5000"
want "last page: next is null" 200 "$ADMIN" GET "/users?after=tapi-p3&limit=1000"
expect_eq "last page has null next" null "$(jqb .next)"

# ---- organizations ------------------------------------------------------------
want "user creates an organization" 201 "$ALICE" POST /orgs '{"name":"tapi-acme"}'
expect_eq "organization record" '["tapi-acme",1]' "$(jqb '[.name, .members]')"
want "same organization again: 409" 409 "$ALICE" POST /orgs '{"name":"tapi-acme"}'
want "organization named like a user: 409" 409 "$ALICE" POST /orgs '{"name":"tapi-bob"}'
want "user named like an organization: 409" 409 "$ADMIN" POST /users '{"name":"tapi-acme","password":"longenough"}'
want "bad organization name: 400" 400 "$ALICE" POST /orgs '{"name":"tapi acme"}'
want "owner lists own organizations" 200 "$ALICE" GET /orgs
expect_eq "owner sees the org with role owner" '"owner"' \
	"$(jqb '.items[] | select(.name == "tapi-acme") | .role')"
want "outsider lists organizations" 200 "$BOB" GET /orgs
expect_eq "outsider does not see the org" 0 "$(jqb '[.items[] | select(.name == "tapi-acme")] | length')"
want "admin lists organizations" 200 "$ADMIN" GET "/orgs?after=tapi-ac&limit=1000"
expect_eq "admin sees every org" 1 "$(jqb '[.items[] | select(.name == "tapi-acme")] | length')"
want "outsider GET org: 404" 404 "$BOB" GET /orgs/tapi-acme
want "outsider GET members: 404" 404 "$BOB" GET /orgs/tapi-acme/members
want "outsider adds self: 404" 404 "$BOB" PUT /orgs/tapi-acme/members/tapi-bob '{"role":"owner"}'
want "owner adds a member" 200 "$ALICE" PUT /orgs/tapi-acme/members/tapi-bob '{"role":"member"}'
expect_eq "member answer" '{"user":"tapi-bob","role":"member"}' "$(jqb .)"
want "owner adds another member" 200 "$ALICE" PUT /orgs/tapi-acme/members/tapi-carol '{"role":"member"}'
want "bad role: 400" 400 "$ALICE" PUT /orgs/tapi-acme/members/tapi-dave '{"role":"boss"}'
want "unknown user: 404" 404 "$ALICE" PUT /orgs/tapi-acme/members/tapi-nobody '{"role":"member"}'
want "member reads the organization" 200 "$BOB" GET /orgs/tapi-acme
want "member lists members" 200 "$BOB" GET /orgs/tapi-acme/members
expect_eq "members and roles" '[["tapi-alice","owner"],["tapi-bob","member"],["tapi-carol","member"]]' \
	"$(jqb '[.items[] | [.user, .role]]')"
want "members page of one" 200 "$BOB" GET "/orgs/tapi-acme/members?limit=1"
expect_eq "members page: next" '"tapi-alice"' "$(jqb .next)"
want "member cannot change roles: 403" 403 "$BOB" PUT /orgs/tapi-acme/members/tapi-bob '{"role":"owner"}'
want "member cannot delete the org: 403" 403 "$BOB" DELETE /orgs/tapi-acme
want "last owner cannot step down: 409" 409 "$ALICE" PUT /orgs/tapi-acme/members/tapi-alice '{"role":"member"}'
want "last owner cannot leave: 409" 409 "$ALICE" DELETE /orgs/tapi-acme/members/tapi-alice
want "owner promotes a member" 200 "$ALICE" PUT /orgs/tapi-acme/members/tapi-bob '{"role":"owner"}'
want "with another owner, an owner steps down" 200 "$ALICE" PUT /orgs/tapi-acme/members/tapi-alice '{"role":"member"}'
want "stepped-down owner cannot manage: 403" 403 "$ALICE" PUT /orgs/tapi-acme/members/tapi-dave '{"role":"member"}'
want "new owner restores the old one" 200 "$BOB" PUT /orgs/tapi-acme/members/tapi-alice '{"role":"owner"}'
want "the org lists for its member" 200 "$BOB" GET /orgs
expect_eq "member's list shows the role" '"owner"' \
	"$(jqb '.items[] | select(.name == "tapi-acme") | .role')"

# ---- teams -----------------------------------------------------------------------
want "owner creates a team" 201 "$ALICE" POST /orgs/tapi-acme/teams '{"name":"tapi-devs","description":"developers"}'
expect_eq "team record" '["tapi-devs","developers",0]' "$(jqb '[.name, .description, .members]')"
want "same team again: 409" 409 "$ALICE" POST /orgs/tapi-acme/teams '{"name":"tapi-devs"}'
want "bad team name: 400" 400 "$ALICE" POST /orgs/tapi-acme/teams '{"name":"Devs"}'
want "member cannot create teams: 403" 403 "$CAROL" POST /orgs/tapi-acme/teams '{"name":"tapi-ops"}'
want "outsider cannot create teams: 404" 404 "$DAVE" POST /orgs/tapi-acme/teams '{"name":"tapi-ops"}'
want "owner creates a second team" 201 "$ALICE" POST /orgs/tapi-acme/teams '{"name":"tapi-ops"}'
want "member lists teams" 200 "$CAROL" GET /orgs/tapi-acme/teams
expect_eq "teams in order" '["tapi-devs","tapi-ops"]' "$(jqb '[.items[].name]')"
want "teams page of one" 200 "$CAROL" GET "/orgs/tapi-acme/teams?limit=1"
expect_eq "teams page: next" '"tapi-devs"' "$(jqb .next)"
want "member reads a team" 200 "$CAROL" GET /orgs/tapi-acme/teams/tapi-devs
want "unknown team: 404" 404 "$ALICE" GET /orgs/tapi-acme/teams/tapi-none
want "owner adds a team member" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/members/tapi-carol
want "adding twice is fine" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/members/tapi-carol
want "non-member cannot join a team: 400" 400 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/members/tapi-dave
want "member cannot add team members: 403" 403 "$CAROL" PUT /orgs/tapi-acme/teams/tapi-devs/members/tapi-bob
want "team members" 200 "$CAROL" GET /orgs/tapi-acme/teams/tapi-devs/members
expect_eq "team members list" '["tapi-carol"]' "$(jqb '[.items[].user]')"

S="repository:tapi-acme/app:pull,push"
expect_eq "before any grant, a member gets nothing" '[]' "$(actions "$CAROL" "$S")"
want "owner grants the team write on a repository" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":"tapi-acme/app","level":"write"}'
expect_eq "grant answer" '{"repository":"tapi-acme/app","level":"write"}' "$(jqb .)"
expect_eq "team member may now push" '["pull","push"]' "$(actions "$CAROL" "$S")"
expect_eq "non-team member still gets nothing" '[]' "$(actions "$DAVE" "$S")"
want "grant without repository: 400" 400 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants '{"level":"read"}'
want "grant outside the org: 400" 400 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":"tapi-other/app","level":"read"}'
want "grant with a bad level: 400" 400 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":"tapi-acme/app","level":"super"}'
want "member cannot grant: 403" 403 "$CAROL" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":null,"level":"admin"}'
want "owner grants the team read on the whole org" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-ops/grants \
	'{"repository":null,"level":"read"}'
want "changing a grant's level" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":"tapi-acme/app","level":"read"}'
expect_eq "lowered grant: pull only" '["pull"]' "$(actions "$CAROL" "$S")"
want "owner grants the team org-wide too" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":null,"level":"read"}'
want "team grants" 200 "$CAROL" GET /orgs/tapi-acme/teams/tapi-devs/grants
expect_eq "grants listed, org-wide first" '[[null,"read"],["tapi-acme/app","read"]]' \
	"$(jqb '[.items[] | [.repository, .level]]')"
want "grants page of one" 200 "$CAROL" GET "/orgs/tapi-acme/teams/tapi-devs/grants?limit=1"
expect_eq "grants page: next is the namespace" '"tapi-acme"' "$(jqb .next)"
want "grants page two" 200 "$CAROL" GET "/orgs/tapi-acme/teams/tapi-devs/grants?limit=1&after=tapi-acme"
expect_eq "grants page two: the repository" '"tapi-acme/app"' "$(jqb '.items[0].repository')"
want "owner removes the repository grant" 204 "$ALICE" DELETE "/orgs/tapi-acme/teams/tapi-devs/grants?repository=tapi-acme/app"
want "removing it again: 404" 404 "$ALICE" DELETE "/orgs/tapi-acme/teams/tapi-devs/grants?repository=tapi-acme/app"
want "owner removes the org-wide grant" 204 "$ALICE" DELETE /orgs/tapi-acme/teams/tapi-devs/grants
expect_eq "without grants, nothing" '[]' "$(actions "$CAROL" "$S")"
want "member leaves the org" 204 "$CAROL" DELETE /orgs/tapi-acme/members/tapi-carol
want "former member cannot see the org: 404" 404 "$CAROL" GET /orgs/tapi-acme
want "leaving the org left the team too" 200 "$ALICE" GET /orgs/tapi-acme/teams/tapi-devs/members
expect_eq "team is empty" '[]' "$(jqb '[.items[].user]')"
want "owner adds the member back" 200 "$ALICE" PUT /orgs/tapi-acme/members/tapi-carol '{"role":"member"}'
want "owner removes a member" 204 "$ALICE" DELETE /orgs/tapi-acme/members/tapi-carol
want "removing a non-member: 404" 404 "$ALICE" DELETE /orgs/tapi-acme/members/tapi-dave
want "owner deletes a team" 204 "$ALICE" DELETE /orgs/tapi-acme/teams/tapi-ops
want "deleted team: 404" 404 "$ALICE" GET /orgs/tapi-acme/teams/tapi-ops

# ---- repositories ------------------------------------------------------------------
R=tapi-alice/app
want "namespace owner makes a repository public" 200 "$ALICE" PUT /repositories/$R/visibility '{"public":true}'
expect_eq "visibility answer" '["tapi-alice/app",true,"admin"]' "$(jqb '[.name, .public, .level]')"
expect_eq "anyone may pull a public repository" '["pull"]' "$(actions - "repository:$R:pull,push")"
want "a reader reads a public repository" 200 "$BOB" GET /repositories/$R
expect_eq "reader sees visibility and level, not grants" '[true,"read",false]' \
	"$(jqb '[.public, .level, has("grants")]')"
want "a reader cannot change visibility: 403" 403 "$BOB" PUT /repositories/$R/visibility '{"public":false}'
want "public is required: 400" 400 "$ALICE" PUT /repositories/$R/visibility '{}'
want "public must be a boolean: 400" 400 "$ALICE" PUT /repositories/$R/visibility '{"public":"yes"}'
P=tapi-alice/secret/deep
want "owner creates a private repository row" 200 "$ALICE" PUT /repositories/$P/visibility '{"public":false}'
expect_eq "nested name, private" '["tapi-alice/secret/deep",false]' "$(jqb '[.name, .public]')"
want "outsider GET private repository: 404" 404 "$BOB" GET /repositories/$P
want "outsider PUT visibility: 404" 404 "$BOB" PUT /repositories/$P/visibility '{"public":true}'
want "outsider grants self: 404" 404 "$BOB" PUT /repositories/$P/grants/users/tapi-bob '{"level":"admin"}'
want "owner grants a user read" 200 "$ALICE" PUT /repositories/$P/grants/users/tapi-bob '{"level":"read"}'
expect_eq "user grant answer" '{"repository":"tapi-alice/secret/deep","level":"read"}' "$(jqb .)"
want "granted user reads the repository" 200 "$BOB" GET /repositories/$P
expect_eq "granted user's level" '"read"' "$(jqb .level)"
expect_eq "granted user may pull, not push" '["pull"]' "$(actions "$BOB" "repository:$P:pull,push")"
want "owner sees the grants" 200 "$ALICE" GET /repositories/$P
expect_eq "grants of the repository" '[{"kind":"user","name":"tapi-bob","repository":"tapi-alice/secret/deep","level":"read"}]' \
	"$(jqb .grants)"
want "read grant does not allow granting: 403" 403 "$BOB" PUT /repositories/$P/grants/users/tapi-bob '{"level":"admin"}'
want "grant to an unknown user: 404" 404 "$ALICE" PUT /repositories/$P/grants/users/tapi-nobody '{"level":"read"}'
want "grant with a bad level: 400" 400 "$ALICE" PUT /repositories/$P/grants/users/tapi-bob '{"level":"owner"}'
want "bob lists repositories he may read" 200 "$BOB" GET "/repositories?after=tapi-alice/&limit=1000"
expect_eq "bob's list: the public one and the granted one" '[["tapi-alice/app","read"],["tapi-alice/secret/deep","read"]]' \
	"$(jqb '[.items[] | select(.name | startswith("tapi-alice/")) | [.name, .level]]')"
want "repositories page of one" 200 "$BOB" GET "/repositories?after=tapi-alice/&limit=1"
expect_eq "repositories page: next" '"tapi-alice/app"' "$(jqb .next)"
want "owner removes the grant" 204 "$ALICE" DELETE /repositories/$P/grants/users/tapi-bob
want "removed grant: 404 again" 404 "$BOB" GET /repositories/$P
want "removing it again: 404" 404 "$ALICE" DELETE /repositories/$P/grants/users/tapi-bob
want "dave's list hides the private repository" 200 "$DAVE" GET "/repositories?after=tapi-alice/&limit=1000"
expect_eq "dave sees only the public one" '["tapi-alice/app"]' \
	"$(jqb '[.items[] | select(.name | startswith("tapi-alice/")) | .name]')"
want "admin reads any repository" 200 "$ADMIN" GET /repositories/$P
want "invalid repository name: 400" 400 "$ALICE" GET /repositories/tapi-alice/Bad
expect_error_code "invalid name is NAME_INVALID" NAME_INVALID
want "namespace alone is no repository: 400" 400 "$ALICE" GET /repositories/tapi-alice
want "team grants work for repositories too" 200 "$ALICE" PUT /orgs/tapi-acme/teams/tapi-devs/grants \
	'{"repository":"tapi-acme/lib","level":"admin"}'
want "owner of the org reads its repository" 200 "$ALICE" GET /repositories/tapi-acme/lib
expect_eq "org repository grants list the team" '[["team","tapi-devs","admin"]]' \
	"$(jqb '[.grants[] | [.kind, .name, .level]]')"

# ---- personal access tokens ---------------------------------------------------------
want "user creates a token" 201 "$ALICE" POST /users/tapi-alice/tokens '{"name":"laptop","expires_in":3600}'
TOK=$(jq -r .token "$BODY")
TID=$(jq -r .id "$BODY")
expect_match "token answer" "^berth_[0-9a-f]{96} $uuid_re laptop true$" \
	"$TOK $TID $(jq -r '.name + " " + (.expires != null | tostring)' "$BODY")"
want "token works as the password for the API" 200 "tapi-alice:$TOK" GET /me
expect_eq "token login is alice" '"tapi-alice"' "$(jqb .name)"
expect_eq "token works as the password at /token" '["pull","push"]' \
	"$(actions "tapi-alice:$TOK" "repository:tapi-alice/app:pull,push")"
want "user lists tokens" 200 "$ALICE" GET /users/tapi-alice/tokens
expect_eq "listed token, no secret" '["laptop",null,false]' \
	"$(jqb "[.items[] | select(.id == \"$TID\") | .name, .revoked, has(\"token\")]")"
expect_eq "the secret appears nowhere in the list" 0 "$(grep -c "${TOK#berth_}" "$BODY")"
expect_eq "the secret is not stored" 0 \
	"$(psql -XAtqc "SELECT count(*) FROM tokens WHERE encode(secret_hash, 'hex') LIKE '%${TOK:38}%'")"
expect_eq "the secret is not in the audit log" 0 \
	"$(psql -XAtqc "SELECT count(*) FROM audit_log WHERE detail::text LIKE '%${TOK:38}%'")"
want "another user cannot list them: 404" 404 "$BOB" GET /users/tapi-alice/tokens
want "another user cannot create one: 404" 404 "$BOB" POST /users/tapi-alice/tokens '{"name":"evil"}'
want "another user cannot revoke one: 404" 404 "$BOB" DELETE /users/tapi-alice/tokens/$TID
want "admin lists a user's tokens" 200 "$ADMIN" GET /users/tapi-alice/tokens
want "token name is required: 400" 400 "$ALICE" POST /users/tapi-alice/tokens '{}'
want "negative expires_in: 400" 400 "$ALICE" POST /users/tapi-alice/tokens '{"name":"x","expires_in":-5}'
want "expires_in as text: 400" 400 "$ALICE" POST /users/tapi-alice/tokens '{"name":"x","expires_in":"1h"}'
want "a token without expiry" 201 "$ALICE" POST /users/tapi-alice/tokens '{"name":"forever"}'
expect_eq "no expiry" null "$(jqb .expires)"
want "revoke an unknown token: 404" 404 "$ALICE" DELETE /users/tapi-alice/tokens/00000000-0000-4000-8000-000000000000
want "revoke a malformed id: 404" 404 "$ALICE" DELETE /users/tapi-alice/tokens/nope
want "user revokes the token" 204 "$ALICE" DELETE /users/tapi-alice/tokens/$TID
want "revoked token refused (failed login)" 401 "tapi-alice:$TOK" GET /me
want "tokens after the revocation" 200 "$ALICE" GET /users/tapi-alice/tokens
expect_eq "list shows the revocation" true "$(jqb "[.items[] | select(.id == \"$TID\") | .revoked != null] | .[0]")"

# ---- service accounts ------------------------------------------------------------------
SA=/orgs/tapi-acme/service-accounts
want "owner creates a service account" 201 "$ALICE" POST $SA '{"name":"ci","description":"builds"}'
expect_eq "service account record" '["ci","tapi-acme+ci","builds",false]' \
	"$(jqb '[.name, .login, .description, .disabled]')"
want "same service account again: 409" 409 "$ALICE" POST $SA '{"name":"ci"}'
want "bad service account name: 400" 400 "$ALICE" POST $SA '{"name":"c+i"}'
want "owner adds carol back as a member" 200 "$ALICE" PUT /orgs/tapi-acme/members/tapi-carol '{"role":"member"}'
want "member cannot create one: 403" 403 "$CAROL" POST $SA '{"name":"evil"}'
want "member cannot list them: 403" 403 "$CAROL" GET $SA
want "outsider cannot create one: 404" 404 "$DAVE" POST $SA '{"name":"evil"}'
want "owner lists service accounts" 200 "$ALICE" GET $SA
expect_eq "listed" '["ci"]' "$(jqb '[.items[].name]')"
want "owner reads one" 200 "$ALICE" GET $SA/ci
want "unknown service account: 404" 404 "$ALICE" GET $SA/none
want "grant the service account write" 200 "$ALICE" PUT $SA/ci/grants '{"repository":"tapi-acme/app","level":"write"}'
want "service account grants" 200 "$ALICE" GET $SA/ci/grants
expect_eq "service account grant listed" '[["tapi-acme/app","write"]]' "$(jqb '[.items[] | [.repository, .level]]')"
want "owner creates a service account token" 201 "$ALICE" POST $SA/ci/tokens '{"name":"pipeline"}'
SATOK=$(jq -r .token "$BODY")
SATID=$(jq -r .id "$BODY")
expect_eq "login to use" '"tapi-acme+ci"' "$(jqb .login)"
expect_eq "service account pushes with its token" '["pull","push"]' \
	"$(actions "tapi-acme+ci:$SATOK" "repository:tapi-acme/app:pull,push")"
want "service account calls the API" 200 "tapi-acme+ci:$SATOK" GET /me
expect_eq "service account /me" '{"kind":"service_account","name":"tapi-acme+ci"}' "$(jqb .)"
want "service account cannot create orgs: 403" 403 "tapi-acme+ci:$SATOK" POST /orgs '{"name":"tapi-robots"}'
want "service account cannot see its org: 404" 404 "tapi-acme+ci:$SATOK" GET /orgs/tapi-acme
want "service account token list" 200 "$ALICE" GET $SA/ci/tokens
expect_eq "listed service token" '["pipeline","service"]' "$(jqb "[.items[] | select(.id == \"$SATID\") | .name, .kind]")"
want "owner disables the service account" 200 "$ALICE" PATCH $SA/ci '{"disabled":true}'
expect_eq "disabled" true "$(jqb .disabled)"
want "disabled service account refused (failed login)" 401 "tapi-acme+ci:$SATOK" GET /me
want "owner enables it again" 200 "$ALICE" PATCH $SA/ci '{"disabled":false,"description":"builds and tests"}'
expect_eq "description changed" '"builds and tests"' "$(jqb .description)"
want "owner revokes the service token" 204 "$ALICE" DELETE $SA/ci/tokens/$SATID
want "service tokens after the revocation" 200 "$ALICE" GET $SA/ci/tokens
expect_eq "service token revoked" true "$(jqb "[.items[] | select(.id == \"$SATID\") | .revoked != null] | .[0]")"
want "a user's token id is not the service account's: 404" 404 "$ALICE" DELETE $SA/ci/tokens/$TID
want "owner removes the service account grant" 204 "$ALICE" DELETE "$SA/ci/grants?repository=tapi-acme/app"
want "owner deletes the service account" 204 "$ALICE" DELETE $SA/ci
want "deleted service account: 404" 404 "$ALICE" GET $SA/ci

# ---- audit ------------------------------------------------------------------------------
want "plain user cannot read the audit log: 403" 403 "$BOB" GET /audit
want "audit: user.create records" 200 "$ADMIN" GET "/audit?action=user.create&target=tapi-alice&limit=1"
expect_eq "user.create of tapi-alice by admin" '[["admin","user.create","tapi-alice",true]]' \
	"$(jqb '[.items[] | [.actor, .action, .target, .success]]')"
expect_match "audit record has time and client" '^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z" "127\.0\.0\.1"$' \
	"$(jqb '.items[0].at') $(jqb '.items[0].client')"
for a in user.update org.create org.member.set org.member.delete team.create team.member.add \
	team.grant.set team.grant.delete repo.visibility repo.grant.set repo.grant.delete \
	token.create token.revoke sa.create sa.update sa.grant.set sa.delete team.delete; do
	req GET "$A/audit?action=$a&limit=1" -u "$ADMIN"
	expect_eq "audit has $a" 1 "$(jqb '.items | length')"
done
want "audit by actor" 200 "$ADMIN" GET "/audit?actor=tapi-alice&action=org.create"
expect_eq "alice created tapi-acme" '"tapi-acme"' "$(jqb '.items[0].target')"
want "audit newest first, one per page" 200 "$ADMIN" GET "/audit?actor=tapi-alice&limit=1"
FIRST=$(jqb '.items[0].id')
NEXT=$(jq -r .next "$BODY")
expect_eq "next is the page's last id" "$FIRST" "$NEXT"
want "older page" 200 "$ADMIN" GET "/audit?actor=tapi-alice&limit=1&before=$NEXT"
expect_eq "older page is older" true "$(jqb ".items[0].id < $FIRST")"
want "latest team grant record" 200 "$ADMIN" GET "/audit?action=team.grant.set&limit=1"
expect_eq "team grant audit detail" '{"grantee":"team tapi-acme/tapi-devs","level":"admin","repository":"tapi-acme/lib"}' \
	"$(jq -cS '.items[0].detail' "$BODY")"
want "before must be a number: 400" 400 "$ADMIN" GET "/audit?before=x"

# ---- deletions ---------------------------------------------------------------------------
want "carol creates an org of her own" 201 "$CAROL" POST /orgs '{"name":"tapi-solo"}'
want "the last owner of an org cannot be deleted: 409" 409 "$ADMIN" DELETE /users/tapi-carol
want "plain user cannot delete users: 403" 403 "$BOB" DELETE /users/tapi-dave
want "owner deletes the org" 204 "$CAROL" DELETE /orgs/tapi-solo
want "deleted org: 404" 404 "$CAROL" GET /orgs/tapi-solo
want "admin deletes a user" 204 "$ADMIN" DELETE /users/tapi-carol
want "deleted user: 404" 404 "$ADMIN" GET /users/tapi-carol
want "deleted user left the org" 200 "$ALICE" GET /orgs/tapi-acme/members
expect_eq "members after the deletion" '["tapi-alice","tapi-bob"]' "$(jqb '[.items[].user]')"
want "a namespace with repositories is kept: 409" 409 "$ADMIN" DELETE /users/tapi-alice
want "force (delete_repositories' older name) deletes it with its repositories" 204 \
	"$ADMIN" DELETE "/users/tapi-alice?force=true"
expect_eq "tapi-alice's repositories went with her" 0 \
	"$(psql -XAtqc "SELECT count(*) FROM repositories WHERE name LIKE 'tapi-alice/%'")"
want "org repository row" 200 "$BOB" PUT /repositories/tapi-acme/app/visibility '{"public":false}'
want "an org with repositories is kept: 409" 409 "$BOB" DELETE /orgs/tapi-acme
want "force deletes the org with its repositories" 204 "$BOB" DELETE "/orgs/tapi-acme?force=true"
want "former owner: the org is gone" 404 "$BOB" GET /orgs/tapi-acme
want "former owner: its repository is out of reach" 404 "$BOB" GET /repositories/tapi-acme/app
want "administrators see the name" 200 "$ADMIN" GET /repositories/tapi-acme/app
expect_eq "... with no repository behind it" '[null,false]' "$(jqb '[.created, .public]')"
