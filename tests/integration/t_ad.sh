# Active Directory logins against a real Samba AD DC (in a network
# namespace of this file's own, see ldap.sh): the three name forms, LDAPS
# and StartTLS, disabled, expired and must-change accounts, names that are
# not Berth names, and nested groups through LDAP_MATCHING_RULE_IN_CHAIN
# mapped to a team.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/auth.sh"
. "$ROOT/tests/integration/ldap.sh"

if ! netns_enter "$0"; then
	not_ok "ad: enter a network namespace" "$NETNS_ERR"
	exit 0
fi
W=$SCRATCH
samba_provision_cached "$W/ad" && samba_start "$W/ad" ||
	{ not_ok "ad: start the domain controller" "see $W/ad/log"; exit 0; }
trap 'authd_local_stop; samba_stop' EXIT

ad_conf() {
	echo "ldap_type = ad"
	echo "ldap_urls = $1"
	echo "ldap_ca_file = $AD_CA"
	echo "ldap_bind_dn = $AD_BIND_DN"
	echo "ldap_bind_password = $AD_BIND_PW"
	echo "ldap_user_base = $AD_BASE"
	echo "ldap_group_base = $AD_GROUPS_BASE"
	echo "credential_cache_ttl = 0"
	echo "ldap_sync_interval = 0"
}
mapfile -t conf < <(ad_conf "$AD_URL")
authd_local_start "$W/authd" "${conf[@]}" ||
	{ not_ok "ad: start authd with Active Directory" "see $W/authd/log"; exit 0; }
A=$AUTHD_LOCAL

get_token() {
	TOKEN=
	req GET "$A/token?service=berth-registry${3:+&scope=$3}" -u "$1:$2"
	[ "$STATUS" = 200 ] && TOKEN=$(jq -r .token "$BODY")
}
access_of() {
	jwt_claims "$TOKEN" | jq -c '[.access[]? | .actions] | add // []'
}
sub_of() {
	jwt_claims "$TOKEN" | jq -r .sub
}

get_token dlee "${AD_PW[dlee]}"
expect_eq "ad: sAMAccountName logs in over LDAPS" 200 "$STATUS"
expect_eq "ad: the Berth user is the account name" dlee "$(sub_of)"
get_token "dlee@$AD_UPN_SUFFIX" "${AD_PW[dlee]}"
expect_eq "ad: user@realm logs in" "200 dlee" "$STATUS $(sub_of)"
get_token "$AD_DOMAIN\\dlee" "${AD_PW[dlee]}"
expect_eq "ad: DOMAIN\\user logs in" "200 dlee" "$STATUS $(sub_of)"
expect_eq "ad: provisioned once, with the display name" "1|Dana Lee" \
	"$(psql -Atc "SELECT count(*) || '|' || max(display_name) FROM users WHERE name = 'dlee' AND source = 'ldap'")"
get_token dlee wrong-Password-1
expect_eq "ad: wrong password is 401" 401 "$STATUS"
get_token dlee ""
expect_eq "ad: empty password is refused (AD would take it as anonymous)" 401 "$STATUS"
for who in disabled expired mustchange; do
	get_token "$who" "${AD_PW[$who]}"
	expect_eq "ad: the $who account is refused" 401 "$STATUS"
done
check "ad: the reason for the disabled account is in the log" \
	grep -q "account disabled in the directory" "$W/authd/log"
if grep -q "account disabled" "$BODY"; then
	not_ok "ad: the response does not give the reason" "$(cat "$BODY")"
else
	ok "ad: the response does not give the reason"
fi
get_token 'a(b)c' "${AD_PW['a(b)c']}"
expect_eq "ad: an account name that is not a Berth name is refused" 401 "$STATUS"
get_token '*' "${AD_PW[dlee]}"
expect_eq "ad: a wildcard name is refused" 401 "$STATUS"

# carol is in berth-platform, which is in berth-all: the team follows.
psql -q <<SQL
INSERT INTO namespaces VALUES ('tad', true) ON CONFLICT DO NOTHING;
INSERT INTO organizations (name) VALUES ('tad') ON CONFLICT DO NOTHING;
INSERT INTO teams (org_id, name, ldap_group_dn)
  SELECT id, 'all', 'CN=berth-all,$AD_GROUPS_BASE' FROM organizations WHERE name = 'tad';
INSERT INTO grants (namespace, repository, team_id, level)
  SELECT 'tad', NULL, t.id, 2 FROM teams t JOIN organizations o ON o.id = t.org_id
  WHERE o.name = 'tad' AND t.name = 'all';
SQL
get_token carol "${AD_PW[carol]}" "repository:tad/app:pull,push"
expect_eq "ad: a nested group member gets the team's access" '["pull","push"]' "$(access_of)"
get_token bob "${AD_PW[bob]}" "repository:tad/app:pull,push"
expect_eq "ad: a user outside the group gets nothing" '[]' "$(access_of)"
get_token dave "${AD_PW[dave]}"
expect_eq "ad: a member of cyclic groups logs in" 200 "$STATUS"
authd_local_stop
expect_eq "ad: authd exits 0" 0 "$?"

# StartTLS on ldap://, and failover from a server that is down.
mapfile -t conf < <(ad_conf "ldap://127.0.0.1:1, $AD_STARTTLS_URL")
authd_local_start "$W/authd2" "${conf[@]}" ||
	{ not_ok "ad: start authd with StartTLS" "see $W/authd2/log"; exit 0; }
A=$AUTHD_LOCAL
get_token dlee "${AD_PW[dlee]}"
expect_eq "ad: StartTLS login after failing over from a dead server" 200 "$STATUS"
authd_local_stop
