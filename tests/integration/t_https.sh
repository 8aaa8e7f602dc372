#!/bin/bash
# HTTPS end to end, with certificates from a throwaway private CA: plain
# http on a TLS port gets a readable 400; a TLS registryd whose authd is
# down at start says so (log, /readyz 503, tokens 503) and becomes ready
# once an https authd comes up, fetching its JWKS with auth_ca_file; curl
# and skopeo push and pull through tokens over https; an http realm on an
# https registry is refused by serve and check-config unless allowed;
# SIGHUP swaps the certificate of both daemons (a broken key keeps the old
# one) and names a changed listen as not reloaded; scripts/run.sh serves
# https with an https realm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"
. "$ROOT/scripts/ports.sh"

W=$SCRATCH/https
mkdir -p "$W"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap "exit 143" TERM

# ---- a private CA and two server certificates ----------------------------
# cert_make NAME SERIAL: NAME.key and NAME.crt for 127.0.0.1, signed by
# the CA, with that serial number.
cert_make() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$W/$1.key" -out "$W/$1.csr" -subj "/CN=$1" 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\n' >"$W/$1.ext" &&
		openssl x509 -req -in "$W/$1.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" \
			-set_serial "$2" -days 2 -extfile "$W/$1.ext" \
			-out "$W/$1.crt" 2>/dev/null
}
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$W/ca.key" -out "$W/ca.crt" -days 2 -subj "/CN=berth-test-ca" \
	>/dev/null 2>&1 && cert_make one 4097 && cert_make two 8194 &&
	cert_make authd 12291; then
	ok "https: a private CA and server certificates"
else
	not_ok "https: a private CA and server certificates" "openssl failed"
	exit 0
fi
CA=$W/ca.crt
# Every curl below (lib.sh's req and token_for too) trusts our CA.
export CURL_CA_BUNDLE=$CA

# serial_of PORT: the serial (hex) of the certificate served on PORT.
serial_of() {
	openssl s_client -connect "127.0.0.1:$1" -CAfile "$CA" </dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}
serial_one=$(openssl x509 -noout -serial -in "$W/one.crt" | sed 's/^serial=//')
serial_two=$(openssl x509 -noout -serial -in "$W/two.crt" | sed 's/^serial=//')

# daemon_start BIN DIR URL: BIN -c DIR/conf serve, until URL/healthz
# answers; sets DPID.
daemon_start() {
	local i
	"$BUILD/$1" -c "$2/conf" serve >>"$2/log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	for ((i = 0; i < 200; i++)); do
		kill -0 "$DPID" 2>/dev/null || return 1
		curl -s -o /dev/null --max-time 2 "$3/healthz" && return 0
		sleep 0.05
	done
	return 1
}

# daemon_stop PID NAME: SIGTERM; ok when it exits 0.
daemon_stop() {
	kill -TERM "$1"
	wait "$1"
	expect_eq "https: $2 exits 0 on SIGTERM" 0 "$?"
}

# log_has NAME FILE REGEX: ok when FILE shows REGEX within 5 seconds.
log_has() {
	local i
	for ((i = 0; i < 50; i++)); do
		if grep -qE "$3" "$2"; then
			ok "$1"
			return 0
		fi
		sleep 0.1
	done
	not_ok "$1" "no /$3/ in $2: $(tail -n 5 "$2")"
	return 1
}

free_port && AP=$PORT && free_port && RP=$PORT || {
	not_ok "https: free ports" "none"
	exit 0
}
AUTHS=https://127.0.0.1:$AP
REGS=https://127.0.0.1:$RP
DB="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER"

# ---- registryd on https, authd not up yet -------------------------------
R=$W/reg
mkdir -p "$R"
cp "$W/one.crt" "$R/tls.crt"
cp "$W/one.key" "$R/tls.key"
cat >"$R/conf" <<EOF
listen = 127.0.0.1:$RP
database = $DB
storage = $STORAGE
tls_cert = $R/tls.crt
tls_key = $R/tls.key
auth_realm = $AUTHS/token
auth_jwks_url = $AUTHS/jwks
auth_ca_file = $CA
log_level = debug
EOF
daemon_start registryd "$R" "$REGS" || {
	not_ok "https: start registryd with an https realm" "$(tail -n 5 "$R/log")"
	exit 0
}
REG_PID=$DPID
ok "https: registryd starts while its authd is down"
log_has "https: the failed JWKS fetch is logged with its URL and curl's error" \
	"$R/log" "could not fetch the JWKS from \"$AUTHS/jwks\": .*(onnect|refused)"
log_has "https: registryd warns that it has no key to verify tokens with" \
	"$R/log" "no key to verify tokens with"
