#!/usr/bin/env bash
# bot_limits.sh - pp-bot as a good citizen of the fleet, judged from the simulators' request logs:
# (1) day share: dhl_per_day = 40, bot_day_share_pct = 10 -> nine unknown DHL numbers asked by
#     three writers at once: exactly 4 calls reach the carrier, the other asks get the quota text
#     (pl / en), a known number its stale status from Postgres; carrier_usage holds the bot's row
#     and its calls inside the fleet's row. ups_per_day = 100 with 97 already reserved by pollers:
#     the bot gets only the 3 left, the fleet never goes past 100.
# (2) Retry-After: DPD answers 429 + "Retry-After: 2", ORLEN 503 + Retry-After as an HTTP date;
#     asks keep coming: no call reaches the simulator before the moment the previous answer named.
# (3) a restarted bot (breaker_min_requests = 2): DHL still refused with no call (the share is
#     counted in Postgres, not in the process); InPost answering only 500: two calls, the breaker
#     opens, the next asks are answered without a call ("not answering" / the stale status).
# (4) each bot run has a workers row of kind bot with counters, marked stopped after SIGTERM.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
DHL_DAY=40 SHARE_PCT=10 SHARE=4 # the bot may call DHL 40 * 10 / 100 times today
UPS_DAY=100 UPS_TAKEN=97        # the pollers' reservation before the bot starts
RA_S=2
figure() { echo "# $*" >&2; echo "$*" >>"$PP_TEST_TMP/figures.txt"; } # printed after "ok" too

bot_accounts 3

# Simulator A: every carrier; InPost answers 500, DPD 429 + Retry-After in seconds.
start_sim --token demo-token --client-id demo --client-secret demo-secret --latency-ms 10 \
	--not-found-minutes 0 --p500 inpost:1 --p429 dpd:1 --retry-after "$RA_S" \
	--log-requests "$PP_TEST_TMP/a.jsonl"
SIM_A=$SIM_URL
# Simulator B: ORLEN answers 503 + Retry-After as an HTTP date.
"$SIM" --listen 127.0.0.1:0 --token demo-token --client-id demo --client-secret demo-secret \
	--latency-ms 10 --not-found-minutes 0 --p429 orlen:1 --rate-limit-status 503 \
	--retry-after "$RA_S" --retry-after-form date --log-requests "$PP_TEST_TMP/b.jsonl" \
	>"$PP_TEST_TMP/simb.out" 2>"$PP_TEST_TMP/simb.log" &
pp_test_pids+=($!)
wait_until 10 grep -q '^listening on ' "$PP_TEST_TMP/simb.out" || fail "simulator B: $(tail -3 "$PP_TEST_TMP/simb.log")"
SIM_B="http://$(sed -n 's/^listening on //p' "$PP_TEST_TMP/simb.out" | head -1)"

for c in $(pp_carriers); do export "PP_${c}_BASE_URL=$SIM_A" "PP_${c}_RPS=20"; done # ORLEN: B, below
export PP_ORLEN_BASE_URL=$SIM_B PP_ORLEN_PUBLIC_URL=$SIM_B PP_ORLEN_RPS=2 PP_DPD_RPS=2
demo_credentials
export PP_BOT_FRESH_S=60 PP_HEARTBEAT_INTERVAL_MS=300 PP_BOT_MAX_WAIT_MS=6000
# per-writer limits widened (they are bot_abuse.sh's): this test is about answers and fleet budgets
export PP_BOT_SENDER_MSGS_BURST=100000 PP_BOT_SENDER_LIVE_BURST=100000
export PP_DHL_PER_DAY=$DHL_DAY PP_UPS_PER_DAY=$UPS_DAY PP_BOT_DAY_SHARE_PCT=$SHARE_PCT
export PP_GLS_PER_DAY=0 PP_INPOST_PER_DAY=0 PP_DPD_PER_DAY=0 PP_ORLEN_PER_DAY=0 PP_POCZTAPOLSKA_PER_DAY=0

