#!/bin/sh
# shellcheck shell=bash
# `make bench`: Berth against CNCF Distribution 2.8 on this machine, with
# the machine's own limits beside them.  bench/run.sh BUILD_DIR
#
# Installs what it lacks (bench/deps.sh), builds bench/loadgen and
# bench/seedfs, then starts everything in one temp dir on free loopback
# ports: a private PostgreSQL (scripts/pg.sh), authd, two registryd nodes
# (no auth; token auth through authd), two Distribution instances (the
# same two ways, authd as their token server) and nginx.  Each workload
# runs against Berth and Distribution in turn, BENCH_ROUNDS times with the
# order swapped every round, and the best round of each counts (other load
# on the machine only ever makes a figure worse).  Progress goes to
# stderr; the table goes to stdout and, as Markdown, is appended to
# bench/results/<date>-<host>.md.  docs/benchmarks.md explains every
# figure.  A trap stops every process started here and removes the temp
# dir (its logs are kept, and the path printed, after a failure).
#
# Settings (environment):
#   BENCH_QUICK=1         smoke run: small blobs and counts, short runs
#   BENCH_ONLY="a b"      sections to run: limits push pull manifest token
#                         list skopeo gc (default: all of them)
#   BENCH_ROUNDS          rounds per workload (full 2, quick 1)
#   BENCH_DURATION        seconds per timed load run (full 3, quick 2)
#   BENCH_BLOB_MB         blob size for push and pull (full 256, quick 16)
#   BENCH_REPS            pushes per client per run (full 2, quick 1)
#   BENCH_CHUNK_MB        PATCH size of the chunked push (16)
#   BENCH_COUNT           repositories and tags to list (full 100000,
#                         quick 10000)
#   BENCH_LIST_BUDGET     seconds one listing may take before it is cut
#                         short and its total extrapolated (full 30,
#                         quick 10)
#   BENCH_CONCURRENCY     manifest concurrencies (1 16 64)
#   BENCH_LAYERS, BENCH_LAYER_MB   the skopeo image (full 6 x 16, quick 3 x 2)
#   BENCH_GC_COUNT        unreferenced blobs to collect (full 20000,
#                         quick 2000)
#   BENCH_NO_INSTALL=1    do not run bench/deps.sh
#   BENCH_KEEP=1          keep the temp dir
#   BENCH_RESULTS=DIR     where the Markdown goes (bench/results)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/registryd" ] || [ ! -x "$1/authd" ]; then
	echo "usage: bench/run.sh BUILD_DIR (with registryd and authd built)" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

say() {
	echo "bench: [${SECONDS}s] $*" >&2
}
die() {
	echo "bench: error: $*" >&2
	exit 1
}

# Leftover settings in the environment would override our config files.
for v in $(compgen -e); do
	case $v in REGISTRYD_* | AUTHD_* | BERTH_ADMIN_PASSWORD) unset "$v" ;; esac
done

# ---- settings --------------------------------------------------------------
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
	d_rounds=1 d_dur=2 d_blob=16 d_reps=1 d_count=10000 d_budget=10
	d_layers=3 d_layer_mb=2 d_gc=2000
else
	d_rounds=2 d_dur=3 d_blob=256 d_reps=2 d_count=100000 d_budget=30
	d_layers=6 d_layer_mb=16 d_gc=20000
fi
ROUNDS=${BENCH_ROUNDS:-$d_rounds}
DUR=${BENCH_DURATION:-$d_dur}
BLOB_MB=${BENCH_BLOB_MB:-$d_blob}
REPS=${BENCH_REPS:-$d_reps}
CHUNK_MB=${BENCH_CHUNK_MB:-16}
COUNT=${BENCH_COUNT:-$d_count}
BUDGET=${BENCH_LIST_BUDGET:-$d_budget}
CONCS=${BENCH_CONCURRENCY:-1 16 64}
LAYERS=${BENCH_LAYERS:-$d_layers}
LAYER_MB=${BENCH_LAYER_MB:-$d_layer_mb}
GC_COUNT=${BENCH_GC_COUNT:-$d_gc}
ONLY=${BENCH_ONLY:-limits push pull manifest token list skopeo gc}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
NCPU=$(nproc 2>/dev/null || echo 1)
LG_THREADS=$((NCPU < 2 ? 1 : 2))

for n in "$ROUNDS" "$DUR" "$BLOB_MB" "$REPS" "$CHUNK_MB" "$COUNT" \
	"$BUDGET" "$LAYERS" "$LAYER_MB" $CONCS; do
	case $n in '' | *[!0-9]*) die "settings must be whole numbers, got \"$n\"" ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$BLOB_MB" -ge 1 ] && [ "$COUNT" -ge 1 ] ||
	die "BENCH_ROUNDS, BENCH_BLOB_MB and BENCH_COUNT must be at least 1"

want() {
	case " $ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

# ---- tools -----------------------------------------------------------------
if [ -z "${BENCH_NO_INSTALL:-}" ]; then
	sh "$ROOT/bench/deps.sh" || die "could not install the benchmark's packages (bench/deps.sh)"
fi
. "$ROOT/scripts/pg.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
DISTRIBUTION=$(command -v docker-registry || echo /usr/bin/docker-registry)
missing=
for t in curl jq openssl skopeo gcc psql sha256sum gzip tar awk dd mktemp; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -x "$NGINX" ] || missing="$missing nginx"
[ -x "$DISTRIBUTION" ] || missing="$missing docker-registry"
[ -x "$(pg_bin)/initdb" ] || missing="$missing initdb(postgresql)"
[ "$(id -u)" -ne 0 ] || command -v runuser >/dev/null 2>&1 ||
	missing="$missing runuser"
[ -z "$missing" ] ||
	die "missing tools:$missing (bench/deps.sh and make deps install them)"
"$NGINX" -V 2>&1 | grep -q -- --with-http_dav_module ||
	die "$NGINX has no http_dav_module (Debian's nginx package has it)"

# loadgen and seedfs, with the project's warnings.
BIN=$BUILD/bench
mkdir -p "$BIN" || die "cannot create $BIN"
CFLAGS_BENCH="-std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wpedantic -Wshadow
	-Wvla -Wwrite-strings -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
	-Werror"
# shellcheck disable=SC2046,SC2086
gcc $CFLAGS_BENCH -o "$BIN/loadgen" bench/loadgen.c bench/reqrate.c \
	$(pkg-config --cflags --libs libcurl jansson libcrypto 2>/dev/null ||
		echo -lcurl -ljansson -lcrypto) -lpthread ||
	die "could not build bench/loadgen (libcurl4-openssl-dev, libjansson-dev, libssl-dev)"
