#!/usr/bin/env bash
# poller_kill9_lease.sh - SIGKILL a poller that holds claims: another poller takes the rest of
# the backlog at once, but polls the killed poller's shipments only after their lease_until.
. "$(dirname "$0")/poller_lib.sh"

# Long enough that poller B starts and polls the unleased six while A's leases still hold, on
# a loaded machine too (6 s failed 'test too slow' when starting B took longer).
LEASE=${LEASE:-40}
setup_db
setup_topic 2
seed_shipments 10
# A carrier that never answers: poller A's requests hang, so it holds its claims.
start_sim hang --speed 20000 --phang 1
start_poller A speed=20000 poll_concurrency=4 poll_batch=4 lease_s=$LEASE http_timeout_ms=120000
A=$LAST_PID
held() { [ "$(sql "SELECT count(*) FROM shipments WHERE lease_owner = 'A'")" = 4 ]; }
wait_for 20 "poller A to claim 4 shipments" held
kill -KILL "$A"
wait "$A" 2>/dev/null
sql "SELECT id, (extract(epoch FROM lease_until) * 1000)::bigint FROM shipments WHERE lease_owner = 'A'" \
    | tr '|' ' ' >"$TMP/leased"
[ "$(wc -l <"$TMP/leased")" = 4 ] || fail "expected 4 leased shipments"

start_sim ok --speed 20000
start_poller B speed=20000 poll_concurrency=16 lease_s=$LEASE
B=$LAST_PID
# B takes the 6 unleased shipments while A's 4 leases are still valid.
others_polled() {
    [ "$(sql "SELECT count(*) FROM shipments WHERE polls > 0 AND id NOT IN ($(cut -d' ' -f1 "$TMP/leased" | paste -sd,))")" = 6 ]
}
wait_for 20 "poller B to poll the unleased shipments" others_polled
now_ms=$(( $(date +%s%N) / 1000000 ))
min_until=$(sort -k2 -n "$TMP/leased" | head -1 | cut -d' ' -f2)
[ "$now_ms" -lt "$min_until" ] || fail "test too slow: leases expired before B was checked (raise LEASE)"
# While the leases hold, nobody touches those shipments.
touched=$(sql "SELECT count(*) FROM shipments WHERE lease_owner IS DISTINCT FROM 'A' AND id IN ($(cut -d' ' -f1 "$TMP/leased" | paste -sd,))")
[ "$touched" = 0 ] || fail "$touched leased shipments were taken before lease_until"

wait_for 120 "all shipments to reach a terminal status" all_terminal
stop_poller "$B"

# In the second simulator's log, each leased number's first request came after its lease_until.
while read -r id until_ms; do
    num=$(sql "SELECT tracking_number FROM shipments WHERE id = $id")
    first=$(grep "\"number\":\"$num\"" "$TMP/ok.requests" | python3 -c '
import json, sys
print(min(json.loads(l)["recv_ms"] for l in sys.stdin))') || fail "no request for $num after the kill"
    [ "$first" -ge "$until_ms" ] || fail "shipment $id polled at $first, before its lease_until $until_ms"
done <"$TMP/leased"
check_events
check_logs
echo ok
