#!/usr/bin/env bash
# sim_dhl_ups.sh - DHL Unified and UPS Track API v1 shapes of pp-carrier-sim against the
# production adapters: the request each adapter builds (`ppctl request`) sent with curl, every
# body parsed with `ppctl parse`; API-key and OAuth checks (401 in each carrier's error
# shape, token expiry), not found (DHL 404 problem+json, UPS 200 + TW0001), statuses only
# moving forward to delivered.
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

[[ -x $SIM ]] || fail "no simulator at $SIM (build first)"
[[ -x $PPCTL ]] || fail "no ppctl at $PPCTL (build first)"
command -v jq >/dev/null || fail "jq is required"
DHL_N=24333892874        # DHL Parcel Polska, 11 digits
UPS_N=1ZA82D672031716786 # 1Z with a valid check digit
KEY=sim-dhl-key CID=pp-client CSECRET=pp-secret

# sim NAME ARGS...: start a simulator on a free port; sets PID_<NAME>, URL_<NAME>.
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

# send OUT CARRIER NUMBER [TOKEN]: send the request the adapter builds (ppctl request, with
# the PP_* config of this shell) with curl; body to OUT, prints the HTTP status.
send() {
	local out=$1 carrier=$2 number=$3 token=${4:-} req method url line
	local -a args=()
	if [[ -n $token ]]; then
		req=$("$PPCTL" request --carrier "$carrier" --token "$token" "$number") || fail "ppctl request $carrier failed"
	else
		req=$("$PPCTL" request --carrier "$carrier" "$number") || fail "ppctl request $carrier failed"
	fi
	read -r method url <<<"$(head -1 <<<"$req")"
	while IFS= read -r line; do
		[[ -z $line ]] && break
		args+=(-H "$line")
	done < <(tail -n +2 <<<"$req")
	curl -s -o "$out" -w '%{http_code}' -X "$method" "${args[@]}" "$url" || echo 000
}

# parse CARRIER HTTP FILE: the adapter's normalized view (JSON), or fail.
parse() {
	"$PPCTL" parse --carrier "$1" --http-status "$2" "$3" 2>"$PP_TEST_TMP/parse.err" ||
		fail "$1 parser rejected a simulator body (HTTP $2): $(cat "$PP_TEST_TMP/parse.err"): $(head -c 300 "$3")"
}

# rank of a normalized status on the main line; side states (failed attempt...) are 0
rank() {
	case $1 in
	not_found_yet) echo 0 ;; info_received) echo 1 ;; in_transit) echo 2 ;;
	out_for_delivery) echo 3 ;; available_for_pickup) echo 4 ;; delivered) echo 5 ;;
	*) echo -1 ;;
	esac
}

sim main --clock manual --not-found-minutes 5 --token "$KEY" --client-id "$CID" --client-secret "$CSECRET"
export PP_DHL_BASE_URL=$URL_main PP_DHL_API_KEY=$KEY PP_DHL_SERVICE=parcel-pl PP_UPS_BASE_URL=$URL_main
B=$PP_TEST_TMP/body

# --- 1. credentials: DHL API key, UPS OAuth client credentials -------------------------------
code=$(curl -s -o "$B" -w '%{http_code}' -H "DHL-API-Key: wrong" "$URL_main/track/shipments?trackingNumber=$DHL_N")
[[ $code == 401 ]] || fail "DHL with a wrong key: want 401, got $code"
[[ $(jq -r .title "$B") == Unauthorized && $(jq -r .status "$B") == 401 ]] || fail "DHL 401 is not problem+json: $(cat "$B")"
"$PPCTL" parse --carrier dhl --http-status 401 "$B" 2>"$PP_TEST_TMP/e" && fail "DHL 401 parsed as a success"
grep -q 'Unauthorized for given resource' "$PP_TEST_TMP/e" || fail "DHL 401 reason lost: $(cat "$PP_TEST_TMP/e")"
code=$(curl -s -o "$B" -w '%{http_code}' "$URL_main/track/shipments?trackingNumber=$DHL_N")
[[ $code == 401 ]] || fail "DHL without a key: want 401, got $code"

