#!/bin/bash
# Content discovery: tag listing with n/last pagination and Link headers,
# catalog pagination, and the referrers API (descriptors, artifactType
# rules, annotations, filtering, referrers pushed before their subject).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"

W=$SCRATCH/w
mkdir -p "$W"

# link_next: the target of the last response's rel="next" Link, or "".
link_next() {
	hdr Link | sed -n 's/^<\([^>]*\)>;[[:space:]]*rel="\{0,1\}next"\{0,1\}.*/\1/p'
}

# --- tags -------------------------------------------------------------------
R='t-disc/tags'
image_make "$W/img" 1 256
image_push "$REG" "$R" v1 "$W/img" || not_ok "fixture image pushed" "status $STATUS"
# 25 tags whose lexical order differs from push order and numeric order.
TAGS=(v1)
for i in $(seq 2 25); do TAGS+=("v$i"); done
for t in "${TAGS[@]:1}"; do
	manifest_push "$REG" "$R" "$t" "$W/img/manifest.json" ||
		not_ok "fixture tag $t pushed" "status $STATUS"
done
WANT=$(printf '%s\n' "${TAGS[@]}" | LC_ALL=C sort | jq -R . | jq -sc .)

req GET "$REG/v2/$R/tags/list"
expect_eq "tags/list is 200" 200 "$STATUS"
expect_eq "tags/list names the repository" "$R" "$(jq -r .name "$BODY")"
expect_eq "tags/list returns all 25 tags in lexical order" "$WANT" "$(jq -c .tags "$BODY")"
check "tags/list without n has no Link" test -z "$(hdr Link)"

req GET "$REG/v2/$R/tags/list?n=10"
expect_eq "tags/list?n=10 is 200" 200 "$STATUS"
expect_eq "tags/list?n=10 returns the first 10 tags" "$(jq -c '.[0:10]' <<<"$WANT")" "$(jq -c .tags "$BODY")"
L10=$(jq -r '.[9]' <<<"$WANT")
expect_eq "tags/list?n=10 Link names the next page" \
	"</v2/$R/tags/list?n=10&last=$L10>; rel=\"next\"" "$(hdr Link)"
ALL=$(jq -c .tags "$BODY")
PAGES=1
NEXT=$(link_next)
while [ -n "$NEXT" ] && [ "$PAGES" -lt 10 ]; do
	req GET "$(url_of "$REG" "$NEXT")"
	[ "$STATUS" = 200 ] || break
	ALL=$(jq -c --argjson p "$(jq -c .tags "$BODY")" '. + $p' <<<"$ALL")
	PAGES=$((PAGES + 1))
	NEXT=$(link_next)
	[ "$PAGES" = 2 ] && expect_eq "tags/list second page has 10 tags" 10 "$(jq '.tags | length' "$BODY")"
done
expect_eq "tags/list n=10 takes 3 pages for 25 tags" 3 "$PAGES"
expect_eq "tags/list last page has the remaining 5 tags" 5 "$(jq '.tags | length' "$BODY")"
expect_eq "following Link pages yields all tags once, in order" "$WANT" "$ALL"

req GET "$REG/v2/$R/tags/list?n=0"
expect_eq "tags/list?n=0 is 200" 200 "$STATUS"
expect_eq "tags/list?n=0 returns an empty list" 0 "$(jq '.tags | length' "$BODY")"
check "tags/list?n=0 has no Link" test -z "$(hdr Link)"

req GET "$REG/v2/$R/tags/list?n=25"
expect_eq "tags/list?n=25 returns all 25" "$WANT" "$(jq -c .tags "$BODY")"
check "tags/list?n=<exact count> has no Link" test -z "$(hdr Link)"
req GET "$REG/v2/$R/tags/list?n=1000"
expect_eq "tags/list?n larger than the count returns all" "$WANT" "$(jq -c .tags "$BODY")"
check "tags/list?n larger than the count has no Link" test -z "$(hdr Link)"

L5=$(jq -r '.[4]' <<<"$WANT")
req GET "$REG/v2/$R/tags/list?last=$L5"
expect_eq "tags/list?last=X without n returns every tag after X" \
	"$(jq -c '.[5:]' <<<"$WANT")" "$(jq -c .tags "$BODY")"
