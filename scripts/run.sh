#!/bin/sh
# `make run`: a registry on this machine in one command.  Uses the database
# in REGISTRYD_DATABASE when set; otherwise a private PostgreSQL cluster in
# ./var/pg (created on the first run, reused afterwards; port BERTH_PG_PORT,
# default 5433).  Blobs go to ./var/storage.  Applies the migrations, then
# runs registryd in the foreground on 127.0.0.1:5000 (REGISTRYD_LISTEN
# overrides).  Ctrl-C stops registryd and the private cluster.
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

cleanup() {
	trap - EXIT INT TERM HUP
	if [ -n "$reg_pid" ] && kill -0 "$reg_pid" 2>/dev/null; then
		kill -TERM "$reg_pid" 2>/dev/null || :
		wait "$reg_pid" 2>/dev/null || :
	fi
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

addr=$REGISTRYD_LISTEN
cat <<EOF

Berth registry on http://$addr
  database: $REGISTRYD_DATABASE
  storage:  $REGISTRYD_STORAGE

Push an image (plain HTTP, so each client must be told it is insecure):
  skopeo copy --dest-tls-verify=false docker://docker.io/library/alpine docker://$addr/library/alpine
  podman push --tls-verify=false alpine $addr/library/alpine
  docker tag alpine $addr/library/alpine && docker push $addr/library/alpine
    (Docker trusts 127.0.0.0/8 already; for any other address add
     { "insecure-registries": ["$addr"] } to /etc/docker/daemon.json
     and restart dockerd)
Then: curl -s http://$addr/v2/library/alpine/tags/list

EOF
if [ "$own_pg" = 1 ]; then
	echo "Ctrl-C stops the registry and PostgreSQL ($PGDIR)."
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
