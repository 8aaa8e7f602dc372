# Smoke test: both nodes answer the base endpoint, the health and readiness
# probes, and 404 for a route that does not exist.
. "$(dirname "$0")/lib.sh"

for node in 1 2; do
	if [ "$node" = 1 ]; then url=$REG; else url=$REG2; fi

	expect_status "node $node: GET /v2/ is 200" 200 GET "$url/v2/" &&
		expect_hdr "node $node: /v2/ announces the API version" \
			Docker-Distribution-API-Version registry/2.0
	expect_status "node $node: GET /healthz is 200" 200 GET "$url/healthz"
	expect_status "node $node: GET /readyz is 200" 200 GET "$url/readyz"
	expect_status "node $node: unknown route is 404" 404 \
		GET "$url/no/such/route"
done

# SIGHUP rereads the settings a reload may change: log_level error hides
# the per-request info lines; a bad file changes nothing.
conf=$(node_dir 1)/conf
log=$(node_dir 1)/log
cp "$conf" "$SCRATCH/conf.saved"
sed -i 's/^log_level = .*/log_level = error/' "$conf"
kill -HUP "$(node_pid 1)"
sleep 0.5
before=$(grep -c 'path="/v2/"' "$log")
req GET "$REG/v2/"
sleep 0.2
expect_eq "SIGHUP: log_level error drops request lines" "$before" \
	"$(grep -c 'path="/v2/"' "$log")"
check_grep() { grep -q "$1" "$log" && ok "$2" || not_ok "$2" "not in $log"; }
cp "$SCRATCH/conf.saved" "$conf"
kill -HUP "$(node_pid 1)"
sleep 0.5
req GET "$REG/v2/"
sleep 0.2
check_grep 'SIGHUP: configuration reloaded' "SIGHUP: the restored file is applied"
expect_eq "SIGHUP: request lines are back at log_level debug" \
	$((before + 1)) "$(grep -c 'path="/v2/"' "$log")"
echo "no_such_key = 1" >>"$conf"
kill -HUP "$(node_pid 1)"
sleep 0.5
check_grep 'unknown configuration key "no_such_key"' \
	"SIGHUP: a bad file is refused with file:line"
cp "$SCRATCH/conf.saved" "$conf"
kill -HUP "$(node_pid 1)"
