# Private PostgreSQL clusters for `make run` and the integration tests.
#
# Source it (POSIX sh or bash), or run it as a command:
#   . scripts/pg.sh
#   pg_init DIR PORT     initdb into DIR/data; socket in DIR, TCP on 127.0.0.1
#                        (PG_NOSYNC=1: skip initdb's final sync, for tests)
#   pg_start DIR [PORT]  start (waits), then create role and database "berth"
#   pg_conninfo DIR      print the libpq conninfo string for registryd
#   pg_stop DIR          fast shutdown; quiet no-op when not running
#   sh scripts/pg.sh init|start|stop|conninfo DIR [PORT]
#
# Auth is "trust" for the socket and 127.0.0.1 only: the cluster is a
# throwaway for one developer or one test run, never a deployment.  As root,
# the server runs as the "postgres" user that Debian's postgresql package
# creates (the server refuses to run as root), so DIR is chowned to it and
# every directory above DIR must be searchable by it.  The server log is
# DIR/postgres.log and the port is kept in DIR/port.
# Functions print diagnostics on stderr and return non-zero on failure.

# Binaries: PG_BIN, else Debian's PostgreSQL 15, else the newest installed.
pg_bin() {
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
	elif [ -x /usr/lib/postgresql/15/bin/initdb ]; then
		echo /usr/lib/postgresql/15/bin
	else
		ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
	fi
}

pg_err() {
	echo "pg.sh: $*" >&2
	return 1
}

# Runs a server-side command (initdb, pg_ctl) as the cluster's owner, from
# "/" so that a cwd the postgres user cannot read does not matter.
pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && "$@")
	fi
}

pg_abs() {
	(cd "$1" 2>/dev/null && pwd -P)
}

pg_port() {
	cat "$1/port" 2>/dev/null
}

# pg_init DIR PORT: creates the cluster unless DIR/data already holds one.
pg_init() {
	_pg_dir=${1:?usage: pg_init DIR PORT}
	_pg_port=${2:?usage: pg_init DIR PORT}
	_pg_bin=$(pg_bin)
	[ -x "$_pg_bin/initdb" ] ||
		pg_err "no PostgreSQL server binaries (PG_BIN=\"$_pg_bin\"); run \"make deps\"" ||
		return 1
	mkdir -p "$1" || return 1
	_pg_dir=$(pg_abs "$1") || return 1
	if [ -f "$_pg_dir/data/PG_VERSION" ]; then
		return 0
	fi
	# The socket path has a hard limit of 107 bytes (sun_path).
	[ ${#_pg_dir} -le 80 ] ||
		pg_err "\"$_pg_dir\" is too long for a Unix socket directory" ||
		return 1
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 ||
			pg_err "running as root needs the \"postgres\" user (package postgresql)" ||
			return 1
		chown postgres: "$_pg_dir" || return 1
		runuser -u postgres -- test -w "$_pg_dir" ||
			pg_err "user postgres cannot reach \"$_pg_dir\": every parent directory must be searchable (o+x)" ||
			return 1
	fi
	pg_as_owner "$_pg_bin/initdb" -D "$_pg_dir/data" -U postgres \
		-A trust -E UTF8 --locale=C ${PG_NOSYNC:+--no-sync} \
		>"$_pg_dir/initdb.log" 2>&1 || {
		tail -n 20 "$_pg_dir/initdb.log" >&2
		pg_err "initdb into \"$_pg_dir/data\" failed (log above)"
		return 1
	}
	# Only what we say is allowed: the socket and IPv4 loopback.
	pg_as_owner sh -c 'cat >"$1"' sh "$_pg_dir/data/pg_hba.conf" <<EOF || return 1
# Written by scripts/pg.sh: a private cluster, trust on loopback only.
local	all	all			trust
host	all	all	127.0.0.1/32	trust
EOF
	pg_as_owner sh -c 'cat >>"$1"' sh "$_pg_dir/data/postgresql.conf" <<EOF || return 1

# Added by scripts/pg.sh
port = $_pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$_pg_dir'
fsync = on
shared_buffers = 64MB
max_connections = 200
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	echo "$_pg_port" >"$_pg_dir/port"
}

# pg_start DIR [PORT]: starts the cluster (a no-op when it already runs;
# PORT overrides the one given to pg_init), waits until it accepts
# connections, then creates role and database "berth" when missing.
pg_start() {
	_pg_dir=$(pg_abs "${1:?usage: pg_start DIR [PORT]}") ||
		pg_err "no cluster in \"$1\"" || return 1
	_pg_bin=$(pg_bin)
	[ -f "$_pg_dir/data/PG_VERSION" ] ||
		pg_err "no cluster in \"$_pg_dir\"; pg_init first" || return 1
	if [ -n "${2:-}" ]; then
		echo "$2" >"$_pg_dir/port"
	fi
	_pg_port=$(pg_port "$_pg_dir")
	if ! pg_running "$_pg_dir"; then
		pg_as_owner "$_pg_bin/pg_ctl" -D "$_pg_dir/data" \
			-l "$_pg_dir/postgres.log" -o "-p $_pg_port" \
			-w -t 60 start >/dev/null 2>&1 || {
			tail -n 20 "$_pg_dir/postgres.log" >&2
			pg_err "could not start PostgreSQL in \"$_pg_dir\" on port $_pg_port (log above)"
			return 1
		}
	fi
	# \gexec runs each query result as a statement: an idempotent create.
	"$_pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$_pg_dir" -p "$_pg_port" \
		-U postgres -d postgres >/dev/null <<'EOF' ||
SELECT 'CREATE ROLE berth LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth') \gexec
SELECT 'CREATE DATABASE berth OWNER berth'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'berth') \gexec
EOF
		pg_err "could not create role and database \"berth\" in \"$_pg_dir\""
}

# pg_running DIR: true when the cluster's postmaster is alive.
pg_running() {
	set -- "$(pg_abs "$1")"
	[ -f "$1/data/postmaster.pid" ] &&
		pg_as_owner "$(pg_bin)/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# pg_stop DIR: fast shutdown (rolls back open transactions), waiting for it.
pg_stop() {
	_pg_dir=$(pg_abs "${1:?usage: pg_stop DIR}") || return 0
	pg_running "$_pg_dir" || return 0
	pg_as_owner "$(pg_bin)/pg_ctl" -D "$_pg_dir/data" -m fast -w -t 60 \
		stop >/dev/null 2>&1 ||
		pg_err "could not stop PostgreSQL in \"$_pg_dir\""
}

# pg_conninfo DIR: the conninfo string for REGISTRYD_DATABASE / psql.
pg_conninfo() {
	_pg_dir=$(pg_abs "${1:?usage: pg_conninfo DIR}") ||
		pg_err "no cluster in \"$1\"" || return 1
	echo "host=$_pg_dir port=$(pg_port "$_pg_dir") dbname=berth user=berth"
}

# Run as a command rather than sourced.
if [ "$(basename -- "$0")" = pg.sh ]; then
	case "${1:-}" in
	init) pg_init "${2:?DIR}" "${3:?PORT}" ;;
	start) pg_start "${2:?DIR}" ${3:+"$3"} && pg_conninfo "$2" ;;
	stop) pg_stop "${2:?DIR}" ;;
	conninfo) pg_conninfo "${2:?DIR}" ;;
	*)
		echo "usage: sh scripts/pg.sh init DIR PORT | start DIR [PORT] | stop DIR | conninfo DIR" >&2
		exit 2
		;;
	esac
fi
