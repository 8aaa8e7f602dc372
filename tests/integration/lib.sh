# Helpers for tests/integration/t_*.sh, sourced by each test (bash) and by
# run.sh itself, which exports the environment described below.
#
# A test prints one TAP-like line per check, "ok - NAME" or
# "not ok - NAME: reason"; run.sh counts them.  Every expect_* helper returns
# 0 on ok and 1 on not ok, so `expect_status ... || exit 0` can skip checks
# that depend on an earlier one.  Do not `set -e` in a test: the first not ok
# would end the file.
#
# Environment from run.sh: REG, REG2 (http://127.0.0.1:PORT), REG_HOSTPORT,
# REG2_HOSTPORT (nodes 1 and 2, no auth), AUTHD (node 3, authd; user
# "admin" has password AUTHD_ADMIN_PASSWORD), REGA and REGA_HOSTPORT (node
# 4, registryd with token auth through AUTHD), AUTH_KEY (the signing key), PGHOST PGPORT PGDATABASE PGUSER (plain `psql` works),
# STORAGE, BUILD, SCRATCH (empty temp dir of this test file), ROOT, and
# BERTH_RUN (the run's temp dir; node N lives in $BERTH_RUN/nodeN: conf,
# log, pid, port, exits, expected).
#
# API:
#   ok NAME; not_ok NAME REASON
#   req METHOD URL [curl args...]      sets STATUS; headers in $HDRS, body in $BODY
#   hdr NAME                           value of a header of the last response
#   expect_status NAME WANT METHOD URL [curl args...]   (WANT may be "201|202")
#   expect_eq NAME WANT GOT; expect_match NAME REGEX GOT
#   expect_hdr NAME HEADER WANT; expect_error_code NAME CODE
#   sha256_of FILE; rand_blob FILE BYTES; $uuid_re
#   registryd_kill9 N; registryd_start N; registryd_stop N

: "${SCRATCH:=$(mktemp -d)}"
: "${REG:=http://127.0.0.1:5000}"
HDRS=$SCRATCH/.headers
BODY=$SCRATCH/.body
STATUS=000
: >"$HDRS"
: >"$BODY"

# Lowercase or uppercase hex, as RFC 4122 allows; unanchored, so it can sit
# inside a larger pattern: [[ $loc =~ ^/v2/a/blobs/uploads/$uuid_re$ ]].
uuid_re='[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'

ok() {
	echo "ok - $1"
}

# Newlines in REASON would break the one-line format, so they become spaces.
not_ok() {
	local reason=${2:-}
	reason=${reason//$'\r'/}
	echo "not ok - $1: ${reason//$'\n'/ }"
	return 0
}

# req METHOD URL [curl args...]: the request; returns curl's own failure
# (connection refused, timeout: STATUS=000), never an HTTP error status.
req() {
	local method=$1 url=$2 rc=0
	local -a how=(-X "$method" -o "$BODY")
	shift 2
	# --head writes the headers to the -o file; $BODY stays empty.
	[ "$method" = HEAD ] && how=(--head -o /dev/null)
	: >"$HDRS"
	: >"$BODY"
	STATUS=$(curl -sS -g --max-time "${REQ_TIMEOUT:-60}" "${how[@]}" \
		-D "$HDRS" -w '%{http_code}' "$@" "$url") || rc=$?
	if [ "$rc" -ne 0 ]; then
		STATUS=000
		return "$rc"
	fi
	return 0
}

# hdr NAME: the first NAME header of the last response.  curl -D also keeps
# interim responses (100 Continue, redirects), so only the last block counts.
hdr() {
	awk -v want="$1" '
		BEGIN { want = tolower(want) }
		{ sub(/\r$/, "") }
		/^HTTP\// { val = ""; found = 0; next }
		!found && (i = index($0, ":")) > 0 &&
		    tolower(substr($0, 1, i - 1)) == want {
			val = substr($0, i + 1)
			sub(/^[ \t]+/, "", val)
			sub(/[ \t]+$/, "", val)
			found = 1
		}
		END { print val }
	' "$HDRS"
}

body_head() {
	head -c 300 "$BODY" 2>/dev/null
}

# expect_status NAME WANT METHOD URL [curl args...]: WANT is an ERE for
# the whole status ("201|202"); 000 stands for "could not connect".
expect_status() {
	local name=$1 want=$2
	shift 2
	if ! req "$@" && ! [[ 000 =~ ^($want)$ ]]; then
		not_ok "$name" "want $want, request failed (curl could not connect or timed out)"
		return 1
	fi
	if [[ $STATUS =~ ^($want)$ ]]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "want $want, got $STATUS, body: $(body_head)"
	return 1
}

expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "want \"$2\", got \"$3\""
	return 1
}

