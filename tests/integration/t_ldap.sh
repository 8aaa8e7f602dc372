# Directory logins against a real OpenLDAP slapd: provisioning, the name
# forms that must be refused (injection), groups (direct, nested, cyclic,
# more than the server's size limit) mapped to teams end to end, removal
# from a group by sync, tokens of a user who left the directory, StartTLS
# with a wrong CA, failover to the next server, and local accounts that a
# directory user cannot take over.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/extra.sh"
. "$ROOT/tests/integration/auth.sh"
. "$ROOT/tests/integration/ldap.sh"

W=$SCRATCH
slapd_start "$W/slapd" && slapd_load_fixtures ||
	{ not_ok "start slapd with fixtures" "see $W/slapd"; exit 0; }
trap 'authd_local_stop; slapd_stop' EXIT

# 60 groups holding carol: her group search passes the size limit (50).
{
	for i in $(seq -w 1 60); do
		printf 'dn: cn=many%s,%s\nobjectClass: groupOfNames\ncn: many%s\nmember: uid=carol,%s\n\n' \
			"$i" "$SLAPD_GROUPS_BASE" "$i" "$SLAPD_PEOPLE_BASE"
	done
} >"$W/many.ldif"
LDAPTLS_CACERT=$SLAPD_CA ldapadd -x -H "$SLAPD_URLS" -D "$SLAPD_ROOT_DN" \
	-w "$SLAPD_ROOT_PW" -f "$W/many.ldif" >/dev/null ||
	not_ok "load 60 groups" "ldapadd failed"

ldap_conf=(
	"ldap_urls = ldap://127.0.0.1:1, $SLAPD_URL"
	"ldap_ca_file = $SLAPD_CA"
	"ldap_bind_dn = $SLAPD_BIND_DN"
	"ldap_bind_password = $SLAPD_BIND_PW"
	"ldap_user_base = $SLAPD_PEOPLE_BASE"
	"ldap_group_base = $SLAPD_GROUPS_BASE"
	"ldap_group_filter = (&(objectClass=groupOfNames)(member=%s))"
	"ldap_page_size = 20"
	"credential_cache_ttl = 0"
	"ldap_sync_interval = 0"
)
authd_local_start "$W/authd" "${ldap_conf[@]}" ||
	{ not_ok "start authd with a directory" "see $W/authd/log"; exit 0; }
A=$AUTHD_LOCAL

# get_token USER PASS [SCOPE]: sets STATUS and TOKEN.
get_token() {
	TOKEN=
	req GET "$A/token?service=berth-registry${3:+&scope=$3}" -u "$1:$2"
	[ "$STATUS" = 200 ] && TOKEN=$(jq -r .token "$BODY")
}
access_of() {
	jwt_claims "$TOKEN" | jq -c '[.access[]? | .actions] | add // []'
}

get_token alice "${SLAPD_PW[alice]}"
expect_eq "directory user logs in (StartTLS, after a dead first server)" 200 "$STATUS"
expect_eq "first login provisions the user from the directory" \
	"ldap|alice@berth.test" \
	"$(psql -Atc "SELECT source || '|' || email FROM users WHERE name = 'alice'")"
get_token alice wrong-password
expect_eq "wrong directory password is 401" 401 "$STATUS"
body_wrong=$(cat "$BODY")
get_token nosuchuser whatever
expect_eq "unknown directory user is 401" 401 "$STATUS"
expect_eq "unknown user and wrong password answer the same" "$body_wrong" "$(cat "$BODY")"
get_token alice ""
expect_eq "empty password is refused before any bind" 401 "$STATUS"
for evil in '*' ')(uid=*' 'alice)(uid=*' 'al*' 'alice\' '\2a'; do
	get_token "$evil" "${SLAPD_PW[alice]}"
	expect_eq "injection attempt \"$evil\" in the name is refused" 401 "$STATUS"