code=$(curl -s -o "$B" -w '%{http_code}' -u "$CID:wrong" -d grant_type=client_credentials "$URL_main/security/v1/oauth/token")
[[ $code == 401 && $(jq -r '.response.errors[0].code' "$B") == 10401 ]] || fail "UPS token with a wrong secret: want 401/10401, got $code $(cat "$B")"
code=$(curl -s -o "$B" -w '%{http_code}' -u "$CID:$CSECRET" -d grant_type=password "$URL_main/security/v1/oauth/token")
[[ $code == 400 ]] || fail "UPS token with grant_type=password: want 400, got $code"
code=$(curl -s -o "$B" -w '%{http_code}' -u "$CID:$CSECRET" -H 'Content-Type: application/x-www-form-urlencoded' \
	-d grant_type=client_credentials "$URL_main/security/v1/oauth/token")
[[ $code == 200 ]] || fail "UPS token: want 200, got $code $(cat "$B")"
TOKEN=$(jq -er .access_token "$B") || fail "UPS token answer has no access_token: $(cat "$B")"
[[ $(jq -r '.expires_in | type' "$B") == string && $(jq -r .expires_in "$B") -gt 0 ]] || fail "UPS expires_in is not a positive string: $(cat "$B")"

code=$(send "$B" ups "$UPS_N" "not-a-sim-token")
[[ $code == 401 && $(jq -r '.response.errors[0].code' "$B") == 250002 ]] || fail "UPS with a forged token: want 401 UPS error, got $code $(cat "$B")"
"$PPCTL" parse --carrier ups --http-status 401 "$B" 2>"$PP_TEST_TMP/e" && fail "UPS 401 parsed as a success"
grep -q '250002' "$PP_TEST_TMP/e" || fail "UPS 401 reason lost: $(cat "$PP_TEST_TMP/e")"
code=$(curl -s -o "$B" -w '%{http_code}' "$URL_main/api/track/v1/details/$UPS_N")
[[ $code == 401 ]] || fail "UPS without a token: want 401, got $code"

# --- 2. not found yet: DHL 404 problem+json, UPS 200 + TW0001 --------------------------------
code=$(send "$B" dhl "$DHL_N")
[[ $code == 404 ]] || fail "DHL first request: want 404 not found yet, got $code"
[[ $(jq -r .title "$B") == "No result found" ]] || fail "DHL 404 is not DHL's problem body: $(cat "$B")"
[[ $(parse dhl 404 "$B" | jq -r .found) == false ]] || fail "DHL 404 not parsed as not found"
code=$(send "$B" ups "$UPS_N" "$TOKEN")
[[ $code == 200 ]] || fail "UPS first request: want 200 (+TW0001), got $code"
[[ $(jq -r '.trackResponse.shipment[0].warnings[0].code' "$B") == TW0001 ]] || fail "UPS not-found has no TW0001: $(cat "$B")"
[[ $(parse ups 200 "$B" | jq -r .found) == false ]] || fail "UPS TW0001 not parsed as not found"
code=$(send "$B" dhl 2433389287)  # 10 digits, bad DHL Express check digit: never known
[[ $code == 404 ]] || fail "DHL invalid number: want 404, got $code"
code=$(send "$B" ups 1ZA82D672031716787 "$TOKEN")  # bad check digit
[[ $code == 400 && $(jq -r '.response.errors[0].code' "$B") == TV1002 ]] || fail "UPS invalid number: want 400 TV1002, got $code $(cat "$B")"