req GET "$REG/v2/$R/tags/list?n=3&last=$L5"
expect_eq "tags/list?n=3&last=X returns the 3 tags after X" \
	"$(jq -c '.[5:8]' <<<"$WANT")" "$(jq -c .tags "$BODY")"
req GET "$REG/v2/$R/tags/list?n=3&last=v15a"
expect_eq "tags/list?last= a value that is not a tag starts after it" \
	"$(jq -c '[.[] | select(. > "v15a")][0:3]' <<<"$WANT")" "$(jq -c .tags "$BODY")"
LAST=$(jq -r '.[-1]' <<<"$WANT")
req GET "$REG/v2/$R/tags/list?n=5&last=$LAST"
expect_eq "tags/list after the last tag is 200" 200 "$STATUS"
expect_eq "tags/list after the last tag is empty" 0 "$(jq '.tags | length' "$BODY")"
check "tags/list after the last tag has no Link" test -z "$(hdr Link)"

req GET "$REG2/v2/$R/tags/list"
expect_eq "node 2 lists the same tags" "$WANT" "$(jq -c .tags "$BODY")"

req GET "$REG/v2/t-disc/no-such-repo/tags/list"
expect_eq "tags/list of an unknown repository is 404" 404 "$STATUS"
expect_error_code "tags/list of an unknown repository is NAME_UNKNOWN" NAME_UNKNOWN

rand_blob "$W/lonely" 32
blob_push "$REG" t-disc/untagged "$W/lonely"
req GET "$REG/v2/t-disc/untagged/tags/list"
expect_eq "tags/list of a repository with only blobs is 200" 200 "$STATUS"
expect_eq "tags/list of a repository with only blobs is empty" 0 "$(jq '.tags | length' "$BODY")"

# --- catalog ------------------------------------------------------------------
for i in $(seq 1 12); do
	rand_blob "$W/cat$i" 16
	blob_push "$REG" "t-disc/cat/r$i" "$W/cat$i" || not_ok "fixture repository r$i" "status $STATUS"
done
req GET "$REG/v2/_catalog"
expect_eq "_catalog is 200" 200 "$STATUS"
FULL=$(jq -c .repositories "$BODY")
expect_eq "_catalog is in lexical order without duplicates" \
	"$(jq -c 'unique' <<<"$FULL" | jq -c 'sort')" "$(jq -c . <<<"$FULL")"
MINE=$(jq -c '[.[] | select(startswith("t-disc/cat/"))]' <<<"$FULL")
expect_eq "_catalog lists the 12 new repositories" 12 "$(jq length <<<"$MINE")"
check "_catalog lists t-disc/tags" jq -e 'index("t-disc/tags") != null' <<<"$FULL"

req GET "$REG/v2/_catalog?n=10"
expect_eq "_catalog?n=10 returns 10 repositories" 10 "$(jq '.repositories | length' "$BODY")"
N10=$(jq -r '.repositories[9]' "$BODY")
expect_eq "_catalog?n=10 Link names the next page" \
	"</v2/_catalog?n=10&last=$N10>; rel=\"next\"" "$(hdr Link)"
ALL=$(jq -c .repositories "$BODY")
PAGES=1 BAD=0
NEXT=$(link_next)
while [ -n "$NEXT" ] && [ "$PAGES" -lt 1000 ]; do
	req GET "$(url_of "$REG" "$NEXT")"
	[ "$STATUS" = 200 ] || { BAD=1; break; }
	[ "$(jq '.repositories | length' "$BODY")" -le 10 ] || BAD=1
	ALL=$(jq -c --argjson p "$(jq -c .repositories "$BODY")" '. + $p' <<<"$ALL")
	PAGES=$((PAGES + 1))
	NEXT=$(link_next)
done
expect_eq "_catalog pages are 200 and at most n long" 0 "$BAD"
expect_eq "walking _catalog with n=10 yields the full catalog" "$FULL" "$ALL"
FIRST_CAT=$(jq -r '.[0]' <<<"$MINE")
req GET "$REG/v2/_catalog?n=2&last=$FIRST_CAT"
expect_eq "_catalog?last=X starts after X" \
	"$(jq -c --arg x "$FIRST_CAT" '[.[] | select(. > $x)][0:2]' <<<"$FULL")" \
	"$(jq -c .repositories "$BODY")"
