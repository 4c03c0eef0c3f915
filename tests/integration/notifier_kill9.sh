#!/usr/bin/env bash
# notifier_kill9.sh - SIGKILL the notifier while it is sending, restart it (same group):
# every event is delivered, in order per shipment, and no event arrives twice. Messages in
# flight at the kill (ledger 'sending') are looked up in the bot's XEP-0313 archive by the
# successor, which re-sends only those the server never got.
# PP_NOTIFIER_ARCHIVE_CHECK=false shows the old at-least-once behaviour (the test fails).
NT_TEST=notifier_kill9
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
BUYERS=${BUYERS:-20} PER=${PER:-100}
TOTAL=$((BUYERS * PER))
export PP_SEND_BATCH=${PP_SEND_BATCH:-100} PP_RDKAFKA_SESSION_TIMEOUT_MS=6000

nt_setup
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done
for ((s = 1; s <= PER; s++)); do
	for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((900 + b)) "$s" in_transit; done
done >"$NT_TMP/batch"
produce <"$NT_TMP/batch"

nt_start first
# Frozen (SIGSTOP) with a batch in flight, then killed: no race with the notifier's speed.
nt_freeze_when "$NT_LAST_PID" $((TOTAL / 4)) "$TOTAL"
killed_at=$NT_FROZEN_AT
kill -KILL "$NT_LAST_PID"
wait "$NT_LAST_PID" 2>/dev/null
# Snapshot at the kill: the rows in flight, whose outcome the dead notifier did not know.
sql "SELECT event_id FROM notifications WHERE state = 'sending'" | sort >"$NT_TMP/inflight"
log "killed with ${killed_at% *} sent and $(wc -l <"$NT_TMP/inflight") in flight"

t0=$(date +%s%N)
nt_start second
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$TOTAL" 120
log "successor: all $TOTAL sent $((($(date +%s%N) - t0) / 1000000)) ms after its start (includes the group's session timeout for the dead member)"
grep -h 'in flight from an earlier attempt' "$NT_TMP/second.log" | sed 's/^.*notifier: /# successor: /' >&2
nt_stop "$NT_LAST_PID"
[[ $(sql "SELECT count(*) FROM notifications WHERE state <> 'sent'") == 0 ]] || fail "rows not sent"

inbox >"$NT_TMP/inbox"
# jid, event id, sequence (via the events file), in arrival order.
grep -o '"jid":"[^"]*","from":"[^"]*","id":"[^":]*' "$NT_TMP/inbox" |
	sed 's/"jid":"\([^"]*\)".*"id":"\(.*\)/\1 \2/' >"$NT_TMP/got"
missing=$(comm -23 <(awk '{ print $3 }' "$NT_TMP/events" | sort) <(awk '{ print $2 }' "$NT_TMP/got" | sort -u) | wc -l)
((missing == 0)) || fail "$missing event(s) never delivered"
awk '{ print $2 }' "$NT_TMP/got" | sort | uniq -d >"$NT_TMP/dups"
bad=$(comm -23 "$NT_TMP/dups" "$NT_TMP/inflight" | wc -l)
((bad == 0)) || fail "$bad event(s) not in flight at the kill were delivered twice"
dups=$(wc -l <"$NT_TMP/dups")
((dups == 0)) || fail "$dups of $(wc -l <"$NT_TMP/inflight") event(s) in flight at the kill were delivered twice"
# Per shipment (= per buyer here) the first arrival of each event is in sequence order.
awk 'NR == FNR { seq[$3] = $2; next } !seen[$2]++ { if (seq[$2] < last[$1]) bad++; last[$1] = seq[$2] }
     END { exit bad > 0 }' "$NT_TMP/events" "$NT_TMP/got" || fail "a shipment's messages arrived out of order"
log "$TOTAL events, $(wc -l <"$NT_TMP/got") messages, $(wc -l <"$NT_TMP/dups") re-sent of $(wc -l <"$NT_TMP/inflight") in flight at the kill"
echo ok
