#!/bin/bash
# The permission matrix through the real token flow: each principal asks
# authd for pull, push and delete on tamorg/app and for the catalog; the
# token's access claim must hold exactly what the access model allows,
# and registryd node 4 ($REGA) must serve or refuse (401) each action to
# match. Then public repositories, and which principals may create a new
# repository by pushing to it. Fixtures are written with SQL (auth.sh);
# images are put in through node 1, which shares database and storage.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
PW=tam-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')

# ---- fixtures ----------------------------------------------------------------
setup() {
	local u
	auth_user tamadmin "$PW" admin || return 1
	for u in tamowner tammember tamread tamwrite tamtadmin tamorgw tamdirect tamout tamdis; do
		auth_user "$u" "$PW" || return 1
	done
	auth_org tamorg && auth_org tamx &&
		auth_member tamorg tamowner owner &&
		auth_member tamorg tammember member &&
		auth_team tamorg readers tamread &&
		auth_team tamorg writers tamwrite &&
		auth_team tamorg admins tamtadmin &&
		auth_team tamorg everything tamorgw &&
		auth_grant tamorg tamorg/app 1 team:tamorg/readers &&
		auth_grant tamorg tamorg/app 2 team:tamorg/writers &&
		auth_grant tamorg tamorg/app 3 team:tamorg/admins &&
		auth_grant tamorg - 2 team:tamorg/everything &&
		auth_grant tamorg tamorg/app 2 user:tamdirect &&
		auth_grant tamorg tamorg/app 3 user:tamdis &&
		auth_sa tamorg ci && auth_sa tamorg idle && auth_sa tamorg off &&
		auth_grant tamorg tamorg/app 2 sa:tamorg+ci &&
		auth_grant tamorg tamorg/app 3 sa:tamorg+off || return 1
	# tamdis and tamorg+off would be admins of tamorg/app, but are disabled.
	auth_sql "UPDATE users SET disabled = true WHERE name = 'tamdis';
		UPDATE service_accounts SET disabled = true WHERE name = 'off'" >/dev/null &&
		SA_CI=$(auth_token_new service sa:tamorg+ci) &&
		SA_IDLE=$(auth_token_new service sa:tamorg+idle) &&
		SA_OFF=$(auth_token_new service sa:tamorg+off) &&
		PAT=$(auth_token_new personal user:tamwrite) &&
		PAT_DIS=$(auth_token_new personal user:tamdis) &&
		PAT_REVOKED=$(auth_token_new personal user:tamwrite NULL "now()") &&
		PAT_EXPIRED=$(auth_token_new personal user:tamwrite \
			"now() - interval '1 minute'") || return 1
	for r in tamorg/app tamorg/lib tamorg/pub tamread/own tamx/secret; do
		image_make "$W/img-${r//\//-}" 2 512 && image_push "$REG" "$r" v1 "$W/img-${r//\//-}" || return 1
	done
	auth_sql "UPDATE repositories SET public = true WHERE name = 'tamorg/pub'" >/dev/null
}
if setup; then
	ok "fixtures: users, organization, teams, grants, service accounts, tokens, repositories"
else
	not_ok "fixtures" "setup failed (last status $STATUS)"
	exit 0
fi
APP_MANIFEST=$(sha256_of "$W/img-tamorg-app/manifest.json")
APP_LAYER=$(sha256_of "$W/img-tamorg-app/layer1")

# cred WHO: sets LOGIN and PASS for a principal of the matrix.
cred() {
	PASS=$PW
	case $1 in
	admin) LOGIN=tamadmin ;;
	org-owner) LOGIN=tamowner ;;
	org-member) LOGIN=tammember ;;
	team-read) LOGIN=tamread ;;
	team-write) LOGIN=tamwrite ;;
	team-admin) LOGIN=tamtadmin ;;
	team-orgwide) LOGIN=tamorgw ;;
	user-grant) LOGIN=tamdirect ;;
	outsider) LOGIN=tamout ;;
	anonymous) LOGIN= PASS= ;;
	sa-grant) LOGIN=tamorg+ci PASS=$SA_CI ;;
	sa-nogrant) LOGIN=tamorg+idle PASS=$SA_IDLE ;;
	sa-disabled) LOGIN=tamorg+off PASS=$SA_OFF ;;
	sa-other-login) LOGIN=tamorg+idle PASS=$SA_CI ;;
	pat) LOGIN=tamwrite PASS=$PAT ;;
	pat-other-login) LOGIN=tamadmin PASS=$PAT ;;
	disabled) LOGIN=tamdis ;;
	disabled-pat) LOGIN=tamdis PASS=$PAT_DIS ;;
	revoked-pat) LOGIN=tamwrite PASS=$PAT_REVOKED ;;
	expired-pat) LOGIN=tamwrite PASS=$PAT_EXPIRED ;;
	*) return 1 ;;
	esac
}

