# Active Directory logins when things go wrong, against a real Samba AD DC
# (in a network namespace of this file's own, see ldap.sh): failover from
# a server that hangs the LDAPS handshake, unknown, disabled and expired
# accounts refused in the time of a wrong password, a group DN with
# non-ASCII letters matched with Unicode case folding, and Berth's lockout
# never locking the account in the domain (Samba's lockout threshold set
# to 3, Berth's to 2, guesses in every name form), and a sync under a
# user base that does not exist disabling nobody.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/auth.sh"
. "$ROOT/tests/integration/ldap.sh"

if ! netns_enter "$0"; then
	not_ok "ad resilience: enter a network namespace" "$NETNS_ERR"
	exit 0
fi
W=$SCRATCH
samba_provision_cached "$W/ad" ||
	{ not_ok "ad resilience: provision the domain" "see $W/ad/log"; exit 0; }
DEV_CN="Développeurs"
samba_tool "$W/ad" group add "$DEV_CN" --groupou="OU=Groups,OU=Berth"
samba_tool "$W/ad" group addmembers "$DEV_CN" dave
samba_tool_run "$W/ad" ||
	{ not_ok "ad resilience: add the group $DEV_CN" "see $W/ad/log/samba-tool.log"; exit 0; }
samba_start "$W/ad" ||
	{ not_ok "ad resilience: start the domain controller" "see $W/ad/log"; exit 0; }
hang_start && HANG=$HANG_PORT ||
	{ not_ok "ad resilience: start a hanging listener" "see $W/hang.log"; exit 0; }

ad_conf=(
	"ldap_type = ad"
	"ldap_ca_file = $AD_CA"
	"ldap_bind_dn = $AD_BIND_DN"
	"ldap_bind_password = $AD_BIND_PW"
	"ldap_user_base = $AD_BASE"
	"ldap_group_base = $AD_GROUPS_BASE"
	"ldap_network_timeout = 2"
	"ldap_timeout = 2"
	"credential_cache_ttl = 0"
	"ldap_sync_interval = 0"
	"lockout_address_threshold = 1000"
)
start() {
	local name=$1
	shift
	authd_local_stop
	authd_local_start "$W/$name" "${ad_conf[@]}" "$@" ||
		{ not_ok "ad resilience: start authd $name" "see $W/$name/log"; return 1; }
	A=$AUTHD_LOCAL
}
# login USER PASS [SCOPE]: sets STATUS, SECS and TOKEN.
login() {
	local out
	TOKEN=
	out=$(curl -s -o "$W/body" -w '%{http_code} %{time_total}' --max-time 60 \
		-u "$1:$2" "$A/token?service=berth-registry${3:+&scope=$3}") || out="000 60"
	STATUS=${out%% *} SECS=${out##* }
	[ "$STATUS" = 200 ] && TOKEN=$(jq -r .token "$W/body")
	return 0
}
under() {
	awk -v s="$1" -v l="$2" 'BEGIN { exit !(s < l) }'
}
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}
# ad_bind WHO PASSWORD: a bind over LDAPS with the client tools; the
# output (with AD's "data NNN" sub-code on failure) in $W/bind.out.
ad_bind() {
	LDAPTLS_CACERT=$AD_CA ldapsearch -x -LLL -o nettimeout=5 -H "$AD_URL" \
		-D "$1" -w "$2" -b "$AD_BASE" -s base dn >"$W/bind.out" 2>&1
}

# ---- Failover from a hanging server ----------------------------------------
start hang "ldap_urls = ldaps://127.0.0.1:$HANG, $AD_URL" || exit 0
login dlee "${AD_PW[dlee]}"
expect_eq "ad resilience: login with a hanging first server and a good second" 200 "$STATUS"
check "ad resilience: ... within the bound (${SECS}s < 5s)" under "$SECS" 5
login dlee "${AD_PW[dlee]}"
check "ad resilience: the next login skips the hanging server (${SECS}s < 1.5s)" \
	eval '[ "$STATUS" = 200 ] && under "$SECS" 1.5'

# ---- Refusals in the time of a wrong password ------------------------------
# Two worker threads, each primed: a thread's first login opens its
# service connection (a TLS handshake), noise that falls on any kind.
start timing "ldap_urls = $AD_URL" "lockout_threshold = 1000" "threads = 2" || exit 0
for i in $(seq 1 10); do
	login alice "Wrong-Prime-$i"
done
tw=() tu=() td=() te=()
for i in 1 2 3 4 5 6 7; do
	login alice "Wrong-Passw0rd-$i"
	tw+=("$SECS")
	login "nosuchuser$i" "Wrong-Passw0rd-$i"
	tu+=("$SECS")
	login disabled "${AD_PW[disabled]}"
	td+=("$SECS")
	login expired "${AD_PW[expired]}"
	te+=("$SECS")
