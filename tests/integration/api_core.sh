#!/usr/bin/env bash
# pp-api core: every route documented in schema/openapi.json answers with a documented status
# and body shape (api_check.py); marketplace feed idempotency; seller WebAPI: idempotent entry,
# replacement, detection (422 ambiguous), authorization (seller A vs seller B, no existence
# leak), 401/413/415, per-key rate limit (429 + Retry-After), keys never logged, /metrics on
# the ops listener only (the public port answers 404),
# workers-table registration and a graceful SIGTERM (exit 0, stopped_at set).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/api_lib.sh"

SERVICE_KEY=svc_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY_A=$("$PPCTL" seller --id 1 --name "Sklep A" --new-key) || fail "ppctl seller --new-key failed"
KEY_B=$("$PPCTL" seller --id 2 --new-key)
KEY_C=$("$PPCTL" seller --id 3 --new-key)
[[ $KEY_A =~ ^pps_[0-9a-f]{64}$ ]] || fail "unexpected key format: $KEY_A"
[[ $(psql_q "SELECT count(*) FROM sellers WHERE api_key_hash = encode(sha256('$KEY_A'::bytea), 'hex')") == 1 ]] ||
	fail "sellers.api_key_hash is not the SHA-256 of the key"
[[ $(psql_q "SELECT count(*) FROM sellers WHERE api_key_hash LIKE '%$KEY_A%' OR name LIKE '%$KEY_A%'") == 0 ]] ||
	fail "the key itself is stored"

api_start api PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_MAX_BODY=4096 PP_API_RATE_PER_MIN=1 \
	PP_API_RATE_BURST=45 PP_HEARTBEAT_INTERVAL_MS=200 PP_WORKER_ID=api-test PP_API_KEY_CACHE_MS=600000
LOG=$PP_TEST_TMP/api.log

# The public port shows nothing about the process: /metrics and the probes are on the ops
# listener only (ops_addr).
for p in /metrics /healthz /livez /readyz; do
	[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE$p") == 404 ]] || fail "the API port answers GET $p (want 404)"
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$OPS/livez") == 200 ]] || fail "the ops listener's /livez is not 200"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$OPS/readyz") == 200 ]] || fail "the ops listener's /readyz is not 200"
# the buyer's pages (public; the browser test is web_browser.sh)
call 200 GET / / ""
call 200 GET /moje-konto/ustawienia/powiadomienia "/moje-konto/ustawienia/powiadomienia?lang=en" ""
call 200 GET "/transakcje/{id}" /transakcje/500 ""
call 404 GET "/transakcje/{id}" /transakcje/abc ""
call 200 GET /static/app.js /static/app.js ""
call 200 GET /static/style.css /static/style.css ""

# ---- marketplace feed ----
U=/v1/users/{id} T=/v1/transactions/{id} S=/v1/transactions/{id}/shipment
call 201 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}'
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}'
call 201 PUT "$U" /v1/users/101 "$SERVICE_KEY" '{"locale":"en","im_channel":"xmpp"}'
[[ $(field 'd["im_channel"]') == xmpp ]] || fail "im_channel not echoed"
call 200 PUT "$U" /v1/users/101 "$SERVICE_KEY" '{"locale":"pl"}'
[[ $(psql_q "SELECT locale || ',' || im_channel FROM users WHERE id = 101") == pl,xmpp ]] || fail "user upsert lost a field"
call 422 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"de"}'
[[ $(field 'd["error"]["code"]') == invalid_locale ]] || fail "wrong error code"
call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":'
call 400 PUT "$U" /v1/users/abc "$SERVICE_KEY" '{"locale":"pl"}'
call 415 PUT "$U" /v1/users/100 "$SERVICE_KEY" 'locale=pl' text/plain
call 415 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}' application/jsonx
call 400 PUT "$U" /v1/users/0100 "$SERVICE_KEY" '{"locale":"pl"}' # not the user 100
call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"} {}'
call 401 PUT "$U" /v1/users/100 "" '{"locale":"pl"}'
call 401 PUT "$U" /v1/users/100 "wrong-key" '{"locale":"pl"}'
call 401 PUT "$U" /v1/users/100 "$KEY_A" '{"locale":"pl"}' # a seller key is not the service key
/usr/bin/python3 -c 'import json; print(json.dumps({"locale": "pl", "pad": "x" * 5000}))' >"$PP_TEST_TMP/big.json"
call 413 PUT "$U" /v1/users/100 "$SERVICE_KEY" "@$PP_TEST_TMP/big.json"
[[ $(field 'd["error"]["code"]') == body_too_large ]] || fail "413 without body_too_large"

