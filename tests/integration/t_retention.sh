#!/bin/bash
# Retention policies: dry runs list exactly the tags a run would delete
# and delete nothing; runs delete exactly those (tags only) and keep
# excluded and immutable tags; keep-N, older-than-D (updated_at backdated
# with psql) and both; namespace policies; who may; bad policies refused;
# the schedule on two extra nodes at once deletes each tag once. Names
# start with "tret" and "tsch"; the database is shared.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/extra.sh"
A=$AUTHD/api/v1
. "$(dirname "$0")/api.sh"

W=$SCRATCH/w
mkdir -p "$W"
ADMIN=admin:$AUTHD_ADMIN_PASSWORD
OWNER=tret-owner:ownerpass1
DEV=tret-dev:devpass123
OUT=tret-out:outpass123
CTL=$BUILD/berthctl

# tags REPO: the repository's tags, sorted, on one line.
tags() {
	sql "SELECT coalesce(string_agg(t.name, ' ' ORDER BY t.name), '') FROM tags t
		JOIN repositories r ON r.id = t.repository_id WHERE r.name = '$1'"
}
# age REPO DAYS TAG...: sets the tags' updated_at DAYS days back (plus
# one second per position, so that their order is the arguments').
age() {
	local repo=$1 days=$2 i=0 t
	shift 2
	for t in "$@"; do
		sql "UPDATE tags SET updated_at = now() - interval '$days days' - interval '$((100 - i)) seconds'
			WHERE repository_id = (SELECT id FROM repositories WHERE name = '$repo') AND name = '$t'" >/dev/null
		i=$((i + 1))
	done
}
# push REPO TAG...: tags the fixture manifest as each TAG.
push() {
	local repo=$1 t f
	shift
	for f in "$W/img"/config.json "$W/img"/layer*; do
		blob_push "$REG" "$repo" "$f" || not_ok "$repo: blob pushed" "status $STATUS"
	done
	for t in "$@"; do
		manifest_push "$REG" "$repo" "$t" "$W/img/manifest.json" ||
			not_ok "$repo:$t pushed" "status $STATUS"
	done
}
# plan: the tags of the last dry run's or run's answer, as repo:tag.
plan() { jq -r '[(.tags // .deleted)[] | "\(.repository):\(.tag)"] | join(" ")' "$BODY"; }
policies() { sql "SELECT count(*) FROM retention_policies WHERE namespace LIKE 'tret%'"; }
ctl() {
	BERTH_URL=$AUTHD BERTH_USER=${1%%:*} BERTH_PASSWORD=${1#*:} "$CTL" "${@:2}" >"$W/ctl.out" 2>"$W/ctl.err"
}

for u in ${OWNER%%:*}:${OWNER#*:} ${DEV%%:*}:${DEV#*:} ${OUT%%:*}:${OUT#*:}; do
	want "admin creates ${u%%:*}" 201 "$ADMIN" POST /users \
		"{\"name\":\"${u%%:*}\",\"password\":\"${u#*:}\"}"
done
want "the owner creates organization tret" 201 "$OWNER" POST /orgs '{"name":"tret"}'
want "tret-dev is a member" 200 "$OWNER" PUT /orgs/tret/members/tret-dev '{"role":"member"}'
want "tret-dev may write tret/app" 200 "$OWNER" PUT /repositories/tret/app/grants/users/tret-dev '{"level":"write"}'
want "organization tret2" 201 "$OWNER" POST /orgs '{"name":"tret2"}'
want "tags v* are immutable in tret" 201 "$OWNER" POST /immutable-rules '{"namespace":"tret","pattern":"v*"}'
image_make "$W/img" 1 200
image_push "$REG" tret/app base "$W/img" || not_ok "fixture image pushed" "status $STATUS"
MD=$IMG_DIGEST

# ---- older than D days, exclusions, immutable tags ---------------------------
push tret/app t1 t2 t3 t4 t5 t6 t7 latest stable-1 v1
age tret/app 40 t1 t2 t3 t4 stable-1 v1 base
age tret/app 10 t5 t6
want "the owner adds a policy: older than 30 days, stable-* and latest excluded" 201 "$OWNER" \
	POST /retention-policies '{"repository":"tret/app","older_than_days":30,"exclude":["stable-*","latest","base"],"enabled":false}'
P1=$(jqb .id)
expect_eq "the policy as stored" '["tret/app","*",["stable-*","latest","base"],null,30,false]' \
	"$(jqb '[.repository, .pattern, .exclude, .keep_last, .older_than_days, .enabled]')"
expect_eq "its row" '*|{stable-*,latest,base}|{stable-%,latest,base}|30|f' \
	"$(sql "SELECT pattern, exclude, exclude_like, older_than_days, enabled FROM retention_policies WHERE id = $P1")"
expect_eq "audit: retention.add" 'tret-owner|tret/app' \
	"$(sql "SELECT actor, target FROM audit_log WHERE action = 'retention.add' ORDER BY id DESC LIMIT 1")"
before=$(tags tret/app)
want "dry run" 200 "$DEV" POST "/retention-policies/$P1/dry-run"
expect_eq "the dry run lists t1..t4, oldest first" \
	"tret/app:t1 tret/app:t2 tret/app:t3 tret/app:t4" "$(plan)"
expect_eq "the dry run's count" "4 false" "$(jq -r '"\(.count) \(.more)"' "$BODY")"
expect_eq "the dry run deleted nothing" "$before" "$(tags tret/app)"
want "a writer may not run it: 403" 403 "$DEV" POST "/retention-policies/$P1/run"
expect_eq "the refused run deleted nothing" "$before" "$(tags tret/app)"
want "the owner runs it" 200 "$OWNER" POST "/retention-policies/$P1/run"
expect_eq "the run deleted t1..t4" "tret/app:t1 tret/app:t2 tret/app:t3 tret/app:t4" "$(plan)"
expect_eq "what is left: the young, the excluded, the immutable" \
	"base latest stable-1 t5 t6 t7 v1" "$(tags tret/app)"
expect_eq "only tags went: the manifest stays" 1 \
	"$(sql "SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = 'tret/app' AND m.digest = '$MD'")"
expect_eq "audit: one retention.run by tret-owner listing the four" \
	"tret-owner|tret/app|4|t1,t2,t3,t4" \
	"$(sql "SELECT actor, target, detail->>'count', (SELECT string_agg(e->>'tag', ',') FROM jsonb_array_elements(detail->'deleted') e) FROM audit_log WHERE action = 'retention.run' AND (detail->>'policy')::bigint = $P1")"
expect_eq "the run is recorded on the policy" "4 t" \
	"$(sql "SELECT last_deleted, last_run_at IS NOT NULL FROM retention_policies WHERE id = $P1" | tr '|' ' ')"
want "a second dry run lists nothing" 200 "$OWNER" POST "/retention-policies/$P1/dry-run"
expect_eq "nothing left to delete" "0 " "$(jq -r .count "$BODY") $(plan)"

# ---- keep the N most recent ----------------------------------------------------
push tret/keep k1 k2 k3 k4 k5 k6 v2 base
age tret/keep 5 v2 k1 k2 k3 k4 k5 k6
want "keep the 2 most recent (base excluded)" 201 "$OWNER" POST /retention-policies \
	'{"repository":"tret/keep","keep_last":2,"exclude":["base"],"enabled":false}'
P2=$(jqb .id)
want "dry run of keep 2" 200 "$OWNER" POST "/retention-policies/$P2/dry-run"
expect_eq "keep 2 would delete k1..k4 (not v2: immutable, not counted)" \
	"tret/keep:k1 tret/keep:k2 tret/keep:k3 tret/keep:k4" "$(plan)"
manifest_push "$REG" tret/keep k1 "$W/img/manifest.json"
want "dry run after k1 is pushed again" 200 "$OWNER" POST "/retention-policies/$P2/dry-run"
expect_eq "a push makes k1 the newest: k2..k5 would go" \
	"tret/keep:k2 tret/keep:k3 tret/keep:k4 tret/keep:k5" "$(plan)"
want "run keep 2" 200 "$OWNER" POST "/retention-policies/$P2/run"
expect_eq "k1 and k6 are kept, with v2 and base" "base k1 k6 v2" "$(tags tret/keep)"

# ---- both: keep 3, and of the rest those older than 45 days -------------------
push tret/both b1 b2 b3 b4 b5 b6
age tret/both 60 b1 b2
age tret/both 50 b3
age tret/both 40 b4 b5
want "keep 3 and older than 45 days" 201 "$OWNER" POST /retention-policies \
	'{"repository":"tret/both","keep_last":3,"older_than_days":45,"pattern":"b?","enabled":false}'
P3=$(jqb .id)
want "dry run of both" 200 "$OWNER" POST "/retention-policies/$P3/dry-run"
expect_eq "b6 b5 b4 kept as newest; b1..b3 older than 45 days would go" \
	"tret/both:b1 tret/both:b2 tret/both:b3" "$(plan)"
want "PATCH keep_last 4" 200 "$OWNER" PATCH "/retention-policies/$P3" '{"keep_last":4}'
expect_eq "the answer has the new bound, the other as it was" "4 45" \
	"$(jq -r '"\(.keep_last) \(.older_than_days)"' "$BODY")"
expect_eq "audit: retention.update with the changes" 'tret/both|{"keep_last": 4}' \
	"$(sql "SELECT target, detail->'changes' FROM audit_log WHERE action = 'retention.update' ORDER BY id DESC LIMIT 1")"
want "dry run with keep 4" 200 "$OWNER" POST "/retention-policies/$P3/dry-run"
expect_eq "keep 4 also keeps b3" "tret/both:b1 tret/both:b2" "$(plan)"
ctl "$OWNER" retention update "$P3" --older-than 55
expect_eq "berthctl retention update --older-than" "0 4 55" \
	"$? $(jq -r '"\(.keep_last) \(.older_than_days)"' "$W/ctl.out")"
want "dry run with older than 55" 200 "$OWNER" POST "/retention-policies/$P3/dry-run"
expect_eq "only b1 and b2 are older than 55 days" "tret/both:b1 tret/both:b2" "$(plan)"
want "a writer may not PATCH: 403" 403 "$DEV" PATCH "/retention-policies/$P1" '{"keep_last":1}'
want "a member without a grant on tret/both: 404" 404 "$DEV" PATCH "/retention-policies/$P3" '{"keep_last":1}'
want "PATCH lifting both bounds: 400" 400 "$OWNER" PATCH "/retention-policies/$P3" \
	'{"keep_last":null,"older_than_days":null}'
want "PATCH with an unknown field: 400" 400 "$OWNER" PATCH "/retention-policies/$P3" '{"every":1}'
want "PATCH with a bad exclusion: 400" 400 "$OWNER" PATCH "/retention-policies/$P3" '{"exclude":["%"]}'
expect_eq "the refused PATCHes changed nothing" "4|55|{}|b?" \
	"$(sql "SELECT keep_last, older_than_days, exclude, pattern FROM retention_policies WHERE id = $P3")"
want "PATCH keep_last 5" 200 "$OWNER" PATCH "/retention-policies/$P3" '{"keep_last":5}'
want "dry run with keep 5" 200 "$OWNER" POST "/retention-policies/$P3/dry-run"
expect_eq "keep 5, older than 55: b1 only" "tret/both:b1" "$(plan)"
want "run it" 200 "$OWNER" POST "/retention-policies/$P3/run"
expect_eq "b1 went" "b2 b3 b4 b5 b6" "$(tags tret/both)"

ctl "$OWNER" retention enable "$P1"
expect_eq "berthctl retention enable" "0 true" "$? $(jq .enabled "$W/ctl.out")"
ctl "$OWNER" retention disable "$P1"
expect_eq "berthctl retention disable" "0 false" "$? $(jq .enabled "$W/ctl.out")"
expect_eq "the row says disabled" f "$(sql "SELECT enabled FROM retention_policies WHERE id = $P1")"

# ---- a tag pushed again while a run deletes: left alone ---------------------
push tret/race r1 r2 r3
age tret/race 40 r1 r2 r3
want "older than 30 days on tret/race" 201 "$OWNER" POST /retention-policies \
	'{"repository":"tret/race","older_than_days":30,"enabled":false}'
PR=$(jqb .id)
# r1's push holds its row (as a manifest PUT's upsert does) across the run.
psql -X -q -c "BEGIN; UPDATE tags SET updated_at = now() WHERE name = 'r1'
	AND repository_id = (SELECT id FROM repositories WHERE name = 'tret/race');
	SELECT pg_sleep(1.5); COMMIT;" >/dev/null 2>"$W/race.err" &
late=$!
sleep 0.5
want "a run while r1 is pushed again" 200 "$OWNER" POST "/retention-policies/$PR/run"
wait "$late"
expect_eq "the run waited for r1's push and left it: r2 and r3 went" \
	"tret/race:r2 tret/race:r3" "$(plan)"
expect_eq "r1 stays" "r1" "$(tags tret/race)"

# ---- a namespace policy, through berthctl ------------------------------------
for r in tret/x tret/y/z tret2/x tretx/x; do
	push "$r" tmp-1 tmp-2 keep
	age "$r" 3 tmp-1 keep
done
ctl "$OWNER" retention add --namespace tret --pattern 'tmp-*' --older-than 2 --disabled
expect_eq "berthctl retention add --namespace" "0 tret null tmp-* 2 false" \
	"$? $(jq -r '[.namespace, .repository, .pattern, .older_than_days, .enabled] | map(tostring) | join(" ")' "$W/ctl.out")"
P4=$(jq -r .id "$W/ctl.out")
ctl "$OWNER" retention dry-run "$P4"
expect_eq "berthctl retention dry-run: tmp-1 in each repository of tret, no other" \
	"0 tret/x:tmp-1 tret/y/z:tmp-1" \
	"$? $(jq -r '[.tags[] | "\(.repository):\(.tag)"] | sort | join(" ")' "$W/ctl.out")"
ctl "$OWNER" retention list --namespace tret
expect_eq "berthctl retention list --namespace holds the five" "0 5" "$? $(jq length "$W/ctl.out")"
ctl "$DEV" retention run "$P4"
expect_eq "berthctl retention run by a writer: exit 1" 1 "$?"
ctl "$OWNER" retention run "$P4"
expect_eq "berthctl retention run" "0 2" "$? $(jq .count "$W/ctl.out")"
expect_eq "tret/x keeps tmp-2 and keep" "keep tmp-2" "$(tags tret/x)"
expect_eq "tret/y/z keeps tmp-2 and keep" "keep tmp-2" "$(tags tret/y/z)"
expect_eq "tret2/x is another namespace: untouched" "keep tmp-1 tmp-2" "$(tags tret2/x)"
expect_eq "tretx/x is no repository of tret: untouched" "keep tmp-1 tmp-2" "$(tags tretx/x)"
ctl "$OWNER" retention add tret/x --keep 1 --exclude 'keep,tmp-?' --pattern '*'
expect_eq "berthctl retention add REPO --keep --exclude" '0 ["keep","tmp-?"] 1 true' \
	"$? $(jq -c .exclude "$W/ctl.out") $(jq -r '"\(.keep_last) \(.enabled)"' "$W/ctl.out")"
P5=$(jq -r .id "$W/ctl.out")
ctl "$OWNER" retention remove "$P5"
expect_eq "berthctl retention remove" "0 removed policy $P5" "$? $(cat "$W/ctl.out")"
expect_eq "the policy is gone" 0 "$(sql "SELECT count(*) FROM retention_policies WHERE id = $P5")"
expect_eq "audit: retention.remove" 'tret-owner|tret/x' \
	"$(sql "SELECT actor, target FROM audit_log WHERE action = 'retention.remove' ORDER BY id DESC LIMIT 1")"

# ---- who may, and bad policies -------------------------------------------------
n0=$(policies)
want "no credentials: 401" 401 - POST /retention-policies '{"repository":"tret/app","keep_last":1}'
want "a writer may not add: 403" 403 "$DEV" POST /retention-policies '{"repository":"tret/app","keep_last":1}'
want "an outsider: 404" 404 "$OUT" POST /retention-policies '{"namespace":"tret","keep_last":1}'
want "an outsider may not dry-run: 404" 404 "$OUT" POST "/retention-policies/$P1/dry-run"
want "an outsider may not read a policy: 404" 404 "$OUT" GET "/retention-policies/$P1"
want "a writer reads it" 200 "$DEV" GET "/retention-policies/$P1"
want "a writer may not remove it: 403" 403 "$DEV" DELETE "/retention-policies/$P1"
for bad in '{"repository":"tret/app"}' \
	'{"repository":"tret/app","keep_last":-1}' \
	'{"repository":"tret/app","keep_last":1000001}' \
	'{"repository":"tret/app","keep_last":"3"}' \
	'{"repository":"tret/app","keep_last":1.5}' \
	'{"repository":"tret/app","older_than_days":0}' \
	'{"repository":"tret/app","older_than_days":36501}' \
	'{"repository":"tret/app","older_than_days":99999999999999999999}' \
	'{"repository":"tret/app","keep_last":1,"pattern":"v%"}' \
	'{"repository":"tret/app","keep_last":1,"pattern":""}' \
	'{"repository":"tret/app","keep_last":1,"exclude":"latest"}' \
	'{"repository":"tret/app","keep_last":1,"exclude":["ok","-bad"]}' \
	'{"repository":"tret/app","keep_last":1,"exclude":[1]}' \
	"{\"repository\":\"tret/app\",\"keep_last\":1,\"exclude\":[$(printf '"e%d",' {1..33} | sed 's/,$//')]}" \
	'{"repository":"tret/app","keep_last":1,"enabled":"no"}' \
	'{"repository":"tret/app","keep_last":1,"every":3}' \
	'{"namespace":"tret","repository":"tret/app","keep_last":1}'; do
	want "bad policy $(head -c 60 <<<"$bad"): 400" 400 "$OWNER" POST /retention-policies "$bad"
done
want "32 exclusions are allowed" 201 "$OWNER" POST /retention-policies \
	"{\"repository\":\"tret/app\",\"keep_last\":1,\"enabled\":false,\"exclude\":[$(printf '"e%d",' {1..32} | sed 's/,$//')]}"
expect_eq "no bad policy was stored" "$((n0 + 1))" "$(policies)"
want "an unknown policy: 404" 404 "$OWNER" POST /retention-policies/999999999/run
want "a bad policy id: 404" 404 "$OWNER" GET /retention-policies/x1

# ---- the schedule: two nodes at once, overlapping policies --------------------
want "organization tsch" 201 "$OWNER" POST /orgs '{"name":"tsch"}'
want "tags s-imm* are immutable in tsch" 201 "$OWNER" POST /immutable-rules '{"namespace":"tsch","pattern":"s-imm*"}'
all=''
for r in tsch/a tsch/b; do
	s=$(seq -f 's%g' 1 30)
	# shellcheck disable=SC2086
	push "$r" $s s-imm s-new
	# shellcheck disable=SC2086
	age "$r" 50 $s s-imm
	all="$all $(printf "$r:%s " $s)"
done
want "policy on tsch/a" 201 "$OWNER" POST /retention-policies '{"repository":"tsch/a","pattern":"s*","older_than_days":30,"enabled":false}'
S1=$(jqb .id)
want "policy on tsch/b" 201 "$OWNER" POST /retention-policies '{"repository":"tsch/b","pattern":"s*","older_than_days":30,"enabled":false}'
S2=$(jqb .id)
want "an overlapping policy on namespace tsch" 201 "$OWNER" POST /retention-policies '{"namespace":"tsch","pattern":"s*","older_than_days":30,"enabled":false}'
S3=$(jqb .id)
extra_start "$W/n1" REGISTRYD_RETENTION_INTERVAL=1 || not_ok "extra node 1 starts" "$(tail -n 5 "$W/n1/log")"
PID1=$EXTRA_PID
extra_start "$W/n2" REGISTRYD_RETENTION_INTERVAL=1 || not_ok "extra node 2 starts" "$(tail -n 5 "$W/n2/log")"
PID2=$EXTRA_PID
# Enabled at once, due now: both nodes look every second.
sql "UPDATE retention_policies SET enabled = true, next_run_at = now() WHERE id IN ($S1, $S2, $S3)" >/dev/null
for ((i = 0; i < 200; i++)); do
	[ "$(tags tsch/a)$(tags tsch/b)" = "s-imm s-news-imm s-new" ] &&
		[ "$(sql "SELECT count(*) FROM retention_policies WHERE id IN ($S1, $S2, $S3) AND last_run_at IS NOT NULL")" = 3 ] &&
		break
	sleep 0.1
done
expect_eq "the schedule deleted the 60 old tags, kept s-imm and s-new" \
	"s-imm s-new|s-imm s-new" "$(tags tsch/a)|$(tags tsch/b)"
got=$(sql "SELECT e->>'repository' || ':' || (e->>'tag') FROM audit_log a,
	jsonb_array_elements(a.detail->'deleted') e WHERE a.action = 'retention.run'
	AND (a.detail->>'policy')::bigint IN ($S1, $S2, $S3)" | LC_ALL=C sort)
expect_eq "the runs' audit records list each of the 60 tags once" \
	"$(tr ' ' '\n' <<<"$all" | grep . | LC_ALL=C sort)" "$got"
expect_eq "the scheduled runs are the system's" "retention" \
	"$(sql "SELECT string_agg(DISTINCT actor, ',') FROM audit_log WHERE action = 'retention.run' AND (detail->>'policy')::bigint IN ($S1, $S2, $S3)")"
expect_eq "each policy's next run is a second after its last" 3 \
	"$(sql "SELECT count(*) FROM retention_policies WHERE id IN ($S1, $S2, $S3) AND next_run_at > last_run_at")"
ran1=$(grep -c 'retention: policy' "$W/n1/log")
ran2=$(grep -c 'retention: policy' "$W/n2/log")
expect_match "the extra nodes logged the runs that deleted tags" '^[1-9]' "$((ran1 + ran2))"
EXTRA_PID=$PID1 EXTRA_DIR=$W/n1
extra_stop
expect_eq "extra node 1 stops cleanly" 0 "$?"
EXTRA_PID=$PID2 EXTRA_DIR=$W/n2
extra_stop
expect_eq "extra node 2 stops cleanly" 0 "$?"
want "deleting the organization takes its policies" 204 "$OWNER" DELETE "/orgs/tsch?delete_repositories=true"
expect_eq "tsch's policies went with it" 0 "$(sql "SELECT count(*) FROM retention_policies WHERE namespace = 'tsch'")"
