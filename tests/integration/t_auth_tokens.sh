#!/bin/bash
# The token service and token verification: GET /token with several scope
# parameters and space-separated scopes, refresh tokens (offline_token and
# the OAuth2 refresh_token grant), the OAuth2 password grant, the claims
# of an issued token, scopes dropped without a hint, scope escalation,
# forged tokens (other key, alg none, HS256 with the public key, changed
# claims, expired, not yet valid, wrong audience or issuer) refused by
# $REGA with error="invalid_token", insufficient_scope, cross-repository
# mounts that need pull on the source, and the challenge of every route.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oci.sh"
. "$(dirname "$0")/auth.sh"

W=$SCRATCH/w
mkdir -p "$W"
PW=tat-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
APP=tatuser/app
LIB=tatuser/lib

if auth_user tatuser "$PW" && auth_user tatout "$PW" &&
	image_make "$W/app" 1 300 && image_push "$REG" "$APP" v1 "$W/app" &&
	image_make "$W/lib" 1 300 && image_push "$REG" "$LIB" v1 "$W/lib"; then
	ok "fixtures: users tatuser and tatout, repositories $APP and $LIB"
else
	not_ok "fixtures" "setup failed (last status $STATUS)"
	exit 0
fi
APP_DIGEST=$(sha256_of "$W/app/manifest.json")

# token_post FORM...: POST /token with the url-encoded FORM fields; the
# answer is in $BODY, the status in $STATUS.
token_post() {
	local -a args=()
	local f
	for f in "$@"; do
		args+=(--data-urlencode "$f")
	done
	req POST "$AUTHD/token" "${args[@]}"
}

# pull_with TOKEN: GET the manifest of $APP on $REGA with TOKEN.
pull_with() {
	req GET "$REGA/v2/$APP/manifests/v1" -H "Authorization: Bearer $1" \
		-H "Accept: $MT_OCI_MANIFEST"
}

# ---- scopes in the request --------------------------------------------------
tok=$(token_for tatuser "$PW" "repository:$APP:pull" "repository:$LIB:pull,push")
expect_eq "two scope parameters: both granted ($APP)" pull "$(jwt_actions "$tok" repository "$APP")"
expect_eq "two scope parameters: both granted ($LIB)" pull,push "$(jwt_actions "$tok" repository "$LIB")"
tok=$(token_for tatuser "$PW" "repository:$APP:pull repository:$LIB:push")
expect_eq "space-separated scopes in one parameter ($APP)" pull "$(jwt_actions "$tok" repository "$APP")"
expect_eq "space-separated scopes in one parameter ($LIB)" push "$(jwt_actions "$tok" repository "$LIB")"
tok=$(token_for tatuser "$PW")
expect_eq "no scope: a token with an empty access claim" "[]" "$(jwt_claims "$tok" | jq -c .access)"
check "without offline_token there is no refresh_token" \
	jq_ok 'has("refresh_token") | not' "$TOKEN_JSON"
expect_eq "GET /token answers expires_in 300" 300 "$(jq -r .expires_in "$TOKEN_JSON")"
expect_eq "GET /token answers the same token as token and access_token" \
	"$(jq -r .token "$TOKEN_JSON")" "$(jq -r .access_token "$TOKEN_JSON")"

