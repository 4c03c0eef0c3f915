#!/usr/bin/env bash
# carrier_client.sh - the carrier client (common/carrier_client.c) driven directly by
# tests/tools/pp-cc-check against pp-carrier-sim and this test's Postgres: each gate once
# (Retry-After pause, circuit breaker, day quota, access token, per-second share), for the
# poller's day mode (FLEET) and the bot's (BOT). The driver starts its own simulators.
. "$(dirname "$0")/../lib.sh"
DRIVER=$PP_BUILD/tests/pp-cc-check
[[ -x $DRIVER && -x $SIM ]] || fail "not built: $DRIVER $SIM (ninja -C build)"
[[ -n ${PP_DB_URL:-} ]] || fail "PP_DB_URL is not set (tests/run sets a fresh migrated database)"

rc=0
"$DRIVER" "$SIM" "$PP_DB_URL" "$PP_TEST_TMP" >"$PP_TEST_TMP/figures.txt" 2>"$PP_TEST_TMP/cc-check.log" || rc=$?
grep '^FAIL' "$PP_TEST_TMP/figures.txt"
((rc == 0)) || fail "pp-cc-check exited $rc; figures so far: $(grep -vc '^FAIL' "$PP_TEST_TMP/figures.txt") lines"
(($(wc -l <"$PP_TEST_TMP/figures.txt") == 12)) || fail "want 12 lines of figures (5 gates x 2 modes, the pause for 429 and 503): $(cat "$PP_TEST_TMP/figures.txt")"
check_logs_clean
echo ok
sed 's/^/    /' "$PP_TEST_TMP/figures.txt"
