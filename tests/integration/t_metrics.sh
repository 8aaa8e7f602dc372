#!/bin/bash
# /metrics of registryd (node 1) and authd (node 3): the exposition's
# Content-Type, promtool's check and a strict validator of the text format
# (every sample's family has HELP and TYPE before it, families contiguous,
# histograms cumulative), build_info against --version, process figures,
# counters that move by exactly what a push, a pull, a slow upload, lost
# database connections and failed logins did, the method label; then
# metrics_listen on an extra registryd and an extra authd (with a lockout
# threshold of 2): /metrics there, 404 on the main port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
CTYPE="text/plain; version=0.0.4; charset=utf-8"
UPLOAD_PID= AUTHD_EXTRA_PID= EXTRA_PID=
cleanup() {
	[ -z "$UPLOAD_PID" ] || kill "$UPLOAD_PID" 2>/dev/null
	[ -z "$AUTHD_EXTRA_PID" ] || kill "$AUTHD_EXTRA_PID" 2>/dev/null
	[ -z "$EXTRA_PID" ] || kill "$EXTRA_PID" 2>/dev/null
	auth_sql "DELETE FROM login_failures WHERE key IN ('pair:127.0.0.1 tmnobody',
		'pair:127.0.0.1 tmlock', 'pair:127.0.0.1 tmoff', 'addr:127.0.0.1')" >/dev/null
	auth_sql "DELETE FROM namespaces WHERE name IN ('tmlock', 'tmoff')" \
		>/dev/null
}
trap cleanup EXIT
trap "exit 143" TERM

# validate FILE: prints each problem of the exposition text in FILE (and
# nothing when it is well formed).
validate() {
	awk '
	function bad(msg) { print "line " NR ": " msg ": " $0 }
	function family_of(name,   base) {
		if (name in type)
			return name
		base = name
		if (sub(/_(bucket|sum|count)$/, "", base) && type[base] == "histogram")
			return base
		return ""
	}
	/^# HELP / {
		n = $3
		if (n in help)
			bad("a second HELP")
		if (n in closed)
			bad("family reopened")
		if (cur != "")
			closed[cur] = 1
		help[n] = 1
		cur = n
		next
	}
	/^# TYPE / {
		n = $3
		if (!(n in help) || n != cur)
			bad("TYPE without its HELP just before")
		if (n in type)
			bad("a second TYPE")
		if ($4 !~ /^(counter|gauge|histogram)$/)
			bad("unknown type")
		type[n] = $4
		next
	}
	/^#/ { bad("stray comment"); next }
	{
		if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) {
			bad("bad metric name")
			next
		}
		name = substr($0, 1, RLENGTH)
		rest = substr($0, RLENGTH + 1)
		labels = ""
		if (substr(rest, 1, 1) == "{") {
			if (!match(rest, /^\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\}/)) {
				bad("bad labels")
				next
			}
			labels = substr(rest, 1, RLENGTH)
			rest = substr(rest, RLENGTH + 1)
		}
		if (rest !~ /^ (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|NaN)$/) {
			bad("bad value")
			next
		}
		v = substr(rest, 2) + 0
		f = family_of(name)
		if (f == "") {
			bad("sample without HELP and TYPE")
			next
		}
		if (f != cur)
			bad("sample away from its family")
		if ((name labels) in seen)
			bad("duplicate sample")
		seen[name labels] = 1
		if (type[f] == "counter" && v < 0)
			bad("negative counter")
		if (type[f] == "histogram") {
			series = labels
			gsub(/,?le="[^"]*"/, "", series)
			sub(/^\{,/, "{", series)
			if (series == "{}")
				series = ""
			if (name == f "_bucket") {
				if (labels !~ /le="/)
					bad("bucket without le")
				if (series in last && v < last[series])
					bad("buckets not cumulative")
				last[series] = v
			} else if (name == f "_count" && (series in last) &&
				   v != last[series]) {
				bad("count differs from the +Inf bucket")
			}
		}
	}
	END {
		for (n in help)
			if (!(n in type))
				print "family " n ": HELP without TYPE"
	}' "$1"
}

# scrape URL OUT: GET URL into OUT; fails unless 200 with our Content-Type.
scrape() {
	req GET "$1" && [ "$STATUS" = 200 ] && [ "$(hdr Content-Type)" = "$CTYPE" ] &&
		cp "$BODY" "$2"
}

