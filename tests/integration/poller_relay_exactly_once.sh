#!/usr/bin/env bash
# poller_relay_exactly_once.sh - the relay is SIGKILLed after Kafka acknowledged messages but
# before it marked them; the next relay reconciles from the topic, so every outbox event is in
# the topic exactly once, and each key's events in outbox order (rounds overlap: a later round
# is produced, and may be marked, while an earlier one is still unacknowledged).
. "$(dirname "$0")/poller_lib.sh"

N=${N:-400}
CRASH=${CRASH:-300}
setup_db
setup_topic 4
start_sim sim --speed 1
sql "INSERT INTO outbox (event_id, topic, msg_key, payload)
     SELECT gen_random_uuid(), '$TOPIC', (g % 17)::text, '{\"n\":' || g || '}'
     FROM generate_series(1, $N) g" >/dev/null

# Rounds of 20, up to 4 in flight: the 300th delivery report kills the relay (its round not
# marked; earlier ones perhaps, with relay_offsets raised; some after it produced).
start_poller crash relay_batch=20 relay_crash_after_produce=$CRASH
C=$LAST_PID
rc=0
wait "$C" || rc=$?
[ "$rc" = 137 ] || fail "the crashing relay exited with $rc, expected SIGKILL (137)"
in_topic=$("$KTOOL" ids "$TOPIC" | wc -l)
marked=$(sql "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
[ "$in_topic" -gt "$marked" ] || fail "topic has $in_topic messages, $marked marked: no row was left sent-but-unmarked, nothing to reconcile"
echo "  after the crash: $in_topic in the topic, $marked marked, $((in_topic - marked)) sent but unmarked;" \
    "relay_offsets: $(sql "SELECT coalesce(string_agg(kafka_partition || ':' || last_offset, ' ' ORDER BY 1), 'none') FROM relay_offsets")" >&2

# Its look without a notification only every 60 s: the last row below is found by its NOTIFY.
start_poller again relay_batch=20 relay_interval_ms=60000 log_level=debug
A=$LAST_PID
wait_for 60 "the outbox to drain" outbox_drained
# An idle relay is woken by an insert's notification (schema 0008's trigger).
N=$((N + 1))
sql "INSERT INTO outbox (event_id, topic, msg_key, payload)
     VALUES (gen_random_uuid(), '$TOPIC', '$((N % 17))', '{\"n\":$N}')" >/dev/null
wait_for 60 "the row inserted last to be published" outbox_drained
grep -q "relay: notified of new outbox rows" "$TMP/again.log" || fail "the idle relay was not notified of the new row"
stop_poller "$A"
check_topic_exactly_once
grep -q "reconciled, [1-9][0-9]* outbox rows were already in Kafka" "$TMP/again.log" \
    || fail "the second relay did not reconcile any row"
[ "$("$KTOOL" ids "$TOPIC" | wc -l)" = "$N" ] || fail "topic does not hold exactly $N messages"
# One key, one partition: its messages must come in outbox id order (payload n = id order).
behind=$("$KTOOL" records "$TOPIC" | awk -F'\t' '{ n = $2; gsub(/[^0-9]/, "", n); k = n % 17
    if ((k in last) && n + 0 < last[k]) bad++; last[k] = n + 0 } END { print bad + 0 }')
[ "$behind" = 0 ] || fail "$behind messages came after a later event of their key"
bad=$(sql "SELECT count(*) FROM outbox WHERE kafka_partition IS NULL OR kafka_offset IS NULL")
[ "$bad" = 0 ] || fail "$bad published rows without partition/offset"
check_logs
echo ok
