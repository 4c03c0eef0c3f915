#!/usr/bin/env bash
# poller_two_pollers.sh - two pollers share one backlog: a number never has two overlapping
# carrier requests, every shipment reaches a terminal status, events are gap-free, and every
# outbox event lands in Kafka exactly once.
. "$(dirname "$0")/poller_lib.sh"

N=${N:-60}
SPEED=${SPEED:-20000}
setup_db
setup_topic 4
seed_shipments "$N"
start_sim sim --speed "$SPEED" --latency-ms 5-40
start_poller p1 speed="$SPEED" poll_concurrency=16 poll_batch=8 lease_s=30
P1=$LAST_PID
start_poller p2 speed="$SPEED" poll_concurrency=16 poll_batch=8 lease_s=30
P2=$LAST_PID

wait_for 240 "all $N shipments to reach a terminal status" all_terminal
wait_for 60 "the outbox to drain" outbox_drained
kill -0 "$P1" 2>/dev/null || fail "poller p1 died"
kill -0 "$P2" 2>/dev/null || fail "poller p2 died"
stop_poller "$P1"
stop_poller "$P2"

# Both pollers did work.
for w in p1 p2; do
    n=$(sql "SELECT (counters->>'written')::int FROM workers WHERE id = '$w' AND stopped_at IS NOT NULL")
    [ "${n:-0}" -gt 0 ] || fail "poller $w wrote no polls (counters: $n)"
done
bad=$(sql "SELECT count(*) FROM shipments WHERE status NOT IN ('delivered', 'returned', 'expired')")
[ "$bad" = 0 ] || fail "$bad shipments not terminal"

# No number ever had two requests in flight at once (recv of the next >= sent of the previous).
overlaps=$(python3 - "$TMP/sim.requests" <<'PY'
import json, sys, collections
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    by[r["number"]].append((r["recv_ms"], r["sent_ms"]))
bad = 0
for num, reqs in by.items():
    reqs.sort()
    for (r0, s0), (r1, s1) in zip(reqs, reqs[1:]):
        if r1 < s0:
            bad += 1
            print(f"overlap {num}: [{r0},{s0}] and [{r1},{s1}]", file=sys.stderr)
print(bad, len(by), sum(len(v) for v in by.values()))
PY
) || fail "cannot analyse the request log"
set -- $overlaps
[ "$1" = 0 ] || fail "$1 overlapping requests for the same number"
[ "$2" = "$N" ] || fail "the simulator saw $2 numbers, expected $N"
check_events
check_topic_exactly_once
check_logs
echo "  $N shipments, $3 requests, $(sql "SELECT count(*) FROM outbox") events" >&2
echo ok