# Marketplace data: every shipment polled an hour ago (stale: not answered from Postgres without
# asking); one per carrier stays known, the others are renamed so the marketplace does not know them.
"$PPCTL" seed --transactions 160 --buyers 4 --first-id 100 >"$PP_TEST_TMP/seed.log" 2>&1 || fail "seed: $(tail -3 "$PP_TEST_TMP/seed.log")"
psql_q "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
        VALUES (1, 'pl', true, 'xmpp', 'u1-$tag@$D', true), (2, 'en', true, 'xmpp', 'u2-$tag@$D', true)" || fail "users"
psql_q "UPDATE shipments SET status = 'in_transit', last_location = 'Kraków', last_polled_at = now() - interval '1 hour',
        last_event_at = '2026-01-15T10:00:00Z'" || fail "stale"
psql_q "UPDATE shipments s SET tracking_number = 'X' || tracking_number
        WHERE id <> (SELECT min(id) FROM shipments WHERE carrier = s.carrier)" || fail "rename"
known() { psql_q "SELECT tracking_number FROM shipments WHERE carrier = '$1' AND tracking_number NOT LIKE 'X%'"; }
unknown() { psql_q "SELECT substr(tracking_number, 2) FROM shipments WHERE carrier = '$1' AND tracking_number LIKE 'X%' ORDER BY id LIMIT $2"; }
mapfile -t DHL < <(unknown dhl 11)
mapfile -t UPS < <(unknown ups 5)
mapfile -t DPD < <(unknown dpd 5)
mapfile -t ORL < <(unknown orlen 3)
mapfile -t INP < <(unknown inpost 4)
((${#DHL[@]} == 11 && ${#UPS[@]} == 5 && ${#DPD[@]} == 5 && ${#ORL[@]} == 3 && ${#INP[@]} == 4)) ||
	fail "seed gave too few numbers: dhl ${#DHL[@]} ups ${#UPS[@]} dpd ${#DPD[@]} orlen ${#ORL[@]} inpost ${#INP[@]}"
KDHL=$(known dhl) KINP=$(known inpost)
# The pollers already hold 97 of UPS's 100 requests today.
psql_q "INSERT INTO carrier_usage (carrier, day, requests, reserved)
        VALUES ('ups', (now() AT TIME ZONE 'UTC')::date, $UPS_TAKEN, $UPS_TAKEN)" || fail "ups usage"

chat() { bot_chat "$1" -T 120 "${@:2}"; } # USER LINE... [-b BARRIER]: JSON lines on stdout
replies() { python3 -c 'import json,sys; [print(json.loads(l)["reply"]) for l in sys.stdin]'; }
calls() { # LOG CARRIER: requests that reached the simulator
	python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["carrier"] == sys.argv[2]))' "$@"
}
usage() { psql_q "SELECT requests || '/' || reserved FROM carrier_usage WHERE carrier = '$1' AND day = (now() AT TIME ZONE 'UTC')::date"; }
metric() { curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v s="$1" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) + 0 }'; }
start_bot() { # NAME: bot_start, and its live workers row
	bot_start "$1"
	wait_until 10 test "$(psql_q "SELECT count(*) FROM workers WHERE kind = 'bot' AND pid = $BOT_PID AND stopped_at IS NULL")" = 1 ||
		fail "$1 has no live workers row of kind bot"
}
stop_bot() { # NAME: SIGTERM, exit 0, row marked stopped
	kill -TERM "$BOT_PID"
	local rc=0
	wait "$BOT_PID" || rc=$?
	[[ $rc == 0 ]] || fail "$1 exited $rc after SIGTERM"
	[[ $(psql_q "SELECT count(*) FROM workers WHERE kind = 'bot' AND pid = $BOT_PID AND stopped_at IS NOT NULL") == 1 ]] ||
		fail "$1's workers row not marked stopped: $(psql_q "SELECT id, heartbeat_at, stopped_at FROM workers WHERE kind = 'bot'")"
}

start_bot bot1
grep -q "carrier dhl: day share $SHARE of dhl_per_day $DHL_DAY" "$PP_TEST_TMP/bot1.log" || fail "no day-share line for dhl in the log"

