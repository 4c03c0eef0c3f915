#!/usr/bin/env bash
# pp-api buyer side: buyer tokens (HMAC-SHA256 over the payload, api_buyer_secret) made by
# `ppctl buyer-token` and, independently, by Python's hmac; buyer A reads the card of their
# own transaction, buyer B gets the same 404 as for a missing one; expired, garbage, tampered
# and badly signed tokens get 401; GET/PUT /v1/me/notifications (toggle written to users,
# changed address unverified again, 404 for unknown users, 4xx JSON errors, per-buyer 429);
# every documented status of the "buyer" routes checked against schema/openapi.json
# (api_check.py); tokens never logged; an empty secret refuses buyer tokens.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/api_lib.sh"

SERVICE_KEY=svc_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export PP_API_BUYER_SECRET=bs_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY_S=$("$PPCTL" seller --id 1 --new-key)

# mint SECRET SUB EXP [PAYLOAD]: a token made by Python (not by the code under test).
mint() {
	/usr/bin/python3 -c '
import base64, hashlib, hmac, sys
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
secret, sub, exp = sys.argv[1:4]
payload = (sys.argv[4] if len(sys.argv) > 4 else "{\"sub\":%s,\"exp\":%s}" % (sub, exp)).encode()
print(b(payload) + "." + b(hmac.new(secret.encode(), payload, hashlib.sha256).digest()))' "$@"
}
NOW=$(date +%s)
TOK_A=$("$PPCTL" buyer-token --user 100) || fail "ppctl buyer-token failed"
TOK_B=$("$PPCTL" buyer-token --user 101 --ttl 600)
TOK_C=$("$PPCTL" buyer-token --user 102) # a user the marketplace never sent
[[ $TOK_A =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$ ]] || fail "unexpected token format: $TOK_A"
[[ $(PP_API_BUYER_SECRET='' "$PPCTL" buyer-token --user 100 2>&1) == *api_buyer_secret* ]] ||
	fail "buyer-token without a secret did not say so"

# many bad tokens below: the failed-authentication limit (api_abuse.sh) is set out of the way
api_start api PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_RATE_PER_MIN=1 PP_API_RATE_BURST=50 PP_WORKER_ID=api-buyer-test \
	PP_API_AUTH_FAIL_BURST=100000 PP_API_AUTH_FAIL_NET_BURST=100000 PP_API_AUTH_FAIL_GLOBAL_BURST=100000
LOG=$PP_TEST_TMP/api.log

U=/v1/users/{id} T=/v1/transactions/{id} S=/v1/transactions/{id}/shipment N=/v1/me/notifications
call 201 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}'
call 201 PUT "$U" /v1/users/101 "$SERVICE_KEY" '{"locale":"en"}'
call 201 PUT "$U" /v1/users/103 "$SERVICE_KEY" '{"locale":"pl"}'
call 201 PUT "$T" /v1/transactions/500 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":1}'
call 201 PUT "$T" /v1/transactions/501 "$SERVICE_KEY" '{"buyer_id":101,"seller_id":1}'
call 201 PUT "$S" /v1/transactions/501/shipment "$KEY_S" '{"carrier":"ups","tracking_number":"1Z999AA10123456784"}'

# ---- the card: buyer A reads their own, buyer B cannot tell it exists ----
call 200 GET "$T" /v1/transactions/500 "$TOK_A"
[[ $(field 'd["buyer_id"], d["transaction_id"]') == "(100, 500)" ]] || fail "buyer A got the wrong card: $(cat "$OUT")"
call 200 GET "$T" /v1/transactions/501 "$TOK_B"
[[ $(field 'd["shipment"]["tracking_number"]') == 1Z999AA10123456784 ]] || fail "buyer B's card has no shipment"
call 404 GET "$T" /v1/transactions/500 "$TOK_B"
foreign=$(cat "$OUT")
call 404 GET "$T" /v1/transactions/99500 "$TOK_B"
[[ $(cat "$OUT") == "$foreign" ]] || fail "buyer 404 for a foreign vs a missing transaction differ"
call 404 GET "$T" /v1/transactions/501 "$TOK_A"
call 200 GET "$T" /v1/transactions/500 "$(mint "$PP_API_BUYER_SECRET" 100 $((NOW + 300)))" # independent signer

