#!/usr/bin/env bash
# Integration tests: tests/integration/run.sh BUILD_DIR [FILTER...]
#
# Starts a throwaway PostgreSQL (scripts/pg.sh) in a temp dir on a free port,
# applies the migrations with `registryd migrate`, starts two registryd nodes
# sharing that database and one storage dir, then runs each t_*.sh (sorted;
# only those whose name contains a FILTER, when given) with bash and the
# environment that lib.sh describes.  Counts the "ok"/"not ok" lines; a file
# that exits non-zero, times out or prints no "ok" line is one more failure,
# and so is a node that died during it (it is then restarted).  At the end
# both nodes get SIGTERM and must exit 0: under AddressSanitizer a leak makes
# the exit code non-zero.  Last line: "N passed, N failed".  Temp files are
# removed after a clean run and kept (path printed) after any failure.
set -uo pipefail

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: tests/integration/run.sh BUILD_DIR [FILTER...]" >&2
	echo "0 passed, 1 failed"
	exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
FILTERS=("$@")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
HERE=$ROOT/tests/integration
TEST_TIMEOUT=${BERTH_TEST_TIMEOUT:-300}
READY_TIMEOUT=${BERTH_READY_TIMEOUT:-60}
export BUILD ROOT

passed=0
failed=0
finished=0
BERTH_RUN=

# Leftover REGISTRYD_* variables would override the nodes' config files.
for v in $(compgen -e); do
	case $v in REGISTRYD_*) unset "$v" ;; esac
done
# For builds with SANITIZE=address,undefined; harmless otherwise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

. "$ROOT/scripts/pg.sh"

harness_fail() {
	echo "not ok - harness: $*"
	failed=$((failed + 1))
}

log_tail() {
	echo "---- last 50 lines of $1 ----"
	tail -n 50 "$1" 2>/dev/null
	echo "----"
}