expect_status "https: /readyz is 503 while there is no key" 503 GET "$REGS/readyz"
expect_match "https: /readyz says why" "no keys to verify tokens with: could not fetch the JWKS" \
	"$(cat "$BODY")"
expect_status "https: a token is answered 503, not 401, while there is no key" 503 \
	GET "$REGS/v2/" -H "Authorization: Bearer a.b.c"
expect_error_code "https: ... with the UNAVAILABLE code" UNAVAILABLE

# ---- plain http on the TLS port -----------------------------------------
req GET "http://127.0.0.1:$RP/v2/"
expect_eq "https: plain http to the https port gets 400" 400 "$STATUS"
expect_eq "https: ... saying to use https" \
	"This port speaks HTTPS; use https://127.0.0.1:$RP/" "$(cat "$BODY")"
expect_hdr "https: ... and closing the connection" Connection close
expect_status "https: https still works after plain attempts" 200 GET "$REGS/healthz"

# ---- authd on https comes up ---------------------------------------------
# A few retries fail first (one a second; slower under ASan).
for ((i = 0; i < 150; i++)); do
	[ "$(grep -c " debug: could not fetch the JWKS from" "$R/log")" -ge 2 ] && break
	sleep 0.1
done
A=$W/authd
mkdir -p "$A"
cp "$W/authd.crt" "$A/tls.crt"
cp "$W/authd.key" "$A/tls.key"
cat >"$A/conf" <<EOF
listen = 127.0.0.1:$AP
database = $DB
signing_keys = $AUTH_KEY
tls_cert = $A/tls.crt
tls_key = $A/tls.key
EOF
daemon_start authd "$A" "$AUTHS" || {
	not_ok "https: start authd on https" "$(tail -n 5 "$A/log")"
	exit 0
}
AUTH_PID=$DPID
ok "https: authd serves https"
req GET "http://127.0.0.1:$AP/token"
expect_eq "https: plain http to authd's https port gets 400 too" 400 "$STATUS"
ready=0
for ((i = 0; i < 100; i++)); do
	req GET "$REGS/readyz"
	if [ "$STATUS" = 200 ]; then
		ready=1
		break
	fi
	sleep 0.1
done
expect_eq "https: registryd becomes ready once authd's JWKS is fetched over https" 1 "$ready"
log_has "https: ... and logs the keys it loaded" "$R/log" "loaded 1 signing keys from \"$AUTHS/jwks\""
retries=$(grep -c " debug: could not fetch the JWKS from" "$R/log")
expect_match "https: the fetch was retried while authd was down" '^([2-9]|[1-9][0-9]+)$' "$retries"
# Once per distinct failure: a new reason (refused, then a handshake cut
# short while authd starts) is worth a warning, a repeat is not.
warned=$(grep " warning: could not fetch the JWKS from" "$R/log" | sed 's/^[^ ]* //')
if [ -n "$warned" ] && [ -z "$(sort <<<"$warned" | uniq -d)" ]; then
	ok "https: ... and each failure logged once as a warning"
else
	not_ok "https: ... and each failure logged once as a warning" "$warned"
fi
log_has "https: ... and the recovery too" "$R/log" "fetched the JWKS from \"$AUTHS/jwks\" again"

# ---- tokens over https: curl, then skopeo ---------------------------------
PW=https-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
auth_user httpsuser "$PW" || not_ok "https: fixture user" "auth_user failed"
AUTHD_SAVED=$AUTHD
AUTHD=$AUTHS
TOK=$(token_for httpsuser "$PW" "repository:httpsuser/img:pull,push")
AUTHD=$AUTHD_SAVED
expect_match "https: authd issues a token over https" '^ey' "$TOK"
as_bearer "$TOK"
image_make "$W/img" 2 >/dev/null 2>&1
if auth_push "$REGS" httpsuser/img 1 "$W/img"; then
	ok "https: curl pushes an image with the token"
else
	not_ok "https: curl pushes an image with the token" "status $STATUS: $(body_head)"
fi
expect_status "https: ... and reads its manifest back" 200 GET "$REGS/v2/httpsuser/img/manifests/1" \
	"${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"

certs=$W/certs.d
mkdir -p "$certs"
cp "$CA" "$certs/ca.crt"
layout=$W/layout
oci_layout_make "$layout" latest 2 >/dev/null 2>&1
SK=(timeout 120 skopeo --registries-conf /dev/null)
if "${SK[@]}" copy -q --dest-cert-dir "$certs" --dest-creds "httpsuser:$PW" \
	"oci:$layout:latest" "docker://127.0.0.1:$RP/httpsuser/sk:1" >"$W/sk.log" 2>&1; then
	ok "https: skopeo pushes through the https token realm"
