#!/bin/bash
# berthctl against authd: commands map to the management API, results
# print as JSON or a short line, exit codes are 0 (done), 1 (refused by the
# API or the network, reason on stderr) and 2 (usage), and the login
# password never shows. Names start with "tctl"; the database is shared.
. "$(dirname "$0")/lib.sh"

if [ -z "${AUTHD:-}" ] || [ -z "${AUTHD_ADMIN_PASSWORD:-}" ]; then
	not_ok "harness exports AUTHD and AUTHD_ADMIN_PASSWORD" "unset"
	exit 0
fi
CTL=$BUILD/berthctl
OUT=$SCRATCH/out
ERR=$SCRATCH/err
SERVICE=${AUTHD_SERVICE:-berth-registry}
export BERTH_URL=$AUTHD
unset BERTH_USER BERTH_PASSWORD

# as USER PASSWORD ARGS...: runs berthctl as USER; sets RC, output in
# $OUT and $ERR. Stdin is empty unless the caller redirects it.
as() {
	local user=$1 pw=$2
	shift 2
	BERTH_USER=$user BERTH_PASSWORD=$pw "$CTL" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}
admin() { as admin "$AUTHD_ADMIN_PASSWORD" "$@"; }

# rc NAME WANT: checks the last exit code.
rc() {
	if [ "$RC" = "$2" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "exit $RC, want $2; stdout: $(head -c 200 "$OUT"); stderr: $(head -c 200 "$ERR")"
	return 1
}

out() { jq -c "$1" "$OUT" 2>/dev/null; }

# actions CREDS SCOPE: the actions /token grants CREDS for SCOPE.
actions() {
	local p
	req GET "$AUTHD/token?service=$SERVICE&scope=$2" -u "$1"
	p=$(jq -r .token "$BODY" | cut -d. -f2 | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d 2>/dev/null | jq -c '[.access[]?.actions[]]'
}

# ---- usage -------------------------------------------------------------------
"$CTL" >"$OUT" 2>"$ERR" </dev/null
RC=$?
rc "no command: exit 2" 2
"$CTL" --help >"$OUT" 2>"$ERR"
RC=$?
rc "--help: exit 0" 0
expect_match "--help lists the commands" "team grant ORG TEAM REPO\|--org" "$(cat "$OUT")"
admin frobnicate
rc "unknown command: exit 2" 2
expect_match "unknown command names it" 'unknown command "frobnicate"' "$(cat "$ERR")"
admin user get
rc "missing argument: exit 2" 2
admin user get a b
rc "extra argument: exit 2" 2
admin user list --bogus
rc "unknown option: exit 2" 2
admin team grant tctl-org devs tctl-org/app superuser
rc "bad level: exit 2" 2
admin org member set tctl-org someone boss
rc "bad role: exit 2" 2
admin api POST /orgs '{"name":'
rc "bad JSON for api: exit 2" 2
BERTH_USER=admin "$CTL" me >"$OUT" 2>"$ERR" </dev/null
RC=$?
rc "no password anywhere: exit 2" 2
"$CTL" me >"$OUT" 2>"$ERR" </dev/null
RC=$?
rc "no login: exit 2" 2

# ---- login ---------------------------------------------------------------------
admin me
rc "me as admin: exit 0" 0
expect_eq "me prints the caller as JSON" '["admin",true]' "$(out '[.name, .admin]')"
as admin wrong-password me
rc "wrong password: exit 1 (failed login)" 1
expect_match "wrong password: the API's reason on stderr" "authentication required \(HTTP 401\)" "$(cat "$ERR")"
expect_eq "nothing on stdout after an error" "" "$(cat "$OUT")"
expect_eq "the wrong password does not show" 0 "$(cat "$OUT" "$ERR" | grep -cF wrong-password)"
printf '%s\n' "$AUTHD_ADMIN_PASSWORD" | BERTH_USER=admin "$CTL" --password-stdin me >"$OUT" 2>"$ERR"
RC=$?
rc "--password-stdin" 0
"$CTL" --url "$AUTHD/" --user admin --password-stdin me >"$OUT" 2>"$ERR" <<<"$AUTHD_ADMIN_PASSWORD"
RC=$?
rc "--url with a trailing slash and --user" 0
BERTH_URL=http://127.0.0.1:1 admin me
rc "unreachable authd: exit 1" 1
expect_match "unreachable: curl's reason" "Could not connect|Couldn't connect|Connection refused" "$(cat "$ERR")"

# ---- users -----------------------------------------------------------------------
admin user create tctl-ann --email ann@example.com
rc "user create: exit 0" 0
ANNPW=$(jq -r .password "$OUT")
expect_match "generated password printed once, in the result" '^[A-Za-z0-9]{20}$' "$ANNPW"
expect_eq "user create result" '["tctl-ann","ann@example.com",false]' "$(out '[.name, .email, .admin]')"
as tctl-ann "$ANNPW" me
rc "the generated password works" 0
printf '%s\n%s\n' "$AUTHD_ADMIN_PASSWORD" benpass123 |
	BERTH_USER=admin "$CTL" --password-stdin user create tctl-ben --new-password-stdin >"$OUT" 2>"$ERR"
RC=$?
rc "user create with --new-password-stdin after --password-stdin" 0
expect_eq "no password in the result when it was given" false "$(out 'has("password")')"
as tctl-ben benpass123 me
rc "the given password works" 0
admin user create tctl-ann
rc "user create of a taken name: exit 1" 1
expect_match "taken name: reason" "already exists \(HTTP 409\)" "$(cat "$ERR")"
admin user create tctl-cat --admin --new-password-stdin <<<catpass123
rc "user create --admin" 0
expect_eq "admin flag set" true "$(out .admin)"
admin user update tctl-cat --no-admin --display-name Cat
rc "user update" 0
expect_eq "user update result" '[false,"Cat"]' "$(out '[.admin, .display_name]')"
admin user update tctl-cat --admin --no-admin
rc "--admin with --no-admin: exit 2" 2
admin user list --limit 2
rc "user list --limit 2" 0
expect_eq "two users listed" 2 "$(out length)"
admin user list
rc "user list follows every page" 0
expect_eq "all of tctl's users listed" '["tctl-ann","tctl-ben","tctl-cat"]' \
	"$(out '[.[].name | select(startswith("tctl-"))]')"
admin user disable tctl-cat
rc "user disable" 0
expect_eq "disabled" true "$(out .disabled)"
admin user enable tctl-cat
rc "user enable" 0
expect_eq "enabled" false "$(out .disabled)"
as tctl-ben benpass123 user create tctl-evil
rc "plain user cannot create users: exit 1" 1
expect_match "plain user: reason" "system administrators only \(HTTP 403\)" "$(cat "$ERR")"
as tctl-ben benpass123 user password tctl-ben --new-password-stdin <<<benpass456
rc "user changes own password (current one sent for them)" 0
expect_eq "password change line" "changed the password of tctl-ben" "$(cat "$OUT")"
as tctl-ben benpass456 me
rc "new password works" 0
admin user password tctl-cat
rc "admin resets a password" 0
CATPW=$(sed -n 's/^new password for tctl-cat: //p' "$OUT")
as tctl-cat "$CATPW" me
rc "reset password works" 0

# ---- organizations and teams ---------------------------------------------------------
ANN=(as tctl-ann "$ANNPW")
"${ANN[@]}" org create tctl-org
rc "org create" 0
expect_eq "org create result" '"tctl-org"' "$(out .name)"
"${ANN[@]}" org member set tctl-org tctl-ben member
rc "org member set" 0
expect_eq "member set result" '{"user":"tctl-ben","role":"member"}' "$(out .)"
"${ANN[@]}" org members tctl-org
rc "org members" 0
expect_eq "members listed" '[["tctl-ann","owner"],["tctl-ben","member"]]' "$(out '[.[] | [.user, .role]]')"
"${ANN[@]}" org list
rc "org list" 0
expect_eq "ann's orgs" '["tctl-org"]' "$(out '[.[].name]')"
"${ANN[@]}" team create tctl-org devs --description "the developers"
rc "team create" 0
expect_eq "team create result" '["devs","the developers"]' "$(out '[.name, .description]')"
"${ANN[@]}" team member add tctl-org devs tctl-ben
rc "team member add" 0
"${ANN[@]}" team members tctl-org devs
expect_eq "team members" '["tctl-ben"]' "$(out '[.[].user]')"
"${ANN[@]}" team grant tctl-org devs tctl-org/app write
rc "team grant on a repository" 0
expect_eq "team grant result" '{"repository":"tctl-org/app","level":"write"}' "$(out .)"
"${ANN[@]}" team grant tctl-org devs --org read
rc "team grant --org" 0
expect_eq "org-wide grant" null "$(out .repository)"
"${ANN[@]}" team grants tctl-org devs
expect_eq "team grants" '[[null,"read"],["tctl-org/app","write"]]' "$(out '[.[] | [.repository, .level]]')"
expect_eq "the grant reaches /token: ben may push" '["push"]' \
	"$(actions tctl-ben:benpass456 repository:tctl-org/app:push)"
as tctl-ben benpass456 team grant tctl-org devs --org admin
rc "member cannot grant: exit 1" 1
"${ANN[@]}" team revoke tctl-org devs --org
rc "team revoke --org" 0
expect_eq "revoke line" "revoked the grant on tctl-org" "$(cat "$OUT")"
"${ANN[@]}" team revoke tctl-org devs tctl-org/app
rc "team revoke a repository grant" 0
"${ANN[@]}" team revoke tctl-org devs tctl-org/app
rc "revoking it again: exit 1" 1
"${ANN[@]}" team member remove tctl-org devs tctl-ben
rc "team member remove" 0

# ---- repositories ---------------------------------------------------------------------
"${ANN[@]}" repo visibility tctl-ann/tools public
rc "repo visibility public" 0
expect_eq "visibility result" '["tctl-ann/tools",true]' "$(out '[.name, .public]')"
"${ANN[@]}" repo visibility tctl-ann/tools hidden
rc "visibility other than public|private: exit 2" 2
"${ANN[@]}" repo visibility tctl-ann/private private
"${ANN[@]}" repo grant tctl-ann/private tctl-ben read
rc "repo grant" 0
as tctl-ben benpass456 repo get tctl-ann/private
rc "granted user reads the repository" 0
expect_eq "granted level" '"read"' "$(out .level)"
as tctl-ben benpass456 repo list
expect_eq "ben's repositories of ann" '["tctl-ann/private","tctl-ann/tools"]' \
	"$(out '[.[].name | select(startswith("tctl-ann/"))]')"
"${ANN[@]}" repo revoke tctl-ann/private tctl-ben
rc "repo revoke" 0
as tctl-ben benpass456 repo get tctl-ann/private
rc "revoked: the repository is hidden again (exit 1)" 1
expect_match "hidden repository: not found" "not found \(HTTP 404\)" "$(cat "$ERR")"

# ---- tokens -----------------------------------------------------------------------------
"${ANN[@]}" token create laptop --expires-in 3600
rc "token create" 0
TOK=$(jq -r .token "$OUT")
TID=$(jq -r .id "$OUT")
expect_match "token printed once" '^berth_[0-9a-f]{96}$' "$TOK"
as tctl-ann "$TOK" me
rc "token as the password" 0
expect_eq "token login" '"tctl-ann"' "$(out .name)"
"${ANN[@]}" token list
rc "token list" 0
expect_eq "listed without the secret" '["laptop",false]' "$(out "[.[] | select(.id == \"$TID\") | .name, has(\"token\")]")"
"${ANN[@]}" token create --expires-in soon x
rc "bad --expires-in: exit 2" 2
as tctl-ben benpass456 token list --user tctl-ann
rc "another user's tokens: exit 1" 1
admin token list --user tctl-ann
rc "admin lists another user's tokens" 0
"${ANN[@]}" token revoke "$TID"
rc "token revoke" 0
expect_eq "revoke line" "revoked token $TID" "$(cat "$OUT")"

# ---- service accounts ---------------------------------------------------------------------
"${ANN[@]}" sa create tctl-org ci --description builds
rc "sa create" 0
expect_eq "sa login" '"tctl-org+ci"' "$(out .login)"
"${ANN[@]}" sa grant tctl-org ci tctl-org/app write
rc "sa grant" 0
"${ANN[@]}" sa grants tctl-org ci
expect_eq "sa grants" '[["tctl-org/app","write"]]' "$(out '[.[] | [.repository, .level]]')"
"${ANN[@]}" sa token tctl-org ci pipeline
rc "sa token" 0
SATOK=$(jq -r .token "$OUT")
SATID=$(jq -r .id "$OUT")
as tctl-org+ci "$SATOK" me
rc "service account signs in with its token" 0
expect_eq "service account me" '"service_account"' "$(out .kind)"
"${ANN[@]}" sa tokens tctl-org ci
expect_eq "sa tokens" '["pipeline"]' "$(out '[.[].name]')"
"${ANN[@]}" sa disable tctl-org ci
rc "sa disable" 0
expect_eq "sa disabled" true "$(out .disabled)"
"${ANN[@]}" sa enable tctl-org ci
rc "sa enable" 0
"${ANN[@]}" sa token-revoke tctl-org ci "$SATID"
rc "sa token-revoke" 0
"${ANN[@]}" sa revoke tctl-org ci tctl-org/app
rc "sa revoke" 0
"${ANN[@]}" sa list tctl-org
expect_eq "sa list" '["ci"]' "$(out '[.[].name]')"
"${ANN[@]}" sa delete tctl-org ci
rc "sa delete" 0
expect_eq "sa delete line" "deleted tctl-org+ci" "$(cat "$OUT")"

# ---- audit and raw calls -------------------------------------------------------------------
admin audit --limit 2 --action org.create
rc "audit" 0
expect_eq "audit: newest org.create, by ann" '"tctl-org"' \
	"$(out '[.[] | select(.actor == "tctl-ann")][0].target')"
expect_eq "audit --limit bounds the records" true "$(out 'length <= 2 and length >= 1')"
admin audit --actor tctl-ann --action token.revoke --target tctl-ann --limit 1
expect_eq "audit --actor, --action and --target" "[\"$TID\"]" "$(out '[.[].detail.id]')"
"${ANN[@]}" audit
rc "audit for a plain user: exit 1" 1
admin api GET /users/tctl-ann
rc "api GET" 0
expect_eq "api result" '"tctl-ann"' "$(out .name)"
admin api PATCH users/tctl-ann '{"display_name":"Ann"}'
rc "api PATCH, path without a slash" 0
admin api GET /nowhere
rc "api on an unknown path: exit 1" 1
admin api DELETE /users/tctl-cat
rc "api DELETE" 0
expect_eq "api without a body prints ok" ok "$(cat "$OUT")"

# ---- deletions, and the password never shows ------------------------------------------------
"${ANN[@]}" org delete tctl-org
rc "org delete" 0
admin user delete tctl-ben
rc "user delete" 0
expect_eq "user delete line" "deleted user tctl-ben" "$(cat "$OUT")"
admin user delete tctl-ann
rc "user delete of a namespace with repositories: exit 1" 1
admin user delete tctl-ann --force
rc "user delete --force" 0
expect_eq "user delete --force took the repositories" 0 \
	"$(psql -XAtqc "SELECT count(*) FROM repositories WHERE name LIKE 'tctl-ann/%'")"
admin user get tctl-nobody
expect_eq "the password does not show in an error" 0 \
	"$(cat "$OUT" "$ERR" | grep -cF -- "$AUTHD_ADMIN_PASSWORD")"
admin me
expect_eq "the password does not show in a result" 0 \
	"$(cat "$OUT" "$ERR" | grep -cF -- "$AUTHD_ADMIN_PASSWORD")"
