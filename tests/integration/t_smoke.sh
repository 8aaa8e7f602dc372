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
