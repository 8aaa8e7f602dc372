#!/bin/bash
# docker, the client most users have, against the token-auth node 4 over
# plain HTTP (docker treats 127.0.0.0/8 as insecure) and against an extra
# HTTPS registryd with an HTTPS authd: login (an identity token in
# config.json), push, re-push, a cross-repository mount, pull after rmi, a
# multi-arch list made with `docker manifest`, logout, and the refusals
# with docker's own messages. The private dockerd of docker.sh must be
# gone at the end.
#
# What docker 20.10 does with TLS: a registry whose host resolves into
# 127.0.0.0/8 is always "insecure": dockerd tries HTTPS, accepts any
# certificate whatever certs.d holds (tested below), and falls back to
# plain HTTP. So a loopback address proves nothing about TLS. The HTTPS
# registry here is named berth-tls.test, which only dockerd's own
# /etc/hosts maps to ::1: docker then verifies the certificate against
# /etc/docker/certs.d/berth-tls.test:PORT/ca.crt (dockerd's private copy),
# and there is no fallback to HTTP.
#
# XXX merge: the realm of the https node is https (a TLS authd), so it
# needs no auth_realm_insecure; its keys come from auth_keys, so no JWKS is
# fetched over TLS either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/auth.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/docker.sh"

W=$SCRATCH/w
mkdir -p "$W"
H=$REGA_HOSTPORT
PW=tdk-pass-$RANDOM$RANDOM
TLS_NAME=berth-tls.test
MT_DOCKER_V2=application/vnd.docker.distribution.manifest.v2+json
MT_DOCKER_LIST=application/vnd.docker.distribution.manifest.list.v2+json

missing=
for t in "$DOCKER_BIN" "$DOCKERD_BIN" unshare pgrep; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
	not_ok "docker tools" "missing:$missing (make deps installs docker.io)"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	not_ok "docker: dockerd needs root" "run the integration tests as root"
	exit 0
fi

TLS_PID=
cleanup() {
	[ -z "$TLS_PID" ] || kill -TERM "$TLS_PID" 2>/dev/null
	[ -z "${AUTHD_EXTRA_PID:-}" ] || kill -TERM "$AUTHD_EXTRA_PID" 2>/dev/null
	docker_stop
}
trap cleanup EXIT

etc_before=$(ls -A /etc/docker 2>/dev/null)
if docker_start "$W/docker" "$TLS_NAME=::1"; then
	ok "docker: a private dockerd starts"
else
	not_ok "docker: a private dockerd starts" "$(tail -c 600 "$W/docker/dockerd.log")"
	exit 0
fi

# dkcheck NAME ARGS...: ok when `docker ARGS` succeeds.
dkcheck() {
	local name=$1
	shift
	if dk "$@"; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "docker $*: $(tail -c 400 <<<"$DK_OUT")"
	return 1
}

# dkfails NAME REGEX ARGS...: ok when `docker ARGS` fails saying REGEX.
dkfails() {
	local name=$1 re=$2
	shift 2
	if dk "$@"; then
		not_ok "$name" "docker $* succeeded: $(tail -c 300 <<<"$DK_OUT")"
		return 1
	fi
	expect_match "$name" "$re" "$DK_OUT"
}

# pushed_digest: the digest `docker push` printed last.
pushed_digest() {
	sed -n 's/.*: digest: \(sha256:[0-9a-f]*\) size.*/\1/p' <<<"$DK_OUT" | tail -n 1
}

auth_user tdkuser "$PW" || not_ok "docker: fixture user" "auth_user failed"
auth_user tdkother "$PW-other" || not_ok "docker: fixture user" "auth_user failed"
docker_archive "$W/amd64" "$H/tdkuser/app:1" amd64 "berth amd64 $RANDOM"
docker_archive "$W/arm64" "$H/tdkuser/app:arm64" arm64 "berth arm64 $RANDOM"
dkcheck "docker: load an amd64 image made here" load -i "$W/amd64.tar"
dkcheck "docker: load an arm64 image made here" load -i "$W/arm64.tar"
CONFIG=$DOCKER_CONFIG/config.json

# --- login ----------------------------------------------------------------------
dkfails "docker: login with a wrong password is refused" 'unauthorized' \
	login -u tdkuser --password-stdin "$H" <<<"wrong-$PW"