else
	not_ok "https: skopeo pushes through the https token realm" "$(tail -c 400 "$W/sk.log")"
fi
if "${SK[@]}" copy -q --src-cert-dir "$certs" --src-creds "httpsuser:$PW" \
	"docker://127.0.0.1:$RP/httpsuser/sk:1" "oci:$W/back:1" >>"$W/sk.log" 2>&1 &&
	[ -s "$W/back/index.json" ]; then
	ok "https: skopeo pulls it back"
else
	not_ok "https: skopeo pulls it back" "$(tail -c 400 "$W/sk.log")"
fi

# ---- the http realm rule ---------------------------------------------------
H=$W/insecure
mkdir -p "$H"
cat >"$H/conf" <<EOF
listen = 127.0.0.1:$RP
database = $DB
storage = $STORAGE
tls_cert = $R/tls.crt
tls_key = $R/tls.key
auth_realm = http://127.0.0.1:$AP/token
auth_jwks_url = $AUTHS/jwks
auth_ca_file = $CA
EOF
"$BUILD/registryd" -c "$H/conf" check-config >"$H/check.out" 2>&1
expect_eq "https: check-config refuses an http realm on an https registry" 1 "$?"
expect_match "https: ... with an error: line naming the realm" \
	"^error: auth_realm \"http://127.0.0.1:$AP/token\" is plain http" "$(cat "$H/check.out")"
"$BUILD/registryd" -c "$H/conf" serve >"$H/serve.out" 2>&1
expect_eq "https: serve refuses to start with it" 1 "$?"
expect_match "https: ... with the same error" "^error: auth_realm .* is plain http" \
	"$(grep '^error:' "$H/serve.out")"
echo "auth_realm_insecure = true" >>"$H/conf"
"$BUILD/registryd" -c "$H/conf" check-config >"$H/check2.out" 2>&1
expect_eq "https: auth_realm_insecure = true allows it" 0 "$?"
REGISTRYD_TLS_KEY= "$BUILD/registryd" -c "$H/conf" check-config >"$H/check3.out" 2>&1
expect_eq "https: check-config refuses tls_cert without tls_key" 1 "$?"
expect_match "https: ... as an error: line" "^error: tls_cert and tls_key go together" \
	"$(cat "$H/check3.out")"
printf 'garbage\n' >"$H/bad.key"
REGISTRYD_TLS_KEY=$H/bad.key "$BUILD/registryd" -c "$H/conf" check-config >"$H/check4.out" 2>&1
expect_eq "https: check-config refuses a key that does not parse" 1 "$?"
"$BUILD/authd" -c "$A/conf" check-config >"$H/acheck.out" 2>&1
expect_eq "https: authd check-config accepts its configuration" 0 "$?"
AUTHD_TLS_KEY=$W/one.key "$BUILD/authd" -c "$A/conf" check-config >"$H/acheck2.out" 2>&1
expect_eq "https: authd check-config refuses a key of another certificate" 1 "$?"
expect_match "https: ... saying so" "is not the key of the certificate" "$(cat "$H/acheck2.out")"

# ---- a silent client does not hold up anyone ---------------------------
exec 7<>"/dev/tcp/127.0.0.1/$RP"
printf 'G' >&7	# a plain request that never ends, too
exec 8<>"/dev/tcp/127.0.0.1/$RP"
expect_status "https: requests are served while two clients sit silent" 200 \
	GET "$REGS/healthz" --max-time 5
exec 7>&- 8>&-

# ---- SIGHUP: certificate renewal, a broken key, a changed listen ---------
expect_eq "https: registryd serves the first certificate" "$serial_one" "$(serial_of "$RP")"
# A connection opened before the swap, kept alive across it.
coproc OLD { openssl s_client -quiet -connect "127.0.0.1:$RP" -CAfile "$CA" 2>/dev/null; }
# get_on_old: one keep-alive GET /healthz on it; prints the status line.
get_on_old() {
	local line status=
	printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"${OLD[1]}"
	while IFS= read -r -t 5 line <&"${OLD[0]}"; do
		line=${line%$'\r'}
		[ -n "$status" ] || status=$line
		[ "$line" = ok ] && break
	done
	echo "$status"
}
expect_match "https: a connection opened before the reload is served" \
	'^HTTP/1.1 200' "$(get_on_old)"
cp "$W/two.crt" "$R/tls.crt"
cp "$W/two.key" "$R/tls.key"
kill -HUP "$REG_PID"
log_has "https: SIGHUP reloads the certificate" "$R/log" "SIGHUP: TLS certificate reloaded"
expect_eq "https: new connections get the new certificate" "$serial_two" "$(serial_of "$RP")"
expect_status "https: and are served" 200 GET "$REGS/healthz"
expect_match "https: the connection from before goes on after the reload" \
	'^HTTP/1.1 200' "$(get_on_old)"
