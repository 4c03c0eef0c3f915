#!/usr/bin/env bash
# sim.sh - pp-carrier-sim end to end: scenario progress to delivered, determinism, Warsaw
# offsets, 429/500/malformed/hang/401 faults, request log, /sim/stats, clean exit on SIGTERM.
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

[[ -x $SIM ]] || fail "no simulator at $SIM (build first)"
N=520000011395200025754311

# sim NAME ARGS...: start a simulator on a free port, log to $PP_TEST_TMP/sim-NAME.log;
# sets PID_<NAME> and URL_<NAME>.
sim() {
	local name=$1 log=$PP_TEST_TMP/sim-$1.log pid
	shift
	"$SIM" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	pid=$!
	pp_test_pids+=("$pid")
	wait_until 60 grep -q '^listening on ' "$log" || fail "simulator $name did not start: $(tail -3 "$log")"
	printf -v "PID_$name" '%s' "$pid"
	printf -v "URL_$name" 'http://%s' "$(sed -n 's/^listening on //p' "$log" | head -1)"
}

# get URL OUTFILE [curl args...]: prints the HTTP status (000 on transport error).
get() {
	local url=$1 out=$2
	shift 2
	curl -s -o "$out" -w '%{http_code}' "$@" "$url" || true
}

# parse HTTP_STATUS FILE: normalized result as JSON (ppctl parse if built, else jq shape check).
parse() {
	if [[ -x $PPCTL ]]; then
		"$PPCTL" parse --carrier inpost --http-status "$1" "$2"
	else
		jq -ce 'if .tracking_details then {status: .status, found: true, events: [.tracking_details[]]}
		        else {status: "not_found_yet", found: false, events: []} end' "$2"
	fi
}

stop_sim() { stop_pid "$1"; } # SIGTERM must give a clean exit 0

# --- 1. a parcel advances from not-found to delivered, forward only ------------------------
# On the manual clock, stepped to each moment the parcel changes: every step is sampled.
sim main --clock manual --not-found-minutes 5 --log-requests "$PP_TEST_TMP/requests.jsonl"
code=$(get "$URL_main/v1/tracking/$N" "$PP_TEST_TMP/b")
[[ $code == 404 ]] || fail "first request: want 404 not found yet, got $code"
[[ $(parse 404 "$PP_TEST_TMP/b" | jq -r .found) == false ]] || fail "404 body not parsed as not found"
[[ $(jq -r .error "$PP_TEST_TMP/b") == resource_not_found ]] || fail "404 body is not a ShipX error"
seen=() last="" nev=0
for ((step = 0; step < 100; step++)); do
	code=$(get "$URL_main/v1/tracking/$N" "$PP_TEST_TMP/b")
	[[ $code == 200 || $code == 404 ]] || fail "scenario request got HTTP $code"
	out=$(parse "$code" "$PP_TEST_TMP/b") || fail "parser rejected a simulator body: $(head -c 300 "$PP_TEST_TMP/b")"
	st=$(jq -r .status <<<"$out")
	n=$(jq '.events | length' <<<"$out")
	((n >= nev)) || fail "event count went down ($nev -> $n)"
	nev=$n
	if [[ $st != "$last" ]]; then seen+=("$st"); last=$st; fi
	[[ $st == delivered ]] && break
	sim_clock "$URL_main" next | jq -e '.advanced_s > 0' >/dev/null || break # nothing left to happen
done
[[ $last == delivered ]] || fail "parcel not delivered at the end of its scenario ($step clock steps); statuses seen: ${seen[*]}"
# (normalized names from ppctl; raw ShipX names from the jq fallback)
echo "${seen[*]}" | grep -Eq 'in_transit|adopted_at_|sent_from_' || fail "no in_transit seen: ${seen[*]}"
echo "${seen[*]}" | grep -Eq 'out_for_delivery|available_for_pickup|ready_to_pickup' || fail "no last-mile status: ${seen[*]}"
((nev >= 8)) || fail "only $nev events in a whole journey"
# times oldest first, strictly forward
if [[ -x $PPCTL ]]; then
	parse 200 "$PP_TEST_TMP/b" | jq -e '[.events[].occurred_at] as $t | $t == ($t | sort)' >/dev/null ||
		fail "event times are not in order"
