# Foreign (non-distributable) layers, as in Windows base images: a layer
# descriptor with urls is accepted without its blob when every URL passes
# the allow/deny prefixes; plain http never passes; a layer whose bytes
# were pushed anyway is an ordinary blob.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/extra.sh"

MT_FOREIGN=application/vnd.docker.image.rootfs.foreign.diff.tar.gzip
W=$SCRATCH
R=t-foreign/win

printf '{"architecture":"amd64","os":"windows"}' >"$W/config.json"
rand_blob "$W/base" 4096		# the foreign base layer, never pushed
rand_blob "$W/top" 512			# an ordinary layer

# windows_manifest FILE URL...: a schema2 manifest whose first layer is
# the foreign base layer with the given URLs.
windows_manifest() {
	local f=$1 urls
	shift
	urls=$(printf '%s\n' "$@" | jq -R . | jq -cs .)
	jq -n --arg mt "$MT_DOCKER_MANIFEST" \
		--argjson cfg "$(desc_json "$MT_DOCKER_CONFIG" "$W/config.json")" \
		--argjson base "$(desc_json "$MT_FOREIGN" "$W/base")" \
		--argjson top "$(desc_json "$MT_DOCKER_LAYER" "$W/top")" \
		--argjson urls "$urls" \
		'{schemaVersion: 2, mediaType: $mt, config: $cfg,
		  layers: [($base + {urls: $urls}), $top]}' >"$f"
}

push_fixture_blobs() {
	blob_push "$1" "$R" "$W/config.json" &&
		blob_push "$1" "$R" "$W/top"
}

push_fixture_blobs "$REG" || not_ok "fixture blobs pushed" "status $STATUS"

windows_manifest "$W/ok.json" https://mcr.microsoft.com/v2/windows/blobs/x
manifest_push "$REG" "$R" ok "$W/ok.json"
expect_eq "foreign layer with an https URL is accepted without its blob" 201 "$STATUS"
req GET "$REG/v2/$R/manifests/ok"
check "the foreign-layer manifest reads back byte for byte" cmp -s "$BODY" "$W/ok.json"
expect_status "the foreign blob itself is not served" 404 HEAD \
	"$REG/v2/$R/blobs/$(sha256_of "$W/base")"

windows_manifest "$W/http.json" http://mcr.microsoft.com/v2/windows/blobs/x
manifest_push "$REG" "$R" http "$W/http.json"
expect_eq "foreign layer with a plain http URL is refused" 400 "$STATUS"
expect_error_code "plain http URL refusal is MANIFEST_BLOB_UNKNOWN" MANIFEST_BLOB_UNKNOWN
expect_status "refused manifest left no tag" 404 GET "$REG/v2/$R/manifests/http"

windows_manifest "$W/mixed.json" https://mcr.microsoft.com/a http://insecure.example/b
manifest_push "$REG" "$R" mixed "$W/mixed.json"
expect_eq "one plain http URL among https ones is refused" 400 "$STATUS"

# A client that pushes the foreign bytes too (allow-nondistributable-artifacts).
blob_push "$REG" "$R" "$W/base"
manifest_push "$REG" "$R" pushed "$W/http.json"
expect_eq "foreign layer whose bytes were pushed is accepted whatever its URLs" 201 "$STATUS"
expect_status "pushed foreign bytes are served like any blob" 200 GET \
	"$REG/v2/$R/blobs/$(sha256_of "$W/base")"

# A node with a narrower policy.
extra_start "$W/node" REGISTRYD_FOREIGN_ALLOW="https://mcr.microsoft.com/" \
	REGISTRYD_FOREIGN_DENY="https://mcr.microsoft.com/private/" ||
	not_ok "start a node with a foreign-layer policy" "see $W/node/log"
P=http://127.0.0.1:$EXTRA_PORT
R=t-foreign/policy
push_fixture_blobs "$P" || not_ok "policy fixture blobs pushed" "status $STATUS"
windows_manifest "$W/p1.json" https://mcr.microsoft.com/v2/windows/blobs/x
manifest_push "$P" "$R" allowed "$W/p1.json"
expect_eq "policy: URL under an allowed prefix is accepted" 201 "$STATUS"
windows_manifest "$W/p2.json" https://elsewhere.example/v2/windows/blobs/x
manifest_push "$P" "$R" other "$W/p2.json"
expect_eq "policy: URL outside every allowed prefix is refused" 400 "$STATUS"
windows_manifest "$W/p3.json" https://mcr.microsoft.com/private/blobs/x
manifest_push "$P" "$R" denied "$W/p3.json"
expect_eq "policy: URL under a denied prefix is refused" 400 "$STATUS"
extra_stop
expect_eq "policy node exits 0 on SIGTERM" 0 "$?"
