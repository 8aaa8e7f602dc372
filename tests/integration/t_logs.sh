# Logs under attack: request paths and headers carrying newlines, carriage
# returns, quotes, backslashes and escape sequences, with a forged log line
# inside, must give exactly one physical line per request and no forged
# line, in text and in json (every json line parses with jq and has the
# request fields). X-Request-Id is kept when valid and replaced when not.
# trusted_proxies: X-Forwarded-For and Forwarded count only from a trusted
# peer, for the log, authd's per-address lockout and its audit log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
LOG1=$(node_dir 1)/log
CONF1=$(node_dir 1)/conf
cp "$CONF1" "$W/conf1.orig"
M=$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')	# this run's marker
EXTRA_PID= AUTHD_EXTRA_PID=

cleanup() {
	[ -z "$EXTRA_PID" ] || kill "$EXTRA_PID" 2>/dev/null
	[ -z "$AUTHD_EXTRA_PID" ] || kill "$AUTHD_EXTRA_PID" 2>/dev/null
	if ! cmp -s "$CONF1" "$W/conf1.orig"; then
		cp "$W/conf1.orig" "$CONF1"
		kill -HUP "$(node_pid 1)"
	fi
}
trap cleanup EXIT
trap "exit 143" TERM

# wait_lines FILE FIXED-STRING N: waits (5 s at most) until N lines of FILE
# hold the string; prints how many do.
wait_lines() {
	local i n=0
	for ((i = 0; i < 50; i++)); do
		n=$(grep -c -F -- "$2" "$1")
		[ "$n" -ge "$3" ] && break
		sleep 0.1
	done
	echo "$n"
}

# raw_http PORT TEXT: sends TEXT (printf escapes) as is over TCP and prints
# the answer; for what curl will not send.
raw_http() {
	exec 7<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf "$2" >&7
	timeout 5 cat <&7
	exec 7<&-
}

# A forged line inside the path: it would start a line of its own if the
# path were logged raw.
FORGED="2026-01-01T00:00:00.000Z registryd info: request id=forged$M client=6.6.6.6"
EVIL_PATH="/v2/logs$M/x%0a${FORGED// /%20}%0d%22%5c%1b%5b31m%ff/tags/list"
# The same, decoded as json shows it (the byte ff is no UTF-8: "\\xff").
EVIL_DECODED=$(printf '/v2/logs%s/x\n%s\r"\\\x1b[31m\\xff/tags/list' "$M" "$FORGED")

# ---- text: node 1 ------------------------------------------------------------
id=logs-$M-text.1
req GET "$REG$EVIL_PATH" -H "X-Request-Id: $id"
expect_eq "text: the attack path is refused (400, name invalid)" 400 "$STATUS"
expect_hdr "text: a valid X-Request-Id is echoed" X-Request-Id "$id"
expect_eq "text: exactly one log line for the request" 1 \
	"$(wait_lines "$LOG1" "id=$id " 1)"
line=$(grep -F -- "id=$id " "$LOG1")
expect_eq "text: the forged text appears once, inside that line" 1 \
	"$(grep -c -F -- "forged$M" "$LOG1")"
expect_eq "text: no line starts with the forged timestamp" 0 \
	"$(grep -c '^2026-01-01T00:00:00' "$LOG1")"
expect_match "text: the request line has timestamp, daemon and level" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z registryd info: request id=' "$line"
expect_match "text: the path is quoted with its bytes escaped" \
	"path=\"/v2/logs$M/x\\\\n2026-01-01T00:00:00.000Z registryd info: request id=forged$M client=6.6.6.6\\\\r\\\\\"\\\\\\\\\\\\x1b\\[31m\\\\xff/tags/list\"" "$line"
expect_match "text: client, anonymous user, method, route, status" \
	" client=127\.0\.0\.1 user=- method=GET path=.* route=tags status=400 in=0 out=[0-9]+ ms=[0-9.]+$" "$line"
if printf '%s' "$line" | LC_ALL=C grep -q $'[\x01-\x1f\x7f]'; then
	not_ok "text: no control character in the line" "$(printf '%s' "$line" | od -c | head -3)"
else
	ok "text: no control character in the line"
fi

