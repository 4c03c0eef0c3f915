#!/usr/bin/env bash
# poller_batch_poison.sh - the poller writes many shipments back in one transaction
# (poller/writeback.c); one shipment whose write the database refuses (an event row already
# holds the sequence its poll takes: a unique violation) must cost only itself. Every other
# shipment of its batches is written at the first try (no "write-back failed" for any of
# them), reaches a terminal status with gap-free events and outbox rows, and each event is in
# the topic exactly once; no status change of the refused shipment is written (a poll that finds
# nothing new is), and it stays due.
. "$(dirname "$0")/poller_lib.sh"

N=60
SPEED=20000
setup_db
setup_topic 2
seed_shipments "$N"
poison=$(sql "SELECT id FROM shipments ORDER BY id OFFSET 17 LIMIT 1")
sql "INSERT INTO shipment_events (shipment_id, sequence, kind, status, occurred_at, event_id)
     VALUES ($poison, 1, 'number_entered', 'info_received', now(), gen_random_uuid())" >/dev/null
start_sim sim --speed "$SPEED" --latency-ms 300 # answers arrive together: batches of many shipments
start_poller p speed="$SPEED" poll_concurrency=64 lease_s=5 inpost_rps=0
P=$LAST_PID

others_terminal() {
    [ "$(sql "SELECT count(*) FROM shipments WHERE id <> $poison AND (next_poll_at IS NOT NULL OR lease_owner IS NOT NULL)")" = 0 ]
}
wait_for 240 "the $((N - 1)) other shipments to reach a terminal status" others_terminal
wait_for 30 "a second refused write-back of shipment $poison" \
    test "$(grep -c "shipment $poison (.*write-back failed" "$TMP/p.log")" -ge 2
wait_for 60 "the outbox to drain" outbox_drained
kill -0 "$P" 2>/dev/null || fail "the poller died"
stop_poller "$P"

grep "write-back failed" "$TMP/p.log" | grep -v "shipment $poison (" >"$TMP/others.failed" &&
    fail "other shipments' write-backs failed: $(head -3 "$TMP/others.failed")"
grep -q "writing each in its own transaction" "$TMP/p.log" || fail "no batch was retried shipment by shipment"
[ "$(sql "SELECT sequence || ' ' || (SELECT count(*) FROM shipment_events WHERE shipment_id = $poison) FROM shipments WHERE id = $poison")" = "0 1" ] ||
    fail "the refused shipment got a status change written"
[ "$(sql "SELECT count(*) FROM shipments WHERE id = $poison AND next_poll_at IS NOT NULL")" = 1 ] || fail "the refused shipment is no longer due"
bad=$(sql "SELECT count(*) FROM shipments s WHERE id <> $poison AND
           (sequence = 0 OR sequence <> (SELECT count(*) FROM shipment_events e WHERE e.shipment_id = s.id))")
[ "$bad" = 0 ] || fail "$bad other shipments without events, or whose sequence does not match their events"
bad=$(sql "SELECT count(*) FROM shipment_events e LEFT JOIN outbox o USING (event_id) WHERE o.id IS NULL AND e.shipment_id <> $poison")
[ "$bad" = 0 ] || fail "$bad events without an outbox row"
# detected_at: when the carrier's answer came in (ms), never after the write that recorded it
[ "$(sql "SELECT count(*) FROM shipment_events e JOIN outbox o USING (event_id) WHERE e.detected_at > o.created_at")" = 0 ] ||
    fail "events detected after the transaction that recorded them"
[ "$(sql "SELECT count(*) FROM shipment_events WHERE kind = 'status_changed' AND extract(microseconds FROM detected_at) % 1000000 <> 0")" -gt 0 ] ||
    fail "detected_at holds whole seconds only"
check_topic_exactly_once
check_logs
echo "  $(grep -c "writing each in its own transaction" "$TMP/p.log") batch(es) retried one by one; shipment $poison refused $(grep -c "shipment $poison (.*write-back failed" "$TMP/p.log") times; $(sql "SELECT count(*) FROM outbox") events" >&2
echo ok
