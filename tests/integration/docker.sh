# A private dockerd for the docker tests, sourced after lib.sh. Debian's
# docker.io (scripts/deps.sh) runs under a temporary directory: its own
# data root, exec root, pid file, socket, daemon.json and, through a mount
# namespace of its own (unshare -m), its own /etc/docker (certs.d, key.json)
# and /etc/hosts, so that the machine's docker setup is never read nor
# written. The client's config.json lives there too (DOCKER_CONFIG), not in
# ~/.docker. dockerd starts its own managed containerd under the exec root;
# docker_stop checks that neither is left running. Images come from
# archives made here (docker load), never from a public registry.
#
#   docker_start DIR [HOSTNAME=ADDR...]   starts dockerd; the pairs are
#                                         added to its /etc/hosts. Exports
#                                         DOCKER_HOST, DOCKER_CONFIG; sets
#                                         DOCKER_DIR, DOCKERD_PID
#   docker_stop                           stops it; fails if any of its
#                                         processes is left
#   dk ARGS...                            the client; output in $DK_OUT
#   docker_trust HOST:PORT CERT|-         dockerd's certs.d entry for a
#                                         registry (- removes it)
#   docker_archive DIR REF ARCH TEXT      DIR.tar: a one-layer image REF
#                                         for ARCH, for `dk load -i`

# Debian's client, whatever else is first on PATH.
DOCKER_BIN=${DOCKER_BIN:-/usr/bin/docker}
DOCKERD_BIN=${DOCKERD_BIN:-/usr/sbin/dockerd}
DOCKER_DIR=
DOCKERD_PID=

docker_start() {
	local dir=$1 pair i
	shift
	DOCKER_DIR=$dir
	mkdir -p "$dir/etc/certs.d" "$dir/client" "$dir/data" "$dir/exec" || return 1
	echo '{}' >"$dir/daemon.json"
	cp /etc/hosts "$dir/hosts" || return 1
	for pair in "$@"; do
		printf '%s %s\n' "${pair#*=}" "${pair%%=*}" >>"$dir/hosts"
	done
	export DOCKER_HOST=unix://$dir/docker.sock DOCKER_CONFIG=$dir/client
	# Bind mounts in a private mount namespace: dockerd reads certs.d
	# from /etc/docker whatever its other settings say.
	unshare --mount --propagation private -- sh -c '
		mount --bind "$1/etc" /etc/docker &&
		mount --bind "$1/hosts" /etc/hosts || exit 1
		shift
		exec "$@"' sh "$dir" "$DOCKERD_BIN" \
		--config-file="$dir/daemon.json" --data-root="$dir/data" \
		--exec-root="$dir/exec" --pidfile="$dir/dockerd.pid" \
		-H "unix://$dir/docker.sock" --storage-driver=vfs \
		--bridge=none --iptables=false --ip6tables=false \
		>"$dir/dockerd.log" 2>&1 </dev/null &
	DOCKERD_PID=$!
	for ((i = 0; i < 300; i++)); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || return 1
		"$DOCKER_BIN" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# docker_left: pids of processes that run with our directory in their
# command line (dockerd, its containerd and shims).
docker_left() {
	pgrep -f -- "$DOCKER_DIR/" 2>/dev/null
}

docker_stop() {
	local i left
	[ -n "$DOCKERD_PID" ] || return 0
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$DOCKERD_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		left=$(docker_left)
		[ -n "$left" ] || break
		sleep 0.1
	done
	DOCKERD_PID=
	if [ -n "$left" ]; then
		echo "docker_stop: still running: $left" >&2
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		return 1
	fi
	return 0
}

DK_OUT=
dk() {
	local rc=0
	DK_OUT=$(timeout 60 "$DOCKER_BIN" "$@" 2>&1) || rc=$?
	return "$rc"
}

docker_trust() {
	local d=$DOCKER_DIR/etc/certs.d/$1
	if [ "$2" = - ]; then
		rm -rf "$d"
	else
		mkdir -p "$d" && cp "$2" "$d/ca.crt"
	fi
}

docker_archive() {
	local d=$1 diff
	rm -rf "$d"
	mkdir -p "$d/rootfs" || return 1
	printf '%s\n' "$4" >"$d/rootfs/hello.txt"
	tar -C "$d/rootfs" -cf "$d/layer.tar" hello.txt || return 1
	diff=$(sha256_of "$d/layer.tar") || return 1
	jq -cn --arg a "$3" --arg d "$diff" '{architecture: $a, os: "linux",
		config: {}, rootfs: {type: "layers", diff_ids: [$d]}}' >"$d/config.json"
	jq -cn --arg r "$2" '[{Config: "config.json", RepoTags: [$r],
		Layers: ["layer.tar"]}]' >"$d/manifest.json"
	tar -C "$d" -cf "$d.tar" config.json manifest.json layer.tar
}
