# Directory logins when the directory misbehaves, against a real slapd and
# listeners that accept and never answer (ldap.sh's hang_start): failover
# from a dead ldaps:// server and without StartTLS, every step bounded
# (a hanging LDAPS handshake, a hanging handshake after StartTLS), the
# shared circuit breaker, eight logins against hanging servers that leave
# authd answering, lockouts keyed on the account whatever the spelling and
# never reaching the directory, outages that count toward no lockout, and
# a sync that fails safe (a wrong user base, a mass departure).
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/auth.sh"
. "$ROOT/tests/integration/ldap.sh"

W=$SCRATCH
slapd_start "$W/slapd" && slapd_load_fixtures ||
	{ not_ok "resilience: start slapd with fixtures" "see $W/slapd"; exit 0; }
hang_start && HANG=$HANG_PORT ||
	{ not_ok "resilience: start a hanging listener" "see $W/hang.log"; exit 0; }
hang_start starttls && HANG_STLS=$HANG_PORT ||
	{ not_ok "resilience: start a StartTLS-then-hang listener" "see $W/hang.log"; exit 0; }
DEAD=$(ldap_free_port)

# The settings of every authd here; more lines, and ldap_urls, per start.
base_conf=(
	"ldap_ca_file = $SLAPD_CA"
	"ldap_bind_dn = $SLAPD_BIND_DN"
	"ldap_bind_password = $SLAPD_BIND_PW"
	"ldap_user_base = $SLAPD_PEOPLE_BASE"
	"ldap_group_base = $SLAPD_GROUPS_BASE"
	"ldap_network_timeout = 2"
	"ldap_timeout = 2"
	"ldap_sync_interval = 0"
	"lockout_address_threshold = 1000"
)
# start NAME CONF_LINE...: a fresh authd; A is its URL.
start() {
	local name=$1
	shift
	authd_local_stop
	authd_local_start "$W/$name" "${base_conf[@]}" "$@" ||
		{ not_ok "resilience: start authd $name" "see $W/$name/log"; return 1; }
	A=$AUTHD_LOCAL
}
# login USER PASS: sets STATUS and SECS (the request's wall time).
login() {
	local out
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 60 \
		-u "$1:$2" "$A/token?service=berth-registry") || out="000 60"
	STATUS=${out%% *} SECS=${out##* }
}
# under SECS LIMIT: true when SECS < LIMIT.
under() {
	awk -v s="$1" -v l="$2" 'BEGIN { exit !(s < l) }'
}
pw() {
	echo "${SLAPD_PW[$1]}"
}

# ---- Failover for every scheme ---------------------------------------------
start failover "ldap_urls = ldaps://127.0.0.1:$DEAD, $SLAPD_URLS" \
	"credential_cache_ttl = 0" || exit 0
login bulk001 "$(pw bulk001)"
expect_eq "resilience: ldaps:// login after a dead first ldaps:// server" 200 "$STATUS"
login bulk001 wrong
expect_eq "resilience: ... and a wrong password there is still 401" 401 "$STATUS"
start nostarttls "ldap_urls = ldap://127.0.0.1:$DEAD, $SLAPD_URL" \
	"ldap_starttls = false" "credential_cache_ttl = 0" || exit 0
login bulk002 "$(pw bulk002)"
expect_eq "resilience: plain ldap:// (starttls = false) login after a dead first server" 200 "$STATUS"

# ---- Bounded steps and the breaker -----------------------------------------
# First a server that hangs the LDAPS handshake, then one that hangs the
# handshake after StartTLS, then the good one.
start hanging "ldap_urls = ldaps://127.0.0.1:$HANG, ldap://127.0.0.1:$HANG_STLS, $SLAPD_URLS" \
	"ldap_down_seconds = 30" "credential_cache_ttl = 60" || exit 0
login bulk003 "$(pw bulk003)"
first=$SECS
expect_eq "resilience: login past two hanging servers succeeds" 200 "$STATUS"
# Bound: 2 s for the LDAPS handshake, 2 + 2 s for StartTLS, plus slack.
check "resilience: ... within the bound (${first}s < 9s)" under "$first" 9
check "resilience: the hanging LDAPS server is marked down" \
	grep -q "ldaps://127.0.0.1:$HANG\" marked down" "$W/hanging/log"
check "resilience: the server hanging after StartTLS is marked down" \
	grep -q "ldap://127.0.0.1:$HANG_STLS\" marked down" "$W/hanging/log"
login bulk004 "$(pw bulk004)"
expect_eq "resilience: the next login succeeds too" 200 "$STATUS"
check "resilience: ... fast, the breaker skips the hanging servers (${SECS}s < 1.5s, first ${first}s)" \
	under "$SECS" 1.5