cleanup() {
	local n pid
	trap - EXIT INT TERM HUP
	[ -n "$BERTH_RUN" ] && [ -d "$BERTH_RUN" ] || return 0
	for n in $NODES; do
		if [ -d "$BERTH_RUN/node$n" ] && node_alive "$n"; then
			pid=$(node_pid "$n")
			echo "$pid kill" >>"$BERTH_RUN/node$n/expected"
			kill -KILL "$pid" 2>/dev/null
			node_wait_exit "$n" "$pid" 10 >/dev/null
		fi
	done
	if [ -f "$BERTH_RUN/s3/env" ] &&
		! bash "$ROOT/tests/s3/rgw.sh" stop "$BERTH_RUN/s3"; then
		harness_fail "could not stop the S3 server"
	fi
	if [ -d "$BERTH_RUN/pg" ] && ! pg_stop "$BERTH_RUN/pg"; then
		harness_fail "could not stop PostgreSQL"
	fi
	if [ "$finished" = 1 ] && [ "$failed" = 0 ]; then
		rm -rf "$BERTH_RUN"
	else
		echo "# kept $BERTH_RUN (node logs in node1/log, node2/log)"
	fi
}
# A trap runs only once the foreground command ends, so tests run in the
# background (run_test) and `wait`, which a trapped signal interrupts.
TEST_PID=
on_signal() {
	echo "# interrupted"
	if [ -n "$TEST_PID" ]; then
		kill -TERM -- "-$TEST_PID" 2>/dev/null ||
			kill -TERM "$TEST_PID" 2>/dev/null
	fi
	exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

# finish: cleans up first, so that the summary is the last line.
finish() {
	finished=1
	cleanup
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

. "$ROOT/scripts/ports.sh"

missing=
for tool in curl jq psql sha256sum awk timeout mktemp; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -x "$(pg_bin)/initdb" ] || missing="$missing initdb"
[ "$(id -u)" -ne 0 ] || command -v runuser >/dev/null 2>&1 ||
	missing="$missing runuser"
if [ -n "$missing" ]; then
	harness_fail "missing tools:$missing (make deps installs them)"
	finish
fi
if [ ! -x "$BUILD/registryd" ]; then
	harness_fail "no $BUILD/registryd (run make first)"
	finish
fi

# ---- which tests ----------------------------------------------------------
selected=()
while IFS= read -r t; do
	name=$(basename "$t" .sh)
	if [ ${#FILTERS[@]} -eq 0 ]; then
		selected+=("$t")
		continue
	fi
	for f in "${FILTERS[@]}"; do
		if [[ $name == *"$f"* ]]; then
			selected+=("$t")
			break
		fi
	done
done < <(ls "$HERE"/t_*.sh 2>/dev/null | LC_ALL=C sort)
if [ ${#selected[@]} -eq 0 ]; then
	harness_fail "no test file matches${FILTERS[*]:+ ${FILTERS[*]}}"
	finish
fi

BERTH_RUN=$(mktemp -d "${TMPDIR:-/tmp}/berth-it.XXXXXX") || {
	harness_fail "mktemp failed"
	finish
}
# As root, PostgreSQL runs as "postgres" and must reach $BERTH_RUN/pg.
[ "$(id -u)" -ne 0 ] || chmod 0711 "$BERTH_RUN"
export BERTH_RUN
NODES="1 2 3 4"
mkdir -p "$BERTH_RUN/storage" "$BERTH_RUN/scratch" "$BERTH_RUN/out"
SCRATCH=$BERTH_RUN/scratch
. "$HERE/lib.sh"

# ---- PostgreSQL ----------------------------------------------------------
pg_ok=0
for attempt in 1 2 3; do
	free_port || break
	if [ "$attempt" = 1 ]; then
		PG_NOSYNC=1 pg_init "$BERTH_RUN/pg" "$PORT" || break
	fi
	if pg_start "$BERTH_RUN/pg" "$PORT"; then
		pg_ok=1
		break
	fi
	echo "# PostgreSQL did not start on port $PORT, trying another" >&2
done
if [ "$pg_ok" != 1 ]; then
	harness_fail "could not start PostgreSQL in $BERTH_RUN/pg"
	finish
fi
conninfo=$(pg_conninfo "$BERTH_RUN/pg")
export PGHOST=$BERTH_RUN/pg PGPORT=$(pg_port "$BERTH_RUN/pg") \
	PGDATABASE=berth PGUSER=berth STORAGE=$BERTH_RUN/storage
unset PGPASSWORD PGSERVICE PGOPTIONS

# ---- an S3 server ----------------------------------------------------------
# Started once, when the nodes keep blobs in it (BERTH_TEST_STORAGE=s3) or
# a selected test says "# needs: s3"; this run's keys go under a prefix.
need_s3=0
[ "${BERTH_TEST_STORAGE:-filesystem}" = s3 ] && need_s3=1
grep -qx '# needs: s3' "${selected[@]}" 2>/dev/null && need_s3=1
if [ "$need_s3" = 1 ]; then
	mkdir -p "$BERTH_RUN/s3"
	if ! bash "$ROOT/tests/s3/rgw.sh" start "$BERTH_RUN/s3" >"$BERTH_RUN/s3/start.log" 2>&1; then
		tail -n 20 "$BERTH_RUN/s3/start.log" >&2
		harness_fail "could not start the S3 server (log in $BERTH_RUN/s3)"
		finish
	fi
	set -a
	. "$BERTH_RUN/s3/env"
	set +a
	export S3_PREFIX="run-${BERTH_RUN##*.}/"
fi

# ---- nodes ---------------------------------------------------------------
# 1 and 2: registryd without auth, sharing database and storage; 3: authd;
# 4: registryd with token auth through authd (same database and storage).
AUTH_KEY=$BERTH_RUN/signing-key.pem
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$AUTH_KEY" 2>/dev/null || {
	harness_fail "could not make a signing key"
	finish
}
for n in $NODES; do
	mkdir -p "$BERTH_RUN/node$n"
	free_port || {
		harness_fail "no free port"
		finish
	}
	echo "$PORT" >"$BERTH_RUN/node$n/port"
	: >"$BERTH_RUN/node$n/exits"
	: >"$BERTH_RUN/node$n/expected"
done
AUTHD=http://127.0.0.1:$(cat "$BERTH_RUN/node3/port")
for n in 1 2 4; do
	cat >"$BERTH_RUN/node$n/conf" <<EOF
listen = 127.0.0.1:$(cat "$BERTH_RUN/node$n/port")
database = $conninfo
storage = $STORAGE
log_level = ${BERTH_TEST_LOG_LEVEL:-debug}
EOF
done
cat >>"$BERTH_RUN/node4/conf" <<EOF
auth_realm = $AUTHD/token
auth_jwks_url = $AUTHD/jwks
EOF
if [ "${BERTH_TEST_STORAGE:-filesystem}" = s3 ]; then
	for n in 1 2 4; do
		printf '%s\n' "storage_driver = s3" "s3_endpoint = $S3_ENDPOINT" \
			"s3_region = $S3_REGION" "s3_bucket = $S3_BUCKET" \
			"s3_prefix = $S3_PREFIX" "s3_access_key = $S3_ACCESS_KEY" \
			"s3_secret_key = $S3_SECRET_KEY" >>"$BERTH_RUN/node$n/conf"
	done
fi
# The shared nodes collect no garbage and run no retention schedule:
# t_gc and t_retention run their own nodes for those, and their races
# must not meet one of the shared nodes' runs.
for n in 1 2 4; do
	printf 'gc = false\nretention_interval = 0\n' >>"$BERTH_RUN/node$n/conf"
done
echo authd >"$BERTH_RUN/node3/bin"
cat >"$BERTH_RUN/node3/conf" <<EOF
listen = 127.0.0.1:$(cat "$BERTH_RUN/node3/port")
database = $conninfo
log_level = ${BERTH_TEST_LOG_LEVEL:-debug}
signing_keys = $AUTH_KEY
EOF
REG_HOSTPORT=127.0.0.1:$(cat "$BERTH_RUN/node1/port")
REG2_HOSTPORT=127.0.0.1:$(cat "$BERTH_RUN/node2/port")
REGA_HOSTPORT=127.0.0.1:$(cat "$BERTH_RUN/node4/port")
AUTHD_ADMIN_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export REG_HOSTPORT REG2_HOSTPORT REG=http://$REG_HOSTPORT \
	REG2=http://$REG2_HOSTPORT REGA_HOSTPORT REGA=http://$REGA_HOSTPORT \
	AUTHD AUTHD_ADMIN_PASSWORD AUTH_KEY

if ! "$BUILD/registryd" -c "$BERTH_RUN/node1/conf" migrate \
	>"$BERTH_RUN/migrate.log" 2>&1; then
	harness_fail "registryd migrate failed"
	log_tail "$BERTH_RUN/migrate.log"
	finish
fi

if ! BERTH_ADMIN_PASSWORD=$AUTHD_ADMIN_PASSWORD "$BUILD/authd" \
	-c "$BERTH_RUN/node3/conf" bootstrap-admin admin \
	>"$BERTH_RUN/bootstrap.log" 2>&1; then
	harness_fail "authd bootstrap-admin failed"
	log_tail "$BERTH_RUN/bootstrap.log"
	finish
fi
# authd first: node 4 fetches its JWKS when it starts.
node_launch 3
node_wait_ready 3 "$READY_TIMEOUT" || {
	harness_fail "authd did not become ready"
	log_tail "$BERTH_RUN/node3/log"
	finish
}
for n in 1 2 4; do
	node_launch "$n"
done
for n in $NODES; do
	if ! node_wait_ready "$n" "$READY_TIMEOUT"; then
		harness_fail "registryd node $n did not become ready"
		log_tail "$BERTH_RUN/node$n/log"
		finish
	fi
done
declare -A seen=([1]=0 [2]=0 [3]=0 [4]=0)

# check_nodes WHEN: counts every node exit not asked for by lib.sh (and any
# non-zero exit after registryd_stop), then restarts a node that is down.
check_nodes() {
	local when=$1 n pid code what lines i bad
	for n in $NODES; do
		pid=$(node_pid "$n")
		node_alive "$n" || node_wait_exit "$n" "$pid" 5 >/dev/null
		lines=$(wc -l <"$BERTH_RUN/node$n/exits")
		bad=0
		for ((i = seen[$n] + 1; i <= lines; i++)); do
			read -r pid code < <(sed -n "${i}p" "$BERTH_RUN/node$n/exits")
			what=$(awk -v p="$pid" '$1 == p { print $2 }' \
				"$BERTH_RUN/node$n/expected" | tail -n 1)
			if [ "$what" = kill ]; then
				continue
			elif [ "$what" = stop ] && [ "$code" = 0 ]; then
				continue
			elif [ "$what" = stop ]; then
				harness_fail "node $n (pid $pid) exited with code $code after SIGTERM $when"
			else
				harness_fail "node $n (pid $pid) died $when (exit code $code)"
			fi
			bad=1
		done
		seen[$n]=$lines
		[ "$bad" = 0 ] || log_tail "$BERTH_RUN/node$n/log"
		if [ "$when" != "at shutdown" ] && ! node_alive "$n"; then
			if ! registryd_start "$n"; then
				harness_fail "could not restart node $n $when"
				log_tail "$BERTH_RUN/node$n/log"
				finish
			fi
		fi
	done
}

# ---- tests ----------------------------------------------------------------
# run_test FILE OUT: runs one test file under timeout(1), which gives it a
# process group of its own so that a timeout ends its curls too; OUT is
# echoed as it grows.  Sets rc.
run_test() {
	local tail_pid
	: >"$2"
	timeout -k 10 "$TEST_TIMEOUT" bash "$1" >"$2" 2>&1 </dev/null &
	TEST_PID=$!
	tail -s 0.1 -n +1 -f --pid="$TEST_PID" "$2" &
	tail_pid=$!
	wait "$TEST_PID"
	rc=$?
	wait "$tail_pid"
	TEST_PID=
}

for t in "${selected[@]}"; do
	name=$(basename "$t" .sh)
	export SCRATCH=$BERTH_RUN/scratch/$name
	mkdir -p "$SCRATCH"
	out=$BERTH_RUN/out/$name.out
	echo "# $name"
	before_p=$passed before_f=$failed
	run_test "$t" "$out"
	p=$(grep -c -E '^ok( |$)' "$out")
	f=$(grep -c -E '^not ok( |$)' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		harness_fail "$name timed out after ${TEST_TIMEOUT}s"
	elif [ "$rc" != 0 ]; then
		harness_fail "$name exited with code $rc"
	fi
	[ "$p" != 0 ] || harness_fail "$name printed no ok line"
	check_nodes "during $name"
	echo "# $name: $((passed - before_p)) passed, $((failed - before_f)) failed"
done

# Nothing a test started may outlive the run: dockerd and its containerd
# (docker.sh) carry their scratch directory in their command lines.
left=$(pgrep -f -- "$BERTH_RUN/scratch/" 2>/dev/null | tr '\n' ' ')
if [ -n "$left" ]; then
	harness_fail "processes left running by the tests: $left"
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
fi

# ---- shutdown ------------------------------------------------------------
for n in $NODES; do
	node_alive "$n" && registryd_stop "$n"
done
check_nodes "at shutdown"
finish
