#!/bin/sh
# What `make test` runs, after make has built BUILD_DIR: the unit tests, the
# fuzz corpus replays (BUILD_DIR/fuzz-replay-X over tests/fuzz/corpus/X),
# then the integration tests.  Adds up the passes and failures of every
# stage and prints them as its last line, "N passed, N failed".  A stage
# that cannot run (a missing binary or tool) is a failure, never a skip.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: tests/run-all.sh BUILD_DIR" >&2
	echo "0 passed, 1 failed"
	exit 2
fi
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-all.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# For builds with SANITIZE=address,undefined; harmless otherwise.
: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=0}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

passed=0
failed=0

stage_fail() {
	echo "not ok - $*"
	failed=$((failed + 1))
}

# run_logged OUT CMD...: runs CMD with its output shown and kept in OUT
# (POSIX sh has no pipefail, so the exit code goes through a file).
run_logged() {
	_out=$1
	shift
	{
		"$@" 2>&1
		echo $? >"$_out.rc"
	} | tee "$_out"
	rc=$(cat "$_out.rc")
}

# add_summary STAGE OUT: adds the last "N passed, N failed" line of OUT;
# a non-zero exit ($rc) that the line does not explain, such as a leak
# report after it under AddressSanitizer, is one more failure.
add_summary() {
	_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n 1)
	if [ -z "$_line" ]; then
		stage_fail "$1 printed no \"N passed, N failed\" line (exit code $rc)"
		return
	fi
	set -- "$1" $_line
	passed=$((passed + $2))
	failed=$((failed + $4))
	if [ "$rc" != 0 ] && [ "$4" = 0 ]; then
		stage_fail "$1 exited with code $rc"
	fi
}

# ---- unit tests ----------------------------------------------------------
echo "# unit"
if [ -x "$BUILD/unit" ]; then
	run_logged "$TMP/unit" "$BUILD/unit"
	add_summary unit "$TMP/unit"
else
	stage_fail "no $BUILD/unit"
fi

# ---- fuzz corpus replays -------------------------------------------------
for bin in "$BUILD"/fuzz-replay-*; do
	[ -e "$bin" ] || continue
	target=${bin##*/fuzz-replay-}
	corpus=tests/fuzz/corpus/$target
	if [ ! -d "$corpus" ]; then
		stage_fail "fuzz $target: no corpus directory $corpus"
	elif "$bin" "$corpus"; then
		echo "ok - fuzz corpus $target"
		passed=$((passed + 1))
	else
		stage_fail "fuzz corpus $target: $bin exited with code $?"
	fi
done

# ---- integration tests ---------------------------------------------------
echo "# integration"
if command -v bash >/dev/null 2>&1; then
	run_logged "$TMP/integration" bash tests/integration/run.sh "$BUILD"
	add_summary integration "$TMP/integration"
else
	stage_fail "integration: bash not found"
fi

# ---- the storage-bound integration tests again, on S3 ------------------------
# The nodes keep blobs in a bucket of a real radosgw. Under the sanitizers
# a shorter list, which still takes every path of the S3 driver, keeps
# CI's time in bounds.
S3_TESTS="t_push t_pull t_cluster t_gc t_management t_skopeo t_docker"
if ldd "$BUILD/registryd" 2>/dev/null | grep -q libasan; then
	S3_TESTS="t_push t_pull t_cluster t_gc"
fi
echo "# integration on S3"
if command -v bash >/dev/null 2>&1; then
	run_logged "$TMP/integration-s3" env BERTH_TEST_STORAGE=s3 \
		bash tests/integration/run.sh "$BUILD" $S3_TESTS
	add_summary "integration on S3" "$TMP/integration-s3"
else
	stage_fail "integration on S3: bash not found"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