# ---- claims -------------------------------------------------------------------
t1=$(token_for tatuser "$PW" "repository:$APP:pull")
t2=$(token_for tatuser "$PW" "repository:$APP:pull")
c1=$(jwt_claims "$t1")
h1=$(jwt_header "$t1")
expect_eq "claim iss" "$AUTH_ISSUER" "$(jq -r .iss <<<"$c1")"
expect_eq "claim sub is the user" tatuser "$(jq -r .sub <<<"$c1")"
expect_eq "claim aud is the service" "$AUTH_SERVICE" "$(jq -r .aud <<<"$c1")"
expect_eq "exp - iat is 300" 300 "$(jq -r '.exp - .iat' <<<"$c1")"
check "nbf is present and not after iat" jq_ok '(.nbf | type == "number") and .nbf <= .iat' <<<"$c1"
now=$(date +%s)
check "iat is now (within 60 s)" jq_ok --argjson now "$now" '(.iat - $now) | fabs < 60' <<<"$c1"
expect_match "jti is present" '^.{16,}$' "$(jq -r '.jti // empty' <<<"$c1")"
check "jti differs between two tokens" [ "$(jq -r .jti <<<"$c1")" != "$(jwt_claims "$t2" | jq -r .jti)" ]
expect_eq "header alg ES256" ES256 "$(jq -r .alg <<<"$h1")"
expect_eq "header typ JWT" JWT "$(jq -r .typ <<<"$h1")"
KID=$(jq -r .kid <<<"$h1")
curl -sS "$AUTHD/jwks" -o "$W/jwks.json"
check "header kid is a kid of the JWKS" jq_ok --arg k "$KID" 'any(.keys[]; .kid == $k)' "$W/jwks.json"
check "the JWKS holds only public keys" jq_ok 'all(.keys[]; has("d") | not)' "$W/jwks.json"
tok=$(token_for "" "" "repository:$APP:pull")
expect_eq "an anonymous token has sub \"\"" '""' "$(jwt_claims "$tok" | jq -c .sub)"

# ---- refresh tokens and the OAuth2 grants -------------------------------------
curl -sS -G "$AUTHD/token" -u "tatuser:$PW" --data-urlencode "service=$AUTH_SERVICE" \
	--data-urlencode offline_token=true --data-urlencode "scope=repository:$APP:pull" \
	-o "$W/offline.json"
RT=$(jq -r '.refresh_token // empty' "$W/offline.json")
expect_match "offline_token=true returns a refresh_token" '^berth_[0-9a-f]{96}$' "$RT"
token_post grant_type=refresh_token "refresh_token=$RT" "service=$AUTH_SERVICE" \
	client_id=berth-tests "scope=repository:$APP:pull,push repository:$LIB:pull"
expect_eq "refresh_token grant answers 200" 200 "$STATUS"
tok=$(jq -r '.access_token // empty' "$BODY")
expect_eq "refresh_token grant: sub is the refresh token's user" tatuser "$(jwt_claims "$tok" | jq -r .sub)"
expect_eq "refresh_token grant: the scopes asked for ($APP)" pull,push "$(jwt_actions "$tok" repository "$APP")"
expect_eq "refresh_token grant: the scopes asked for ($LIB)" pull "$(jwt_actions "$tok" repository "$LIB")"
expect_eq "refresh_token grant: scope names what was granted" \
	"repository:$APP:pull,push repository:$LIB:pull" "$(jq -r .scope "$BODY")"
expect_eq "refresh_token grant: the same refresh_token comes back" "$RT" "$(jq -r '.refresh_token // empty' "$BODY")"
pull_with "$tok"
expect_eq "a token from the refresh_token grant pulls on \$REGA" 200 "$STATUS"
flip=0
[ "${RT: -1}" != 0 ] || flip=1
token_post grant_type=refresh_token "refresh_token=${RT%?}$flip" "service=$AUTH_SERVICE" client_id=t
expect_eq "a refresh token with a wrong secret is refused" 401 "$STATUS"
req GET "$AUTHD/token?service=$AUTH_SERVICE" -u "tatuser:$RT"
expect_eq "a refresh token is no password" 401 "$STATUS"
token_post grant_type=refresh_token "refresh_token=$RT" service=other-registry client_id=t
expect_eq "refresh_token grant for another service: 400" 400 "$STATUS"
curl -sS -G "$AUTHD/token" --data-urlencode "service=$AUTH_SERVICE" \
	--data-urlencode offline_token=true -o "$W/anon-offline.json"
check "no refresh_token for anonymous" jq_ok 'has("token") and (has("refresh_token") | not)' "$W/anon-offline.json"

token_post grant_type=password username=tatuser "password=$PW" "service=$AUTH_SERVICE" \
	client_id=berth-tests access_type=offline "scope=repository:$APP:pull repository:$LIB:push"