# X-Request-Id: invalid ones are replaced by a generated id.
for bad in "has space$M" "quote\"$M" "$(printf 'x%.0s' {1..65})" "semi;colon$M"; do
	req GET "$REG/v2/" -H "X-Request-Id: $bad"
	got=$(hdr X-Request-Id)
	if [ "$got" != "$bad" ] && [[ $got =~ ^[0-9a-f]{16}$ ]]; then
		ok "request id: \"${bad:0:20}\" is replaced by a generated id"
	else
		not_ok "request id: \"${bad:0:20}\" is replaced by a generated id" "got \"$got\""
	fi
done
expect_eq "request id: the replaced id is the one logged" 1 \
	"$(wait_lines "$LOG1" "id=$got " 1)"
req GET "$REG/v2/" -H "X-Request-Id: $(printf 'y%.0s' {1..64})"
expect_hdr "request id: 64 characters are kept" X-Request-Id "$(printf 'y%.0s' {1..64})"
req GET "$REG/v2/"
expect_match "request id: without one, 16 hex digits" '^[0-9a-f]{16}$' "$(hdr X-Request-Id)"

# Raw bytes curl will not send: control characters in a header and in the
# request line. Whatever the node answers, each request is one line.
port1=$(cat "$(node_dir 1)/port")
before=$(wc -l <"$LOG1")
raw_http "$port1" "GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Request-Id: raw$M\x01\x1b[2J\x7f\r\nX-Forwarded-For: 1.2.3.4\x0b\r\nConnection: close\r\n\r\n" >"$W/raw1.out"
raw_http "$port1" "GET /v2/rq$M\x1b[2J\x01\"\\\\/tags/list HTTP/1.1\r\nHost: x\r\nX-Request-Id: raw2-$M\r\nConnection: close\r\n\r\n" >"$W/raw2.out"
sleep 0.5
tail -n +"$((before + 1))" "$LOG1" >"$W/raw.log"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$W/raw.log"; then
	not_ok "raw: no control character reaches the log" "$(LC_ALL=C grep -n $'[\x01-\x08\x0b-\x1f\x7f]' "$W/raw.log" | od -c | head -5)"
else
	ok "raw: no control character reaches the log"
fi
expect_eq "raw: the invalid X-Request-Id is not logged" 0 "$(grep -c -F "raw$M" "$W/raw.log" | head -1)"
expect_match "raw: the header attack was answered" '^HTTP/1\.1 [0-9]{3}' "$(head -1 "$W/raw1.out")"
if grep -q '^HTTP/1.1 200' "$W/raw1.out"; then
	expect_eq "raw: one request line for the header attack" 1 \
		"$(grep -c ' request id=[0-9a-f]\{16\} client=127.0.0.1 user=- method=GET path="/v2/"' "$W/raw.log")"
fi
if grep -q "^HTTP/1.1 404" "$W/raw2.out"; then
	expect_eq "raw: one line for the request-line attack, escaped" 1 \
		"$(grep -c -F "id=raw2-$M client=127.0.0.1 user=- method=GET path=\"/v2/rq$M\\x1b[2J\\x01\\\"\\\\/tags/list\"" "$W/raw.log")"
else
	ok "raw: the node refused the raw control bytes in the request line ($(head -1 "$W/raw2.out" | tr -d '\r'))"
fi

# A warning that names the request (node 4: a refused token; the name
# must be valid to get that far) has the same fields, and the client's id.
LOG4=$(node_dir 4)/log
id=logs-$M-warn
req GET "$REGA/v2/logs$M/x/tags/list" -H "X-Request-Id: $id" \
	-H "Authorization: Bearer not.a.token"
expect_eq "warning: the refused token is 401" 401 "$STATUS"
expect_eq "warning: two lines for the request (warning and request)" 2 \
	"$(wait_lines "$LOG4" "id=$id " 2)"
expect_match "warning: the req line has the request's fields" \
	"^[0-9T:.-]{23}Z registryd warning: req id=$id client=127\\.0\\.0\\.1 user=- method=GET path=\"/v2/logs$M/x/tags/list\": token refused: [a-z]" \
	"$(grep -F "id=$id " "$LOG4" | grep warning)"

