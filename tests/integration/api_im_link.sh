#!/usr/bin/env bash
# IM linking end to end on the real stack: POST /v1/me/im-link writes a code to the outbox,
# the poller's relay publishes it (im-link topic), the notifier sends it to the NEW address
# (not the current one); the buyer's notifications keep going to the old verified address
# until the code is verified; wrong / malformed / expired codes and too many attempts are
# refused; the right code switches the address; an unverified address (set by PUT
# /v1/me/notifications) never gets a notification; a code replaced before the notifier got to
# it is never sent (one message, the newest code); resend limit 429 + Retry-After; the code
# is stored only hashed and never logged; a poison event on the im-link topic goes to the
# dead-letter topic; every documented status of the im-link routes checked (api_check.py).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/api_lib.sh"
xmpp_stack
PRODUCE=$PP_BUILD/notifier/pp-produce
: "${PP_IM_LINK_TOPIC:?tests/run exports PP_IM_LINK_TOPIC}"

# Own bot account; buyer 1's current address A, the new ones B and C, an unverified E.
export PP_XMPP_JID=lbot-$tag@$D PP_XMPP_PASSWORD=lb-$tag
A=la-$tag@$D B=lb-$tag@$D C=lc-$tag@$D E=le-$tag@$D
xmpp_register "lbot-$tag" "lb-$tag" "la-$tag" pa "lb-$tag" pb "lc-$tag" pc "le-$tag" pe
printf '%s %s\n' "$A" pa "$B" pb "$C" pc "$E" pe >"$PP_TEST_TMP/accounts"
inbox() { "$INBOX" -H "$PP_XMPP_HOST" -p "$PP_XMPP_PORT" <"$PP_TEST_TMP/accounts" 2>>"$PP_TEST_TMP/inbox.log" || fail "pp-inbox failed"; }
# ship_event SEQ: a status event of transaction 10 (buyer 1) on the shipment topic; prints its id.
ship_event() {
	local id
	id=$(cat /proc/sys/kernel/random/uuid)
	printf '7\t{"event_id":"%s","schema_version":1,"kind":"status_changed","shipment_id":7,"transaction_id":10,"carrier":"inpost","tracking_number":"620000000000000000000007","previous_status":null,"status":"in_transit","carrier_status":null,"carrier_status_text":null,"location":null,"occurred_at":"2026-01-01T10:00:00Z","detected_at":"2026-01-01T10:00:01Z","sequence":%s}\n' "$id" "$1" |
		"$PRODUCE" -b "$PP_KAFKA_BROKERS" -t "$PP_TOPIC" 2>>"$PP_TEST_TMP/kafka.log" || fail "produce"
	echo "$id"
}
ledger() { psql_q "SELECT state || ' ' || coalesce(address, '-') FROM notifications WHERE event_id = '$1'"; }
wait_ledger() { # EVENT_ID STATE
	wait_until 60 bash -c "[[ \$(psql '$PP_DB_URL' -XAtq -c \"SELECT state FROM notifications WHERE event_id = '$1'\") == $2 ]]" ||
		fail "event $1: ledger $(ledger "$1"), want $2"
}

export PP_API_BUYER_SECRET=bs-$tag PP_IM_LINK_RESEND_S=5 PP_IM_LINK_MAX_ATTEMPTS=3 PP_RELAY_INTERVAL_MS=50
SERVICE_KEY=svc-$tag
psql_q "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
        VALUES (1, 'pl', true, 'xmpp', '$A', true), (2, 'en', true, NULL, NULL, false);
        INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (10, 1, 1)" || fail "seed"
TOK=$("$PPCTL" buyer-token --user 1) TOK2=$("$PPCTL" buyer-token --user 2) TOK9=$("$PPCTL" buyer-token --user 9)

api_start api PP_API_SERVICE_KEY="$SERVICE_KEY" PP_WORKER_ID=api-link-test
start_bg poller "$POLLER" >/dev/null
start_bg notifier "$NOTIFIER" >/dev/null
NPID=${pp_test_pids[-1]}
wait_until 30 grep -q 'metrics on http' "$PP_TEST_TMP/notifier.log" || fail "notifier did not start: $(tail -3 "$PP_TEST_TMP/notifier.log")"

L=/v1/me/im-link V=/v1/me/im-link/verify N=/v1/me/notifications
# ---- 1. a code for B; A stays the address in use ----
call 202 POST "$L" "$L" "$TOK" "{\"channel\":\"xmpp\",\"address\":\"$B\"}"
[[ $(field 'd["pending"]["address"], d["address"], d["verified"]') == "('$B', '$A', True)" ]] ||
	fail "pending link not shown, or the current address changed: $(cat "$OUT")"