# ---- (1) day share ----------------------------------------------------------------------------
rm -f "$PP_TEST_TMP/go" "$PP_TEST_TMP"/go.up.*
cpids=()
for u in 1 2 3; do
	i=$(((u - 1) * 3))
	chat u$u "paczka dhl ${DHL[i]}" "paczka dhl ${DHL[i + 1]}" "paczka dhl ${DHL[i + 2]}" -b "$PP_TEST_TMP/go" \
		>"$PP_TEST_TMP/q$u.json" 2>"$PP_TEST_TMP/q$u.err" &
	cpids+=($!)
done
barrier_wait "$PP_TEST_TMP/go" 3 # all three logged in, then released together
wait "${cpids[@]}"
cat "$PP_TEST_TMP"/q[123].json | replies >"$PP_TEST_TMP/q.txt"
(($(wc -l <"$PP_TEST_TMP/q.txt") == 9)) || fail "9 DHL asks, $(wc -l <"$PP_TEST_TMP/q.txt") replies: $(cat "$PP_TEST_TMP"/q*.err)"
live=$(grep -v -E 'limit|nie mogę|cannot' "$PP_TEST_TMP/q.txt" | grep -c -E '^(Paczka|Parcel) DHL [0-9A-Z]+: ')
quota_pl=$(grep -c -E '^Paczka DHL [0-9A-Z]+: wyczerpałem dzisiejszy limit zapytań do przewoźnika, spróbuj po [0-9.]+ [0-9:]+\.$' "$PP_TEST_TMP/q.txt")
quota_en=$(grep -c -E "^Parcel DHL [0-9A-Z]+: I have used up today's limit of questions to the carrier, try again after [0-9.]+ [0-9:]+\.\$" "$PP_TEST_TMP/q.txt")
n=$(calls "$PP_TEST_TMP/a.jsonl" dhl)
figure "day share: $n DHL calls reached the carrier (share $SHARE of $DHL_DAY); replies: $live live, $quota_pl + $quota_en quota (pl + en)"
[[ $n == "$SHARE" ]] || fail "$n DHL calls reached the simulator, the bot's share is $SHARE"
((live == SHARE && quota_pl + quota_en == 9 - SHARE)) || fail "replies: $live live, $quota_pl + $quota_en quota: $(cat "$PP_TEST_TMP/q.txt")"
got=$(chat u1 "paczka dhl $KDHL" "paczka dhl ${DHL[9]}" | replies) || fail "no reply after the share was used"
grep -q "^Paczka DHL $KDHL: w drodze (Kraków, 15.01.2026 11:00). Stan z [0-9.]* [0-9:]*: dzisiejszy limit zapytań do przewoźnika jest wyczerpany.$" <<<"$got" ||
	fail "known number after the share: [$got]"
grep -q "^Paczka DHL ${DHL[9]}: wyczerpałem dzisiejszy limit" <<<"$got" || fail "unknown number after the share: [$got]"
[[ $(calls "$PP_TEST_TMP/a.jsonl" dhl) == "$SHARE" ]] || fail "a call after the share was used"
[[ $(usage "bot:dhl") == "$SHARE/$SHARE" ]] || fail "carrier_usage bot:dhl = $(usage bot:dhl), want $SHARE/$SHARE"
[[ $(usage dhl) == "$SHARE/$SHARE" ]] || fail "carrier_usage dhl = $(usage dhl), want the bot's $SHARE/$SHARE in the fleet row"
[[ $(metric 'pp_bot_live_refused_total{carrier="dhl",reason="quota"}') == $((11 - SHARE)) ]] ||
	fail "refused by quota: $(metric 'pp_bot_live_refused_total{carrier="dhl",reason="quota"}')"