done
req GET "$A/token?service=berth-registry" -u "$(printf 'alice\001'):x"
expect_eq "a control character in the name is refused" 401 "$STATUS"
expect_eq "no user was provisioned by an injection attempt" 0 \
	"$(psql -Atc "SELECT count(*) FROM users WHERE name ~ '[*()\\\\]' OR name LIKE 'al%' AND name <> 'alice'")"

# A team linked to all-staff; alice reaches it through
# developers -> platform -> all-staff.
psql -q <<SQL
INSERT INTO namespaces VALUES ('tldap', true);
INSERT INTO organizations (name) VALUES ('tldap');
INSERT INTO teams (org_id, name, ldap_group_dn)
  SELECT id, 'staff', 'cn=all-staff,$SLAPD_GROUPS_BASE' FROM organizations WHERE name = 'tldap';
INSERT INTO teams (org_id, name, ldap_group_dn)
  SELECT id, 'many', 'cn=many60,$SLAPD_GROUPS_BASE' FROM organizations WHERE name = 'tldap';
INSERT INTO teams (org_id, name, ldap_group_dn)
  SELECT id, 'cyclic', 'cn=cycle-b,$SLAPD_GROUPS_BASE' FROM organizations WHERE name = 'tldap';
INSERT INTO grants (namespace, repository, team_id, level)
  SELECT 'tldap', NULL, id, 2 FROM teams WHERE name = 'staff';
INSERT INTO grants (namespace, repository, team_id, level)
  SELECT 'tldap', 'tldap/many', id, 1 FROM teams WHERE name = 'many';
INSERT INTO grants (namespace, repository, team_id, level)
  SELECT 'tldap', 'tldap/cyclic', id, 1 FROM teams WHERE name = 'cyclic';
SQL
get_token alice "${SLAPD_PW[alice]}" "repository:tldap/app:pull,push"
expect_eq "nested group member gets the team's write access" '["pull","push"]' "$(access_of)"
expect_eq "login added alice to the linked team" 1 \
	"$(psql -Atc "SELECT count(*) FROM team_members tm JOIN teams t ON t.id = tm.team_id JOIN users u ON u.id = tm.user_id WHERE t.name = 'staff' AND u.name = 'alice'")"
get_token bob "${SLAPD_PW[bob]}" "repository:tldap/app:pull,push"
expect_eq "a user outside the group gets nothing" '[]' "$(access_of)"
get_token carol "${SLAPD_PW[carol]}" "repository:tldap/many:pull"
expect_eq "a group beyond the size limit is found (paged search)" '["pull"]' "$(access_of)"
get_token dave "${SLAPD_PW[dave]}" "repository:tldap/cyclic:pull"
expect_eq "groups in a cycle resolve and the login ends" '["pull"]' "$(access_of)"

# skopeo push through a registryd that trusts this authd.
extra_start "$W/reg" REGISTRYD_AUTH_REALM="$A/token" REGISTRYD_AUTH_JWKS_URL="$A/jwks" ||
	not_ok "start a registryd with auth" "see $W/reg/log"
oci_layout_make "$W/layout" latest 2 >/dev/null 2>&1
if skopeo copy -q --authfile "$W/auth.json" --dest-tls-verify=false \
	--dest-creds "alice:${SLAPD_PW[alice]}" "oci:$W/layout:latest" \
	"docker://127.0.0.1:$EXTRA_PORT/tldap/app:1" >"$W/skopeo.log" 2>&1; then
	ok "skopeo pushes as a nested-group member"
else
	not_ok "skopeo pushes as a nested-group member" "$(tail -c 300 "$W/skopeo.log")"
fi