# --- 3. both parcels walk to delivered, forward only ------------------------------------------
# The manual clock stops at every moment either parcel changes (sim_clock next), so every
# step is sampled however slow the machine (at x20,000 real time a loaded machine skipped
# the last-mile step between two samples).
declare -A last=([dhl]="" [ups]="") best=([dhl]=0 [ups]=0) nev=([dhl]=0 [ups]=0) seen=([dhl]="" [ups]="")
declare -A num=([dhl]=$DHL_N [ups]=$UPS_N) prev=([dhl]="[]" [ups]="[]")
for ((step = 0; step < 200; step++)); do
	for c in dhl ups; do
		code=$(send "$B.$c" "$c" "${num[$c]}" "$([[ $c == ups ]] && echo "$TOKEN")")
		[[ $code == 200 || $code == 404 ]] || fail "$c scenario request got HTTP $code: $(head -c 300 "$B.$c")"
		out=$(parse "$c" "$code" "$B.$c")
		st=$(jq -r .status <<<"$out")
		evs=$(jq -c '[.events[] | [.occurred_at, .status, .carrier_status]]' <<<"$out")
		n=$(jq length <<<"$evs")
		((n >= nev[$c])) || fail "$c event count went down (${nev[$c]} -> $n)"
		# the history only grows: what was seen before is still there, unchanged
		jq -e --argjson old "${prev[$c]}" '.[0:($old | length)] == $old' <<<"$evs" >/dev/null ||
			fail "$c history changed: ${prev[$c]} -> $evs"
		jq -e '[.[][0]] as $t | $t == ($t | sort)' <<<"$evs" >/dev/null || fail "$c events not oldest first: $evs"
		r=$(rank "$st")
		[[ $st == unknown ]] && fail "$c: unmapped status in $(jq -c .events[-1] <<<"$out")"
		if ((r > 0)); then
			((r >= best[$c])) || fail "$c status went backwards: $st after rank ${best[$c]} (seen: ${seen[$c]})"
			best[$c]=$r
		fi
		nev[$c]=$n prev[$c]=$evs
		if [[ $st != "${last[$c]}" ]]; then seen[$c]+="$st "; last[$c]=$st; fi
	done
	sim_clock "$URL_main" next | jq -e '.advanced_s > 0' >/dev/null || break # nothing left to happen
done
for c in dhl ups; do
	[[ ${last[$c]} == delivered ]] || fail "$c parcel not delivered at the end of its scenario ($step clock steps); statuses seen: ${seen[$c]}"
	grep -q in_transit <<<"${seen[$c]}" || fail "$c: no in_transit seen: ${seen[$c]}"
	grep -Eq 'out_for_delivery|available_for_pickup' <<<"${seen[$c]}" || fail "$c: no last-mile status: ${seen[$c]}"
	((nev[$c] >= 8)) || fail "$c: only ${nev[$c]} events in a whole journey"
done
# DHL history times come without an offset (Warsaw local); the current status with one:
# the adapter must put both on the same instant
code=$(send "$B" dhl "$DHL_N")
jq -e '.shipments[0].events[0].timestamp | test("^[0-9-]+T[0-9:]+$")' "$B" >/dev/null || fail "DHL sim events should lack an offset"
st_utc=$(jq -r '.shipments[0].status.timestamp' "$B")
want=$(date -u -d "$st_utc" +%Y-%m-%dT%H:%M:%SZ)
[[ $(parse dhl 200 "$B" | jq -r '.events[-1].occurred_at') == "$want" ]] || fail "DHL zone-less newest event is not $want (status timestamp $st_utc)"

# --- 4. an expired UPS token is refused, a fresh one works -------------------------------------
sim ttl --speed 20000 --not-found-minutes 0 --client-id "$CID" --client-secret "$CSECRET" --token-ttl 1
export PP_UPS_BASE_URL=$URL_ttl
tok=$(curl -s -u "$CID:$CSECRET" -d grant_type=client_credentials "$URL_ttl/security/v1/oauth/token" | jq -er .access_token) ||
	fail "no token from the --token-ttl 1 simulator"
code=$(send "$B" ups "$UPS_N" "$tok")
[[ $code == 200 ]] || fail "UPS with a fresh token: want 200, got $code"
expired() { [[ $(send "$B" ups "$UPS_N" "$tok") == 401 ]]; }
wait_until 120 expired || fail "UPS token issued with ttl 1 s still accepted after 120 s"
[[ $(jq -r '.response.errors[0].code' "$B") == 250002 ]] || fail "expired token: not a UPS 401 body: $(cat "$B")"
tok=$(curl -s -u "$CID:$CSECRET" -d grant_type=client_credentials "$URL_ttl/security/v1/oauth/token" | jq -er .access_token) ||
	fail "no second token"
code=$(send "$B" ups "$UPS_N" "$tok")
[[ $code == 200 ]] || fail "UPS with a refreshed token: want 200, got $code"

# --- 5. counters, and a clean stop of exactly the simulators started here ----------------------
stats=$(curl -s "$URL_main/sim/stats")
(($(jq .unauthorized <<<"$stats") >= 4)) || fail "sim/stats unauthorized < 4: $stats"
(($(jq .token_requests <<<"$stats") >= 3)) || fail "sim/stats token_requests < 3: $stats"
for p in "$PID_main" "$PID_ttl"; do stop_pid "$p"; done
check_logs_clean
echo ok