# The fleet row of UPS had room for 3 of the bot's 10.
got=$(chat u2 "paczka ups ${UPS[0]}" "paczka ups ${UPS[1]}" "paczka ups ${UPS[2]}" "paczka ups ${UPS[3]}" "paczka ups ${UPS[4]}" | replies) || fail "UPS asks"
n=$(calls "$PP_TEST_TMP/a.jsonl" ups)
figure "fleet full: $n UPS calls (the pollers held $UPS_TAKEN of $UPS_DAY); carrier_usage ups $(usage ups), bot:ups $(usage bot:ups)"
[[ $n == $((UPS_DAY - UPS_TAKEN)) ]] || fail "$n UPS calls, only $((UPS_DAY - UPS_TAKEN)) were left in the fleet's day quota: [$got]"
[[ $(grep -c "I have used up today's limit" <<<"$got") == 2 ]] || fail "UPS replies: [$got]"
[[ $(usage ups) == "$UPS_DAY/$UPS_DAY" && $(usage bot:ups) == "3/3" ]] || fail "carrier_usage ups $(usage ups), bot:ups $(usage bot:ups)"

# ---- (2) Retry-After ---------------------------------------------------------------------------
# Two writers keep asking DPD (429 + seconds) and one ORLEN (503 + HTTP date), all at once.
rm -f "$PP_TEST_TMP/go" "$PP_TEST_TMP"/go.up.*
cpids=()
chat u1 "paczka dpd ${DPD[0]}" "paczka dpd ${DPD[1]}" "paczka dpd ${DPD[2]}" -b "$PP_TEST_TMP/go" >"$PP_TEST_TMP/r1.json" 2>"$PP_TEST_TMP/r1.err" &
cpids+=($!)
chat u2 "paczka dpd ${DPD[3]}" "paczka dpd ${DPD[4]}" -b "$PP_TEST_TMP/go" >"$PP_TEST_TMP/r2.json" 2>"$PP_TEST_TMP/r2.err" &
cpids+=($!)
chat u3 "paczka orlen ${ORL[0]}" "paczka orlen ${ORL[1]}" "paczka orlen ${ORL[2]}" -b "$PP_TEST_TMP/go" >"$PP_TEST_TMP/r3.json" 2>"$PP_TEST_TMP/r3.err" &
cpids+=($!)
barrier_wait "$PP_TEST_TMP/go" 3 # all three logged in, then released together
for p in "${cpids[@]}"; do wait "$p" || fail "Retry-After asks: $(cat "$PP_TEST_TMP"/r[123].*)"; done
grep -h -v -E 'nie mogę teraz zapytać przewoźnika, spróbuj za chwilę|the carrier cannot be asked right now' "$PP_TEST_TMP"/r[123].json &&
	fail "a Retry-After ask got another reply (above)"
# "No call before the Retry-After moment", from the simulator's clock: the moment is taken from
# when it SENT the 429/503 (before the bot can have read it) and compared with when the next
# request ARRIVED (after the bot sent it), so transit only ever adds to the gap: no tolerance.
ra_check() { # LOG CARRIER
	python3 - "$@" <<'PY'
import email.utils, json, sys
rows = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r["recv_ms"])
rows = [r for r in rows if r["carrier"] == sys.argv[2]]
worst, paused = None, 0
for r in rows:
    ra = r.get("retry_after")
    if not ra:
        continue
    paused += 1
    until = r["sent_ms"] + int(ra) * 1000 if ra.isdigit() else \
        int(email.utils.parsedate_to_datetime(ra).timestamp() * 1000)
    nxt = [x["recv_ms"] for x in rows if x["recv_ms"] > r["sent_ms"]]
    if nxt:
        gap = min(nxt) - until
        worst = gap if worst is None else min(worst, gap)
print(len(rows), paused, "none" if worst is None else worst)
PY
}
read -r n_dpd p_dpd w_dpd < <(ra_check "$PP_TEST_TMP/a.jsonl" dpd) || fail "cannot read the DPD log"
read -r n_orl p_orl w_orl < <(ra_check "$PP_TEST_TMP/b.jsonl" orlen) || fail "cannot read the ORLEN log"
figure "Retry-After: DPD $n_dpd calls, $p_dpd answered 429 + Retry-After: $RA_S, next call at the earliest $w_dpd ms after the named moment"
figure "Retry-After: ORLEN $n_orl calls, $p_orl answered 503 + Retry-After: <date>, next call at the earliest $w_orl ms after the named moment"
((n_dpd >= 3 && n_orl >= 2)) || fail "too few calls to judge: DPD $n_dpd, ORLEN $n_orl"
[[ $w_dpd != none && $w_dpd -ge 0 ]] || fail "a DPD call $((-w_dpd)) ms before the Retry-After moment"
[[ $w_orl != none && $w_orl -ge 0 ]] || fail "an ORLEN call $((-w_orl)) ms before the Retry-After moment"
(($(metric 'pp_bot_carrier_paused_total{carrier="dpd"}') == n_dpd)) || fail "pauses counted: $(metric 'pp_bot_carrier_paused_total{carrier="dpd"}')"

