#!/usr/bin/env bash
# poller_http2.sh - carriers over HTTPS: a real pp-poller against pp-carrier-sim serving TLS
# with ALPN h2 (a throw-away CA from tools/carrier-sim/make-tls, trusted through
# carrier_ca_file). Without the CA the poller refuses the certificate; with it every status
# arrives, every request is HTTP/2 and they share a few connections (400 requests in flight,
# at most 100 streams a connection: ~4 connections, not 400). A server offering only
# http/1.1 in ALPN is still polled, over HTTP/1.1.
. "$(dirname "$0")/poller_lib.sh"

N=400
TLS=$TMP/tls
"$ROOT/tools/carrier-sim/make-tls" "$TLS" || fail "cannot make the test CA"
stats() { curl -sf --http1.1 --cacert "$TLS/ca.pem" "$1/sim/stats"; }
stat() { stats "$1" | jq -r ".$2"; }
https_sim() { # https_sim NAME ARGS...: start_sim over TLS; sets SIM_URL (https)
    local name=$1; shift
    start_sim "$name" --not-found-minutes 0 --age-minutes 600 --tls-cert "$TLS/cert.pem" --tls-key "$TLS/key.pem" "$@"
    SIM_URL=https://${SIM_URL#http://}
    wait_for 10 "$name to answer over HTTPS" stats "$SIM_URL"
}
setup_db
setup_topic 1
seed_shipments "$N"
https_sim sim --latency-ms 500
H2_URL=$SIM_URL

# 1. The system's CAs do not know the simulator's: the certificate is refused.
start_poller untrusting poll_concurrency=4 inpost_rps=0 interval_error_s=1 breaker_window=256 breaker_min_requests=256
refused() { [ "$(sql "SELECT count(*) FROM shipments WHERE last_error ILIKE '%certificate%'")" -gt 0 ]; }
wait_for 60 "a certificate error" refused
stop_poller "$LAST_PID"
[ "$(sql "SELECT count(*) FROM shipments WHERE sequence > 0")" = 0 ] || fail "a status arrived without the CA"
echo "  without carrier_ca_file: $(sql "SELECT last_error FROM shipments WHERE last_error IS NOT NULL LIMIT 1")" >&2

# 2. Trusting the CA (HTTP/2 is on by default: carrier_http2): every status arrives, over
#    HTTP/2, on a few connections.
CONNS=8
before=$(stat "$H2_URL" connections_accepted)
start_poller trusting carrier_ca_file="$TLS/ca.pem" carrier_max_connections=$CONNS poll_concurrency=$N poll_batch=$N inpost_rps=0
P=$LAST_PID
# while waiting: the most requests the simulator held at once (each held 500 ms); each look
# is a connection of its own, counted to be left out
echo 0 >"$TMP/most"
: >"$TMP/looks"
all_arrived() {
    local d
    echo >>"$TMP/looks"
    d=$(stat "$H2_URL" deferred_now) && [ "$d" -gt "$(cat "$TMP/most")" ] && echo "$d" >"$TMP/most"
    [ "$(sql "SELECT count(*) FROM shipments WHERE sequence > 0 AND last_error IS NULL")" = "$N" ]
}
wait_for 120 "all $N statuses" all_arrived
kill -0 "$P" 2>/dev/null || fail "the poller died"
stop_poller "$P"
stats "$H2_URL" >"$TMP/h2.stats"
h2=$(jq -r .http2_requests "$TMP/h2.stats")
conns=$(($(jq -r .connections_accepted "$TMP/h2.stats") - before - $(wc -l <"$TMP/looks") - 1)) # less the looks
[ "$h2" -ge "$N" ] || fail "only $h2 of the $N requests were HTTP/2: $(cat "$TMP/h2.stats")"
[ "$conns" -ge 1 ] && [ "$conns" -le "$CONNS" ] ||
    fail "$N requests in flight took $conns connections (HTTP/2 multiplexing: at most $CONNS): $(cat "$TMP/h2.stats")"
most=$(cat "$TMP/most")
[ "$most" -gt "$CONNS" ] || fail "at most $most requests in flight at once over $conns connections: not multiplexed"
echo "  HTTP/2: $h2 requests over $conns connections, up to $most in flight at once" >&2

# 3. A server without HTTP/2 (ALPN http/1.1 only): polled over HTTP/1.1.
M=40
seed_shipments "$M" 7
https_sim sim1 --latency-ms 100 --tls-alpn http/1.1
start_poller h1 carrier_ca_file="$TLS/ca.pem" poll_concurrency=$M inpost_rps=0
all_h1() { [ "$(sql "SELECT count(*) FROM shipments WHERE sequence > 0 AND last_error IS NULL")" = $((N + M)) ]; }
wait_for 120 "the $M statuses over HTTP/1.1" all_h1
stop_poller "$LAST_PID"
stats "$SIM_URL" >"$TMP/h1.stats"
[ "$(jq -r .http2_requests "$TMP/h1.stats")" = 0 ] || fail "HTTP/2 from a server that offers only http/1.1: $(cat "$TMP/h1.stats")"
[ "$(jq -r .requests "$TMP/h1.stats")" -ge "$M" ] || fail "the HTTP/1.1 server saw too few requests: $(cat "$TMP/h1.stats")"
check_events
check_logs
echo ok