kill "$OLD_PID" 2>/dev/null
cp "$W/one.crt" "$R/tls.crt"
printf -- '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n' >"$R/tls.key"
kill -HUP "$REG_PID"
log_has "https: a broken new key is refused with a warning" "$R/log" \
	"SIGHUP: TLS certificate not reloaded; still serving .*serial $serial_two"
expect_eq "https: ... and the old certificate stays" "$serial_two" "$(serial_of "$RP")"
sed -i "s/^listen = .*/listen = 127.0.0.1:1/" "$R/conf"
kill -HUP "$REG_PID"
log_has "https: SIGHUP names a changed listen as not reloaded" "$R/log" \
	"SIGHUP: listen changed; restart to apply"
expect_status "https: ... and the node goes on on its port" 200 GET "$REGS/healthz"

cp "$W/two.crt" "$A/tls.crt"
cp "$W/two.key" "$A/tls.key"
kill -HUP "$AUTH_PID"
log_has "https: SIGHUP reloads authd's certificate" "$A/log" "SIGHUP: TLS certificate reloaded"
expect_eq "https: authd's new connections get it" "$serial_two" "$(serial_of "$AP")"

daemon_stop "$REG_PID" registryd
daemon_stop "$AUTH_PID" authd
PIDS=()

# ---- scripts/run.sh over TLS --------------------------------------------
free_port && P1=$PORT && free_port && P2=$PORT
RUNLOG=$W/run.out
env REGISTRYD_DATABASE="$DB" REGISTRYD_STORAGE="$STORAGE" \
	REGISTRYD_LISTEN="127.0.0.1:$P1" AUTHD_LISTEN="127.0.0.1:$P2" \
	AUTHD_SIGNING_KEYS="$AUTH_KEY" BERTH_ADMIN_PASSWORD="$AUTHD_ADMIN_PASSWORD" \
	REGISTRYD_TLS_CERT="$W/one.crt" REGISTRYD_TLS_KEY="$W/one.key" \
	REGISTRYD_AUTH_CA_FILE="$CA" \
	sh "$ROOT/scripts/run.sh" "$BUILD" >"$RUNLOG" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
for ((i = 0; i < 150; i++)); do
	grep -q "^Ctrl-C" "$RUNLOG" && break
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.1
done
expect_match "https: run.sh's banner says https" \
	"Berth registry on https://127.0.0.1:$P1" "$(cat "$RUNLOG")"
expect_match "https: ... with an https token realm" \
	"Token auth: https://127.0.0.1:$P2/token" "$(cat "$RUNLOG")"
expect_status "https: run.sh's registryd is ready over https" 200 GET "https://127.0.0.1:$P1/readyz"
expect_status "https: ... and its authd answers over https" 200 GET "https://127.0.0.1:$P2/readyz"
req GET "https://127.0.0.1:$P1/v2/"
expect_match "https: ... its challenge names the https realm" \
	"realm=\"https://127.0.0.1:$P2/token\"" "$(challenge)"
# berthctl as the banner says: BERTH_CA_FILE names the CA of authd's
# certificate; without it the private CA is not trusted.
expect_match "https: ... the banner gives berthctl's BERTH_URL and BERTH_CA_FILE" \
	"BERTH_URL=https://127.0.0.1:$P2 BERTH_CA_FILE=$CA" "$(cat "$RUNLOG")"
ctl_me() {
	env -u CURL_CA_BUNDLE BERTH_URL="https://127.0.0.1:$P2" BERTH_USER=admin \
		BERTH_PASSWORD="$AUTHD_ADMIN_PASSWORD" "$BUILD/berthctl" "$@" me \
		2>&1 | jq -r '.name // empty' 2>/dev/null
}
expect_eq "https: berthctl --ca-file reaches authd over https" admin \
	"$(ctl_me --ca-file "$CA")"
expect_eq "https: ... and BERTH_CA_FILE" admin "$(BERTH_CA_FILE=$CA ctl_me)"
expect_eq "https: ... but without the CA, berthctl refuses authd's certificate" "" \
	"$(ctl_me)"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
PIDS=()
if curl -s -o /dev/null --max-time 2 "https://127.0.0.1:$P1/healthz" ||
	curl -s -o /dev/null --max-time 2 "https://127.0.0.1:$P2/healthz"; then
	not_ok "https: run.sh stops its daemons on SIGTERM" "one still answers"
else
	ok "https: run.sh stops its daemons on SIGTERM"
fi