login bulk004 wrong-password
expect_eq "resilience: a wrong password is 401 with the breaker open" 401 "$STATUS"
check "resilience: ... fast (${SECS}s < 1.5s)" under "$SECS" 1.5
login bulk003 "$(pw bulk003)"
expect_eq "resilience: a cached credential logs in" 200 "$STATUS"
check "resilience: ... without waiting for the directory (${SECS}s < 0.5s)" under "$SECS" 0.5
authd_local_stop
expect_eq "resilience: authd exits 0 after hanging servers" 0 "$?"

# ---- Only hanging servers: many logins at once -----------------------------
start allhang "ldap_urls = ldaps://127.0.0.1:$HANG, ldap://127.0.0.1:$HANG" \
	"ldap_down_seconds = 30" "credential_cache_ttl = 0" "threads = 8" || exit 0
mkdir -p "$W/conc"
t0=$(date +%s.%N)
pids=()
for i in $(seq -w 10 19); do
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 60 \
		-u "bulk0$i:$(pw "bulk0$i")" "$A/token?service=berth-registry" \
		>"$W/conc/$i" 2>&1 &
	pids+=("$!")
done
sleep 0.5
hz=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$A/healthz")
adm=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 \
	-u "admin:$AUTHD_ADMIN_PASSWORD" "$A/token?service=berth-registry")