fi

# --- 2. non-24-digit numbers are unknown, as in ShipX ---------------------------------------
code=$(get "$URL_main/v1/tracking/12345" "$PP_TEST_TMP/b")
[[ $code == 404 ]] || fail "short number: want 404, got $code"

# --- 3. request log and /sim/stats ----------------------------------------------------------
code=$(get "$URL_main/sim/stats" "$PP_TEST_TMP/stats")
[[ $code == 200 ]] || fail "/sim/stats HTTP $code"
reqs=$(jq -r .requests "$PP_TEST_TMP/stats")
lines=$(wc -l <"$PP_TEST_TMP/requests.jsonl")
[[ $reqs == "$lines" ]] || fail "/sim/stats says $reqs requests, log has $lines lines"
jq -e 'select(.number and .recv_ms and .sent_ms and (.sent_ms >= .recv_ms) and .status)' \
	"$PP_TEST_TMP/requests.jsonl" >/dev/null || fail "request log lines lack fields"
[[ $(jq -s 'map(select(.status == 0 or .recv_ms == null)) | length' "$PP_TEST_TMP/requests.jsonl") == 0 ]] ||
	fail "bad request log line"
stop_sim "$PID_main"

# --- 4. determinism and Europe/Warsaw offsets across the 2026-03-29 DST change --------------
sim d1 --clock manual --not-found-minutes 0 --epoch 2026-03-28T12:00:00Z
sim d2 --clock manual --not-found-minutes 0 --epoch 2026-03-28T12:00:00Z
for s in d1 d2; do
	u=URL_$s
	get "${!u}/v1/tracking/$N" /dev/null >/dev/null
	sim_clock "${!u}" advance 400000 >/dev/null # 4.6 sim-days: every journey is complete
done
for s in d1 d2; do
	u=URL_$s
	[[ $(get "${!u}/v1/tracking/$N" "$PP_TEST_TMP/$s.json") == 200 ]] || fail "$s: no 200"
done
cmp -s "$PP_TEST_TMP/d1.json" "$PP_TEST_TMP/d2.json" || fail "same number and sim time gave different bodies"
jq -e '[.tracking_details[].datetime | select(
          (.[0:16] < "2026-03-29T02:00" and (endswith("+01:00") | not)) or
          (.[0:16] >= "2026-03-29T03:00" and (endswith("+02:00") | not)))] | length == 0' \
	"$PP_TEST_TMP/d1.json" >/dev/null || fail "wrong Warsaw offset: $(jq -c '[.tracking_details[].datetime]' "$PP_TEST_TMP/d1.json")"
jq -e '[.tracking_details[].datetime] | (map(select(endswith("+01:00"))) | length > 0) and
       (map(select(endswith("+02:00"))) | length > 0)' "$PP_TEST_TMP/d1.json" >/dev/null ||
	fail "journey did not cross the DST change: $(jq -c '[.tracking_details[].datetime]' "$PP_TEST_TMP/d1.json")"
parse 200 "$PP_TEST_TMP/d1.json" >/dev/null || fail "parser rejects the DST body"
if [[ -x $PPCTL ]]; then
	parse 200 "$PP_TEST_TMP/d1.json" | jq -e '[.events[].occurred_at] as $t | $t == ($t | sort | unique)' >/dev/null ||
		fail "UTC times not strictly increasing across the DST change"
fi
stop_sim "$PID_d1"
stop_sim "$PID_d2"

