# deploy/: the example settings start as written under the shipped systemd
# units. In a network namespace of its own (so 127.0.0.1:5000 and :5001 are
# free), the test follows the units' install comments and runs their
# ExecStartPre and ExecStart lines with the example files. The only edits
# are the file-system locations, moved under a temp dir: /etc/berth,
# /var/lib/berth, /usr/local/bin and /run/postgresql, where a PostgreSQL of
# this test's own listens on the default port 5432. Then token auth must be on,
# a push and a pull with a token from that authd must work, SIGHUP must
# reload and SIGTERM stop both cleanly.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/auth.sh"
. "$ROOT/tests/integration/ldap.sh"

if ! netns_enter "$0"; then
	not_ok "deploy: enter a network namespace" "$NETNS_ERR"
	exit 0
fi
W=$SCRATCH/root
mkdir -p "$W/etc" "$W/lib" "$W/bin" "$W/run-pg"
. "$ROOT/scripts/pg.sh"
if PG_NOSYNC=1 pg_init "$W/run-pg" 5432 >"$SCRATCH/pg.log" 2>&1 &&
	pg_start "$W/run-pg" 5432 >>"$SCRATCH/pg.log" 2>&1; then
	ok "deploy: a PostgreSQL with database and role berth on /run/postgresql"
else
	not_ok "deploy: a PostgreSQL with database and role berth on /run/postgresql" "$(tail -n 3 "$SCRATCH/pg.log")"
	exit 0
fi
ln -s "$BUILD/registryd" "$W/bin/registryd"
ln -s "$BUILD/authd" "$W/bin/authd"
relocate() {
	sed -e "s#/etc/berth#$W/etc#g" -e "s#/var/lib/berth#$W/lib#g" \
		-e "s#/run/postgresql#$W/run-pg#g" -e "s#/usr/local/bin#$W/bin#g" "$@"
}
relocate deploy/registryd.conf.example >"$W/etc/registryd.conf"
relocate deploy/authd.conf.example >"$W/etc/authd.conf"
# The units' StateDirectory= lines.
mkdir -p "$W/lib/storage"

# The install comment's key command, then the units' own lines.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$W/etc/authd-key-1.pem" 2>/dev/null
unit_line() { relocate "deploy/$1.service" | sed -n "s/^$2=//p"; }
# As systemd runs them: a clean environment (no PG* variables of the harness).
SYSD_ENV=(PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}")
sysd() {
	env -i "${SYSD_ENV[@]}" "$@"
}
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
pids=
trap 'for p in $pids; do kill -KILL "$p" 2>/dev/null; done; pg_stop "$W/run-pg" >/dev/null 2>&1' EXIT

pass=Deploy-Test-Passw0rd
for step in "authd migrate" "registryd migrate"; do
	# shellcheck disable=SC2086
	if sysd $W/bin/${step% *} -c "$W/etc/${step% *}.conf" migrate >"$SCRATCH/${step% *}.migrate" 2>&1; then
		ok "deploy: $step with the example file"
	else
		not_ok "deploy: $step with the example file" "$(tail -n 3 "$SCRATCH/${step% *}.migrate")"
	fi
done
if sysd BERTH_ADMIN_PASSWORD=$pass "$W/bin/authd" -c "$W/etc/authd.conf" \
	bootstrap-admin admin >"$SCRATCH/bootstrap" 2>&1; then
	ok "deploy: authd bootstrap-admin as the install comment says"
else
	not_ok "deploy: authd bootstrap-admin as the install comment says" "$(tail -n 3 "$SCRATCH/bootstrap")"
fi

start_unit() {
	local unit=$1 pre start
	pre=$(unit_line "$unit" ExecStartPre)
	start=$(unit_line "$unit" ExecStart)
	[ -n "$pre" ] && [ -n "$start" ] || { not_ok "deploy: $unit.service has ExecStartPre and ExecStart" "$pre / $start"; return 1; }
	# shellcheck disable=SC2086
	sysd $pre >"$SCRATCH/$unit.pre" 2>&1 ||
		{ not_ok "deploy: $unit ExecStartPre" "$(tail -n 3 "$SCRATCH/$unit.pre")"; return 1; }
	# shellcheck disable=SC2086
	env -i "${SYSD_ENV[@]}" $start >"$SCRATCH/$unit.log" 2>&1 &
	eval "${unit}_pid=$!"
	pids="$pids $!"
}
start_unit authd
if wait_ready http://127.0.0.1:5001/readyz; then
	ok "deploy: authd.service starts and is ready on 127.0.0.1:5001"
else
	not_ok "deploy: authd.service starts and is ready on 127.0.0.1:5001" "$(tail -n 5 "$SCRATCH/authd.log")"
	exit 0
fi
start_unit registryd
if wait_ready http://127.0.0.1:5000/readyz; then
	ok "deploy: registryd.service starts and is ready on 127.0.0.1:5000"
else
	not_ok "deploy: registryd.service starts and is ready on 127.0.0.1:5000" "$(tail -n 5 "$SCRATCH/registryd.log")"
	exit 0
fi

REG=http://127.0.0.1:5000
AUTHD=http://127.0.0.1:5001
AUTH_SERVICE=berth-registry
expect_status "deploy: auth is on: anonymous /v2/ is 401" 401 GET "$REG/v2/" &&
	expect_match "deploy: the challenge names the example's realm" \
		'realm="http://127.0.0.1:5001/token"' "$(challenge)"

image_make "$SCRATCH/img" 2
tok=$(token_for admin "$pass" "repository:admin/deploy:pull,push")
as_bearer "$tok"
if [ -n "$tok" ] && auth_push "$REG" admin/deploy v1 "$SCRATCH/img"; then
	ok "deploy: the bootstrap admin pushes with a token"
else
	not_ok "deploy: the bootstrap admin pushes with a token" "status $STATUS"
fi
expect_status "deploy: and pulls it back" 200 GET "$REG/v2/admin/deploy/manifests/v1" \
	"${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
n=$(find "$W/lib/storage" -type f | wc -l)
[ "$n" -ge 3 ] && ok "deploy: blobs land in the example's storage directory" ||
	not_ok "deploy: blobs land in the example's storage directory" "$n files under $W/lib/storage"

# ExecReload= and KillSignal=.
for unit in authd registryd; do
	pid=$(eval echo "\$${unit}_pid")
	kill -HUP "$pid"
done
sleep 0.5
# authd reports a reload by naming its signing key again.
reloaded_authd() { [ "$(grep -c 'signing with key' "$SCRATCH/authd.log")" -ge 2 ]; }
reloaded_registryd() { grep -q 'SIGHUP: configuration reloaded' "$SCRATCH/registryd.log"; }
for unit in authd registryd; do
	if "reloaded_$unit" && kill -0 "$(eval echo "\$${unit}_pid")"; then
		ok "deploy: $unit reloads on ExecReload's SIGHUP"
	else
		not_ok "deploy: $unit reloads on ExecReload's SIGHUP" "$(tail -n 3 "$SCRATCH/$unit.log")"
	fi
done
for unit in registryd authd; do
	pid=$(eval echo "\$${unit}_pid")
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	expect_eq "deploy: $unit exits 0 on SIGTERM" 0 "$rc" ||
		tail -n 20 "$SCRATCH/$unit.log"
done
pids=
