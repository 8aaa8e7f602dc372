# Helpers for the token-auth tests (t_auth_*.sh), sourced after lib.sh and
# oci.sh: fixtures written straight into the access model's tables (the
# management API is not used, so these tests do not depend on it), token
# requests to authd, JWT decoding with base64url + jq, and hand-made JWTs
# signed with openssl for the forgery cases.
#
#   auth_sql QUERY                     one psql call; prints unaligned tuples
#   auth_hash PASSWORD                 AUTH_HASH=argon2id hash (cached)
#   auth_user NAME PASSWORD [admin]    a local user with its own namespace
#   auth_org NAME; auth_member ORG USER owner|member
#   auth_team ORG TEAM USER...         a team and its members
#   auth_grant NAMESPACE REPO|- LEVEL team:ORG/TEAM|user:NAME|sa:ORG+NAME
#   auth_sa ORG NAME                   a service account
#   auth_token_new personal|service|refresh user:NAME|sa:ORG+NAME
#                  [EXPIRES_SQL [REVOKED_SQL]]  prints "berth_<id><secret>"
#   token_for USER PASS SCOPE...       prints the JWT (USER "" = anonymous);
#                                      answer in $TOKEN_JSON, status in $TOKEN_STATUS
#   as_bearer TOKEN                    sets BEARER=(-H "Authorization: ...")
#   jwt_header TOKEN; jwt_claims TOKEN the decoded JSON
#   jwt_actions TOKEN TYPE NAME        sorted, comma-separated granted actions
#   jwt_make KEY HEADER_JSON CLAIMS_JSON   an ES256 JWT signed with KEY
#   challenge                          WWW-Authenticate of the last response
#   jq_ok FILTER [ARGS...]             jq -e without output, for check
#   auth_push BASE REPO REF DIR        image_push with "${BEARER[@]}"
#   catalog_of PREFIX                  repositories of the last catalog answer
#   authd_extra_start DIR [VAR=VALUE...]; authd_extra_stop   (needs extra.sh)

AUTH_SERVICE=berth-registry
AUTH_ISSUER=berth-authd
TOKEN_JSON=$SCRATCH/.token.json
TOKEN_STATUS=$SCRATCH/.token.status
BEARER=()

auth_sql() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

# ---- base64url and JWTs ----------------------------------------------------

b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '=\n'
}