# shellcheck disable=SC2086
gcc $CFLAGS_BENCH -o "$BIN/seedfs" bench/seedfs.c \
	$(pkg-config --cflags --libs libcrypto 2>/dev/null || echo -lcrypto) ||
	die "could not build bench/seedfs"
LG=$BIN/loadgen

# ---- temp dir, processes, cleanup ------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX") || die "mktemp failed"
# As root, PostgreSQL runs as "postgres" and must reach $T/pg.
[ "$(id -u)" -ne 0 ] || chmod 0711 "$T"
mkdir -p "$T/log" "$T/res" "$T/berth-storage" "$T/dist-storage" "$T/www/put" \
	"$T/nginx"
PIDS=()
declare -A PID=()
finished=0

cleanup() {
	local pid i
	trap - EXIT INT TERM HUP
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ ! -d "$T/pg" ] || pg_stop "$T/pg" || say "could not stop PostgreSQL in $T/pg"
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "kept $T"
	elif [ "$finished" = 1 ]; then
		rm -rf "$T"
	else
		rm -rf "$T/berth-storage" "$T/dist-storage" "$T/www" "$T"/layout-* \
			"$T"/out-* "$T/pg/data"
		say "logs kept in $T/log"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# start NAME CMD...: runs CMD in the background, output in $T/log/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$T/log/$name.log" 2>&1 </dev/null &
	PID[$name]=$!
	PIDS+=("$!")
}

# wait_http NAME URL WANT: until URL answers with a status matching WANT.
wait_http() {
	local name=$1 url=$2 want=$3 i st
	for ((i = 0; i < 300; i++)); do
		st=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url")
		# shellcheck disable=SC2254
		case $st in $want) return 0 ;; esac
		if ! kill -0 "${PID[$name]}" 2>/dev/null; then
			tail -n 20 "$T/log/$name.log" >&2
			die "$name exited while starting (log above)"
		fi
		sleep 0.1
	done
	tail -n 20 "$T/log/$name.log" >&2
	die "$name did not answer $url (last status $st)"
}

. "$ROOT/scripts/ports.sh"

# ---- results ---------------------------------------------------------------
# RES[key|server|round] is loadgen's key=value line, or ERR.
declare -A RES=() WHY=()

kv() {
	local k
	for k in $1; do
		case $k in "$2"=*) echo "${k#*=}"; return 0 ;; esac
	done
	echo ""
}

# measure KEY SERVER ROUND CMD...: runs CMD and keeps its last stdout line.
measure() {
	local key=$1 srv=$2 round=$3 out err
	shift 3
	out=$T/res/$key.$srv.$round
	err=$T/log/$key.$srv.$round.err
	if "$@" >"$out" 2>"$err" && [ -s "$out" ]; then
		RES[$key|$srv|$round]=$(tail -n 1 "$out")
	else
		RES[$key|$srv|$round]=ERR
		[ -n "${WHY[$key|$srv]:-}" ] ||
			WHY[$key|$srv]=$(grep -v '^$' "$err" | head -n 1)
		[ -n "${WHY[$key|$srv]}" ] || WHY[$key|$srv]="exit status, no message"
		say "$key on $srv failed: ${WHY[$key|$srv]}"
	fi
}

# best KEY SERVER FIELD max|min: the best round's line (ERR when none ran).
best() {
	local key=$1 srv=$2 field=$3 dir=$4 r line v bl='' bv=''
	for ((r = 1; r <= ROUNDS; r++)); do
		line=${RES[$key|$srv|$r]:-}
		[ -n "$line" ] && [ "$line" != ERR ] || continue
		v=$(kv "$line" "$field")
		[ -n "$v" ] || continue
		if [ -z "$bv" ] || awk -v a="$v" -v b="$bv" -v d="$dir" \
			'BEGIN { exit !(d == "max" ? a > b : a < b) }'; then
			bv=$v bl=$line
		fi
	done
	echo "${bl:-ERR}"
}

# order ROUND: the servers in the order of this round (swapped each round).
order() {
	if (($1 % 2)); then echo "$2 $3"; else echo "$3 $2"; fi
}

clients() {
	if [ "$1" = 1 ]; then echo "1 client"; else echo "$1 clients"; fi
}

calc() {
	awk "BEGIN { printf \"%s\", $1 }"
}

# ---- PostgreSQL, authd, registryd, Distribution, nginx ---------------------
say "temp dir $T"
pg_ok=0
for attempt in 1 2 3; do
	free_port || die "no free port"
	if [ "$attempt" = 1 ]; then
		PG_NOSYNC=1 pg_init "$T/pg" "$PORT" || die "initdb failed"
	fi
	if pg_start "$T/pg" "$PORT"; then
		pg_ok=1
		break
	fi
	say "PostgreSQL did not start on port $PORT, trying another"
done
[ "$pg_ok" = 1 ] || die "could not start PostgreSQL in $T/pg"
conninfo=$(pg_conninfo "$T/pg")
export PGHOST=$T/pg PGPORT PGDATABASE=berth PGUSER=berth
PGPORT=$(pg_port "$T/pg")
unset PGPASSWORD PGSERVICE PGOPTIONS
sql() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"
}

