#!/usr/bin/env bash
# sim_gls_orlen.sh - GLS and ORLEN Paczka end to end against pp-carrier-sim: the production
# adapters build the requests (pp-carrier-request -> curl -K), ppctl parse reads the answers.
# GLS: OAuth token, batch of 10 with per-parcel not-found, 401s; ORLEN: SOAP batch with
# credentials (and a SOAP fault without), public JSONP one number at a time. Every parcel's
# status must only move forward until it is terminal.
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

REQ=$PP_BUILD/tests/pp-carrier-request
[[ -x $SIM && -x $PPCTL && -x $REQ ]] || fail "build first (need $SIM, $PPCTL, $REQ)"
T=$PP_TEST_TMP

# The manual clock: the first answers are surely not-found (30 sim-minutes at x20,000 were
# 90 ms of real time), and the walk below moves it a sim-hour per round: the same
# observations on every run, however slow the machine.
start_sim --clock manual --not-found-minutes 30 --client-id 4242 --client-secret s3cret --token-ttl 3600
export PP_GLS_BASE_URL=$SIM_URL PP_GLS_CLIENT_ID=4242 PP_GLS_CLIENT_SECRET=s3cret
export PP_ORLEN_BASE_URL=$SIM_URL PP_ORLEN_PUBLIC_URL=$SIM_URL PP_ORLEN_PARTNER_ID=4242 PP_ORLEN_PARTNER_KEY=s3cret

# send NAME ARGS...: build the request with the adapter, send it; prints the HTTP status.
send() {
	local name=$1
	shift
	"$REQ" --body "$T/$name.body" "$@" >"$T/$name.cfg" || fail "pp-carrier-request $* failed"
	curl -s -K "$T/$name.cfg" -o "$T/$name.out" -w '%{http_code}' || echo 000
}

# Main-line rank; side states 0. Terminal: delivered, returned, expired.
rank() {
	case $1 in
	not_found_yet) echo 0 ;; info_received) echo 1 ;; in_transit) echo 2 ;;
	out_for_delivery) echo 3 ;; available_for_pickup) echo 4 ;; delivered | returned | expired) echo 9 ;;
	*) echo -1 ;; # side state (delivery_failed, exception, returning) or unknown
	esac
}
declare -A best=() last=() nev=()
# observe CARRIER LINE: one ppctl parse output line; status never goes back, events never shrink.
observe() {
	local num st n r sorted no888
	# one jq per line (five were ~10 s a round on a loaded machine)
	IFS=$'\t' read -r num st n sorted no888 < <(jq -r '[.tracking_number, .status, (.events | length),
		([.events[].occurred_at] as $t | $t == ($t | sort)),
		([.events[].carrier_status | select(. == "888")] | length == 0)] | @tsv' <<<"$2")
	r=$(rank "$st")
	[[ $sorted == true ]] || fail "$1 $num: events not oldest first"
	[[ $no888 == true ]] || fail "$1 $num: archiving row 888 not ignored"
	((n >= ${nev[$num]:-0})) || fail "$1 $num: event count went down (${nev[$num]} -> $n)"
	nev[$num]=$n
	if [[ $(rank "${last[$num]:-not_found_yet}") == 9 && $st != "${last[$num]}" ]]; then
		fail "$1 $num: left terminal ${last[$num]} for $st"
	fi
	if ((r >= 0)); then
		((r >= ${best[$num]:-0})) || fail "$1 $num: moved back from rank ${best[$num]} to $st"
		best[$num]=$r
	fi
	[[ $st != "${last[$num]:-}" ]] && echo "$1 $num ${last[$num]:-} -> $st" >>"$T/transitions.log"
	last[$num]=$st
}

