#!/usr/bin/env bash
# bot_fleet_rate.sh - the per-second budget holds for the whole fleet, bot included: one poller
# polling 60 InPost parcels and one pp-bot answering 36 asks about InPost numbers the
# marketplace does not know (live calls), both at inpost_rps = 4. Each counts the other in
# the workers table and takes half; the simulator never sees more than 4 InPost requests a
# second, checked over 5-second windows (20, +4 for 1 s of arrival jitter, +1 per process, as
# in poller_budget.sh). Before the bot counted as a sharer, the two together sent up to 8 a
# second (40 in 5 s).
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
RPS=4

# per-writer limits widened (they are bot_abuse.sh's): this test is about answers and fleet budgets
export PP_BOT_SENDER_MSGS_BURST=100000 PP_BOT_SENDER_LIVE_BURST=100000
bot_accounts 3
start_sim --speed 20000 --latency-ms 20 --not-found-minutes 0 --log-requests "$PP_TEST_TMP/requests.jsonl"
export PP_INPOST_RPS=$RPS PP_INPOST_PER_DAY=0 PP_SPEED=20000
export PP_HEARTBEAT_INTERVAL_MS=500 PP_BUDGET_SYNC_MS=200 PP_POLL_CONCURRENCY=32
export PP_BOT_MAX_WAIT_MS=30000 PP_BOT_FRESH_S=600

psql_q "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (1, 1, 1)" || fail "seed"
start_bg bot "$BOT" >/dev/null
start_bg poller "$POLLER" >/dev/null
wait_until 20 grep -q 'metrics on http' "$PP_TEST_TMP/poller.log" || fail "poller did not start: $(tail -3 "$PP_TEST_TMP/poller.log")"
PPORT=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$PP_TEST_TMP/poller.log" | head -1 | sed 's/.*://')
sharers() { curl -sf "http://127.0.0.1:$PPORT/metrics" | awk '$1 == "pp_poller_rate_sharers" { print $2 }'; }
two_sharers() { [[ $(sharers) == 2 ]]; } # evaluated at each try, not once
wait_until 60 two_sharers || fail "the poller does not count the bot: pp_poller_rate_sharers = $(sharers)"
wait_until 60 grep -q '2 live pollers and bots share' "$PP_TEST_TMP/bot.log" || fail "the bot does not count the poller: $(tail -3 "$PP_TEST_TMP/bot.log")"

# Work for both at once: 60 parcels due now for the poller, 36 unknown numbers for the bot.
psql_q "INSERT INTO shipments (transaction_id, carrier, tracking_number, next_poll_at)
        SELECT 1, 'inpost', '6' || lpad(g::text, 23, '0'), now() FROM generate_series(1, 60) g" >/dev/null || fail "shipments"
cpids=()
for w in 1 2 3; do
	lines=()
	for i in $(seq 12); do lines+=("paczka inpost 7$(printf '%023d' $((w * 100 + i)))"); done
	bot_chat "u$w" -T 40 "${lines[@]}" \
		>"$PP_TEST_TMP/w$w.jsonl" 2>"$PP_TEST_TMP/w$w.err" &
	cpids+=($!)
done
for p in "${cpids[@]}"; do wait "$p" || fail "a writer did not get every reply: $(tail -2 "$PP_TEST_TMP"/w*.err)"; done

# Windows of W = 5 s with 1 s of arrival jitter allowed (+RPS), as in poller_budget.sh: a 1-s
# window of arrival times measured how a loaded machine bunches requests, not the limiter.
W=5
read -r worst bot_calls poller_calls overlap < <(python3 - "$PP_TEST_TMP/requests.jsonl" "$W" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
reqs = sorted((r["recv_ms"], r["number"].startswith("7")) for r in reqs if r.get("carrier") == "inpost")
t = [r[0] for r in reqs]
worst, j = 0, 0
for i in range(len(t)):
    while t[i] - t[j] >= int(sys.argv[2]) * 1000:
        j += 1
    worst = max(worst, i - j + 1)
bot = [r[0] for r in reqs if r[1]]
pol = [r[0] for r in reqs if not r[1]]
# poller requests sent while the bot was calling too
overlap = sum(1 for x in pol if bot and bot[0] <= x <= bot[-1])
print(worst, len(bot), len(pol), overlap)
PY
)
echo "# worst ${W}-s window $worst (limit $((W * RPS)) + $((RPS + 2))), bot calls $bot_calls, poller calls $poller_calls ($overlap while the bot was calling)" >&2
((bot_calls >= 20)) || fail "only $bot_calls live calls from the bot: not a test of sharing"
((overlap >= 10)) || fail "only $overlap poller calls while the bot was calling: not a test of sharing"
((worst <= W * RPS + RPS + 2)) || fail "the fleet sent $worst InPost requests in $W seconds (limit $((W * RPS)), +$((RPS + 2)) jitter)"
echo "ok"
echo "    worst ${W}-second window: $worst InPost requests (inpost_rps $RPS, poller + bot); bot $bot_calls calls, poller $poller_calls ($overlap while the bot called)"
