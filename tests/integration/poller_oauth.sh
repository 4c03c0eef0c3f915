#!/usr/bin/env bash
# poller_oauth.sh - GLS (OAuth2 client credentials, up to 10 numbers per request) against the
# simulator: requests are batched; when the carrier stops accepting our token (simulator
# restarted: every token it issued is void) each request is re-sent once after a single token
# refresh and no shipment fails for it; with 3-second tokens the poller refreshes before they
# expire, so no 401 follows once a fresh token is in use; every shipment finishes.
. "$(dirname "$0")/poller_lib.sh"

N=30
TTL=3
setup_db
setup_topic 2
sql "INSERT INTO shipments (transaction_id, carrier, tracking_number, next_poll_at)
     SELECT 1, 'gls', '9' || lpad(g::text, 11, '0'), now() FROM generate_series(1, $N) g" >/dev/null

metric() { curl -sf "$1/metrics" | awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) + 0 }'; }
metric_ge() { awk -v a="$(metric "$1" "$2")" -v b="$3" 'BEGIN { exit !(a >= b) }'; }
has_status() { grep -q "\"status\":$2" "$1"; }
OK='pp_poller_token_refreshes_total{carrier="gls",result="ok"}'

creds=(--client-id pp-test --client-secret s3cret)
start_sim one --speed 2000 "${creds[@]}" --latency-ms 2-10
PORT=${SIM_URL##*:}
start_poller p speed=20000 poll_concurrency=64 lease_s=30 gls_rps=0 gls_per_day=0 \
    gls_base_url="$SIM_URL" gls_client_id=pp-test gls_client_secret=s3cret \
    breaker_cooldown_ms=200 breaker_cooldown_max_ms=400
P=$LAST_PID; M=$METRICS_URL
wait_for 30 "a first token" metric_ge "$M" "$OK" 1
wait_for 30 "GLS answers with our token" has_status "$TMP/one.requests" 200

# The carrier forgets our token: a new simulator on the same address, short-lived tokens.
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
start_sim two --speed 5000 "${creds[@]}" --token-ttl "$TTL" --latency-ms 2-10 --listen "127.0.0.1:$PORT"
wait_for 120 "all $N shipments to reach a terminal status" all_terminal
wait_for 60 "the outbox to drain" outbox_drained
curl -sf "$M/metrics" >"$TMP/metrics.txt" || fail "cannot read $M/metrics"
stop_poller "$P"

read -r reqs lines maxb n401 late401 first401 < <(python3 - "$TMP/one.requests" "$TMP/two.requests" <<'PY'
import json, sys
rows = [json.loads(l) for f in sys.argv[1:] for l in open(f) if '"carrier":"gls"' in l]
two = [json.loads(l) for l in open(sys.argv[2])]
reqs = sum(1.0 / r["batch"] for r in rows)
u = sorted(r["recv_ms"] for r in two if r["status"] == 401)
ok = sorted(r["recv_ms"] for r in two if r["status"] == 200)
# 401s after the first success with a fresh token: there should be none (refresh at 90 %).
late = sum(1 for t in u if ok and t > ok[0])
print(round(reqs), len(rows), max(r["batch"] for r in rows), len(u), late, u[0] if u else 0)
PY
) || fail "cannot analyse the request logs"
refreshes=$(awk -v s="$OK" '$1 == s { print int($2) }' "$TMP/metrics.txt")
unauth=$(awk '$1 == "pp_poller_polls_total{carrier=\"gls\",result=\"unauthorized\"}" { print int($2) }' "$TMP/metrics.txt")
echo "  $reqs GLS requests for $lines numbers (largest batch $maxb), $n401 numbers answered 401" \
     "after the restart, $refreshes tokens fetched" >&2
[ "$maxb" = 10 ] || fail "largest GLS batch was $maxb numbers, expected 10"
[ "$reqs" -lt "$lines" ] || fail "no batching: $reqs requests for $lines numbers"
[ "$n401" -ge 1 ] || fail "no request met the restarted carrier with the old token (401 path not exercised)"
[ "${unauth:-0}" = 0 ] || fail "$unauth shipments failed with 401 instead of being re-sent with a new token"
[ "$late401" = 0 ] || fail "$late401 requests got 401 after a fresh token was in use: not refreshed before expiry"
# Tokens live 3 s and the second simulator ran for several seconds: refreshed more than once,
# each time before the old token expired (at 90 % = 2.7 s: the poller polls every ~0.1 s,
# so it notices within ~0.2 s) and never more often than needed (one refresh at a time, cached).
[ "${refreshes:-0}" -ge 3 ] || fail "only $refreshes tokens fetched; 3-second tokens were not refreshed"
read -r early tooshort gaps < <(python3 - "$TMP/p.log" "$TTL" <<'PY'
import datetime, sys
ttl = int(sys.argv[2]) * 1000
t = [datetime.datetime.fromisoformat(l[:23]) for l in open(sys.argv[1]) if "new access token (valid %d s)" % (ttl // 1000) in l]
g = [int((b - a).total_seconds() * 1000) for a, b in zip(t, t[1:])]
print(sum(1 for x in g if x < ttl - 100), sum(1 for x in g if x < ttl * 0.8), " ".join(map(str, g)) or "-")
PY
) || fail "cannot analyse $TMP/p.log"
echo "  ms between token refreshes: $gaps" >&2
[ "$early" -ge 1 ] || fail "no token was refreshed before it expired (gaps: $gaps ms; lifetime $((TTL * 1000)) ms)"
[ "$tooshort" = 0 ] || fail "tokens refreshed before 80 % of their lifetime (gaps: $gaps ms)"
bad=$(sql "SELECT count(*) FROM shipments WHERE status NOT IN ('delivered', 'returned', 'expired')")
[ "$bad" = 0 ] || fail "$bad shipments not terminal"
check_events
check_topic_exactly_once
check_logs
echo ok
