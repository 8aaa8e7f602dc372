# The Active Directory test domain itself (Samba AD DC from ldap.sh, in a
# network namespace of this file's own), checked with the OpenLDAP client
# tools: binds only over TLS with our CA, the three bind name forms,
# sAMAccountName / UPN look-ups, the disabled, expired and must-change
# accounts, nested and cyclic groups through LDAP_MATCHING_RULE_IN_CHAIN.
# Also that an authd started inside the namespace reaches the run's
# database, which is how the AD login tests get an authd.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/ldap.sh"

if ! netns_enter "$0"; then
	not_ok "ad env: enter a network namespace" "$NETNS_ERR"
	exit 0
fi
# From here on this is the re-executed file, inside the namespace.
ok "ad env: runs in a network namespace of its own"

if curl -s -o /dev/null --max-time 2 "$AUTHD/readyz"; then
	not_ok "ad env: the run's authd is out of reach in the namespace" "it answered"
else
	ok "ad env: the run's authd is out of reach in the namespace"
fi

t0=$SECONDS
if ! samba_provision_cached "$SCRATCH/ad"; then
	not_ok "ad env: provision the domain" "see $SCRATCH/ad/log and ${BERTH_RUN:-$SCRATCH}/samba-cache/log"
	exit 0
fi
ok "ad env: provision the domain (or copy the run's cached one) in $((SECONDS - t0)) s"
t0=$SECONDS
if ! samba_start "$SCRATCH/ad"; then
	not_ok "ad env: samba starts" "see $SCRATCH/ad/log"
	exit 0
fi
ok "ad env: samba starts in $((SECONDS - t0)) s"