# --- GLS: OAuth ------------------------------------------------------------------------------
code=$(PP_GLS_CLIENT_SECRET=wrong send tokbad --carrier gls --auth)
[[ $code == 401 ]] || fail "GLS token with a wrong secret: want 401, got $code"
[[ $(jq -r .error "$T/tokbad.out") == invalid_client ]] || fail "GLS 401 token body: $(cat "$T/tokbad.out")"
code=$(send tok --carrier gls --auth)
[[ $code == 200 ]] || fail "GLS token: HTTP $code: $(cat "$T/tok.out")"
TOKEN=$(jq -er .access_token "$T/tok.out") || fail "no access_token: $(cat "$T/tok.out")"
[[ $(jq -r .expires_in "$T/tok.out") == 3600 ]] || fail "expires_in: $(cat "$T/tok.out")"

GLS=(900000000001 900000000002 900000000003 900000000004 900000000005 900000000006 900000000007
	90000000008 90000000009 12345)
for t in "" "not-a-token" "sim.1.1.0000000000000000"; do
	code=$(send g401 --carrier gls ${t:+--token "$t"} "${GLS[@]}")
	[[ $code == 401 ]] || fail "GLS with token '$t': want 401, got $code"
	[[ $(jq -r .fault.detail.errorcode "$T/g401.out") == steps.jwt.TokenExpired ]] || fail "GLS 401 not an Apigee fault"
	"$PPCTL" parse --carrier gls --http-status 401 "$T/g401.out" 2>"$T/err" >/dev/null && fail "GLS 401 parsed as success"
	grep -q 'not authorized' "$T/err" || fail "GLS 401 reason: $(cat "$T/err")"
done
"$REQ" --carrier gls --token "$TOKEN" 1 2 3 4 5 6 7 8 9 10 11 >/dev/null 2>&1 && fail "GLS build_request took 11 numbers"

# first answer: nobody known yet, all ten not found inside one 200
code=$(send gls --carrier gls --token "$TOKEN" "${GLS[@]}")
[[ $code == 200 ]] || fail "GLS batch: HTTP $code"
"$PPCTL" parse --carrier gls "$T/gls.out" >"$T/gls.json" || fail "GLS batch not parsed: $(head -c 300 "$T/gls.out")"
[[ $(jq -s 'map(select(.found == false)) | length' "$T/gls.json") == 10 ]] || fail "GLS first batch: want 10 not found"

# --- ORLEN: SOAP credentials ----------------------------------------------------------------
ORLEN=(2100000000011 2100000000028 2100000000035 3100000000042 2100000000059 21000)
code=$(PP_ORLEN_PARTNER_KEY=wrong send obad --carrier orlen "${ORLEN[@]}")
[[ $code == 401 ]] || fail "ORLEN wrong PartnerKey: want 401, got $code"
"$PPCTL" parse --carrier orlen --http-status 401 "$T/obad.out" 2>"$T/err" >/dev/null && fail "ORLEN fault parsed as success"
grep -q 'SOAP fault.*PartnerKey' "$T/err" || fail "ORLEN fault reason: $(cat "$T/err")"
PP_ORLEN_PARTNER_ID= "$REQ" --carrier orlen 2100000000011 2100000000028 >/dev/null 2>&1 &&
	fail "ORLEN public transport accepted two numbers"
# first answer: numbers ORLEN does not know yet have no rows at all (absent = not found)
code=$(send orlen --carrier orlen "${ORLEN[@]}")
[[ $code == 200 ]] || fail "ORLEN SOAP: HTTP $code"
"$PPCTL" parse --carrier orlen "$T/orlen.out" >"$T/orlen.json" || fail "ORLEN SOAP not parsed: $(head -c 300 "$T/orlen.out")"
[[ ! -s $T/orlen.json ]] || fail "ORLEN first SOAP answer: want no parcel, got $(cat "$T/orlen.json")"
PUBLIC=(2100000000066 3100000000073)
for n in "${PUBLIC[@]}"; do
	code=$(PP_ORLEN_PARTNER_ID= send pub --carrier orlen "$n")
	[[ $code == 200 ]] || fail "ORLEN JSONP: HTTP $code"
	[[ $("$PPCTL" parse --carrier orlen "$T/pub.out" | jq -r '"\(.tracking_number) \(.found)"') == "$n false" ]] ||
		fail "ORLEN JSONP first answer is not a not-found: $(cat "$T/pub.out")"
