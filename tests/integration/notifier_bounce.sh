#!/usr/bin/env bash
# notifier_bounce.sh - messages the server refuses (<message type='error'>: an account that
# does not exist, a domain it cannot reach) mark their rows 'failed' with the reason and do
# not hold up the rest of the batch. Then the same across a crash: with
# notifier_crash_after_send=1 the notifier dies after the server acknowledged a batch with
# bounces in it; the successor finds the routed messages and the routed bounces in the
# bot's archive: 'sent' and 'failed', nothing sent twice. Known limit: Prosody answers a
# message to a missing local account straight to the sender's session, so that bounce is
# not archived and such a row in flight at a crash ends 'sent' (nobody can receive it).
NT_TEST=notifier_bounce
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
export PP_SEND_BATCH=100 PP_RDKAFKA_SESSION_TIMEOUT_MS=6000
PARTITIONS=1 # one batch holds all the events of a round
GOOD=4 PER=10

nt_setup
for ((b = 1; b <= GOOD; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done
# 5: a verified address on our domain with no account; 6: a domain nobody serves (no s2s).
ghost=$(echo "ghost-$NT_NAME@$NT_DOMAIN" | tr 'A-Z' 'a-z')
sql "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
     VALUES (5, 'pl', true, 'xmpp', '$ghost', true), (6, 'en', true, 'xmpp', 'nobody@elsewhere.invalid', true);
     INSERT INTO transactions (id, buyer_id, seller_id) VALUES (50, 5, 1), (60, 6, 1)" || fail "seed ghosts"

round() { # round FIRST_SEQ: PER events for each buyer 1..6, interleaved
	local s b
	for ((s = $1; s < $1 + PER; s++)); do
		for ((b = 1; b <= GOOD + 2; b++)); do nt_event $((b * 10)) $((500 + b)) "$s" in_transit; done
	done
}
check_round() { # check_round N_EVENTS_SO_FAR GHOST_USERS_THAT_MUST_BE_FAILED
	local total=$1 per_buyer=$(($1 / (GOOD + 2))) ghosts=$2
	wait_sql "SELECT count(*) FROM notifications WHERE state IN ('sent', 'failed')" "$total" 60
	[[ $(sql "SELECT count(*) FROM notifications WHERE user_id <= $GOOD AND state = 'sent'") == $((GOOD * per_buyer)) ]] ||
		fail "not every message to a real account is 'sent': $(sql "SELECT user_id, state, count(*) FROM notifications GROUP BY 1, 2")"
	local want=$((per_buyer * $(tr ',' '\n' <<<"$ghosts" | wc -l)))
	[[ $(sql "SELECT count(*) FROM notifications WHERE user_id IN ($ghosts) AND state = 'failed' AND last_error <> ''") == "$want" ]] ||
		fail "bounced messages not 'failed' with a reason: $(sql "SELECT user_id, state, last_error, count(*) FROM notifications WHERE user_id > $GOOD GROUP BY 1, 2, 3")"
}

# 1. live: bounces come back before the barrier and fail only their own rows
round 1 >"$NT_TMP/r1"
produce <"$NT_TMP/r1"
nt_start live
check_round $(((GOOD + 2) * PER)) 5,6
wait_metric "$NT_LAST_PORT" pp_notifier_messages_failed_total $((2 * PER)) 10
wait_metric "$NT_LAST_PORT" pp_notifier_messages_sent_total $((GOOD * PER)) 10
log "live: $(sql "SELECT string_agg(DISTINCT user_id || ': ' || last_error, '; ') FROM notifications WHERE state = 'failed'")"
nt_stop "$NT_LAST_PID"

# 2. across a crash right after the server acknowledged a batch with bounces in it
round $((PER + 1)) >"$NT_TMP/r2"
produce <"$NT_TMP/r2"
PP_NOTIFIER_CRASH_AFTER_SEND=1 PP_WORKER_ID=nt-crash-$$ "$NT_BIN/pp-notifier" >"$NT_TMP/crash.log" 2>&1 &
pid=$!
NT_PIDS+=("$pid")
deadline=$((SECONDS + 600))
while ((SECONDS < deadline)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
wait "$pid"
rc=$?
((rc == 137)) || fail "the notifier exited with $rc, not 137: $(tail -3 "$NT_TMP/crash.log")"
inflight=$(sql "SELECT count(*) FROM notifications WHERE state = 'sending'")
((inflight > 0)) || fail "nothing in flight at the crash"
nt_start successor
check_round $((2 * (GOOD + 2) * PER)) 6
log "successor: user 5 (no account) rows in flight at the crash ended $(sql "SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM notifications WHERE user_id = 5 AND sequence > $PER GROUP BY 1) x") (the known limit above)"
recovery=$(grep -h 'in flight from an earlier attempt' "$NT_TMP/successor.log")
log "successor: ${recovery#*notifier: }"
[[ $recovery == *" 0 to send again"* && $recovery != *" 0 bounced"* ]] ||
	fail "the successor did not settle every in-flight message from the archive: ${recovery:-no recovery line}"
nt_stop "$NT_LAST_PID"

inbox >"$NT_TMP/inbox"
got=$(grep -c '"id":' "$NT_TMP/inbox")
((got == 2 * GOOD * PER)) || fail "the real accounts got $got messages, want $((2 * GOOD * PER)) (none twice)"
dups=$(grep -o '"id":"[^"]*' "$NT_TMP/inbox" | sort | uniq -d | wc -l)
((dups == 0)) || fail "$dups message(s) delivered twice"
log "$((2 * (GOOD + 2) * PER)) events: $got delivered, $(sql "SELECT count(*) FROM notifications WHERE state = 'failed'") failed with the server's reason"
echo ok
