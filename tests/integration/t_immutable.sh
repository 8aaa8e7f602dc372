#!/bin/bash
# Tag immutability: rules per repository and per namespace, managed in
# authd (who may, bad patterns, audit) and enforced by registryd (moves,
# deletes by tag and by digest refused with DENIED and nothing changed,
# same-digest pushes and new tags allowed, glob matching, racing pushes to
# a new immutable tag, skopeo's view of the refusal). State is checked in
# the database. Names start with "timm"; the database is shared.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
A=$AUTHD/api/v1
. "$(dirname "$0")/api.sh"

W=$SCRATCH/w
mkdir -p "$W"
ADMIN=admin:$AUTHD_ADMIN_PASSWORD
OWNER=timm-owner:ownerpass1
DEV=timm-dev:devpass123
RADM=timm-radm:radmpass12
OUT=timm-out:outpass123
CTL=$BUILD/berthctl
repo_id() { sql "SELECT id FROM repositories WHERE name = '$1'"; }
tag_digest() {
	sql "SELECT t.digest FROM tags t JOIN repositories r ON r.id = t.repository_id
		WHERE r.name = '$1' AND t.name = '$2'"
}
rules() { sql "SELECT count(*) FROM immutable_rules WHERE namespace LIKE 'timm%'"; }

# refused NAME TAG RULE: the last answer is 403 DENIED naming TAG and RULE.
refused() {
	local msg
	msg=$(jq -r '.errors[0].message' "$BODY" 2>/dev/null)
	expect_eq "$1: 403 DENIED \"$msg\"" \
		"403 DENIED tag $2 is immutable (rule $3)" \
		"$STATUS $(jq -r '.errors[0].code' "$BODY" 2>/dev/null) $msg"
}