# denied WHAT HAD_TOKEN: the last answer is a 401 challenge; with a valid
# token it must say insufficient_scope, without one it names no error.
denied() {
	local c
	c=$(challenge)
	if [ "$STATUS" != 401 ]; then
		not_ok "$1" "want 401, got $STATUS: $(body_head)"
	elif [ "$2" = y ] && [[ $c != *'error="insufficient_scope"'* ]]; then
		not_ok "$1" "401 without error=\"insufficient_scope\": $c"
	elif [ "$2" = n ] && [[ $c == *error=* ]]; then
		not_ok "$1" "401 without a token names an error: $c"
	else
		ok "$1"
	fi
}

# ---- the matrix --------------------------------------------------------------
# Requested: repository:tamorg/app:pull,push,delete and registry:catalog:*.
# token: authd's status; access: the actions granted on tamorg/app; pull,
# push, delete: what $REGA then allows (y) or refuses with 401 (-);
# catalog: the tam* repositories listed ("401": no token, refused).
MATRIX='
# principal     token access            pull push delete catalog
admin           200   delete,pull,push  y    y    y      tamorg/app tamorg/lib tamorg/pub tamread/own tamx/secret
org-owner       200   delete,pull,push  y    y    y      tamorg/app tamorg/lib tamorg/pub
org-member      200   -                 -    -    -      tamorg/pub
team-read       200   pull              y    -    -      tamorg/app tamorg/pub tamread/own
team-write      200   pull,push         y    y    -      tamorg/app tamorg/pub
team-admin      200   delete,pull,push  y    y    y      tamorg/app tamorg/pub
team-orgwide    200   pull,push         y    y    -      tamorg/app tamorg/lib tamorg/pub
user-grant      200   pull,push         y    y    -      tamorg/app tamorg/pub
outsider        200   -                 -    -    -      tamorg/pub
anonymous       200   -                 -    -    -      tamorg/pub
sa-grant        200   pull,push         y    y    -      tamorg/app tamorg/pub
sa-nogrant      200   -                 -    -    -      tamorg/pub
sa-disabled     401   -                 -    -    -      401
sa-other-login  401   -                 -    -    -      401
pat             200   pull,push         y    y    -      tamorg/app tamorg/pub
pat-other-login 401   -                 -    -    -      401
disabled        401   -                 -    -    -      401
disabled-pat    401   -                 -    -    -      401
revoked-pat     401   -                 -    -    -      401
expired-pat     401   -                 -    -    -      401
'