# ---- bad tokens: 401 on the card and on the settings ----
EXPIRED=$("$PPCTL" buyer-token --user 100 --ttl -5)
WRONG_KEY=$(mint "not-the-secret" 100 $((NOW + 300)))
SIG_A=${TOK_A#*.}
TAMPERED=$(mint x 0 0 '{"sub":101,"exp":9999999999}' | cut -d. -f1).$SIG_A # B's id under A's signature
NOEXP=$(mint "$PP_API_BUYER_SECRET" 0 0 '{"sub":100}')
BADSUB=$(mint "$PP_API_BUYER_SECRET" 0 0 '{"sub":"100","exp":9999999999}')
NOTJSON=$(mint "$PP_API_BUYER_SECRET" 0 0 'sub=100')
# validly signed, but for longer than api_buyer_token_max_ttl_s (30 days), or not strict JSON
TOO_LONG=$(mint "$PP_API_BUYER_SECRET" 100 $((NOW + 31 * 86400)))
DUPSUB=$(mint "$PP_API_BUYER_SECRET" 0 0 "{\"sub\":101,\"sub\":100,\"exp\":$((NOW + 300))}")
ZEROSUB=$(mint "$PP_API_BUYER_SECRET" 0 0 "{\"sub\":0100,\"exp\":$((NOW + 300))}")
call 200 GET "$T" /v1/transactions/500 "$(mint "$PP_API_BUYER_SECRET" 100 $((NOW + 29 * 86400)))"
"$PPCTL" buyer-token --user 100 --ttl $((31 * 86400)) >/dev/null 2>&1 && fail "ppctl buyer-token made a token longer than api_buyer_token_max_ttl_s"
for bad in "$EXPIRED" "$WRONG_KEY" "$TAMPERED" "$NOEXP" "$BADSUB" "$NOTJSON" "$TOO_LONG" "$DUPSUB" "$ZEROSUB" "garbage" "a.b" "${TOK_A%.*}" \
	"${TOK_A}x" "${TOK_A}.x" "$(printf 'x%.0s' $(seq 1100))"; do
	call 401 GET "$T" /v1/transactions/500 "$bad"
	call 401 GET "$N" /v1/me/notifications "$bad"
	[[ $(field 'd["error"]["code"]') == unauthorized ]] || fail "401 without code unauthorized"
done
call 401 GET "$N" /v1/me/notifications ""
call 401 PUT "$N" /v1/me/notifications "$EXPIRED" '{"shipment_status":true}'
call 401 GET "$N" /v1/me/notifications "$KEY_S"      # a seller key is not a buyer token
call 401 GET "$N" /v1/me/notifications "$SERVICE_KEY" # nor is the service key
call 401 PUT "$T" /v1/transactions/500 "$TOK_A" '{"buyer_id":100,"seller_id":1}'
call 401 PUT "$S" /v1/transactions/500/shipment "$TOK_A" '{"tracking_number":"1Z999AA10123456784"}'

# ---- notification settings ----
call 200 GET "$N" /v1/me/notifications "$TOK_A"
[[ $(field 'd["shipment_status"], d["channel"], d["address"], d["verified"]') == "(False, None, None, False)" ]] ||
	fail "defaults wrong: $(cat "$OUT")"
call 200 PUT "$N" /v1/me/notifications "$TOK_A" '{"shipment_status":true,"channel":"xmpp","address":"anna@example.org"}'
[[ $(psql_q "SELECT notify_shipment_status || ',' || im_channel || ',' || im_address || ',' || im_verified FROM users WHERE id = 100") == true,xmpp,anna@example.org,false ]] ||
	fail "PUT not stored"
psql_q "UPDATE users SET im_verified = true, notify_changed_at = now() - interval '1 hour' WHERE id = 100" # (linking: later)
before=$(psql_q "SELECT notify_changed_at FROM users WHERE id = 100")
call 200 PUT "$N" /v1/me/notifications "$TOK_A" '{"shipment_status":false}'
[[ $(psql_q "SELECT notify_shipment_status || ',' || im_verified || ',' || (notify_changed_at > '$before'::timestamptz) FROM users WHERE id = 100") == false,true,true ]] ||
	fail "toggle off not stored (or the unchanged address lost its verification)"
call 200 GET "$N" /v1/me/notifications "$TOK_A"
[[ $(field 'd["shipment_status"], d["verified"], d["address"]') == "(False, True, 'anna@example.org')" ]] || fail "GET after toggle off: $(cat "$OUT")"
call 200 PUT "$N" /v1/me/notifications "$TOK_A" '{"channel":"xmpp","address":"anna@example.org"}' # same address
[[ $(field 'd["verified"]') == True ]] || fail "re-sending the same address unverified it"
call 200 PUT "$N" /v1/me/notifications "$TOK_A" '{"channel":"xmpp","address":"anna2@example.org"}'
[[ $(field 'd["verified"], d["shipment_status"]') == "(False, False)" ]] || fail "changed address still verified: $(cat "$OUT")"
[[ $(psql_q "SELECT im_address || ',' || im_verified FROM users WHERE id = 100") == anna2@example.org,false ]] ||
	fail "changed address not stored unverified"
call 200 PUT "$N" /v1/me/notifications "$TOK_A" '{"shipment_status":true,"address":null}'
[[ $(psql_q "SELECT notify_shipment_status || ',' || im_channel || ',' || coalesce(im_address, 'NULL') FROM users WHERE id = 100") == true,xmpp,NULL ]] ||
	fail "address null not stored"
call 200 PUT "$N" /v1/me/notifications "$TOK_A" '{"channel":null}'
[[ $(field 'd["channel"], d["address"]') == "(None, None)" ]] || fail "channel null kept something"
# buyer B's settings are untouched by A
[[ $(psql_q "SELECT notify_shipment_status || ',' || coalesce(im_address, 'NULL') FROM users WHERE id = 101") == false,NULL ]] ||
	fail "A's PUTs changed B's row"
call 200 GET "$N" /v1/me/notifications "$TOK_B"
[[ $(field 'd["shipment_status"]') == False ]] || fail "B sees A's settings"
# errors
for body in '{"shipment_status":"no"}' '{"shipment_status":1}' '{"channel":"sms"}' '{"channel":"xmpp","address":"no address"}' \
	'{"channel":"xmpp","address":"a/b@c"}' '{"address":"anna@example.org"}' '{"channel":null,"address":"anna@example.org"}' '{}'; do
	call 422 PUT "$N" /v1/me/notifications "$TOK_A" "$body"
done
call 422 PUT "$N" /v1/me/notifications "$TOK_A" '{"channel":"sms"}'
[[ $(field 'd["error"]["code"]') == invalid_im_channel ]] || fail "wrong code for a bad channel"
call 400 PUT "$N" /v1/me/notifications "$TOK_A" '{"shipment_status":'
call 415 PUT "$N" /v1/me/notifications "$TOK_A" 'shipment_status=true' text/plain
/usr/bin/python3 -c 'import json; print(json.dumps({"shipment_status": True, "pad": "x" * 70000}))' >"$PP_TEST_TMP/big.json"
call 413 PUT "$N" /v1/me/notifications "$TOK_A" "@$PP_TEST_TMP/big.json"
[[ $(psql_q "SELECT notify_shipment_status || ',' || coalesce(im_channel, 'NULL') FROM users WHERE id = 100") == true,NULL ]] ||
	fail "a refused PUT changed the row"
call 404 GET "$N" /v1/me/notifications "$TOK_C"
call 404 PUT "$N" /v1/me/notifications "$TOK_C" '{"shipment_status":true}'
[[ $(psql_q "SELECT count(*) FROM users WHERE id = 102") == 0 ]] || fail "PUT created an unknown user"

# ---- per-buyer rate limit: fresh tokens (new buckets per token) do not reset the buyer's ----
limited=0
for i in $(seq 60); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(mint "$PP_API_BUYER_SECRET" 103 $((NOW + 600 + i)))" "$BASE$N")
	[[ $code == 429 ]] && limited=$((limited + 1))
done
((limited >= 5)) || fail "only $limited of 60 requests with fresh tokens were rate limited"
call 429 GET "$N" /v1/me/notifications "$(mint "$PP_API_BUYER_SECRET" 103 $((NOW + 900)))"
grep -qi '^retry-after: [1-9]' "$HDR" || fail "429 without Retry-After"
call 429 PUT "$N" /v1/me/notifications "$(mint "$PP_API_BUYER_SECRET" 103 $((NOW + 901)))" '{"shipment_status":true}'
call 200 GET "$N" /v1/me/notifications "$TOK_B" # other buyers are unaffected

/usr/bin/python3 "$CHECK" coverage "$SPEC" "$SEEN" buyer || fail "OpenAPI coverage of the buyer routes"
grep -q '^GET /v1/transactions/{id} 200$' "$SEEN" || fail "no buyer card read was checked"

# ---- tokens and the secret never logged ----
for k in "$TOK_A" "$TOK_B" "$TOK_C" "$EXPIRED" "$WRONG_KEY" "$SIG_A" "$PP_API_BUYER_SECRET" "$SERVICE_KEY" "$KEY_S"; do
	grep -qF "$k" "$LOG" && fail "a token, key or the secret appears in the log"
done

# ---- an empty secret disables buyer tokens ----
PP_API_BUYER_SECRET='' PP_API_ADDR=127.0.0.1:0 PP_WORKER_ID=api-buyer-nosecret PP_API_AUTH_FAIL_BURST=100000 PP_API_AUTH_FAIL_NET_BURST=100000 \
	PP_API_AUTH_FAIL_GLOBAL_BURST=100000 \
	start_bg api2 "$API" >/dev/null
LOG2=$PP_TEST_TMP/api2.log
wait_until 10 grep -q 'api on http://' "$LOG2" || fail "second pp-api did not start: $(tail -5 "$LOG2")"
BASE=$(sed -n 's|.*api on \(http://[^/]*\)/.*|\1|p' "$LOG2" | head -1)
grep -q 'api_buyer_secret is empty' "$LOG2" || fail "no warning about the empty secret"
call 401 GET "$N" /v1/me/notifications "$TOK_A"
call 401 GET "$T" /v1/transactions/500 "$TOK_A"
call 401 GET "$N" /v1/me/notifications "$(mint "" 100 $((NOW + 300)))" # signed with the empty secret
check_logs_clean
echo ok
