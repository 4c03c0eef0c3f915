#!/usr/bin/env bash
# ppctl_status.sh - `ppctl status --json` on a running fleet (two pollers, one notifier, the
# simulator with 429s and 5xx): every section there with sane values (each live worker's row
# and counters, each carrier's breaker, 429s, errors, budget, due backlog and lateness, the
# relay's holder and the outbox, the notifier's lag per partition, the DLQ, the rates); the
# text form names the same; `--watch 1` refreshes at least twice and exits 0 on SIGTERM.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

N=120
run=t$$
domain=${PP_XMPP_DOMAIN:?}
export PP_HEARTBEAT_INTERVAL_MS=300

"$PPCTL" seed --transactions "$N" --buyers 30 --carrier mix --optin 60 --run $((RANDOM % 90000 + 1)) \
	--accounts "$PP_TEST_TMP/accounts.raw" --xmpp-domain "$domain" >/dev/null 2>&1 || fail "seed"
psql_q "UPDATE users SET im_address = replace(im_address, '@', '-$run@')"
sed "s/^\([^ ]*\) /\1-$run /" "$PP_TEST_TMP/accounts.raw" >"$PP_TEST_TMP/accounts.txt"
"$PP_ROOT/deploy/local/stack" ${PP_STACK_STATE:+--state "$PP_STACK_STATE"} xmpp-register \
	<"$PP_TEST_TMP/accounts.txt" >/dev/null || fail "xmpp-register"

status_json() { "$PPCTL" status --json >"$PP_TEST_TMP/status.json" 2>"$PP_TEST_TMP/status.err"; }
# jqs FILTER: the filter's value on the last snapshot, compact.
jqs() { jq -ce "$1" "$PP_TEST_TMP/status.json"; }
check() { # FILTER WHAT: fail unless the filter is true on the last snapshot
	jq -e "$1" "$PP_TEST_TMP/status.json" >/dev/null || fail "ppctl status: $2: $(jq -c . "$PP_TEST_TMP/status.json" | head -c 3000)"
}

# 1. No worker yet, the DHL parcels 30 to 39 s overdue (by id), the 20 first ones leased (in
# flight, not waiting): the backlog and its lateness come from the due rows alone.
psql_q "UPDATE shipments SET next_poll_at = now() - (30 + id % 10) * interval '1 second' WHERE carrier = 'dhl'"
psql_q "UPDATE shipments SET lease_owner = 'x', lease_until = now() + interval '1 hour' WHERE id <= 20"
dhl=$(psql_q "SELECT count(*) FROM shipments WHERE carrier = 'dhl' AND id > 20")
p50=$(psql_q "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY 30 + id % 10) FROM shipments WHERE carrier = 'dhl' AND id > 20")
((dhl > 0)) || fail "the seed made no DHL parcel"
status_json || fail "ppctl status --json: $(cat "$PP_TEST_TMP/status.err")"
check '.workers == [] and .live.poller == 0' "workers before any started"
check "(.carriers | map(.carrier) | length) == 7" "seven carriers"
check ".carriers[] | select(.carrier == \"dhl\") | .due == $dhl and .late_p50_s >= $p50 - 1 and .late_p50_s < $p50 + 2 and .late_p99_s >= 38 and .late_max_s >= .late_p99_s and .late_max_s < 45" "DHL backlog and lateness (median near $p50 s)"
check ".due_backlog.waiting == $N - 20 and .due_backlog.capped == false" "due backlog"
check '.relay.holder == null and .outbox.unpublished == '"$N"' and .outbox.oldest_unpublished_age_s >= 0' "outbox before the relay"
check '.dlq.messages == 0 and ([.notifier_lag.partitions[] | .committed == null and .lag == 0] | all)' "DLQ and lag before the notifier"
psql_q "UPDATE shipments SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = 'x'"

# The totals of a large database are the planner's estimates: the table made to look like
# 1.2 M rows (the superuser's pg_class; ANALYZE first for the statuses' frequencies).
psql_q "ANALYZE shipments; ANALYZE notifications; UPDATE pg_class SET reltuples = 1200000 WHERE oid = 'shipments'::regclass"
# 7 parcels not due for an hour: due and unpublished differ, so a swap of the two shows.
psql_q "UPDATE shipments SET next_poll_at = now() + interval '1 hour' WHERE id <= 7"
status_json || fail "ppctl status --json (estimates): $(cat "$PP_TEST_TMP/status.err")"
check '.estimated and .shipments > 1100000 and .shipments < 1300000 and .by_status.info_received == .shipments and .due == '"$((N - 7))"' and .unpublished == '"$N" "estimated totals"
psql_q "UPDATE shipments SET next_poll_at = now() WHERE id <= 7"
"$PPCTL" status --exact --json >"$PP_TEST_TMP/status.json" || fail "ppctl status --exact"
check '(.estimated | not) and .shipments == '"$N" "--exact totals"
psql_q "ANALYZE shipments"

# 2. The fleet at work against a simulator that answers 429 and 500 now and then.
start_sim --speed 3000 --not-found-minutes 5 --token t0k --client-id cid --client-secret csec \
	--p429 0.15 --p500 0.1 --retry-after 1