while read -r who want_status want_access pull push del catalog; do
	[ -n "$who" ] && [ "${who:0:1}" != "#" ] || continue
	cred "$who" || { not_ok "$who" "no credentials in cred()"; continue; }
	tok=$(token_for "$LOGIN" "$PASS" "repository:tamorg/app:pull,push,delete" \
		"registry:catalog:*")
	expect_eq "$who: token request answers $want_status" "$want_status" "$(cat "$TOKEN_STATUS")"
	# Refused logins count towards lockouts of the account and of
	# 127.0.0.1, which every test shares: forget ours.
	[ -n "$tok" ] || auth_sql "DELETE FROM login_failures WHERE key IN
		('user:$LOGIN', 'addr:127.0.0.1')" >/dev/null
	had=n
	if [ -n "$tok" ]; then
		had=y
		got=$(jwt_actions "$tok" repository tamorg/app)
		expect_eq "$who: access claim on tamorg/app" "${want_access/#-/}" "$got"
		expect_eq "$who: access claim on registry:catalog" "*" \
			"$(jwt_actions "$tok" registry catalog)"
	fi
	as_bearer "$tok"

	# pull: the manifest and a layer
	req GET "$REGA/v2/tamorg/app/manifests/v1" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
	if [ "$pull" = y ]; then
		if [ "$STATUS" = 200 ] && body_is "$W/img-tamorg-app/manifest.json"; then
			req GET "$REGA/v2/tamorg/app/blobs/$APP_LAYER" "${BEARER[@]}" -L
			if [ "$STATUS" = 200 ] && body_is "$W/img-tamorg-app/layer1"; then
				ok "$who: pull (manifest and blob)"
			else
				not_ok "$who: pull (blob)" "want 200, got $STATUS $(challenge)"
			fi
		else
			not_ok "$who: pull (manifest)" "want 200, got $STATUS $(challenge)"
		fi
	else
		denied "$who: pull of the manifest refused" "$had"
		req GET "$REGA/v2/tamorg/app/blobs/$APP_LAYER" "${BEARER[@]}"
		denied "$who: pull of a blob refused" "$had"
	fi

	# push: blobs and a manifest under a new tag
	image_make "$W/push-$who" 1 256
	if auth_push "$REGA" tamorg/app "push-$who" "$W/push-$who"; then
		if [ "$push" = y ]; then
			ok "$who: push"
		else
			not_ok "$who: push refused" "the push succeeded"
		fi
	elif [ "$push" = y ]; then
		not_ok "$who: push" "got $STATUS $(challenge) $(body_head)"
	else
		denied "$who: push refused" "$had"
		if [ "$had" = y ] && [ "$pull" = y ]; then
			expect_eq "$who: refused push names the level it needs" \
				'push requires write access to repository "tamorg/app"' \
				"$(jq -r '.errors[0].message' "$BODY" 2>/dev/null)"
		fi
		req GET "$REG/v2/tamorg/app/manifests/push-$who"
		expect_eq "$who: refused push left no tag" 404 "$STATUS"
	fi

	# delete: a manifest put in through node 1 for this row
	image_make "$W/del-$who" 1 256
	image_push "$REG" tamorg/app "del-$who" "$W/del-$who" ||
		not_ok "$who: delete setup" "push through node 1: $STATUS"
	d=$(sha256_of "$W/del-$who/manifest.json")
	req DELETE "$REGA/v2/tamorg/app/manifests/$d" "${BEARER[@]}"
	if [ "$del" = y ]; then
		expect_eq "$who: delete" 202 "$STATUS"
	else
		denied "$who: delete refused" "$had"
		if [ "$had" = y ]; then
			# The refusal says which level would do.
			expect_eq "$who: refused delete names the level it needs" \
				'UNAUTHORIZED delete requires admin access to repository "tamorg/app"' \
				"$(jq -r '.errors[0] | "\(.code) \(.message)"' "$BODY" 2>/dev/null)"
			expect_match "$who: refused delete's challenge names the delete scope" \
				'scope="repository:tamorg/app:delete",error="insufficient_scope"' "$(challenge)"
		fi
		req GET "$REG/v2/tamorg/app/manifests/$d"
		expect_eq "$who: refused delete left the manifest" 200 "$STATUS"
	fi

	# catalog
	req GET "$REGA/v2/_catalog?n=1000" "${BEARER[@]}"
	if [ "$catalog" = 401 ]; then
		denied "$who: catalog refused" "$had"
	elif [ "$STATUS" != 200 ]; then
		not_ok "$who: catalog lists what it may pull" "want 200, got $STATUS $(challenge)"
	else
		expect_eq "$who: catalog lists exactly what it may pull" "$catalog" "$(catalog_of tam)"
	fi
done <<<"$MATRIX"

# ---- public repositories ------------------------------------------------------
tok=$(token_for "" "" "repository:tamorg/pub:pull,push,delete")
expect_eq "public: an anonymous token holds pull only" pull \
	"$(jwt_actions "$tok" repository tamorg/pub)"
as_bearer "$tok"
req GET "$REGA/v2/tamorg/pub/manifests/v1" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "public: anonymous pull with the anonymous token" 200 "$STATUS"
req GET "$REGA/v2/tamorg/pub/blobs/$(sha256_of "$W/img-tamorg-pub/layer1")" "${BEARER[@]}" -L
check "public: anonymous blob pull returns the bytes" body_is "$W/img-tamorg-pub/layer1"
image_make "$W/pub-anon" 1 128
auth_push "$REGA" tamorg/pub anon "$W/pub-anon"
denied "public: anonymous push refused" y
req DELETE "$REGA/v2/tamorg/pub/manifests/$(sha256_of "$W/img-tamorg-pub/manifest.json")" "${BEARER[@]}"
denied "public: anonymous delete refused" y
req GET "$REGA/v2/tamorg/pub/manifests/v1"
denied "public: without any token the registry still challenges (for the anonymous token)" n
expect_match "public: the challenge names the pull scope" \
	'scope="repository:tamorg/pub:pull"' "$(challenge)"
tok=$(token_for "" "" "repository:tamorg/lib:pull")
expect_eq "public: a private repository of the same namespace gives anonymous nothing" "" \
	"$(jwt_actions "$tok" repository tamorg/lib)"
tok=$(token_for tamout "$PW" "repository:tamorg/pub:pull,push")
expect_eq "public: an outsider gets pull only" pull "$(jwt_actions "$tok" repository tamorg/pub)"
# Blobs and manifests are stored once, but reachable only through the
# repositories they were pushed to: pull on a public repository must not
# open the private ones' content by digest.
as_bearer "$tok"
req GET "$REGA/v2/tamorg/pub/blobs/$APP_LAYER" "${BEARER[@]}"
expect_eq "public: a private repository's blob is not served through the public one" 404 "$STATUS"
req GET "$REGA/v2/tamorg/pub/manifests/$APP_MANIFEST" "${BEARER[@]}" -H "Accept: $MT_OCI_MANIFEST"
expect_eq "public: a private repository's manifest is not served through the public one" 404 "$STATUS"