# ---- json: node 1 after a SIGHUP -----------------------------------------------
sed -i 's/^log_format = .*//' "$CONF1"
echo "log_format = json" >>"$CONF1"
kill -HUP "$(node_pid 1)"
sleep 0.5
id=logs-$M-json.1
req GET "$REG$EVIL_PATH" -H "X-Request-Id: $id" -H "X-Forwarded-For: 203.0.113.9"
wait_lines "$LOG1" "\"request_id\":\"$id\"" 1 >/dev/null
jline=$(grep -F "\"request_id\":\"$id\"" "$LOG1")
# check_json NAME FILTER [JQ ARGS...]: FILTER holds for $jline.
check_json() {
	local name=$1 filter=$2
	shift 2
	if jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$jline"; then
		ok "$name"
	else
		not_ok "$name" "$jline"
	fi
}
check_json "SIGHUP json: the request line is one JSON object with the fields" \
	'.daemon == "registryd" and .level == "info" and .msg == "request" and
	 (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
	 .request_id == $id and .client == "127.0.0.1" and .user == null and
	 .method == "GET" and .route == "tags" and .status == 400 and
	 .bytes_in == 0 and (.bytes_out | type == "number") and
	 (.duration_ms | type == "number") and (has("aborted") | not) and
	 .path == $p' --arg id "$id" --arg p "$EVIL_DECODED"
expect_eq "SIGHUP json: X-Forwarded-For from an untrusted peer is ignored" 127.0.0.1 \
	"$(jq -r .client <<<"$jline" 2>/dev/null)"
sed -i 's/^log_format = .*//' "$CONF1"
echo "log_format = text" >>"$CONF1"
kill -HUP "$(node_pid 1)"
sleep 0.5
req GET "$REG/v2/" -H "X-Request-Id: logs-$M-text.2"
expect_eq "SIGHUP: back to text" 1 "$(wait_lines "$LOG1" " registryd info: request id=logs-$M-text.2 " 1)"
cp "$W/conf1.orig" "$CONF1"
kill -HUP "$(node_pid 1)"

# ---- json and trusted proxies: an extra registryd ------------------------------
if ! extra_start "$W/reg" REGISTRYD_LOG_FORMAT=json REGISTRYD_LOG_LEVEL=debug \
	REGISTRYD_TRUSTED_PROXIES="127.0.0.1/32, ::1/128"; then
	not_ok "json: start a registryd with log_format json" "$(tail -c 300 "$W/reg/log")"
	exit 0
fi
XR=http://127.0.0.1:$EXTRA_PORT
XLOG=$W/reg/log
# from PEER_ADDRESS ID [curl args]: GET /v2/ from a source address.
from() {
	local src=$1 rid=$2
	shift 2
	req GET "$XR/v2/" --interface "$src" -H "X-Request-Id: $rid" "$@"
}
client_of() {
	wait_lines "$XLOG" "\"request_id\":\"$1\"" 1 >/dev/null
	grep -F "\"request_id\":\"$1\"" "$XLOG" | jq -r .client 2>/dev/null
}
req GET "$XR$EVIL_PATH" -H "X-Request-Id: logs-$M-x1"
from 127.0.0.1 "logs-$M-x2" -H "X-Forwarded-For: 198.51.100.1, 203.0.113.7"
from 127.0.0.1 "logs-$M-x3" -H 'Forwarded: for="[2001:db8::7]:1234";proto=https' \
	-H "X-Forwarded-For: 203.0.113.8"
from 127.0.0.1 "logs-$M-x4" -H "X-Forwarded-For: 203.0.113.1, not-an-address"
from 127.0.0.2 "logs-$M-x5" -H "X-Forwarded-For: 203.0.113.7"
from 127.0.0.1 "logs-$M-x6" -H "X-Forwarded-For: 203.0.113.5" -H "X-Forwarded-For: 127.0.0.1"
expect_eq "proxies: X-Forwarded-For from a trusted peer names the client" 203.0.113.7 \
	"$(client_of "logs-$M-x2")"
expect_eq "proxies: Forwarded wins, IPv6 unbracketed, port dropped" 2001:db8::7 \
	"$(client_of "logs-$M-x3")"
expect_eq "proxies: a garbage hop falls back to the peer" 127.0.0.1 \
	"$(client_of "logs-$M-x4")"
expect_eq "proxies: an untrusted peer's X-Forwarded-For is ignored" 127.0.0.2 \
	"$(client_of "logs-$M-x5")"
expect_eq "proxies: repeated headers join, trusted hops skipped" 203.0.113.5 \
	"$(client_of "logs-$M-x6")"
kill -TERM "$EXTRA_PID"
wait "$EXTRA_PID"
expect_eq "json: the extra registryd exits 0" 0 "$?"
EXTRA_PID=
# jq -e goes by the last line only: count the lines that fail instead.
lines=$(wc -l <"$XLOG")
good=$(jq -R -r 'try (fromjson | type == "object" and
	(.ts | type == "string") and .daemon == "registryd" and
	(.level | type == "string") and (.msg | type == "string"))
	catch false' "$XLOG" 2>"$W/jq.err" | grep -c '^true$')
if [ "$lines" -gt 5 ] && [ "$good" = "$lines" ]; then
	ok "json: every line of the log parses with jq ($lines lines)"
else
	not_ok "json: every line of the log parses with jq" \
		"$good of $lines lines; $(head -c 300 "$W/jq.err")"
fi
expect_eq "json: startup, shutdown and debug lines are json too" 1 \
	"$(jq -R -r 'fromjson | select(.msg | startswith("stopping on signal")) | .level' "$XLOG" 2>/dev/null | grep -c '^info$')"
expect_eq "json: the attack request has one line, its path intact" true \
	"$(jq -R -r --arg id "logs-$M-x1" --arg p "$EVIL_DECODED" \
		'fromjson | select(.request_id == $id) | .path == $p' "$XLOG" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"

# An invalid CIDR stops startup, naming the setting.
out=$(env REGISTRYD_TRUSTED_PROXIES="10.0.0.0/8, 10.0.0.1/33" "$BUILD/registryd" check-config 2>&1)
code=$?
expect_eq "proxies: an invalid CIDR stops registryd" 1 "$code"
expect_match "proxies: the error names the setting and the item" \
	'trusted_proxies: "10\.0\.0\.1/33" is not an address or a CIDR' "$out"
out=$(env REGISTRYD_LOG_FORMAT=xml "$BUILD/registryd" check-config 2>&1)
expect_match "log_format: a bad value stops registryd" 'log_format must be text or json' "$out"

# ---- authd: the user, lockout and audit follow the forwarded address ---------
PW=logs-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
U=tlog$M
auth_user "$U" "$PW" || { not_ok "authd: fixture user" "setup failed"; exit 0; }
if ! authd_extra_start "$W/authd" AUTHD_TRUSTED_PROXIES=127.0.0.1/32 \
	AUTHD_LOCKOUT_ADDRESS_THRESHOLD=3 AUTHD_LOCKOUT_THRESHOLD=1000 AUTHD_LOCKOUT_DELAY=60 \
	AUTHD_LOG_LEVEL=info; then
	not_ok "authd: start an authd with trusted_proxies" "$(tail -c 300 "$W/authd/log")"
	exit 0
fi
A=$AUTHD_EXTRA
ALOG=$W/authd/log
login() {	# login SRC XFF USER PASS [ID]
	req GET "$A/token?service=$AUTH_SERVICE" --interface "$1" \
		-H "X-Forwarded-For: $2" -u "$3:$4" -H "X-Request-Id: ${5:-logs-$M-a}"
}
F1=203.0.113.$((RANDOM % 200 + 20))
F2=198.51.100.$((RANDOM % 200 + 20))
KEYS=("addr:$F1" "addr:$F2" "addr:127.0.0.5" "addr:127.0.0.1" "addr:127.0.0.6"
	"pair:$F1 $U" "pair:$F2 $U")
# forget: drops our rows from the shared login_failures (the forged
# name's too: every "user:<U>x..." key).
forget() {
	local k list=
	for k in "${KEYS[@]}"; do list="$list${list:+, }'$k'"; done
	auth_sql "DELETE FROM login_failures WHERE key IN ($list)
		OR key LIKE 'pair:% ${U}x%'" >/dev/null
}
forget
login 127.0.0.1 "$F2" "$U" "$PW" "logs-$M-a1"
expect_eq "authd: a login through the proxy works" 200 "$STATUS"
expect_eq "authd: the request line names the user" 1 \
	"$(wait_lines "$ALOG" "authd info: request id=logs-$M-a1 client=$F2 user=$U method=GET path=\"/token\" route=token status=200" 1)"