call 201 PUT "$T" /v1/transactions/500 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":1}'
call 200 PUT "$T" /v1/transactions/500 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":1}'
call 409 PUT "$T" /v1/transactions/500 "$SERVICE_KEY" '{"buyer_id":101,"seller_id":1}'
call 422 PUT "$T" /v1/transactions/501 "$SERVICE_KEY" '{"buyer_id":999,"seller_id":1}'
[[ $(field 'd["error"]["code"]') == unknown_buyer ]] || fail "unknown buyer not named"
call 422 PUT "$T" /v1/transactions/501 "$SERVICE_KEY" '{"buyer_id":"100","seller_id":1}'
call 201 PUT "$T" /v1/transactions/502 "$SERVICE_KEY" '{"buyer_id":101,"seller_id":77}'
[[ $(psql_q "SELECT count(*) FROM sellers WHERE id = 77") == 1 ]] || fail "seller not created on first sight"
call 201 PUT "$T" /v1/transactions/503 "$SERVICE_KEY" '{"buyer_id":101,"seller_id":2}'
call 201 PUT "$T" /v1/transactions/504 "$SERVICE_KEY" '{"buyer_id":101,"seller_id":1}'
call 400 PUT "$T" /v1/transactions/x1 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":1}'
call 400 PUT "$T" /v1/transactions/505 "$SERVICE_KEY" '[1,2]'
call 401 PUT "$T" /v1/transactions/505 "$KEY_A" '{"buyer_id":100,"seller_id":1}'
call 413 PUT "$T" /v1/transactions/505 "$SERVICE_KEY" "@$PP_TEST_TMP/big.json"
[[ $(psql_q "SELECT count(*) FROM transactions") == 4 ]] || fail "refused requests wrote transactions"

# ---- seller WebAPI ----
call 200 GET "$T" /v1/transactions/500 "$KEY_A"
[[ $(field 'd["shipment"]') == None ]] || fail "a card without a number has a shipment"
INPOST=6340012345678901234 UPS=1Z999AA10123456784
call 201 PUT "$S" /v1/transactions/500/shipment "$KEY_A" "{\"tracking_number\":\"634 0012-345678901234\"}"
[[ $(field 'd["shipment"]["carrier"], d["shipment"]["tracking_number"], d["shipment"]["status"]') == "('inpost', '$INPOST', 'info_received')" ]] ||
	fail "detected shipment wrong: $(cat "$OUT")"
[[ $(field 'd["shipment"]["status_label"]["pl"] != "" and len(d["shipment"]["history"])') == 1 ]] || fail "no label/history"
call 200 PUT "$S" /v1/transactions/500/shipment "$KEY_A" "{\"carrier\":\"InPost\",\"tracking_number\":\"$INPOST\"}"
[[ $(psql_q "SELECT count(*) FROM shipments WHERE transaction_id = 500") == 1 ]] || fail "same number twice: two shipments"
[[ $(psql_q "SELECT count(*) FROM shipment_events e JOIN shipments s ON s.id = e.shipment_id WHERE s.transaction_id = 500") == 1 ]] ||
	fail "same number twice: two events"