expect_eq "docker: a refused login stores nothing in config.json" "" \
	"$(jq -r --arg h "$H" '.auths[$h] // empty' "$CONFIG" 2>/dev/null)"
dkcheck "docker: login" login -u tdkuser --password-stdin "$H" <<<"$PW"
expect_match "docker: config.json holds authd's refresh token as the identity token" \
	'^berth_[0-9a-f]{96}$' "$(jq -r --arg h "$H" '.auths[$h].identitytoken' "$CONFIG")"
expect_eq "docker: the identity token is a live refresh token of tdkuser" 1 \
	"$(auth_sql "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE u.name = 'tdkuser' AND t.kind = 'refresh' AND t.revoked_at IS NULL")"

# --- push, re-push, mount, pull ----------------------------------------------------
dkcheck "docker: push" push "$H/tdkuser/app:1"
D1=$(pushed_digest)
tok=$(token_for tdkuser "$PW" repository:tdkuser/app:pull,push \
	repository:tdkuser/copy:pull)
as_bearer "$tok"
req GET "$REGA/v2/tdkuser/app/manifests/1" "${BEARER[@]}" -H "Accept: $MT_DOCKER_V2"
expect_eq "docker: the pushed manifest is in the registry" 200 "$STATUS"
expect_hdr "docker: under the digest docker printed" Docker-Content-Digest "$D1"
expect_hdr "docker: as a Docker schema2 manifest" Content-Type "$MT_DOCKER_V2"
dkcheck "docker: re-push" push "$H/tdkuser/app:1"
expect_match "docker: re-push says Layer already exists" 'Layer already exists' "$DK_OUT"
dk tag "$H/tdkuser/app:1" "$H/tdkuser/copy:1"
dkcheck "docker: push to another repository of the user" push "$H/tdkuser/copy:1"
expect_match "docker: the layer is mounted, not uploaded" \
	'Mounted from tdkuser/app' "$DK_OUT"
req HEAD "$REGA/v2/tdkuser/copy/manifests/1" "${BEARER[@]}" -H "Accept: $MT_DOCKER_V2"
expect_hdr "docker: the mounted copy has the same manifest" Docker-Content-Digest "$D1"

dk image inspect -f '{{.Id}}' "$H/tdkuser/app:1"
ID1=$DK_OUT
dkcheck "docker: rmi" rmi "$H/tdkuser/app:1" "$H/tdkuser/copy:1"
dkfails "docker: the image is gone locally" 'No such image' image inspect "$H/tdkuser/app:1"
dkcheck "docker: pull" pull "$H/tdkuser/app:1"
dk image inspect -f '{{.Id}}' "$H/tdkuser/app:1"
expect_eq "docker: the pulled image is the one pushed (same image id)" "$ID1" "$DK_OUT"

# --- a multi-arch list with docker manifest ------------------------------------------
# The client itself talks to the registry here, and it does not treat
# loopback as insecure: --insecure allows plain HTTP.
dkcheck "docker: push the arm64 image" push "$H/tdkuser/app:arm64"
DARM=$(pushed_digest)
dkcheck "docker manifest create" manifest create --insecure \
	"$H/tdkuser/app:multi" "$H/tdkuser/app:1" "$H/tdkuser/app:arm64"
dkcheck "docker manifest annotate (variant)" manifest annotate --variant v8 \
	"$H/tdkuser/app:multi" "$H/tdkuser/app:arm64"
dkcheck "docker manifest push" manifest push --insecure "$H/tdkuser/app:multi"
DLIST=$(grep -o 'sha256:[0-9a-f]\{64\}' <<<"$DK_OUT" | tail -n 1)
# The client tries HTTPS first and falls back to HTTP only when the answer
# is HTTP; lib/http.c makes sure that it is (it used to be EOF one time in
# ten).
eofs=0
for ((i = 0; i < 20; i++)); do
	dk manifest inspect --insecure "$H/tdkuser/app:1" || eofs=$((eofs + 1))
done
expect_eq "docker manifest inspect --insecure reaches the plain port 20 times of 20" 0 "$eofs"
req GET "$REGA/v2/tdkuser/app/manifests/multi" "${BEARER[@]}" -H "Accept: $MT_DOCKER_LIST"
expect_eq "docker: the list is in the registry" 200 "$STATUS"
expect_hdr "docker: as a Docker manifest list" Content-Type "$MT_DOCKER_LIST"
expect_hdr "docker: under the digest docker manifest push printed" \
	Docker-Content-Digest "$DLIST"