expect_eq "password grant answers 200" 200 "$STATUS"
tok=$(jq -r '.access_token // empty' "$BODY")
expect_eq "password grant: sub" tatuser "$(jwt_claims "$tok" | jq -r .sub)"
expect_eq "password grant: space-separated scopes ($APP)" pull "$(jwt_actions "$tok" repository "$APP")"
expect_eq "password grant: space-separated scopes ($LIB)" push "$(jwt_actions "$tok" repository "$LIB")"
expect_eq "password grant: expires_in" 300 "$(jq -r .expires_in "$BODY")"
RT2=$(jq -r '.refresh_token // empty' "$BODY")
expect_match "password grant with access_type=offline: refresh_token" '^berth_[0-9a-f]{96}$' "$RT2"
token_post grant_type=password username=tatuser "password=$PW" "service=$AUTH_SERVICE" client_id=t
check "password grant without access_type=offline: no refresh_token" \
	jq_ok 'has("access_token") and (has("refresh_token") | not)' "$BODY"
# Revoking the refresh token ends it.
auth_sql "UPDATE tokens SET revoked_at = now() WHERE kind = 'refresh'
	AND id = '$(sed -E 's/^berth_(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/' <<<"$RT2")'" >/dev/null
token_post grant_type=refresh_token "refresh_token=$RT2" "service=$AUTH_SERVICE" client_id=t
expect_eq "a revoked refresh token is refused" 401 "$STATUS"
auth_user tatdis "$PW"
RT3=$(curl -sS -G "$AUTHD/token" -u "tatdis:$PW" --data-urlencode "service=$AUTH_SERVICE" \
	--data-urlencode offline_token=true | jq -r '.refresh_token // empty')
auth_sql "UPDATE users SET disabled = true WHERE name = 'tatdis'" >/dev/null
token_post grant_type=refresh_token "refresh_token=$RT3" "service=$AUTH_SERVICE" client_id=t
expect_eq "the refresh token of a user disabled since is refused" 401 "$STATUS"
req GET "$AUTHD/token?service=$AUTH_SERVICE" -H 'Authorization: Basic !!!'
expect_eq "malformed Basic credentials: 401" 401 "$STATUS"
req GET "$AUTHD/token?service=$AUTH_SERVICE" -H "Authorization: Basic $(printf 'tatuser' | base64)"
expect_eq "Basic credentials without a colon: 401" 401 "$STATUS"
req GET "$AUTHD/token?service=$AUTH_SERVICE" -u "tatuser:"
expect_eq "an empty password: 401" 401 "$STATUS"
token_post grant_type=client_credentials "service=$AUTH_SERVICE" client_id=t
expect_eq "an unknown grant_type: 400" 400 "$STATUS"
token_post grant_type=password username=tatuser password=wrong "service=$AUTH_SERVICE" client_id=t
expect_eq "password grant with a wrong password: 401" 401 "$STATUS"
# A raw NUL after the right password once cut the field down to it.
{
	printf 'grant_type=password&username=tatuser&password=%s' \
		"$(jq -rn --arg v "$PW" '$v | @uri')"
	printf '\0junk&service=%s&client_id=t' "$AUTH_SERVICE"
} >"$W/nul-form"
req POST "$AUTHD/token" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary @"$W/nul-form"
check "password grant with a raw NUL after the right password: no token ($STATUS)" \
	eval '[ "$STATUS" = 400 ] || [ "$STATUS" = 401 ]'

# ---- the service ------------------------------------------------------------
req GET "$AUTHD/token?service=other-registry&scope=repository:$APP:pull" -u "tatuser:$PW"
expect_eq "GET /token for another service: 400" 400 "$STATUS"
req GET "$AUTHD/token?scope=repository:$APP:pull" -u "tatuser:$PW"
expect_eq "GET /token without a service: 400" 400 "$STATUS"
token_post grant_type=password username=tatuser "password=$PW" service=other-registry client_id=t
expect_eq "password grant for another service: 400" 400 "$STATUS"
auth_sql "DELETE FROM login_failures WHERE key IN ('user:tatuser', 'addr:127.0.0.1')" >/dev/null

# ---- dropped scopes reveal nothing -------------------------------------------
# norm: an answer with its random parts (token, issued_at) replaced by
# the decoded claims without jti, iat, nbf and exp.
norm() {
	jq -c '{status: '"$1"'} + del(.token, .access_token, .issued_at)' "$TOKEN_JSON"
	jq -c 'del(.jti, .iat, .nbf, .exp)' <<<"$(jwt_claims "$(jq -r .token "$TOKEN_JSON")")"
	jq -c 'del(.kid)' <<<"$(jwt_header "$(jq -r .token "$TOKEN_JSON")")"
}
for who in tatout anonymous; do
	u=$who p=$PW
	[ "$who" = anonymous ] && u= p=
	token_for "$u" "$p" "repository:$APP:pull,push" >/dev/null
	a=$(norm "$(cat "$TOKEN_STATUS")")
	cp "$TOKEN_JSON" "$W/exists.json"
	token_for "$u" "$p" "repository:tatuser/no-such-repo:pull,push" >/dev/null
	b=$(norm "$(cat "$TOKEN_STATUS")")
	b=${b//tatuser\/no-such-repo/$APP}
	expect_eq "$who: a private repository and a missing one get the same answer" "$a" "$b"
	expect_eq "$who: the answer has no hint" '["access_token","expires_in","issued_at","token"]' \
		"$(jq -c 'keys' "$W/exists.json")"
done
tok=$(token_for tatout "$PW" "repository:$APP:pull,push")
expect_eq "outsider: the token has an empty access claim" "[]" "$(jwt_claims "$tok" | jq -c .access)"

# ---- escalation ----------------------------------------------------------------
# scope asked for, as whom, the actions expected in the token.
ESCALATION='
# who      scope                                       type        name             actions
tatout     repository:tatuser/app:pull,push,delete,*   repository  tatuser/app      -
tatout     repository(plugin):tatuser/app:pull         repository  tatuser/app      -
tatout     repository:TATUSER/app:pull                 repository  TATUSER/app      -
tatuser    repository:TATUSER/app:pull                 repository  TATUSER/app      -
tatuser    repository:tatuser/../app:pull              repository  tatuser/../app   -
tatuser    repository:tatuser/app:pull:push            repository  tatuser/app:pull -
tatuser    repository:tatuser/app                      repository  tatuser/app      -
tatuser    repository:tatuser/app:pull,frob,push       repository  tatuser/app      pull,push
tatuser    repository:tatuser/app:pull,push,delete,*   repository  tatuser/app      *,delete,pull,push
tatuser    repository(plugin):tatuser/app:pull         repository  tatuser/app      pull
tatuser    registry:catalog:*                          registry    catalog          *
tatuser    registry:catalog:*,pull,push,delete         registry    catalog          *
tatout     registry:catalog:pull,push,delete           registry    catalog          -
tatuser    registry:other:*                            registry    other            -
tatuser    frob:tatuser/app:pull                       frob        tatuser/app      -
tatuser    REPOSITORY:tatuser/app:pull                 REPOSITORY  tatuser/app      -
tatuser    repository:127.0.0.1:5000/tatuser/app:pull  repository  127.0.0.1:5000/tatuser/app -
tatuser    repository::pull                            repository  -                -
tatuser    :tatuser/app:pull                           -           tatuser/app      -
tatout     repository:tatout/../tatuser/app:pull       repository  tatout/../tatuser/app -
'
while read -r who scope type name want; do
	[ -n "$who" ] && [ "${who:0:1}" != "#" ] || continue
	tok=$(token_for "$who" "$PW" "$scope")
	if [ -z "$tok" ]; then
		not_ok "$who asks $scope" "no token (status $(cat "$TOKEN_STATUS")): $(head -c 200 "$TOKEN_JSON")"
	elif [ "$want" = - ]; then
		# Dropped: nothing at all in the claim, under any spelling.
		expect_eq "$who asks \"$scope\": dropped" "[]" "$(jwt_claims "$tok" | jq -c .access)"
	else
		expect_eq "$who asks \"$scope\": granted $want" "$want" "$(jwt_actions "$tok" "$type" "$name")"
	fi
done <<<"$ESCALATION"
tok=$(token_for tatout "$PW" "repository:$APP:pull,push,delete,*")
pull_with "$tok"
expect_eq "outsider's escalation token does not pull on \$REGA" 401 "$STATUS"

# ---- forged and invalid tokens ---------------------------------------------------
now=$(date +%s)
claims() {	# claims [JQ_EDIT]: valid claims for pull on $APP, edited
	jq -cn --arg iss "$AUTH_ISSUER" --arg aud "$AUTH_SERVICE" --arg app "$APP" \
		--argjson now "$now" '{iss: $iss, sub: "tatuser", aud: $aud,
		exp: ($now + 300), nbf: ($now - 1), iat: $now, jti: "tat-forged",
		access: [{type: "repository", name: $app, actions: ["pull"]}]} | '"${1:-.}"
}
HDR=$(jq -cn --arg k "$KID" '{typ: "JWT", alg: "ES256", kid: $k}')
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$W/other.pem" 2>/dev/null
openssl pkey -in "$AUTH_KEY" -pubout -out "$W/pub.pem" 2>/dev/null
legit=$(token_for tatuser "$PW" "repository:$APP:pull")
IFS=. read -r lh lc ls <<<"$legit"

# Control: a token made here with authd's key and valid claims must pass,
# or the refusals below would prove nothing.
pull_with "$(jwt_make "$AUTH_KEY" "$HDR" "$(claims)")"
expect_eq "control: a token signed here with authd's key is accepted" 200 "$STATUS"
pull_with "$legit"
expect_eq "control: authd's own token is accepted" 200 "$STATUS"
pull_with "$(jwt_make "$AUTH_KEY" "$HDR" "$(claims '.aud = ["other-registry", $aud]')")"
expect_eq "control: an audience list naming this service is accepted (RFC 7519)" 200 "$STATUS"

hs256() {	# hs256 HEXKEY: a token with alg HS256 over valid claims
	local h c
	h=$(jq -cjn --arg k "$KID" '{typ: "JWT", alg: "HS256", kid: $k}' | b64url)
	c=$(claims | tr -d '\n' | b64url)
	printf '%s.%s.%s' "$h" "$c" "$(printf '%s.%s' "$h" "$c" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" -binary | b64url)"
}
none_hdr=$(jq -cjn --arg k "$KID" '{typ: "JWT", alg: "none", kid: $k}' | b64url)
edited=$(jq -cj '.access[0].actions = ["pull","push","delete"]' <<<"$(jwt_claims "$legit")" | b64url)
resub=$(jq -cj '.sub = "tatout"' <<<"$(jwt_claims "$legit")" | b64url)
der_sig=$(printf '%s.%s' "$lh" "$lc" | openssl dgst -sha256 -sign "$AUTH_KEY" | b64url)

