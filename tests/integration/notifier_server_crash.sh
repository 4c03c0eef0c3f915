#!/usr/bin/env bash
# notifier_server_crash.sh - the IM server dies while the notifier's messages are unconfirmed
# (the loss the 100,000-change chaos run found). A private Prosody loads a test-only module
# (tests/tools/prosody/mod_pp_test_crash.lua) that ends the server at a chosen message after a
# trigger file appears, three times:
#   1. between archiving the bot's copy and storing the buyer's (checked in the server's
#      database: the bot's archive holds it, the buyer's does not): it must be sent again;
#   2. right after storing the buyer's copy (the buyer has it, the bot never heard back): it
#      must not be sent again, although notifier_resend_in_doubt is on;
#   3. as 1, but the server comes back without the delivery module: it cannot tell, so the
#      option (on) decides: sent again.
# Each time the notifier finds the one message in doubt (markers and the server's start time)
# and asks the server's delivery module (deploy/prosody/mod_pp_delivery.lua, loaded by the
# stack) whether the buyer's archive has it. Checked from the buyers' side: every event
# delivered, none twice; 3 messages in doubt, 2 sent again, 1 undecided. Without the module's
# answer, 2 is a duplicate (and 1 a loss with the option off).
NT_TEST=notifier_server_crash
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
BUYERS=${BUYERS:-10} PER=${PER:-20}
TOTAL=$((BUYERS * PER))
export PP_SEND_BATCH=${PP_SEND_BATCH:-50} PP_SEND_RETRY_MAX_MS=1000
# On: the module's answer must override it (2); it decides only when the server cannot tell (3).
export PP_NOTIFIER_RESEND_IN_DOUBT=true

nt_prosody_init
nt_setup
crash_file=$NT_TMP/crash-now
cfg=$NT_PROSODY_CFG
grep -q '"uptime";' "$cfg" && grep -q '"pp_delivery";' "$cfg" && grep -q '^plugin_paths = ' "$cfg" ||
	fail "the stack's Prosody config lacks the \"uptime\" or \"pp_delivery\" module (restart the stack: deploy/local/stack stop; start)"
sed -i -e 's/"uptime";/"uptime"; "pp_test_crash";/' \
	-e "s|^plugin_paths = { \(.*\) }|plugin_paths = { \1; \"$NT_ROOT/tests/tools/prosody\" }|" \
	-e "/^VirtualHost /i pp_test_crash_file = \"$crash_file\"\\
pp_test_crash_from = \"$PP_XMPP_JID\"" "$cfg"
grep -q '"pp_test_crash";' "$cfg" && grep -q '^pp_test_crash_from' "$cfg" && grep -q 'tests/tools/prosody" }' "$cfg" ||
	fail "cannot add the test module to $cfg"
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done
db=$(dirname -- "$NT_PROSODY_CFG")/data/prosody.sqlite
archived() { # USER ID: rows of message ID in that user's archive (local part)
	sqlite3 "$db" "SELECT count(*) FROM prosodyarchive WHERE host = '$NT_DOMAIN' AND user = '$1' AND store = 'archive' AND value LIKE '%$2%'"
}
nt_prosody_start
started=$SECONDS
for ((s = 1; s <= PER; s++)); do
	for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((300 + b)) "$s" in_transit; done
done >"$NT_TMP/all"
quarter=$((TOTAL / 4))
for p in 1 2 3; do sed -n "$(((p - 1) * quarter + 1)),$((p * quarter))p" "$NT_TMP/all" >"$NT_TMP/part$p"; done
tail -n +$((3 * quarter + 1)) "$NT_TMP/all" >"$NT_TMP/part4"

nt_start notifier
produce <"$NT_TMP/part1"
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$quarter"
grep -q 'tells its start time' "$NT_TMP/notifier.log" || fail "the notifier did not learn the server's start time: $(grep -i 'start time' "$NT_TMP/notifier.log")"