free_port || die "no free port"; P_AUTHD=$PORT
free_port || die "no free port"; P_BERTH=$PORT
free_port || die "no free port"; P_BERTHA=$PORT
free_port || die "no free port"; P_DIST=$PORT
free_port || die "no free port"; P_DISTA=$PORT
free_port || die "no free port"; P_NGINX=$PORT
AUTHD=http://127.0.0.1:$P_AUTHD
declare -A URL=([berth]=http://127.0.0.1:$P_BERTH
	[bertha]=http://127.0.0.1:$P_BERTHA [dist]=http://127.0.0.1:$P_DIST
	[dista]=http://127.0.0.1:$P_DISTA)
NGINX_URL=http://127.0.0.1:$P_NGINX
BS=$T/berth-storage
DS=$T/dist-storage

# authd's signing key, and a self-signed certificate for it: authd sends it
# as x5c (signing_chain) and Distribution trusts it (rootcertbundle).
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$T/authd-key.pem" 2>/dev/null &&
	openssl req -x509 -new -key "$T/authd-key.pem" -subj /CN=berth-authd \
		-days 7 -out "$T/authd-cert.pem" 2>/dev/null ||
	die "could not make authd's signing key and certificate"
ADMIN_PW=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

cat >"$T/authd.conf" <<EOF
listen = 127.0.0.1:$P_AUTHD
database = $conninfo
signing_keys = $T/authd-key.pem
signing_chain = $T/authd-cert.pem
token_ttl = 3600
EOF
for n in berth bertha; do
	cat >"$T/$n.conf" <<EOF
listen = ${URL[$n]#http://}
database = $conninfo
storage = $BS
gc = false
${BENCH_BERTH_CONF:-}
EOF
done
cat >>"$T/bertha.conf" <<EOF
auth_realm = $AUTHD/token
auth_jwks_url = $AUTHD/jwks
EOF
dist_secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
for n in dist dista; do
	cat >"$T/$n.yml" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $DS
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${URL[$n]#http://}
  secret: $dist_secret
  headers:
    X-Content-Type-Options: [nosniff]
EOF
done
cat >>"$T/dista.yml" <<EOF
auth:
  token:
    realm: $AUTHD/token
    service: berth-registry
    issuer: berth-authd
    rootcertbundle: $T/authd-cert.pem
EOF

# nginx: the machine's limits.  sendfile for GET; PUT through WebDAV,
# which spools the body to a temp file and renames it into place.
temp_paths=
for m in proxy fastcgi uwsgi scgi; do
	"$NGINX" -V 2>&1 | grep -q -- "--without-http_${m}_module" ||
		temp_paths="$temp_paths    ${m}_temp_path $T/nginx/$m;
"
done
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $T/nginx/nginx.pid;
error_log $T/log/nginx-error.log warn;
$([ "$(id -u)" -ne 0 ] || echo "user root;")
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path $T/www/put/.tmp;
$temp_paths    server {
        listen 127.0.0.1:$P_NGINX;
        root $T/www;
        location /put/ {
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
            client_body_buffer_size 1m;
        }
    }
}
EOF

say "starting PostgreSQL (port $PGPORT), authd, registryd x2, Distribution x2, nginx"
"$BUILD/registryd" -c "$T/berth.conf" migrate >"$T/log/migrate.log" 2>&1 ||
	{ tail -n 20 "$T/log/migrate.log" >&2; die "registryd migrate failed"; }
BERTH_ADMIN_PASSWORD=$ADMIN_PW "$BUILD/authd" -c "$T/authd.conf" \
	bootstrap-admin admin >"$T/log/bootstrap.log" 2>&1 ||
	{ tail -n 20 "$T/log/bootstrap.log" >&2; die "authd bootstrap-admin failed"; }
start authd "$BUILD/authd" -c "$T/authd.conf"
wait_http authd "$AUTHD/readyz" 200
start berth "$BUILD/registryd" -c "$T/berth.conf"
start bertha "$BUILD/registryd" -c "$T/bertha.conf"
start dist "$DISTRIBUTION" serve "$T/dist.yml"
start dista "$DISTRIBUTION" serve "$T/dista.yml"
start nginx "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/log/nginx-error.log"
wait_http berth "${URL[berth]}/readyz" 200
wait_http bertha "${URL[bertha]}/readyz" 200
wait_http dist "${URL[dist]}/v2/" 200
wait_http dista "${URL[dista]}/v2/" 401
wait_http nginx "$NGINX_URL/" '[1-5]??'

# token SCOPE: an access token for admin from authd.
token() {
	curl -sf -u "admin:$ADMIN_PW" \
		"$AUTHD/token?service=berth-registry&scope=$1" | jq -r .token
}
PULL_TOKEN=$(token repository:bench/manifest:pull)
[ -n "$PULL_TOKEN" ] && [ "$PULL_TOKEN" != null ] ||
	die "authd issued no token (log: $T/log/authd.log)"
for n in bertha dista; do
	st=$(curl -s -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $PULL_TOKEN" "${URL[$n]}/v2/")
	[ "$st" = 200 ] || die "$n refused authd's token on /v2/ (status $st; log $T/log/$n.log)"
done

# ---- seed: a small image, the blob to pull, the lists -----------------------
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
ACCEPT="Accept: $MT_MANIFEST, application/vnd.docker.distribution.manifest.v2+json"

# put_blob BASE REPO FILE: POST, then PUT with the whole file.
put_blob() {
	local d loc st
	d=sha256:$(sha256sum <"$3" | cut -c1-64)
	loc=$(curl -s -D - -o /dev/null -X POST "$1/v2/$2/blobs/uploads/" |
		tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
	case $loc in /*) loc=$1$loc ;; esac
	case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
	st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/octet-stream' --data-binary "@$3" "$loc")
	[ "$st" = 201 ] || die "blob push to $1/v2/$2 answered $st"
}

# put_image BASE REPO TAG: the small image (config, one layer, manifest).
put_image() {
	local st
	put_blob "$1" "$2" "$T/image/config.json"
	put_blob "$1" "$2" "$T/image/layer.bin"
	st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H "Content-Type: $MT_MANIFEST" --data-binary "@$T/image/manifest.json" \
		"$1/v2/$2/manifests/$3")
	[ "$st" = 201 ] || die "manifest push to $1/v2/$2 answered $st"
}

mkdir -p "$T/image"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$(printf '%064d' 0)" >"$T/image/config.json"
head -c 4096 /dev/urandom >"$T/image/layer.bin"
jq -cn --arg mt "$MT_MANIFEST" \
	--arg cd "sha256:$(sha256sum <"$T/image/config.json" | cut -c1-64)" \
	--argjson cs "$(stat -c %s "$T/image/config.json")" \
	--arg ld "sha256:$(sha256sum <"$T/image/layer.bin" | cut -c1-64)" \
	'{schemaVersion: 2, mediaType: $mt,
	  config: {mediaType: "application/vnd.oci.image.config.v1+json",
	           digest: $cd, size: $cs},
	  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar",
	            digest: $ld, size: 4096}]}' >"$T/image/manifest.json"
MAN_DIGEST=sha256:$(sha256sum <"$T/image/manifest.json" | cut -c1-64)
MAN_SIZE=$(stat -c %s "$T/image/manifest.json")
for n in berth dist; do
	put_image "${URL[$n]}" bench/manifest latest
	put_image "${URL[$n]}" bench/tags latest
done

# blob_file SERVER DIGEST: where the server keeps a blob's bytes.
blob_file() {
	local hex=${2#sha256:}
	case $1 in
	berth) echo "$BS/blobs/sha256/${hex:0:2}/$hex" ;;
	dist) echo "$DS/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" ;;
	esac
}

# drop_blobs FILE: removes the blobs listed (pushes of a run) from both
# storages, to keep the disk bounded; the metadata rows and links stay.
drop_blobs() {
	local d hex
	while read -r d; do
		hex=${d#sha256:}
		rm -f "$BS/blobs/sha256/${hex:0:2}/$hex"
		rm -rf "$DS/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex"
	done <"$1"
	rm -f "$1"
}

BLOB=$((BLOB_MB << 20))
if want pull || want limits; then
	say "seeding the $BLOB_MB MiB blob to pull"
	for n in berth dist; do
		"$LG" push-mono "${URL[$n]}" bench/pull -s "$BLOB" -S 7 \
			-o "$T/pull.digest.$n" >/dev/null 2>"$T/log/seed-pull.$n.err" ||
			die "seeding the pull blob into $n failed: $(head -n 1 "$T/log/seed-pull.$n.err")"
	done
	PULL_DIGEST=$(head -n 1 "$T/pull.digest.berth")
	cp "$(blob_file berth "$PULL_DIGEST")" "$T/www/blob" ||
		die "the pushed blob is not at $(blob_file berth "$PULL_DIGEST")"
fi

if want list; then
	say "seeding $COUNT repositories and $COUNT tags (SQL for Berth, seedfs for Distribution)"
	sql -v n="$COUNT" -v d="$MAN_DIGEST" -v s="$MAN_SIZE" \
		-v c="$(cat "$T/image/manifest.json")" -v mt="$MT_MANIFEST" <<'EOF' ||
BEGIN;
INSERT INTO repositories (name)
	SELECT 'bench/cat/r' || lpad(i::text, 6, '0')
	FROM generate_series(0, :n - 1) AS i;
INSERT INTO manifests (repository_id, digest, media_type, size, content)
	SELECT id, :'d', :'mt', :s, convert_to(:'c', 'UTF8')
	FROM repositories WHERE name LIKE 'bench/cat/%';
INSERT INTO tags (repository_id, name, digest)
	SELECT id, 'latest', :'d' FROM repositories WHERE name LIKE 'bench/cat/%';
INSERT INTO tags (repository_id, name, digest)
	SELECT r.id, 't' || lpad(i::text, 6, '0'), :'d'
	FROM repositories r, generate_series(0, :n - 1) AS i
	WHERE r.name = 'bench/tags';
COMMIT;
ANALYZE repositories;
ANALYZE manifests;
ANALYZE tags;
EOF
		die "seeding the database failed"
	"$BIN/seedfs" "$DS" repos bench/cat "$COUNT" &&
		"$BIN/seedfs" "$DS" tags bench/tags "$COUNT" "$MAN_DIGEST" ||
		die "seeding Distribution's storage failed"
fi

# ---- workloads -------------------------------------------------------------
SEED=1000
next_seed() {
	SEED=$((SEED + 1))
}

run_limits() {
	local r line
	for ((r = 1; r <= ROUNDS; r++)); do
		say "limits, round $r"
		measure lim.sha machine "$r" sh -c \
			"openssl speed -mr -evp sha256 -bytes 1048576 -seconds $DUR 2>/dev/null |
			 awk -F: '/^\+F:/ { printf \"mbps=%.1f\n\", \$4 / 1e6 }'"
		measure lim.dd machine "$r" sh -c \
			"LC_ALL=C dd if=/dev/zero of='$T/dd.bin' bs=1M count=$BLOB_MB conv=fsync 2>&1 |
			 awk '/copied/ { printf \"mbps=%.1f\n\", \$1 / \$(NF-3) / 1e6 }'; rm -f '$T/dd.bin'"
		for c in 1 4; do
			measure "lim.get$c" nginx "$r" "$LG" pull "$NGINX_URL/blob" \
				-c "$c" -t "$DUR"
			next_seed
			measure "lim.put$c" nginx "$r" "$LG" put "$NGINX_URL/put" \
				-c "$c" -s "$BLOB" -r "$REPS" -S "$SEED"
			rm -f "$T"/www/put/[0-9]*
		done
	done
}

run_push() {
	local r s kind c
	for ((r = 1; r <= ROUNDS; r++)); do
		say "blob push, round $r"
		for kind in mono chunked; do
			for c in 1 4; do
				for s in $(order "$r" berth dist); do
					next_seed
					measure "push.$kind.$c" "$s" "$r" "$LG" "push-$kind" \
						"${URL[$s]}" bench/push -c "$c" -s "$BLOB" \
						-r "$REPS" -k $((CHUNK_MB << 20)) -S "$SEED" \
						-o "$T/pushed"
					drop_blobs "$T/pushed"
				done
			done
		done
	done
}

run_pull() {
	local r s c
	for ((r = 1; r <= ROUNDS; r++)); do
		say "blob pull, round $r"
		for c in 1 4; do
			for s in $(order "$r" berth dist); do
				measure "pull.$c" "$s" "$r" "$LG" pull \
					"${URL[$s]}/v2/bench/pull/blobs/$PULL_DIGEST" -c "$c" \
					-t "$DUR"
			done
		done
	done
}

# man_run KEY SERVER ROUND KIND CONC [HEADER]
man_run() {
	local key=$1 s=$2 r=$3 kind=$4 c=$5 ref=latest method=GET
	shift 5
	[ "$kind" = digest ] && ref=$MAN_DIGEST
	[ "$kind" = head ] && method=HEAD
	measure "$key" "$s" "$r" "$LG" rps "${URL[$s]}/v2/bench/manifest/manifests/$ref" \
		-m "$method" -c "$c" -T "$LG_THREADS" -t "$DUR" -H "$ACCEPT" "$@"
}

run_manifest() {
	local r s kind c auth tok
	for ((r = 1; r <= ROUNDS; r++)); do
		for auth in none token; do
			say "manifests ($auth auth), round $r"
			tok=$(token repository:bench/manifest:pull)
			for kind in tag digest head; do
				for c in $CONCS; do
					if [ "$auth" = none ]; then
						for s in $(order "$r" berth dist); do
							man_run "man.$auth.$kind.$c" "$s" "$r" "$kind" "$c"
						done
					else
						for s in $(order "$r" bertha dista); do
							man_run "man.$auth.$kind.$c" "$s" "$r" "$kind" \
								"$c" -H "Authorization: Bearer $tok"
						done
					fi
				done
			done
		done
	done
}

run_token() {
	local r refresh basic
	basic=$(printf 'admin:%s' "$ADMIN_PW" | base64 | tr -d '\n')
	refresh=$(curl -sf -d grant_type=password -d username=admin \
		-d "password=$ADMIN_PW" -d service=berth-registry \
		-d client_id=berth-bench -d access_type=offline "$AUTHD/token" |
		jq -r .refresh_token)
	[ -n "$refresh" ] && [ "$refresh" != null ] ||
		say "authd gave no refresh token; the refresh figure will fail"
	for ((r = 1; r <= ROUNDS; r++)); do
		say "token issuance, round $r"
		measure tok.basic berth "$r" "$LG" rps \
			"$AUTHD/token?service=berth-registry&scope=repository:bench/manifest:pull" \
			-c 16 -T "$LG_THREADS" -t "$DUR" -H "Authorization: Basic $basic"
		measure tok.refresh berth "$r" "$LG" rps "$AUTHD/token" -m POST \
			-c 16 -T "$LG_THREADS" -t "$DUR" \
			-H "Content-Type: application/x-www-form-urlencoded" \
			-b "grant_type=refresh_token&refresh_token=$refresh&service=berth-registry&client_id=berth-bench&scope=repository:bench/manifest:pull"
	done
}

# list_run KEY SERVER ROUND URL BUDGET: walks every page; an incomplete
# walk is extrapolated from its items per second (est=1).
list_run() {
	local key=$1 s=$2 r=$3 url=$4 budget=$5 line items secs
	measure "$key" "$s" "$r" "$LG" pages "$url" -t "$budget"
	line=${RES[$key|$s|$r]}
	[ "$line" != ERR ] || return 0
	if [ "$(kv "$line" complete)" != 1 ]; then
		items=$(kv "$line" items)
		secs=$(kv "$line" seconds)
		RES[$key|$s|$r]="$line est=1 total=$(calc "$secs * $COUNT / ($items > 0 ? $items : 1)")"
	else
		RES[$key|$s|$r]="$line est=0 total=$(kv "$line" seconds)"
	fi
}

run_list() {
	local r s budget
	for ((r = 1; r <= ROUNDS; r++)); do
		say "catalog and tag listing, round $r"
		for s in $(order "$r" berth dist); do
			# Berth always gets to finish; Distribution may be cut short.
			budget=$BUDGET
			[ "$s" = berth ] && budget=600
			list_run cat "$s" "$r" "${URL[$s]}/v2/_catalog?n=1000" "$budget"
			list_run tags "$s" "$r" "${URL[$s]}/v2/bench/tags/tags/list?n=1000" "$budget"
			# the first page alone, as a UI asks for it
			measure cat1 "$s" "$r" "$LG" rps \
				"${URL[$s]}/v2/_catalog?n=1000" -c 1 -t "$DUR"
			measure tags1 "$s" "$r" "$LG" rps \
				"${URL[$s]}/v2/bench/tags/tags/list?n=1000" -c 1 -t "$DUR"
		done
	done
}

# make_layout DIR NONCE: an OCI image layout with LAYERS gzip layers of
# LAYER_MB random MiB each, new bytes every time so that no registry has
# any of its blobs yet.
make_layout() {
	local dir=$1 tmp=$1.tmp i d s diff layers='[]' diffs='[]'
	mkdir -p "$dir/blobs/sha256" "$tmp"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	for ((i = 1; i <= LAYERS; i++)); do
		mkdir -p "$tmp/l$i"
		head -c $((LAYER_MB << 20)) /dev/urandom >"$tmp/l$i/data.bin"
		echo "$2 $i" >"$tmp/l$i/nonce"
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			-C "$tmp/l$i" -cf "$tmp/l$i.tar" . || return 1
		diff=sha256:$(sha256sum <"$tmp/l$i.tar" | cut -c1-64)
		gzip -1 -n -c "$tmp/l$i.tar" >"$tmp/l$i.tgz" || return 1
		d=$(sha256sum <"$tmp/l$i.tgz" | cut -c1-64)
		s=$(stat -c %s "$tmp/l$i.tgz")
		mv "$tmp/l$i.tgz" "$dir/blobs/sha256/$d"
		layers=$(jq -c --arg d "sha256:$d" --argjson s "$s" '. + [{mediaType:
			"application/vnd.oci.image.layer.v1.tar+gzip", digest: $d,
			size: $s}]' <<<"$layers")
		diffs=$(jq -c --arg d "$diff" '. + [$d]' <<<"$diffs")
	done
	jq -cn --argjson d "$diffs" '{architecture: "amd64", os: "linux",
		rootfs: {type: "layers", diff_ids: $d}}' >"$tmp/config.json"
	d=$(sha256sum <"$tmp/config.json" | cut -c1-64)
	s=$(stat -c %s "$tmp/config.json")
	mv "$tmp/config.json" "$dir/blobs/sha256/$d"
	jq -cn --arg mt "$MT_MANIFEST" --arg d "sha256:$d" --argjson s "$s" \
		--argjson l "$layers" '{schemaVersion: 2, mediaType: $mt,
		config: {mediaType: "application/vnd.oci.image.config.v1+json",
		digest: $d, size: $s}, layers: $l}' >"$tmp/manifest.json"
	d=$(sha256sum <"$tmp/manifest.json" | cut -c1-64)
	s=$(stat -c %s "$tmp/manifest.json")
	mv "$tmp/manifest.json" "$dir/blobs/sha256/$d"
	jq -cn --arg mt "$MT_MANIFEST" --arg d "sha256:$d" --argjson s "$s" \
		'{schemaVersion: 2, manifests: [{mediaType: $mt, digest: $d,
		size: $s, annotations: {"org.opencontainers.image.ref.name":
		"bench"}}]}' >"$dir/index.json"
	rm -rf "$tmp"
}

# timed CMD...: runs CMD, prints seconds=S (fails when CMD fails).
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >&2 || return 1
	t1=$(date +%s.%N)
	echo "seconds=$(calc "$t1 - $t0")"
}

run_skopeo() {
	local r s host
	export REGISTRY_AUTH_FILE=$T/skopeo-auth.json
	for ((r = 1; r <= ROUNDS; r++)); do
		say "skopeo copy in and out, round $r"
		for s in $(order "$r" berth dist); do
			host=${URL[$s]#http://}
			make_layout "$T/layout-$s-$r" "$s-$r-$SEED" ||
				die "could not build an OCI layout in $T/layout-$s-$r"
			measure sko.in "$s" "$r" timed skopeo --insecure-policy copy -q \
				--dest-tls-verify=false "oci:$T/layout-$s-$r:bench" \
				"docker://$host/bench/skopeo-$r:bench"
			measure sko.out "$s" "$r" timed skopeo --insecure-policy copy -q \
				--src-tls-verify=false "docker://$host/bench/skopeo-$r:bench" \
				"oci:$T/out-$s-$r:bench"
			rm -rf "$T/layout-$s-$r" "$T/out-$s-$r"
		done
	done
}

# gc_berth ROUND: GC_COUNT unreferenced blobs (rows, links in bench/gc
# whose grace has passed, bytes) collected by `registryd gc`: prints
# rate= (blobs gone, bytes included, per second), reviewed= (reviews per
# second) and seconds=.
gc_berth() {
	local list=$T/gc-berth.$1 out=$T/gc-berth.$1.json t0 t1 secs n
	"$BIN/seedfs" "$BS" blobs berth "$GC_COUNT" >"$list" || return 1
	{
		echo "BEGIN; CREATE TEMP TABLE d (digest text); COPY d FROM STDIN;"
		cat "$list"
		echo '\.'
		echo "INSERT INTO repositories (name) VALUES ('bench/gc')
		      ON CONFLICT (name) DO NOTHING;
		      INSERT INTO blobs (digest, size) SELECT digest, 1024 FROM d;
		      INSERT INTO repository_blobs (repository_id, digest)
		      SELECT r.id, d.digest FROM d, repositories r WHERE r.name = 'bench/gc';
		      INSERT INTO gc_repo_blob_reviews (repository_id, digest, queued_at)
		      SELECT r.id, d.digest, now() - interval '2 days'
		      FROM d, repositories r WHERE r.name = 'bench/gc';
		      COMMIT; VACUUM ANALYZE;"
	} | sql >/dev/null || return 1
	t0=$(date +%s.%N)
	REGISTRYD_GC_GRACE=86400 "$BUILD/registryd" -c "$T/berth.conf" gc >"$out" ||
		return 1
	t1=$(date +%s.%N)
	n=$(jq .blobs_removed "$out")
	[ "$n" = "$GC_COUNT" ] || { echo "registryd gc removed $n of $GC_COUNT" >&2; return 1; }
	secs=$(calc "$t1 - $t0")
	echo "rate=$(calc "$n / $secs") reviewed=$(calc "$(jq .reviewed "$out") / $secs") seconds=$secs"
}

# gc_dist ROUND: the same for Distribution's garbage-collect (offline:
# it needs the registry read-only, which here means no pushes meanwhile).
gc_dist() {
	local list=$T/gc-dist.$1 t0 t1 secs left
	"$BIN/seedfs" "$DS" blobs dist "$GC_COUNT" >"$list" || return 1
	t0=$(date +%s.%N)
	"$DISTRIBUTION" garbage-collect "$T/dist.yml" >"$T/log/gc-dist.$1.log" 2>&1 ||
		return 1
	t1=$(date +%s.%N)
	left=$(while read -r d; do
		h=${d#sha256:}
		[ -e "$DS/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data" ] && echo
	done <"$list" | wc -l)
	[ "$left" = 0 ] || { echo "garbage-collect left $left of $GC_COUNT" >&2; return 1; }
	secs=$(calc "$t1 - $t0")
	echo "rate=$(calc "$GC_COUNT / $secs") seconds=$secs"
}

run_gc() {
	local r s
	for ((r = 1; r <= ROUNDS; r++)); do
		say "garbage collection of $GC_COUNT blobs, round $r"
		for s in $(order "$r" berth dist); do
			measure gc "$s" "$r" "gc_$s" "$r"
		done
	done
}

# check_alive: every process started here must still run; a server that
# died would turn every later figure into noise.
check_alive() {
	local n
	for n in "${!PID[@]}"; do
		kill -0 "${PID[$n]}" 2>/dev/null && continue
		tail -n 20 "$T/log/$n.log" >&2
		die "$n exited during the run (log above: $T/log/$n.log)"
	done
}

T_START=$(date +%s)
for sec in limits push pull manifest token list skopeo gc; do
	if want "$sec"; then
		check_alive
		"run_$sec"
	fi
done
check_alive

# Peak RSS since start: one registryd node vs one Distribution process.
declare -A HWM=()
for n in berth bertha dist dista; do
	HWM[$n]=$(awk '/^VmHWM:/ { print $2 }' "/proc/${PID[$n]}/status" 2>/dev/null)
done
ELAPSED=$(($(date +%s) - T_START))

# ---- the table -------------------------------------------------------------
ROWS=()
n_pass=0 n_miss=0 n_err=0

# row LABEL BERTH DIST RATIO TARGET VERDICT
row() {
	ROWS+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"$'\t'"$6")
	case $6 in
	PASS) n_pass=$((n_pass + 1)) ;;
	MISS) n_miss=$((n_miss + 1)) ;;
	ERR) n_err=$((n_err + 1)) ;;
	esac
}
section() {
	ROWS+=("## $1")
}
fmt() {
	[ -n "$1" ] || { echo ERR; return; }
	awk -v v="$1" 'BEGIN {
		if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v;
		else printf "%.2f", v }'
}
mbps() {
	if [ -n "$1" ]; then echo "$(fmt "$1") MB/s"; else echo ERR; fi
}
verdict() {
	awk "BEGIN { exit !($1) }" && echo PASS || echo MISS
}
ratio() {
	[ -n "$1" ] && [ -n "$2" ] || { echo "—"; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "—" }'
}
# val KEY SERVER FIELD max|min: the best round's FIELD ("" when none ran).
val() {
	local line
	line=$(best "$1" "$2" "$3" "$4")
	[ "$line" = ERR ] || kv "$line" "$3"
}

if want limits; then
	section "Machine limits (same run, same client)"
	for k in sha dd get1 get4 put1 put4; do
		v=$(val "lim.$k" "$([ $k = sha ] || [ $k = dd ] && echo machine || echo nginx)" mbps max)
		declare "LIM_$k=$v"
	done
	row "SHA-256, one core (openssl speed -evp sha256)" "$(mbps "$LIM_sha")" "" "" "" "$([ -n "$LIM_sha" ] || echo ERR)"
	row "sequential write + fsync (dd conv=fsync, $BLOB_MB MiB)" "$(mbps "$LIM_dd")" "" "" "" "$([ -n "$LIM_dd" ] || echo ERR)"
	for c in 1 4; do
		v=LIM_get$c
		row "nginx sendfile GET, $BLOB_MB MiB, $(clients $c)" "$(mbps "${!v}")" "" "" "" "$([ -n "${!v}" ] || echo ERR)"
	done
	for c in 1 4; do
		v=LIM_put$c
		row "nginx WebDAV PUT, $BLOB_MB MiB, $(clients $c)" "$(mbps "${!v}")" "" "" "" "$([ -n "${!v}" ] || echo ERR)"
	done
fi

if want push; then
	section "Blob push, $BLOB_MB MiB blobs, MB/s (target: Berth ≥ 70% of the slower of SHA-256 and nginx PUT)"
	for kind in mono chunked; do
		for c in 1 4; do
			b=$(val "push.$kind.$c" berth mbps max)
			d=$(val "push.$kind.$c" dist mbps max)
			put=LIM_put$c
			lim=$(awk -v a="${LIM_sha:-}" -v b="${!put:-}" 'BEGIN {
				if (a == "" || b == "") exit; printf "%.1f", a < b ? a : b }')
			label="push, $([ $kind = mono ] && echo "monolithic (POST + PUT)" || echo "chunked ($CHUNK_MB MiB PATCHes)"), $(clients $c)"
			if [ -z "$b" ]; then
				row "$label" ERR "$(fmt "$d")" "—" "" ERR
			elif [ -z "$lim" ]; then
				row "$label" "$(fmt "$b")" "$(fmt "$d")" "$(ratio "$b" "$d")" "no limits measured" ""
			else
				row "$label" "$(fmt "$b")" "$(fmt "$d")" "$(ratio "$b" "$d")" \
					"$(calc "int(100 * $b / $lim + 0.5)")% of $(fmt "$lim") MB/s (≥ 70%)" \
					"$(verdict "$b >= 0.7 * $lim")"
			fi
		done
	done
fi

if want pull; then
	section "Blob pull, $BLOB_MB MiB blob, MB/s (target: Berth ≥ 85% of nginx sendfile)"
	for c in 1 4; do
		b=$(val "pull.$c" berth mbps max)
		d=$(val "pull.$c" dist mbps max)
		get=LIM_get$c
		lim=${!get:-}
		if [ -z "$b" ]; then
			row "pull, $(clients $c)" ERR "$(fmt "$d")" "—" "" ERR
		elif [ -z "$lim" ]; then
			row "pull, $(clients $c)" "$(fmt "$b")" "$(fmt "$d")" "$(ratio "$b" "$d")" "no limits measured" ""
		else
			row "pull, $(clients $c)" "$(fmt "$b")" "$(fmt "$d")" "$(ratio "$b" "$d")" \
				"$(calc "int(100 * $b / $lim + 0.5)")% of $(fmt "$lim") MB/s (≥ 85%)" \
				"$(verdict "$b >= 0.85 * $lim")"
		fi
	done
fi

if want manifest; then
	for auth in none token; do
		if [ "$auth" = none ]; then
			want_x=5
			section "Manifests, no auth: requests/s (p50 / p99 ms); target at 64: ≥ 5× Distribution"
		else
			want_x=3
			section "Manifests, token auth (bearer JWT from authd): requests/s (p50 / p99 ms); target at 64: ≥ 3× Distribution"
		fi
		sb=berth sd=dist
		[ "$auth" = token ] && sb=bertha sd=dista
		for kind in tag digest head; do
			for c in $CONCS; do
				key=man.$auth.$kind.$c
				lb=$(best "$key" "$sb" rps max)
				ld=$(best "$key" "$sd" rps max)
				b=$(kv "$lb" rps)
				d=$(kv "$ld" rps)
				cell() {
					[ "$1" != ERR ] || { echo ERR; return; }
					echo "$(fmt "$(kv "$1" rps)") ($(fmt "$(kv "$1" p50_ms)") / $(fmt "$(kv "$1" p99_ms)"))"
				}
				case $kind in
				tag) label="GET by tag" ;;
				digest) label="GET by digest" ;;
				head) label="HEAD by tag" ;;
				esac
				if [ "$lb" = ERR ] || { [ "$c" = 64 ] && [ "$ld" = ERR ]; }; then
					v=ERR
				elif [ "$c" = 64 ]; then
					v=$(verdict "$b >= $want_x * $d")
				else
					v=
				fi
				tg=
				[ "$c" = 64 ] && tg="≥ ${want_x}×"
				row "$label, concurrency $c" "$(cell "$lb")" "$(cell "$ld")" \
					"$(ratio "$b" "$d")" "$tg" "$v"
			done
		done
	done
fi

if want token; then
	section "Token issuance by authd, 16 connections: tokens/s (p50 / p99 ms)"
	for k in basic refresh; do
		l=$(best "tok.$k" berth rps max)
		if [ "$k" = basic ]; then
			label="GET /token, Basic credentials"
			tg="≥ 2000/s"
		else
			label="POST /token, grant_type=refresh_token"
			tg=
		fi
		if [ "$l" = ERR ]; then
			row "$label" ERR "no token server" "—" "$tg" ERR
		else
			b=$(kv "$l" rps)
			v=
			[ -n "$tg" ] && v=$(verdict "$b >= 2000")
			row "$label" "$(fmt "$b") ($(fmt "$(kv "$l" p50_ms)") / $(fmt "$(kv "$l" p99_ms)"))" \
				"no token server" "—" "$tg" "$v"
		fi
	done
fi

if want list; then
	section "Listing $COUNT entries, pages of n=1000: total seconds (p99 ms per page); target: ≥ 20× faster, p99 < 50 ms"
	for k in cat tags; do
		lb=$(best "$k" berth total min)
		ld=$(best "$k" dist total min)
		[ $k = cat ] && label="catalog, $COUNT repositories" || label="tag list, $COUNT tags"
		cell() {
			[ "$1" != ERR ] || { echo ERR; return; }
			local est=
			[ "$(kv "$1" est)" = 1 ] && est=" est."
			echo "$(fmt "$(kv "$1" total)") s$est ($(fmt "$(kv "$1" p99_ms)") ms, $(kv "$1" pages) pages)"
		}
		if [ "$lb" = ERR ] || [ "$ld" = ERR ]; then
			row "$label" "$(cell "$lb")" "$(cell "$ld")" "—" "≥ 20×, p99 < 50 ms" ERR
		else
			tb=$(kv "$lb" total) td=$(kv "$ld" total) pb=$(kv "$lb" p99_ms)
			row "$label" "$(cell "$lb")" "$(cell "$ld")" "$(ratio "$td" "$tb")" \
				"≥ 20×, p99 < 50 ms" "$(verdict "$td >= 20 * $tb && $pb < 50")"
		fi
	done
	cellr() {
		[ "$1" != ERR ] || { echo ERR; return; }
		echo "$(fmt "$(kv "$1" p50_ms)") ms (p99 $(fmt "$(kv "$1" p99_ms)"))"
	}
	for k in cat1 tags1; do
		lb=$(best "$k" berth rps max)
		ld=$(best "$k" dist rps max)
		if [ $k = cat1 ]; then
			label="catalog, first page only"
		else
			label="tag list, first page only (Distribution: all tags)"
		fi
		if [ "$lb" = ERR ] || [ "$ld" = ERR ]; then
			row "$label" "$(cellr "$lb")" "$(cellr "$ld")" "—" "≥ 20×, p99 < 50 ms" ERR
		else
			row "$label" "$(cellr "$lb")" "$(cellr "$ld")" \
				"$(ratio "$(kv "$lb" rps)" "$(kv "$ld" rps)")" "≥ 20×, p99 < 50 ms" \
				"$(verdict "$(kv "$lb" rps) >= 20 * $(kv "$ld" rps) && $(kv "$lb" p99_ms) < 50")"
		fi
	done
fi

if want skopeo; then
	section "skopeo copy of a $LAYERS-layer image ($LAYERS × $LAYER_MB MiB gzip layers): seconds"
	for k in in out; do
		lb=$(best "sko.$k" berth seconds min)
		ld=$(best "sko.$k" dist seconds min)
		b=$(kv "$lb" seconds) d=$(kv "$ld" seconds)
		[ $k = in ] && label="skopeo copy oci: → registry" || label="skopeo copy registry → oci:"
		row "$label" "$(fmt "$b") s" "$(fmt "$d") s" "$(ratio "$d" "$b")" "" \
			"$([ -z "$b" ] && echo ERR)"
	done
fi

if want gc; then
	section "Garbage collection of $GC_COUNT unreferenced 1 KiB blobs (rows, links and bytes): blobs/s; target: Berth ≥ 1,000/s, online (Distribution: offline)"
	lb=$(best gc berth rate max)
	ld=$(best gc dist rate max)
	b=$(kv "$lb" rate) d=$(kv "$ld" rate)
	row "blobs collected per second (Berth online, Distribution read-only)" \
		"$(fmt "$b")" "$(fmt "$d")" "$(ratio "$b" "$d")" "≥ 1000/s" \
		"$([ -z "$b" ] && echo ERR || verdict "$b >= 1000")"
	row "reviews per second (Berth: link and blob reviews)" \
		"$(fmt "$(kv "$lb" reviewed)")" "" "" "" "$([ -z "$b" ] && echo ERR)"
fi

section "Peak RSS (VmHWM) of one server process over the whole run: MiB (target: registryd ≤ Distribution)"
for pair in "berth dist without auth (every workload but the token ones)" \
	"bertha dista with token auth (manifests)"; do
	# shellcheck disable=SC2086
	set -- $pair
	b=${HWM[$1]:-} d=${HWM[$2]:-}
	shift 2
	label="peak RSS, $*"
	if [ -z "$b" ] || [ -z "$d" ]; then
		row "$label" "$(fmt "$b")" "$(fmt "$d")" "—" "≤ 1.00" ERR
	else
		row "$label" "$(fmt "$(calc "$b / 1024")") MiB" "$(fmt "$(calc "$d / 1024")") MiB" \
			"$(awk -v a="$b" -v c="$d" 'BEGIN { printf "%.2f", a / c }')" "≤ 1.00 (Berth/Dist)" \
			"$(verdict "$b <= $d")"
	fi
done

# ---- print -----------------------------------------------------------------
HOST=$(hostname -s 2>/dev/null || hostname)
DATE=$(date -u +%Y-%m-%d)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
MODE="full run"
[ -n "$QUICK" ] && MODE="SMOKE RUN (BENCH_QUICK=1: small sizes, short runs; not a result)"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
HEADER=(
	"Berth benchmark, $MODE"
	"$DATE on $HOST: $CPU, $NCPU cores, $MEM, $(uname -r)"
	"Berth $COMMIT$DIRTY; $("$DISTRIBUTION" --version 2>/dev/null | awk '{ print $2, $3 }'); $("$NGINX" -v 2>&1 | sed 's/.*: //'); PostgreSQL $(psql -X -A -t -c 'SHOW server_version' 2>/dev/null)"
	"rounds $ROUNDS (best counts), $DUR s per load run, blobs $BLOB_MB MiB x $REPS per client, $COUNT repositories/tags; took ${ELAPSED}s; load average at the end $LOAD"
	"ratio: Berth's speed over Distribution's (above 1: Berth is faster); MB/s = 10^6 bytes/s"
)

print_text() {
	local line a b c d e f
	for line in "${HEADER[@]}"; do
		echo "# $line"
	done
	printf '%-62s %-26s %-26s %-8s %-30s %s\n' "Figure" "Berth" "Distribution" "ratio" "target" ""
	for line in "${ROWS[@]}"; do
		case $line in
		"## "*) printf '\n%s\n' "${line#\#\# }" ;;
		*)
			IFS=$'\t' read -r a b c d e f <<<"$line"
			printf '%-62s %-26s %-26s %-8s %-30s %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
			;;
		esac
	done
	echo
	echo "$n_pass PASS, $n_miss MISS, $n_err ERR"
}

print_md() {
	local line a b c d e f
	echo "## ${HEADER[0]}"
	echo
	for line in "${HEADER[@]:1}"; do
		echo "- $line"
	done
	echo
	echo "| Figure | Berth | Distribution | ratio | target | |"
	echo "|---|---|---|---|---|---|"
	for line in "${ROWS[@]}"; do
		case $line in
		"## "*) echo "| **${line#\#\# }** | | | | | |" ;;
		*)
			IFS=$'\t' read -r a b c d e f <<<"$line"
			echo "| $a | $b | $c | $d | $e | $f |"
			;;
		esac
	done
	echo
	echo "$n_pass PASS, $n_miss MISS, $n_err ERR"
	if [ ${#WHY[@]} -gt 0 ]; then
		echo
		echo "Failures:"
		for k in "${!WHY[@]}"; do
			echo "- \`$k\`: ${WHY[$k]}"
		done
	fi
	echo
}

print_text
if [ ${#WHY[@]} -gt 0 ]; then
	echo
	echo "Failures (logs in $T/log, kept):"
	for k in "${!WHY[@]}"; do
		echo "  $k: ${WHY[$k]}"
	done
fi
mkdir -p "$RESULTS" && print_md >>"$RESULTS/$DATE-$HOST.md" &&
	say "appended the table to $RESULTS/$DATE-$HOST.md"
[ "$n_err" = 0 ] && finished=1
[ "$n_err" = 0 ]
