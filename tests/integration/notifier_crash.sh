#!/usr/bin/env bash
# notifier_crash.sh - the crash window hit on purpose, not by luck: with
# notifier_crash_after_send=N the notifier _exit(137)s right after the server acknowledged
# its N-th batch (every message of it routed) and before marking the batch sent. A successor
# in the same group must deliver every event exactly once: it finds the acknowledged batch
# in the bot's XEP-0313 archive and marks it sent without sending it again. Also an old row
# put back to 'sending' with its event delivered again: its message is the oldest in the
# buyer's archive window, behind > 250 newer ones, so finding it takes RSM paging.
# PP_NOTIFIER_ARCHIVE_CHECK=false shows the old at-least-once behaviour (the test fails).
NT_TEST=notifier_crash
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
BUYERS=${BUYERS:-3} PER=${PER:-300} CRASH=${CRASH:-8}
TOTAL=$((BUYERS * PER))
export PP_SEND_BATCH=${PP_SEND_BATCH:-100} PP_RDKAFKA_SESSION_TIMEOUT_MS=6000
PARTITIONS=2

nt_setup
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done
for ((s = 1; s <= PER; s++)); do
	for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((700 + b)) "$s" in_transit; done
done >"$NT_TMP/batch"
produce <"$NT_TMP/batch"

PP_NOTIFIER_CRASH_AFTER_SEND=$CRASH PP_WORKER_ID=nt-crash-$$ "$NT_BIN/pp-notifier" >"$NT_TMP/crash.log" 2>&1 &
pid=$!
NT_PIDS+=("$pid")
deadline=$((SECONDS + 600))
while ((SECONDS < deadline)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "the notifier did not crash within 600 s: $(tail -3 "$NT_TMP/crash.log")"
wait "$pid"
rc=$?
((rc == 137)) || fail "the notifier exited with $rc, not 137: $(tail -3 "$NT_TMP/crash.log")"
acked=$(sed -n "s/.*notifier_crash_after_send=$CRASH reached: exiting with \([0-9]*\) message(s) acknowledged.*/\1/p" "$NT_TMP/crash.log")
[[ -n $acked ]] && ((acked > 0)) || fail "no crash line in the log: $(tail -3 "$NT_TMP/crash.log")"
sql "SELECT event_id FROM notifications WHERE state = 'sending'" | sort >"$NT_TMP/inflight"
inflight=$(wc -l <"$NT_TMP/inflight")
((inflight == acked)) || fail "$acked message(s) acknowledged at the crash, but $inflight row(s) in 'sending'"
log "crashed after the server acknowledged $acked message(s) of batch $CRASH ($(sql "SELECT count(*) FROM notifications WHERE state = 'sent'") marked sent before)"
old=$(sql "SELECT event_id FROM notifications WHERE state = 'sent' AND user_id = 1 ORDER BY sequence LIMIT 1")
sql "UPDATE notifications SET state = 'sending', sent_at = NULL WHERE event_id = '$old'" >/dev/null || fail "reset $old"
grep -F "$old" "$NT_TMP/batch" | produce
echo "$old" >>"$NT_TMP/inflight"
sort -o "$NT_TMP/inflight" "$NT_TMP/inflight"

t0=$(date +%s%N)
PP_LOG_LEVEL=debug nt_start second
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$TOTAL" 120
log "successor: all $TOTAL sent $((($(date +%s%N) - t0) / 1000000)) ms after its start (includes the group's session timeout for the dead member)"
recovery=$(grep -h 'in flight from an earlier attempt' "$NT_TMP/second.log" | sed 's/^.*notifier: //')
[[ -n $recovery ]] && sed 's/^/# successor: /' <<<"$recovery" >&2
nt_stop "$NT_LAST_PID"
[[ $(sql "SELECT count(*) FROM notifications WHERE state <> 'sent' OR sent_at IS NULL") == 0 ]] || fail "rows not sent"

inbox >"$NT_TMP/inbox"
grep -o '"jid":"[^"]*","from":"[^"]*","id":"[^":]*' "$NT_TMP/inbox" |
	sed 's/"jid":"\([^"]*\)".*"id":"\(.*\)/\1 \2/' >"$NT_TMP/got"
missing=$(comm -23 <(awk '{ print $3 }' "$NT_TMP/events" | sort) <(awk '{ print $2 }' "$NT_TMP/got" | sort -u) | wc -l)
((missing == 0)) || fail "$missing event(s) never delivered"
awk '{ print $2 }' "$NT_TMP/got" | sort | uniq -d >"$NT_TMP/dups"
dups=$(wc -l <"$NT_TMP/dups")
((dups == 0)) || fail "$dups event(s) delivered twice ($(comm -12 "$NT_TMP/dups" "$NT_TMP/inflight" | wc -l) of the $acked acknowledged at the crash)"
awk 'NR == FNR { seq[$3] = $2; next } !seen[$2]++ { if (seq[$2] < last[$1]) bad++; last[$1] = seq[$2] }
     END { exit bad > 0 }' "$NT_TMP/events" "$NT_TMP/got" || fail "a shipment's messages arrived out of order"
routed=$(sed -n 's/.*: \([0-9]*\) already routed, 0 bounced, 0 to send again.*/\1/p' <<<"$recovery" | awk '{ n += $1 } END { print n + 0 }')
((routed == acked + 1)) || fail "the successor found $routed of $((acked + 1)) message(s) in the archive: ${recovery:-no recovery line}"
pages=$(sed -n 's/.*archive lookup of .*: \([0-9]*\) page(s).*/\1/p' "$NT_TMP/second.log" | sort -n | tail -1)
log "successor: at most ${pages:-?} archive page(s) per buyer"
# > 250 newer archived messages for buyer 1 by default: paging must have happened
if ((CRASH * PP_SEND_BATCH / BUYERS > 250)) && ((${pages:-0} < 2)); then
	fail "no archive answer spanned two pages; RSM paging not exercised"
fi
log "$TOTAL events, $(wc -l <"$NT_TMP/got") messages, $dups delivered twice"
echo ok