b64url_decode() {
	local s=$1
	s=$(printf '%s' "$s" | tr -- '-_' '+/')
	case $((${#s} % 4)) in
	2) s="$s==" ;;
	3) s="$s=" ;;
	esac
	printf '%s' "$s" | base64 -d 2>/dev/null
}

jwt_header() {
	b64url_decode "${1%%.*}"
}

jwt_claims() {
	local rest=${1#*.}
	b64url_decode "${rest%%.*}"
}

# jwt_actions TOKEN TYPE NAME: the actions the access claim grants on one
# resource, sorted and comma-separated ("" when none, "?" if undecodable).
jwt_actions() {
	jwt_claims "$1" | jq -r --arg t "$2" --arg n "$3" \
		'[.access[]? | select(.type == $t and .name == $n) | .actions[]]
		 | unique | join(",")' 2>/dev/null || echo "?"
}

# es256_raw: DER ECDSA signature on stdin -> the 64-byte r||s of JWS, as
# base64url.
es256_raw() {
	local der=$SCRATCH/.sig.der r s
	cat >"$der"
	{ read -r r; read -r s; } < <(openssl asn1parse -inform DER -in "$der" |
		awk -F: '/INTEGER/ { print $NF }')
	# An INTEGER may carry a leading 00 or miss leading zeros: 32 bytes each.
	r=$(printf '%64s' "$r" | tr ' ' 0) s=$(printf '%64s' "$s" | tr ' ' 0)
	printf '%s%s' "${r: -64}" "${s: -64}" | xxd -r -p | b64url
}

# jwt_make KEY HEADER_JSON CLAIMS_JSON: signs header.claims with the EC
# private KEY (ES256, SHA-256, raw r||s).
jwt_make() {
	local h c
	h=$(printf '%s' "$2" | jq -cj . | b64url)
	c=$(printf '%s' "$3" | jq -cj . | b64url)
	printf '%s.%s.%s' "$h" "$c" \
		"$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "$1" | es256_raw)"
}

# ---- fixtures ---------------------------------------------------------------

declare -A _auth_hashes=()

# auth_hash PASSWORD: sets AUTH_HASH to authd's own argon2id hash of
# PASSWORD, made by bootstrap-admin for a throwaway administrator whose row
# is then deleted (once per password: hashes are cached).
auth_hash() {
	local pw=$1 name
	AUTH_HASH=${_auth_hashes[$pw]:-}
	[ -z "$AUTH_HASH" ] || return 0
	name=hashsrc$$x$RANDOM
	BERTH_ADMIN_PASSWORD=$pw "$BUILD/authd" -c "$BERTH_RUN/node3/conf" \
		bootstrap-admin "$name" >/dev/null 2>&1 || return 1
	AUTH_HASH=$(auth_sql "SELECT password_hash FROM users WHERE name = '$name'")
	auth_sql "DELETE FROM namespaces WHERE name = '$name'" >/dev/null
	[ -n "$AUTH_HASH" ] || return 1
	_auth_hashes[$pw]=$AUTH_HASH
}

auth_user() {
	auth_hash "$2" || return 1
	auth_sql "INSERT INTO namespaces (name, is_org) VALUES ('$1', false);
		INSERT INTO users (name, password_hash, is_admin)
		VALUES ('$1', '$AUTH_HASH', $([ -n "${3:-}" ] && echo true || echo false))" >/dev/null
}

auth_org() {
	auth_sql "INSERT INTO namespaces (name, is_org) VALUES ('$1', true);
		INSERT INTO organizations (name) VALUES ('$1')" >/dev/null
}

auth_member() {
	auth_sql "INSERT INTO org_members (org_id, user_id, role)
		SELECT o.id, u.id, '$3' FROM organizations o, users u
		WHERE o.name = '$1' AND u.name = '$2'" >/dev/null
}

auth_team() {
	local org=$1 team=$2 u
	shift 2
	auth_sql "INSERT INTO teams (org_id, name)
		SELECT id, '$team' FROM organizations WHERE name = '$org'" >/dev/null || return 1
	for u in "$@"; do
		auth_member "$org" "$u" member || return 1
		auth_sql "INSERT INTO team_members (team_id, user_id)
			SELECT t.id, u.id FROM teams t JOIN organizations o
			ON o.id = t.org_id, users u WHERE o.name = '$org'
			AND t.name = '$team' AND u.name = '$u'" >/dev/null || return 1
	done
}

# _principal_cols WHO: "team_id, user_id, sa_id" values for a grant.
_principal_cols() {
	case $1 in
	team:*)
		local t=${1#team:}
		echo "(SELECT t.id FROM teams t JOIN organizations o ON o.id = t.org_id
		       WHERE o.name = '${t%%/*}' AND t.name = '${t#*/}'), NULL, NULL" ;;
	user:*) echo "NULL, (SELECT id FROM users WHERE name = '${1#user:}'), NULL" ;;
	sa:*)
		local s=${1#sa:}
		echo "NULL, NULL, (SELECT s.id FROM service_accounts s JOIN organizations o
		       ON o.id = s.org_id WHERE o.name = '${s%%+*}' AND s.name = '${s#*+}')" ;;
	esac
}

auth_grant() {
	local repo="'$2'"
	[ "$2" = - ] && repo=NULL
	auth_sql "INSERT INTO grants (namespace, repository, team_id, user_id,
		sa_id, level) VALUES ('$1', $repo, $(_principal_cols "$4"), $3)" >/dev/null
}

auth_sa() {
	auth_sql "INSERT INTO service_accounts (org_id, name)
		SELECT id, '$2' FROM organizations WHERE name = '$1'" >/dev/null
}

# auth_token_new KIND OWNER [EXPIRES_SQL [REVOKED_SQL]]: stores the
# SHA-256 of 32 random bytes under a fresh uuid, as authd does; prints the
# secret "berth_<uuid without dashes><64 hex>".
auth_token_new() {
	local kind=$1 owner=$2 expires=${3:-NULL} revoked=${4:-NULL}
	local uuid secret cols
	uuid=$(cat /proc/sys/kernel/random/uuid)
	secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	cols=$(_principal_cols "$owner")
	cols=${cols#*, }	# user_id, sa_id
	auth_sql "INSERT INTO tokens (id, kind, user_id, sa_id, name,
		secret_hash, expires_at, revoked_at) VALUES ('$uuid', '$kind',
		$cols, 'test', sha256(decode('$secret', 'hex')), $expires,
		$revoked)" >/dev/null || return 1
	printf 'berth_%s%s' "${uuid//-/}" "$secret"
}

