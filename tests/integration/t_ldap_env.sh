# The OpenLDAP test directory itself (ldap.sh), checked with the OpenLDAP
# client tools: TLS both ways with our CA only, memberOf, the nested and
# cyclic groups, the size limit that makes paging necessary, the names that
# need filter escaping, referential integrity.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/ldap.sh"

if ! slapd_start "$SCRATCH/slapd"; then
	not_ok "ldap env: slapd starts" "see $SCRATCH/slapd/log"
	exit 0
fi
ok "ldap env: slapd starts"
if ! slapd_load_fixtures; then
	not_ok "ldap env: ldapadd loads the fixtures" "see $SCRATCH/slapd/ldapadd.log"
	exit 0
fi
ok "ldap env: ldapadd loads the fixtures"

out=$SCRATCH/out
# svc_search ARGS...: ldapsearch as the service account over LDAPS, LDIF
# without wrapping in $out; returns ldapsearch's exit code.
svc_search() {
	LDAPTLS_CACERT=$SLAPD_CA ldapsearch -x -LLL -o ldif-wrap=no \
		-H "$SLAPD_URLS" -D "$SLAPD_BIND_DN" -w "$SLAPD_BIND_PW" "$@" \
		>"$out" 2>&1
}
# count_dn: entries in $out.
count_dn() {
	grep -c '^dn:' "$out"
}

# ---- TLS and binds ---------------------------------------------------------
got=$(LDAPTLS_CACERT=$SLAPD_CA ldapwhoami -x -ZZ -H "$SLAPD_URL" \
	-D "$SLAPD_BIND_DN" -w "$SLAPD_BIND_PW" 2>&1)
expect_eq "ldap env: service account binds over StartTLS with our CA" \
	"dn:$SLAPD_BIND_DN" "$got"
got=$(LDAPTLS_CACERT=$SLAPD_CA ldapwhoami -x -H "$SLAPD_URLS" \
	-D "$SLAPD_BIND_DN" -w "$SLAPD_BIND_PW" 2>&1)
expect_eq "ldap env: service account binds over LDAPS with our CA" \
	"dn:$SLAPD_BIND_DN" "$got"
got=$(LDAPTLS_CACERT=$SLAPD_CA ldapwhoami -x -ZZ -H "$SLAPD_URL" \
	-D "uid=alice,$SLAPD_PEOPLE_BASE" -w "${SLAPD_PW[alice]}" 2>&1)
expect_eq "ldap env: a user binds with its own password" \
	"dn:uid=alice,$SLAPD_PEOPLE_BASE" "$got"

LDAPTLS_CACERT=$SLAPD_CA ldapwhoami -x -ZZ -H "$SLAPD_URL" \
	-D "uid=alice,$SLAPD_PEOPLE_BASE" -w wrong >"$out" 2>&1
expect_eq "ldap env: a wrong password is invalidCredentials (49)" 49 "$?"

if ldap_make_certs "$SCRATCH/other-ca" 127.0.0.1; then
	if LDAPTLS_CACERT=$SCRATCH/other-ca/ca.pem ldapwhoami -x -ZZ \
		-H "$SLAPD_URL" -D "$SLAPD_BIND_DN" -w "$SLAPD_BIND_PW" \
		>"$out" 2>&1; then
		not_ok "ldap env: StartTLS with another CA fails" "bound: $(cat "$out")"
	else
		ok "ldap env: StartTLS with another CA fails"
	fi
	if LDAPTLS_CACERT=$SCRATCH/other-ca/ca.pem ldapwhoami -x \
		-H "$SLAPD_URLS" -D "$SLAPD_BIND_DN" -w "$SLAPD_BIND_PW" \
		>"$out" 2>&1; then
		not_ok "ldap env: LDAPS with another CA fails" "bound: $(cat "$out")"
	else
		ok "ldap env: LDAPS with another CA fails"
	fi
else
	not_ok "ldap env: make a second CA" "openssl failed"
fi

# ---- Groups ----------------------------------------------------------------
svc_search -b "$SLAPD_PEOPLE_BASE" '(uid=alice)' memberOf
expect_eq "ldap env: memberOf of alice is filled in" \
	"memberOf: cn=developers,$SLAPD_GROUPS_BASE" "$(grep '^memberOf:' "$out")"

svc_search -b "$SLAPD_GROUPS_BASE" '(cn=platform)' member
expect_match "ldap env: group platform has the group developers as a member" \
	"member: cn=developers,$SLAPD_GROUPS_BASE" "$(cat "$out")"
svc_search -b "$SLAPD_GROUPS_BASE" '(cn=developers)' memberOf
expect_eq "ldap env: group developers is memberOf platform" \
	"memberOf: cn=platform,$SLAPD_GROUPS_BASE" "$(grep '^memberOf:' "$out")"
svc_search -b "$SLAPD_GROUPS_BASE" '(member=cn=platform,ou=groups,dc=berth,dc=test)' cn
expect_eq "ldap env: all-staff nests platform (two levels)" "cn: all-staff" \
	"$(grep '^cn:' "$out")"