# mval FILE SAMPLE: the value of SAMPLE (name{labels} as rendered), or 0.
mval() {
	awk -v s="$2" 'index($0, s " ") == 1 { v = $NF }
		END { print v == "" ? 0 : v }' "$1"
}

# delta NAME BEFORE AFTER SAMPLE WANT: expects SAMPLE to have grown by WANT.
delta() {
	expect_eq "$1" "$5" "$(awk -v a="$(mval "$2" "$4")" -v b="$(mval "$3" "$4")" \
		'BEGIN { print b - a }')"
}

# check_text NAME FILE: promtool's check and our validator, both silent.
check_text() {
	local out
	if out=$(promtool check metrics <"$2" 2>&1) && [ -z "$out" ]; then
		ok "$1: promtool check metrics passes"
	else
		not_ok "$1: promtool check metrics passes" "$(head -c 400 <<<"$out")"
	fi
	out=$(validate "$2")
	expect_eq "$1: every sample's family has HELP and TYPE, text format strict" "" \
		"$(head -c 400 <<<"$out")"
}

command -v promtool >/dev/null ||
	not_ok "promtool is installed" "make deps installs Debian's prometheus"

# ---- --version ----------------------------------------------------------
version=$(tr -cd '0-9A-Za-z.+~-' <"$ROOT/VERSION")
commit=unknown
if [ -e "$ROOT/.git" ] && c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) &&
	[ -n "$c" ]; then
	commit=$c
fi
for prog in registryd authd berthctl; do
	for flag in --version -V; do
		out=$("$BUILD/$prog" $flag 2>&1)
		code=$?
		expect_eq "$prog $flag exits 0" 0 "$code"
		expect_eq "$prog $flag names version and commit" \
			"$prog $version (commit $commit)" "$out"
	done
done

# ---- registryd: format, build, process ------------------------------------
if scrape "$REG/metrics" "$W/r0"; then
	ok "registryd: /metrics answers 200 with the exposition Content-Type"
else
	not_ok "registryd: /metrics answers 200 with the exposition Content-Type" \
		"status $STATUS, Content-Type \"$(hdr Content-Type)\""
fi
check_text registryd "$W/r0"
expect_eq "registryd: build_info names the daemon, version and commit" 1 \
	"$(mval "$W/r0" "berth_build_info{daemon=\"registryd\",version=\"$version\",commit=\"$commit\"}")"

pid=$(node_pid 1)
rss=$(mval "$W/r0" process_resident_memory_bytes)
fds=$(mval "$W/r0" process_open_fds)
maxfds=$(mval "$W/r0" process_max_fds)
vsz=$(mval "$W/r0" process_virtual_memory_bytes)
start=$(mval "$W/r0" process_start_time_seconds)
real_fds=$(ls /proc/"$pid"/fd | wc -l)
real_rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' /proc/"$pid"/status)
# The start in clock ticks after boot (field 22; the name has no spaces).
real_start=$(awk -v tck="$(getconf CLK_TCK)" -v bt="$(awk '/^btime/ { print $2 }' /proc/stat)" \
	'{ printf "%d", bt + $22 / tck }' /proc/"$pid"/stat)
expect_eq "registryd: process figures are sane (rss, vsz, fds, limit)" yes \
	"$(awk -v r="$rss" -v v="$vsz" -v f="$fds" -v m="$maxfds" \
		'BEGIN { print (r > 0 && v >= r && f > 0 && m >= f) ? "yes" : "no" }')"
expect_eq "registryd: process_open_fds matches /proc (within 5)" yes \
	"$(awk -v a="$fds" -v b="$real_fds" 'BEGIN { d = a - b; print (d <= 5 && d >= -5) ? "yes" : "no" }')"
expect_eq "registryd: process_resident_memory_bytes matches /proc (within half)" yes \
	"$(awk -v a="$rss" -v b="$real_rss" 'BEGIN { print (a > b / 2 && a < b * 2) ? "yes" : "no" }')"
expect_eq "registryd: process_start_time_seconds is when the node started (within 3 s)" yes \
	"$(awk -v a="$start" -v b="$real_start" 'BEGIN { d = a - b; print (d <= 3 && d >= -3) ? "yes" : "no" }')"
# run.sh migrated the database before it started any node.
expect_eq "registryd: the start time lies between the run's migration and now" yes \
	"$(awk -v a="$start" -v m="$(stat -c %Y "$BERTH_RUN/migrate.log")" -v n="$(date +%s)" \
		'BEGIN { print (a >= m - 1 && a <= n + 1) ? "yes" : "no" }')"