wait "${pids[@]}"	# not the listeners
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
statuses=$(cut -d' ' -f1 "$W/conc"/* | sort | uniq -c | awk '{ printf "%s×%s ", $1, $2 }')
slowest=$(cut -d' ' -f2 "$W/conc"/* | sort -n | tail -1)
expect_eq "resilience: 10 concurrent logins against hanging servers all fail ($statuses)" \
	"10×401 " "$statuses"
# Bound: 2 s (LDAPS handshake) + 4 s (StartTLS bounded by the watchdog).
check "resilience: ... each within the bound (slowest ${slowest}s < 10s, all ${wall}s)" \
	under "$slowest" 10
check "resilience: /healthz answers meanwhile (${hz#* }s)" \
	eval '[ "${hz%% *}" = 200 ] && under "${hz#* }" 1'
check "resilience: a local administrator gets a token meanwhile (${adm#* }s)" \
	eval '[ "${adm%% *}" = 200 ] && under "${adm#* }" 2'
login bulk020 "$(pw bulk020)"
expect_eq "resilience: with every server marked down a login fails" 401 "$STATUS"
check "resilience: ... at once (${SECS}s < 0.5s)" under "$SECS" 0.5
expect_eq "resilience: an outage counts toward no lockout" 0 \
	"$(psql -Atc "SELECT count(*) FROM login_failures WHERE key LIKE 'pair:% bulk01%' OR key LIKE 'pair:% bulk020'")"
authd_local_stop
expect_eq "resilience: authd exits 0 after concurrent hanging logins" 0 "$?"

# ---- Delays keyed on the account; the directory never sees a delayed guess --
start lockout "ldap_urls = $SLAPD_URLS" "credential_cache_ttl = 0" \
	"lockout_threshold = 3" "lockout_delay = 3" "lockout_duration = 3" || exit 0
binds_before=$(grep -c "BIND dn=\"uid=bulk030," "$SLAPD_DIR/log")
for spelling in Bulk030 " bulk030" "BULK030 " bulk030 bulk030; do
	login "$spelling" wrong-password
done
# The first three count under one key; the other two come during the
# delay and are refused unchecked.
expect_eq "resilience: five wrong guesses in four spellings count under one account's key (three before the delay)" 3 \
	"$(psql -Atc "SELECT failures FROM login_failures WHERE key = 'pair:127.0.0.1 bulk030'")"
login bulk030 "$(pw bulk030)"
expect_eq "resilience: the right password is refused unchecked while delayed" 429 "$STATUS"
binds=$(($(grep -c "BIND dn=\"uid=bulk030," "$SLAPD_DIR/log") - binds_before))
expect_eq "resilience: the directory saw only the guesses before the delay" 3 "$binds"
sleep 3.2
login BULK030 "$(pw bulk030)"
expect_eq "resilience: after the delay the right password works (any spelling)" 200 "$STATUS"
expect_eq "resilience: success clears the account's failures" 0 \
	"$(psql -Atc "SELECT count(*) FROM login_failures WHERE key = 'pair:127.0.0.1 bulk030'")"
# An administrator's lock of a directory user: the right password is
# refused like a wrong one, and the directory never sees it.
psql -Atc "UPDATE users SET locked_until = 'infinity' WHERE name = 'bulk030'" >/dev/null
binds_before=$(grep -c "BIND dn=\"uid=bulk030," "$SLAPD_DIR/log")
login bulk030 "$(pw bulk030)"
expect_eq "resilience: a locked directory user's right password is refused (401)" 401 "$STATUS"
expect_eq "resilience: ... without a bind" 0 \
	"$(($(grep -c "BIND dn=\"uid=bulk030," "$SLAPD_DIR/log") - binds_before))"
psql -Atc "UPDATE users SET locked_until = NULL WHERE name = 'bulk030'" >/dev/null
login bulk030 "$(pw bulk030)"
expect_eq "resilience: unlocked, the directory user signs in again" 200 "$STATUS"

# ---- Refusals take the time of a wrong password ----------------------------
# Medians of 9: an unknown user against a wrong password. Two worker
# threads, each primed by wrong passwords: a thread's first login opens
# its service connection (a TLS handshake, tens of ms), noise that falls
# on either kind; the priming also feeds the moving average of refused
# binds.
start timing "ldap_urls = $SLAPD_URLS" "credential_cache_ttl = 0" \
	"lockout_threshold = 1000" "threads = 2" || exit 0
for i in $(seq 1 10); do login bulk031 "wrong-$i"; done
tw=() tu=()
for i in $(seq 1 9); do
	login bulk031 "wrong-x$i"
	tw+=("$SECS")
	login "nosuch$i" "wrong-x$i"
	tu+=("$SECS")
done
median() {
	printf '%s\n' "$@" | sort -n | sed -n 5p
}
mw=$(median "${tw[@]}") mu=$(median "${tu[@]}")
echo "# wrong passwords: ${tw[*]}"
echo "# unknown users: ${tu[*]}"
ratio=$(awk -v u="$mu" -v w="$mw" 'BEGIN { printf "%.2f", (w > 0 ? u / w : 0) }')
# slapd answers in a few ms, where a loaded machine's noise is as large:
# within a factor of two, or within 15 ms.
check "resilience: an unknown user takes as long as a wrong password (medians ${mu}s/${mw}s, ratio $ratio)" \
	awk -v r="$ratio" -v u="$mu" -v w="$mw" \
	'BEGIN { d = u - w; exit !((r >= 0.5 && r <= 2) || (d < 0.015 && d > -0.015)) }'

# ---- A sync that fails safe ------------------------------------------------
ldap_users=$(psql -Atc "SELECT count(*) FROM users WHERE source = 'ldap' AND NOT disabled")
start wrongbase "ldap_urls = $SLAPD_URLS" "ldap_user_base = ou=nosuch,$SLAPD_BASE" || exit 0
audit_before=$(psql -Atc "SELECT coalesce(max(id), 0) FROM audit_log")
req POST "$A/api/v1/ldap/sync" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "resilience: a sync whose searches fail answers 503" 503 "$STATUS"
expect_match "resilience: ... saying why and that nobody was disabled" \
	'nobody was disabled.*search.*failed' "$(cat "$BODY")"
expect_eq "resilience: ... and disables nobody ($ldap_users directory users)" "$ldap_users" \
	"$(psql -Atc "SELECT count(*) FROM users WHERE source = 'ldap' AND NOT disabled")"
check "resilience: the aborted sync is in the log" grep -q "ldap sync: nobody disabled" "$W/wrongbase/log"
expect_eq "resilience: the aborted sync is audited" 1 \
	"$(psql -Atc "SELECT count(*) FROM audit_log WHERE action = 'ldap.sync' AND NOT success AND detail->>'reason' LIKE '%search%failed%' AND id > $audit_before")"

# Three of the directory users leave at once: more than 10 % (and more
# than one), so nobody is disabled until the limit is raised.
for u in bulk001 bulk002 bulk003; do
	LDAPTLS_CACERT=$SLAPD_CA ldapdelete -x -H "$SLAPD_URLS" -D "$SLAPD_ROOT_DN" \
		-w "$SLAPD_ROOT_PW" "uid=$u,$SLAPD_PEOPLE_BASE" ||
		not_ok "resilience: delete $u" "ldapdelete"
done
start masssync "ldap_urls = $SLAPD_URLS" || exit 0
req POST "$A/api/v1/ldap/sync" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "resilience: a sync that would disable too many answers 409" 409 "$STATUS"
expect_match "resilience: ... naming the share" 'nobody was disabled: [0-9]+ of [0-9]+ directory users would be disabled' \
	"$(cat "$BODY")"
expect_eq "resilience: ... and disables nobody" "$ldap_users" \
	"$(psql -Atc "SELECT count(*) FROM users WHERE source = 'ldap' AND NOT disabled")"
start masssync2 "ldap_urls = $SLAPD_URLS" "ldap_sync_max_disable_percent = 100" || exit 0
req POST "$A/api/v1/ldap/sync" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "resilience: with ldap_sync_max_disable_percent = 100 the sync runs" 200 "$STATUS"
expect_eq "resilience: ... and disables the three who left" "t t t" \
	"$(psql -Atc "SELECT disabled FROM users WHERE name IN ('bulk001', 'bulk002', 'bulk003') ORDER BY name" | xargs)"
authd_local_stop
expect_eq "resilience: authd exits 0" 0 "$?"
hang_stop