# The row's counters before the stop.
counters=$(psql_q "SELECT counters FROM workers WHERE kind = 'bot' AND pid = $BOT_PID")
python3 -c 'import json,sys; c=json.loads(sys.argv[1]); assert c["refused_quota"] >= 8 and c["live_calls"] >= 12 and c["answered_stale"] >= 1 and c["latency_p99_ms"] > 0, c' "$counters" ||
	fail "bot1 counters: $counters"
stop_bot bot1
[[ $(usage "bot:dhl") == "$SHARE/$SHARE" && $(usage dhl) == "$SHARE/$SHARE" ]] || fail "after the stop: dhl $(usage dhl), bot:dhl $(usage bot:dhl)"

# ---- (3) restart: the share stays used; the breaker ---------------------------------------------
export PP_BREAKER_WINDOW=4 PP_BREAKER_MIN_REQUESTS=2 PP_BREAKER_FAILURE_PCT=50 PP_BREAKER_COOLDOWN_MS=600000
start_bot bot2
got=$(chat u1 "paczka dhl ${DHL[10]}" | replies) || fail "no reply from the restarted bot"
[[ $got == "Paczka DHL ${DHL[10]}: wyczerpałem dzisiejszy limit"* ]] || fail "restarted bot, DHL: [$got]"
[[ $(calls "$PP_TEST_TMP/a.jsonl" dhl) == "$SHARE" ]] || fail "the restarted bot called DHL"
got=$(chat u1 "paczka inpost ${INP[0]}" "paczka inpost ${INP[1]}" "paczka inpost ${INP[2]}" "paczka inpost ${INP[3]}" "paczka inpost $KINP" | replies) ||
	fail "InPost asks"
n=$(calls "$PP_TEST_TMP/a.jsonl" inpost)
figure "breaker: $n InPost calls reached the carrier answering 500 (breaker_min_requests 2), 5 asks"
[[ $n == 2 ]] || fail "$n InPost calls; the breaker should have opened after 2: [$got]"
[[ $(grep -c 'nie mogę teraz zapytać przewoźnika' <<<"$got") == 2 ]] || fail "failed calls: [$got]"
[[ $(grep -c ': przewoźnik nie odpowiada, spróbuj później.$' <<<"$got") == 2 ]] || fail "breaker replies: [$got]"
grep -q "^Paczka InPost $KINP: w drodze (Kraków, 15.01.2026 11:00). Stan z [0-9.]* [0-9:]*: przewoźnik nie odpowiada.$" <<<"$got" ||
	fail "known number while the breaker is open: [$got]"
[[ $(metric 'pp_bot_breaker_state{carrier="inpost"}') == 2 ]] || fail "breaker gauge $(metric 'pp_bot_breaker_state{carrier="inpost"}')"
[[ $(metric 'pp_bot_live_refused_total{carrier="inpost",reason="breaker"}') == 3 ]] || fail "refused by the breaker: $(metric 'pp_bot_live_refused_total{carrier="inpost",reason="breaker"}')"
grep -q 'carrier inpost: circuit breaker opened' "$PP_TEST_TMP/bot2.log" || fail "no 'breaker opened' log line"
stop_bot bot2
[[ $(psql_q "SELECT count(*) FROM workers WHERE kind = 'bot' AND stopped_at IS NOT NULL") == 2 ]] || fail "workers rows: $(psql_q "SELECT id, kind, stopped_at FROM workers")"
check_logs_clean
echo ok
cat "$PP_TEST_TMP/figures.txt"