expect_eq "registryd: database connections are counted" yes \
	"$(awk -v c="$(mval "$W/r0" berth_db_connections)" 'BEGIN { print (c >= 1 ? "yes" : "no") }')"

# ---- registryd: counters move -------------------------------------------
image_make "$W/img" 2 50000
scrape "$REG/metrics" "$W/r1"
image_push "$REG" t-metrics/app v1 "$W/img" ||
	not_ok "push an image" "status $STATUS: $(body_head)"
expect_status "pull the manifest by tag" 200 GET "$REG/v2/t-metrics/app/manifests/v1" \
	-H "Accept: $MT_OCI_MANIFEST"
expect_status "pull a layer" 200 GET "$REG/v2/t-metrics/app/blobs/$(sha256_of "$W/img/layer1")"
expect_status "HEAD a layer" 200 HEAD "$REG/v2/t-metrics/app/blobs/$(sha256_of "$W/img/layer2")"
scrape "$REG/metrics" "$W/r2"
check_text "registryd after traffic" "$W/r2"
pushed=$(($(file_size "$W/img/config.json") + 100000))
delta "push: manifest PUT counted with its method and status" "$W/r1" "$W/r2" \
	'berth_http_requests_total{route="manifest",method="PUT",status="201"}' 1
delta "push: blob PUTs counted" "$W/r1" "$W/r2" \
	'berth_http_requests_total{route="upload",method="PUT",status="201"}' 3
delta "push: upload POSTs counted" "$W/r1" "$W/r2" \
	'berth_http_requests_total{route="upload_start",method="POST",status="202"}' 3
delta "pull: manifest GET counted apart from PUT" "$W/r1" "$W/r2" \
	'berth_http_requests_total{route="manifest",method="GET",status="200"}' 1
delta "pull: blob HEAD counted as HEAD" "$W/r1" "$W/r2" \
	'berth_http_requests_total{route="blob",method="HEAD",status="200"}' 1
delta "pull: latency histogram by route and method" "$W/r1" "$W/r2" \
	'berth_http_request_duration_seconds_count{route="blob",method="GET"}' 1
delta "push: storage written bytes are the blobs' bytes" "$W/r1" "$W/r2" \
	berth_storage_written_bytes_total "$pushed"
delta "pull: storage read bytes are the GET's layer, not the HEAD's" "$W/r1" "$W/r2" \
	berth_storage_read_bytes_total 50000
delta "push: uploads completed" "$W/r1" "$W/r2" berth_uploads_completed_total 3
delta "pull: manifest_by_tag query timed" "$W/r1" "$W/r2" \
	'berth_db_query_duration_seconds_count{statement="manifest_by_tag"}' 1
expect_eq "push: commits timed as a command" yes \
	"$(awk -v a="$(mval "$W/r1" 'berth_db_query_duration_seconds_count{statement="commit"}')" \
		-v b="$(mval "$W/r2" 'berth_db_query_duration_seconds_count{statement="commit"}')" \
		'BEGIN { print (b > a ? "yes" : "no") }')"
expect_eq "every request sample has route, method and status labels" "" \
	"$(grep '^berth_http_requests_total' "$W/r2" |
		grep -v -E '^[a-z_]+\{route="[a-z_]+",method="[A-Za-z]+",status="([0-9]{3}|other)"\} [0-9]+$')"

# A slow PATCH: uploads_in_progress is 1 while it streams, 0 after.
rand_blob "$W/slow" 300000
if upload_start "$REG" t-metrics/slow; then
	curl -s -o /dev/null -X PATCH --limit-rate 100K \
		-H 'Content-Type: application/octet-stream' \
		-H "Content-Range: 0-299999" --data-binary @"$W/slow" \
		"$UPLOAD_URL" &
	UPLOAD_PID=$!
	sleep 1
	scrape "$REG/metrics" "$W/r3"
	expect_eq "a streaming upload shows in uploads_in_progress" 1 \
		"$(mval "$W/r3" berth_uploads_in_progress)"
	wait "$UPLOAD_PID"
	UPLOAD_PID=
	scrape "$REG/metrics" "$W/r4"
	expect_eq "uploads_in_progress is 0 once it is done" 0 \
		"$(mval "$W/r4" berth_uploads_in_progress)"
	delta "the PATCH's bytes were written to storage" "$W/r2" "$W/r4" \
		berth_storage_written_bytes_total 300000
