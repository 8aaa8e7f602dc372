# HTTPS: a node with tls_cert/tls_key serves the API over TLS with the
# configured certificate, refuses plain HTTP on that port, and skopeo can
# push and pull through it while trusting only our throwaway CA.
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/oci.sh"
. "$ROOT/tests/integration/extra.sh"

dir=$SCRATCH/tls
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
	-subj "/CN=berth-test" -addext "subjectAltName=IP:127.0.0.1" \
	>/dev/null 2>&1 || not_ok "make a self-signed certificate" "openssl failed"

extra_start "$dir/node" REGISTRYD_TLS_CERT="$dir/cert.pem" \
	REGISTRYD_TLS_KEY="$dir/key.pem" || not_ok "start an https node" "see $dir/node/log"
port=$EXTRA_PORT
TLS=https://127.0.0.1:$port
expect_status "tls: GET /v2/ over https with our CA" 200 GET "$TLS/v2/" \
	--cacert "$dir/cert.pem"
expect_hdr "tls: API version header over https" \
	Docker-Distribution-API-Version registry/2.0
req GET "http://127.0.0.1:$port/v2/"
if [ "$STATUS" = 200 ]; then
	not_ok "tls: plain http is not served on the https port" "got 200"
else
	ok "tls: plain http is not served on the https port"
fi
if curl -s -o /dev/null "$TLS/v2/" 2>/dev/null; then
	not_ok "tls: a client without our CA refuses the certificate" "accepted"
else
	ok "tls: a client without our CA refuses the certificate"
fi

# skopeo trusts the CA through a certificate directory, as docker does.
certs=$dir/certs.d
mkdir -p "$certs"
cp "$dir/cert.pem" "$certs/ca.crt"
layout=$SCRATCH/layout
oci_layout_make "$layout" latest 2 >/dev/null 2>&1
if skopeo copy -q --dest-cert-dir "$certs" "oci:$layout:latest" \
	"docker://127.0.0.1:$port/t-tls/img:1" >"$dir/skopeo.log" 2>&1; then
	ok "tls: skopeo pushes over https"
else
	not_ok "tls: skopeo pushes over https" "$(tail -c 300 "$dir/skopeo.log")"
fi
if skopeo inspect --raw --cert-dir "$certs" \
	"docker://127.0.0.1:$port/t-tls/img:1" >"$dir/raw.json" 2>>"$dir/skopeo.log" &&
	[ -s "$dir/raw.json" ]; then
	ok "tls: skopeo reads the manifest back over https"
else
	not_ok "tls: skopeo reads the manifest back over https" "$(tail -c 300 "$dir/skopeo.log")"
fi

extra_stop
expect_eq "tls: the https node exits 0 on SIGTERM" 0 "$?"
