# Teams linked to directory groups through the management API and
# berthctl, against a real OpenLDAP slapd: the link (POST and PATCH, DN
# checked), the team's grant in a group member's token, manual members
# kept when a team is linked (local users for good), unlinking, `ldap
# sync` (administrators only), system administrators from
# ldap_admin_group, and a login over ldaps://. Every name starts with
# "tla"; the directory users are this file's own (uid tla-...), since the
# database is shared with t_ldap.sh and t_ad.sh.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/auth.sh"
. "$ROOT/tests/integration/ldap.sh"

W=$SCRATCH
slapd_start "$W/slapd" && slapd_load_fixtures ||
	{ not_ok "tla: start slapd with fixtures" "see $W/slapd"; exit 0; }

G=$SLAPD_GROUPS_BASE
P=$SLAPD_PEOPLE_BASE
DEVS=cn=tla-devs,$G
OUTER=cn=tla-outer,$G
ADMINS=cn=tla-admins,$G
declare -A PW=([tla-ann]=tla-ann-pw-1 [tla-ben]=tla-ben-pw-1 [tla-root]=tla-root-pw-1)

# Users first, then groups: tla-outer holds tla-devs (nesting).
{
	for u in tla-ann tla-ben tla-root; do
		printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: Tester\nmail: %s@berth.test\nuserPassword: %s\n\n' \
			"$u" "$P" "$u" "$u" "$u" "${PW[$u]}"
	done
	printf 'dn: %s\nobjectClass: groupOfNames\ncn: tla-devs\nmember: uid=tla-ann,%s\n\n' "$DEVS" "$P"
	printf 'dn: %s\nobjectClass: groupOfNames\ncn: tla-outer\nmember: %s\n\n' "$OUTER" "$DEVS"
	# groupOfNames needs a member: tla-nobody (no such entry) remains.
	printf 'dn: %s\nobjectClass: groupOfNames\ncn: tla-admins\nmember: uid=tla-root,%s\nmember: uid=tla-nobody,%s\n\n' \
		"$ADMINS" "$P" "$P"
} >"$W/tla.ldif"
ldapadd -x -H "$SLAPD_URL" -D "$SLAPD_ROOT_DN" -w "$SLAPD_ROOT_PW" \
	-f "$W/tla.ldif" >"$W/ldapadd.log" 2>&1 ||
	{ not_ok "tla: add the test's users and groups" "$(tail -c 300 "$W/ldapadd.log")"; exit 0; }

ldap_conf=(
	"ldap_urls = $SLAPD_URL"
	"ldap_ca_file = $SLAPD_CA"
	"ldap_bind_dn = $SLAPD_BIND_DN"
	"ldap_bind_password = $SLAPD_BIND_PW"
	"ldap_user_base = $SLAPD_PEOPLE_BASE"
	"ldap_group_base = $SLAPD_GROUPS_BASE"
	"ldap_group_filter = (&(objectClass=groupOfNames)(member=%s))"
	"ldap_admin_group = $ADMINS"
	"credential_cache_ttl = 0"
	"ldap_sync_interval = 0"
)
authd_local_start "$W/authd" "${ldap_conf[@]}" ||
	{ not_ok "tla: start authd with a directory" "see $W/authd/log"; exit 0; }
A=$AUTHD_LOCAL

CTL=$BUILD/berthctl
OUT=$W/out
ERR=$W/err
export BERTH_URL=$A
unset BERTH_USER BERTH_PASSWORD