else
	not_ok "start an upload" "status $STATUS"
fi

# Lost connections: the next statement on each worker fails once (an
# error), the worker reconnects (a reconnect) and the request succeeds.
for i in $(seq 1 24); do
	curl -s -o /dev/null "$REG/v2/t-metrics/app/manifests/v1" -H "Accept: $MT_OCI_MANIFEST"
done
scrape "$REG/metrics" "$W/r5"
sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid()
	AND backend_type = 'client backend'" >/dev/null
sleep 0.5
bad=0
for i in $(seq 1 24); do
	code=$(curl -s -o /dev/null -w '%{http_code}' \
		"$REG/v2/t-metrics/app/manifests/v1" -H "Accept: $MT_OCI_MANIFEST")
	[ "$code" = 200 ] || bad=$((bad + 1))
done
expect_eq "requests after lost connections succeed" 0 "$bad"
scrape "$REG/metrics" "$W/r6"
check_text "registryd after reconnects" "$W/r6"
expect_eq "lost connections count as reconnects" yes \
	"$(awk -v a="$(mval "$W/r5" berth_db_reconnects_total)" \
		-v b="$(mval "$W/r6" berth_db_reconnects_total)" \
		'BEGIN { print (b > a ? "yes" : "no") }')"
errs() {
	awk '/^berth_db_query_errors_total/ { t += $NF } END { print t + 0 }' "$1"
}
expect_eq "the failed first tries count as query errors" yes \
	"$(awk -v a="$(errs "$W/r5")" -v b="$(errs "$W/r6")" 'BEGIN { print (b > a ? "yes" : "no") }')"

# ---- authd ------------------------------------------------------------------
if scrape "$AUTHD/metrics" "$W/a0"; then
	ok "authd: /metrics answers 200 with the exposition Content-Type"
else
	not_ok "authd: /metrics answers 200 with the exposition Content-Type" \
		"status $STATUS, Content-Type \"$(hdr Content-Type)\""
fi
check_text authd "$W/a0"
expect_eq "authd: build_info names the daemon" 1 \
	"$(mval "$W/a0" "berth_build_info{daemon=\"authd\",version=\"$version\",commit=\"$commit\"}")"
expect_eq "authd: process figures are sane" yes \
	"$(awk -v r="$(mval "$W/a0" process_resident_memory_bytes)" \
		-v f="$(mval "$W/a0" process_open_fds)" \
		'BEGIN { print (r > 0 && f > 0) ? "yes" : "no" }')"
expect_status "authd: a wrong password is refused" 401 GET \
	"$AUTHD/token?service=$AUTH_SERVICE" -u tmnobody:wrong
expect_status "authd: an anonymous token is issued" 200 GET \
	"$AUTHD/token?service=$AUTH_SERVICE"
expect_status "authd: the admin gets a token" 200 GET \
	"$AUTHD/token?service=$AUTH_SERVICE" -u "admin:$AUTHD_ADMIN_PASSWORD"
scrape "$AUTHD/metrics" "$W/a1"
check_text "authd after logins" "$W/a1"
delta "authd: the failed login counts as bad_credentials" "$W/a0" "$W/a1" \
	'berth_authd_login_failures_total{reason="bad_credentials"}' 1
delta "authd: tokens issued to anonymous" "$W/a0" "$W/a1" \
	'berth_authd_tokens_issued_total{principal="anonymous"}' 1
delta "authd: tokens issued to users" "$W/a0" "$W/a1" \
	'berth_authd_tokens_issued_total{principal="user"}' 1
delta "authd: token requests counted with method" "$W/a0" "$W/a1" \
	'berth_authd_http_requests_total{route="token",method="GET",status="200"}' 2
delta "authd: user_by_name query timed" "$W/a0" "$W/a1" \
	'berth_authd_db_query_duration_seconds_count{statement="user_by_name"}' 2

