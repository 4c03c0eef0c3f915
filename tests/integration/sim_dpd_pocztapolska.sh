#!/usr/bin/env bash
# sim_dpd_pocztapolska.sh - DPD Polska and Poczta Polska end to end against pp-carrier-sim:
# the adapters' own SOAP envelopes (ppctl request) POSTed with curl, the answers parsed by
# the adapters (ppctl parse): not found → journey → delivered, forward only; a Poczta Polska
# batch; bad credentials → SOAP faults; bad requests; injected faults; Warsaw times across DST.
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

[[ -x $SIM ]] || fail "no simulator at $SIM (build first)"
[[ -x $PPCTL ]] || fail "no ppctl at $PPCTL (build first)"
# private copies: a rebuild in the same build dir must not relink the binaries mid-test
cp "$SIM" "$PP_TEST_TMP/pp-carrier-sim" && cp "$PPCTL" "$PP_TEST_TMP/ppctl" || fail "cannot copy the binaries"
SIM=$PP_TEST_TMP/pp-carrier-sim PPCTL=$PP_TEST_TMP/ppctl
"$PPCTL" --help >/dev/null && "$SIM" --help >/dev/null || fail "binaries copied mid-link; run again"
DPD_PATH=/DPDInfoServicesObjEventsService/DPDInfoServicesObjEvents
PP_PATH=/Sledzenie/services/Sledzenie

# sim NAME ARGS...: a simulator on a free port, log in $PP_TEST_TMP/sim-NAME.log; sets URL_NAME.
sim() {
	local name=$1 log=$PP_TEST_TMP/sim-$1.log
	shift
	"$SIM" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	pp_test_pids+=("$!")
	wait_until 60 grep -q '^listening on ' "$log" || fail "simulator $name did not start: $(tail -3 "$log")"
	printf -v "URL_$name" 'http://%s' "$(sed -n 's/^listening on //p' "$log" | head -1)"
}

# post URL PATH CARRIER OUT NUMBER...: build the adapter's request, POST it; prints the HTTP status.
post() {
	local url=$1 path=$2 carrier=$3 out=$4
	shift 4
	"$PPCTL" request --carrier "$carrier" --body-only "$@" >"$PP_TEST_TMP/req.xml" ||
		fail "ppctl request --carrier $carrier $* failed"
	curl -s -o "$out" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$PP_TEST_TMP/req.xml" "$url$path" || true
}

RANK='{"info_received":1,"in_transit":2,"out_for_delivery":3,"available_for_pickup":4,"delivered":5}'