[[ $(psql_q "SELECT count(*) FROM outbox") == 1 ]] || fail "same number twice: two outbox rows"
[[ $(psql_q "SELECT next_poll_at <= now() FROM shipments WHERE transaction_id = 500") == t ]] || fail "no immediate first poll"
# replacement: a different number becomes current, the old one stops being polled
call 201 PUT "$S" /v1/transactions/500/shipment "$KEY_A" "{\"carrier\":\"ups\",\"tracking_number\":\"$UPS\"}"
[[ $(field 'd["shipment"]["tracking_number"]') == "$UPS" ]] || fail "replacement not current"
[[ $(psql_q "SELECT (o.next_poll_at IS NULL AND o.replaced_by = n.id)::text FROM shipments o, shipments n
             WHERE o.tracking_number = '$INPOST' AND n.tracking_number = '$UPS'") == true ]] || fail "replaced shipment still polled"
call 200 GET "$T" /v1/transactions/500 "$KEY_A"
[[ $(field 'd["shipment"]["carrier_name"], d["shipment"]["tracking_number"]') == "('UPS', '$UPS')" ]] || fail "card shows the old number"
# the pickup deadline shows while the parcel waits, not after it was collected
psql_q "UPDATE shipments SET status = 'available_for_pickup', pickup_point = 'KRA01M',
        pickup_deadline = '2026-03-02T10:00:00Z' WHERE tracking_number = '$UPS'" >/dev/null
call 200 GET "$T" /v1/transactions/500 "$KEY_A"
[[ $(field 'd["shipment"]["pickup_deadline"], d["shipment"]["status_label"]["pl"]') == "('2026-03-02T10:00:00Z', 'czeka na odbiór')" ]] ||
	fail "waiting parcel: $(cat "$OUT")"
psql_q "UPDATE shipments SET status = 'delivered' WHERE tracking_number = '$UPS'" >/dev/null
call 200 GET "$T" /v1/transactions/500 "$KEY_A"
[[ $(field 'd["shipment"]["pickup_deadline"], d["shipment"]["pickup_point"]') == "(None, 'KRA01M')" ]] ||
	fail "a collected parcel still shows its pickup deadline: $(cat "$OUT")"
psql_q "UPDATE shipments SET status = 'info_received', pickup_point = NULL, pickup_deadline = NULL WHERE tracking_number = '$UPS'" >/dev/null
# detection: ambiguous -> 422 with candidates; with the carrier it is accepted
call 422 PUT "$S" /v1/transactions/504/shipment "$KEY_A" '{"tracking_number":"3318810025"}'
[[ $(field 'd["error"]["code"], [c["carrier"] for c in d["error"]["candidates"]]') == "('ambiguous_carrier', ['dhl', 'orlen'])" ]] ||
	fail "ambiguous answer wrong: $(cat "$OUT")"
call 201 PUT "$S" /v1/transactions/504/shipment "$KEY_A" '{"carrier":"dhl","tracking_number":"3318810025"}'
call 422 PUT "$S" /v1/transactions/504/shipment "$KEY_A" '{"tracking_number":"1Z999AA10123456785"}'
[[ $(field 'd["error"]["code"]') == invalid_number ]] || fail "bad check digit accepted"
call 422 PUT "$S" /v1/transactions/504/shipment "$KEY_A" '{"carrier":"fedex","tracking_number":"1Z999AA10123456784"}'
# the answer lists the registry's carriers (pp_carrier_names, not a list of the API's own)
[[ $(field 'd["error"]["code"], d["error"]["message"]') == "('unknown_carrier', 'unknown carrier; one of dhl, ups, inpost, gls, dpd, pocztapolska, orlen')" ]] ||
	fail "unknown carrier: $(cat "$OUT")"
call 422 PUT "$S" /v1/transactions/504/shipment "$KEY_A" '{"carrier":"inpost","tracking_number":"1Z999AA10123456784"}'
call 400 PUT "$S" /v1/transactions/504/shipment "$KEY_A" 'nope'
call 413 PUT "$S" /v1/transactions/504/shipment "$KEY_A" "@$PP_TEST_TMP/big.json"
# authorization: seller B cannot touch or read seller A's transaction, and cannot tell it exists
call 404 PUT "$S" /v1/transactions/504/shipment "$KEY_B" "{\"tracking_number\":\"$UPS\"}"
foreign=$(cat "$OUT")
call 404 PUT "$S" /v1/transactions/99504/shipment "$KEY_B" "{\"tracking_number\":\"$UPS\"}"
[[ $(sed 's/99504/504/' "$OUT") == "$foreign" ]] || fail "404 for a foreign vs a missing transaction differ"
call 404 GET "$T" /v1/transactions/500 "$KEY_B"
foreign=$(cat "$OUT")
call 404 GET "$T" /v1/transactions/99500 "$KEY_B"
[[ $(cat "$OUT") == "$foreign" ]] || fail "card 404 for a foreign vs a missing transaction differ"
call 200 GET "$T" /v1/transactions/503 "$KEY_B"
[[ $(psql_q "SELECT count(*) FROM shipments WHERE transaction_id = 504") == 1 ]] || fail "seller B changed A's shipment"
call 401 PUT "$S" /v1/transactions/504/shipment "" "{\"tracking_number\":\"$UPS\"}"
call 401 PUT "$S" /v1/transactions/504/shipment "$SERVICE_KEY" "{\"tracking_number\":\"$UPS\"}"
call 401 GET "$T" /v1/transactions/500 "pps_0000000000000000000000000000000000000000000000000000000000000000"
call 401 GET "$T" /v1/transactions/500 "$SERVICE_KEY"

# ---- metrics and workers table ----
curl -sS "$OPS/metrics" >"$PP_TEST_TMP/metrics.txt"
grep -q 'pp_api_requests_total{method="PUT",route="/v1/transactions/{id}/shipment",status="201"} 3' "$PP_TEST_TMP/metrics.txt" ||
	fail "no per-route counter: $(grep pp_api_requests_total "$PP_TEST_TMP/metrics.txt" | head -5)"
grep -q 'pp_api_request_seconds_bucket{method="GET",route="/v1/transactions/{id}"' "$PP_TEST_TMP/metrics.txt" || fail "no latency histogram"
wait_until 5 bash -c "[[ \$(psql \"$PP_DB_URL\" -XAtc \"SELECT kind || (stopped_at IS NULL) FROM workers WHERE id = 'api-test'\") == apitrue ]]" ||
	fail "pp-api is not registered in the workers table"

# ---- rate limit per key (burst 45, refill 1/min, so no refill during the test whatever the
# machine's speed): seller C exhausts its bucket, seller A is unaffected ----
limited=0
for _ in $(seq 60); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_C" "$BASE/v1/transactions/1")
	[[ $code == 429 ]] && limited=$((limited + 1))
done
((limited >= 10)) || fail "only $limited of 60 rapid requests were rate limited"
call 429 GET "$T" /v1/transactions/1 "$KEY_C"
grep -qi '^retry-after: [1-9]' "$HDR" || fail "429 without Retry-After"
call 429 PUT "$S" /v1/transactions/1/shipment "$KEY_C" "{\"tracking_number\":\"$UPS\"}"
call 200 GET "$T" /v1/transactions/500 "$KEY_A"
for _ in $(seq 60); do
	curl -s -o /dev/null -X PUT -H "Authorization: Bearer $SERVICE_KEY" -H 'Content-Type: application/json' \
		--data '{"locale":"pl"}' "$BASE/v1/users/100"
done
call 429 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}'
call 429 PUT "$T" /v1/transactions/500 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":1}'

# A seller key found valid is trusted for api_key_cache_ms (600 s here) without asking Postgres:
# replaced, it still works on this process; a process without the cache refuses it at once.
call 200 GET "$T" /v1/transactions/503 "$KEY_B"
KEY_B2=$("$PPCTL" seller --id 2 --new-key)
call 200 GET "$T" /v1/transactions/503 "$KEY_B"
API1=$BASE API1_PID=$API_PID
api_start api-nocache PP_API_KEY_CACHE_MS=0 PP_WORKER_ID=api-nocache
call 401 GET "$T" /v1/transactions/503 "$KEY_B"
call 200 GET "$T" /v1/transactions/503 "$KEY_B2"
BASE=$API1 API_PID=$API1_PID

/usr/bin/python3 "$CHECK" coverage "$SPEC" "$SEEN" || fail "OpenAPI coverage"
/usr/bin/python3 "$CHECK" coverage "$SPEC" "$SEEN" pages || fail "OpenAPI coverage of the pages"

# ---- keys never logged; graceful stop ----
for k in "$SERVICE_KEY" "$KEY_A" "$KEY_B" "$KEY_C"; do
	grep -qF "$k" "$LOG" && fail "a key appears in the log"
done
kill -TERM "$API_PID"
rc=0
wait "$API_PID" || rc=$?
((rc == 0)) || fail "pp-api exited $rc after SIGTERM: $(tail -5 "$LOG")"
[[ $(psql_q "SELECT stopped_at IS NOT NULL FROM workers WHERE id = 'api-test'") == t ]] || fail "stopped_at not set"
check_logs_clean
echo ok
