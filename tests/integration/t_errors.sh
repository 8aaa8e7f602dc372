#!/bin/bash
# Bad input: invalid repository names, digests, tags and manifests, upload
# misuse (wrong digest, bad ranges, unknown or foreign sessions, clients
# that vanish mid-body) and path traversal. After each case the database
# and the blob store must be as they were.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"

# Every 4xx JSON error body in this file must use a code from the spec's
# table ("The code field MUST be one of the following"), or TAG_INVALID,
# the legacy Docker code the spec says clients may meet. req is wrapped to
# note any other code in $W/nonspec.
SPEC_CODES=" BLOB_UNKNOWN BLOB_UPLOAD_INVALID BLOB_UPLOAD_UNKNOWN DIGEST_INVALID
MANIFEST_BLOB_UNKNOWN MANIFEST_INVALID MANIFEST_UNKNOWN NAME_INVALID NAME_UNKNOWN
SIZE_INVALID UNAUTHORIZED DENIED UNSUPPORTED TOOMANYREQUESTS TAG_INVALID "
SPEC_CODES=${SPEC_CODES//$'\n'/ }
eval "lib_$(declare -f req)"
req() {
	local rc=0 c
	lib_req "$@" || rc=$?
	if [[ $STATUS == 4* ]]; then
		for c in $(jq -r 'if (.errors | type) == "array" then .errors[].code else empty end' \
			"$BODY" 2>/dev/null); do
			[[ $SPEC_CODES == *" $c "* ]] ||
				echo "$STATUS $c for $1 ${2#"$REG"}" >>"$W/nonspec"
		done
	fi
	return "$rc"
}

# snap FILE: row counts of every table and the list of files under
# $STORAGE/blobs.
snap() {
	{
		sql "SELECT 'repositories', count(*) FROM repositories UNION ALL
			SELECT 'blobs', count(*) FROM blobs UNION ALL
			SELECT 'repository_blobs', count(*) FROM repository_blobs UNION ALL
			SELECT 'manifests', count(*) FROM manifests UNION ALL
			SELECT 'manifest_references', count(*) FROM manifest_references UNION ALL
			SELECT 'tags', count(*) FROM tags UNION ALL
			SELECT 'uploads', count(*) FROM uploads"
		blob_files
	} >"$1"
}
rebase() { snap "$W/base"; }
# unchanged NAME [noup]: nothing changed since the last rebase; with noup
# the number of upload sessions may have changed (a failed completion may
# end its session).
unchanged() {
	local drop='^$'
	snap "$W/now"
	[ "${2:-}" = noup ] && drop='^uploads\|'
	if diff <(grep -Ev "$drop" "$W/base") <(grep -Ev "$drop" "$W/now") >"$W/diff"; then
		ok "$1"
	else
		not_ok "$1" "changed: $(grep '^[<>]' "$W/diff" | head -6 | tr '\n' ' ')"
	fi
	rebase
}

# A repository with a complete image, so that manifest cases fail only for
# the reason they test.
R=t-err/ok
image_make "$W/img" 1 300
image_push "$REG" "$R" v1 "$W/img" || not_ok "fixture image pushed" "status $STATUS"
M=$W/img/manifest.json
L1=$(sha256_of "$W/img/layer1")
rebase

# --- repository names --------------------------------------------------------
LONG=t-err/$(printf 'a%.0s' $(seq 1 250))	# 256 characters
for name in t-err/Upper t-err/a..b t-err/a- -t-err t-err/a___b t-err/.hidden \
	t-err/_x "t-err/a%20b" t-err/a. "$LONG"; do
	short=${name:0:24}
	req POST "$REG/v2/$name/blobs/uploads/" -H 'Content-Length: 0'
	expect_status_code "name \"$short\": POST upload is 400 NAME_INVALID" 400 NAME_INVALID
	req PUT "$REG/v2/$name/manifests/v1" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$M"
	expect_status_code "name \"$short\": PUT manifest is 400 NAME_INVALID" 400 NAME_INVALID
	req GET "$REG/v2/$name/manifests/v1"
	expect_status_code "name \"$short\": GET manifest is 400 NAME_INVALID" 400 NAME_INVALID
	req GET "$REG/v2/$name/tags/list"
	expect_status_code "name \"$short\": tags/list is 400 NAME_INVALID" 400 NAME_INVALID
	unchanged "name \"$short\": nothing was stored"
done
for name in t-err//b "t-err/b/" "/t-err"; do
	req POST "$REG/v2/$name/blobs/uploads/" -H 'Content-Length: 0'
	expect_status_code "name \"$name\" with an empty component: POST upload is 400 or 404" \
		"400 404" ""
	req PUT "$REG/v2/$name/manifests/v1" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$M"
	expect_status_code "name \"$name\" with an empty component: PUT manifest is 400 or 404" \
		"400 404" ""
	unchanged "name \"$name\": nothing was stored"
done
OK255=t-err/$(printf 'b%.0s' $(seq 1 249))
upload_start "$REG" "$OK255"
expect_eq "name of exactly 255 characters is accepted" 202 "$STATUS"
rebase

# --- digests ------------------------------------------------------------------
HEX=${L1#sha256:}
UPPER=sha256:$(tr a-f A-F <<<"$HEX")
BAD_DIGESTS=(
	"3 hex digits" sha256:abc
	"63 hex digits" "sha256:${HEX:1}"
	"65 hex digits" "sha256:${HEX}0"
	"upper-case hex" "$UPPER"
	"no hex" sha256:
	"no algorithm" ":$HEX"
	"a non-hex digit" "sha256:${HEX:0:63}g"
	"an upper-case algorithm" "SHA256:$HEX"
)
for ((i = 0; i < ${#BAD_DIGESTS[@]}; i += 2)); do
	short="with ${BAD_DIGESTS[i]}" d=${BAD_DIGESTS[i + 1]}
	req GET "$REG/v2/$R/blobs/$d"
	expect_status_code "digest $short: GET blob is 400 DIGEST_INVALID" 400 DIGEST_INVALID
	req HEAD "$REG/v2/$R/blobs/$d"
	expect_eq "digest $short: HEAD blob is 400" 400 "$STATUS"
	req DELETE "$REG/v2/$R/blobs/$d"
	expect_status_code "digest $short: DELETE blob is 400 DIGEST_INVALID" 400 DIGEST_INVALID
	req POST "$REG/v2/$R/blobs/uploads/?digest=$d" -H 'Content-Type: application/octet-stream' \
		--data-binary @"$W/img/layer1"
	expect_status_code "digest $short: single POST is 400 DIGEST_INVALID" 400 DIGEST_INVALID
	req GET "$REG/v2/$R/referrers/$d"
	expect_eq "digest $short: referrers is 400" 400 "$STATUS"
	unchanged "digest $short: nothing was stored"
done
# GET and HEAD of a reference that is no tag nor digest: 404, as for an
# absent tag (end-3; the OCI conformance suite); PUT and DELETE: 400.
req GET "$REG/v2/$R/manifests/sha256:abc"
expect_status_code "GET manifest by malformed digest sha256:abc is 404 MANIFEST_UNKNOWN" 404 MANIFEST_UNKNOWN
req HEAD "$REG/v2/$R/manifests/sha256:abc"
expect_eq "HEAD manifest by malformed digest sha256:abc is 404" 404 "$STATUS"
req GET "$REG/v2/$R/manifests/$UPPER"
expect_status_code "GET manifest by upper-case hex digest is 404 MANIFEST_UNKNOWN" 404 MANIFEST_UNKNOWN
req PUT "$REG/v2/$R/manifests/sha256:abc" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$M"
expect_status_code "PUT manifest by malformed digest is 400" 400 "DIGEST_INVALID TAG_INVALID"
req DELETE "$REG/v2/$R/manifests/sha256:abc"
expect_status_code "DELETE manifest by malformed digest is 400 DIGEST_INVALID" 400 DIGEST_INVALID
req DELETE "$REG/v2/$R/manifests/$UPPER"
expect_status_code "DELETE manifest by upper-case hex digest is 400 DIGEST_INVALID" 400 DIGEST_INVALID
unchanged "malformed manifest references stored nothing"

# Wrong digest for the bytes.
rand_blob "$W/wrong" 2000
WRONG=sha256:$(printf 'not these bytes' | sha256sum | cut -d' ' -f1)
REAL=$(sha256_of "$W/wrong")
req POST "$REG/v2/$R/blobs/uploads/?digest=$WRONG" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$W/wrong"
expect_status_code "single POST with the wrong digest is 400 DIGEST_INVALID" 400 DIGEST_INVALID
expect_status "single POST with the wrong digest: claimed digest not stored" 404 HEAD "$REG/v2/$R/blobs/$WRONG"
expect_status "single POST with the wrong digest: real digest not stored" 404 HEAD "$REG/v2/$R/blobs/$REAL"
unchanged "single POST with the wrong digest: no row, no blob file" noup
upload_start "$REG" "$R"
rebase
req PUT "$(with_query "$UPLOAD_URL" "digest=$WRONG")" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$W/wrong"
expect_status_code "PUT upload with the wrong digest is 400 DIGEST_INVALID" 400 DIGEST_INVALID
expect_status "PUT upload with the wrong digest: claimed digest not stored" 404 HEAD "$REG/v2/$R/blobs/$WRONG"
expect_status "PUT upload with the wrong digest: real digest not stored" 404 HEAD "$REG/v2/$R/blobs/$REAL"
check "PUT upload with the wrong digest: no file for either digest" \
	test ! -e "$(blob_path "$WRONG")" -a ! -e "$(blob_path "$REAL")"
unchanged "PUT upload with the wrong digest: no row, no blob file" noup
upload_start "$REG" "$R"
upload_patch "$W/wrong" 0
rebase
req PUT "$(with_query "$UPLOAD_URL" "digest=$WRONG")" -H 'Content-Length: 0'
expect_status_code "closing PUT after PATCH with the wrong digest is 400 DIGEST_INVALID" 400 DIGEST_INVALID
unchanged "closing PUT with the wrong digest: no row, no blob file" noup
upload_start "$REG" "$R"
upload_patch "$W/wrong" 0
req PUT "$UPLOAD_URL" -H 'Content-Length: 0'
expect_status_code "closing PUT without ?digest= is 400" 400 "DIGEST_INVALID BLOB_UPLOAD_INVALID"
req PUT "$(with_query "$UPLOAD_URL" "digest=sha256:abc")" -H 'Content-Length: 0'
expect_status_code "closing PUT with a malformed digest is 400 DIGEST_INVALID" 400 DIGEST_INVALID
unchanged "closing PUTs without a valid digest stored nothing" noup
rebase

# --- tags ---------------------------------------------------------------------------
T129=$(printf 't%.0s' $(seq 1 129))
for tag in "$T129" .dot .INVALID_MANIFEST_NAME -dash "a+b" "a%20b" "%C3%A9t%C3%A9"; do
	short=${tag:0:16}
	req PUT "$REG/v2/$R/manifests/$tag" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$M"
	expect_status_code "tag \"$short\": PUT manifest is 400 TAG_INVALID" 400 TAG_INVALID
	req GET "$REG/v2/$R/manifests/$tag"
	expect_status_code "tag \"$short\": GET manifest is 404 MANIFEST_UNKNOWN" 404 MANIFEST_UNKNOWN
	req HEAD "$REG/v2/$R/manifests/$tag"
	expect_eq "tag \"$short\": HEAD manifest is 404" 404 "$STATUS"
	req DELETE "$REG/v2/$R/manifests/$tag"
	expect_status_code "tag \"$short\": DELETE manifest is 400 TAG_INVALID" 400 TAG_INVALID
	unchanged "tag \"$short\": nothing was stored"
done
req GET "$REG/v2/$R/tags/list?n=abc"
expect_eq "tags/list?n=abc is 400" 400 "$STATUS"
req GET "$REG/v2/$R/tags/list?n=-1"
expect_eq "tags/list?n=-1 is 400" 400 "$STATUS"

# --- manifests -----------------------------------------------------------------
bad_manifest() { # NAME CONTENT_TYPE FILE WANT_CODES
	req PUT "$REG/v2/$R/manifests/bad" -H "Content-Type: $2" --data-binary @"$3"
	expect_status_code "$1 is 400 ${4// / or }" 400 "$4"
	unchanged "$1: nothing was stored"
}
printf '{"schemaVersion": 2, "mediaType": "%s", "config": ' "$MT_OCI_MANIFEST" >"$W/trunc.json"
bad_manifest "truncated JSON manifest" "$MT_OCI_MANIFEST" "$W/trunc.json" MANIFEST_INVALID
printf '[]' >"$W/array.json"
bad_manifest "JSON array as manifest" "$MT_OCI_MANIFEST" "$W/array.json" MANIFEST_INVALID
: >"$W/empty.json"
bad_manifest "empty manifest body" "$MT_OCI_MANIFEST" "$W/empty.json" MANIFEST_INVALID
head -c 300 /dev/urandom >"$W/garbage.json"
bad_manifest "binary garbage manifest" "$MT_OCI_MANIFEST" "$W/garbage.json" MANIFEST_INVALID
jq '.schemaVersion = 1' "$M" >"$W/v1.json"
bad_manifest "manifest with schemaVersion 1" "$MT_OCI_MANIFEST" "$W/v1.json" MANIFEST_INVALID
jq 'del(.config)' "$M" >"$W/noconfig.json"
bad_manifest "image manifest without config" "$MT_OCI_MANIFEST" "$W/noconfig.json" MANIFEST_INVALID
jq '.layers = "x"' "$M" >"$W/layers.json"
bad_manifest "image manifest whose layers is a string" "$MT_OCI_MANIFEST" "$W/layers.json" MANIFEST_INVALID
jq '.layers[0].digest = "sha256:abc"' "$M" >"$W/baddesc.json"
bad_manifest "manifest with a malformed layer digest" "$MT_OCI_MANIFEST" "$W/baddesc.json" \
	"MANIFEST_INVALID DIGEST_INVALID"
jq '.layers[0].size = -1' "$M" >"$W/negsize.json"
bad_manifest "manifest with a negative layer size" "$MT_OCI_MANIFEST" "$W/negsize.json" MANIFEST_INVALID
jq '.config.digest = 5' "$M" >"$W/numdigest.json"
bad_manifest "manifest with a numeric config digest" "$MT_OCI_MANIFEST" "$W/numdigest.json" MANIFEST_INVALID
bad_manifest "OCI manifest sent as an index Content-Type" "$MT_OCI_INDEX" "$M" MANIFEST_INVALID
jq '.manifests = {}' <<<'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}' >"$W/idxobj.json"
bad_manifest "index whose manifests is an object" "$MT_OCI_INDEX" "$W/idxobj.json" MANIFEST_INVALID

image_make "$W/orphan" 1 100
blob_push "$REG" "$R" "$W/orphan/config.json"
rebase
bad_manifest "manifest with a layer the repository lacks" "$MT_OCI_MANIFEST" \
	"$W/orphan/manifest.json" MANIFEST_BLOB_UNKNOWN
jq --arg d "$(sha256_of "$W/orphan/layer1")" '.config.digest = $d' "$M" >"$W/nocfg.json"
bad_manifest "manifest with a config the repository lacks" "$MT_OCI_MANIFEST" \
	"$W/nocfg.json" MANIFEST_BLOB_UNKNOWN
index_make "$W/idx.json" "$MT_OCI_INDEX" "$M" "$W/orphan/manifest.json"
bad_manifest "index with a child manifest the repository lacks" "$MT_OCI_INDEX" \
	"$W/idx.json" MANIFEST_BLOB_UNKNOWN

req PUT "$REG/v2/$R/manifests/$WRONG" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$M"
expect_status_code "PUT manifest by a digest that does not match is 400 DIGEST_INVALID" 400 DIGEST_INVALID
unchanged "PUT manifest by the wrong digest stored nothing"
expect_status "manifest bytes pushed under a wrong digest are not there" 404 GET "$REG/v2/$R/manifests/$WRONG"

head -c $((4 * 1024 * 1024 + 100)) /dev/zero | tr '\0' y >"$W/pad"
jq -c --rawfile p "$W/pad" '.annotations = {"pad": $p}' "$M" >"$W/huge.json"
req PUT "$REG/v2/$R/manifests/huge" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/huge.json"
if [ "$STATUS" = 413 ] || { [ "$STATUS" = 400 ] && error_code_in MANIFEST_INVALID; }; then
	ok "manifest over 4 MiB is 413 or 400 MANIFEST_INVALID"
else
	not_ok "manifest over 4 MiB is 413 or 400 MANIFEST_INVALID" "got $STATUS"
fi
unchanged "manifest over 4 MiB stored nothing"

# --- upload sessions ----------------------------------------------------------
NOID=$(cat /proc/sys/kernel/random/uuid)
req GET "$REG/v2/$R/blobs/uploads/$NOID"
expect_status_code "status of an unknown upload is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req PATCH "$REG/v2/$R/blobs/uploads/$NOID" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 0-1999' --data-binary @"$W/wrong"
expect_status_code "PATCH to an unknown upload is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req PUT "$REG/v2/$R/blobs/uploads/$NOID?digest=$REAL" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$W/wrong"
expect_status_code "PUT to an unknown upload is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req DELETE "$REG/v2/$R/blobs/uploads/$NOID"
expect_status_code "DELETE of an unknown upload is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req GET "$REG/v2/$R/blobs/uploads/not-a-uuid"
expect_status_code "upload id that is not a UUID is 400 or 404" "400 404" ""
unchanged "unknown uploads stored nothing"

# A session belongs to its repository.
upload_start "$REG" "$R"
A_URL=$UPLOAD_URL A_ID=$UPLOAD_UUID
file_slice "$W/wrong" 0 1000 "$W/w0"
upload_patch "$W/w0" 0
rand_blob "$W/y" 1
blob_push "$REG" t-err/other "$W/y"
rebase
req GET "$REG/v2/t-err/other/blobs/uploads/$A_ID"
expect_status_code "another repository's upload is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req PATCH "$REG/v2/t-err/other/blobs/uploads/$A_ID" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 1000-1999' --data-binary @"$W/w0"
expect_status_code "PATCH through another repository is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req PUT "$REG/v2/t-err/other/blobs/uploads/$A_ID?digest=$(sha256_of "$W/w0")" -H 'Content-Length: 0'
expect_status_code "PUT through another repository is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
req DELETE "$REG/v2/t-err/other/blobs/uploads/$A_ID"
expect_status_code "DELETE through another repository is 404 BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
unchanged "foreign-repository upload requests stored nothing"
UPLOAD_URL=$A_URL
req GET "$UPLOAD_URL"
expect_hdr "the session is intact after foreign-repository requests" Range 0-999

# Bad ranges leave the session as it was.
file_slice "$W/wrong" 1000 1000 "$W/w1"
bad_range() { # NAME CONTENT_RANGE FILE
	req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
		-H "Content-Range: $2" --data-binary @"$3"
	expect_status_code "$1 is 400 or 416" "400 416" ""
	req GET "$UPLOAD_URL"
	expect_hdr "$1 leaves the upload at 0-999" Range 0-999
}
bad_range "PATCH with Content-Range 'abc'" abc "$W/w1"
bad_range "PATCH with a backwards Content-Range" 1999-1000 "$W/w1"
bad_range "PATCH whose Content-Range is longer than the body" 1000-2999 "$W/w1"
bad_range "PATCH whose Content-Range is shorter than the body" 1000-1499 "$W/w1"
req PUT "$(with_query "$UPLOAD_URL" "digest=$REAL")" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 1500-2499' --data-binary @"$W/w1"
expect_status_code "closing PUT with a chunk at the wrong offset is 400 or 416" "400 416" ""
unchanged "bad ranges stored nothing" noup

# A client that disappears mid-body leaves the last committed size.
rand_blob "$W/big" $((1024 * 1024))
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H "Content-Range: 1000-$((1000 + 1024 * 1024 - 1))" \
	--limit-rate 100K --max-time 1 --data-binary @"$W/big" 2>/dev/null
expect_eq "slow PATCH is cut off by the client (curl exit, no status)" 000 "$STATUS"
sleep 0.5
req GET "$UPLOAD_URL"
expect_hdr "after a client vanished mid-PATCH the upload is still 0-999" Range 0-999
req PATCH "$UPLOAD_URL" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 1000-2999' -H 'Content-Length: 2000' --max-time 2 --data-binary @"$W/w1" 2>/dev/null
check "PATCH whose body is shorter than Content-Length gets no 2xx" \
	status_in 000 400 408 416
sleep 0.5
req GET "$UPLOAD_URL"
expect_hdr "after a body cut short the upload is still 0-999" Range 0-999
# The server may need a moment to notice the vanished client and let go
# of the session, which answers 416 while busy; retry for up to 5 s.
for try in 1 2 3 4 5 6 7 8 9 10; do
	upload_patch "$W/w1" 1000 && break
	[ "$STATUS" = 416 ] || break
	sleep 0.5
done
expect_eq "the session accepts the right chunk after the aborted ones" 202 "$STATUS"
upload_finish "$REAL"
expect_eq "the session completes with the right digest after aborted chunks" 201 "$STATUS"
req GET "$REG/v2/$R/blobs/$REAL"
check "the blob finished after aborted chunks has the right bytes" body_is "$W/wrong"
rebase

rand_blob "$W/cut" 4000
CUT=$(sha256_of "$W/cut")
req POST "$REG/v2/$R/blobs/uploads/?digest=$CUT" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Length: 8000' --max-time 2 --data-binary @"$W/cut" 2>/dev/null
check "single POST whose body is cut short gets no 2xx" status_in 000 400 408
sleep 0.5
expect_status "single POST cut short did not create the blob" 404 HEAD "$REG/v2/$R/blobs/$CUT"
unchanged "single POST cut short stored nothing" noup

# --- path traversal -------------------------------------------------------------
touch "$W/marker"
trav() { # NAME METHOD PATH [curl args]
	local name=$1 method=$2 path=$3
	shift 3
	req "$method" "$REG$path" --path-as-is "$@"
	if [ "$STATUS" = 400 ] || [ "$STATUS" = 404 ]; then
		if grep -q 'root:' "$BODY"; then
			not_ok "$name" "body leaks /etc/passwd"
		else
			ok "$name"
		fi
	else
		not_ok "$name" "want 400 or 404, got $STATUS: $(head -c 200 "$BODY" | tr -cd '[:print:]')"
	fi
}
trav "GET /v2/../../etc/passwd is 400 or 404" GET "/v2/../../../../../../etc/passwd"
trav "GET %2e%2e in the repository name is 400 or 404" GET "/v2/t-err/%2e%2e/%2e%2e/%2e%2e/etc/passwd/blobs/$L1"
trav "GET .. in the repository name is 400 or 404" GET "/v2/t-err/../../../blobs/$L1"
trav "GET encoded slash in the repository name is 400 or 404" GET "/v2/t-err%2fok/blobs/$L1"
trav "GET encoded ../ in a digest is 400 or 404" GET "/v2/$R/blobs/sha256:..%2f..%2f..%2f..%2fetc%2fpasswd"
trav "GET encoded ../ in an upload id is 400 or 404" GET "/v2/$R/blobs/uploads/..%2f..%2f..%2f..%2fetc%2fpasswd"
trav "GET .. as the upload id is 400 or 404" GET "/v2/$R/blobs/uploads/.."
trav "GET encoded ../ in a tag is 400 or 404" GET "/v2/$R/manifests/..%2f..%2fv1"
trav "PATCH into an upload id of ../ is 400 or 404" PATCH \
	"/v2/$R/blobs/uploads/..%2f..%2fblobs%2fsha256%2fevil-patch" \
	-H 'Content-Type: application/octet-stream' -H 'Content-Range: 0-999' --data-binary @"$W/w0"
trav "PUT into an upload id of ../ is 400 or 404" PUT \
	"/v2/$R/blobs/uploads/..%2f..%2f..%2fevil-put?digest=$(sha256_of "$W/w0")" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/w0"
trav "POST upload to an encoded ../ repository is 400 or 404" POST \
	"/v2/t-err%2f..%2f..%2f..%2fevil-repo/blobs/uploads/" -H 'Content-Length: 0'
trav "POST upload to a .. repository is 400 or 404" POST \
	"/v2/t-err/../../evil-repo2/blobs/uploads/" -H 'Content-Length: 0'
trav "single POST to an encoded ../ repository is 400 or 404" POST \
	"/v2/..%2f..%2fevil-repo3/blobs/uploads/?digest=$(sha256_of "$W/w0")" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/w0"
trav "PUT manifest with an encoded ../ tag is 400 or 404" PUT \
	"/v2/$R/manifests/..%2f..%2f..%2fevil-tag" -H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$M"
evil_files() {
	find "$(dirname "$STORAGE")" -maxdepth 8 -name 'evil*' 2>/dev/null
	find /tmp /etc "$ROOT" -maxdepth 2 -name 'evil*' -newer "$W/marker" 2>/dev/null
}
check "traversal attempts created no evil-* file anywhere near the storage" \
	test -z "$(evil_files)"
expect_eq "traversal attempts created no repository with . or .. components" 0 \
	"$(sql "SELECT count(*) FROM repositories WHERE name LIKE '%evil%' OR name LIKE '%..%' OR name LIKE '%/./%'")"
unchanged "traversal attempts stored nothing" noup

# --- odd routes and methods -------------------------------------------------------
req GET "$REG/v2/$R/nonsense"
expect_status_code "unknown route under /v2/<name>/ is 404" 404 ""
req POST "$REG/v2/$R/manifests/v1" -H 'Content-Length: 0'
expect_status_code "POST on a manifest is 404 or 405" "404 405" ""
req PATCH "$REG/v2/$R/blobs/$L1" -H 'Content-Length: 0'
expect_status_code "PATCH on a blob is 404 or 405" "404 405" ""
unchanged "odd routes and methods stored nothing"

check_why "every 4xx JSON error used a code from the spec's table" \
	"$(sort -u "$W/nonspec" 2>/dev/null | head -5 | tr '\n' ';')" test ! -s "$W/nonspec"