# ---- talking to authd and the registry --------------------------------------

# token_for USER PASS SCOPE...: GET /token with one scope parameter per
# SCOPE, Basic credentials unless USER is empty. Prints the token; fails
# (printing nothing) unless authd answered 200 with one.
token_for() {
	local user=$1 pass=$2 s code
	local -a args=(-G "$AUTHD/token" --data-urlencode "service=$AUTH_SERVICE")
	shift 2
	for s in "$@"; do
		args+=(--data-urlencode "scope=$s")
	done
	[ -z "$user" ] || args+=(-u "$user:$pass")
	code=$(curl -sS --max-time 30 -o "$TOKEN_JSON" -w '%{http_code}' "${args[@]}") || code=000
	echo "$code" >"$TOKEN_STATUS"
	[ "$code" = 200 ] || return 1
	jq -re '.token // empty' "$TOKEN_JSON"
}

as_bearer() {
	BEARER=()
	[ -z "${1:-}" ] || BEARER=(-H "Authorization: Bearer $1")
}

# jq_ok FILTER [ARGS...]: jq -e, quietly (for check).
jq_ok() {
	jq -e "$@" >/dev/null 2>&1
}

challenge() {
	hdr WWW-Authenticate
}

# auth_push BASE REPO REF DIR: the blobs image_make wrote in DIR, then
# the manifest as REF, each request carrying "${BEARER[@]}". Returns 0
# when all succeeded; STATUS and HDRS are the failing request's.
auth_push() {
	local base=$1 repo=$2 ref=$3 dir=$4 f d loc
	for f in "$dir"/config.json "$dir"/layer*; do
		d=$(sha256_of "$f")
		req POST "$base/v2/$repo/blobs/uploads/" -H 'Content-Length: 0' "${BEARER[@]}"
		[ "$STATUS" = 202 ] || return 1
		loc=$(url_of "$base" "$(hdr Location)")
		req PUT "$(with_query "$loc" "digest=$d")" "${BEARER[@]}" \
			-H 'Content-Type: application/octet-stream' --data-binary @"$f"
		[ "$STATUS" = 201 ] || return 1
	done
	req PUT "$base/v2/$repo/manifests/$ref" "${BEARER[@]}" \
		-H "Content-Type: $MT_OCI_MANIFEST" --data-binary @"$dir/manifest.json"
	[ "$STATUS" = 201 ]
}

# catalog_of PREFIX: the repositories of the last catalog answer whose
# name starts with PREFIX, space-separated and sorted.
catalog_of() {
	jq -r --arg p "$1" '[.repositories[]? | select(startswith($p))] | sort | join(" ")' "$BODY" 2>/dev/null
}

# authd_extra_start DIR [VAR=VALUE ...]: an extra authd on its own port,
# sharing the run's database and signing with $AUTH_KEY unless the
# environment given says otherwise. Sets AUTHD_EXTRA (its URL) and
# AUTHD_EXTRA_PID.
authd_extra_start() {
	local dir=$1 port i
	shift
	mkdir -p "$dir"
	port=$(extra_free_port) || return 1
	AUTHD_EXTRA=http://127.0.0.1:$port
	env AUTHD_LISTEN="127.0.0.1:$port" AUTHD_SIGNING_KEYS="$AUTH_KEY" \
		AUTHD_DATABASE="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" \
		"$@" "$BUILD/authd" serve >"$dir/log" 2>&1 &
	AUTHD_EXTRA_PID=$!
	for ((i = 0; i < 200; i++)); do
		kill -0 "$AUTHD_EXTRA_PID" 2>/dev/null || return 1
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$AUTHD_EXTRA/readyz")" = 200 ] && return 0
		# With AUTHD_TLS_CERT: HTTPS (the caller names the scheme).
		[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://${AUTHD_EXTRA#http://}/readyz")" = 200 ] && return 0
		sleep 0.05
	done
	return 1
}

# authd_extra_stop: SIGTERM to the extra authd; returns its exit code.
authd_extra_stop() {
	kill -TERM "$AUTHD_EXTRA_PID" 2>/dev/null
	wait "$AUTHD_EXTRA_PID"
}
