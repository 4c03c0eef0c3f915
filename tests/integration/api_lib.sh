#!/usr/bin/env bash
# api_lib.sh - helpers sourced by the pp-api tests (not a test itself), after tests/lib.sh:
#   api_start NAME [ENV=VALUE...]  start pp-api on a free port (log $PP_TEST_TMP/NAME.log); sets BASE,
#                                  OPS (its ops listener: /metrics, /livez, /readyz), API_PID
#   call WANT METHOD TEMPLATE PATH KEY [BODY [CONTENT_TYPE]]
#                                  one request: the status must be WANT, documented for TEMPLATE in
#                                  schema/openapi.json, and the body must match its schema
#                                  (api_check.py); leaves $OUT (body file), $HDR, $STATUS; appends to $SEEN
#   field EXPR                     a Python expression over the last JSON body d
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	echo "api_lib.sh is a helper library sourced by the api tests, not a test" >&2
	exit 2
fi

API=$PP_BUILD/api/pp-api
SPEC=$PP_ROOT/schema/openapi.json
CHECK=$PP_ROOT/tests/integration/api_check.py
SEEN=$PP_TEST_TMP/seen
: >"$SEEN"
[[ -x $API ]] || fail "no pp-api at $API (build first)"

api_start() {
	local name=$1
	shift
	env PP_API_ADDR=127.0.0.1:0 "$@" "$API" >"$PP_TEST_TMP/$name.log" 2>&1 &
	API_PID=$!
	pp_test_pids+=("$API_PID")
	wait_until 10 grep -q 'api on http://' "$PP_TEST_TMP/$name.log" || fail "pp-api did not start: $(tail -5 "$PP_TEST_TMP/$name.log")"
	BASE=$(sed -n 's|.*api on \(http://[^/]*\)/.*|\1|p' "$PP_TEST_TMP/$name.log" | head -1)
	OPS=$(sed -n 's|.*metrics on \(http://[^/]*\)/metrics.*|\1|p' "$PP_TEST_TMP/$name.log" | head -1)
}

api_n=0
call() {
	local want=$1 method=$2 tmpl=$3 path=$4 key=$5 body=${6-} ctype=${7-application/json} res
	api_n=$((api_n + 1))
	OUT=$PP_TEST_TMP/r$api_n.body HDR=$PP_TEST_TMP/r$api_n.hdr
	local args=(-sS -o "$OUT" -D "$HDR" -w '%{http_code} %{content_type}' -X "$method")
	[[ -n $key ]] && args+=(-H "Authorization: Bearer $key")
	[[ -n $body ]] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
	res=$(curl "${args[@]}" "$BASE$path") || fail "curl $method $path failed"
	STATUS=${res%% *}
	[[ $STATUS == "$want" ]] || fail "$method $path: status $STATUS, want $want: $(head -c 300 "$OUT")"
	/usr/bin/python3 "$CHECK" check "$SPEC" "$SEEN" "$method" "$tmpl" "$STATUS" "${res#* }" "$OUT" ||
		fail "$method $path: the answer does not match schema/openapi.json"
}

field() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$OUT" "$1"; }
