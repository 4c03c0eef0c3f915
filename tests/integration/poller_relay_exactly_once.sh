#!/usr/bin/env bash
# poller_relay_exactly_once.sh - the relay is SIGKILLed after Kafka acknowledged messages but
# before it marked them; the next relay reconciles from the topic, so every outbox event is in
# the topic exactly once.
. "$(dirname "$0")/poller_lib.sh"

N=120
setup_db
setup_topic 4
start_sim sim --speed 1
sql "INSERT INTO outbox (event_id, topic, msg_key, payload)
     SELECT gen_random_uuid(), '$TOPIC', (g % 17)::text, '{\"n\":' || g || '}'
     FROM generate_series(1, $N) g" >/dev/null

# Rounds of 20: the 50th delivery report kills the relay (rounds 1-2 marked, round 3 not).
start_poller crash relay_batch=20 relay_crash_after_produce=50
C=$LAST_PID
rc=0
wait "$C" || rc=$?
[ "$rc" = 137 ] || fail "the crashing relay exited with $rc, expected SIGKILL (137)"
unmarked_sent=$(sql "SELECT count(*) FROM outbox WHERE published_at IS NULL AND attempts > 0")
[ "$unmarked_sent" -gt 0 ] || fail "no row was left sent-but-unmarked; the crash came too late"
in_topic=$("$KTOOL" ids "$TOPIC" | wc -l)
marked=$(sql "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
[ "$in_topic" -gt "$marked" ] || fail "topic has $in_topic messages, $marked marked: nothing to reconcile"
echo "  after the crash: $in_topic in the topic, $marked marked, $unmarked_sent sent but unmarked" >&2

start_poller again relay_batch=20
A=$LAST_PID
wait_for 60 "the outbox to drain" outbox_drained
stop_poller "$A"
check_topic_exactly_once
grep -q "reconciled, [1-9][0-9]* outbox rows were already in Kafka" "$TMP/again.log" \
    || fail "the second relay did not reconcile any row"
[ "$("$KTOOL" ids "$TOPIC" | wc -l)" = "$N" ] || fail "topic does not hold exactly $N messages"
bad=$(sql "SELECT count(*) FROM outbox WHERE kafka_partition IS NULL OR kafka_offset IS NULL")
[ "$bad" = 0 ] || fail "$bad published rows without partition/offset"
check_logs
echo ok
