#!/usr/bin/env bash
# The toggle takes effect at send time, exactly: while a notifier works through 400 events for
# one buyer, the buyer's "Powiadomienia o statusie przesyłki" flips on and off about every
# 1 ms. Every decision (notifications.decided_at) must fall in an interval of the toggle
# history (notify_changes) whose value matches it: 'sent' only while on, 'skipped_opted_out'
# only while off; the inbox holds exactly the 'sent' ones. Breaking the send-time check (or
# the row lock that orders decisions against changes) makes it fail.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
xmpp_stack
PRODUCE=$PP_BUILD/notifier/pp-produce
N=400

export PP_XMPP_JID=tbot-$tag@$D PP_XMPP_PASSWORD=tb-$tag PP_SEND_BATCH=20
U=tu-$tag@$D
xmpp_register "tbot-$tag" "tb-$tag" "tu-$tag" pu
psql_q "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
        VALUES (1, 'en', true, 'xmpp', '$U', true);
        INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (10, 1, 1)" || fail "seed"

# N events, each its own shipment (so none is stale because of another).
for i in $(seq "$N"); do
	printf '%d\t{"event_id":"%s","schema_version":1,"kind":"status_changed","shipment_id":%d,"transaction_id":10,"carrier":"dhl","tracking_number":"JJD%012d","previous_status":null,"status":"in_transit","carrier_status":null,"carrier_status_text":null,"location":null,"occurred_at":"2026-01-01T10:00:00Z","detected_at":"2026-01-01T10:00:01Z","sequence":1}\n' \
		"$i" "$(cat /proc/sys/kernel/random/uuid)" "$i" "$i"
done | "$PRODUCE" -b "$PP_KAFKA_BROKERS" -t "$PP_TOPIC" 2>>"$PP_TEST_TMP/kafka.log" || fail "produce"

# The toggler: one session flipping the flag every ~1 ms, each flip its own transaction, from
# before the notifier starts until every event is decided (the notifier decides 400 events in
# well under a second: a slower toggler left whole runs inside one interval, so no race).
# At most 200 s: the server runs the loop on even if this test is killed (psql's exit does not
# stop it), so it must end on its own.
psql "$PP_DB_URL" -Xq >/dev/null 2>"$PP_TEST_TMP/toggler.log" -c "
	DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
	  FOR i IN 1..200000 LOOP
	    EXIT WHEN clock_timestamp() > t0 + interval '200 s';
	    UPDATE users SET notify_shipment_status = NOT notify_shipment_status WHERE id = 1;
	    COMMIT;
	    EXIT WHEN (SELECT count(*) FROM notifications
	                WHERE state IN ('sent', 'skipped_opted_out')) = $N;
	    PERFORM pg_sleep(0.001);
	  END LOOP;
	END \$\$" &
TOGGLER=$!
pp_test_pids+=("$TOGGLER")
start_bg notifier "$NOTIFIER" >/dev/null
decided() { [[ $(psql_q "SELECT count(*) FROM notifications WHERE state IN ('sent', 'skipped_opted_out')") == "$N" ]]; }
wait_until 180 decided || fail "not every event decided: $(psql_q "SELECT state, count(*) FROM notifications GROUP BY 1")"
wait "$TOGGLER" || fail "the toggler failed: $(tail -3 "$PP_TEST_TMP/toggler.log")"

changes=$(psql_q "SELECT count(*) FROM notify_changes WHERE user_id = 1")
sent=$(psql_q "SELECT count(*) FROM notifications WHERE state = 'sent'")
skipped=$(psql_q "SELECT count(*) FROM notifications WHERE state = 'skipped_opted_out'")
((changes >= 20 && sent > 0 && skipped > 0)) ||
	fail "not a race: $changes toggle changes, $sent sent, $skipped skipped (make the toggler faster?)"
# Each decision in the toggle interval it fell into; wrong = sent while off or skipped while on.
read -r placed wrong < <(psql_q "
	WITH iv AS (SELECT shipment_status AS on_, changed_at AS t0,
	                   lead(changed_at) OVER (ORDER BY changed_at, id) AS t1
	              FROM notify_changes WHERE user_id = 1)
	SELECT count(*), count(*) FILTER (WHERE (n.state = 'sent') <> iv.on_)
	  FROM notifications n JOIN iv ON n.decided_at >= iv.t0 AND (iv.t1 IS NULL OR n.decided_at < iv.t1)" | tr '|' ' ')
[[ $placed == "$N" ]] || fail "$placed of $N decisions fall in the toggle history"
[[ $wrong == 0 ]] || fail "$wrong decisions disagree with the toggle at their time (of $sent sent, $skipped skipped)"

"$INBOX" -H "$PP_XMPP_HOST" -p "$PP_XMPP_PORT" <<<"$U pu" >"$PP_TEST_TMP/inbox.jsonl" 2>>"$PP_TEST_TMP/inbox.log" || fail "pp-inbox"
got=$(grep -c '"body"' "$PP_TEST_TMP/inbox.jsonl" || true)
[[ $got == "$sent" ]] || fail "inbox has $got messages, the ledger says $sent sent"
echo "ok: $N decisions during $changes toggle changes: $sent sent while on, $skipped skipped while off, 0 misplaced; inbox = ledger"