done
mw=$(median "${tw[@]}")
for kind in unknown disabled expired; do
	case $kind in
	unknown) m=$(median "${tu[@]}") ;;
	disabled) m=$(median "${td[@]}") ;;
	expired) m=$(median "${te[@]}") ;;
	esac
	ratio=$(awk -v u="$m" -v w="$mw" 'BEGIN { printf "%.2f", (w > 0 ? u / w : 0) }')
	check "ad resilience: an $kind account is refused in the time of a wrong password (medians ${m}s/${mw}s, ratio $ratio)" \
		awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5 && r <= 2) }'
done

# ---- A group DN with non-ASCII letters, in another case --------------------
psql -q <<SQL
INSERT INTO namespaces VALUES ('tadu', true) ON CONFLICT DO NOTHING;
INSERT INTO organizations (name) VALUES ('tadu') ON CONFLICT DO NOTHING;
INSERT INTO teams (org_id, name, ldap_group_dn)
  SELECT id, 'devs', 'cn=DÉVELOPPEURS,ou=groups,ou=berth,dc=BERTH,dc=TEST'
  FROM organizations WHERE name = 'tadu';
INSERT INTO grants (namespace, repository, team_id, level)
  SELECT 'tadu', NULL, t.id, 2 FROM teams t JOIN organizations o ON o.id = t.org_id
  WHERE o.name = 'tadu' AND t.name = 'devs';
SQL
login dave "${AD_PW[dave]}" "repository:tadu/app:pull,push"
expect_eq "ad resilience: a member of CN=$DEV_CN gets the access of the team linked to cn=DÉVELOPPEURS" \
	'["pull","push"]' "$(jwt_claims "$TOKEN" | jq -c '[.access[]? | .actions] | add // []')"
expect_eq "ad resilience: ... and is in the team" 1 \
	"$(psql -Atc "SELECT count(*) FROM team_members tm JOIN teams t ON t.id = tm.team_id JOIN users u ON u.id = tm.user_id WHERE t.name = 'devs' AND u.name = 'dave'")"
login bob "${AD_PW[bob]}" "repository:tadu/app:pull,push"
expect_eq "ad resilience: a user outside that group gets nothing" '[]' \
	"$(jwt_claims "$TOKEN" | jq -c '[.access[]? | .actions] | add // []')"

# ---- Berth never locks the account in the domain ---------------------------
samba_tool "$W/ad" domain passwordsettings set --account-lockout-threshold=3
samba_tool_run "$W/ad" ||
	not_ok "ad resilience: set the domain's lockout threshold" "see $W/ad/log/samba-tool.log"
# The control: three wrong binds lock erin in the domain.
for i in 1 2 3; do
	ad_bind "erin@$AD_UPN_SUFFIX" "Wrong-Passw0rd-$i"
done
ad_bind "erin@$AD_UPN_SUFFIX" "${AD_PW[erin]}"
check "ad resilience: the domain locks an account after 3 wrong passwords (data 775)" \
	grep -q "data 775," "$W/bind.out"
start lockout "ldap_urls = $AD_URL" "lockout_threshold = 2" "lockout_delay = 3" \
	"lockout_duration = 3" || exit 0
for spelling in Bob " bob" "$AD_DOMAIN\\bob" "bob@$AD_UPN_SUFFIX" BOB bob; do
	login "$spelling" "Wrong-Passw0rd-x"
done
# The first two count under one key (this address and bob); the other
# four come during the delay and are refused unchecked.
expect_eq "ad resilience: six wrong guesses in five spellings count under one account's key (two before the delay)" 2 \
	"$(psql -Atc "SELECT failures FROM login_failures WHERE key = 'pair:127.0.0.1 bob'")"
login bob "${AD_PW[bob]}"
expect_eq "ad resilience: Berth refuses the right password unchecked while it delays bob" 429 "$STATUS"
if ad_bind "bob@$AD_UPN_SUFFIX" "${AD_PW[bob]}"; then
	ok "ad resilience: bob is not locked in the domain after Berth's guesses"
else
	not_ok "ad resilience: bob is not locked in the domain after Berth's guesses" \
		"$(tail -c 300 "$W/bind.out")"
fi
sleep 3.2
login "$AD_DOMAIN\\bob" "${AD_PW[bob]}"
expect_eq "ad resilience: after Berth's delay the right password works" 200 "$STATUS"

# ---- A sync against a base that does not exist disables nobody -------------
ad_users=$(psql -Atc "SELECT count(*) FROM users WHERE source = 'ldap' AND NOT disabled")
start wrongbase "ldap_urls = $AD_URL" "ldap_user_base = OU=NoSuch,$AD_BASE" || exit 0
req POST "$A/api/v1/ldap/sync" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "ad resilience: a sync under a missing user base answers 503" 503 "$STATUS"
expect_match "ad resilience: ... saying that nobody was disabled" 'nobody was disabled' \
	"$(cat "$BODY")"
expect_eq "ad resilience: ... and disables none of the $ad_users directory users" "$ad_users" \
	"$(psql -Atc "SELECT count(*) FROM users WHERE source = 'ldap' AND NOT disabled")"
authd_local_stop
expect_eq "ad resilience: authd exits 0" 0 "$?"
hang_stop