ev1=$(psql_q "SELECT event_id FROM im_links WHERE user_id = 1")
[[ $(psql_q "SELECT topic FROM outbox WHERE event_id = '$ev1'") == "$PP_IM_LINK_TOPIC" ]] || fail "code not in the outbox on the im-link topic"
wait_ledger "$ev1" sent
[[ $(ledger "$ev1") == "sent $B" ]] || fail "code row: $(ledger "$ev1")"
s1=$(ship_event 1)
wait_ledger "$s1" sent
[[ $(ledger "$s1") == "sent $A" ]] || fail "before verification the notification must go to A: $(ledger "$s1")"
inbox >"$PP_TEST_TMP/inbox1.jsonl"
grep -q "\"jid\":\"$A\".*$s1" "$PP_TEST_TMP/inbox1.jsonl" || fail "A did not get the status message"
CODE=$(grep "\"jid\":\"$B\"" "$PP_TEST_TMP/inbox1.jsonl" | grep -o 'kod to [0-9]\{6\}' | grep -o '[0-9]\{6\}')
[[ $CODE =~ ^[0-9]{6}$ ]] || fail "no code in B's inbox: $(cat "$PP_TEST_TMP/inbox1.jsonl")"
[[ $(grep -c "\"jid\":\"$B\"" "$PP_TEST_TMP/inbox1.jsonl") == 1 ]] || fail "B got more than the code"
[[ $(psql_q "SELECT count(*) FROM im_links WHERE code_hash = encode(sha256('$ev1:$CODE'::bytea), 'hex')") == 1 ]] ||
	fail "im_links.code_hash is not SHA-256(event_id:code)"
[[ $(psql_q "SELECT count(*) FROM notifications WHERE body LIKE '%$CODE%'") == 0 ]] || fail "the code is in the ledger"

# ---- 2. wrong, malformed and right codes ----
WRONG=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))
call 422 POST "$V" "$V" "$TOK" "{\"code\":\"$WRONG\"}"
[[ $(field 'd["error"]["code"]') == wrong_code ]] || fail "wrong code: $(cat "$OUT")"
call 422 POST "$V" "$V" "$TOK" '{"code":"12a456"}'
[[ $(field 'd["error"]["code"]') == invalid_field ]] || fail "malformed code: $(cat "$OUT")"
call 422 POST "$V" "$V" "$TOK" '{"code":12}'
[[ $(psql_q "SELECT attempts FROM im_links WHERE user_id = 1") == 1 ]] || fail "a malformed code counted as an attempt"
call 200 POST "$V" "$V" "$TOK" "{\"code\":\"${CODE:0:3} ${CODE:3}\"}"
[[ $(field 'd["address"], d["verified"], d["pending"]') == "('$B', True, None)" ]] || fail "not verified: $(cat "$OUT")"
call 422 POST "$V" "$V" "$TOK" "{\"code\":\"$CODE\"}"
[[ $(field 'd["error"]["code"]') == no_pending_link ]] || fail "a used code: $(cat "$OUT")"
s2=$(ship_event 2)
wait_ledger "$s2" sent
[[ $(ledger "$s2") == "sent $B" ]] || fail "after verification the notification must go to B: $(ledger "$s2")"

# ---- 3. 409, resend limit, a replaced code is never sent ----
call 409 POST "$L" "$L" "$TOK" "{\"channel\":\"xmpp\",\"address\":\"$B\"}"
resend_over() { [[ $(psql_q "SELECT created_at < now() - interval '5 seconds' FROM im_links WHERE user_id = 1") == t ]]; }
wait_until 30 resend_over || fail "im_links.created_at never got older than the resend interval"
kill -STOP "$NPID" # the notifier pauses (shorter than its 10 s session): both codes wait in the topic
call 202 POST "$L" "$L" "$TOK" "{\"channel\":\"xmpp\",\"address\":\"$C\"}"
evC1=$(psql_q "SELECT event_id FROM im_links WHERE user_id = 1")
call 429 POST "$L" "$L" "$TOK" "{\"channel\":\"xmpp\",\"address\":\"$C\"}" # within im_link_resend_s (5 s)
[[ $(field 'd["error"]["code"]') == too_soon ]] && grep -qi '^retry-after: [1-9]' "$HDR" || fail "resend limit: $(cat "$OUT") $(cat "$HDR")"
wait_until 30 resend_over || fail "im_links.created_at never got older than the resend interval"
call 202 POST "$L" "$L" "$TOK" "{\"channel\":\"xmpp\",\"address\":\"$C\"}"
evC2=$(psql_q "SELECT event_id FROM im_links WHERE user_id = 1")
[[ $evC1 != "$evC2" ]] || fail "the new code did not replace the old one"
wait_until 10 bash -c "[[ \$(psql '$PP_DB_URL' -XAtq -c \"SELECT count(*) FROM outbox WHERE event_id IN ('$evC1', '$evC2') AND published_at IS NOT NULL\") == 2 ]]" ||
	fail "codes not published"
kill -CONT "$NPID"
wait_ledger "$evC2" sent
wait_ledger "$evC1" skipped_stale
inbox >"$PP_TEST_TMP/inbox2.jsonl"
[[ $(grep -c "\"jid\":\"$C\"" "$PP_TEST_TMP/inbox2.jsonl") == 1 ]] || fail "C must get exactly one code: $(cat "$PP_TEST_TMP/inbox2.jsonl")"

