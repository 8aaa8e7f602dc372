# Helpers for the tests of authd's management API, sourced after lib.sh by
# a test that has set A to the API's base URL (e.g. $AUTHD/api/v1).

# call CREDS METHOD PATH [JSON]: an API request as CREDS ("-" for none).
call() {
	local creds=$1 method=$2 path=$3
	local -a args=()
	[ "$creds" = - ] || args+=(-u "$creds")
	[ $# -lt 4 ] || args+=(-H 'Content-Type: application/json' --data-binary "$4")
	req "$method" "$A$path" "${args[@]}"
}

# want NAME STATUS CREDS METHOD PATH [JSON]: call, then check the status.
want() {
	local name=$1 status=$2
	shift 2
	call "$@"
	if [[ $STATUS =~ ^($status)$ ]]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "want $status, got $STATUS, body: $(body_head)"
	return 1
}

# jqb FILTER: FILTER applied to the last body, compact.
jqb() {
	jq -c "$1" "$BODY" 2>/dev/null
}