declare -A FORGED=(
	["signed by another EC key, authd's kid"]=$(jwt_make "$W/other.pem" "$HDR" "$(claims)")
	["signed by another EC key, its own kid"]=$(jwt_make "$W/other.pem" \
		'{"typ":"JWT","alg":"ES256","kid":"TATX:TATX:TATX:TATX:TATX:TATX:TATX:TATX:TATX:TATX:TATX:TATX"}' "$(claims)")
	["signed by another EC key, no kid"]=$(jwt_make "$W/other.pem" '{"typ":"JWT","alg":"ES256"}' "$(claims)")
	["alg none, no signature"]=$none_hdr.$(claims | tr -d '\n' | b64url).
	["alg none, authd's signature"]=$none_hdr.$lc.$ls
	["HS256 keyed with the public key PEM"]=$(hs256 "$(xxd -p "$W/pub.pem" | tr -d '\n')")
	["HS256 keyed with the PEM without newline"]=$(hs256 "$(head -c -1 "$W/pub.pem" | xxd -p | tr -d '\n')")
	["alg RS256 with the EC kid"]=$(jq -cjn --arg k "$KID" '{typ: "JWT", alg: "RS256", kid: $k}' | b64url).$lc.$ls
	["claims given push and delete, original signature"]=$lh.$edited.$ls
	["sub changed, original signature"]=$lh.$resub.$ls
	["signature as DER instead of r||s"]=$lh.$lc.$der_sig
	["expired (exp 120 s ago)"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims '.exp = ($now - 120) | .iat = ($now - 420) | .nbf = ($now - 420)')")
	["not yet valid (nbf in 10 minutes)"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims '.nbf = ($now + 600)')")
	["no exp"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims 'del(.exp)')")
	["wrong audience"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims '.aud = "other-registry"')")
	["no audience"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims 'del(.aud)')")
	["audience list without this service"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims '.aud = ["other-registry", "x"]')")
	["wrong issuer"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims '.iss = "evil-authd"')")
	["no issuer"]=$(jwt_make "$AUTH_KEY" "$HDR" "$(claims 'del(.iss)')")
	["not a JWT"]=tat-not-a-jwt
	["four segments"]=$legit.$ls
)
for what in "${!FORGED[@]}"; do
	pull_with "${FORGED[$what]}"
	c=$(challenge)
	if [ "$STATUS" = 401 ] && [[ $c == *'error="invalid_token"'* ]] &&
		[[ $c == *"scope=\"repository:$APP:pull\""* ]]; then
		ok "forged token refused with invalid_token: $what"
	else
		not_ok "forged token refused with invalid_token: $what" "got $STATUS, challenge: $c"
	fi