expect_eq "docker: the list names both images with their platforms" \
	"$D1 amd64 linux -|$DARM arm64 linux v8" \
	"$(jq -r '[.manifests[] | "\(.digest) \(.platform.architecture) \(.platform.os) \(.platform.variant // "-")"] | join("|")' "$BODY" 2>/dev/null)"
dk rmi "$H/tdkuser/app:arm64"
dkcheck "docker: pull --platform linux/arm64 from the list" pull \
	--platform linux/arm64 "$H/tdkuser/app:multi"
dk image inspect -f '{{.Architecture}}' "$H/tdkuser/app:multi"
expect_eq "docker: the list gave the arm64 image" arm64 "$DK_OUT"

# --- refusals --------------------------------------------------------------------------
dk tag "$H/tdkuser/app:1" "$H/tdkother/app:1"
dkfails "docker: push to a namespace the user cannot write is denied" \
	'requested access to the resource is denied' push "$H/tdkother/app:1"
expect_status "docker: the refused push stored no manifest" 404 \
	GET "$REG/v2/tdkother/app/manifests/1"

dkcheck "docker: logout" logout "$H"
expect_eq "docker: logout removes the entry from config.json" "" \
	"$(jq -r --arg h "$H" '.auths[$h] // empty' "$CONFIG" 2>/dev/null)"
# As docs/configuration.md says: logout is local, the token stays live.
expect_eq "docker: logout leaves the refresh token to refresh_ttl" 1 \
	"$(auth_sql "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE u.name = 'tdkuser' AND t.kind = 'refresh' AND t.revoked_at IS NULL")"
dk rmi "$H/tdkuser/app:1" "$H/tdkuser/app:multi"
dkfails "docker: anonymous pull of a private repository is refused" \
	'pull access denied.*denied' pull "$H/tdkuser/app:1"

# A TLS handshake whose first line holds no space, on the plain port: an
# HTTP answer, not a silent close (lib/http.c).
ans=$(exec 3<>"/dev/tcp/127.0.0.1/${H#*:}" &&
	printf '\026\003\001\000\005\001\n\001\002' >&3 &&
	timeout 5 head -c 24 <&3)
expect_eq "a TLS handshake on the plain port gets an HTTP 400" \
	"HTTP/1.1 400 Bad Request" "$ans"

# --- HTTPS -------------------------------------------------------------------------------
C=$W/tls
mkdir -p "$C"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$C/key.pem" -out "$C/cert.pem" -days 2 -subj "/CN=$TLS_NAME" \
	-addext "subjectAltName=DNS:$TLS_NAME,IP:127.0.0.1,IP:::1" \
	>/dev/null 2>&1 || not_ok "docker: a certificate" "openssl failed"
openssl pkey -in "$AUTH_KEY" -pubout -out "$C/auth-pub.pem" 2>/dev/null
# The realm is HTTPS too: an authd with the same database and signing key.
if authd_extra_start "$C/authd" AUTHD_TLS_CERT="$C/cert.pem" \
	AUTHD_TLS_KEY="$C/key.pem"; then
	ok "docker: an https authd starts"
else
	not_ok "docker: an https authd starts" "$(tail -c 300 "$C/authd/log")"
fi
REALM=https://${AUTHD_EXTRA#http://}/token
TLS_PORT=$(extra_free_port)
TLS_HOST=$TLS_NAME:$TLS_PORT
# Keys from a file, so that this node needs no JWKS fetch.
env REGISTRYD_LISTEN="[::1]:$TLS_PORT" REGISTRYD_STORAGE="$STORAGE" \
	REGISTRYD_DATABASE="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" \
	REGISTRYD_TLS_CERT="$C/cert.pem" REGISTRYD_TLS_KEY="$C/key.pem" \
	REGISTRYD_AUTH_REALM="$REALM" REGISTRYD_AUTH_KEYS="$C/auth-pub.pem" \
	REGISTRYD_LOG_LEVEL=info "$BUILD/registryd" >"$C/registryd.log" 2>&1 &
TLS_PID=$!
for ((i = 0; i < 200; i++)); do
	curl -s -o /dev/null --cacert "$C/cert.pem" "https://[::1]:$TLS_PORT/healthz" && break
	sleep 0.05
done
expect_status "docker: the https registryd answers on [::1]" 401 \
	GET "https://[::1]:$TLS_PORT/v2/" --cacert "$C/cert.pem"

dkfails "docker: without a certs.d entry, login to the https registry fails on the certificate" \
	'x509|certificate' login -u tdkuser --password-stdin "$TLS_HOST" <<<"$PW"
docker_trust "$TLS_HOST" "$C/cert.pem"
dkcheck "docker: with certs.d/$TLS_NAME:PORT/ca.crt, login over https" \
	login -u tdkuser --password-stdin "$TLS_HOST" <<<"$PW"
dk load -i "$W/amd64.tar"
dk tag "$H/tdkuser/app:1" "$TLS_HOST/tdkuser/secure:1"
dkcheck "docker: push over https" push "$TLS_HOST/tdkuser/secure:1"
DS=$(pushed_digest)
expect_eq "docker: the same image as over http" "$D1" "$DS"
check "docker: the https registryd logged the manifest PUT" \
	grep -q 'method=PUT path="/v2/tdkuser/secure/manifests/1" .*status=201' "$C/registryd.log"
check "docker: the https authd issued the tokens" \
	grep -q 'path="/token" .*status=200' "$C/authd/log"
if grep -q 'tdkuser/secure' "$BERTH_RUN"/node*/log; then
	not_ok "docker: no plain-http node saw the https push" "found in a node log"
else
	ok "docker: no plain-http node saw the https push"
fi
expect_eq "docker: the https push stored the image (seen through node 1)" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MT_DOCKER_V2" "$REG/v2/tdkuser/secure/manifests/1")"
dk rmi "$TLS_HOST/tdkuser/secure:1" "$H/tdkuser/app:1"
docker_trust "$TLS_HOST" -
dkfails "docker: once the certs.d entry is gone, pull fails on the certificate" \
	'x509|certificate' pull "$TLS_HOST/tdkuser/secure:1"
docker_trust "$TLS_HOST" "$C/cert.pem"
dkcheck "docker: pull over https with the entry back" pull "$TLS_HOST/tdkuser/secure:1"
docker_trust "$TLS_HOST" -

# What docs/configuration.md says of loopback: an https node on 127.0.0.1,
# named localhost (which its certificate does not name either), with a
# certs.d entry naming another CA; docker takes it all the same.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$C/other-key.pem" -out "$C/other.pem" -days 2 -subj "/CN=other" \
	>/dev/null 2>&1
if extra_start "$C/loop" REGISTRYD_TLS_CERT="$C/cert.pem" \
	REGISTRYD_TLS_KEY="$C/key.pem"; then
	LOOP=localhost:$EXTRA_PORT
	docker_trust "$LOOP" "$C/other.pem"
	dk tag "$TLS_HOST/tdkuser/secure:1" "$LOOP/t-docker/loop:1"
	dkcheck "docker: on loopback, https with a certificate certs.d does not vouch for is accepted" \
		push "$LOOP/t-docker/loop:1"
	check "docker: ... and it went over https to the loopback node" \
		grep -q 'method=PUT path="/v2/t-docker/loop/manifests/1" .*status=201' "$C/loop/log"
	docker_trust "$LOOP" -
	extra_stop
	expect_eq "docker: the loopback https node exits 0 on SIGTERM" 0 "$?"
else
	not_ok "docker: a loopback https node starts" "$(tail -c 300 "$C/loop/log")"
fi

kill -TERM "$TLS_PID"
wait "$TLS_PID"
expect_eq "docker: the https registryd exits 0 on SIGTERM" 0 "$?"
TLS_PID=
authd_extra_stop
expect_eq "docker: the https authd exits 0 on SIGTERM" 0 "$?"
AUTHD_EXTRA_PID=

# --- nothing left behind ---------------------------------------------------------------------
trap - EXIT
if docker_stop; then
	ok "docker: dockerd stops"
else
	not_ok "docker: dockerd stops" "$(tail -c 300 "$W/docker/dockerd.log")"
fi
expect_eq "docker: no dockerd, containerd or shim of ours is left" "" "$(docker_left)"
expect_eq "docker: the machine's /etc/docker is untouched" "$etc_before" \
	"$(ls -A /etc/docker 2>/dev/null)"
