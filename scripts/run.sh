#!/bin/sh
# `make run`: a registry on this machine in one command.  Uses the database
# in REGISTRYD_DATABASE when set; otherwise a private PostgreSQL cluster in
# ./var/pg (created on the first run, reused afterwards; port BERTH_PG_PORT,
# default 5433).  Blobs go to ./var/storage.  Applies the migrations,
# creates the administrator "admin" on the first run (password from
# BERTH_ADMIN_PASSWORD, which must pass the API's password policy, or
# generated and printed once), starts authd on
# 127.0.0.1:5001 (AUTHD_LISTEN overrides) with a signing key kept in
# ./var/authd-key.pem, then runs
# registryd with token auth in the foreground on 127.0.0.1:5000
# (REGISTRYD_LISTEN overrides).  BERTH_NO_AUTH=1 runs registryd without auth.
# HTTPS: REGISTRYD_TLS_CERT and REGISTRYD_TLS_KEY (PEM files) serve the
# registry over https, and authd too unless AUTHD_TLS_CERT/AUTHD_TLS_KEY
# name other files; with authd on https the token realm, the JWKS URL and
# the probes use https, and a self-signed authd certificate becomes
# registryd's auth_ca_file (REGISTRYD_AUTH_CA_FILE overrides).
# The banner is printed once registryd answers, and says what it serves.
# Ctrl-C stops registryd, authd and the private cluster.
set -eu

if [ $# -ne 1 ] || [ ! -x "$1/registryd" ]; then
	echo "usage: scripts/run.sh BUILD_DIR (with BUILD_DIR/registryd built)" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. "$ROOT/scripts/pg.sh"

PGDIR=$ROOT/var/pg
own_pg=0
reg_pid=
auth_pid=

cleanup() {
	trap - EXIT INT TERM HUP
	for pid in $reg_pid $auth_pid; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || :
			wait "$pid" 2>/dev/null || :
		fi
	done
	if [ "$own_pg" = 1 ]; then
		echo "run.sh: stopping PostgreSQL in $PGDIR" >&2
		pg_stop "$PGDIR" || :
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ -z "${REGISTRYD_DATABASE:-}" ]; then
	port=${BERTH_PG_PORT:-5433}
	mkdir -p "$ROOT/var"
	# As root the server runs as "postgres", which must reach var/pg.
	[ "$(id -u)" -ne 0 ] || chmod o+x "$ROOT/var"
	pg_init "$PGDIR" "$port"
	own_pg=1
	pg_start "$PGDIR" "$port" || {
		echo "run.sh: is port $port taken? Try BERTH_PG_PORT=5434 make run" >&2
		exit 1
	}
	REGISTRYD_DATABASE=$(pg_conninfo "$PGDIR")
fi
: "${REGISTRYD_STORAGE:=$ROOT/var/storage}"
: "${REGISTRYD_LISTEN:=127.0.0.1:5000}"
export REGISTRYD_DATABASE REGISTRYD_STORAGE REGISTRYD_LISTEN
mkdir -p "$REGISTRYD_STORAGE"

"$BUILD/registryd" migrate

reg_scheme=http
[ -z "${REGISTRYD_TLS_CERT:-}" ] || reg_scheme=https
auth_scheme=http
ca=
# probe URL: true when URL answers 200 (trusting $ca when set).
probe() {
	curl -sf -o /dev/null --max-time 2 ${ca:+--cacert "$ca"} "$1"
}
# wait_ready URL PID WHAT: polls URL until it answers 200.
wait_ready() {
	i=0
	until probe "$1"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "run.sh: $3 did not start" >&2; exit 1; }
		kill -0 "$2" 2>/dev/null || { echo "run.sh: $3 exited" >&2; exit 1; }
		sleep 0.1
	done
}
# A certificate that verifies against itself is self-signed: its own CA.
self_signed() {
	openssl verify -CAfile "$1" "$1" >/dev/null 2>&1
}

