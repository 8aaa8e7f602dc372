#!/bin/sh
# `make run`: a registry on this machine in one command.  Uses the database
# in REGISTRYD_DATABASE when set; otherwise a private PostgreSQL cluster in
# ./var/pg (created on the first run, reused afterwards; port BERTH_PG_PORT,
# default 5433).  Blobs go to ./var/storage.  Applies the migrations,
# creates the administrator "admin" on the first run (password from
# BERTH_ADMIN_PASSWORD, which must pass the API's password policy, or
# generated and printed once), starts authd on
# 127.0.0.1:5001 with a signing key kept in ./var/authd-key.pem, then runs
# registryd with token auth in the foreground on 127.0.0.1:5000
# (REGISTRYD_LISTEN overrides).  BERTH_NO_AUTH=1 runs registryd without auth.
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

if [ -z "${BERTH_NO_AUTH:-}" ]; then
	: "${AUTHD_LISTEN:=127.0.0.1:5001}"
	AUTHD_DATABASE=$REGISTRYD_DATABASE
	AUTHD_SIGNING_KEYS=${AUTHD_SIGNING_KEYS:-$ROOT/var/authd-key.pem}
	export AUTHD_LISTEN AUTHD_DATABASE AUTHD_SIGNING_KEYS
	if [ ! -f "$ROOT/var/authd-key.pem" ]; then
		mkdir -p "$ROOT/var"
		(umask 077 && openssl ecparam -name prime256v1 -genkey -noout |
			openssl pkcs8 -topk8 -nocrypt -out "$ROOT/var/authd-key.pem")
	fi
	# authd refuses a BERTH_ADMIN_PASSWORD that the API would refuse.
	if ! "$BUILD/authd" bootstrap-admin admin; then
		echo "run.sh: no administrator: BERTH_ADMIN_PASSWORD must" \
			"have 8 to 1024 characters and not start with" \
			"berth_ (docs/auth.md)" >&2
		exit 1
	fi
	"$BUILD/authd" serve &
	auth_pid=$!
	REGISTRYD_AUTH_REALM=http://$AUTHD_LISTEN/token
	REGISTRYD_AUTH_JWKS_URL=http://$AUTHD_LISTEN/jwks
	export REGISTRYD_AUTH_REALM REGISTRYD_AUTH_JWKS_URL
	i=0
	until curl -sf -o /dev/null "http://$AUTHD_LISTEN/readyz"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "run.sh: authd did not start" >&2; exit 1; }
		kill -0 "$auth_pid" 2>/dev/null || exit 1
		sleep 0.1
	done
fi

addr=$REGISTRYD_LISTEN
cat <<EOF

Berth registry on http://$addr
  database: $REGISTRYD_DATABASE
  storage:  $REGISTRYD_STORAGE

Token auth: ${REGISTRYD_AUTH_REALM:-off (BERTH_NO_AUTH)}.  Log in first as
"admin" (password above on the first run) or a user made with berthctl:
  skopeo login --tls-verify=false -u admin $addr
  podman login --tls-verify=false -u admin $addr
  docker login -u admin $addr

Push an image (plain HTTP, so each client must be told it is insecure):
  skopeo copy --dest-tls-verify=false docker://docker.io/library/alpine docker://$addr/admin/alpine
  podman push --tls-verify=false alpine $addr/admin/alpine
  docker tag alpine $addr/admin/alpine && docker push $addr/admin/alpine
    (Docker trusts 127.0.0.0/8 already; for any other address add
     { "insecure-registries": ["$addr"] } to /etc/docker/daemon.json
     and restart dockerd)
Then: skopeo list-tags --tls-verify=false docker://$addr/admin/alpine

EOF
if [ "$own_pg" = 1 ]; then
	echo "Ctrl-C stops the registry, authd and PostgreSQL ($PGDIR)."
else
	echo "Ctrl-C stops the registry."
fi
echo

# In the background and waited for, because a trapped signal interrupts
# `wait` at once; the trap's cleanup then stops registryd with SIGTERM.
"$BUILD/registryd" serve &
reg_pid=$!
set +e
wait "$reg_pid"
rc=$?
reg_pid=
exit "$rc"