# ---- metrics_listen ---------------------------------------------------------
mport=$(extra_free_port)
if extra_start "$W/extra" REGISTRYD_METRICS_LISTEN="127.0.0.1:$mport"; then
	ok "registryd starts with metrics_listen"
	expect_status "metrics_listen: the main port's /metrics is 404" 404 GET \
		"http://127.0.0.1:$EXTRA_PORT/metrics"
	expect_error_code "metrics_listen: in the registry's error format" UNSUPPORTED
	if scrape "http://127.0.0.1:$mport/metrics" "$W/m0"; then
		ok "metrics_listen: /metrics served on its own port"
	else
		not_ok "metrics_listen: /metrics served on its own port" "status $STATUS"
	fi
	check_text "metrics_listen" "$W/m0"
	expect_status "metrics_listen: the API is not on the metrics port" 404 GET \
		"http://127.0.0.1:$mport/v2/"
	scrape "http://127.0.0.1:$mport/metrics" "$W/m1"
	delta "metrics_listen: scrapes are counted" "$W/m0" "$W/m1" \
		'berth_http_requests_total{route="metrics",method="GET",status="200"}' 1
	delta "metrics_listen: other paths there count as unknown" "$W/m0" "$W/m1" \
		'berth_http_requests_total{route="unknown",method="GET",status="404"}' 1
	extra_stop
	expect_eq "metrics_listen: registryd exits 0 on SIGTERM" 0 "$?"
	EXTRA_PID=
else
	not_ok "registryd starts with metrics_listen" "$(tail -n 5 "$W/extra/log")"
fi
# The metrics port taken: the node refuses to start.
busy=$(extra_free_port)
env REGISTRYD_LISTEN="127.0.0.1:$busy" REGISTRYD_METRICS_LISTEN="127.0.0.1:$busy" \
	REGISTRYD_STORAGE="$STORAGE" \
	REGISTRYD_DATABASE="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" \
	timeout 30 "$BUILD/registryd" serve >"$W/busy.log" 2>&1
code=$?
expect_eq "metrics_listen on the API's own port: start fails with 1" 1 "$code"

if auth_user tmlock right-pw && auth_user tmoff right-pw &&
	auth_sql "UPDATE users SET disabled = true WHERE name = 'tmoff'" >/dev/null; then
	ok "make users for lockout and disabled"
else
	not_ok "make users for lockout and disabled" "database"
fi
mport=$(extra_free_port)
if authd_extra_start "$W/authd" AUTHD_METRICS_LISTEN="127.0.0.1:$mport" \
	AUTHD_LOCKOUT_THRESHOLD=2 AUTHD_LOCKOUT_DELAY=60; then
	ok "authd starts with metrics_listen"
	expect_status "authd metrics_listen: the main port's /metrics is 404" 404 GET \
		"$AUTHD_EXTRA/metrics"
	expect_error_code "authd metrics_listen: in authd's error format" NOT_FOUND
	scrape "http://127.0.0.1:$mport/metrics" "$W/b0" ||
		not_ok "authd metrics_listen: /metrics served on its own port" "status $STATUS"
	for i in 1 2; do
		req GET "$AUTHD_EXTRA/token?service=$AUTH_SERVICE" -u tmlock:wrong
	done
	expect_status "authd: the delayed pair's right password is refused unchecked" 429 GET \
		"$AUTHD_EXTRA/token?service=$AUTH_SERVICE" -u tmlock:right-pw
	expect_status "authd: the disabled account is refused" 401 GET \
		"$AUTHD_EXTRA/token?service=$AUTH_SERVICE" -u tmoff:right-pw
	if scrape "http://127.0.0.1:$mport/metrics" "$W/b1"; then
		ok "authd metrics_listen: /metrics served on its own port"
	else
		not_ok "authd metrics_listen: /metrics served on its own port" "status $STATUS"
	fi
	check_text "authd metrics_listen" "$W/b1"
	delta "authd: two wrong passwords count as bad_credentials" "$W/b0" "$W/b1" \
		'berth_authd_login_failures_total{reason="bad_credentials"}' 2
	delta "authd: the threshold starts one delay of the (account, address) pair" "$W/b0" "$W/b1" \
		'berth_authd_lockouts_total{kind="pair"}' 1
	delta "authd: the right password while delayed counts as throttled" "$W/b0" "$W/b1" \
		'berth_authd_login_failures_total{reason="throttled"}' 1
	delta "authd: the disabled account counts as disabled" "$W/b0" "$W/b1" \
		'berth_authd_login_failures_total{reason="disabled"}' 1
	authd_extra_stop
	expect_eq "authd with metrics_listen exits 0 on SIGTERM" 0 "$?"
	AUTHD_EXTRA_PID=
else
	not_ok "authd starts with metrics_listen" "$(tail -n 5 "$W/authd/log")"
fi
