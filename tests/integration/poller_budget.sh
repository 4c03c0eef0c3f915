#!/usr/bin/env bash
# poller_budget.sh - fleet-wide carrier budgets. (1) Two pollers with inpost_rps = RPS: the
# simulator never sees more than RPS (+ tolerance) InPost requests in any 1-second window.
# (2) inpost_per_day = DAY: the simulator sees exactly DAY requests, the shipments left are
# released until the next UTC day (no busy loop), and a restarted poller sends nothing more.
. "$(dirname "$0")/poller_lib.sh"

RPS=${RPS:-10}                 # the fleet limit the checks hold the pollers to
POLLER_RPS=${POLLER_RPS:-$RPS} # what the pollers are configured with (to show the test failing)
DAY=${DAY:-25}
POLLER_DAY=${POLLER_DAY:-$DAY}  # likewise
SPEED=20000
setup_db
setup_topic 2

metric() { # metric URL SERIES: value (0 if absent)
    curl -sf "$1/metrics" | awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) + 0 }'
}
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
metric_ge() { awk -v a="$(metric "$1" "$2")" -v b="$3" 'BEGIN { exit !(a >= b) }'; }
# Requests in a simulator log (one line per number; a request of n numbers has n lines).
log_requests() { python3 -c '
import json, sys
print(round(sum(1.0 / max(1, json.loads(l).get("batch", 1)) for l in open(sys.argv[1]) if l.strip())))' "$1"; }
log_at_least() { [ "$(log_requests "$1")" -ge "$2" ]; }

# ---- (1) per second -------------------------------------------------------------------------
start_sim a --speed "$SPEED"
common=(speed="$SPEED" poll_concurrency=32 poll_batch=16 lease_s=30 budget_sync_ms=200)
start_poller p1 "${common[@]}" inpost_rps="$POLLER_RPS"
P1=$LAST_PID; M1=$METRICS_URL
start_poller p2 "${common[@]}" inpost_rps="$POLLER_RPS"
P2=$LAST_PID; M2=$METRICS_URL
# Both must know they are two before there is work, or each would briefly take the whole
# budget (a newcomer is seen by the others within one budget sync).
wait_for 20 "p1 to see 2 live pollers" metric_is "$M1" pp_poller_live_pollers 2
wait_for 20 "p2 to see 2 live pollers" metric_is "$M2" pp_poller_live_pollers 2
seed_shipments 60
wait_for 120 "120 requests at the simulator" log_at_least "$TMP/a.requests" 120
stop_poller "$P1"
stop_poller "$P2"
for m in 1 2; do
    grep -q 'inpost: 1 numbers per request, fleet budget' "$TMP/p$m.log" || fail "p$m did not log its budget"
done

# Each poller spaces its requests >= 1/share apart by its own clock, so the fleet sends at most
# W*RPS + 2 (one extra per poller) in any W seconds. The simulator stamps ARRIVAL times: on a
# loaded machine a process stalls and requests bunch up, so a 1-second window measured the
# machine as much as the limiter. Over W = 5 s windows, with up to 1 s of arrival jitter
# allowed (+RPS), the check holds on any machine; without the limiter the rate is many times
# RPS (POLLER_RPS=40: about 4x the limit).
W=5
read -r worst total < <(python3 - "$TMP/a.requests" "$W" <<'PY'
import json, sys
t = sorted(json.loads(l)["recv_ms"] for l in open(sys.argv[1]) if '"carrier":"inpost"' in l)
w = int(sys.argv[2]) * 1000
worst, j = 0, 0
for i in range(len(t)):
    while t[i] - t[j] >= w:
        j += 1
    worst = max(worst, i - j + 1)
print(worst, len(t))
PY
) || fail "cannot analyse $TMP/a.requests"
limit=$((W * RPS + RPS + 2))
echo "  per ${W} s: $total requests, at most $worst in any ${W} s window (fleet budget $RPS/s: $((W * RPS)), tolerance $((RPS + 2)))" >&2
[ "$worst" -le "$limit" ] || fail "$worst requests in one ${W}-second window; fleet budget $((W * RPS)) (+$((RPS + 2)))"

# ---- (2) per day ----------------------------------------------------------------------------
start_sim b --speed "$SPEED"
day=(speed="$SPEED" poll_concurrency=32 poll_batch=16 lease_s=30 budget_sync_ms=200
     inpost_rps=0 inpost_per_day="$POLLER_DAY")
seed_shipments 40 7
sql "UPDATE shipments SET next_poll_at = now() WHERE next_poll_at IS NOT NULL" >/dev/null
start_poller p3 "${day[@]}"
P3=$LAST_PID; M3=$METRICS_URL
start_poller p4 "${day[@]}"
P4=$LAST_PID
used() { sql "SELECT coalesce(sum(requests), 0) FROM carrier_usage WHERE carrier = 'inpost'
              AND day = (now() AT TIME ZONE 'UTC')::date"; }
used_is() { [ "$(used)" = "$1" ]; }
# Nothing due before the next UTC midnight, nothing leased: the rest waits for tomorrow.
waiting_for_tomorrow() {
    [ "$(sql "SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL AND (lease_owner IS NOT NULL
              OR next_poll_at < ((now() AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE 'UTC')")" = 0 ]
}
wait_for 60 "the fleet to use the day budget of $DAY" used_is "$DAY"
wait_for 30 "every unfinished shipment to wait for the next UTC day" waiting_for_tomorrow
left=$(sql "SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL")
[ "$left" -gt 0 ] || fail "every shipment finished within $DAY requests: the day budget was not exercised"
claims=$(metric "$M3" pp_poller_claimed_shipments_total)

# A restart of the fleet (and shipments made due again) must not buy more requests today.
stop_poller "$P3"
stop_poller "$P4"
start_poller p5 "${day[@]}"
P5=$LAST_PID; M5=$METRICS_URL
sql "UPDATE shipments SET next_poll_at = now() WHERE next_poll_at IS NOT NULL" >/dev/null
wait_for 30 "p5 to defer shipments for the day budget" \
    metric_ge "$M5" 'pp_poller_deferred_total{carrier="inpost",reason="budget_day"}' 1
wait_for 30 "every unfinished shipment to wait for the next UTC day again" waiting_for_tomorrow
stop_poller "$P5"
n=$(log_requests "$TMP/b.requests")
echo "  per day: $n requests at the simulator (budget $DAY), $left shipments left for tomorrow," \
     "p3 claimed $claims" >&2
[ "$n" -le "$DAY" ] || fail "$n requests in a day; the fleet budget is $DAY"
[ "$n" = "$DAY" ] || fail "only $n of the day's $DAY requests were used"
used_is "$DAY" || fail "carrier_usage counts $(used) requests, the simulator saw $n"
# Stopped pollers gave their unused grants back: nothing is reserved beyond what was used.
res=$(sql "SELECT reserved FROM carrier_usage WHERE carrier = 'inpost' AND day = (now() AT TIME ZONE 'UTC')::date")
[ "$res" = "$DAY" ] || fail "carrier_usage.reserved = $res after a clean stop, expected $DAY"
check_events
check_logs
echo ok