# The Basic user name is the client's: quotes and a newline stay escaped.
# (no colon in it: Basic credentials end the name at the first one)
login 127.0.0.1 "$F1" "${U}x1\"
2026-01-01T00.00.00.000Z authd info. forged$M" nope "logs-$M-a2"
for i in 2 3; do
	login 127.0.0.1 "$F1" "${U}x$i" nope
done
expect_eq "authd: failures counted against the forwarded address" "t" \
	"$(auth_sql "SELECT failures = 3 AND locked_until > now() FROM login_failures WHERE key = 'addr:$F1'")"
expect_eq "authd: not against the proxy's own address" "" \
	"$(auth_sql "SELECT failures FROM login_failures WHERE key = 'addr:127.0.0.1'")"
login 127.0.0.1 "$F1" "$U" "$PW"
expect_eq "authd: the delayed forwarded address is refused a good login (429)" 429 "$STATUS"
login 127.0.0.1 "$F2" "$U" "$PW"
expect_eq "authd: another forwarded address through the same proxy works" 200 "$STATUS"
expect_eq "authd: the audit log names the forwarded client" 3 \
	"$(auth_sql "SELECT count(*) FROM audit_log WHERE action = 'login' AND NOT success
		AND client = '$F1' AND actor LIKE '${U}x%'")"
