# PostgreSQL restarts under running nodes (as in a failover): requests fail
# cleanly with 503 while it is down, and every node reconnects by itself
# when it is back, with nothing lost. Named to run last: it restarts the
# database every other test uses.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/scripts/pg.sh"

R=t-zdb/app
image_make "$SCRATCH/img" 1 300
image_push "$REG" "$R" v1 "$SCRATCH/img" || not_ok "fixture image pushed" "status $STATUS"
digest=$(sha256_of "$SCRATCH/img/manifest.json")

port=$(pg_port "$PGHOST")
pg_stop "$PGHOST" >/dev/null 2>&1 || not_ok "stop PostgreSQL" "pg_stop failed"
req GET "$REG/v2/$R/manifests/v1"
expect_eq "database down: a manifest GET is 503" 503 "$STATUS"
expect_error_code "database down: the error is UNAVAILABLE" UNAVAILABLE
expect_status "database down: /readyz is 503" 503 GET "$REG/readyz"
expect_status "database down: /healthz is still 200" 200 GET "$REG/healthz"
req GET "$AUTHD/token?service=berth-registry" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "database down: authd answers 503, not a wrong-password 401" 503 "$STATUS"

pg_start "$PGHOST" "$port" >/dev/null 2>&1 || not_ok "start PostgreSQL again" "pg_start failed"
for url in "$REG" "$REG2" "$REGA" "$AUTHD"; do
	for ((i = 0; i < 50; i++)); do
		req GET "$url/readyz"
		[ "$STATUS" = 200 ] && break
		sleep 0.1
	done
	expect_eq "database back: $url is ready again without a restart" 200 "$STATUS"
done
req GET "$REG2/v2/$R/manifests/$digest" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "database back: the manifest pushed before is served" 200 "$STATUS"
expect_status "database back: a new upload session opens" 202 POST \
	"$REG/v2/$R/blobs/uploads/"
req GET "$AUTHD/token?service=berth-registry" -u "admin:$AUTHD_ADMIN_PASSWORD"
expect_eq "database back: authd issues tokens" 200 "$STATUS"