req GET "$REG/v2/_catalog?n=0"
expect_eq "_catalog?n=0 returns an empty list" 0 "$(jq '.repositories | length' "$BODY")"
check "_catalog?n=0 has no Link" test -z "$(hdr Link)"
req GET "$REG2/v2/_catalog"
expect_eq "node 2 has the same catalog" "$FULL" "$(jq -c .repositories "$BODY")"

# --- referrers -------------------------------------------------------------------
R='t-disc/refs'
image_make "$W/subj" 1 128
image_push "$REG" "$R" subject "$W/subj"
S=$IMG_DIGEST
empty_json_push "$REG" "$R"

# A1: artifactType and annotations.
artifact_make "$W/a1.json" application/vnd.example.sbom.v1 "$W/subj/manifest.json" \
	'{"org.example.sbom.format":"json","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}'
manifest_push "$REG" "$R" "$ART_DIGEST" "$W/a1.json"
expect_eq "referrer with artifactType is 201" 201 "$STATUS"
expect_hdr "referrer push answers OCI-Subject" OCI-Subject "$S"
A1=$ART_DIGEST

# A2: no artifactType; the config's media type stands in for it.
rand_blob "$W/sigcfg" 40
blob_push "$REG" "$R" "$W/sigcfg"
jq -n --arg mt "$MT_OCI_MANIFEST" --argjson c "$(desc_json application/vnd.example.sig.config.v1+json "$W/sigcfg")" \
	--argjson s "$(desc_json "$MT_OCI_MANIFEST" "$W/subj/manifest.json")" \
	'{schemaVersion: 2, mediaType: $mt, config: $c,
	  layers: [{mediaType: "application/vnd.oci.empty.v1+json", size: 2,
	  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}],
	  subject: $s, annotations: {"org.example.sig": "abcd"}}' >"$W/a2.json"
manifest_push "$REG" "$R" sig "$W/a2.json"
expect_eq "referrer without artifactType, pushed by tag, is 201" 201 "$STATUS"
A2=$MANIFEST_DIGEST

# A3: an index referrer without artifactType.
jq -n --arg mt "$MT_OCI_INDEX" \
	--argjson s "$(desc_json "$MT_OCI_MANIFEST" "$W/subj/manifest.json")" \
	'{schemaVersion: 2, mediaType: $mt, manifests: [], subject: $s,
	  annotations: {"org.example.kind": "bundle"}}' >"$W/a3.json"
manifest_push "$REG" "$R" "$(sha256_of "$W/a3.json")" "$W/a3.json"
expect_eq "index referrer is 201" 201 "$STATUS"
A3=$MANIFEST_DIGEST

req GET "$REG/v2/$R/referrers/$S"
expect_eq "referrers is 200" 200 "$STATUS"
expect_hdr "referrers Content-Type is the OCI index type" Content-Type "$MT_OCI_INDEX"
expect_eq "referrers body is an OCI index" "2 $MT_OCI_INDEX" \
	"$(jq -r '"\(.schemaVersion) \(.mediaType)"' "$BODY")"
cp "$BODY" "$W/refs.json"
expect_eq "referrers lists the three referrers" "$(printf '%s\n' "$A1" "$A2" "$A3" | sort | jq -R . | jq -sc .)" \
	"$(jq -c '[.manifests[].digest] | sort' "$W/refs.json")"
d1=$(jq -c --arg d "$A1" '.manifests[] | select(.digest == $d)' "$W/refs.json")
expect_eq "referrer descriptor has mediaType and size" \
	"$MT_OCI_MANIFEST $(file_size "$W/a1.json")" "$(jq -r '"\(.mediaType) \(.size)"' <<<"$d1")"
expect_eq "referrer descriptor carries the manifest's artifactType" \
	application/vnd.example.sbom.v1 "$(jq -r .artifactType <<<"$d1")"
expect_eq "referrer descriptor carries the manifest's annotations" \
	"$(jq -cS .annotations "$W/a1.json")" "$(jq -cS .annotations <<<"$d1")"
d2=$(jq -c --arg d "$A2" '.manifests[] | select(.digest == $d)' "$W/refs.json")
expect_eq "referrer without artifactType gets the config mediaType" \
	application/vnd.example.sig.config.v1+json "$(jq -r .artifactType <<<"$d2")"
