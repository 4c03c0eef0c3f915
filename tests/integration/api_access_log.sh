#!/usr/bin/env bash
# api_access_log.sh - pp-api's access log: one line per request (method, path, status, bytes,
# duration, client, X-Request-Id, the buyer or seller), as JSON fields with log_format = json,
# and never a secret: requests with the service key, a seller key, a wrong key, a buyer token
# (in the header, and in the query where a client may put it by mistake), an IM-link code (in
# the body, and in a path segment), a 413 refused while reading; then the whole log, at debug
# level, holds none of them. api_access_log = false (SIGHUP) stops the lines.
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/api_lib.sh"

rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
SERVICE_KEY=svc_$(rnd) WRONG_KEY=wrong_$(rnd) QUERY_KEY=apikey_$(rnd) RID=rid-$$-$RANDOM
export PP_API_BUYER_SECRET=bs_$(rnd)
SELLER_KEY=$("$PPCTL" seller --id 1 --new-key) || fail "ppctl seller"
psql_q "INSERT INTO users (id, locale) VALUES (1, 'pl'); INSERT INTO transactions (id, buyer_id, seller_id) VALUES (10, 1, 1)" || fail "seed"
TOK=$("$PPCTL" buyer-token --user 1) || fail "ppctl buyer-token"

LOG=$PP_TEST_TMP/api.log CONF=$PP_TEST_TMP/api.conf
printf 'log_format = json\nlog_level = debug\napi_access_log = true\n' >"$CONF"
env PP_API_ADDR=127.0.0.1:0 PP_API_SERVICE_KEY="$SERVICE_KEY" "$API" --config "$CONF" >"$LOG" 2>&1 &
API_PID=$!
pp_test_pids+=("$API_PID")
wait_until 10 grep -q 'api on http://' "$LOG" || fail "pp-api did not start: $(tail -5 "$LOG")"
BASE=$(sed -n 's|.*api on \(http://[^/]*\)/.*|\1|p' "$LOG" | head -1)

# hit WANT METHOD PATH [curl args...]: one request, its status checked; counted in $n.
n=0
hit() {
	local want=$1 method=$2 path=$3 got
	shift 3
	got=$(curl -s -o "$PP_TEST_TMP/body" -w '%{http_code}' -X "$method" "$@" "$BASE$path") || true
	[[ $got == "$want" ]] || fail "$method $path: status $got, want $want: $(head -c 200 "$PP_TEST_TMP/body")"
	n=$((n + 1))
}
J=(-H 'Content-Type: application/json')
hit 201 PUT /v1/users/2 -H "Authorization: Bearer $SERVICE_KEY" "${J[@]}" -d '{"locale":"en"}'
hit 201 PUT /v1/transactions/11 -H "Authorization: Bearer $SERVICE_KEY" "${J[@]}" -d '{"buyer_id":2,"seller_id":1}'
hit 401 PUT /v1/users/3 -H "Authorization: Bearer $WRONG_KEY" "${J[@]}" -d '{"locale":"en"}'
hit 200 GET /v1/transactions/10 -H "Authorization: Bearer $SELLER_KEY" -H "X-Request-Id: $RID"
hit 200 GET /v1/me/notifications -H "Authorization: Bearer $TOK"
hit 401 GET "/v1/me/notifications?token=$TOK&api_key=$QUERY_KEY"
hit 200 GET "/?lang=en&token=$TOK"
hit 202 POST /v1/me/im-link -H "Authorization: Bearer $TOK" "${J[@]}" -d '{"channel":"xmpp","address":"al@parcelpush.test"}'
CODE=$(psql_q "SELECT payload::json->>'code' FROM outbox WHERE topic = '$PP_IM_LINK_TOPIC'")
[[ $CODE =~ ^[0-9]{6}$ ]] || fail "no IM-link code in the outbox: '$CODE'"
hit 404 POST "/v1/me/im-link/verify/$CODE" -H "Authorization: Bearer $TOK" "${J[@]}" -d '{}'
hit 200 POST /v1/me/im-link/verify -H "Authorization: Bearer $TOK" "${J[@]}" -d "{\"code\":\"$CODE\"}"
/usr/bin/python3 -c 'import json; print(json.dumps({"locale": "pl", "pad": "x" * 70000}))' >"$PP_TEST_TMP/big.json"
hit 413 PUT /v1/users/4 -H "Authorization: Bearer $SERVICE_KEY" "${J[@]}" --data-binary "@$PP_TEST_TMP/big.json"
hit 404 GET "/$SERVICE_KEY/$TOK"

lines() { grep -c '"log":"access"' "$LOG"; }
all_lines() { (($(lines) >= n)); }
wait_until 10 all_lines || fail "$(lines) access lines for $n requests"
for s in "$SERVICE_KEY" "$SELLER_KEY" "$WRONG_KEY" "$TOK" "${TOK#*.}" "$QUERY_KEY" "$CODE"; do
	! grep -qF -- "$s" "$LOG" || fail "a secret is in the log: $(grep -F -- "$s" "$LOG" | head -2)"
done
check=$(/usr/bin/python3 - "$LOG" "$n" "$RID" <<'PY'
import json, sys
path, want, rid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
acc = [o for o in map(json.loads, open(path, encoding="utf-8")) if o.get("log") == "access"]
def fail(msg):
    print(msg); sys.exit(1)
if len(acc) != want:
    fail(f"{len(acc)} access lines for {want} requests")
for o in acc:
    miss = {"method", "path", "status", "bytes", "duration_us", "client", "msg"} - o.keys()
    if miss or o["level"] != "info" or o["client"] != "127.0.0.1":
        fail(f"access line without {sorted(miss)} or not info from 127.0.0.1: {o}")
def one(method, p, status, **fields):
    hits = [o for o in acc if o["method"] == method and o["path"] == p and o["status"] == status]
    if len(hits) != 1 or any(hits[0].get(k) != v for k, v in fields.items()):
        fail(f"want one line {method} {p} {status} {fields}, got {hits}")
one("PUT", "/v1/users/2", 201)
one("GET", "/v1/transactions/10", 200, seller_id=1, request_id=rid)
one("GET", "/v1/me/notifications", 200, user_id=1)
one("GET", "/v1/me/notifications?*", 401)
one("GET", "/?lang=en&*", 200)
one("POST", "/v1/me/im-link/verify/*", 404)
one("POST", "/v1/me/im-link/verify", 200, user_id=1)
one("PUT", "/v1/users/4", 413)
one("GET", "/*/*", 404)
print(f"{len(acc)} access lines, one per request")
PY
) || fail "access log: $check"

# api_access_log = false on SIGHUP: no line for the next request (text lines, for the eye)
printf 'log_format = text\nlog_level = debug\napi_access_log = false\n' >"$CONF"
kill -HUP "$API_PID"
wait_until 10 grep -q 'pp-api\[[0-9]*\] debug: .*SIGHUP' "$LOG" || fail "SIGHUP not taken: $(tail -2 "$LOG")"
before=$(grep -c 'access: ' "$LOG")
hit 200 GET /v1/me/notifications -H "Authorization: Bearer $TOK"
hit 200 GET /static/style.css
[[ $(grep -c 'access: ' "$LOG") == "$before" ]] || fail "api_access_log = false still logs: $(tail -2 "$LOG")"
stop_pid "$API_PID"
check_logs_clean
echo ok
echo "    $check, none with a key, token or code; api_access_log = false: none"