# crash_at PART MODE BOT BUYER [bare]: the 7th message of PART ends the server (MODE: "" before
# the buyer's store, "after" after it); the server's database must show the message in the
# bot's archive BOT times and in the buyer's BUYER times. bare: it comes back without the
# delivery module. The 6 before it were handled completely
# (the answers to their markers may still have been in the server's write buffer): those must
# not be sent again.
crash_at() {
	local part=$1 mode=$2 want_bot=$3 want_buyer=$4 bare=${5:-} pid cut cut_id cut_to bot_has buyer_has
	# The restart is recognised by the start time moving on by more than 2 s (whole seconds
	# over the network): let the server live a few seconds.
	wait_until 300 eval '((SECONDS - started >= 4))'
	echo "7 $mode" >"$crash_file"
	pid=$NT_PROSODY_PID
	produce <"$NT_TMP/$part"
	wait_until 300 eval '! kill -0 "$pid"' || fail "the server never reached the fault: $(tail -3 "$NT_PROSODY_LOG")"
	wait "$pid" 2>/dev/null
	NT_PROSODY_PID=
	cut=$(grep -o 'pp_test_crash: ending the server [a-z]* [a-z]* [^ ]* to [^ ]*' "$NT_PROSODY_LOG" | tail -1)
	[[ -n $cut ]] || fail "the server exited, but not at the fault: $(tail -3 "$NT_PROSODY_LOG")"
	cut_id=$(awk '{ print $7 }' <<<"$cut") cut_to=$(awk '{ print $9 }' <<<"$cut")
	bot_has=$(archived "${PP_XMPP_JID%@*}" "$cut_id") buyer_has=$(archived "${cut_to%@*}" "$cut_id")
	log "the server ended ${mode:-before} the buyer's store of $cut_id to $cut_to: in the bot's archive $bot_has, in the buyer's $buyer_has"
	[[ $bot_has == "$want_bot" && $buyer_has == "$want_buyer" ]] ||
		fail "not the fault meant (bot $bot_has, buyer $buyer_has; wanted $want_bot, $want_buyer)"
	[[ $(sql "SELECT state FROM notifications WHERE event_id || ':' || user_id = '$cut_id'") == sending ]] ||
		fail "the cut message's row is not left 'sending'"
	if [[ -n $bare ]]; then
		sed -i 's/ "pp_delivery";//' "$cfg"
		! grep -q '"pp_delivery";' "$cfg" || fail "cannot take the delivery module out of $cfg"
	fi
	nt_prosody_start
	started=$SECONDS
}

crash_at part2 "" 1 0       # cut: the buyer never got it
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" $((2 * quarter))
crash_at part3 after 1 1    # complete: the buyer got it, the bot never heard back
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" $((3 * quarter))
crash_at part4 "" 1 0 bare  # cut, and the server cannot tell
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$TOTAL"
grep -h 'in flight from an earlier attempt\|restarted \(after\|before\)' "$NT_TMP/notifier.log" | sed 's/^.*notifier: /# notifier: /' >&2
# Delivered = in the buyer's archive (XEP-0313), as the chaos tool's buyers_check judges: the
# "after" crash falls between the buyer's archive and the offline store, so a client that only
# takes offline messages (pp-inbox) misses that one; the server's limit, not the notifier's.
sqlite3 -separator ' ' "$db" "SELECT user, value FROM prosodyarchive WHERE host = '$NT_DOMAIN' AND store = 'archive' AND \"with\" = '$PP_XMPP_JID'" |
	sed -n "s/^\([^ ]*\) .*<origin-id[^>]* id='\([^':]*\):[0-9]*'.*/\1 \2/p" >"$NT_TMP/got"
missing=$(comm -23 <(awk '{ print $3 }' "$NT_TMP/events" | sort) <(awk '{ print $2 }' "$NT_TMP/got" | sort -u))
[[ -z $missing ]] || fail "$(wc -l <<<"$missing") event(s) never delivered: $(head -3 <<<"$missing" | tr '\n' ' ')"
dups=$(awk '{ print $2 }' "$NT_TMP/got" | sort | uniq -d)
[[ -z $dups ]] || fail "$(wc -l <<<"$dups") event(s) delivered twice: $(head -3 <<<"$dups" | tr '\n' ' ')"
# The counters reach /metrics on the notifier's publish timer: wait for them, do not read once.
wait_metric "$NT_LAST_PORT" pp_notifier_messages_in_doubt_total 3
wait_metric "$NT_LAST_PORT" pp_notifier_messages_resent_in_doubt_total 2
wait_metric "$NT_LAST_PORT" pp_notifier_messages_in_doubt_undecided_total 1
nt_stop "$NT_LAST_PID"
log "$TOTAL events, $(wc -l <"$NT_TMP/got") messages, none lost or twice; 3 server crashes, 3 messages in doubt: the cut ones sent again (one asked, one by the option), the complete one not"
echo ok