# walk CARRIER URL PATH NUMBER...: poll until every valid number is delivered (numbers
# starting with "!" must stay unknown); each poll's history must extend the previous one.
# URL's simulator runs on the manual clock: each poll moves it two sim-hours, so the walk
# sees the same answers however slow the machine.
walk() {
	local carrier=$1 url=$2 path=$3 n code out i
	shift 3
	local -a nums=() bad=() prev=()
	for n in "$@"; do
		if [[ $n == '!'* ]]; then bad+=("${n#!}"); nums+=("${n#!}"); else nums+=("$n"); fi
	done
	for i in "${!nums[@]}"; do prev[i]='[]'; done
	local done=0 polls=0 seen_nf=0
	while ((polls < 300)); do
		code=$(post "$url" "$path" "$carrier" "$PP_TEST_TMP/ans.xml" "${nums[@]}")
		[[ $code == 200 ]] || fail "$carrier poll: HTTP $code: $(head -c 300 "$PP_TEST_TMP/ans.xml")"
		out=$("$PPCTL" parse --carrier "$carrier" --http-status 200 "$PP_TEST_TMP/ans.xml") ||
			fail "$carrier: adapter rejected a simulator body: $(head -c 400 "$PP_TEST_TMP/ans.xml")"
		[[ $(wc -l <<<"$out") == "${#nums[@]}" ]] || fail "$carrier: ${#nums[@]} numbers asked, answers: $out"
		polls=$((polls + 1))
		done=1
		for i in "${!nums[@]}"; do
			local r
			r=$(sed -n "$((i + 1))p" <<<"$out")
			if [[ " ${bad[*]-} " == *" ${nums[i]} "* ]]; then
				[[ $(jq -r .found <<<"$r") == false ]] || fail "$carrier: invalid ${nums[i]} reported found: $r"
				continue
			fi
			[[ $carrier == dpd || $(jq -r .tracking_number <<<"$r") == "${nums[i]}" ]] ||
				fail "$carrier: answer $i is for $(jq -r .tracking_number <<<"$r"), not ${nums[i]}"
			if [[ $(jq -r .found <<<"$r") == false ]]; then
				[[ ${prev[i]} == '[]' ]] || fail "$carrier ${nums[i]}: known, then not found again"
				seen_nf=1
				done=0
				continue
			fi
			# forward only: old events unchanged, new ones not older than the last old one,
			# oldest first, every status mapped
			jq -e --argjson p "${prev[i]}" '
				(.events[0:($p | length)] == $p) and
				([.events[].occurred_at] as $t | $t == ($t | sort)) and
				(all(.events[]; .status != "unknown"))' <<<"$r" >/dev/null ||
				fail "$carrier ${nums[i]}: history moved backwards or unmapped: was ${prev[i]}, now $r"
			prev[i]=$(jq -c .events <<<"$r")
			[[ $(jq -r .status <<<"$r") == delivered ]] || done=0
		done
		((done)) && break
		sim_clock "$url" advance 7200 >/dev/null
	done
	((done)) || fail "$carrier: not delivered after $polls polls, two sim-hours apart"
	((seen_nf)) || fail "$carrier: never saw the not-found window"
	for i in "${!nums[@]}"; do
		[[ " ${bad[*]-} " == *" ${nums[i]} "* ]] && continue
		# replayed with the forward-only rule, the statuses climb to delivered
		jq -e --argjson rank "$RANK" '[.[] | $rank[.status] // 0] | (max == 5) and
			(map(select(. > 0)) | length > 3)' <<<"${prev[i]}" >/dev/null ||
			fail "$carrier ${nums[i]}: bad journey ${prev[i]}"
		jq -e 'map(.status) | (index("in_transit") != null) and
			((index("out_for_delivery") // index("available_for_pickup")) != null)' <<<"${prev[i]}" >/dev/null ||
			fail "$carrier ${nums[i]}: journey lacks transit or last mile: ${prev[i]}"
	done
}

# --- 1. journeys with credentials ----------------------------------------------------------
sim main --clock manual --not-found-minutes 5 --client-id dpd-login --client-secret 's3cr&t<'
export PP_DPD_BASE_URL=$URL_main PP_DPD_LOGIN=dpd-login PP_DPD_PASSWORD='s3cr&t<' PP_DPD_CHANNEL=1495
export PP_POCZTAPOLSKA_BASE_URL=$URL_main PP_POCZTAPOLSKA_USERNAME=dpd-login PP_POCZTAPOLSKA_PASSWORD='s3cr&t<'
walk dpd "$URL_main" "$DPD_PATH" 1000123456780U
walk dpd "$URL_main" "$DPD_PATH" 1000000000042U
# a Poczta Polska batch: domestic, S10, and an invalid number (GS1 check digit wrong)
walk pocztapolska "$URL_main" "$PP_PATH" 00159007730000123451 RR410342249PL '!00159007730000123452'
walk pocztapolska "$URL_main" "$PP_PATH" CP123456785PL

# --- 2. credentials: the carrier's SOAP fault, reported with its text ----------------------
code=$(PP_DPD_PASSWORD=wrong post "$URL_main" "$DPD_PATH" dpd "$PP_TEST_TMP/f.xml" 1000123456780U)
[[ $code == 401 || $code == 500 ]] || fail "DPD wrong password: HTTP $code"
err=$("$PPCTL" parse --carrier dpd --http-status "$code" "$PP_TEST_TMP/f.xml" 2>&1) && fail "DPD fault parsed as data"
grep -q 'SOAP fault: S:Server: Login failed' <<<"$err" || fail "DPD fault reason: $err"
code=$(PP_POCZTAPOLSKA_USERNAME=sledzeniepp PP_POCZTAPOLSKA_PASSWORD=PPSA post "$URL_main" "$PP_PATH" pocztapolska "$PP_TEST_TMP/f.xml" RR410342249PL)
[[ $code == 401 || $code == 500 ]] || fail "Poczta Polska wrong credentials: HTTP $code"
err=$("$PPCTL" parse --carrier pocztapolska --http-status "$code" "$PP_TEST_TMP/f.xml" 2>&1) && fail "PP fault parsed as data"
grep -q 'wsse:FailedAuthentication' <<<"$err" || fail "Poczta Polska fault reason: $err"
# no WS-Security header at all
sed 's|<soapenv:Header>.*</soapenv:Header>||' "$PP_TEST_TMP/req.xml" >"$PP_TEST_TMP/nohdr.xml"
grep -q UsernameToken "$PP_TEST_TMP/nohdr.xml" && fail "could not strip the Security header"
code=$(curl -s -o "$PP_TEST_TMP/f.xml" -w '%{http_code}' --data-binary @"$PP_TEST_TMP/nohdr.xml" "$URL_main$PP_PATH")
[[ $code != 200 ]] && grep -q FailedAuthentication "$PP_TEST_TMP/f.xml" || fail "no Security header: HTTP $code"

# --- 3. bad requests: a SOAP Client fault, never a crash -----------------------------------
code=$(curl -s -o "$PP_TEST_TMP/f.xml" -w '%{http_code}' --data-binary '<not-soap' "$URL_main$PP_PATH")
[[ $code == 400 ]] && grep -q 'soapenv:Client' "$PP_TEST_TMP/f.xml" || fail "malformed PP request: HTTP $code"
code=$(curl -s -o "$PP_TEST_TMP/f.xml" -w '%{http_code}' "$URL_main$DPD_PATH")
[[ $code == 405 ]] && grep -q 'S:Client' "$PP_TEST_TMP/f.xml" || fail "GET on DPD endpoint: HTTP $code"
code=$(curl -s -o "$PP_TEST_TMP/f.xml" -w '%{http_code}' "$URL_main/sim/stats")
[[ $code == 200 ]] && jq -e '.unauthorized >= 3 and .bad_request >= 2' "$PP_TEST_TMP/f.xml" >/dev/null ||
	fail "/sim/stats does not count the faults: $(cat "$PP_TEST_TMP/f.xml")"

# --- 4. injected faults per carrier: truncated bodies and 500s ------------------------------
# (simulators without --client-id: any DPD login, the public Poczta Polska account)
unset PP_DPD_LOGIN PP_DPD_PASSWORD PP_POCZTAPOLSKA_USERNAME PP_POCZTAPOLSKA_PASSWORD
sim faults --speed 20000 --not-found-minutes 0 --pmalformed dpd:1 --p500 pocztapolska:1
code=$(post "$URL_faults" "$DPD_PATH" dpd "$PP_TEST_TMP/f.xml" 1000123456780U)
err=$("$PPCTL" parse --carrier dpd --http-status "$code" "$PP_TEST_TMP/f.xml" 2>&1) && fail "truncated DPD body accepted"
grep -q 'not well-formed' <<<"$err" || fail "truncated DPD body: $err"
code=$(post "$URL_faults" "$PP_PATH" pocztapolska "$PP_TEST_TMP/f.xml" RR410342249PL)
[[ $code == 500 ]] || fail "injected 500: HTTP $code"
err=$("$PPCTL" parse --carrier pocztapolska --http-status "$code" "$PP_TEST_TMP/f.xml" 2>&1) && fail "PP 500 accepted"
grep -q 'HTTP 500: SOAP fault: soapenv:Server' <<<"$err" || fail "PP 500: $err"

# --- 5. Europe/Warsaw local times across the 2026-03-29 change, checked against tzdata ------
sim dst --clock manual --not-found-minutes 0 --epoch 2026-03-28T12:00:00Z
for c in dpd:$DPD_PATH:1000123456780U pocztapolska:$PP_PATH:00159007730000123451; do
	IFS=: read -r carrier path num <<<"$c"
	post "$URL_dst" "$path" "$carrier" /dev/null "$num" >/dev/null
done
sim_clock "$URL_dst" advance 400000 >/dev/null # 4.6 sim-days: every journey is complete
for c in dpd:$DPD_PATH:1000123456780U:eventTime pocztapolska:$PP_PATH:00159007730000123451:czas; do
	IFS=: read -r carrier path num tag <<<"$c"
	code=$(post "$URL_dst" "$path" "$carrier" "$PP_TEST_TMP/dst.xml" "$num")
	[[ $code == 200 ]] || fail "$carrier DST: HTTP $code"
	out=$("$PPCTL" parse --carrier "$carrier" "$PP_TEST_TMP/dst.xml") || fail "$carrier DST body rejected"
	[[ $(jq -r .status <<<"$out") == delivered ]] || fail "$carrier DST journey not complete: $out"
	mapfile -t local_times < <(grep -o "<[a-z0-9]*:\?$tag>[^<]*" "$PP_TEST_TMP/dst.xml" | sed 's/.*>//')
	((${#local_times[@]} >= 8)) || fail "$carrier DST: only ${#local_times[@]} times in the body"
	want=$(for t in "${local_times[@]}"; do TZ=UTC date -d "@$(TZ=Europe/Warsaw date -d "$t" +%s)" +%Y-%m-%dT%H:%M:%SZ; done | sort)
	got=$(jq -r '.events[].occurred_at' <<<"$out" | sort)
	[[ $want == "$got" ]] || fail "$carrier DST: tzdata says $(echo $want), adapter says $(echo $got)"
	grep -q "2026-03-28" <<<"$got" && grep -q "2026-03-29\|2026-03-3" <<<"$got" ||
		fail "$carrier DST: journey does not cross the change: $(echo $got)"
done

check_logs_clean
echo ok