# ---- fixtures: an organization, its owner, a writer, a repository admin,
# an outsider; images A and B ----------------------------------------------
for u in ${OWNER%%:*}:${OWNER#*:} ${DEV%%:*}:${DEV#*:} \
	${RADM%%:*}:${RADM#*:} ${OUT%%:*}:${OUT#*:}; do
	want "admin creates ${u%%:*}" 201 "$ADMIN" POST /users \
		"{\"name\":\"${u%%:*}\",\"password\":\"${u#*:}\"}"
done
want "the owner creates organization timm" 201 "$OWNER" POST /orgs '{"name":"timm"}'
want "timm-dev is a member" 200 "$OWNER" PUT /orgs/timm/members/timm-dev '{"role":"member"}'
want "timm-dev may write timm/app" 200 "$OWNER" PUT /repositories/timm/app/grants/users/timm-dev '{"level":"write"}'
want "timm-radm is admin of timm/app" 200 "$OWNER" PUT /repositories/timm/app/grants/users/timm-radm '{"level":"admin"}'
want "a second organization, timm2" 201 "$OWNER" POST /orgs '{"name":"timm2"}'

R=timm/app
image_make "$W/a" 1 300
image_push "$REG" "$R" v1 "$W/a" || not_ok "image A pushed as v1" "status $STATUS"
MA=$IMG_DIGEST
image_make "$W/b" 1 300
image_push "$REG" "$R" dev "$W/b" || not_ok "image B pushed as dev" "status $STATUS"
MB=$IMG_DIGEST
manifest_push "$REG" "$R" v1.1 "$W/a/manifest.json"
manifest_push "$REG" "$R" keep "$W/a/manifest.json"

# ---- management: who may, what is stored -------------------------------------
want "no credentials: 401" 401 - POST /immutable-rules '{"repository":"timm/app","pattern":"v*"}'
want "a writer may not add a rule: 403" 403 "$DEV" POST /immutable-rules \
	'{"repository":"timm/app","pattern":"v*"}'
expect_error_code "the writer's refusal is DENIED" DENIED
want "an outsider gets 404" 404 "$OUT" POST /immutable-rules \
	'{"repository":"timm/app","pattern":"v*"}'
# An admin of one repository cannot read the namespace's policies: 404.
want "a repository admin may not add a namespace rule: 404" 404 "$RADM" POST /immutable-rules \
	'{"namespace":"timm","pattern":"v*"}'
want "an outsider may not add a namespace rule: 404" 404 "$OUT" POST /immutable-rules \
	'{"namespace":"timm","pattern":"*"}'
expect_eq "no rule stored by the refused callers" 0 "$(rules)"
want "the repository admin adds v* on timm/app" 201 "$RADM" POST /immutable-rules \
	'{"repository":"timm/app","pattern":"v*"}'
RULE=$(jqb .id)
expect_eq "the answer is the rule" '["timm","timm/app","v*","timm-radm"]' \
	"$(jqb '[.namespace, .repository, .pattern, .created_by]')"
expect_eq "the rule's row, with its LIKE form" 'timm|timm/app|v*|v%' \
	"$(sql "SELECT namespace, repository, pattern, like_pattern FROM immutable_rules WHERE id = $RULE")"
want "the same rule again: 409" 409 "$OWNER" POST /immutable-rules \
	'{"repository":"timm/app","pattern":"v*"}'
expect_eq "audit: immutable.add by timm-radm" 'timm-radm|timm/app|"v*"' \
	"$(sql "SELECT actor, target, detail->'pattern' FROM audit_log WHERE action = 'immutable.add' AND target = 'timm/app' ORDER BY id DESC LIMIT 1")"
want "the writer may list the repository's rules" 200 "$DEV" GET "/immutable-rules?repository=timm/app"
expect_eq "the list holds the rule" "[$RULE]" "$(jqb '[.items[].id]')"
want "an outsider may not list them: 404" 404 "$OUT" GET "/immutable-rules?repository=timm/app"
want "a writer may not remove the rule: 403" 403 "$DEV" DELETE "/immutable-rules/$RULE"
want "an outsider may not remove the rule: 404" 404 "$OUT" DELETE "/immutable-rules/$RULE"
expect_eq "the rule survives the refused removals" 1 \
	"$(sql "SELECT count(*) FROM immutable_rules WHERE id = $RULE")"

# ---- bad patterns and scopes: 400, nothing stored --------------------------
n0=$(rules)
long=$(printf 'a%.0s' {1..129})
for bad in '""' '".x"' '"-x"' '"v%"' '"v_%"' '"v[0-9]"' '"v 1"' '"v/1"' '"v\\\\1"' \
	'"caf\u00e9"' '"v\t"' "\"$long\"" '1' 'null' '["v*"]'; do
	want "pattern $(head -c 40 <<<"$bad"): 400" 400 "$OWNER" POST /immutable-rules \
		"{\"repository\":\"timm/app\",\"pattern\":$bad}"
done
want "128 bytes are allowed" 201 "$OWNER" POST /immutable-rules \
	"{\"repository\":\"timm/app\",\"pattern\":\"${long:1}\"}"
n0=$((n0 + 1))
want "both namespace and repository: 400" 400 "$OWNER" POST /immutable-rules \
	'{"namespace":"timm","repository":"timm/app","pattern":"x"}'
want "neither: 400" 400 "$OWNER" POST /immutable-rules '{"pattern":"x"}'
want "unknown field: 400" 400 "$OWNER" POST /immutable-rules \
	'{"repository":"timm/app","pattern":"x","tag":"y"}'
want "a repository name without a namespace: 400" 400 "$ADMIN" POST /immutable-rules \
	'{"repository":"timm","pattern":"x"}'
want "a bad namespace name: 400" 400 "$ADMIN" POST /immutable-rules \
	'{"namespace":"Timm","pattern":"x"}'
want "a namespace nobody has: 404" 404 "$ADMIN" POST /immutable-rules \
	'{"namespace":"timm-nobody","pattern":"x"}'
want "a bad rule id: 404" 404 "$ADMIN" DELETE "/immutable-rules/1x"
want "rule id 0: 404" 404 "$ADMIN" DELETE "/immutable-rules/0"
want "a huge rule id: 404" 404 "$ADMIN" DELETE "/immutable-rules/99999999999999999999999"
want "an unknown rule: 404" 404 "$ADMIN" DELETE "/immutable-rules/999999999"
expect_eq "no bad pattern or scope was stored" "$n0" "$(rules)"
check "the database refuses a bad pattern too" \
	bash -c "! psql -X -q -c \"INSERT INTO immutable_rules (namespace, pattern) VALUES ('timm', 'v%')\" 2>/dev/null"

# ---- registryd: moves refused, same digest and new tags allowed -------------
RID=$(repo_id "$R")
manifest_push "$REG" "$R" v1 "$W/b/manifest.json"
refused "moving v1 to another manifest" v1 'v*'
expect_eq "v1 still points at A" "$MA" "$(tag_digest "$R" v1)"
expect_eq "tags unchanged after the refusal" "dev=$MB keep=$MA v1=$MA v1.1=$MA" \
	"$(sql "SELECT string_agg(name || '=' || digest, ' ' ORDER BY name) FROM tags WHERE repository_id = $RID")"
manifest_push "$REG2" "$R" v1.1 "$W/b/manifest.json"
refused "moving v1.1 on node 2" v1.1 'v*'
manifest_push "$REG" "$R" v1 "$W/a/manifest.json"
expect_eq "pushing the same manifest to v1 again: 201" 201 "$STATUS"
expect_eq "v1 still points at A after the re-push" "$MA" "$(tag_digest "$R" v1)"
manifest_push "$REG" "$R" v2 "$W/b/manifest.json"
expect_eq "creating a new matching tag v2: 201" 201 "$STATUS"
manifest_push "$REG" "$R" v2 "$W/a/manifest.json"
refused "then moving v2" v2 'v*'
expect_eq "v2 points at B" "$MB" "$(tag_digest "$R" v2)"
manifest_push "$REG" "$R" dev "$W/a/manifest.json"
expect_eq "a tag no rule matches moves: 201" 201 "$STATUS"
expect_eq "dev moved to A" "$MA" "$(tag_digest "$R" dev)"

# A new manifest (C) refused at v1 leaves no manifest row behind.
image_make "$W/c" 1 200
image_push "$REG" "$R" v1 "$W/c"
refused "a new manifest pushed to v1" v1 'v*'
MC=$IMG_DIGEST
expect_eq "manifest C was not stored" 0 \
	"$(sql "SELECT count(*) FROM manifests WHERE repository_id = $RID AND digest = '$MC'")"

# ---- deletes --------------------------------------------------------------
req DELETE "$REG/v2/$R/manifests/v1"
refused "DELETE of tag v1" v1 'v*'
expect_eq "v1 is still there" "$MA" "$(tag_digest "$R" v1)"
req DELETE "$REG/v2/$R/manifests/$MA"
refused "DELETE by digest of the manifest v1 points at" v1 'v*'
expect_eq "manifest A and its tags are still there" "1|dev=$MA keep=$MA v1=$MA v1.1=$MA" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $RID AND digest = '$MA'),
		(SELECT string_agg(name || '=' || digest, ' ' ORDER BY name) FROM tags WHERE repository_id = $RID AND digest = '$MA')")"
expect_status "A is still pullable by v1" 200 GET "$REG/v2/$R/manifests/v1"
expect_status "DELETE of a tag no rule matches: 202" 202 DELETE "$REG/v2/$R/manifests/keep"
expect_status "DELETE of an unknown matching tag: 404" 404 DELETE "$REG/v2/$R/manifests/v404"
image_make "$W/d" 1 100
image_push "$REG" "$R" scratch "$W/d"
expect_status "DELETE by digest of a manifest only mutable tags point at: 202" 202 \
	DELETE "$REG/v2/$R/manifests/$IMG_DIGEST"

# A tag that comes to point at the manifest while its DELETE runs: the
# delete locks the manifest first, so it waits for the tag's transaction
# and then sees the new immutable tag (a check before the lock would miss
# it, and the delete would take the tag with it).
image_make "$W/e" 1 100
image_push "$REG" "$R" mutable-e "$W/e" || not_ok "image E pushed" "status $STATUS"
ME=$IMG_DIGEST
psql -X -q -c "BEGIN; INSERT INTO tags (repository_id, name, digest)
	VALUES ($RID, 'v-late', '$ME'); SELECT pg_sleep(1.5); COMMIT;" >/dev/null 2>"$W/late.err" &
late=$!
sleep 0.5
req DELETE "$REG/v2/$R/manifests/$ME"
wait "$late"
refused "a DELETE by digest racing a new immutable tag" v-late 'v*'
expect_eq "manifest E and both its tags survive" "1|mutable-e v-late" \
	"$(sql "SELECT (SELECT count(*) FROM manifests WHERE repository_id = $RID AND digest = '$ME'),
		(SELECT string_agg(name, ' ' ORDER BY name) FROM tags WHERE repository_id = $RID AND digest = '$ME')")"

# ---- patterns: "?" is one character, "_" and "." are themselves -------------
P=timm/pat
want "rules rc_? and *-final on timm/pat" 201 "$OWNER" POST /immutable-rules \
	'{"repository":"timm/pat","pattern":"rc_?"}'
want "second rule" 201 "$OWNER" POST /immutable-rules \
	'{"repository":"timm/pat","pattern":"*-final"}'
want "third rule: 1.?.x" 201 "$OWNER" POST /immutable-rules \
	'{"repository":"timm/pat","pattern":"1.?.x"}'
image_push "$REG" "$P" base "$W/a" || not_ok "timm/pat base pushed" "status $STATUS"
image_push "$REG" "$P" bimg "$W/b" || not_ok "timm/pat bimg pushed" "status $STATUS"
for t in rc_1 rcx1 rc_12 rc_ a-final final x-finals 1.2.x 1x2.x 1.22.x; do
	manifest_push "$REG" "$P" "$t" "$W/a/manifest.json"
done
moved=''
for t in rc_1 rcx1 rc_12 rc_ a-final final x-finals 1.2.x 1x2.x 1.22.x; do
	manifest_push "$REG" "$P" "$t" "$W/b/manifest.json" && moved="$moved $t"
done
expect_eq "tags that move: those no pattern matches" " rcx1 rc_12 rc_ final x-finals 1x2.x 1.22.x" "$moved"
expect_eq "the matched ones still point at A" "1.2.x a-final rc_1" \
	"$(sql "SELECT string_agg(t.name, ' ' ORDER BY t.name COLLATE \"C\") FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = '$P' AND t.digest = '$MA' AND t.name <> 'base'")"
manifest_push "$REG" "$P" rc_1 "$W/b/manifest.json"
refused "the refusal names the rule that matched" rc_1 'rc_?'

# ---- namespace rules: every repository of the namespace, no other -----------
want "the owner adds release-* on namespace timm" 201 "$OWNER" POST /immutable-rules \
	'{"namespace":"timm","pattern":"release-*"}'
NSRULE=$(jqb .id)
expect_eq "the namespace rule's row" 'timm||release-*' \
	"$(sql "SELECT namespace, repository, pattern FROM immutable_rules WHERE id = $NSRULE")"
for r in timm/other timm/deep/er timm/new timm2/app timmx/app; do
	image_push "$REG" "$r" release-1 "$W/a" ||
		not_ok "release-1 pushed to $r" "status $STATUS"
	image_push "$REG" "$r" bimg "$W/b" ||
		not_ok "image B pushed to $r" "status $STATUS"
	manifest_push "$REG" "$r" release-1 "$W/b/manifest.json"
	case $r in
	timm/*) refused "namespace rule holds in $r" release-1 'release-*' ;;
	*) expect_eq "namespace rule does not reach $r" 201 "$STATUS" ;;
	esac
done
want "the writer lists the rules that apply to timm/app" 200 "$DEV" GET "/immutable-rules?repository=timm/app"
expect_eq "the repository's and the namespace's" "true" \
	"$(jqb "[.items[].id] | (index($RULE) != null) and (index($NSRULE) != null)")"
want "the owner lists the namespace's rules" 200 "$OWNER" GET "/immutable-rules?namespace=timm&limit=2"
expect_eq "a page of two, with a next" '2 true' "$(jq -r '[(.items | length), (.next != null)] | map(tostring) | join(" ")' "$BODY")"
want "timm-radm may not remove the namespace rule: 404" 404 "$RADM" DELETE "/immutable-rules/$NSRULE"
want "timm-dev, a member with a repository grant, does not see it: 404" 404 "$DEV" DELETE "/immutable-rules/$NSRULE"

# ---- racing pushes to a new immutable tag: one wins, the rest are refused ---
for i in 1 2 3 4 5 6; do
	image_make "$W/race$i" 1 64
	for f in "$W/race$i"/config.json "$W/race$i"/layer*; do
		blob_push "$REG" "$R" "$f" >/dev/null
	done
done
for i in 1 2 3 4 5 6; do
	base=$REG
	[ $((i % 2)) = 0 ] && base=$REG2
	curl -s -o /dev/null -w '%{http_code}\n' -X PUT \
		-H "Content-Type: $MT_OCI_MANIFEST" \
		--data-binary @"$W/race$i/manifest.json" \
		"$base/v2/$R/manifests/v-race" >"$W/race$i.status" &
done
wait
expect_eq "six racing pushes to new tag v-race: one 201, five 403" "1 5" \
	"$(cat "$W"/race*.status | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
win=''
for i in 1 2 3 4 5 6; do
	[ "$(cat "$W/race$i.status")" = 201 ] && win=$(sha256_of "$W/race$i/manifest.json")
done
expect_eq "v-race points at the winner's manifest" "$win" "$(tag_digest "$R" v-race)"

# ---- berthctl ----------------------------------------------------------------
ctl() {
	BERTH_URL=$AUTHD BERTH_USER=${1%%:*} BERTH_PASSWORD=${1#*:} "$CTL" "${@:2}" >"$W/ctl.out" 2>"$W/ctl.err"
}
ctl "$OWNER" immutable add --namespace timm2 'prod-*'
expect_eq "berthctl immutable add --namespace" "0 timm2 null prod-*" \
	"$? $(jq -r '[.namespace, .repository, .pattern] | map(tostring) | join(" ")' "$W/ctl.out")"
CTLRULE=$(jq -r .id "$W/ctl.out")
ctl "$OWNER" immutable add timm2/app 'v?'
expect_eq "berthctl immutable add REPO" "0 timm2/app v?" \
	"$? $(jq -r '[.repository, .pattern] | join(" ")' "$W/ctl.out")"
ctl "$OWNER" immutable list --namespace timm2
expect_eq "berthctl immutable list --namespace" '0 prod-*,v?' \
	"$? $(jq -r 'map(.pattern) | join(",")' "$W/ctl.out")"
ctl "$DEV" immutable add --namespace timm2 'x'
expect_eq "berthctl immutable add by a non-member: exit 1, 404" "1 true" \
	"$? $(grep -q 'not found' "$W/ctl.err" && echo true)"
ctl "$OWNER" immutable add timm2/app 'v%'
expect_eq "berthctl immutable add with a bad pattern: exit 1" 1 "$?"
ctl "$OWNER" immutable remove "$CTLRULE"
expect_eq "berthctl immutable remove" "0 removed rule $CTLRULE" "$? $(cat "$W/ctl.out")"
expect_eq "the rule is gone" 0 "$(sql "SELECT count(*) FROM immutable_rules WHERE id = $CTLRULE")"

# ---- a real client sees the refusal ---------------------------------------
oci_layout_make "$W/lay" 1 2
if timeout 120 "${SKOPEO[@]}" copy --dest-tls-verify=false "oci:$W/lay:1" \
	"docker://$REG_HOSTPORT/$R:v1" >"$W/sk.log" 2>&1; then
	not_ok "skopeo copy onto immutable v1 fails" "it succeeded"
else
	expect_match "skopeo shows the registry's reason" \
		'denied: tag v1 is immutable \(rule v\*\)' "$(cat "$W/sk.log")"
fi
expect_eq "v1 still points at A after skopeo" "$MA" "$(tag_digest "$R" v1)"
if timeout 120 "${SKOPEO[@]}" copy --dest-tls-verify=false "oci:$W/lay:1" \
	"docker://$REG_HOSTPORT/$R:v9" >"$W/sk.log" 2>&1 &&
	timeout 120 "${SKOPEO[@]}" copy --dest-tls-verify=false "oci:$W/lay:1" \
		"docker://$REG_HOSTPORT/$R:v9" >>"$W/sk.log" 2>&1; then
	ok "skopeo creates v9 and pushes the same image to it again"
else
	not_ok "skopeo creates v9 and pushes the same image to it again" "$(tail -c 300 "$W/sk.log")"
fi
if timeout 60 "${SKOPEO[@]}" delete --tls-verify=false \
	"docker://$REG_HOSTPORT/$R:v9" >"$W/sk.log" 2>&1; then
	not_ok "skopeo delete of immutable v9 fails" "it succeeded"
else
	expect_match "skopeo delete shows the reason" 'tag v9 is immutable' "$(cat "$W/sk.log")"
fi

# ---- removing the rule lifts it -------------------------------------------
want "the owner removes v* from timm/app" 204 "$OWNER" DELETE "/immutable-rules/$RULE"
expect_eq "audit: immutable.remove" 'timm-owner|timm/app|"v*"' \
	"$(sql "SELECT actor, target, detail->'pattern' FROM audit_log WHERE action = 'immutable.remove' ORDER BY id DESC LIMIT 1")"
want "removing it again: 404" 404 "$OWNER" DELETE "/immutable-rules/$RULE"
manifest_push "$REG" "$R" v1 "$W/b/manifest.json"
expect_eq "v1 moves once the rule is gone: 201" 201 "$STATUS"
expect_eq "v1 points at B" "$MB" "$(tag_digest "$R" v1)"
expect_status "and v1 can be deleted: 202" 202 DELETE "$REG/v2/$R/manifests/v1"
expect_eq "v1 is gone" "" "$(tag_digest "$R" v1)"
manifest_push "$REG" "$R" release-2 "$W/a/manifest.json"
manifest_push "$REG" "$R" release-2 "$W/b/manifest.json"
refused "the namespace rule still holds in timm/app" release-2 'release-*'
want "the owner removes the namespace rule" 204 "$OWNER" DELETE "/immutable-rules/$NSRULE"
manifest_push "$REG" "$R" release-2 "$W/b/manifest.json"
expect_eq "release-2 moves once the namespace rule is gone" 201 "$STATUS"
want "deleting the organization takes its rules" 204 "$OWNER" DELETE "/orgs/timm2?delete_repositories=true"
expect_eq "timm2's rules went with it" 0 "$(sql "SELECT count(*) FROM immutable_rules WHERE namespace = 'timm2'")"
