# poller_lib.sh - helpers sourced by tests/integration/poller_*.sh: own database, own topic,
# own simulator and pollers on free ports, logs in a temp dir, cleanup of our processes only.
# Not a test itself.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    echo "poller_lib.sh is a helper library sourced by poller_*.sh, not a test" >&2
    exit 2
fi
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${PP_BUILD_DIR:-${PP_BUILD:-$ROOT/build}}
POLLER=$BUILD/poller/pp-poller
SIM=$BUILD/tools/carrier-sim/pp-carrier-sim
KTOOL=$BUILD/tests/pp-test-kafka
: "${PP_DB_URL:=postgresql://postgres@127.0.0.1:55432/parcelpush}"
: "${PP_KAFKA_BROKERS:=127.0.0.1:55092}"
export PP_KAFKA_BROKERS
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/pp-$TEST_NAME.XXXXXX")
DB_NAME="pp_it_${TEST_NAME}_$$"
DB_URL="${PP_DB_URL%/*}/$DB_NAME"
TOPIC="${PP_TOPIC:-poller-it}.$TEST_NAME.$$"
PIDS=()
FAILED=0

for b in "$POLLER" "$SIM" "$KTOOL"; do
    [ -x "$b" ] || { echo "FAIL: $b not built (ninja -C build)"; exit 1; }
done

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    psql -q "$PP_DB_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1
    if [ "$FAILED" = 0 ]; then rm -rf "$TMP"; else echo "  logs kept in $TMP" >&2; fi
}
trap cleanup EXIT

fail() { FAILED=1; echo "FAIL: $*"; exit 1; }

sql() { psql -qtAX -v ON_ERROR_STOP=1 "$DB_URL" -c "$1"; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s; the limit is at least
# 120 s (PP_TEST_WAIT_MIN): a loaded machine is slow, not wrong.
wait_for() {
    local limit=$1 what=$2; shift 2
    (( limit >= ${PP_TEST_WAIT_MIN:-120} )) || limit=${PP_TEST_WAIT_MIN:-120}
    local end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    while ! "$@" >/dev/null 2>&1; do
        [ $(( $(date +%s%N) / 1000000 )) -lt $end ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.1
    done
}

setup_db() {
    psql -q "$PP_DB_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null || fail "cannot create database $DB_NAME"
    local f
    for f in "$ROOT"/schema/sql/*.sql; do
        psql -q -v ON_ERROR_STOP=1 "$DB_URL" -f "$f" >/dev/null || fail "migration $f failed"
    done
    sql "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 'it');
         INSERT INTO transactions (id, buyer_id, seller_id) VALUES (1, 1, 1)" >/dev/null
}

setup_topic() {
    "$KTOOL" create "$TOPIC" "${1:-4}" || fail "cannot create topic $TOPIC"
    wait_for 20 "topic $TOPIC" "$KTOOL" ids "$TOPIC"
}

# seed_shipments N [PREFIX]: N InPost-shaped numbers due now.
seed_shipments() {
    sql "INSERT INTO shipments (transaction_id, carrier, tracking_number, next_poll_at)
         SELECT 1, 'inpost', '${2:-6}' || lpad(g::text, 23, '0'), now() FROM generate_series(1, $1) g" >/dev/null
}

# start_sim NAME ARGS...: sets SIM_URL; request log in $TMP/NAME.requests.
start_sim() {
    local name=$1; shift
    "$SIM" --listen 127.0.0.1:0 --log-requests "$TMP/$name.requests" "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
    PIDS+=($!)
    wait_for 10 "simulator $name to listen" grep -q "listening on" "$TMP/$name.out"
    SIM_URL="http://$(grep -o 'listening on [0-9.:]*' "$TMP/$name.out" | head -1 | cut -d' ' -f3)"
}

# start_poller NAME [key=value...]: config file + daemon; sets LAST_PID and METRICS_URL.
start_poller() {
    local name=$1; shift
    {
        echo "db_url = $DB_URL"
        echo "kafka_brokers = $PP_KAFKA_BROKERS"
        echo "topic = $TOPIC"
        echo "worker_id = $name"
        echo "inpost_base_url = $SIM_URL"
        echo "ops_addr = 127.0.0.1:0"
        echo "heartbeat_interval_ms = 500"
        echo "claim_interval_ms = 50"
        echo "relay_interval_ms = 50"
        echo "relay_lock_retry_ms = 200"
        local kv
        for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
    } >"$TMP/$name.conf"
    # The config file is the whole configuration: drop PP_* variables (tests/run exports
    # some), since the environment overrides the file.
    local unset_pp=() v
    for v in $(compgen -e | grep '^PP_'); do unset_pp+=(-u "$v"); done
    env "${unset_pp[@]}" "$POLLER" --config "$TMP/$name.conf" >"$TMP/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=($LAST_PID)
    wait_for 15 "poller $name to start" grep -q "metrics on http://" "$TMP/$name.log"
    METRICS_URL=$(grep -o 'metrics on http://[0-9.:]*' "$TMP/$name.log" | head -1 | cut -d' ' -f3)
}

# stop_poller PID: SIGTERM and require exit status 0.
stop_poller() {
    kill -TERM "$1" 2>/dev/null || fail "poller $1 already gone"
    local rc=0
    wait "$1" || rc=$?
    [ "$rc" = 0 ] || fail "poller $1 exited with $rc after SIGTERM"
}

all_terminal() {
    [ "$(sql "SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL OR lease_owner IS NOT NULL")" = 0 ]
}

outbox_drained() { [ "$(sql "SELECT count(*) FROM outbox WHERE published_at IS NULL")" = 0 ]; }

check_logs() {
    if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:|Assertion .* failed" "$TMP"/*.log 2>/dev/null; then
        fail "sanitizer report or assertion in a log"
    fi
}

# Every shipment's events: sequence 1.. without gaps, each with an outbox row.
check_events() {
    local bad
    bad=$(sql "SELECT count(*) FROM (SELECT shipment_id, max(sequence) m, count(*) c FROM shipment_events
                                     GROUP BY 1) s WHERE m <> c")
    [ "$bad" = 0 ] || fail "$bad shipments have gaps or duplicates in event sequences"
    bad=$(sql "SELECT count(*) FROM shipment_events e LEFT JOIN outbox o USING (event_id) WHERE o.id IS NULL")
    [ "$bad" = 0 ] || fail "$bad events without an outbox row"
    bad=$(sql "SELECT count(*) FROM shipments s WHERE sequence <> (SELECT count(*) FROM shipment_events e WHERE e.shipment_id = s.id)")
    [ "$bad" = 0 ] || fail "$bad shipments whose sequence does not match their events"
}

# Every outbox event_id exactly once in the topic, and nothing else there.
check_topic_exactly_once() {
    "$KTOOL" ids "$TOPIC" | sort >"$TMP/topic.ids" || fail "cannot read topic $TOPIC"
    sql "SELECT event_id FROM outbox ORDER BY 1" | sort >"$TMP/outbox.ids"
    local dups missing extra
    dups=$(uniq -d "$TMP/topic.ids" | wc -l)
    missing=$(comm -23 "$TMP/outbox.ids" <(sort -u "$TMP/topic.ids") | wc -l)
    extra=$(comm -13 "$TMP/outbox.ids" <(sort -u "$TMP/topic.ids") | wc -l)
    [ "$dups" = 0 ] || fail "$dups event ids appear more than once in $TOPIC"
    [ "$missing" = 0 ] || fail "$missing outbox events missing from $TOPIC"
    [ "$extra" = 0 ] || fail "$extra messages in $TOPIC are not outbox events"
}