# --- 5. faults --------------------------------------------------------------------------------
sim f429 --not-found-minutes 0 --p429 1 --retry-after 7
hdr=$(curl -s -D - -o "$PP_TEST_TMP/b" "$URL_f429/v1/tracking/$N")
grep -q '^HTTP/1.1 429' <<<"$hdr" || fail "--p429 1: no 429: $(head -1 <<<"$hdr")"
grep -qi '^retry-after: 7' <<<"$hdr" || fail "429 without Retry-After: $hdr"
[[ $(jq -r .status "$PP_TEST_TMP/b") == 429 ]] || fail "429 body not in ShipX error shape"
if [[ -x $PPCTL ]]; then "$PPCTL" parse --carrier inpost --http-status 429 "$PP_TEST_TMP/b" 2>/dev/null && fail "429 parsed as success"; fi
stop_sim "$PID_f429"

sim f500 --not-found-minutes 0 --p500 1
[[ $(get "$URL_f500/v1/tracking/$N" "$PP_TEST_TMP/b") == 500 ]] || fail "--p500 1: no 500"
stop_sim "$PID_f500"

sim fmal --not-found-minutes 0 --pmalformed 1
for i in 1 2 3 4 5; do
	[[ $(get "$URL_fmal/v1/tracking/$N" "$PP_TEST_TMP/b") == 200 ]] || fail "--pmalformed: want 200"
	jq -e . "$PP_TEST_TMP/b" >/dev/null 2>&1 && fail "--pmalformed body is valid JSON"
	if [[ -x $PPCTL ]]; then "$PPCTL" parse --carrier inpost --http-status 200 "$PP_TEST_TMP/b" 2>/dev/null && fail "malformed body parsed"; fi
done
stop_sim "$PID_fmal"

sim fmix --not-found-minutes 0 --p429 0.2 --p500 0.2 --pmalformed 0.2 --seed 42
codes=""
for i in $(seq 40); do codes+=" $(get "$URL_fmix/v1/tracking/$N" /dev/null)"; done
for c in 200 429 500; do grep -qw "$c" <<<"$codes" || fail "fault mix: no $c among$codes"; done
stop_sim "$PID_fmix"

sim fhang --not-found-minutes 0 --phang 1
code=$(get "$URL_fhang/v1/tracking/$N" /dev/null --max-time 0.5)
[[ $code == 000 ]] || fail "--phang: answered with $code"
# the abandoned request must be cleaned up (no leak): nothing deferred, one abandoned
wait_until 60 bash -c "curl -s '$URL_fhang/sim/stats' | jq -e '.abandoned == 1 and .deferred_now == 0'" ||
	fail "hung request not cleaned up after the client left: $(curl -s "$URL_fhang/sim/stats")"
# SIGTERM with a hanging request still open: exits cleanly, and the client sees the
# connection end (not its own time-out, which is far beyond the stop's wait)
curl -s -o /dev/null --max-time 600 "$URL_fhang/v1/tracking/$N" &
cpid=$!
wait_until 60 bash -c "curl -s '$URL_fhang/sim/stats' | jq -e '.deferred_now == 1'" || fail "second hang not pending"
stop_sim "$PID_fhang"
wait "$cpid"
crc=$?
((crc != 28)) || fail "the hanging request's client timed out: the simulator's stop did not end it"

sim fauth --not-found-minutes 0 --token s3cr3t
[[ $(get "$URL_fauth/v1/tracking/$N" "$PP_TEST_TMP/b") == 401 ]] || fail "no token: want 401"
[[ $(jq -r .error "$PP_TEST_TMP/b") == token_invalid ]] || fail "401 not in ShipX error shape"
[[ $(get "$URL_fauth/v1/tracking/$N" /dev/null -H 'Authorization: Bearer wrong') == 401 ]] || fail "wrong token accepted"
[[ $(get "$URL_fauth/v1/tracking/$N" "$PP_TEST_TMP/b" -H 'Authorization: Bearer s3cr3t') == 200 ]] ||
	fail "right token refused"
stop_sim "$PID_fauth"

check_logs_clean
echo ok