done

tok=$(token_for tatuser "$PW" "repository:$LIB:pull,push,delete")
pull_with "$tok"
expect_eq "a token for another repository: 401" 401 "$STATUS"
expect_eq "a token for another repository: insufficient_scope naming the scope needed" \
	"Bearer realm=\"$AUTHD/token\",service=\"$AUTH_SERVICE\",scope=\"repository:$APP:pull\",error=\"insufficient_scope\"" \
	"$(challenge)"
tok=$(token_for tatuser "$PW" "repository:$APP:pull")
req PUT "$REGA/v2/$APP/manifests/v2" -H "Authorization: Bearer $tok" \
	-H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$W/app/manifest.json"
expect_eq "pull-only token, manifest PUT: insufficient_scope for pull,push" \
	"Bearer realm=\"$AUTHD/token\",service=\"$AUTH_SERVICE\",scope=\"repository:$APP:pull,push\",error=\"insufficient_scope\"" \
	"$(challenge)"
req GET "$REGA/v2/_catalog" -H "Authorization: Bearer $tok"
expect_eq "a token without registry:catalog cannot list the catalog" 401 "$STATUS"
req GET "$REGA/v2/" -H "Authorization: Bearer $tok"
expect_eq "GET /v2/ with any valid token: 200" 200 "$STATUS"
req GET "$REGA/v2/" -H "Authorization: Bearer ${FORGED["wrong issuer"]}"
expect_eq "GET /v2/ with a forged token: 401" 401 "$STATUS"
req GET "$REGA/v2/$APP/manifests/v1" -H "Authorization: Basic $(printf 'tatuser:%s' "$PW" | base64 -w0)"
expect_eq "Basic credentials at the registry are no token: 401" 401 "$STATUS"