expect_match() {
	if [[ $3 =~ $2 ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "\"$3\" does not match /$2/"
	return 1
}

# expect_hdr NAME HEADER WANT: exact value in the last response.
expect_hdr() {
	local got
	got=$(hdr "$2")
	if [ "$got" = "$3" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "header $2: want \"$3\", got \"$got\""
	return 1
}

# expect_error_code NAME CODE: the last body is {"errors":[{"code":...}]}
# with CODE among the codes.
expect_error_code() {
	# --slurp: jq 1.6 -e exits 0 on an empty body, which is no JSON.
	if jq -e -s --arg c "$2" 'length == 1 and (.[0].errors |
		type == "array" and any(.[]; type == "object" and .code == $c))' \
		"$BODY" >/dev/null 2>&1; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "want error code $2, got status $STATUS, body: $(body_head)"
	return 1
}

sha256_of() {
	local sum
	sum=$(sha256sum <"$1") || return 1
	echo "sha256:${sum%% *}"
}

rand_blob() {
	head -c "$2" /dev/urandom >"$1"
}

# ---- Nodes --------------------------------------------------------------
# Node N runs as `registryd -c $BERTH_RUN/nodeN/conf serve` under a watcher
# subshell that appends "PID EXITCODE" to nodeN/exits when it ends; the
# node is not always our child (a test may restart it), so that file is how
# run.sh learns every exit status.  nodeN/expected lists "PID kill" for the
# pids that registryd_kill9 killed on purpose (any exit code is fine) and
# "PID stop" for those that registryd_stop stopped (must exit 0); run.sh
# counts every other exit as a failure.

node_dir() {
	echo "$BERTH_RUN/node$1"
}

node_pid() {
	cat "$(node_dir "$1")/pid" 2>/dev/null
}

node_alive() {
	local pid
	pid=$(node_pid "$1")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		! grep -q "^$pid " "$(node_dir "$1")/exits" 2>/dev/null
}

node_url() {
	echo "http://127.0.0.1:$(cat "$(node_dir "$1")/port")"
}

# node_wait_exit N PID SECONDS: waits for PID's line in exits; prints its code.
node_wait_exit() {
	local exits i code
	exits=$(node_dir "$1")/exits
	for ((i = 0; i < $3 * 10; i++)); do
		code=$(awk -v p="$2" '$1 == p { print $2 }' "$exits" 2>/dev/null)
		if [ -n "$code" ]; then
			echo "$code"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# node_launch N: starts node N in the background; returns once its pid is
# known, without waiting for it to be ready.
node_launch() {
	local dir pid i
	dir=$(node_dir "$1")
	rm -f "$dir/pid"
	(
		"$BUILD/$(cat "$dir/bin" 2>/dev/null || echo registryd)" \
			-c "$dir/conf" serve </dev/null &
		pid=$!
		echo "$pid" >"$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"
		wait "$pid"
		echo "$pid $?" >>"$dir/exits"
	) >>"$dir/log" 2>&1 </dev/null &
	for ((i = 0; i < 1000; i++)); do
		[ -s "$dir/pid" ] && return 0
		sleep 0.01
	done
	echo "registryd node $1 did not start; log: $dir/log" >&2
	return 1
}

# node_wait_ready N [SECONDS]: polls /readyz until 200; fails if node died.
node_wait_ready() {
	local url i
	url=$(node_url "$1")/readyz
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		if ! node_alive "$1"; then
			echo "registryd node $1 died while starting; log: $(node_dir "$1")/log" >&2
			return 1
		fi
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			"$url")" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "registryd node $1 not ready after ${2:-60}s; log: $(node_dir "$1")/log" >&2
	return 1
}

# registryd_start N: starts node N again (same config and port) and waits
# for /readyz.  Fails if it is already running.
registryd_start() {
	if node_alive "$1"; then
		echo "registryd_start: node $1 is already running" >&2
		return 1
	fi
	echo "---- registryd_start $1 at $(date +%T.%N) ----" >>"$(node_dir "$1")/log"
	node_launch "$1" && node_wait_ready "$1" "${BERTH_READY_TIMEOUT:-60}"
}

# registryd_kill9 N: SIGKILLs node N and waits until it is gone.
registryd_kill9() {
	local pid
	pid=$(node_pid "$1")
	if [ -z "$pid" ] || ! node_alive "$1"; then
		echo "registryd_kill9: node $1 is not running" >&2
		return 1
	fi
	echo "$pid kill" >>"$(node_dir "$1")/expected"
	kill -KILL "$pid"
	node_wait_exit "$1" "$pid" 30 >/dev/null
}

# registryd_stop N: SIGTERM, then waits; fails unless the node exits 0 (a
# leak report under AddressSanitizer makes the exit non-zero).
registryd_stop() {
	local pid code
	pid=$(node_pid "$1")
	if [ -z "$pid" ] || ! node_alive "$1"; then
		echo "registryd_stop: node $1 is not running" >&2
		return 1
	fi
	echo "$pid stop" >>"$(node_dir "$1")/expected"
	kill -TERM "$pid"
	if ! code=$(node_wait_exit "$1" "$pid" "${STOP_TIMEOUT:-60}"); then
		echo "registryd_stop: node $1 (pid $pid) ignored SIGTERM; killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		node_wait_exit "$1" "$pid" 10 >/dev/null
		return 1
	fi
	if [ "$code" != 0 ]; then
		echo "registryd_stop: node $1 (pid $pid) exited with code $code" >&2
		return 1
	fi
	return 0
}

# ---- Storage ------------------------------------------------------------
# The storage the nodes use: the directory $STORAGE, or with
# BERTH_TEST_STORAGE=s3 the bucket that S3_ENDPOINT, S3_BUCKET and the
# rest name, this run's keys under S3_PREFIX. The stored_* helpers look
# at either; blob_path and blob_files are the filesystem's alone.
STORAGE_KIND=${BERTH_TEST_STORAGE:-filesystem}

# blob_key DIGEST: the key (or path under $STORAGE) of DIGEST's bytes.
blob_key() {
	local hex=${1#*:}
	printf 'blobs/%s/%s/%s' "${1%%:*}" "${hex:0:2}" "$hex"
}

s3obj() {
	python3 "$ROOT/tests/integration/s3obj.py" "$@"
}

# stored_blob_exists DIGEST: storage holds DIGEST's bytes.
stored_blob_exists() {
	if [ "$STORAGE_KIND" = s3 ]; then
		s3obj head "$(blob_key "$1")" >/dev/null
	else
		test -e "$STORAGE/$(blob_key "$1")"
	fi
}

# stored_blob_is DIGEST FILE: storage holds FILE's bytes as DIGEST.
stored_blob_is() {
	local f
	if [ "$STORAGE_KIND" = s3 ]; then
		f=$(mktemp) && s3obj get "$(blob_key "$1")" "$f" &&
			cmp -s "$f" "$2"
		local rc=$?
		rm -f "$f"
		return $rc
	fi
	cmp -s "$STORAGE/$(blob_key "$1")" "$2"
}

# stored_blob_gone DIGEST: storage holds no bytes for DIGEST.
stored_blob_gone() {
	! stored_blob_exists "$1"
}

# stored_blob_rm DIGEST: removes DIGEST's bytes behind the registry.
stored_blob_rm() {
	if [ "$STORAGE_KIND" = s3 ]; then
		s3obj rm "$(blob_key "$1")"
	else
		rm -f "$STORAGE/$(blob_key "$1")"
	fi
}

# stored_blob_digest DIGEST: the sha256 digest of the bytes stored as
# DIGEST.
stored_blob_digest() {
	local f
	f=$(mktemp)
	if [ "$STORAGE_KIND" = s3 ]; then
		s3obj get "$(blob_key "$1")" "$f"
	else
		cp "$STORAGE/$(blob_key "$1")" "$f"
	fi
	echo "sha256:$(sha256sum <"$f" | cut -d' ' -f1)"
	rm -f "$f"
}

# stored_upload_present ID: storage holds bytes of upload ID.
stored_upload_present() {
	if [ "$STORAGE_KIND" = s3 ]; then
		test -n "$(s3obj ls "uploads/$1/")"
	else
		test -s "$STORAGE/uploads/$1"
	fi
}

# stored_upload_gone ID: nothing of upload ID is left in storage.
stored_upload_gone() {
	if [ "$STORAGE_KIND" = s3 ]; then
		test -z "$(s3obj ls "uploads/$1/")$(s3obj mpu "uploads/$1/")"
	else
		test ! -e "$STORAGE/uploads/$1"
	fi
}

# stored_no_strays DIGEST: nothing but blobs beside DIGEST's bytes.
stored_no_strays() {
	local dir
	dir=$(dirname "$(blob_key "$1")")
	if [ "$STORAGE_KIND" = s3 ]; then
		test -z "$(s3obj ls "$dir/" | grep -Ev "^$dir/[0-9a-f]{64} ")"
	else
		test -z "$(find "$STORAGE/$dir" -regextype posix-extended \
			-type f ! -regex '.*/[0-9a-f]{64}')"
	fi
}

# storage_env: the environment that points a registryd started by a
# test (an extra node, `registryd gc`) at the nodes' storage.
storage_env() {
	if [ "$STORAGE_KIND" = s3 ]; then
		printf '%s\n' REGISTRYD_STORAGE_DRIVER=s3 \
			"REGISTRYD_S3_ENDPOINT=$S3_ENDPOINT" \
			"REGISTRYD_S3_REGION=$S3_REGION" \
			"REGISTRYD_S3_BUCKET=$S3_BUCKET" \
			"REGISTRYD_S3_PREFIX=$S3_PREFIX" \
			"REGISTRYD_S3_ACCESS_KEY=$S3_ACCESS_KEY" \
			"REGISTRYD_S3_SECRET_KEY=$S3_SECRET_KEY"
	else
		printf '%s\n' "REGISTRYD_STORAGE=$STORAGE"
	fi
}