# A personal access token of alice's (stored as authd stores them), then
# alice leaves the directory.
pat_id=$(cat /proc/sys/kernel/random/uuid | tr -d -)
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret_sha=$(printf "$(echo "$secret" | sed 's/../\\x&/g')" | sha256sum | cut -d' ' -f1)
psql -q -c "INSERT INTO tokens (id, kind, user_id, name, secret_hash) SELECT '$pat_id', 'personal', id, 'tpat', decode('$secret_sha', 'hex') FROM users WHERE name = 'alice'"
pat=berth_$pat_id$secret
get_token alice "$pat"
expect_eq "alice's access token works while she is in the directory" 200 "$STATUS"

# Remove alice from developers; sync; the team loses her.
printf 'dn: cn=developers,%s\nchangetype: modify\ndelete: member\nmember: uid=alice,%s\n' \
	"$SLAPD_GROUPS_BASE" "$SLAPD_PEOPLE_BASE" |
	LDAPTLS_CACERT=$SLAPD_CA ldapmodify -x -H "$SLAPD_URLS" -D "$SLAPD_ROOT_DN" \
		-w "$SLAPD_ROOT_PW" >/dev/null || not_ok "remove alice from developers" "ldapmodify"
req POST "$A/api/v1/ldap/sync" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "an administrator runs a directory sync" 200 "$STATUS"
expect_eq "after sync alice is out of the team" 0 \
	"$(psql -Atc "SELECT count(*) FROM team_members tm JOIN teams t ON t.id = tm.team_id JOIN users u ON u.id = tm.user_id WHERE t.name = 'staff' AND u.name = 'alice'")"
get_token alice "${SLAPD_PW[alice]}" "repository:tldap/app:pull,push"
expect_eq "a user removed from the group loses the team's access" '[]' "$(access_of)"
req POST "$A/api/v1/ldap/sync" -u "alice:${SLAPD_PW[alice]}"
expect_eq "a plain user may not run a sync" 403 "$STATUS"

LDAPTLS_CACERT=$SLAPD_CA ldapdelete -x -H "$SLAPD_URLS" -D "$SLAPD_ROOT_DN" \
	-w "$SLAPD_ROOT_PW" "uid=alice,$SLAPD_PEOPLE_BASE" || not_ok "delete alice" "ldapdelete"
get_token alice "$pat"
expect_eq "a token of a user gone from the directory stops working" 401 "$STATUS"
req POST "$A/api/v1/ldap/sync" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "sync disables the user who left the directory" t \
	"$(psql -Atc "SELECT disabled FROM users WHERE name = 'alice'")"

# A local account is never taken over by a directory user of that name.
psql -q -c "INSERT INTO namespaces VALUES ('erin', false)" \
	-c "INSERT INTO users (name, password_hash) SELECT 'erin', password_hash FROM users WHERE name = 'admin'"
get_token erin "${SLAPD_PW[erin]}"
expect_eq "a directory password does not open a local account" 401 "$STATUS"
get_token erin "$AUTHD_ADMIN_PASSWORD"
expect_eq "the local account's own password still works" 200 "$STATUS"

authd_local_stop
expect_eq "authd with a directory exits 0" 0 "$?"
extra_stop

# StartTLS against a CA that did not sign the server's certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$W/other.key" -out "$W/other-ca.pem" -days 1 -subj /CN=other \
	>/dev/null 2>&1
authd_local_start "$W/authd2" "ldap_urls = $SLAPD_URL" "ldap_ca_file = $W/other-ca.pem" \
	"ldap_bind_dn = $SLAPD_BIND_DN" "ldap_bind_password = $SLAPD_BIND_PW" \
	"ldap_user_base = $SLAPD_PEOPLE_BASE" "credential_cache_ttl = 0" ||
	not_ok "start authd with a wrong CA" "see $W/authd2/log"
A=$AUTHD_LOCAL
get_token bob "${SLAPD_PW[bob]}"
expect_eq "StartTLS with the wrong CA refuses the login" 401 "$STATUS"
check "the log says StartTLS failed" grep -q "StartTLS" "$W/authd2/log"
authd_local_stop
