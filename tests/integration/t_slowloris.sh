#!/bin/bash
# One client cannot take the server: 3,000 slow connections from 127.0.0.1
# (build/slowconn: a request line, then one header line a second) against
# a registryd and an authd of their own with header_timeout = 3 and the
# default max_connections_per_address (256). While they are held, a client
# on 127.0.0.2 is served within a second and /healthz answers; the
# attacker's address gets no further connection; the excess is refused at
# once and the rest cut by the header deadline; afterwards the address is
# served again. Without the per-address limit all 3,000 are held and
# another address is still served; trusted_proxies peers are not counted.
# A TLS handshake that never completes is cut the same way.
# The daemons exit 0 on SIGTERM (leak-free under ASan).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"

SLOW=$BUILD/slowconn
N=3000
LIMIT=256
[ -x "$SLOW" ] || {
	not_ok "slowconn helper" "no $SLOW (make all builds it)"
	exit 0
}
# The attack needs the fds: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((N + 100)) ] || {
	not_ok "open file limit" "$(ulimit -n) < $((N + 100))"
	exit 0
}
W=$SCRATCH/slow
mkdir -p "$W"
trap 'kill -TERM "${EXTRA_PID:-}" "${AUTHD_EXTRA_PID:-}" 2>/dev/null' EXIT

# timed NAME URL [curl args]: GET from 127.0.0.2 within a second; sets
# T_STATUS and T_MS.
timed() {
	local out
	out=$(curl -s -o /dev/null --interface 127.0.0.2 --max-time 1 \
		-w '%{http_code} %{time_total}' "${@:2}" "$1")
	T_STATUS=${out%% *}
	T_MS=$(awk -v t="${out##* }" 'BEGIN { printf "%d", t * 1000 }')
}