# api USER:PASS METHOD PATH [JSON]: a management API call on this authd.
api() {
	local creds=$1 method=$2 path=$3
	if [ $# -ge 4 ]; then
		req "$method" "$A/api/v1$path" -u "$creds" \
			-H 'Content-Type: application/json' --data-binary "$4"
	else
		req "$method" "$A/api/v1$path" -u "$creds"
	fi
}
ADM=admin:$AUTHD_ADMIN_PASSWORD
body() { jq -c "$1" "$BODY" 2>/dev/null; }

# ctl USER PASS ARGS...: berthctl as USER; sets RC, output in $OUT, $ERR.
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

# get_token USER [SCOPE]: sets STATUS and TOKEN; access_of: its actions.
get_token() {
	TOKEN=
	req GET "$A/token?service=berth-registry${2:+&scope=$2}" -u "$1:${PW[$1]}"
	[ "$STATUS" = 200 ] && TOKEN=$(jq -r .token "$BODY")
}
access_of() {
	jwt_claims "$TOKEN" | jq -c '[.access[]? | .actions[]] | sort'
}
members_of() {
	api "$ADM" GET "/orgs/tla/teams/$1/members"
	body '[.items[].user]'
}

# ---- setup: an organization, a local user, a directory user -----------------
get_token tla-ben
expect_eq "tla: a directory user outside every group logs in" 200 "$STATUS"
api "$ADM" POST /users '{"name":"tla-loc","password":"tla-loc-pw-1"}'
expect_eq "tla: a local user is created" 201 "$STATUS"
api "$ADM" POST /orgs '{"name":"tla"}'
expect_eq "tla: the organization is created" 201 "$STATUS"
for u in tla-ben tla-loc; do
	api "$ADM" PUT "/orgs/tla/members/$u" '{"role":"member"}'
done
expect_eq "tla: members added" 200 "$STATUS"

# ---- POST with ldap_group ---------------------------------------------------------
api "$ADM" POST /orgs/tla/teams "{\"name\":\"devs\",\"ldap_group\":\"$DEVS\"}"
expect_eq "tla: POST a team with ldap_group" 201 "$STATUS"
expect_eq "tla: the new team names its group" "\"$DEVS\"" "$(body .ldap_group)"
api "$ADM" POST /orgs/tla/teams '{"name":"bad","ldap_group":"not a dn"}'
expect_eq "tla: POST with an invalid DN is 400" 400 "$STATUS"
expect_error_code "tla: ... BAD_REQUEST" BAD_REQUEST
api "$ADM" GET /orgs/tla/teams/bad
expect_eq "tla: ... and creates no team" 404 "$STATUS"
api "$ADM" POST /orgs/tla/service-accounts '{"name":"ci","ldap_group":"cn=x"}'
expect_eq "tla: a service account takes no ldap_group" 400 "$STATUS"
api "$ADM" PUT /orgs/tla/teams/devs/grants '{"repository":null,"level":"write"}'
expect_eq "tla: devs may write to the organization" 200 "$STATUS"
api "$ADM" PUT /orgs/tla/teams/devs/members/tla-loc
expect_eq "tla: a local user joins the linked team by hand" 200 "$STATUS"

# ---- a group member's token -----------------------------------------------------------
get_token tla-ann "repository:tla/app:pull,push"
expect_eq "tla: a group member logs in" 200 "$STATUS"
expect_eq "tla: the token carries the linked team's grant" '["pull","push"]' "$(access_of)"
expect_eq "tla: the login put the member in the team" '["tla-ann","tla-loc"]' "$(members_of devs)"

# ---- berthctl team link: manual members stay until login or sync -------------
api "$ADM" POST /orgs/tla/teams '{"name":"ops"}'
expect_eq "tla: an unlinked team" 201 "$STATUS"
for u in tla-ben tla-loc; do
	api "$ADM" PUT "/orgs/tla/teams/ops/members/$u"
done
api "$ADM" PUT /orgs/tla/teams/ops/grants '{"repository":"tla/tools","level":"read"}'
get_token tla-ben "repository:tla/tools:pull"
expect_eq "tla: a manual member has the unlinked team's grant" '["pull"]' "$(access_of)"
ctl admin "$AUTHD_ADMIN_PASSWORD" team link tla ops "$OUTER"
rc "tla: berthctl team link" 0
expect_eq "tla: team link prints the team with its group" "[\"ops\",\"$OUTER\",2]" \
	"$(jq -c '[.name, .ldap_group, .members]' "$OUT" 2>/dev/null)"
expect_eq "tla: linking removes no member by itself" '["tla-ben","tla-loc"]' "$(members_of ops)"
get_token tla-ann "repository:tla/tools:pull"
expect_eq "tla: a nested group member gets the linked team's grant" '["pull"]' "$(access_of)"
get_token tla-ben "repository:tla/tools:pull"
expect_eq "tla: a directory user outside the group loses it at login" '[]' "$(access_of)"
expect_eq "tla: the local member stays in the linked team" '["tla-ann","tla-loc"]' "$(members_of ops)"
ctl admin "$AUTHD_ADMIN_PASSWORD" team link tla ops "cn=tla-outer,,bad"
rc "tla: team link with an invalid DN: exit 1" 1
expect_match "tla: ... with the API's reason" "distinguished name.*HTTP 400" "$(cat "$ERR")"
ctl admin "$AUTHD_ADMIN_PASSWORD" team create tla infra --ldap-group "$DEVS"
rc "tla: berthctl team create --ldap-group" 0
expect_eq "tla: ... links the new team" "\"$DEVS\"" "$(jq -c .ldap_group "$OUT" 2>/dev/null)"

# ---- PATCH: validation and who may ---------------------------------------------------
for bad in '"garbage"' '""' '"cn=a,"' '42' "\"cn=$(head -c 1100 /dev/zero | tr '\0' x)\""; do
	api "$ADM" PATCH /orgs/tla/teams/ops "{\"ldap_group\":$bad}"
	expect_eq "tla: PATCH ldap_group ${bad:0:20} is 400" 400 "$STATUS"
done
api "$ADM" PATCH /orgs/tla/teams/ops '{"ldap_group":"cn=x","name":"y"}'
expect_eq "tla: PATCH with an unknown field is 400" 400 "$STATUS"
api "$ADM" GET /orgs/tla/teams/ops
expect_eq "tla: refused PATCHes changed nothing" "\"$OUTER\"" "$(body .ldap_group)"
api "tla-ben:${PW[tla-ben]}" PATCH /orgs/tla/teams/ops '{"ldap_group":null}'
expect_eq "tla: PATCH by a member who is no owner is 403" 403 "$STATUS"
api "$ADM" POST /orgs '{"name":"tlb"}'
api "$ADM" POST /orgs/tlb/teams '{"name":"x"}'
api "tla-ben:${PW[tla-ben]}" PATCH /orgs/tlb/teams/x "{\"ldap_group\":\"$DEVS\"}"
expect_eq "tla: PATCH by an outsider is 404" 404 "$STATUS"
api "$ADM" PATCH /orgs/tla/teams/ops '{"description":"operations"}'
expect_eq "tla: PATCH description alone keeps the group" "[\"operations\",\"$OUTER\"]" \
	"$(body '[.description, .ldap_group]')"

# ---- unlink, then sync ---------------------------------------------------------------
ctl admin "$AUTHD_ADMIN_PASSWORD" team unlink tla devs
rc "tla: berthctl team unlink" 0
expect_eq "tla: the team has no group any more" null "$(jq -c .ldap_group "$OUT" 2>/dev/null)"
expect_eq "tla: unlinking removed the directory members, not the local one" \
	'["tla-loc"]' "$(members_of devs)"
api "$ADM" GET "/audit?action=team.update&target=tla/devs&limit=1"
expect_eq "tla: the audit log has the unlink" "[null,\"$DEVS\",1]" \
	"$(body '.items[0].detail | [.ldap_group, .was, .removed]')"
ctl admin "$AUTHD_ADMIN_PASSWORD" ldap sync
rc "tla: berthctl ldap sync as an administrator" 0
expect_eq "tla: ldap sync prints the API's JSON" number "$(jq -r '.disabled | type' "$OUT" 2>/dev/null)"
get_token tla-ann "repository:tla/app:pull,push"
expect_eq "tla: after unlink and sync the former member has no access" '[]' "$(access_of)"
expect_eq "tla: ... and the login did not bring her back" '["tla-loc"]' "$(members_of devs)"
ctl tla-ann "${PW[tla-ann]}" ldap sync
rc "tla: ldap sync by a plain user: exit 1" 1
expect_match "tla: ... refused for administrators only" "system administrators only \(HTTP 403\)" "$(cat "$ERR")"

# ---- ldap_admin_group ----------------------------------------------------------------
get_token tla-root "repository:tla/app:delete"
expect_eq "tla: a member of ldap_admin_group may delete anywhere" '["delete"]' "$(access_of)"
api "tla-root:${PW[tla-root]}" GET /me
expect_eq "tla: ... and is a system administrator" true "$(body .admin)"
printf 'dn: %s\nchangetype: modify\ndelete: member\nmember: uid=tla-root,%s\n' "$ADMINS" "$P" |
	ldapmodify -x -H "$SLAPD_URL" -D "$SLAPD_ROOT_DN" -w "$SLAPD_ROOT_PW" \
		>"$W/ldapmodify.log" 2>&1 ||
	not_ok "tla: remove tla-root from tla-admins" "$(tail -c 300 "$W/ldapmodify.log")"
get_token tla-root "repository:tla/app:delete"
expect_eq "tla: removed from the group, the next login is no administrator's" '[]' "$(access_of)"
expect_eq "tla: ... and users.is_admin is false again" f \
	"$(psql -Atc "SELECT is_admin FROM users WHERE name = 'tla-root'")"

authd_local_stop
expect_eq "tla: authd exits 0" 0 "$?"

# ---- ldaps:// -----------------------------------------------------------------------------
ldap_conf[0]="ldap_urls = $SLAPD_URLS"
authd_local_start "$W/authd2" "${ldap_conf[@]}" ||
	{ not_ok "tla: start authd with ldaps://" "see $W/authd2/log"; exit 0; }
A=$AUTHD_LOCAL
get_token tla-ann
expect_eq "tla: a directory user logs in over ldaps://" 200 "$STATUS"
authd_local_stop
expect_eq "tla: authd (ldaps://) exits 0" 0 "$?"
