#!/usr/bin/env bash
# All seven carriers at once through the whole pipeline: two pollers against the simulator
# speaking every carrier's API shape, with injected 429s, 5xx, malformed bodies and hangs and
# a fleet-wide per-second budget per carrier. Every shipment must reach its terminal status,
# every opted-in buyer must find exactly the right messages in their XMPP inbox (checked by
# `ppctl check`), and no carrier may see more requests in any one-second window than its
# budget allows.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

RPS=15         # per carrier, for the whole fleet
POLLERS=2
N=140
domain=${PP_XMPP_DOMAIN:?}
run=t$$

"$PPCTL" seed --transactions "$N" --buyers 40 --carrier mix --optin 70 --run $((RANDOM % 90000 + 1)) \
	--accounts "$PP_TEST_TMP/accounts.raw" --xmpp-domain "$domain" >/dev/null 2>&1 || fail "seed"
# Accounts unique to this run, so the shared Prosody's other inboxes do not matter.
psql_q "UPDATE users SET im_address = replace(im_address, '@', '-$run@')"
sed "s/^\([^ ]*\) /\1-$run /" "$PP_TEST_TMP/accounts.raw" >"$PP_TEST_TMP/accounts.txt"
"$PP_ROOT/deploy/local/stack" ${PP_STACK_STATE:+--state "$PP_STACK_STATE"} xmpp-register \
	<"$PP_TEST_TMP/accounts.txt" >/dev/null || fail "xmpp-register"
carriers=$(psql_q "SELECT count(DISTINCT carrier) FROM shipments")
[[ $carriers == 7 ]] || fail "seed spread the parcels over $carriers carriers, not 7"

start_sim --speed 6000 --not-found-minutes 5 --token t0k --client-id cid --client-secret csec \
	--p429 0.03 --p500 0.04 --pmalformed 0.02 --phang 0.01 --retry-after 1 --token-ttl 20 \
	--log-requests "$PP_TEST_TMP/requests.jsonl"
for c in $(pp_carriers); do
	export "PP_${c}_BASE_URL=$SIM_URL" "PP_${c}_RPS=$RPS" "PP_${c}_PER_DAY=0"
done
export PP_ORLEN_PUBLIC_URL=$SIM_URL PP_INPOST_TOKEN=t0k PP_DHL_API_KEY=t0k
export PP_UPS_CLIENT_ID=cid PP_UPS_CLIENT_SECRET=csec PP_GLS_CLIENT_ID=cid PP_GLS_CLIENT_SECRET=csec
export PP_ORLEN_PARTNER_ID=cid PP_ORLEN_PARTNER_KEY=csec PP_DPD_LOGIN=cid PP_DPD_PASSWORD=csec
export PP_POCZTAPOLSKA_USERNAME=cid PP_POCZTAPOLSKA_PASSWORD=csec
export PP_SPEED=6000 PP_HTTP_TIMEOUT_MS=1500 PP_BREAKER_COOLDOWN_MS=300 PP_HEARTBEAT_INTERVAL_MS=500
for i in $(seq $POLLERS); do PP_WORKER_ID=p$i-$run start_bg "poller-$i" "$POLLER" >/dev/null; done
PP_WORKER_ID=n1-$run start_bg notifier "$NOTIFIER" >/dev/null

all_done() {
	[[ $(psql_q "SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL") == 0 &&
		$(psql_q "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 &&
		$(psql_q "SELECT count(*) FROM notifications") == $(psql_q "SELECT count(*) FROM shipment_events") ]]
}
wait_until 420 all_done || fail "not finished: $(psql_q "SELECT carrier || ':' || status || '=' || count(*) FROM shipments GROUP BY carrier, status ORDER BY 1" | tr '\n' ' ')"
bad=$(psql_q "SELECT count(*) FROM shipments WHERE status NOT IN ('delivered', 'returned')")
[[ $bad == 0 ]] || fail "$bad shipments ended in a non-delivery terminal state"

for p in "${pp_test_pids[@]:1}"; do kill -TERM "$p"; done
for p in "${pp_test_pids[@]:1}"; do wait "$p" || fail "a worker exited non-zero on SIGTERM"; done

"$INBOX" -p "$PP_XMPP_PORT" < <(sed "s/ /@$domain /" "$PP_TEST_TMP/accounts.txt") >"$PP_TEST_TMP/inbox.jsonl" 2>"$PP_TEST_TMP/inbox.log" ||
	fail "pp-inbox: $(tail -3 "$PP_TEST_TMP/inbox.log")"
"$PPCTL" check --inbox "$PP_TEST_TMP/inbox.jsonl" >"$PP_TEST_TMP/check.txt" 2>&1 || { cat "$PP_TEST_TMP/check.txt"; fail "inbox check"; }

# Budget: per carrier, the most tracking requests that arrived in any one-second window.
# The fleet limit is RPS; each poller holds a one-request bucket of RPS/POLLERS per second,
# so a window may see up to POLLERS-1 more (see common/budget.h).
budget=$(/usr/bin/python3 - "$PP_TEST_TMP/requests.jsonl" "$RPS" "$POLLERS" <<'PY') || fail "a carrier's budget was exceeded: $budget"
import collections, json, sys
rps, pollers = int(sys.argv[2]), int(sys.argv[3])
reqs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r = json.loads(line)
    # one request per (carrier, recv_ms, batch) even when it carried many numbers
    reqs[r["carrier"].split("_")[0]][(r["recv_ms"], r["batch"], r.get("number") if r["batch"] <= 1 else "")] = r["recv_ms"]
worst = {}
for c, d in reqs.items():
    t = sorted(d.values())
    j = 0
    best = 0
    for i in range(len(t)):
        while t[i] - t[j] >= 1000:
            j += 1
        best = max(best, i - j + 1)
    worst[c] = best
print("max requests in any 1 s window per carrier:", dict(sorted(worst.items())), "limit", rps, "+", pollers - 1)
assert len(worst) == 7, f"only {sorted(worst)} were polled"
sys.exit(0 if all(v <= rps + pollers - 1 for v in worst.values()) else 1)
PY
faults=$(curl -fsS "$SIM_URL/sim/stats")
check_logs_clean
echo "ok ($(grep -E 'messages expected|messages received' "$PP_TEST_TMP/check.txt" | tr -s ' ' | tr '\n' ' '))"
echo "  $budget"
echo "  simulator: $faults"
