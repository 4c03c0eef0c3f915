#!/usr/bin/env bash
# metrics_promtool.sh - a live scrape of each process kind (pp-poller, pp-notifier, pp-api,
# pp-bot) passes `promtool check metrics` (Debian's prometheus package: names, HELP, TYPE,
# counters' _total) and has no -1 sentinel, and the operator's metrics are there with values
# that follow from the data: the poll lateness of shipments due two minutes ago is over 60 s
# for each one (from the claim's own row), the due backlog counted by the relay holder is
# positive while a 1 request/s budget holds the shipments back, the relay's oldest-row age and
# the notifier's lag per partition are shown, and pp-api counts requests with the method as
# its own label.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
set -uo pipefail

command -v promtool >/dev/null || fail "promtool not installed (Debian's prometheus package; deploy/local/install)"
T=$PP_TEST_TMP
N=30

# the port of NAME's /metrics, from its start line
mport() { grep -o 'metrics on http://127.0.0.1:[0-9]*' "$T/$1.log" | head -1 | sed 's/.*://'; }
scrape() { curl -sf "http://127.0.0.1:$(mport "$1")/metrics" >"$T/$1.metrics"; }
# metric NAME SERIES: the value of one series in the last scrape of NAME ('' if absent)
metric() { awk -v s="$2" '$1 == s { print $2 }' "$T/$1.metrics"; }

psql_q "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 'mp');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (1, 1, 1);
        INSERT INTO shipments (transaction_id, carrier, tracking_number, next_poll_at)
        SELECT 1, 'inpost', '6' || lpad(g::text, 23, '0'), now() - interval '2 minutes'
        FROM generate_series(1, $N) g" >/dev/null || fail "cannot seed $N shipments"

start_sim --not-found-minutes 0
# One shipment a claim, one request a second: the backlog drains for about N seconds.
start_bg poller env PP_INPOST_RPS=1 PP_POLL_BATCH=1 PP_POLL_CONCURRENCY=1 PP_CLAIM_INTERVAL_MS=50 \
	PP_RELAY_LOCK_RETRY_MS=200 "$POLLER" >/dev/null
start_bg notifier "$NOTIFIER" >/dev/null
api_secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_bg api env PP_API_ADDR=127.0.0.1:0 PP_API_BUYER_SECRET="$api_secret" "$PP_BUILD/api/pp-api" >/dev/null
bot_accounts 0 # the bot's own account: no chat competes with the notifier's
start_bg bot "$BOT" >/dev/null
for p in poller notifier api bot; do
	wait_until 60 grep -q 'metrics on http' "$T/$p.log" || fail "pp-$p did not start: $(tail -3 "$T/$p.log")"
done

backlog_seen() { scrape poller && (($(metric poller 'pp_poller_due_backlog{carrier="inpost"}') > 0)); }
wait_until 120 backlog_seen || fail "no due backlog counted: $(grep -E 'due_backlog|relay_active' "$T/poller.metrics")"
backlog=$(metric poller 'pp_poller_due_backlog{carrier="inpost"}')
claimed() { scrape poller && (($(metric poller 'pp_poller_poll_lateness_seconds_count{carrier="inpost"}') >= 3)); }
wait_until 120 claimed || fail "no lateness observed: $(grep lateness_seconds_count "$T/poller.metrics")"
assigned() { scrape notifier && grep -q "^pp_notifier_partition_lag{topic=\"$PP_TOPIC\",partition=\"0\"}" "$T/notifier.metrics"; }
wait_until 120 assigned || fail "no lag per partition: $(grep lag "$T/notifier.metrics")"
base=http://$(grep -o 'api on http://[0-9.:]*' "$T/api.log" | sed 's|.*//||')
curl -s -o /dev/null "$base/v1/transactions/1" || fail "pp-api does not answer"
wait_until 60 curl -sf "http://127.0.0.1:$(mport bot)/healthz" || fail "pp-bot not healthy: $(tail -3 "$T/bot.log")"

summary=()
for p in poller notifier api bot; do
	scrape "$p" || fail "cannot scrape pp-$p"
	out=$(promtool check metrics <"$T/$p.metrics" 2>&1) || fail "promtool check metrics on pp-$p: $out"
	[[ -z $out ]] || fail "promtool check metrics on pp-$p: $out"
	grep -E '^[a-z_]+(\{[^}]*\})? -1$' "$T/$p.metrics" && fail "pp-$p shows a -1 sentinel"
	grep -q '^process_resident_memory_bytes [1-9]' "$T/$p.metrics" || fail "pp-$p: no process_resident_memory_bytes"
	grep -q '^pp_build_info{' "$T/$p.metrics" || fail "pp-$p: no pp_build_info"
	summary+=("pp-$p $(grep -vc '^#' "$T/$p.metrics") samples")
done

# Every claimed shipment was due two minutes before its claim: none in the buckets up to 60 s.
n=$(metric poller 'pp_poller_poll_lateness_seconds_count{carrier="inpost"}')
le60=$(metric poller 'pp_poller_poll_lateness_seconds_bucket{carrier="inpost",le="60"}')
[[ $le60 == 0 ]] || fail "$le60 of $n shipments due 2 minutes ago were polled less than 60 s late"
for s in pp_poller_relay_lag pp_poller_relay_oldest_age_seconds 'pp_poller_carrier_rate_limited_total{carrier="inpost"}' \
	'pp_poller_breaker_state{carrier="inpost"}' 'pp_poller_budget_limit{carrier="inpost",window="second"}'; do
	[[ -n $(metric poller "$s") ]] || fail "pp-poller: no $s"
done
[[ -n $(metric notifier pp_notifier_consumer_lag) ]] || fail "pp-notifier: no total consumer lag"
grep -q '^pp_api_requests_total{method="GET",route="/v1/transactions/{id}",status="[0-9]*"} 1$' "$T/api.metrics" ||
	fail "pp-api: no request counted with its method: $(grep pp_api_requests_total "$T/api.metrics")"
echo ok
echo "    promtool check metrics clean: ${summary[*]}; due backlog seen $backlog; $n polls all > 60 s late"
