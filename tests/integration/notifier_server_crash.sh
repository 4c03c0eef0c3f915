#!/usr/bin/env bash
# notifier_server_crash.sh - the IM server dies between archiving the bot's copy of a message
# and storing it for the buyer (the loss the 100,000-change chaos run found). A private
# Prosody loads a test-only module (tests/tools/prosody/mod_pp_test_crash.lua) that ends the
# server right there for the first message routed after a trigger file appears. The test
# proves the fault (the bot's archive holds the message, the buyer's does not), restarts the
# server, and checks from the buyers' side: every event delivered, none twice, and the cut
# message sent again (pp_notifier_messages_resent_in_doubt_total; notifier_resend_in_doubt on,
# as this test sets it). Before the markers and the server-restart check (or with the option
# off), recovery took the archived copy as delivered: lost.
NT_TEST=notifier_server_crash
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
BUYERS=${BUYERS:-10} PER=${PER:-20}
TOTAL=$((BUYERS * PER))
export PP_SEND_BATCH=${PP_SEND_BATCH:-50} PP_SEND_RETRY_MAX_MS=1000
# The re-send is the operator's choice (default off: a repeat of a message the server did
# store is a duplicate for a client that does not drop repeats by id).
export PP_NOTIFIER_RESEND_IN_DOUBT=true

nt_prosody_init
nt_setup
crash_file=$NT_TMP/crash-now
cfg=$NT_PROSODY_CFG
grep -q '"uptime";' "$cfg" || fail "the stack's Prosody config has no \"uptime\" module (restart the stack: deploy/local/stack stop; start)"
sed -i -e 's/"uptime";/"uptime"; "pp_test_crash";/' \
	-e "/^VirtualHost /i plugin_paths = { \"$NT_ROOT/tests/tools/prosody\" }\\
pp_test_crash_file = \"$crash_file\"\\
pp_test_crash_from = \"$PP_XMPP_JID\"" "$cfg"
grep -q '"pp_test_crash";' "$cfg" && grep -q '^pp_test_crash_from' "$cfg" || fail "cannot add the test module to $cfg"
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done
nt_prosody_start
started=$SECONDS
for ((s = 1; s <= PER; s++)); do
	for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((300 + b)) "$s" in_transit; done
done >"$NT_TMP/all"
head -n $((TOTAL / 2)) "$NT_TMP/all" >"$NT_TMP/first"
tail -n +$((TOTAL / 2 + 1)) "$NT_TMP/all" >"$NT_TMP/second"

nt_start notifier
produce <"$NT_TMP/first"
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" $((TOTAL / 2))
grep -q 'tells its start time' "$NT_TMP/notifier.log" || fail "the notifier did not learn the server's start time: $(grep -i 'start time' "$NT_TMP/notifier.log")"
# The restart is recognised by the start time moving on by more than 2 s (whole seconds
# over the network): let the first server live a few seconds.
wait_until 300 eval '((SECONDS - started >= 4))'

# Arm the fault: the 7th message of the second half ends the server mid-batch. The 6 before
# it were handled completely (the answers to their markers may still have been in the
# server's write buffer): those must not be sent again; only the cut one may.
echo 7 >"$crash_file"
prosody_pid=$NT_PROSODY_PID
produce <"$NT_TMP/second"
wait_until 300 eval '! kill -0 "$prosody_pid"' || fail "the server never reached the fault: $(tail -3 "$NT_PROSODY_LOG")"
wait "$prosody_pid" 2>/dev/null
NT_PROSODY_PID=
cut=$(grep -o 'pp_test_crash: ending the server while routing [^ ]* to [^ ]*' "$NT_PROSODY_LOG" | tail -1)
[[ -n $cut ]] || fail "the server exited, but not at the fault: $(tail -3 "$NT_PROSODY_LOG")"
cut_id=$(awk '{ print $7 }' <<<"$cut") cut_to=$(awk '{ print $9 }' <<<"$cut")
# The fault is the one meant: the bot's archive has the message, the buyer's does not.
db=$(dirname -- "$NT_PROSODY_CFG")/data/prosody.sqlite
archived() { # USER (local part): rows of the message in that user's archive
	sqlite3 "$db" "SELECT count(*) FROM prosodyarchive WHERE host = '$NT_DOMAIN' AND user = '$1' AND store = 'archive' AND value LIKE '%$cut_id%'"
}
bot_has=$(archived "${PP_XMPP_JID%@*}") buyer_has=$(archived "${cut_to%@*}")
log "the server ended while routing $cut_id to $cut_to: in the bot's archive $bot_has, in the buyer's $buyer_has"
[[ $bot_has == 1 && $buyer_has == 0 ]] || fail "not cut between the two stores (bot $bot_has, buyer $buyer_has)"
[[ $(sql "SELECT state FROM notifications WHERE event_id || ':' || user_id = '$cut_id'") == sending ]] ||
	fail "the cut message's row is not left 'sending'"

nt_prosody_start
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$TOTAL"
grep -h 'in flight from an earlier attempt\|restarted after archiving' "$NT_TMP/notifier.log" | sed 's/^.*notifier: /# notifier: /' >&2
inbox >"$NT_TMP/inbox"
grep -o '"jid":"[^"]*","from":"[^"]*","id":"[^":]*' "$NT_TMP/inbox" |
	sed 's/"jid":"\([^"]*\)".*"id":"\(.*\)/\1 \2/' >"$NT_TMP/got"
missing=$(comm -23 <(awk '{ print $3 }' "$NT_TMP/events" | sort) <(awk '{ print $2 }' "$NT_TMP/got" | sort -u))
[[ -z $missing ]] || fail "$(wc -l <<<"$missing") event(s) never delivered: $(head -3 <<<"$missing" | tr '\n' ' ')(cut: $cut_id)"
dups=$(awk '{ print $2 }' "$NT_TMP/got" | sort | uniq -d | wc -l)
((dups == 0)) || fail "$dups event(s) delivered twice"
resent=$(metric "$NT_LAST_PORT" pp_notifier_messages_resent_in_doubt_total)
[[ ${resent:-0} == 1 ]] || fail "pp_notifier_messages_resent_in_doubt_total is '${resent}', not 1"
nt_stop "$NT_LAST_PID"
log "$TOTAL events, $(wc -l <"$NT_TMP/got") messages, none lost or twice; $resent sent again after the server's crash"
echo ok
