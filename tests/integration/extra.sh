# An extra registryd node with its own settings, for tests that need a
# configuration the two shared nodes do not have (TLS, foreign-layer
# policy). It shares the run's database and storage.
#
#   extra_start DIR [VAR=VALUE ...]   start it; sets EXTRA_PORT, EXTRA_PID
#   extra_stop                        SIGTERM; returns the node's exit code

extra_free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 10000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

extra_start() {
	local dir=$1 i
	shift
	mkdir -p "$dir"
	EXTRA_DIR=$dir
	EXTRA_PORT=$(extra_free_port) || return 1
	local -a store
	mapfile -t store < <(storage_env)
	env REGISTRYD_LISTEN="127.0.0.1:$EXTRA_PORT" "${store[@]}" \
		REGISTRYD_DATABASE="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" \
		"$@" "$BUILD/registryd" >"$dir/log" 2>&1 &
	EXTRA_PID=$!
	for ((i = 0; i < 200; i++)); do
		kill -0 "$EXTRA_PID" 2>/dev/null || return 1
		# Any HTTP answer means the node is up (TLS or not).
		curl -sk -o /dev/null "http://127.0.0.1:$EXTRA_PORT/healthz" && return 0
		curl -sk -o /dev/null "https://127.0.0.1:$EXTRA_PORT/healthz" && return 0
		sleep 0.05
	done
	return 1
}

extra_stop() {
	local code
	kill -TERM "$EXTRA_PID"
	wait "$EXTRA_PID"
	code=$?
	[ "$code" = 0 ] || tail -n 30 "$EXTRA_DIR/log" >&2
	return "$code"
}