# ---- 4. expired code, too many attempts ----
psql_q "UPDATE im_links SET expires_at = now() - interval '1 second' WHERE user_id = 1" >/dev/null
call 422 POST "$V" "$V" "$TOK" '{"code":"000000"}'
[[ $(field 'd["error"]["code"]') == code_expired ]] || fail "expired: $(cat "$OUT")"
psql_q "UPDATE im_links SET expires_at = now() + interval '10 minutes', attempts = 3 WHERE user_id = 1" >/dev/null
call 422 POST "$V" "$V" "$TOK" '{"code":"000000"}'
[[ $(field 'd["error"]["code"]') == too_many_attempts ]] || fail "attempts: $(cat "$OUT")"

# ---- 5. an unverified address never gets a notification ----
call 200 PUT "$N" "$N" "$TOK" "{\"channel\":\"xmpp\",\"address\":\"$E\"}"
[[ $(field 'd["verified"]') == False ]] || fail "a changed address stayed verified"
s3=$(ship_event 3)
wait_ledger "$s3" skipped_no_im
inbox >"$PP_TEST_TMP/inbox3.jsonl"
! grep -q "\"jid\":\"$E\"" "$PP_TEST_TMP/inbox3.jsonl" || fail "the unverified address got a message"

# ---- 6. errors: 404 unknown user, 422 fields, 400/413/415/401, poison on the im-link topic ----
call 404 POST "$L" "$L" "$TOK9" "{\"channel\":\"xmpp\",\"address\":\"$C\"}"
call 422 POST "$L" "$L" "$TOK2" "{\"channel\":\"sms\",\"address\":\"$C\"}"
[[ $(field 'd["error"]["code"]') == invalid_im_channel ]] || fail "channel: $(cat "$OUT")"
call 422 POST "$L" "$L" "$TOK2" '{"channel":"xmpp","address":"not an address"}'
call 400 POST "$L" "$L" "$TOK2" '{"channel":'
call 400 POST "$V" "$V" "$TOK2" '[1]'
call 415 POST "$L" "$L" "$TOK2" 'channel=xmpp' 'application/x-www-form-urlencoded'
call 415 POST "$V" "$V" "$TOK2" 'code=1' 'text/plain'
big=$(head -c 70000 /dev/zero | tr '\0' 'x')
call 413 POST "$L" "$L" "$TOK2" "{\"channel\":\"xmpp\",\"address\":\"$big\"}"
call 413 POST "$V" "$V" "$TOK2" "{\"code\":\"$big\"}"
call 401 POST "$L" "$L" "garbage" '{}'
call 401 POST "$V" "$V" "" '{}'
call 422 POST "$V" "$V" "$TOK2" '{"code":"123456"}'
[[ $(field 'd["error"]["code"]') == no_pending_link ]] || fail "no link: $(cat "$OUT")"
printf 'x\t{"kind":"im_link_code"}\n' | "$PRODUCE" -b "$PP_KAFKA_BROKERS" -t "$PP_IM_LINK_TOPIC" 2>>"$PP_TEST_TMP/kafka.log" || fail "produce poison"
wait_until 30 grep -q "poison event at $PP_IM_LINK_TOPIC.*sent to $PP_DLQ_TOPIC" "$PP_TEST_TMP/notifier.log" ||
	fail "poison IM-link event not sent to the dead-letter topic"
kill -0 "$NPID" || fail "the notifier died on a poison IM-link event"

# ---- rate limit per buyer (all their tokens) ----
export PP_API_RATE_PER_MIN=1 PP_API_RATE_BURST=2
api_start api2 PP_API_SERVICE_KEY="$SERVICE_KEY"
TOK2b=$("$PPCTL" buyer-token --user 2 --ttl 900)
call 422 POST "$V" "$V" "$TOK2" '{"code":"123456"}'
call 422 POST "$V" "$V" "$TOK2b" '{"code":"123456"}'
call 429 POST "$V" "$V" "$TOK2" '{"code":"123456"}'
call 429 POST "$L" "$L" "$TOK2b" "{\"channel\":\"xmpp\",\"address\":\"$C\"}"

# The events on the im-link topic validate against their schema (the poison one excepted).
"$PPCTL" events --topic "$PP_IM_LINK_TOPIC" | grep -v '^{"kind"' >"$PP_TEST_TMP/link-events.jsonl" || fail "ppctl events"
/usr/bin/python3 - "$PP_ROOT/schema/events/im-link-code.v1.json" "$PP_TEST_TMP/link-events.jsonl" <<'PY' || fail "im-link-code.v1 schema validation failed"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(lines) == 3, "want 3 codes on the topic, got %d" % len(lines)
for ev in lines:
    Draft202012Validator(schema).validate(ev)
PY
/usr/bin/python3 "$CHECK" coverage "$SPEC" "$SEEN" imlink || fail "OpenAPI coverage of the im-link routes"
for f in "$PP_TEST_TMP"/*.log; do
	! grep -q "$CODE" "$f" || fail "the code appears in $(basename "$f")"
	! grep -q "$TOK" "$f" || fail "a buyer token appears in $(basename "$f")"
done
check_logs_clean
echo "ok: code sent through the outbox to the new address only, verified, switched; stale code never sent; unverified address never notified"