done

# --- walk every parcel to the end ---------------------------------------------------------------
done_all=0 rounds=0
while ((rounds < 300)); do
	rounds=$((rounds + 1))
	code=$(send gls --carrier gls --token "$TOKEN" "${GLS[@]}")
	[[ $code == 200 ]] || fail "GLS batch: HTTP $code"
	"$PPCTL" parse --carrier gls "$T/gls.out" >"$T/gls.json" || fail "GLS batch not parsed: $(head -c 300 "$T/gls.out")"
	[[ $(wc -l <"$T/gls.json") == 10 ]] || fail "GLS: want 10 results"
	[[ $(jq -rs '.[9] | "\(.tracking_number) \(.found)"' "$T/gls.json") == "12345 false" ]] ||
		fail "GLS: the unknown number is not a per-parcel not-found"
	while read -r line; do observe gls "$line"; done <"$T/gls.json"

	code=$(send orlen --carrier orlen "${ORLEN[@]}")
	[[ $code == 200 ]] || fail "ORLEN SOAP: HTTP $code"
	"$PPCTL" parse --carrier orlen "$T/orlen.out" >"$T/orlen.json" || fail "ORLEN SOAP not parsed: $(head -c 300 "$T/orlen.out")"
	grep -q '"21000"' "$T/orlen.json" && fail "ORLEN: unknown number has rows"
	while read -r line; do observe orlen "$line"; done <"$T/orlen.json"

	for n in "${PUBLIC[@]}"; do
		code=$(PP_ORLEN_PARTNER_ID= send pub --carrier orlen "$n")
		[[ $code == 200 ]] || fail "ORLEN JSONP: HTTP $code"
		head -c 9 "$T/pub.out" | grep -q '^callback(' || fail "ORLEN JSONP: not a callback: $(head -c 80 "$T/pub.out")"
		out=$("$PPCTL" parse --carrier orlen "$T/pub.out") || fail "ORLEN JSONP not parsed: $(head -c 300 "$T/pub.out")"
		if [[ $(jq -r .found <<<"$out") == false ]]; then
			[[ -z ${last[$n]:-} || ${last[$n]} == not_found_yet ]] || fail "ORLEN JSONP $n: found, then not found"
			last[$n]=not_found_yet
		else
			observe orlen_public "$out"
		fi
	done

	done_all=1
	for n in "${GLS[@]:0:9}" "${ORLEN[@]:0:5}" "${PUBLIC[@]}"; do
		[[ $(rank "${last[$n]:-x}") == 9 ]] || done_all=0
	done
	((done_all)) && break
	sim_clock "$SIM_URL" advance 3600 >/dev/null
done
((done_all)) || fail "not every parcel reached a terminal status at the end of the scenarios ($rounds rounds): $(for n in "${!last[@]}"; do printf '%s=%s ' "$n" "${last[$n]}"; done)"
((rounds >= 3)) || fail "only $rounds rounds: the walk did not observe any progress"
# ORLEN numbers unknown in the first SOAP answer (absent = not found), known later
[[ $(grep -c '^orlen ' "$T/transitions.log") -ge 10 ]] || fail "too few ORLEN transitions: $(grep '^orlen' "$T/transitions.log")"
grep -q ' -> in_transit$' "$T/transitions.log" || fail "no in_transit seen"
grep -Eq ' -> (out_for_delivery|available_for_pickup)$' "$T/transitions.log" || fail "no last-mile status seen"

code=$(curl -s -o "$T/stats" -w '%{http_code}' "$SIM_URL/sim/stats")
[[ $code == 200 ]] || fail "/sim/stats: HTTP $code"
jq -e '.token_requests >= 2 and .unauthorized >= 5' "$T/stats" >/dev/null || fail "sim stats: $(cat "$T/stats")"
check_logs_clean
echo ok
