#!/usr/bin/env bash
# poller_breaker.sh - a carrier answering only 500: the circuit breaker opens, the poller's
# requests drop to one probe per cool-down (shipments released, not hammered); then a healthy
# carrier on the same address: the probe succeeds, the breaker closes and every shipment finishes.
. "$(dirname "$0")/poller_lib.sh"

N=20
SPEED=20000
COOLDOWN=${COOLDOWN:-800}   # ms; the probe spacing the checks expect
POLLER_COOLDOWN=${POLLER_COOLDOWN:-$COOLDOWN}
setup_db
setup_topic 2
seed_shipments "$N"

metric() { curl -sf "$1/metrics" | awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) + 0 }'; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
lines() { wc -l <"$1"; }
lines_ge() { [ "$(lines "$1")" -ge "$2" ]; }

start_sim bad --speed "$SPEED" --p500 1.0
PORT=${SIM_URL##*:}
start_poller p speed="$SPEED" poll_concurrency=16 lease_s=30 inpost_rps=0 \
    breaker_window=10 breaker_min_requests=5 breaker_failure_pct=50 \
    breaker_cooldown_ms="$POLLER_COOLDOWN" breaker_cooldown_max_ms=$((POLLER_COOLDOWN * 2))
P=$LAST_PID; M=$METRICS_URL
STATE='pp_poller_breaker_state{carrier="inpost"}'

wait_for 30 "the breaker to open" metric_is "$M" "$STATE" 2
t0=$(( $(date +%s%N) / 1000000 ))
before=$(lines "$TMP/bad.requests")
# Three more probes, each after a cool-down (the 2nd and 3rd after a doubled one).
wait_for 30 "three probes" lines_ge "$TMP/bad.requests" $((before + 3))
deferred=$(metric "$M" 'pp_poller_deferred_total{carrier="inpost",reason="breaker"}')
[ "${deferred%.*}" -gt 0 ] || fail "no shipment was released while the breaker was open"

# After t0 (the breaker seen open) requests are probes: one at a time, each at least a
# cool-down after the previous answer. 50 ms tolerance: the simulator's clock stamps a
# request on arrival, our timer fires on the poller's clock after the cool-down.
read -r probes gap < <(python3 - "$TMP/bad.requests" "$t0" <<'PY'
import json, sys
t0 = int(sys.argv[2])
r = sorted((j["recv_ms"], j["sent_ms"]) for j in map(json.loads, open(sys.argv[1])) if j["recv_ms"] > t0)
gaps = [b[0] - a[1] for a, b in zip(r, r[1:])]
print(len(r), min(gaps) if gaps else 10**9)
PY
) || fail "cannot analyse the request log"
echo "  breaker open: $probes requests after it opened, smallest gap $gap ms (cool-down $COOLDOWN ms)" >&2
[ "$gap" -ge $((COOLDOWN - 50)) ] || fail "requests $gap ms apart while the breaker was open (cool-down $COOLDOWN ms)"

# The carrier recovers (a fresh simulator on the same address, no faults).
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
start_sim good --speed "$SPEED" --listen "127.0.0.1:$PORT"
[ "$SIM_URL" = "http://127.0.0.1:$PORT" ] || fail "the healthy simulator is not on port $PORT ($SIM_URL)"
wait_for 60 "the breaker to close" metric_is "$M" "$STATE" 0
wait_for 120 "all $N shipments to reach a terminal status" all_terminal
wait_for 60 "the outbox to drain" outbox_drained
grep -q 'circuit breaker opened' "$TMP/p.log" || fail "no 'breaker opened' log line"
grep -q 'probe succeeded, circuit breaker closed' "$TMP/p.log" || fail "no 'breaker closed' log line"
curl -sf "$M/healthz" >/dev/null || fail "/healthz is not healthy"
stop_poller "$P"
check_events
check_topic_exactly_once
check_logs
echo "  5xx counted: $(grep -c '"status":500' "$TMP/bad.requests"), then $(lines "$TMP/good.requests") healthy requests" >&2
echo ok