out=$SCRATCH/out
# ad_search URL BIND_DN PASSWORD ARGS...: ldapsearch (StartTLS for ldap://
# URLs), LDIF without wrapping in $out; returns ldapsearch's exit code.
ad_search() {
	local url=$1 dn=$2 pw=$3 tls=
	shift 3
	[[ $url == ldap://* ]] && tls=-ZZ
	LDAPTLS_CACERT=$AD_CA ldapsearch -x -LLL -o ldif-wrap=no $tls \
		-H "$url" -D "$dn" -w "$pw" "$@" >"$out" 2>&1
}
svc_search() {
	ad_search "$AD_URL" "$AD_BIND_DN" "$AD_BIND_PW" "$@"
}
# dns_in_out: the DNs in $out, sorted, one a line.
dns_in_out() {
	sed -n 's/^dn: //p' "$out" | LC_ALL=C sort
}
# bind_as NAME WHO PASSWORD: ok when a bind over LDAPS succeeds.
bind_as() {
	if ad_search "$AD_URL" "$2" "$3" -b "$AD_BASE" -s base dn; then
		ok "$1"
	else
		not_ok "$1" "$(tail -c 300 "$out")"
	fi
}
# bind_fails NAME WHO PASSWORD DATA: ok when the bind is refused with 49
# and the AD sub-code "data DATA" (525, 52e, 530, 531, 532, 533, 701, 773).
bind_fails() {
	ad_search "$AD_URL" "$2" "$3" -b "$AD_BASE" -s base dn
	local rc=$?
	if [ "$rc" = 49 ] && grep -q "data $4," "$out"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc: $(tail -c 300 "$out")"
	fi
}

# ---- TLS and binds ---------------------------------------------------------
bind_as "ad env: service account binds over LDAPS with our CA" \
	"$AD_BIND_DN" "$AD_BIND_PW"
if ad_search "$AD_STARTTLS_URL" "$AD_BIND_DN" "$AD_BIND_PW" -b "$AD_BASE" -s base dn; then
	ok "ad env: service account binds over StartTLS with our CA"
else
	not_ok "ad env: service account binds over StartTLS with our CA" "$(tail -c 300 "$out")"
fi
ldapsearch -x -LLL -H "$AD_STARTTLS_URL" -D "$AD_BIND_DN" -w "$AD_BIND_PW" \
	-b "$AD_BASE" -s base dn >"$out" 2>&1
expect_eq "ad env: a simple bind without TLS is strongAuthRequired (8)" 8 "$?"
if ldap_make_certs "$SCRATCH/other-ca" 127.0.0.1; then
	if LDAPTLS_CACERT=$SCRATCH/other-ca/ca.pem ldapsearch -x -LLL \
		-H "$AD_URL" -D "$AD_BIND_DN" -w "$AD_BIND_PW" -b "$AD_BASE" \
		-s base dn >"$out" 2>&1; then
		not_ok "ad env: LDAPS with another CA fails" "bound"
	else
		ok "ad env: LDAPS with another CA fails"
	fi
	if LDAPTLS_CACERT=$SCRATCH/other-ca/ca.pem ldapsearch -x -LLL -ZZ \
		-H "$AD_STARTTLS_URL" -D "$AD_BIND_DN" -w "$AD_BIND_PW" \
		-b "$AD_BASE" -s base dn >"$out" 2>&1; then
		not_ok "ad env: StartTLS with another CA fails" "bound"
	else
		ok "ad env: StartTLS with another CA fails"
	fi
else
	not_ok "ad env: make a second CA" "openssl failed"
fi

bind_as "ad env: alice binds with her DN" \
	"CN=Alice Liddell,$AD_PEOPLE_BASE" "${AD_PW[alice]}"
bind_as "ad env: alice binds with her UPN" \
	"alice@$AD_UPN_SUFFIX" "${AD_PW[alice]}"
bind_as "ad env: alice binds as DOMAIN\\alice" \
	"$AD_DOMAIN\\alice" "${AD_PW[alice]}"
bind_as "ad env: dlee binds with a UPN unlike the account name" \
	"dana.lee@$AD_UPN_SUFFIX" "${AD_PW[dlee]}"
bind_fails "ad env: a wrong password is 49, data 52e" \
	"alice@$AD_UPN_SUFFIX" wrong-Passw0rd 52e
bind_fails "ad env: the disabled account cannot bind (49, data 533)" \
	"disabled@$AD_UPN_SUFFIX" "${AD_PW[disabled]}" 533
bind_fails "ad env: the expired account cannot bind (49, data 701)" \
	"expired@$AD_UPN_SUFFIX" "${AD_PW[expired]}" 701
bind_fails "ad env: the must-change account cannot bind (49, data 773)" \
	"mustchange@$AD_UPN_SUFFIX" "${AD_PW[mustchange]}" 773

# ---- Look-ups --------------------------------------------------------------
svc_search -b "$AD_BASE" '(&(objectClass=user)(sAMAccountName=alice))' \
	userPrincipalName mail
expect_eq "ad env: search by sAMAccountName finds alice" \
	"CN=Alice Liddell,$AD_PEOPLE_BASE" "$(dns_in_out)"
expect_eq "ad env: alice's userPrincipalName" \
	"userPrincipalName: alice@$AD_UPN_SUFFIX" "$(grep '^userPrincipalName:' "$out")"
svc_search -b "$AD_BASE" "(&(objectClass=user)(userPrincipalName=dana.lee@$AD_UPN_SUFFIX))" \
	sAMAccountName
expect_eq "ad env: search by UPN finds dlee, whose CN has an escaped comma" \
	"CN=Lee\\, Dana,$AD_PEOPLE_BASE" "$(dns_in_out)"
svc_search -b "$AD_BASE" '(sAMAccountName=a\28b\29c)' sAMAccountName
expect_eq "ad env: (sAMAccountName=a\\28b\\29c) finds a(b)c" \
	"sAMAccountName: a(b)c" "$(grep '^sAMAccountName:' "$out")"

svc_search -b "$AD_PEOPLE_BASE" '(sAMAccountName=disabled)' userAccountControl
uac=$(sed -n 's/^userAccountControl: //p' "$out")
if [[ $uac =~ ^[0-9]+$ ]] && (((uac & 2) != 0)); then
	ok "ad env: userAccountControl of the disabled user has bit 2 ($uac)"
else
	not_ok "ad env: userAccountControl of the disabled user has bit 2" "got \"$uac\""
fi
svc_search -b "$AD_PEOPLE_BASE" '(userAccountControl:1.2.840.113556.1.4.803:=2)' sAMAccountName
expect_eq "ad env: the bitwise-and rule finds only the disabled user" \
	"sAMAccountName: disabled" "$(grep '^sAMAccountName:' "$out")"
svc_search -b "$AD_PEOPLE_BASE" '(sAMAccountName=expired)' accountExpires
exp=$(sed -n 's/^accountExpires: //p' "$out")
# Windows FILETIME: 100 ns since 1601; 0 and 2^63-1 mean never.
now=$(( ($(date +%s) + 11644473600) * 10000000 ))
if [[ $exp =~ ^[0-9]+$ ]] && [ "$exp" != 0 ] && [ "$exp" -le "$now" ]; then
	ok "ad env: accountExpires of the expired user is in the past"
else
	not_ok "ad env: accountExpires of the expired user is in the past" "got \"$exp\", now $now"
fi

# ---- Groups ----------------------------------------------------------------
svc_search -b "$AD_PEOPLE_BASE" '(sAMAccountName=alice)' memberOf
expect_eq "ad env: alice's direct memberOf is berth-devs only" \
	"memberOf: CN=berth-devs,$AD_GROUPS_BASE" "$(grep '^memberOf:' "$out")"
svc_search -b "$AD_BASE" \
	"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=berth-all,$AD_GROUPS_BASE))" dn
expect_eq "ad env: IN_CHAIN finds the users nested two levels under berth-all" \
	"CN=A (B) C,$AD_PEOPLE_BASE
CN=Alice Liddell,$AD_PEOPLE_BASE
CN=Carol Danvers,$AD_PEOPLE_BASE" "$(dns_in_out)"
svc_search -b "$AD_BASE" \
	"(member:1.2.840.113556.1.4.1941:=CN=Alice Liddell,$AD_PEOPLE_BASE)" dn
expect_eq "ad env: IN_CHAIN on member lists all of alice's groups" \
	"CN=berth-all,$AD_GROUPS_BASE
CN=berth-devs,$AD_GROUPS_BASE
CN=berth-platform,$AD_GROUPS_BASE" "$(dns_in_out)"
svc_search -b "$AD_BASE" \
	"(memberOf:1.2.840.113556.1.4.1941:=CN=berth-cycle-a,$AD_GROUPS_BASE)" dn
rc=$?
expect_eq "ad env: IN_CHAIN through the cycle berth-cycle-a <-> b ends" \
	"0 CN=Dave Lister,$AD_PEOPLE_BASE
CN=Erin Brockovich,$AD_PEOPLE_BASE
CN=berth-cycle-a,$AD_GROUPS_BASE
CN=berth-cycle-b,$AD_GROUPS_BASE" "$rc $(dns_in_out)"
svc_search -b "CN=Alice Liddell,$AD_PEOPLE_BASE" -s base tokenGroups
expect_eq "ad env: tokenGroups of alice holds her transitive groups' SIDs" \
	yes "$([ "$(grep -c '^tokenGroups::' "$out")" -ge 4 ] && echo yes || echo "no: $(tail -c 200 "$out")")"

# ---- authd in the namespace ------------------------------------------------
if authd_local_start "$SCRATCH/authd"; then
	ok "ad env: an authd in the namespace reaches the run's database"
	expect_status "ad env: that authd issues a token to admin" 200 GET \
		"$AUTHD_LOCAL/token?service=berth-registry" \
		-u "admin:$AUTHD_ADMIN_PASSWORD"
	authd_local_stop
	expect_eq "ad env: that authd exits 0 on SIGTERM" 0 "$?"
else
	not_ok "ad env: an authd in the namespace reaches the run's database" \
		"see $SCRATCH/authd/log"
fi

samba_stop
expect_eq "ad env: samba exits 0 when its stdin closes" 0 "$?"