expect_eq "referrer pushed by tag carries its annotations" '{"org.example.sig":"abcd"}' \
	"$(jq -c .annotations <<<"$d2")"
d3=$(jq -c --arg d "$A3" '.manifests[] | select(.digest == $d)' "$W/refs.json")
expect_eq "index referrer descriptor has the index mediaType" "$MT_OCI_INDEX" "$(jq -r .mediaType <<<"$d3")"
expect_eq "index referrer without artifactType has none" false "$(jq 'has("artifactType")' <<<"$d3")"
expect_eq "index referrer carries its annotations" '{"org.example.kind":"bundle"}' \
	"$(jq -c .annotations <<<"$d3")"

req GET "$REG/v2/$R/referrers/$S?artifactType=application/vnd.example.sbom.v1"
expect_eq "referrers?artifactType= is 200" 200 "$STATUS"
expect_hdr "referrers?artifactType= sets OCI-Filters-Applied" OCI-Filters-Applied artifactType
expect_eq "referrers?artifactType= returns only matching referrers" "[\"$A1\"]" \
	"$(jq -c '[.manifests[].digest]' "$BODY")"
req GET "$REG/v2/$R/referrers/$S?artifactType=application/vnd.example.none"
expect_eq "referrers?artifactType= with no match is 200" 200 "$STATUS"
expect_eq "referrers?artifactType= with no match returns an empty list" '[]' "$(jq -c .manifests "$BODY")"

NONE=sha256:$(printf 'nobody refers to this' | sha256sum | cut -d' ' -f1)
req GET "$REG/v2/$R/referrers/$NONE"
expect_eq "referrers of a digest without referrers is 200" 200 "$STATUS"
expect_hdr "empty referrers has the OCI index Content-Type" Content-Type "$MT_OCI_INDEX"
expect_eq "empty referrers has an empty manifests list" '[]' "$(jq -c .manifests "$BODY")"
req GET "$REG/v2/$R/referrers/$(sha256_of "$W/a1.json")"
expect_eq "referrers of a referrer (none) is an empty list" '[]' "$(jq -c .manifests "$BODY")"

# Referrers stay inside their repository.
rand_blob "$W/x" 8
blob_push "$REG" t-disc/refs-other "$W/x"
req GET "$REG/v2/t-disc/refs-other/referrers/$S"
expect_eq "referrers in another repository is 200" 200 "$STATUS"
expect_eq "referrers do not leak into another repository" '[]' "$(jq -c .manifests "$BODY")"

# A referrer pushed before its subject.
image_make "$W/late" 1 64
LATE=$IMG_DIGEST
artifact_make "$W/early.json" application/vnd.example.early.v1 "$W/late/manifest.json" '{"k":"v"}'
manifest_push "$REG" "$R" "$ART_DIGEST" "$W/early.json"
expect_eq "referrer pushed before its subject is 201" 201 "$STATUS"
expect_hdr "referrer pushed before its subject answers OCI-Subject" OCI-Subject "$LATE"
EARLY=$ART_DIGEST
req GET "$REG/v2/$R/referrers/$LATE"
expect_eq "referrers of a subject not yet pushed lists the referrer" "[\"$EARLY\"]" \
	"$(jq -c '[.manifests[].digest]' "$BODY")"
image_push "$REG" "$R" late "$W/late"
req GET "$REG/v2/$R/referrers/$LATE"
expect_eq "referrers still lists it once the subject is pushed" "[\"$EARLY\"]" \
	"$(jq -c '[.manifests[].digest]' "$BODY")"
req GET "$REG2/v2/$R/referrers/$LATE"
expect_eq "node 2 lists the same referrers" "[\"$EARLY\"]" "$(jq -c '[.manifests[].digest]' "$BODY")"

# Pushing a referrer twice does not duplicate it.
manifest_push "$REG" "$R" again "$W/a1.json"
req GET "$REG/v2/$R/referrers/$S"
expect_eq "re-pushing a referrer under a tag does not duplicate it" 3 "$(jq '.manifests | length' "$BODY")"

expect_status "referrers with an invalid digest is 400" 400 GET "$REG/v2/$R/referrers/sha256:nothex"