for c in $(pp_carriers); do export "PP_${c}_BASE_URL=$SIM_URL" "PP_${c}_RPS=20" "PP_${c}_PER_DAY=100000"; done
export PP_ORLEN_PUBLIC_URL=$SIM_URL PP_INPOST_TOKEN=t0k PP_DHL_API_KEY=t0k
export PP_UPS_CLIENT_ID=cid PP_UPS_CLIENT_SECRET=csec PP_GLS_CLIENT_ID=cid PP_GLS_CLIENT_SECRET=csec
export PP_ORLEN_PARTNER_ID=cid PP_ORLEN_PARTNER_KEY=csec PP_DPD_LOGIN=cid PP_DPD_PASSWORD=csec
export PP_POCZTAPOLSKA_USERNAME=cid PP_POCZTAPOLSKA_PASSWORD=csec
export PP_SPEED=3000 PP_HTTP_TIMEOUT_MS=1500 PP_BREAKER_COOLDOWN_MS=300
for i in 1 2; do PP_WORKER_ID=p$i-$run start_bg "poller-$i" "$POLLER" >/dev/null; done
PP_WORKER_ID=n1-$run start_bg notifier "$NOTIFIER" >/dev/null

busy() { # every section moved: 429s and errors seen, events and IMs in the last minute
	status_json &&
		jq -e '.live.poller == 2 and .live.notifier == 1 and .relay.holder != null and
			([.carriers[].rate_limited_5m] | add) > 0 and ([.carriers[].errors_5m] | add) > 0 and
			([.carriers[].requests_today] | add) > 0 and ([.carriers[].requests_per_s] | add) > 0 and
			.rates.events_per_s > 0 and .rates.ims_per_s > 0' "$PP_TEST_TMP/status.json"
}
wait_until 300 busy || fail "ppctl status never showed the fleet busy: $(jq -c . "$PP_TEST_TMP/status.json" | head -c 3000)"
cp "$PP_TEST_TMP/status.json" "$PP_TEST_TMP/busy.json"
check '[.workers[] | select(.state == "live")] | map(.kind) | sort == ["notifier", "poller", "poller"]' "live workers"
check ".workers[] | select(.kind == \"poller\") | (.id | startswith(\"p\")) and .host != \"\" and .pid > 0 and (.started | test(\"^20[0-9-]+T[0-9:]+Z$\")) and .heartbeat_age_s < 15 and (.counters.claims | type) == \"number\" and (.counters.carriers | type) == \"object\"" "poller rows"
check '.workers[] | select(.kind == "notifier") | .id == "n1-'"$run"'" and (.counters.sent | type) == "number"' "notifier row"
check '.relay.holder as $h | [.workers[] | select(.kind == "poller") | .id] | index($h) != null' "relay holder is a poller"
check '.carriers[] | (.breaker | IN("closed", "half_open", "open")) and .limit_per_s == 20 and .limit_per_day == 100000 and .requests_today <= 100000' "carrier limits"
check '(.notifier_lag.partitions | map(select(.topic | endswith(".link.v1") | not)) | length) == 12 and ([.notifier_lag.partitions[] | .lag >= 0 and .high >= .lag] | all)' "lag per partition"
check '(.notifier_lag.events | type) == "number" and .dlq.messages == 0' "lag total and DLQ"

"$PPCTL" status >"$PP_TEST_TMP/status.txt" 2>&1 || fail "ppctl status: $(cat "$PP_TEST_TMP/status.txt")"
for want in '^workers live: 2 pollers, 1 notifiers, 0 bots$' "^  poller +p1-$run " "^  notifier +n1-$run .* live +.*sent=" \
	'^rates \(last 60 s\): [0-9.]+ events/s, [0-9.]+ IMs/s$' '^  dhl +(closed|half_open|open) ' \
	"^relay: p[12]-$run on " '^notifier lag \(group [^)]*\): events [0-9]+, IM link codes [0-9]+; by partition: 0:[0-9]+ 1:' \
	'^dead letters \([^)]*\): 0 messages$'; do
	grep -Eq "$want" "$PP_TEST_TMP/status.txt" || fail "ppctl status text has no line like /$want/: $(cat "$PP_TEST_TMP/status.txt")"
done

# 3. --watch refreshes in place until SIGTERM, then exits 0.
"$PPCTL" status --watch 1 >"$PP_TEST_TMP/watch.txt" 2>"$PP_TEST_TMP/watch.err" &
watch_pid=$!
refreshes() { (($(grep -c '^Every 1s: ppctl status' "$PP_TEST_TMP/watch.txt") >= 3)); }
wait_until 120 refreshes || fail "ppctl status --watch refreshed $(grep -c '^Every' "$PP_TEST_TMP/watch.txt") times: $(cat "$PP_TEST_TMP/watch.err")"
kill -TERM "$watch_pid"
rc=0
wait "$watch_pid" || rc=$?
((rc == 0)) || fail "ppctl status --watch exited $rc on SIGTERM"
[[ $(grep -c '^workers live: ' "$PP_TEST_TMP/watch.txt") -ge 3 ]] || fail "--watch printed no snapshot: $(head -5 "$PP_TEST_TMP/watch.txt")"

for p in "${pp_test_pids[@]:1}"; do kill -TERM "$p"; done
for p in "${pp_test_pids[@]:1}"; do wait "$p" || fail "a worker exited non-zero on SIGTERM"; done
status_json || fail "ppctl status after the stop"
check '([.workers[] | .state] | all(. == "stopped")) and .relay.holder == null' "stopped workers"
check_logs_clean
echo "ok (busy: $(jq -c '{rates, carriers: [.carriers[] | {(.carrier): [.requests_today, .rate_limited_5m, .errors_5m]}] | add}' "$PP_TEST_TMP/busy.json" | head -c 400))"
