#!/usr/bin/env bash
# kafka_compression.sh - the relay's producer compresses what it publishes: with the default
# kafka_compression (zstd) and with lz4 (the codec librdkafka < 2.11.1 drops when a broker
# stops advertising Produce v0), every record batch in the broker's log files says so
# (DumpLogSegments: compresscodec), and a consumer reads every event back unchanged.
. "$(dirname "$0")/poller_lib.sh"

N=300
STACK=("$ROOT/deploy/local/stack" ${PP_STACK_STATE:+--state "$PP_STACK_STATE"})
setup_db
start_sim sim --speed 1

# run_codec CODEC [key=value...]: N outbox rows for topic $TOPIC.CODEC, a relay with the given
# config until they are published, then the checks.
run_codec() {
    local codec=$1 topic=$TOPIC.$1
    shift
    "$KTOOL" create "$topic" 3 || fail "cannot create topic $topic"
    wait_for 20 "topic $topic" "$KTOOL" ids "$topic"
    sql "INSERT INTO outbox (event_id, topic, msg_key, payload)
         SELECT gen_random_uuid(), '$topic', (g % 7)::text,
                json_build_object('n', g, 'codec', '$codec', 'status', 'in_transit',
                                  'place', 'Kraków, ul. Zażółć gęślą jaźń ' || g)::text
         FROM generate_series(1, $N) g" >/dev/null
    start_poller "relay-$codec" relay_batch=50 "$@"
    local pid=$LAST_PID
    wait_for 60 "the outbox to drain ($codec)" outbox_drained
    stop_poller "$pid"
    grep -q "compression.type $codec" "$TMP/relay-$codec.log" ||
        fail "$codec: the relay's producer did not report compression.type $codec"

    # Consumed correctly: every (event id, payload) exactly once, nothing else.
    "$KTOOL" records "$topic" | sort >"$TMP/$codec.topic" || fail "cannot read topic $topic"
    sql "SELECT event_id || E'\t' || payload FROM outbox WHERE topic = '$topic'" | sort >"$TMP/$codec.outbox"
    [ "$(wc -l <"$TMP/$codec.outbox")" = "$N" ] || fail "$codec: outbox does not hold $N rows"
    cmp -s "$TMP/$codec.topic" "$TMP/$codec.outbox" ||
        fail "$codec: topic and outbox differ: $(diff "$TMP/$codec.outbox" "$TMP/$codec.topic" | head -3)"

    # Compressed in the log: every batch of the topic is, with this codec.
    "${STACK[@]}" dump-log "$topic" >"$TMP/$codec.dump" 2>"$TMP/$codec.dump.err" ||
        fail "$codec: stack dump-log failed: $(tail -3 "$TMP/$codec.dump.err")"
    local batches with records
    batches=$(grep -c 'baseOffset: .*compresscodec: ' "$TMP/$codec.dump")
    with=$(grep -c "baseOffset: .*compresscodec: $codec " "$TMP/$codec.dump")
    records=$(grep -o 'baseOffset: [0-9]* lastOffset: [0-9]* count: [0-9]*' "$TMP/$codec.dump" |
        awk '{ s += $6 } END { print s + 0 }')
    [ "$records" = "$N" ] || fail "$codec: the log files hold $records records, not $N"
    [ "$batches" -gt 0 ] && [ "$with" = "$batches" ] ||
        fail "$codec: $with of $batches batches say 'compresscodec: $codec' ($(grep -o 'compresscodec: [a-z]*' "$TMP/$codec.dump" | sort | uniq -c | tr -s ' \n' ' '))"
    echo "  $codec: $N events in $batches batches, all compresscodec: $codec, read back unchanged ($(grep -o 'librdkafka [0-9.]*' "$TMP/relay-$codec.log" | head -1))" >&2
}

run_codec zstd # the default: no kafka_compression key in the config
run_codec lz4 kafka_compression=lz4
check_logs
echo ok
