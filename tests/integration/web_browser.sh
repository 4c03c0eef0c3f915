#!/usr/bin/env bash
# web_browser.sh - the buyer's web pages (api/pages.c, api/web/) in real headless Chromium:
# Debian's /usr/bin/chromium driven by playwright-core (tests/browser/web_test.mjs; both put
# there by deploy/local/install), against real Postgres, Kafka and Prosody, the carrier
# simulator, pp-poller, pp-notifier and pp-api. Here: the page routes' statuses, content
# types and security headers (curl). In the browser: the settings page shows the stored
# toggle; a refused save reverts it; unchecking stores off and the parcel's next status change
# is decided skipped_opted_out and never reaches the buyer's XMPP inbox; checking again stores
# on and the next change is sent and arrives; the payment card open in another tab shows the
# new status without a reload; another buyer gets "not found" for that card; expired and
# missing tokens are explained; ?lang=en is English; IM linking (code read from the new
# address's inbox, a wrong code refused, the right one verifies). Tokens are never logged.
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

API=$PP_BUILD/api/pp-api
BROWSER_DIR=$PP_ROOT/tests/browser
for b in "$API" "$SIM" "$POLLER" "$NOTIFIER" "$INBOX" "$PPCTL"; do
	[[ -x $b ]] || fail "$b is not built (ninja -C $PP_BUILD)"
done
[[ -x /usr/bin/chromium ]] || fail "no /usr/bin/chromium (run deploy/local/install)"
[[ -f $BROWSER_DIR/node_modules/playwright-core/package.json ]] ||
	fail "no playwright-core in tests/browser/node_modules (run deploy/local/install)"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
((node_major >= 20)) || fail "playwright-core needs Node.js 20 or newer; found '$(node --version 2>/dev/null)'"

xmpp_stack w

# Own bot account (its archive holds only this run), buyer 1's address and the one buyer 1
# links in the browser; an own IM-link topic next to the fresh event topics.
export PP_XMPP_JID=webbot-$tag@$D PP_XMPP_PASSWORD=wb-$tag
export PP_IM_LINK_TOPIC=$PP_TOPIC.imlink
A1=web1-$tag@$D A2=web1b-$tag@$D
xmpp_register "webbot-$tag" "wb-$tag" "web1-$tag" "p1-$tag" "web1b-$tag" "p1b-$tag"
"$PPCTL" topics >/dev/null || fail "ppctl topics ($PP_IM_LINK_TOPIC)"

# Buyer 1 (Polish, opted in, verified address A1) with two transactions without a shipment
# yet; buyer 2 with one of their own. Seller 1 enters the numbers during the test.
psql_q "INSERT INTO sellers (id, name) VALUES (1, 'web test seller');
        INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
        VALUES (1, 'pl', true, 'xmpp', '$A1', true), (2, 'pl', true, NULL, NULL, false);
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (701, 1, 1), (702, 1, 1), (801, 2, 1)" >/dev/null ||
	fail "seed"

export PP_API_BUYER_SECRET=bs_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOK_A=$("$PPCTL" buyer-token --user 1 --ttl 3600) || fail "ppctl buyer-token"
TOK_B=$("$PPCTL" buyer-token --user 2 --ttl 3600)
TOK_X=$("$PPCTL" buyer-token --user 1 --ttl -5)

# The simulator's clock is manual: the browser test steps it (POST /sim/clock?step=next) when
# it wants a parcel's next change; the poller's schedule runs at 3600x (polls every second or so).
start_sim --clock manual --not-found-minutes 0
export PP_SPEED=3600 PP_HEARTBEAT_INTERVAL_MS=500 PP_WEB_CARD_REFRESH_S=1

PP_WORKER_ID=web-poller-$tag start_bg poller "$POLLER" >/dev/null
PP_WORKER_ID=web-notifier-$tag start_bg notifier "$NOTIFIER" >/dev/null
PP_API_ADDR=127.0.0.1:0 PP_WORKER_ID=web-api-$tag start_bg api "$API" >/dev/null
LOG=$PP_TEST_TMP/api.log
wait_until 120 grep -q 'api on http://' "$LOG" || fail "pp-api did not start: $(tail -5 "$LOG")"
BASE=$(sed -n 's|.*api on \(http://[^/]*\)/.*|\1|p' "$LOG" | head -1)
healthy() { # NAME: the daemon's /healthz (port from its log) answers 200
	local port
	port=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$PP_TEST_TMP/$1.log" | head -1 | sed 's/.*://')
	[[ -n $port ]] && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null
}
wait_until 120 healthy poller || fail "poller not healthy: $(tail -3 "$PP_TEST_TMP/poller.log")"
wait_until 120 healthy notifier || fail "notifier not healthy: $(tail -3 "$PP_TEST_TMP/notifier.log")"