svc_search -b "$SLAPD_GROUPS_BASE" '(|(cn=cycle-a)(cn=cycle-b))' member memberOf
a=cn=cycle-a,$SLAPD_GROUPS_BASE b=cn=cycle-b,$SLAPD_GROUPS_BASE
got=$(awk '/^dn:/ { dn = $2 }
	/^(member|memberOf):/ && $2 ~ /^cn=cycle-/ { print dn, $1, $2 }' \
	"$out" | LC_ALL=C sort)
expect_eq "ldap env: cycle-a contains cycle-b and cycle-b contains cycle-a" \
	"$a member: $b
$a memberOf: $b
$b member: $a
$b memberOf: $a" "$got"

svc_search -b "cn=bulk,$SLAPD_GROUPS_BASE" -s base member
expect_eq "ldap env: group bulk has all $SLAPD_BULK_USERS bulk users" \
	"$SLAPD_BULK_USERS" "$(grep -c '^member:' "$out")"

# ---- Size limit and paging ------------------------------------------------
svc_search -b "$SLAPD_PEOPLE_BASE" '(objectClass=inetOrgPerson)' dn
rc=$?
if [ "$rc" = 4 ] && [ "$(count_dn)" = "$SLAPD_SIZELIMIT" ]; then
	ok "ldap env: a plain search stops at the size limit ($SLAPD_SIZELIMIT, code 4)"
else
	not_ok "ldap env: a plain search stops at the size limit ($SLAPD_SIZELIMIT, code 4)" \
		"exit $rc, $(count_dn) entries: $(tail -c 200 "$out")"
fi
svc_search -E pr=20/noprompt -b "$SLAPD_PEOPLE_BASE" \
	'(objectClass=inetOrgPerson)' dn
rc=$?
want=$((SLAPD_BULK_USERS + 7))
if [ "$rc" = 0 ] && [ "$(count_dn)" = "$want" ]; then
	ok "ldap env: a paged search (20 a page) returns all $want users"
else
	not_ok "ldap env: a paged search (20 a page) returns all $want users" \
		"exit $rc, $(count_dn) entries: $(tail -c 200 "$out")"
fi

# ---- Names that need escaping --------------------------------------------
svc_search -b "$SLAPD_PEOPLE_BASE" '(uid=o\2abrien)' uid
expect_eq "ldap env: (uid=o\\2abrien) finds exactly o*brien" \
	"dn: uid=o*brien,$SLAPD_PEOPLE_BASE" "$(grep '^dn:' "$out")"
svc_search -b "$SLAPD_PEOPLE_BASE" '(uid=a\28b\29c)' uid
expect_eq "ldap env: (uid=a\\28b\\29c) finds exactly a(b)c" \
	"dn: uid=a(b)c,$SLAPD_PEOPLE_BASE" "$(grep '^dn:' "$out")"
svc_search -b "$SLAPD_PEOPLE_BASE" '(uid=a(b)c)' uid
rc=$?
expect_eq "ldap env: the unescaped filter (uid=a(b)c) is a filter error" \
	"yes" "$([ "$rc" != 0 ] && echo yes || echo "no (exit $rc)")"
got=$(LDAPTLS_CACERT=$SLAPD_CA ldapwhoami -x -H "$SLAPD_URLS" \
	-D "uid=o*brien,$SLAPD_PEOPLE_BASE" -w "${SLAPD_PW[o*brien]}" 2>&1)
expect_eq "ldap env: o*brien binds with its DN" \
	"dn:uid=o*brien,$SLAPD_PEOPLE_BASE" "$got"

# ---- Access control --------------------------------------------------------
LDAPTLS_CACERT=$SLAPD_CA ldapsearch -x -LLL -H "$SLAPD_URLS" \
	-b "$SLAPD_PEOPLE_BASE" '(uid=alice)' dn >"$out" 2>&1
expect_eq "ldap env: an anonymous search finds no user" 0 "$(count_dn)"
svc_search -b "$SLAPD_PEOPLE_BASE" '(uid=alice)' userPassword
expect_eq "ldap env: the service account cannot read userPassword" "" \
	"$(grep -i '^userPassword' "$out")"

# ---- Referential integrity (changes the data: last) ---------------------
if ldapdelete -x -H "$SLAPD_URL" -D "$SLAPD_ROOT_DN" -w "$SLAPD_ROOT_PW" \
	"uid=carol,$SLAPD_PEOPLE_BASE" >"$out" 2>&1; then
	svc_search -b "cn=platform,$SLAPD_GROUPS_BASE" -s base member
	expect_eq "ldap env: refint drops a deleted user from its groups" \
		"member: cn=developers,$SLAPD_GROUPS_BASE" "$(grep '^member:' "$out")"
else
	not_ok "ldap env: delete carol" "$(cat "$out")"
fi

slapd_stop
expect_eq "ldap env: slapd exits 0 on SIGTERM" 0 "$?"