# ---- cross-repository mounts -----------------------------------------------------
# A mount links a blob into the target without sending it, so it must
# need pull on the source: otherwise it reveals (and hands over) blobs.
LIB_LAYER=$(sha256_of "$W/lib/layer1")
mount() {	# mount TOKEN TARGET [FROM]: POST ?mount= (and &from=)
	req POST "$REGA/v2/$2/blobs/uploads/?mount=$LIB_LAYER${3:+&from=$3}" \
		-H "Authorization: Bearer $1" -H 'Content-Length: 0'
}
linked() {	# linked TOKEN REPO: HEAD of the layer in REPO
	req HEAD "$REGA/v2/$2/blobs/$LIB_LAYER" -H "Authorization: Bearer $1"
}
tok=$(token_for tatout "$PW" "repository:tatout/m1:pull,push" "repository:$LIB:pull")
mount "$tok" tatout/m1 "$LIB"
expect_eq "mount from a repository the caller cannot pull: an upload session, no mount" 202 "$STATUS"
linked "$tok" tatout/m1
expect_eq "mount from a repository the caller cannot pull: the blob is not linked" 404 "$STATUS"
tok=$(token_for tatout "$PW" "repository:tatout/m2:pull,push")
mount "$tok" tatout/m2
expect_eq "automatic mount of a blob the caller cannot read: no mount" 202 "$STATUS"
linked "$tok" tatout/m2
expect_eq "automatic mount of a blob the caller cannot read: the blob is not linked" 404 "$STATUS"
tok=$(token_for tatuser "$PW" "repository:tatuser/m3:pull,push" "repository:$LIB:pull")
mount "$tok" tatuser/m3 "$LIB"
expect_eq "mount with pull on the source: 201" 201 "$STATUS"
linked "$tok" tatuser/m3
expect_eq "mount with pull on the source: the blob is linked" 200 "$STATUS"

