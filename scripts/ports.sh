# free_port: sets PORT to a free loopback port below the kernel's ephemeral
# range (32768 and up), so that no outgoing connection takes it between our
# check and the bind, and never one handed out before in this shell.
# Returns 1 when none is found. Sourced by bash scripts (tests, bench).
declare -A taken=()
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((15000 + RANDOM % 17000))
		[ -n "${taken[$p]:-}" ] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken[$p]=1
			PORT=$p
			return 0
		fi
	done
	return 1
}