# ---- upload sessions belong to their repository --------------------------------
cred team-write
WRITER=$(token_for "$LOGIN" "$PASS" "repository:tamorg/app:pull,push")
as_bearer "$WRITER"
req POST "$REGA/v2/tamorg/app/blobs/uploads/" "${BEARER[@]}" -H 'Content-Length: 0'
SESSION=$(hdr Location)
SESSION=${SESSION%%\?*}
SESSION=${SESSION##*/}
expect_match "upload sessions: tamwrite starts one in tamorg/app" "^$uuid_re\$" "$SESSION"
as_bearer "$(token_for tamout "$PW" "repository:tamout/up:pull,push")"
printf 'tam-hijack' >"$W/hijack"
req PATCH "$REGA/v2/tamout/up/blobs/uploads/$SESSION" "${BEARER[@]}" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/hijack"
expect_eq "upload sessions: another user cannot write to it through his own repository" 404 "$STATUS"
expect_error_code "upload sessions: the answer is BLOB_UPLOAD_UNKNOWN" BLOB_UPLOAD_UNKNOWN
req PUT "$REGA/v2/tamout/up/blobs/uploads/$SESSION?digest=$(sha256_of "$W/hijack")" "${BEARER[@]}" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/hijack"
expect_eq "upload sessions: nor complete it there" 404 "$STATUS"
as_bearer "$WRITER"
printf 'tam-own-bytes' >"$W/own"
req PUT "$REGA/v2/tamorg/app/blobs/uploads/$SESSION?digest=$(sha256_of "$W/own")" "${BEARER[@]}" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$W/own"
expect_eq "upload sessions: the owner completes it with only its own bytes" 201 "$STATUS"

# ---- the catalog in pages ---------------------------------------------------------
# Filtering must not break paging: n=1 pages, followed by their Link,
# list what one unpaged answer lists.
cred team-read
as_bearer "$(token_for "$LOGIN" "$PASS" "registry:catalog:*")"
req GET "$REGA/v2/_catalog?n=1000" "${BEARER[@]}"
whole=$(jq -r '.repositories | join(" ")' "$BODY")
paged= next="/v2/_catalog?n=1" pages=0
while [ -n "$next" ] && [ "$pages" -lt 500 ]; do
	req GET "$REGA$next" "${BEARER[@]}"
	[ "$STATUS" = 200 ] || break
	paged="$paged${paged:+ }$(jq -r '.repositories | join(" ")' "$BODY")"
	next=$(hdr Link | sed -nE 's/^<([^>]*)>.*rel="?next"?.*/\1/p')
	pages=$((pages + 1))
done
expect_eq "catalog: n=1 pages for team-read add up to the whole list" "$whole" "$paged"
check "catalog: that took one page per repository ($pages)" test "$pages" -ge 3

# ---- pushing a new repository -------------------------------------------------
# created: whether the push succeeds and the repository then exists.
NEWREPO='
# case          principal     repository            created
own-namespace   team-write    tamwrite/fresh        y
org-owner       org-owner     tamorg/fresh-owner    y
org-wide-write  team-orgwide  tamorg/fresh-orgwide  y
system-admin    admin         tamnobody/fresh       y
repo-grant      team-write    tamorg/fresh-write    -
repo-admin      team-admin    tamorg/fresh-tadmin   -
sa-repo-grant   sa-grant      tamorg/fresh-sa       -
outsider        outsider      tamorg/fresh-out      -
other-user-ns   outsider      tamread/fresh-out     -
anonymous       anonymous     tamorg/fresh-anon     -
'
while read -r case who repo created; do
	[ -n "$case" ] && [ "${case:0:1}" != "#" ] || continue
	cred "$who"
	tok=$(token_for "$LOGIN" "$PASS" "repository:$repo:pull,push")
	want=pull,push
	[ "$created" = y ] || want=
	expect_eq "new repository, $case: access claim on $repo" "$want" \
		"$(jwt_actions "$tok" repository "$repo")"
	as_bearer "$tok"
	image_make "$W/new-$case" 1 200
	if auth_push "$REGA" "$repo" v1 "$W/new-$case"; then
		if [ "$created" = y ]; then
			ok "new repository, $case: push to $repo"
		else
			not_ok "new repository, $case: push to $repo refused" "the push succeeded"
		fi
	elif [ "$created" = y ]; then
		not_ok "new repository, $case: push to $repo" "got $STATUS $(challenge)"
	else
		denied "new repository, $case: push to $repo refused" y
	fi
	n=$(auth_sql "SELECT count(*) FROM repositories WHERE name = '$repo'")
	if [ "$created" = y ]; then
		expect_eq "new repository, $case: $repo exists" 1 "$n"
	else
		expect_eq "new repository, $case: no repository $repo was made" 0 "$n"
	fi
done <<<"$NEWREPO"
