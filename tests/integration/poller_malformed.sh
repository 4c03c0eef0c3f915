#!/usr/bin/env bash
# poller_malformed.sh - a carrier answering 500, 429, truncated JSON and never: the poller stays
# up, counts each kind of error, backs off, and still takes every shipment to a terminal status.
. "$(dirname "$0")/poller_lib.sh"

N=30
SPEED=20000
setup_db
setup_topic 2
seed_shipments "$N"
start_sim sim --speed "$SPEED" --pmalformed 0.15 --p500 0.15 --p429 0.1 --phang 0.05 --retry-after 1
start_poller p speed="$SPEED" poll_concurrency=32 http_timeout_ms=500 lease_s=10 interval_error_s=60 \
    inpost_rps=0 breaker_cooldown_ms=100 breaker_cooldown_max_ms=400 # ~35 % failures may trip it: keep it brief
P=$LAST_PID

wait_for 240 "all $N shipments to reach a terminal status" all_terminal
kill -0 "$P" 2>/dev/null || fail "the poller died"
curl -sf "$METRICS_URL/metrics" >"$TMP/metrics.txt" || fail "cannot read $METRICS_URL/metrics"
curl -sf "$METRICS_URL/healthz" >/dev/null || fail "/healthz is not healthy"
count() {
    awk -v s="pp_poller_requests_total{carrier=\"inpost\",result=\"$1\"}" '$1 == s { print int($2) }' "$TMP/metrics.txt"
}
for r in ok malformed http_5xx timeout; do
    n=$(count "$r")
    [ "${n:-0}" -gt 0 ] || fail "no request counted with result=$r"
done
errs=$(sql "SELECT count(*) FROM shipments WHERE polls > 0 AND consecutive_errors = 0")
[ "$errs" = "$N" ] || fail "consecutive_errors not reset on $((N - errs)) shipments"
wait_for 60 "the outbox to drain" outbox_drained
stop_poller "$P"
check_events
check_topic_exactly_once
check_logs
echo "  requests: ok=$(count ok) malformed=$(count malformed) http_5xx=$(count http_5xx) timeout=$(count timeout)" >&2
echo ok