# ---- challenges ---------------------------------------------------------------------
U=$(cat /proc/sys/kernel/random/uuid)
LAYER=$(sha256_of "$W/app/layer1")
CHALLENGES="
# method  path                                                 scope
GET       /v2/                                                 -
GET       /v2/$APP/manifests/v1                                repository:$APP:pull
HEAD      /v2/$APP/manifests/v1                                repository:$APP:pull
GET       /v2/$APP/blobs/$LAYER                                repository:$APP:pull
HEAD      /v2/$APP/blobs/$LAYER                                repository:$APP:pull
GET       /v2/$APP/tags/list                                   repository:$APP:pull
GET       /v2/$APP/referrers/$APP_DIGEST                       repository:$APP:pull
POST      /v2/$APP/blobs/uploads/                              repository:$APP:pull,push
POST      /v2/$APP/blobs/uploads/?digest=$LAYER                repository:$APP:pull,push
GET       /v2/$APP/blobs/uploads/$U                            repository:$APP:pull,push
PATCH     /v2/$APP/blobs/uploads/$U                            repository:$APP:pull,push
PUT       /v2/$APP/blobs/uploads/$U?digest=$LAYER              repository:$APP:pull,push
DELETE    /v2/$APP/blobs/uploads/$U                            repository:$APP:pull,push
PUT       /v2/$APP/manifests/v2                                repository:$APP:pull,push
DELETE    /v2/$APP/manifests/$APP_DIGEST                       repository:$APP:delete
DELETE    /v2/$APP/blobs/$LAYER                                repository:$APP:delete
GET       /v2/_catalog                                         registry:catalog:*
POST      /v2/tatuser/new/blobs/uploads/?mount=$LAYER&from=$LIB repository:tatuser/new:pull,push repository:$LIB:pull
"
while read -r method path scope; do
	[ -n "$method" ] && [ "${method:0:1}" != "#" ] || continue
	want="Bearer realm=\"$AUTHD/token\",service=\"$AUTH_SERVICE\""
	[ "$scope" = - ] || want="$want,scope=\"$scope\""
	case $method in
	PUT | PATCH) req "$method" "$REGA$path" -H 'Content-Type: application/octet-stream' --data-binary @"$W/app/layer1" ;;
	POST) req "$method" "$REGA$path" -H 'Content-Length: 0' ;;
	*) req "$method" "$REGA$path" ;;
	esac
	name="challenge: $method $(sed -E "s/sha256:[0-9a-f]{64}/<digest>/g; s/$U/<uuid>/" <<<"$path")"
	if [ "$STATUS" = 401 ] && [ "$(challenge)" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name" "want 401 $want, got $STATUS $(challenge)"
	fi
done <<<"$CHALLENGES"
req GET "$REGA/v2/$APP/manifests/v1"
expect_error_code "a 401 from the registry has the UNAUTHORIZED error body" UNAUTHORIZED
