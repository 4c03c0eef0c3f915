#!/usr/bin/env bash
# bot_lib.sh - the set-up the pp-bot tests share, sourced after tests/lib.sh (not a test itself):
#   bot_accounts N                 the shared stack's Prosody (xmpp_stack): the bot's own account
#                                  (exported as PP_XMPP_JID/PASSWORD: nobody else's notifier
#                                  competes for its chats) and writers u1..uN (password pK)
#   bot_sim LATENCY                the carrier simulator (every carrier, the demo's credentials,
#                                  --latency-ms LATENCY, no "not found" phase, requests logged to
#                                  $PP_TEST_TMP/requests.jsonl), every carrier pointed at it, 50 rps
#   bot_start [NAME]               start pp-bot (log $PP_TEST_TMP/NAME.log, NAME "bot" if none) and
#                                  wait until healthy; sets BOT_PID and MPORT (its metrics port)
#   bot_chat USER [PP-CHAT ARGS...] pp-chat as writer USER (u1...) to the bot
# Sets BOT and CHAT (the binaries).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	echo "bot_lib.sh is a helper library sourced by the bot tests, not a test" >&2
	exit 2
fi

BOT=$PP_BUILD/bot/pp-bot CHAT=$PP_BUILD/tests/pp-chat
[[ -x $BOT && -x $CHAT ]] || fail "build pp-bot and pp-chat first"

bot_accounts() {
	local n=$1 i accounts=()
	xmpp_stack
	export PP_XMPP_JID=ppbot-$tag@$D PP_XMPP_PASSWORD=bp-$tag
	accounts=("ppbot-$tag" "bp-$tag")
	for ((i = 1; i <= n; i++)); do accounts+=("u$i-$tag" "p$i"); done
	xmpp_register "${accounts[@]}"
}

bot_sim() {
	local c
	start_sim --token demo-token --client-id demo --client-secret demo-secret --latency-ms "$1" \
		--not-found-minutes 0 --log-requests "$PP_TEST_TMP/requests.jsonl"
	for c in $(pp_carriers); do export "PP_${c}_BASE_URL=$SIM_URL" "PP_${c}_RPS=50"; done
	export PP_ORLEN_PUBLIC_URL=$SIM_URL
	demo_credentials
}

bot_start() {
	local name=${1:-bot}
	start_bg "$name" "$BOT" >/dev/null
	BOT_PID=${pp_test_pids[-1]}
	wait_until 15 grep -q 'metrics on http' "$PP_TEST_TMP/$name.log" || fail "$name did not start: $(tail -3 "$PP_TEST_TMP/$name.log")"
	MPORT=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$PP_TEST_TMP/$name.log" | sed 's/.*://')
	wait_until 15 curl -sf "http://127.0.0.1:$MPORT/healthz" || fail "$name not healthy: $(tail -3 "$PP_TEST_TMP/$name.log")"
}

bot_chat() {
	local u=$1
	shift
	"$CHAT" -H "$PP_XMPP_HOST" -p "$PP_XMPP_PORT" -j "$u-$tag@$D" -w "p${u#u}" -t "$PP_XMPP_JID" "$@"
}