expect_eq "authd: the forged user name stays on one line" 0 "$(grep -c '^2026-01-01T00' "$ALOG")"
expect_eq "authd: the user name is logged escaped" 1 \
	"$(grep -c -F "login failed for \"${U}x1\\\"\\n2026-01-01T00.00.00.000Z authd info. forged$M\" from $F1" "$ALOG")"
# From an untrusted peer the header counts for nothing.
login 127.0.0.5 "$F2" "${U}x4" nope "logs-$M-a5"
expect_eq "authd: an untrusted peer's failure counts against the peer" "1|" \
	"$(auth_sql "SELECT failures, (SELECT failures FROM login_failures WHERE key = 'addr:$F2') FROM login_failures WHERE key = 'addr:127.0.0.5'" | tr -d '\n')"
expect_eq "authd: and the audit log names the peer" 1 \
	"$(auth_sql "SELECT count(*) FROM audit_log WHERE actor = '${U}x4' AND client = '127.0.0.5'")"
expect_eq "authd: the request line names the peer" 1 \
	"$(wait_lines "$ALOG" "request id=logs-$M-a5 client=127.0.0.5 user=- " 1)"
# The shared authd (node 3) trusts no proxy: the header is ignored there.
req GET "$AUTHD/token?service=$AUTH_SERVICE" --interface 127.0.0.6 \
	-H "X-Forwarded-For: $F2" -u "${U}x5:nope"
expect_eq "authd without trusted_proxies: the audit log names the peer" 1 \
	"$(auth_sql "SELECT count(*) FROM audit_log WHERE actor = '${U}x5' AND client = '127.0.0.6'")"
forget
authd_extra_stop
expect_eq "authd: the extra authd exits 0" 0 "$?"
AUTHD_EXTRA_PID=

# ---- registryd: the token's subject is the request's user ------------------
T=$(token_for "$U" "$PW" "repository:$U/logs:pull") || not_ok "token for $U" "$(cat "$TOKEN_STATUS")"
req GET "$REGA/v2/$U/logs/tags/list" -H "Authorization: Bearer $T" -H "X-Request-Id: logs-$M-u1"
expect_eq "user: node 4 logs the token's subject" 1 \
	"$(wait_lines "$LOG4" "request id=logs-$M-u1 client=127.0.0.1 user=$U method=GET" 1)"
sleep 0.3
expect_eq "user: authd logs who got the token" 1 \
	"$(grep -c "authd info: request id=[0-9a-f]\{16\} client=127.0.0.1 user=$U method=GET path=\"/token\" route=token status=200" "$(node_dir 3)/log")"
