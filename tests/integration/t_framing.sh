#!/bin/bash
# Requests whose framing a proxy and the server could read in two ways
# (request smuggling) are refused with 400 at once and the connection
# closed, changing nothing: two Content-Length headers, Transfer-Encoding
# with Content-Length, a Transfer-Encoding other than one "chunked", no or
# two Host headers in HTTP/1.1, a header name with a space. Malformed
# request lines are answered (or, where libmicrohttpd 0.9.75 cannot say a
# word, closed) at once, never held until a timeout. Raw requests over
# bash's /dev/tcp, timed.
. "$(dirname "$0")/lib.sh"

trap '' PIPE
W=$SCRATCH/framing
mkdir -p "$W"

# raw HOSTPORT REQUEST: sends REQUEST (printf escapes), reads the answer
# until the server closes or 2 s pass; answer in $W/resp, R_MS the time to
# the end of it, R_CLOSED 1 when the server closed (or reset) it.
raw() {
	local t0 t1 rc
	t0=$(date +%s%N)
	exec 5<>"/dev/tcp/${1%:*}/${1##*:}" || {
		R_MS=0 R_CLOSED=0
		: >"$W/resp"
		return 1
	}
	printf "$2" >&5 2>/dev/null
	timeout 2 cat <&5 >"$W/resp" 2>/dev/null
	rc=$?
	t1=$(date +%s%N)
	exec 5>&-
	R_MS=$(((t1 - t0) / 1000000))
	# Closed, or reset (unread bytes of a refused body): anything but
	# timeout's 124.
	R_CLOSED=$([ "$rc" != 124 ] && echo 1 || echo 0)
}

status_of() {
	head -n 1 "$W/resp" | awk '{ print $2 }' | tr -d '\r'
}

# refused NAME HOSTPORT REQUEST [DETAIL]: 400 within a second, closed,
# JSON error naming DETAIL (a regex), Connection: close.
refused() {
	local name=$1 st body
	raw "$2" "$3"
	st=$(status_of)
	body=$(sed -n '/^\r$/,$p' "$W/resp" | tail -n +2)
	if [ "$st" = 400 ] && [ "$R_CLOSED" = 1 ] && [ "$R_MS" -lt 1000 ] &&
		grep -qi '^connection: close' "$W/resp" &&
		jq -e --arg d "${4:-.}" '.errors[0].code == "UNSUPPORTED" and
			(.errors[0].detail | test($d))' <<<"$body" >/dev/null 2>&1; then
		ok "$name: 400 in ${R_MS} ms, connection closed"
	else
		not_ok "$name" "status $st closed $R_CLOSED in ${R_MS} ms: $(head -c 300 "$W/resp")"
	fi
}

# closed_at_once NAME HOSTPORT REQUEST [STATUS]: the server ends the
# connection within a second (with STATUS when given).
closed_at_once() {
	raw "$2" "$3"
	if [ "$R_CLOSED" = 1 ] && [ "$R_MS" -lt 1000 ] &&
		{ [ -z "${4:-}" ] || [ "$(status_of)" = "$4" ]; }; then
		ok "$1: ${4:-closed} in ${R_MS} ms"
	else
		not_ok "$1" "status $(status_of) closed $R_CLOSED in ${R_MS} ms"
	fi
}

uploads() {
	psql -X -A -t -q -c "SELECT count(*) FROM uploads"
}

H=$REG_HOSTPORT
# The control: a well-framed request is served and the connection kept.
raw "$H" 'GET /v2/ HTTP/1.1\r\nHost: a\r\n\r\n'
if [ "$(status_of)" = 200 ] && [ "$R_CLOSED" = 0 ]; then
	ok "a well-framed request is served on a kept-alive connection"
else
	not_ok "well-framed request" "status $(status_of) closed $R_CLOSED"
fi
before=$(uploads)
raw "$H" 'POST /v2/framing/ok/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n'
expect_eq "control: a POST with one Content-Length opens an upload" 202 "$(status_of)"
expect_eq "control: the upload is stored" $((before + 1)) "$(uploads)"

before=$(uploads)
refused "registryd: two Content-Length" "$H" \
	'PUT /v2/framing/a/manifests/t1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}{}{' \
	'Content-Length'
refused "registryd: two equal Content-Length" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n' \
	'Content-Length'
refused "registryd: Transfer-Encoding with Content-Length" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'Transfer-Encoding'
refused "registryd: Transfer-Encoding gzip, chunked" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' \
	'chunked'
refused "registryd: two Transfer-Encoding" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'chunked'
refused "registryd: HTTP/1.1 without Host" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n' 'Host'
refused "registryd: two Host headers" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n' 'Host'
refused "registryd: a space before the colon" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n' 'header name'
expect_eq "registryd: no upload opened by a refused request" "$before" "$(uploads)"
req GET "$REG/v2/framing/a/manifests/t1"
expect_eq "registryd: no manifest stored by a refused request" 404 "$STATUS"

# Malformed request lines: libmicrohttpd answers or closes, at once.
closed_at_once "no space in the request line" "$H" 'GARBAGE\r\n\r\n'
closed_at_once "binary bytes" "$H" '\x01\x02\x03\r\n\r\n'
closed_at_once "no HTTP version" "$H" 'GET /v2/\r\n\r\n' 400
closed_at_once "a header line without a colon" "$H" \
	'GET /v2/ HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n' 400
closed_at_once "an unknown HTTP version" "$H" \
	'GET /v2/ HTTP/9.9\r\nHost: a\r\n\r\n' 505
closed_at_once "a Content-Length that is no number" "$H" \
	'POST /v2/framing/a/blobs/uploads/ HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n' 400

# authd: the same refusal, in its own error shape.
A=${AUTHD#http://}
refused "authd: two Content-Length" "$A" \
	'POST /token HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\na=b&' \
	'Content-Length'
refused "authd: Transfer-Encoding with Content-Length" "$A" \
	'POST /api/v1/users HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'Transfer-Encoding'
closed_at_once "authd: no space in the request line" "$A" 'GARBAGE\r\n\r\n'