# ---- the page routes over plain HTTP ----
# page PATH WANT_STATUS WANT_TYPE: GET it; the status, content type and security headers.
page() {
	local res hdr=$PP_TEST_TMP/h.txt
	res=$(curl -sS -o "$PP_TEST_TMP/b.txt" -D "$hdr" -w '%{http_code} %{content_type}' "$BASE$1") || fail "GET $1: curl failed"
	[[ $res == "$2 $3" ]] || fail "GET $1: got '$res', want '$2 $3'"
	grep -qi "^content-security-policy: default-src 'self'; .*frame-ancestors 'none'" "$hdr" || fail "GET $1: no strict CSP"
	grep -qi '^x-content-type-options: nosniff' "$hdr" || fail "GET $1: no nosniff"
	grep -qi '^referrer-policy: no-referrer' "$hdr" || fail "GET $1: no Referrer-Policy"
	grep -qi '^cache-control: ' "$hdr" || fail "GET $1: no Cache-Control"
}
HTML='text/html; charset=utf-8'
page / 200 "$HTML"
page /moje-konto/ustawienia/powiadomienia 200 "$HTML"
grep -q '<html lang="pl">' "$PP_TEST_TMP/b.txt" && grep -q 'Powiadomienia o statusie przesyłki' "$PP_TEST_TMP/b.txt" ||
	fail "the settings page is not Polish by default"
page '/moje-konto/ustawienia/powiadomienia?lang=en' 200 "$HTML"
grep -q '<html lang="en">' "$PP_TEST_TMP/b.txt" && grep -q 'Shipment status notifications' "$PP_TEST_TMP/b.txt" ||
	fail "?lang=en is not English"
page /transakcje/701 200 "$HTML"
grep -q 'data-refresh="1"' "$PP_TEST_TMP/b.txt" || fail "the card page does not carry web_card_refresh_s"
page /transakcje/abc 404 "$HTML"
page /transakcje/0 404 "$HTML"
page /static/app.js 200 'text/javascript; charset=utf-8'
page /static/style.css 200 'text/css; charset=utf-8'
grep -Ei '<script>|<script [^>]*>[^<]| on[a-z]+=|style=' "$PP_ROOT"/api/web/*.html | grep -v 'type="application/json"' &&
	fail "inline script, event handler or style attribute in api/web/*.html (CSP forbids them)"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/moje-konto/ustawienia/powiadomienia") == 405 ]] ||
	fail "POST on a page is not 405"

# ---- the browser ----
WEB_BASE=$BASE PPCTL=$PPCTL INBOX=$INBOX \
	WEB_TOKEN_A=$TOK_A WEB_TOKEN_B=$TOK_B WEB_TOKEN_EXPIRED=$TOK_X WEB_USER_A=1 \
	WEB_ACCOUNT_A="$A1 p1-$tag" WEB_ACCOUNT_A2="$A2 p1b-$tag" WEB_TXN_OFF=701 WEB_TXN_ON=702 \
	WEB_NUMBER_OFF=620000000000000000007011 WEB_NUMBER_ON=620000000000000000007021 WEB_SIM_URL=$SIM_URL \
	timeout -k 5 1000 node "$BROWSER_DIR/web_test.mjs" | tee "$PP_TEST_TMP/browser.out"
rc=${PIPESTATUS[0]}
((rc == 0)) || fail "browser test (exit $rc; screenshots in $PP_TEST_TMP)"
tail -1 "$PP_TEST_TMP/browser.out" | grep -qx ok || fail "browser test did not finish with ok"

# The fragment never reaches the server: no token in any log.
for k in "$TOK_A" "$TOK_B" "$TOK_X" "$PP_API_BUYER_SECRET"; do
	grep -qF "$k" "$PP_TEST_TMP"/*.log && fail "a buyer token or the secret appears in a log"
done
check_logs_clean
echo ok