if [ -z "${BERTH_NO_AUTH:-}" ]; then
	: "${AUTHD_LISTEN:=127.0.0.1:5001}"
	AUTHD_DATABASE=$REGISTRYD_DATABASE
	if [ -z "${AUTHD_SIGNING_KEYS:-}" ]; then
		AUTHD_SIGNING_KEYS=$ROOT/var/authd-key.pem
		if [ ! -f "$AUTHD_SIGNING_KEYS" ]; then
			mkdir -p "$ROOT/var"
			(umask 077 && openssl ecparam -name prime256v1 -genkey -noout |
				openssl pkcs8 -topk8 -nocrypt -out "$AUTHD_SIGNING_KEYS")
		fi
	fi
	if [ -z "${AUTHD_TLS_CERT:-}" ] && [ -n "${REGISTRYD_TLS_CERT:-}" ]; then
		AUTHD_TLS_CERT=$REGISTRYD_TLS_CERT
		AUTHD_TLS_KEY=${REGISTRYD_TLS_KEY:-}
	fi
	if [ -n "${AUTHD_TLS_CERT:-}" ]; then
		auth_scheme=https
		export AUTHD_TLS_CERT AUTHD_TLS_KEY
		if [ -z "${REGISTRYD_AUTH_CA_FILE:-}" ] && self_signed "$AUTHD_TLS_CERT"; then
			REGISTRYD_AUTH_CA_FILE=$AUTHD_TLS_CERT
		fi
		ca=${REGISTRYD_AUTH_CA_FILE:-}
		[ -z "$ca" ] || export REGISTRYD_AUTH_CA_FILE
	fi
	export AUTHD_LISTEN AUTHD_DATABASE AUTHD_SIGNING_KEYS
	# authd refuses a BERTH_ADMIN_PASSWORD that the API would refuse.
	if ! "$BUILD/authd" bootstrap-admin admin; then
		echo "run.sh: no administrator: BERTH_ADMIN_PASSWORD must" \
			"have 8 to 1024 characters and not start with" \
			"berth_ (docs/auth.md)" >&2
		exit 1
	fi
	"$BUILD/authd" serve &
	auth_pid=$!
	: "${REGISTRYD_AUTH_REALM:=$auth_scheme://$AUTHD_LISTEN/token}"
	: "${REGISTRYD_AUTH_JWKS_URL:=$auth_scheme://$AUTHD_LISTEN/jwks}"
	export REGISTRYD_AUTH_REALM REGISTRYD_AUTH_JWKS_URL
	wait_ready "$auth_scheme://$AUTHD_LISTEN/readyz" "$auth_pid" authd
fi

# In the background and waited for, because a trapped signal interrupts
# `wait` at once; the trap's cleanup then stops registryd with SIGTERM.
"$BUILD/registryd" serve &
reg_pid=$!
addr=$REGISTRYD_LISTEN
if [ "$reg_scheme" = https ] && ! self_signed "$REGISTRYD_TLS_CERT"; then
	ca=${REGISTRYD_AUTH_CA_FILE:-}
elif [ "$reg_scheme" = https ]; then
	ca=$REGISTRYD_TLS_CERT
fi
wait_ready "$reg_scheme://$addr/readyz" "$reg_pid" registryd

if [ "$reg_scheme" = https ]; then
	tv= dtv=
	how="HTTPS: clients must trust the CA of $REGISTRYD_TLS_CERT (for a
self-signed certificate, the certificate itself):
  /etc/containers/certs.d/$addr/ca.crt  (podman, skopeo)
  /etc/docker/certs.d/$addr/ca.crt      (docker, no restart needed)"
else
	tv=" --tls-verify=false" dtv=" --dest-tls-verify=false"
	how="Plain HTTP, so each client must be told it is insecure. Docker
trusts 127.0.0.0/8 already; for any other address add
{ \"insecure-registries\": [\"$addr\"] } to /etc/docker/daemon.json."
fi
if [ -n "${REGISTRYD_AUTH_REALM:-}" ]; then
	login="Log in first as \"admin\" (password above on the first run) or a user made
with berthctl (BERTH_URL=$auth_scheme://${AUTHD_LISTEN:-127.0.0.1:5001}${REGISTRYD_AUTH_CA_FILE:+ BERTH_CA_FILE=$REGISTRYD_AUTH_CA_FILE}):
  skopeo login$tv -u admin $addr
  podman login$tv -u admin $addr
  docker login -u admin $addr
"
	auth="Token auth: $REGISTRYD_AUTH_REALM"
else
	login="No login needed: anyone who can reach $addr can push, pull and delete.
"
	auth="Token auth: off (BERTH_NO_AUTH)"
fi
cat <<EOF

Berth registry on $reg_scheme://$addr
  database: $REGISTRYD_DATABASE
  storage:  $REGISTRYD_STORAGE

$auth
$how

${login}Push an image:
  skopeo copy$dtv docker://docker.io/library/alpine docker://$addr/admin/alpine
  podman push$tv alpine $addr/admin/alpine
  docker tag alpine $addr/admin/alpine && docker push $addr/admin/alpine
Then: skopeo list-tags$tv docker://$addr/admin/alpine

EOF
if [ "$own_pg" = 1 ]; then
	echo "Ctrl-C stops the registry${auth_pid:+, authd} and PostgreSQL ($PGDIR)."
else
	echo "Ctrl-C stops the registry${auth_pid:+ and authd}."
fi
echo

set +e
wait "$reg_pid"
rc=$?
reg_pid=
exit "$rc"
