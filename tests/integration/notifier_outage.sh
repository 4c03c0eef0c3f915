#!/usr/bin/env bash
# notifier_outage.sh - the XMPP server goes away and comes back (a private Prosody for this
# test: own port and data dir, the stack's config). It is stopped while the notifier is
# sending, so batches are cut mid-flight; events produced during the outage wait. /healthz
# says 503 while the server is down. After the restart every event is delivered, in order
# per shipment, and none twice (in-flight rows are settled from the bot's archive).
NT_TEST=notifier_outage
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
BUYERS=${BUYERS:-20} PER=${PER:-60} DOWN_PER=${DOWN_PER:-5}
TOTAL=$((BUYERS * (PER + DOWN_PER)))
export PP_SEND_BATCH=${PP_SEND_BATCH:-100} PP_SEND_RETRY_MAX_MS=1000

nt_prosody_init
nt_setup
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done
nt_prosody_start
for ((s = 1; s <= PER + DOWN_PER; s++)); do
	for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((300 + b)) "$s" in_transit; done
done >"$NT_TMP/all"
head -n $((BUYERS * PER)) "$NT_TMP/all" >"$NT_TMP/before"
tail -n $((BUYERS * DOWN_PER)) "$NT_TMP/all" >"$NT_TMP/during"

health() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NT_LAST_PORT/healthz"; }

retries() { metric "$NT_LAST_PORT" pp_notifier_batch_retries_total; }
nt_start notifier
produce <"$NT_TMP/before"
# Cut a batch in flight without racing the notifier: freeze it (SIGSTOP) once a quarter is
# sent, look at the ledger while it cannot move, stop the server only if a batch is in
# flight (else let it run on and look again), then let it go on (SIGCONT).
stopped=
nt_freeze_when "$NT_LAST_PID" $((BUYERS * PER / 4)) $((BUYERS * PER)) && nt_prosody_stop && stopped=$NT_FROZEN_AT
kill -CONT "$NT_LAST_PID"
[[ -n $stopped ]] || fail "never saw a batch in flight"
healthdown() { [[ $(health) == 503 ]]; }
wait_until 120 healthdown || fail "/healthz says $(health) with the XMPP server down"
wait_metric "$NT_LAST_PORT" pp_notifier_xmpp_up 0 120
# the cut batch fails its barrier and goes back to retrying
wait_until 120 eval '(($(retries) >= 1))' || fail "the cut batch was not retried: $(tail -3 "$NT_TMP/notifier.log")"
sql "SELECT event_id FROM notifications WHERE state = 'sending'" | sort >"$NT_TMP/inflight"
log "server stopped with ${stopped% *} sent and ${stopped#* } sending; $(wc -l <"$NT_TMP/inflight") in flight after the cut"

produce <"$NT_TMP/during"
sent_down=$(sql "SELECT count(*) FROM notifications WHERE state = 'sent'")
r0=$(retries) # an outage of a few retries, however long they take
wait_until 300 eval '(($(retries) >= r0 + 3))' || fail "the notifier stopped retrying during the outage"
[[ $(health) == 503 ]] || fail "/healthz says $(health) during the outage"
[[ $(sql "SELECT count(*) FROM notifications WHERE state = 'sent'") == "$sent_down" ]] ||
	fail "rows marked sent while the server was down"

t0=$(date +%s%N)
nt_prosody_start
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$TOTAL" 120
log "after the restart: all $TOTAL sent in $((($(date +%s%N) - t0) / 1000000)) ms"
[[ $(health) == 200 ]] || fail "/healthz says $(health) after the server came back"
grep -h 'in flight from an earlier attempt' "$NT_TMP/notifier.log" | sed 's/^.*notifier: /# notifier: /' >&2
nt_stop "$NT_LAST_PID"

inbox >"$NT_TMP/inbox"
grep -o '"jid":"[^"]*","from":"[^"]*","id":"[^":]*' "$NT_TMP/inbox" |
	sed 's/"jid":"\([^"]*\)".*"id":"\(.*\)/\1 \2/' >"$NT_TMP/got"
missing=$(comm -23 <(awk '{ print $3 }' "$NT_TMP/events" | sort) <(awk '{ print $2 }' "$NT_TMP/got" | sort -u) | wc -l)
((missing == 0)) || fail "$missing event(s) never delivered"
dups=$(awk '{ print $2 }' "$NT_TMP/got" | sort | uniq -d | wc -l)
((dups == 0)) || fail "$dups event(s) delivered twice"
awk 'NR == FNR { seq[$3] = $2; next } !seen[$2]++ { if (seq[$2] < last[$1]) bad++; last[$1] = seq[$2] }
     END { exit bad > 0 }' "$NT_TMP/events" "$NT_TMP/got" || fail "a shipment's messages arrived out of order"
log "$TOTAL events, $(wc -l <"$NT_TMP/got") messages, none twice"
echo ok
