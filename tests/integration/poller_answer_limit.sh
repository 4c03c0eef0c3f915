#!/usr/bin/env bash
# poller_answer_limit.sh - a carrier answer over the carrier client's 4 MiB limit
# (pp-carrier-sim --hostile NUMBER=huge: the answer padded with 5 MiB of white space, still a
# valid document) is refused with a clear error stored as the shipment's last_error, not read
# into memory; the other shipments' answers are read whole and the poller stays up.
. "$(dirname "$0")/poller_lib.sh"

N=3
SPEED=20000
HUGE=6$(printf '%023d' 2) # the second of seed_shipments' numbers
setup_db
setup_topic 1
seed_shipments "$N"
start_sim sim --speed "$SPEED" --not-found-minutes 0 --hostile "$HUGE=huge"
start_poller p speed="$SPEED" poll_concurrency=4 interval_error_s=600 inpost_rps=0
P=$LAST_PID

huge_recorded() { [ -n "$(sql "SELECT last_error FROM shipments WHERE tracking_number = '$HUGE'")" ]; }
others_polled() {
    [ "$(sql "SELECT count(*) FROM shipments WHERE tracking_number <> '$HUGE' AND polls > 0")" = $((N - 1)) ]
}
wait_for 60 "the oversized answer's error" huge_recorded
wait_for 60 "the other shipments to be polled" others_polled
kill -0 "$P" 2>/dev/null || fail "the poller died"

err=$(sql "SELECT last_error FROM shipments WHERE tracking_number = '$HUGE'")
[[ $err == *"response body larger than 4194304 bytes"* ]] || fail "last_error of the oversized answer: '$err'"
bad=$(sql "SELECT count(*) FROM shipments WHERE tracking_number <> '$HUGE' AND (last_error IS NOT NULL OR consecutive_errors > 0)")
[ "$bad" = 0 ] || fail "$bad shipments with a normal answer have an error: $(sql "SELECT tracking_number, last_error FROM shipments")"
stop_poller "$P"
check_logs
echo "  last_error: $err" >&2
echo ok
