# Real directory servers for the LDAP / Active Directory tests, started by a
# test file from temporary directories and stopped when it exits.  Source it
# after lib.sh.  Needs the packages slapd, ldap-utils, samba, samba-ad-dc,
# samba-ad-provision and iproute2 (scripts/deps.sh installs them), and root
# for Samba and network namespaces.  Client tools trust a server through
# LDAPTLS_CACERT=$SLAPD_CA (or $AD_CA); always use 127.0.0.1, never
# localhost, in URLs: the certificates name IP:127.0.0.1.
#
# ---- OpenLDAP (slapd) ------------------------------------------------------
#   slapd_start DIR      slapd from DIR (own slapd.conf, mdb backend,
#                        memberof + refint overlays, throwaway CA) on two
#                        free loopback ports; waits until it answers.
#   slapd_load_fixtures  ldapadd (not slapadd: memberOf would stay empty)
#                        of the entries below, as the rootdn.
#   slapd_stop           SIGTERM and wait; returns slapd's exit code.
# Exported by slapd_start:
#   SLAPD_URL=ldap://127.0.0.1:P (StartTLS works), SLAPD_URLS=ldaps://...,
#   SLAPD_CA (CA file), SLAPD_BASE=dc=berth,dc=test, SLAPD_PEOPLE_BASE,
#   SLAPD_GROUPS_BASE, SLAPD_BIND_DN / SLAPD_BIND_PW (the service account
#   cn=berth-svc,ou=services; exists after slapd_load_fixtures),
#   SLAPD_ROOT_DN / SLAPD_ROOT_PW (rootdn: no limits, may write),
#   SLAPD_PID, SLAPD_DIR, SLAPD_SIZELIMIT (50), SLAPD_BULK_USERS (120).
# The service account and users are held to sizelimit 50 (the rootdn is
# not): a plain search of ou=people fails with "Size limit exceeded" (4)
# while a paged one (pagedResults, size.prtotal=unlimited) returns all.
# Anonymous binds see only the root DSE; bound users read everything but
# userPassword.  Plain simple binds on SLAPD_URL are allowed.
# Fixtures (password of every user: "<uid>-secret", also in SLAPD_PW[uid]):
#   ou=people  inetOrgPerson uid, cn, sn, mail (<uid's letters>@berth.test)
#              alice, bob, carol, dave, erin, "o*brien", "a(b)c"
#              (filter values that need RFC 4515 escaping: \2a \28 \29),
#              bulk001..bulk120 (plain-text userPassword, the rest {SSHA})
#   ou=groups  groupOfNames member (memberOf on members, not transitive):
#              developers {alice, o*brien}, ops {bob},
#              platform {cn=developers, carol}       (nested group)
#              all-staff {cn=platform}               (two levels)
#              cycle-a {cycle-b, dave}, cycle-b {cycle-a, erin}  (cycle)
#              bulk {bulk001..bulk120}, escaped {a(b)c}
#
# ---- Samba Active Directory DC ---------------------------------------------
# Samba's ports are fixed (389, 636, 3268, 3269), so it runs in a network
# namespace of its own, and so does the whole test file that uses it.  Its
# first line after sourcing this file:
#     netns_enter "$0" || { not_ok "enter a netns" "$NETNS_ERR"; exit 0; }
# re-executes the file under `unshare -n` with loopback up (exec: same pid,
# so run.sh's timeout and signals still reach it).  Inside, the run's nodes
# ($REG, $REGA, $AUTHD) are out of reach, but its PostgreSQL is not: $PGHOST
# is a Unix socket directory, and path sockets belong to no network
# namespace.  So the test starts its own authd in there with
# authd_local_start (the run's database, users and signing key; set
# AUTHD=$AUTHD_LOCAL for auth.sh's token_for), and registryd nodes with
# extra.sh's extra_start if it needs any.  No veth pair, no second
# PostgreSQL, and nothing to clean up: the namespace dies with its last
# process.
#   samba_provision_cached DIR  a provisioned domain with the fixtures
#                        below, copied into DIR.  The first call of a run
#                        provisions into $SAMBA_CACHE (default
#                        $BERTH_RUN/samba-cache): 5-10 s for the domain,
#                        2 s for the fixtures; later ones copy it (< 1 s).
#                        A SAMBA_CACHE kept across runs is reused while
#                        this file and Samba's version stay the same.  Writes DIR/etc/smb.conf (paths in DIR,
#                        127.0.0.1 only, ldap service only, our certificate).
#   samba_start DIR      `samba -i -M single` on DIR's smb.conf; waits for
#                        LDAPS.  Its stdin is a pipe that this shell holds:
#                        if the test dies, even by SIGKILL, Samba sees EOF
#                        and exits; it also stops after $SAMBA_MAX_RUNTIME s.
#   samba_load_fixtures DIR  samba-tool on DIR's sam.ldb (Samba running or
#                        not); a no-op the second time.
#   samba_stop           closes that pipe and waits; returns the exit code.
# Exported by samba_provision_cached / samba_start:
#   AD_URL=ldaps://127.0.0.1, AD_STARTTLS_URL=ldap://127.0.0.1, AD_CA,
#   AD_BASE=DC=berth,DC=test, AD_REALM=BERTH.TEST, AD_DOMAIN=BERTH
#   (NetBIOS), AD_UPN_SUFFIX=berth.test, AD_PEOPLE_BASE, AD_GROUPS_BASE,
#   AD_BIND_DN=CN=berth-svc,CN=Users,DC=berth,DC=test, AD_BIND_PW,
#   AD_ADMIN_DN / AD_ADMIN_PW (Administrator), AD_PID, AD_DIR.
# Samba refuses simple binds without TLS ("Strong(er) authentication
# required"): use AD_URL, or AD_STARTTLS_URL with StartTLS.  It does not
# implement the Who am I? extended operation: ldapwhoami fails after a good
# bind; check binds with a base search instead.  A simple bind takes the
# DN, the UPN (alice@berth.test) or DOMAIN\sAMAccountName.
# Fixtures (users in OU=People,OU=Berth, groups in OU=Groups,OU=Berth;
# passwords in AD_PW[sAMAccountName], UPN <sAMAccountName>@berth.test):
#   alice (CN=Alice Liddell), bob, carol, dave, erin, "a(b)c",
#   dlee (CN=Lee\, Dana; UPN dana.lee@berth.test),
#   disabled (userAccountControl has bit 2, ACCOUNTDISABLE),
#   expired (accountExpires in the past), mustchange (pwdLastSet 0),
#   berth-svc (in CN=Users: the bind account).
#   Global security groups: berth-devs {alice, a(b)c}, berth-ops {bob},
#   berth-platform {berth-devs, carol}, berth-all {berth-platform},
#   berth-cycle-a {berth-cycle-b, dave}, berth-cycle-b {berth-cycle-a,
#   erin}.  Nested membership: memberOf with the matching rule
#   1.2.840.113556.1.4.1941 (LDAP_MATCHING_RULE_IN_CHAIN), or tokenGroups.
#
# ---- Both ------------------------------------------------------------------
#   hang_start [starttls]  a listener on a free loopback port that accepts
#                        and never writes (socat; one `sleep` per
#                        connection, ended by hang_stop): a server that
#                        hangs TLS handshakes and operations.  "starttls":
#                        it answers the StartTLS request with success first,
#                        then hangs the handshake.  Sets HANG_PORT; the pids
#                        are kept for hang_stop (several may run).
#   hang_stop            stops every listener hang_start started.
#   authd_local_start DIR [CONF_LINE...]  authd on a free port of this
#                        namespace's loopback, with the run's database and
#                        signing key, plus CONF_LINEs ("key = value", e.g.
#                        the LDAP settings: the run's authd has none); sets
#                        AUTHD_LOCAL (http://127.0.0.1:P), AUTHD_LOCAL_PID.
#   authd_local_stop     SIGTERM; returns authd's exit code (0 expected).
#   ldap_cleanup         stops all of the above still running; installed
#                        as the EXIT trap by this file (a test that sets
#                        its own EXIT trap must call it), with TERM, INT
#                        and HUP turned into exits so that it runs.

