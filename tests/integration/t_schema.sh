# Schema compatibility: a binary never runs on a schema that a newer version
# migrated. A migration name this binary does not carry makes `migrate` and
# `serve` of both daemons refuse, naming it, and changes nothing; once it is
# gone, migrate succeeds again.
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/ports.sh"

future=9999_from_a_later_version
cleanup() { psql -qAtc "DELETE FROM schema_migrations WHERE name = '$future'" >/dev/null; }
trap cleanup EXIT

count() { psql -qAtc "SELECT count(*) FROM schema_migrations"; }
before=$(count)
psql -qAtc "INSERT INTO schema_migrations (name) VALUES ('$future')" >/dev/null
after_insert=$(count)

# refuses NAME CMD...: CMD exits non-zero within 20 s and says why.
refuses() {
	local name=$1 out=$SCRATCH/out rc=0
	shift
	timeout 20 "$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
		not_ok "$name" "exit code $rc: $(tail -n 3 "$out")"
		return
	fi
	if grep -q "schema is newer than this binary: migration $future" "$out"; then
		ok "$name"
	else
		not_ok "$name" "no reason naming $future: $(tail -n 3 "$out")"
	fi
}

free_port
refuses "registryd migrate refuses a newer schema" \
	"$BUILD/registryd" -c "$(node_dir 1)/conf" migrate
refuses "registryd serve refuses a newer schema" \
	env REGISTRYD_LISTEN="127.0.0.1:$PORT" \
	"$BUILD/registryd" -c "$(node_dir 1)/conf" serve
free_port
refuses "authd migrate refuses a newer schema" \
	"$BUILD/authd" -c "$(node_dir 3)/conf" migrate
refuses "authd serve refuses a newer schema" \
	env AUTHD_LISTEN="127.0.0.1:$PORT" \
	"$BUILD/authd" -c "$(node_dir 3)/conf" serve
expect_eq "the refusals changed no migration record" "$after_insert" "$(count)"

cleanup
if "$BUILD/registryd" -c "$(node_dir 1)/conf" migrate >"$SCRATCH/out" 2>&1; then
	ok "migrate succeeds once the schema is this binary's"
else
	not_ok "migrate succeeds once the schema is this binary's" "$(tail -n 3 "$SCRATCH/out")"
fi
expect_eq "the schema is as before" "$before" "$(count)"
expect_status "the running nodes still serve" 200 GET "$REG/v2/"