# attack NAME HOSTPORT BASE: the whole scenario against one daemon; BASE
# is its URL, PATH a path it answers 200 on.
attack() {
	local name=$1 port=${2##*:} base=$3 path=$4 res pid conns
	"$SLOW" -n $N -i 1000 -t 8 127.0.0.1 "$port" >"$W/$name.out" 2>&1 &
	pid=$!
	sleep 2.5	# all connected, none cut yet (header_timeout 3)
	conns=$(ss -Htn state established "( dport = :$port )" | wc -l)
	if [ "$conns" -ge $LIMIT ]; then
		ok "$name: $conns slow connections established from 127.0.0.1"
	else
		not_ok "$name: slow connections established" "$conns"
	fi
	timed "$base$path"
	if [ "$T_STATUS" = 200 ] && [ "$T_MS" -lt 1000 ]; then
		ok "$name: 127.0.0.2 served during the attack (${T_MS} ms)"
	else
		not_ok "$name: 127.0.0.2 served during the attack" \
			"status $T_STATUS in ${T_MS} ms"
	fi
	timed "$base/healthz"
	if [ "$T_STATUS" = 200 ] && [ "$T_MS" -lt 1000 ]; then
		ok "$name: /healthz answers during the attack (${T_MS} ms)"
	else
		not_ok "$name: /healthz during the attack" \
			"status $T_STATUS in ${T_MS} ms"
	fi
	res=$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$base/healthz")
	expect_eq "$name: 127.0.0.1 gets no further connection" 000 "$res"
	wait "$pid"
	res=$(tr '\n' ' ' <"$W/$name.out")
	echo "# $name: slowconn: $res"
	declare -A got
	while read -r k v; do got[$k]=$v; done <"$W/$name.out"
	expect_eq "$name: every slow connection was accepted by TCP" $N \
		"${got[connected]:-}"
	# Workers admit in parallel: the count may overshoot by a thread.
	if [ "${got[refused]:-0}" -ge $((N - LIMIT - 16)) ] &&
		[ "${got[refused]:-0}" -le $((N - LIMIT)) ]; then
		ok "$name: ${got[refused]} over the per-address limit refused at once"
	else
		not_ok "$name: over the limit refused" "$res"
	fi
	# The deadline runs from the accept: with the accept queue full the
	# kernel (SYN cookies) may hand a connection over before its first
	# bytes, during slowconn's connect phase (connect_ms).
	if [ "${got[open]:-1}" = 0 ] && [ "${got[cut]:-0}" -ge $LIMIT ] &&
		[ $((${got[first_cut_ms]:-0} + ${got[connect_ms]:-0})) -ge 2900 ] &&
		[ "${got[last_cut_ms]:-99999}" -le 6000 ]; then
		ok "$name: the rest cut by header_timeout (3 s: at ${got[first_cut_ms]}-${got[last_cut_ms]} ms)"
	else
		not_ok "$name: cut by header_timeout" "$res"
	fi
	res=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$base$path")
	expect_eq "$name: 127.0.0.1 served again afterwards" 200 "$res"
}

# ---- registryd ---------------------------------------------------------------
if extra_start "$W/reg" REGISTRYD_HEADER_TIMEOUT=3; then
	ok "registryd with header_timeout 3 started"
	attack registryd "127.0.0.1:$EXTRA_PORT" "http://127.0.0.1:$EXTRA_PORT" /v2/
	if extra_stop; then
		ok "registryd exits 0 after the attack"
	else
		not_ok "registryd exit after the attack" "$(tail -n 5 "$W/reg/log")"
	fi
	EXTRA_PID=
else
	not_ok "registryd with header_timeout 3" "$(tail -n 5 "$W/reg/log")"
fi

# ---- no per-address limit: the global one is no longer ~1,016 ---------------
# 3,000 held connections from one address, more than libmicrohttpd's
# default limit (FD_SETSIZE - 4) and a 1024 fd limit would allow, and a
# client on another address is still served.
if extra_start "$W/nolimit" REGISTRYD_HEADER_TIMEOUT=30 \
	REGISTRYD_MAX_CONNECTIONS_PER_ADDRESS=0; then
	"$SLOW" -n $N -i 1000 -t 5 127.0.0.1 "$EXTRA_PORT" >"$W/nolimit.out" 2>&1 &
	pid=$!
	sleep 3
	conns=$(ss -Htn state established "( sport = :$EXTRA_PORT )" | wc -l)
	if [ "$conns" -ge $N ]; then
		ok "no per-address limit: registryd holds $conns connections"
	else
		not_ok "no per-address limit: connections held" "$conns of $N"
	fi
	timed "http://127.0.0.1:$EXTRA_PORT/v2/"
	if [ "$T_STATUS" = 200 ] && [ "$T_MS" -lt 1000 ]; then
		ok "no per-address limit: 127.0.0.2 served beside $N (${T_MS} ms)"
	else
		not_ok "no per-address limit: 127.0.0.2 served" \
			"status $T_STATUS in ${T_MS} ms"
	fi
	wait "$pid"
	expect_match "no per-address limit: none refused" '^refused 0$' \
		"$(grep '^refused' "$W/nolimit.out")"
	extra_stop || not_ok "registryd without a per-address limit exit" "$?"
	EXTRA_PID=
else
	not_ok "registryd without a per-address limit" "$(tail -n 5 "$W/nolimit/log")"
fi

# ---- a trusted proxy is not counted ---------------------------------------
if extra_start "$W/proxy" REGISTRYD_HEADER_TIMEOUT=30 \
	REGISTRYD_MAX_CONNECTIONS_PER_ADDRESS=10 \
	REGISTRYD_TRUSTED_PROXIES=127.0.0.1; then
	"$SLOW" -n 50 -i 1000 -t 2 127.0.0.1 "$EXTRA_PORT" >"$W/proxy.out" 2>&1
	expect_match "trusted proxy: 50 connections over a limit of 10 held" \
		'^open 50$' "$(grep '^open' "$W/proxy.out")"
	"$SLOW" -s 127.0.0.2 -n 50 -i 1000 -t 2 127.0.0.1 "$EXTRA_PORT" \
		>"$W/proxy2.out" 2>&1
	expect_match "an untrusted address beside it: 40 of 50 refused" \
		'^refused 40$' "$(grep '^refused' "$W/proxy2.out")"
	extra_stop || not_ok "registryd with trusted_proxies exit" "$?"
	EXTRA_PID=
else
	not_ok "registryd with trusted_proxies" "$(tail -n 5 "$W/proxy/log")"
fi

# ---- a TLS handshake that never completes -----------------------------------
# The deadline runs from the accept, before any protocol: a ClientHello
# trickled a byte a second is cut like slow headers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$W/tls.key" -out "$W/tls.crt" -subj /CN=127.0.0.1 -days 1 \
	-addext subjectAltName=IP:127.0.0.1 2>/dev/null
if extra_start "$W/tls" REGISTRYD_HEADER_TIMEOUT=3 \
	REGISTRYD_TLS_CERT="$W/tls.crt" REGISTRYD_TLS_KEY="$W/tls.key"; then
	"$SLOW" -T -n 20 -i 1000 -t 7 127.0.0.1 "$EXTRA_PORT" >"$W/tls.out"
	res=$(tr '\n' ' ' <"$W/tls.out")
	echo "# tls: slowconn: $res"
	if grep -qx 'cut 20' "$W/tls.out" &&
		[ "$(awk '$1 == "first_cut_ms" { print $2 }' "$W/tls.out")" -ge 2900 ]; then
		ok "a trickled TLS handshake is cut by header_timeout"
	else
		not_ok "a trickled TLS handshake is cut" "$res"
	fi
	res=$(curl -sk -o /dev/null --max-time 2 -w '%{http_code}' \
		"https://127.0.0.1:$EXTRA_PORT/v2/")
	expect_eq "TLS registryd still serves" 200 "$res"
	if extra_stop; then
		ok "TLS registryd exits 0"
	else
		not_ok "TLS registryd exit" "$(tail -n 5 "$W/tls/log")"
	fi
	EXTRA_PID=
else
	not_ok "TLS registryd with header_timeout 3" "$(tail -n 5 "$W/tls/log")"
fi

# ---- authd -------------------------------------------------------------------
if authd_extra_start "$W/authd" AUTHD_HEADER_TIMEOUT=3; then
	ok "authd with header_timeout 3 started"
	attack authd "${AUTHD_EXTRA#http://}" "$AUTHD_EXTRA" /readyz
	if authd_extra_stop; then
		ok "authd exits 0 after the attack"
	else
		not_ok "authd exit after the attack" "$(tail -n 5 "$W/authd/log")"
	fi
	AUTHD_EXTRA_PID=
else
	not_ok "authd with header_timeout 3" "$(tail -n 5 "$W/authd/log")"
fi
