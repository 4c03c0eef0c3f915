#!/usr/bin/env bash
# poller_fencing.sh - a poller whose lease ran out while its carrier calls hung must write
# nothing when the answers finally come: poller A's carrier answers after 9 s, its lease is
# 5 s; poller B claims the same shipments once A's leases are gone, polls them at a fast
# carrier and writes them back. Then A's answers arrive: every one of its write-backs is
# refused by the fence (lease_owner and the claim's polls), so each shipment has B's events
# only (gap-free sequences, one outbox row each, each event in the topic exactly once) and
# A logs "lease lost" for every shipment it had claimed.
. "$(dirname "$0")/poller_lib.sh"

N=10
setup_db
setup_topic 2
seed_shipments "$N"
start_sim slow --speed 20000 --latency-ms 9000
start_poller a speed=1 lease_s=5 http_timeout_ms=30000 inpost_rps=0 poll_concurrency=$N # no room to claim again while its calls hang
A=$LAST_PID
claimed_by_a() { [ "$(sql "SELECT count(*) FROM shipments WHERE lease_owner = 'a'")" = "$N" ]; }
wait_for 30 "poller a to claim all $N shipments" claimed_by_a
sql "UPDATE shipments SET next_poll_at = now()" >/dev/null # due again as soon as a's leases end
start_sim fast --speed 20000
start_poller b speed=1 lease_s=30 inpost_rps=0 # speed 1: its write-backs schedule the next poll hours ahead
B=$LAST_PID
written_by_b() { [ "$(sql "SELECT count(*) FROM shipments WHERE polls > 0")" = "$N" ]; }
wait_for 30 "poller b to write back all $N shipments" written_by_b
stop_poller "$B"
lost() { grep -c "lease lost before write-back" "$TMP/a.log"; }
all_lost() { [ "$(lost)" -ge "$N" ]; }
wait_for 30 "poller a's late answers to be refused" all_lost
wait_for 60 "the outbox to drain" outbox_drained
stop_poller "$A"

[ "$(sql "SELECT count(*) FROM shipments WHERE polls <> 1")" = 0 ] ||
    fail "shipments written more than once: $(sql "SELECT string_agg(id || ':' || polls, ' ') FROM shipments WHERE polls <> 1")"
check_events
check_topic_exactly_once
check_logs
echo "  poller a: $(lost) write-backs refused after its lease; poller b wrote $(sql "SELECT count(*) FROM shipment_events") events" >&2
echo ok