: "${SCRATCH:=$(mktemp -d)}"
SAMBA_MAX_RUNTIME=${SAMBA_MAX_RUNTIME:-$((${BERTH_TEST_TIMEOUT:-300} + 60))}

LDAP_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
SLAPD_PID=
AD_PID=
AD_STDIN_FD=
AUTHD_LOCAL_PID=
NETNS_ERR=

ldap_log() {
	echo "# ldap.sh: $*" >&2
}

# ldap_free_port: a free loopback port of this namespace, below the
# ephemeral range, like run.sh's free_port.
ldap_free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((15000 + RANDOM % 17000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ldap_make_certs DIR CN: DIR/ca.pem (throwaway CA), DIR/cert.pem and
# DIR/key.pem (mode 0600, as Samba wants) for CN with SAN IP:127.0.0.1.
ldap_make_certs() {
	local d=$1 cn=$2
	mkdir -p "$d" || return 1
	(
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
			-subj "/CN=Berth test CA $cn" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -keyout "$d/key.pem" -out "$d/req.pem" -subj "/CN=$cn" &&
			printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:$cn" \
				"basicConstraints=critical,CA:FALSE" \
				"keyUsage=critical,digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth" >"$d/ext" &&
			openssl x509 -req -in "$d/req.pem" -CA "$d/ca.pem" \
				-CAkey "$d/ca.key" -CAcreateserial -days 2 \
				-extfile "$d/ext" -out "$d/cert.pem"
	) >"$d/openssl.log" 2>&1 || {
		ldap_log "openssl failed: $(tail -c 300 "$d/openssl.log")"
		return 1
	}
	chmod 0644 "$d/ca.pem" "$d/cert.pem"
}

# ldap_need TOOL...: fails, naming the missing ones, unless all are on PATH
# (a missing tool is a bug of `make deps`, never a skip).
ldap_need() {
	local t missing=
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	ldap_log "missing tools:$missing (make deps installs them)"
	return 1
}

# ldap_spawn LOG CMD...: CMD in the background (pid in $!), output
# appended to LOG, without our end of Samba's stdin pipe: a server that
# kept it would keep Samba alive after this shell died.
ldap_spawn() {
	local log=$1
	shift
	if [ -n "$AD_STDIN_FD" ]; then
		"$@" </dev/null >>"$log" 2>&1 {AD_STDIN_FD}>&- &
	else
		"$@" </dev/null >>"$log" 2>&1 &
	fi
}

# ldap_wait_up PID URL SECONDS: until an anonymous root DSE search on URL
# answers (with any LDAP result); fails if PID dies.
ldap_wait_up() {
	local pid=$1 url=$2 i
	for ((i = 0; i < $3 * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		LDAPTLS_REQCERT=never ldapsearch -x -LLL -o nettimeout=2 -H "$url" \
			-b "" -s base 'objectClass=*' namingContexts \
			>/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# ---- OpenLDAP -------------------------------------------------------------

SLAPD_BASE=dc=berth,dc=test
SLAPD_PEOPLE_BASE=ou=people,$SLAPD_BASE
SLAPD_GROUPS_BASE=ou=groups,$SLAPD_BASE
SLAPD_BIND_DN=cn=berth-svc,ou=services,$SLAPD_BASE
SLAPD_BIND_PW=berth-svc-secret
SLAPD_ROOT_DN=cn=admin,$SLAPD_BASE
SLAPD_ROOT_PW=admin-secret
SLAPD_SIZELIMIT=50
SLAPD_BULK_USERS=120
declare -gA SLAPD_PW=()
for _u in alice bob carol dave erin 'o*brien' 'a(b)c'; do
	SLAPD_PW[$_u]=$_u-secret
done
for ((_i = 1; _i <= SLAPD_BULK_USERS; _i++)); do
	SLAPD_PW[$(printf 'bulk%03d' "$_i")]=$(printf 'bulk%03d' "$_i")-secret
done
unset _u _i
export SLAPD_BASE SLAPD_PEOPLE_BASE SLAPD_GROUPS_BASE SLAPD_BIND_DN \
	SLAPD_BIND_PW SLAPD_ROOT_DN SLAPD_ROOT_PW SLAPD_SIZELIMIT SLAPD_BULK_USERS

slapd_write_conf() {
	local d=$1
	cat >"$d/slapd.conf" <<EOF
# Written by tests/integration/ldap.sh
include		/etc/ldap/schema/core.schema
include		/etc/ldap/schema/cosine.schema
include		/etc/ldap/schema/inetorgperson.schema
pidfile		$d/slapd.pid
argsfile	$d/slapd.args
modulepath	/usr/lib/ldap
moduleload	back_mdb
moduleload	memberof
moduleload	refint
TLSCACertificateFile	$d/tls/ca.pem
TLSCertificateFile	$d/tls/cert.pem
TLSCertificateKeyFile	$d/tls/key.pem
# Small on purpose: a directory larger than one answer needs paging.
sizelimit	size.soft=$SLAPD_SIZELIMIT size.hard=$SLAPD_SIZELIMIT size.prtotal=unlimited
loglevel	stats

database	mdb
suffix		"$SLAPD_BASE"
rootdn		"$SLAPD_ROOT_DN"
rootpw		$SLAPD_ROOT_PW
directory	$d/db
maxsize		67108864
index		objectClass eq
index		uid,cn,mail eq,sub
index		member,memberOf eq

access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword
	by self =xw
	by anonymous auth
	by * none
access to *
	by users read
	by * none

overlay		memberof
memberof-group-oc	groupOfNames
memberof-member-ad	member
memberof-memberof-ad	memberOf
memberof-refint		TRUE
memberof-dangling	ignore

overlay		refint
refint_attributes	member
refint_nothing		"$SLAPD_ROOT_DN"
EOF
}

# slapd_start DIR: see the top of this file.
slapd_start() {
	local d p1 p2 attempt
	ldap_need slapd slappasswd ldapadd ldapsearch openssl || return 1
	mkdir -p "$1" || return 1
	d=$(cd "$1" && pwd -P)
	if [ -n "$SLAPD_PID" ] && kill -0 "$SLAPD_PID" 2>/dev/null; then
		ldap_log "slapd_start: slapd already running (pid $SLAPD_PID)"
		return 1
	fi
	rm -rf "$d/db"
	mkdir -p "$d/db" || return 1
	ldap_make_certs "$d/tls" 127.0.0.1 || return 1
	slapd_write_conf "$d" || return 1
	slapd -Tt -u -f "$d/slapd.conf" >"$d/conftest.log" 2>&1 || {
		ldap_log "slapd.conf rejected: $(tail -c 500 "$d/conftest.log")"
		return 1
	}
	for attempt in 1 2 3; do
		p1=$(ldap_free_port) && p2=$(ldap_free_port) || return 1
		[ "$p1" != "$p2" ] || continue
		# -d keeps slapd in the foreground (our child, in our process
		# group) and sends its log (stats: connections, binds with their
		# DNs, searches) to stderr.
		ldap_spawn "$d/log" slapd -f "$d/slapd.conf" -d stats \
			-h "ldap://127.0.0.1:$p1/ ldaps://127.0.0.1:$p2/"
		SLAPD_PID=$!
		if ldap_wait_up "$SLAPD_PID" "ldap://127.0.0.1:$p1" 30 &&
			ldap_wait_up "$SLAPD_PID" "ldaps://127.0.0.1:$p2" 5; then
			SLAPD_DIR=$d SLAPD_CA=$d/tls/ca.pem
			SLAPD_URL=ldap://127.0.0.1:$p1 SLAPD_URLS=ldaps://127.0.0.1:$p2
			export SLAPD_DIR SLAPD_CA SLAPD_URL SLAPD_URLS SLAPD_PID
			ldap_write_env "$d/env" SLAPD_
			return 0
		fi
		kill -TERM "$SLAPD_PID" 2>/dev/null
		wait "$SLAPD_PID" 2>/dev/null
		SLAPD_PID=
		ldap_log "slapd did not start on ports $p1/$p2 (attempt $attempt): $(tail -c 300 "$d/log")"
	done
	return 1
}

# slapd_stop: SIGTERM, wait (10 s, then SIGKILL); slapd's exit code.
slapd_stop() {
	local pid=$SLAPD_PID code i
	[ -n "$pid" ] || return 0
	SLAPD_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && {
		ldap_log "slapd (pid $pid) ignored SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null
	}
	wait "$pid" 2>/dev/null
	code=$?
	return "$code"
}

# slapd_fixtures_ldif: the entries, in an order that ldapadd accepts and
# that leaves memberOf complete (an entry gets memberOf only for the
# groups added after it, so the cycle is closed by a modify at the end).
slapd_fixtures_ldif() {
	local b=$SLAPD_BASE u n i hash
	cat <<EOF
dn: $b
objectClass: dcObject
objectClass: organization
dc: berth
o: Berth test directory

dn: ou=people,$b
objectClass: organizationalUnit
ou: people

dn: ou=groups,$b
objectClass: organizationalUnit
ou: groups

dn: ou=services,$b
objectClass: organizationalUnit
ou: services

dn: $SLAPD_BIND_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: berth-svc
description: Berth's bind account
userPassword: $(slappasswd -s "$SLAPD_BIND_PW")

EOF
	for u in alice bob carol dave erin 'o*brien' 'a(b)c'; do
		hash=$(slappasswd -s "${SLAPD_PW[$u]}") || return 1
		case $u in
		'o*brien') n="Owen O*Brien" ;;
		'a(b)c') n="A (B) C" ;;
		*) n="${u^} Tester" ;;
		esac
		cat <<EOF
dn: uid=$u,ou=people,$b
objectClass: inetOrgPerson
uid: $u
cn: $n
sn: ${n##* }
givenName: ${n%% *}
displayName: $n
mail: ${u//[^a-z]/}@berth.test
userPassword: $hash

EOF
	done
	for ((i = 1; i <= SLAPD_BULK_USERS; i++)); do
		u=$(printf 'bulk%03d' "$i")
		cat <<EOF
dn: uid=$u,ou=people,$b
objectClass: inetOrgPerson
uid: $u
cn: Bulk User $i
sn: User $i
mail: $u@berth.test
userPassword: ${SLAPD_PW[$u]}

EOF
	done
	cat <<EOF
dn: cn=developers,ou=groups,$b
objectClass: groupOfNames
cn: developers
member: uid=alice,ou=people,$b
member: uid=o*brien,ou=people,$b

dn: cn=ops,ou=groups,$b
objectClass: groupOfNames
cn: ops
member: uid=bob,ou=people,$b

dn: cn=platform,ou=groups,$b
objectClass: groupOfNames
cn: platform
description: nested: contains the group developers
member: cn=developers,ou=groups,$b
member: uid=carol,ou=people,$b

dn: cn=all-staff,ou=groups,$b
objectClass: groupOfNames
cn: all-staff
description: two levels: contains platform, which contains developers
member: cn=platform,ou=groups,$b

dn: cn=escaped,ou=groups,$b
objectClass: groupOfNames
cn: escaped
member: uid=a(b)c,ou=people,$b

dn: cn=cycle-a,ou=groups,$b
objectClass: groupOfNames
cn: cycle-a
description: cycle: cycle-a contains cycle-b, which contains cycle-a
member: uid=dave,ou=people,$b

dn: cn=cycle-b,ou=groups,$b
objectClass: groupOfNames
cn: cycle-b
member: cn=cycle-a,ou=groups,$b
member: uid=erin,ou=people,$b

dn: cn=cycle-a,ou=groups,$b
changetype: modify
add: member
member: cn=cycle-b,ou=groups,$b

dn: cn=bulk,ou=groups,$b
objectClass: groupOfNames
cn: bulk
EOF
	for ((i = 1; i <= SLAPD_BULK_USERS; i++)); do
		printf 'member: uid=bulk%03d,ou=people,%s\n' "$i" "$b"
	done
}

# slapd_load_fixtures: ldapadd as the rootdn over plain LDAP.
slapd_load_fixtures() {
	local d=${SLAPD_DIR:?slapd_load_fixtures: slapd_start first}
	slapd_fixtures_ldif >"$d/fixtures.ldif" || {
		ldap_log "could not write $d/fixtures.ldif"
		return 1
	}
	# -c is not used: a failed add is a broken fixture, not noise.
	ldapadd -x -H "$SLAPD_URL" -D "$SLAPD_ROOT_DN" -w "$SLAPD_ROOT_PW" \
		-f "$d/fixtures.ldif" >"$d/ldapadd.log" 2>&1 || {
		ldap_log "ldapadd failed: $(tail -c 500 "$d/ldapadd.log")"
		return 1
	}
}

# ---- Network namespace ------------------------------------------------------

# netns_enter SCRIPT [ARGS...]: unless BERTH_NETNS says this shell already
# is inside, re-executes SCRIPT with bash in a new network namespace (exec:
# same pid); inside, brings loopback up.  Call it in the test's own shell,
# not in $(...).  Returns non-zero with the reason in NETNS_ERR when it
# cannot: the caller reports not ok and exits.
netns_enter() {
	NETNS_ERR=
	if [ "${BERTH_NETNS:-}" = "$$" ]; then
		ip link set lo up 2>"$SCRATCH/netns.err" || {
			NETNS_ERR="ip link set lo up: $(cat "$SCRATCH/netns.err")"
			return 1
		}
		return 0
	fi
	if ! unshare -n true 2>"$SCRATCH/netns.err"; then
		NETNS_ERR="unshare -n failed (needs root or CAP_SYS_ADMIN): $(cat "$SCRATCH/netns.err")"
		return 1
	fi
	if ! command -v ip >/dev/null 2>&1; then
		NETNS_ERR="no ip(8) (package iproute2)"
		return 1
	fi
	exec env BERTH_NETNS=$$ unshare -n bash "$@"
}

# ---- Samba AD DC ----------------------------------------------------------

AD_REALM=BERTH.TEST
AD_DOMAIN=BERTH
AD_UPN_SUFFIX=berth.test
AD_BASE=DC=berth,DC=test
AD_PEOPLE_BASE=OU=People,OU=Berth,$AD_BASE
AD_GROUPS_BASE=OU=Groups,OU=Berth,$AD_BASE
AD_BIND_DN=CN=berth-svc,CN=Users,$AD_BASE
AD_BIND_PW=Svc-Bind-Passw0rd
AD_ADMIN_DN=CN=Administrator,CN=Users,$AD_BASE
AD_ADMIN_PW=Adm1n-Passw0rd-Berth
AD_URL=ldaps://127.0.0.1
AD_STARTTLS_URL=ldap://127.0.0.1
# Samba's default password policy: complex, and no password may contain
# the account's name.
declare -gA AD_PW=(
	[berth-svc]=$AD_BIND_PW
	[alice]=Wonderland-42
	[bob]=CanWeFixIt-42
	[carol]=Captain-Marvel-42
	[dave]=Red-Dwarf-42
	[erin]=Brockovich-42
	['a(b)c']=Parens-Name-42
	[dlee]=Comma-Name-42
	[disabled]=Turned-Off-42
	[expired]=Too-Late-42
	[mustchange]=Reset-Me-42
)
export AD_REALM AD_DOMAIN AD_UPN_SUFFIX AD_BASE AD_PEOPLE_BASE AD_GROUPS_BASE \
	AD_BIND_DN AD_BIND_PW AD_ADMIN_DN AD_ADMIN_PW AD_URL AD_STARTTLS_URL

# samba_write_conf DIR: DIR/etc/smb.conf with every path under DIR.
samba_write_conf() {
	local d=$1
	mkdir -p "$d/etc" "$d/run" "$d/log" "$d/cache" "$d/state" \
		"$d/bind-dns" || return 1
	cat >"$d/etc/smb.conf" <<EOF
# Written by tests/integration/ldap.sh
[global]
	netbios name = DC1
	workgroup = $AD_DOMAIN
	realm = $AD_REALM
	server role = active directory domain controller
	server services = ldap
	interfaces = 127.0.0.1
	bind interfaces only = yes
	private dir = $d/private
	lock directory = $d
	state directory = $d/state
	cache directory = $d/cache
	binddns dir = $d/bind-dns
	pid directory = $d/run
	ncalrpc dir = $d/run/ncalrpc
	winbindd socket directory = $d/run/winbindd
	ntp signd socket directory = $d/run/ntp_signd
	log file = $d/log/samba.log
	logging = file
	log level = 1
	panic action =
	tls enabled = yes
	tls keyfile = $d/tls/key.pem
	tls certfile = $d/tls/cert.pem
	tls cafile = $d/tls/ca.pem
	ldap server require strong auth = yes
EOF
}

# samba_tool DIR ARGS...: queues one samba-tool command on DIR's
# configuration; samba_tool_run DIR runs the queue in one Python process
# with samba-tool's own command classes, called as /usr/bin/samba-tool
# calls them (a process each would cost ~0.3 s per command).  Output in
# DIR/log/samba-tool.log.
samba_tool() {
	local d=$1 a line=
	shift
	for a in "$@" -s "$d/etc/smb.conf"; do
		line+=${line:+$'\t'}$a
	done
	printf '%s\n' "$line" >>"$d/log/samba-tool.queue"
}

samba_tool_run() {
	local d=$1 py
	[ -s "$d/log/samba-tool.queue" ] || return 0
	# samba-tool's own interpreter (not a python3 that PATH may put first,
	# such as pyenv's, which has no samba module).
	py=$(sed -n '1s/^#! *//p' "$(command -v samba-tool)")
	$py - "$d/log/samba-tool.queue" >>"$d/log/samba-tool.log" 2>&1 <<'PY' || {
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
from samba.netcmd.main import cmd_sambatool
for line in open(sys.argv[1], encoding="utf-8"):
    args = line.rstrip("\n").split("\t")
    print("+ samba-tool " + " ".join(args), flush=True)
    try:
        rc = cmd_sambatool()._run("samba-tool", *args)
    except SystemExit as e:
        rc = e.code
    if rc:
        print("samba-tool failed: exit %s" % rc, flush=True)
        sys.exit(1)
PY
		ldap_log "samba-tool failed: $(tail -c 600 "$d/log/samba-tool.log")"
		return 1
	}
	rm -f "$d/log/samba-tool.queue"
}

# samba_provision DIR: a new domain in DIR (about 10 s).
samba_provision() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/log" || return 1
	d=$(cd "$d" && pwd -P)
	# --targetdir puts the databases under DIR; the options keep the rest
	# there too (the generated smb.conf is replaced by ours afterwards).
	samba-tool domain provision --server-role=dc --dns-backend=NONE \
		--realm="$AD_REALM" --domain="$AD_DOMAIN" \
		--host-name=dc1 --host-ip=127.0.0.1 --adminpass="$AD_ADMIN_PW" \
		--targetdir="$d" --option="interfaces=127.0.0.1" \
		--option="bind interfaces only=yes" \
		--option="log file=$d/log/provision.log" \
		>"$d/log/provision.out" 2>&1 || {
		ldap_log "provision failed: $(tail -c 500 "$d/log/provision.out")"
		return 1
	}
	samba_write_conf "$d"
}

# samba_load_fixtures DIR: the users and groups listed at the top.
# samba_fixture_user DIR NAME GIVEN SURNAME [ARGS...]: queues a user in
# OU=People,OU=Berth (CN "GIVEN SURNAME"), password AD_PW[NAME].
samba_fixture_user() {
	local d=$1 name=$2 given=$3 sur=$4
	shift 4
	samba_tool "$d" user create "$name" "${AD_PW[$name]}" \
		--userou="OU=People,OU=Berth" --given-name="$given" \
		--surname="$sur" --mail-address="$name@$AD_UPN_SUFFIX" "$@"
}

samba_load_fixtures() {
	local d=${1:?usage: samba_load_fixtures DIR} g
	d=$(cd "$d" && pwd -P) || return 1
	[ -f "$d/.fixtures" ] && return 0
	mkdir -p "$d/log"
	rm -f "$d/log/samba-tool.queue"
	samba_tool "$d" ou add "OU=Berth"
	samba_tool "$d" ou add "OU=People,OU=Berth"
	samba_tool "$d" ou add "OU=Groups,OU=Berth"
	samba_tool "$d" user create berth-svc "${AD_PW[berth-svc]}" \
		--description="Berth's bind account"
	samba_fixture_user "$d" alice Alice Liddell
	samba_fixture_user "$d" bob Bob Builder
	samba_fixture_user "$d" carol Carol Danvers
	samba_fixture_user "$d" dave Dave Lister
	samba_fixture_user "$d" erin Erin Brockovich
	samba_fixture_user "$d" 'a(b)c' A "(B) C"
	samba_fixture_user "$d" dlee Dana Lee
	# samba-tool puts the CN into a DN string unescaped.
	samba_tool "$d" user rename dlee --force-new-cn="Lee\\, Dana" \
		--upn="dana.lee@$AD_UPN_SUFFIX"
	samba_fixture_user "$d" disabled Dis Abled
	samba_tool "$d" user disable disabled
	samba_fixture_user "$d" expired Ex Pired
	samba_tool "$d" user setexpiry expired --days=0
	samba_fixture_user "$d" mustchange Must Change --must-change-at-next-login
	for g in berth-devs berth-ops berth-platform berth-all berth-cycle-a \
		berth-cycle-b; do
		samba_tool "$d" group add "$g" --groupou="OU=Groups,OU=Berth"
	done
	samba_tool "$d" group addmembers berth-devs 'alice,a(b)c'
	samba_tool "$d" group addmembers berth-ops bob
	samba_tool "$d" group addmembers berth-platform berth-devs,carol
	samba_tool "$d" group addmembers berth-all berth-platform
	samba_tool "$d" group addmembers berth-cycle-a berth-cycle-b,dave
	samba_tool "$d" group addmembers berth-cycle-b berth-cycle-a,erin
	samba_tool_run "$d" && : >"$d/.fixtures"
}

# samba_provision_cached DIR: see the top of this file.
samba_provision_cached() {
	local d key t0=$SECONDS
	local cache=${SAMBA_CACHE:-${BERTH_RUN:-$SCRATCH}/samba-cache}
	ldap_need samba samba-tool flock openssl || return 1
	mkdir -p "$1" || return 1
	d=$(cd "$1" && pwd -P)
	mkdir -p "$(dirname "$cache")" || return 1
	# The marker says the copy is whole, and made by this very file and
	# Samba version (SAMBA_CACHE may name a directory kept across runs).
	key=$({ samba -V; cat "$LDAP_SH"; } | sha256sum) || return 1
	(
		flock 9 || exit 1
		if [ "$(cat "$cache/.complete" 2>/dev/null)" != "$key" ]; then
			samba_provision "$cache" && samba_load_fixtures "$cache" &&
				echo "$key" >"$cache/.complete"
		fi
	) 9>"$cache.lock" || return 1
	[ $((SECONDS - t0)) -lt 2 ] || ldap_log "provisioned $cache in $((SECONDS - t0)) s"
	rm -rf "$d"
	cp -a "$cache" "$d" || return 1
	rm -rf "$d/log" "$d/run" "$d/tls"
	ldap_make_certs "$d/tls" dc1.berth.test || return 1
	samba_write_conf "$d" || return 1
	AD_DIR=$d AD_CA=$d/tls/ca.pem
	export AD_DIR AD_CA
}

# samba_start DIR: see the top of this file.
samba_start() {
	local d
	ldap_need samba ldapsearch mkfifo || return 1
	d=$(cd "${1:?usage: samba_start DIR}" && pwd -P) || return 1
	[ -f "$d/etc/smb.conf" ] || {
		ldap_log "samba_start: no $d/etc/smb.conf; samba_provision_cached first"
		return 1
	}
	if [ -n "$AD_PID" ] && kill -0 "$AD_PID" 2>/dev/null; then
		ldap_log "samba_start: samba already running (pid $AD_PID)"
		return 1
	fi
	if (exec 3<>/dev/tcp/127.0.0.1/636) 2>/dev/null; then
		ldap_log "samba_start: 127.0.0.1:636 is taken: not inside netns_enter's namespace?"
		return 1
	fi
	rm -f "$d/run/stdin"
	mkfifo "$d/run/stdin" || return 1
	# Samba is forked first, so it does not inherit our end of the pipe;
	# ours is opened read-write, which never blocks.  --no-process-group:
	# run.sh's timeout signals reach it too.
	samba -i -M single --no-process-group \
		--maximum-runtime="$SAMBA_MAX_RUNTIME" -s "$d/etc/smb.conf" \
		<"$d/run/stdin" >>"$d/log/samba.out" 2>&1 &
	AD_PID=$!
	exec {AD_STDIN_FD}<>"$d/run/stdin"
	if ! ldap_wait_up "$AD_PID" "ldap://127.0.0.1" 60 ||
		! ldap_wait_up "$AD_PID" "ldaps://127.0.0.1" 10; then
		ldap_log "samba did not start: $(tail -c 600 "$d/log/samba.out")"
		samba_stop
		return 1
	fi
	AD_DIR=$d AD_CA=$d/tls/ca.pem
	export AD_DIR AD_CA AD_PID
	ldap_write_env "$d/env" AD_
}

# samba_stop: EOF on Samba's stdin, then TERM, then KILL; its exit code.
samba_stop() {
	local pid=$AD_PID i
	[ -n "$pid" ] || return 0
	AD_PID=
	if [ -n "$AD_STDIN_FD" ]; then
		exec {AD_STDIN_FD}>&-
		AD_STDIN_FD=
	fi
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$i" != 50 ] || kill -TERM "$pid" 2>/dev/null
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && {
		ldap_log "samba (pid $pid) did not stop; killing it"
		kill -KILL "$pid" 2>/dev/null
	}
	wait "$pid" 2>/dev/null
}

# ---- authd in this namespace ------------------------------------------------

authd_local_start() {
	local d port i line
	mkdir -p "${1:?usage: authd_local_start DIR [CONF_LINE...]}" || return 1
	d=$(cd "$1" && pwd -P)
	shift
	if [ -n "$AUTHD_LOCAL_PID" ] && kill -0 "$AUTHD_LOCAL_PID" 2>/dev/null; then
		ldap_log "authd_local_start: already running (pid $AUTHD_LOCAL_PID)"
		return 1
	fi
	port=$(ldap_free_port) || return 1
	{
		echo "listen = 127.0.0.1:$port"
		echo "database = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER"
		echo "log_level = ${BERTH_TEST_LOG_LEVEL:-debug}"
		echo "signing_keys = $AUTH_KEY"
		for line in "$@"; do
			echo "$line"
		done
	} >"$d/conf"
	ldap_spawn "$d/log" "$BUILD/authd" -c "$d/conf" serve
	AUTHD_LOCAL_PID=$!
	AUTHD_LOCAL_DIR=$d
	AUTHD_LOCAL=http://127.0.0.1:$port
	export AUTHD_LOCAL AUTHD_LOCAL_PID
	for ((i = 0; i < 300; i++)); do
		kill -0 "$AUTHD_LOCAL_PID" 2>/dev/null || break
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			"$AUTHD_LOCAL/readyz")" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	ldap_log "authd did not become ready: $(tail -c 500 "$d/log")"
	authd_local_stop
	return 1
}

authd_local_stop() {
	local pid=$AUTHD_LOCAL_PID code i
	[ -n "$pid" ] || return 0
	AUTHD_LOCAL_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	code=$?
	[ "$code" = 0 ] || tail -n 30 "$AUTHD_LOCAL_DIR/log" >&2
	return "$code"
}

# ---- Both ------------------------------------------------------------------

HANG_PIDS=()

hang_start() {
	local p i j cmd="exec sleep 30"
	ldap_need socat || return 1
	# An LDAPMessage {id 1, extendedResp {success, "", ""}}, from a file:
	# socat would take quotes and backslashes in the command as its own.
	if [ "${1:-}" = starttls ]; then
		printf '\060\014\002\001\001\170\007\012\001\000\004\000\004\000' \
			>"$SCRATCH/starttls.ber" || return 1
		cmd="cat $SCRATCH/starttls.ber; exec sleep 30"
	fi
	for ((i = 0; i < 5; i++)); do
		p=$(ldap_free_port) || return 1
		socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" \
			"SYSTEM:$cmd" </dev/null >>"$SCRATCH/hang.log" 2>&1 &
		HANG_PIDS+=("$!")
		for ((j = 0; j < 50; j++)); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
				HANG_PORT=$p
				return 0
			fi
			kill -0 "$!" 2>/dev/null || break
			sleep 0.1
		done
	done
	ldap_log "hang_start: socat did not listen: $(tail -c 300 "$SCRATCH/hang.log")"
	return 1
}

hang_stop() {
	local pid child
	for pid in "${HANG_PIDS[@]}"; do
		# Each connection's sleep, its socat, then the listener (all by
		# id: the parent's id names the children).
		for child in $(pgrep -P "$pid"); do
			pkill -TERM -P "$child" 2>/dev/null
			kill -TERM "$child" 2>/dev/null
		done
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	HANG_PIDS=()
}

# ldap_write_env FILE PREFIX: the exported PREFIX* variables, for a shell
# that wants to look at a kept run by hand (`. FILE`).
ldap_write_env() {
	local v
	for v in $(compgen -e "$2"); do
		printf 'export %s=%q\n' "$v" "${!v}"
	done >"$1"
}

ldap_cleanup() {
	hang_stop
	authd_local_stop
	samba_stop
	slapd_stop
	return 0
}
trap 'ldap_cleanup' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
