#!/usr/bin/env bash
# notifier_poison_send.sh - one message the IM server will not take (a fault proxy in front of
# Prosody drops the connection whenever its body passes) is isolated and failed for good:
# after the failed barrier of the whole batch the rest goes one message per barrier, the
# poison one loses the connection notifier_poison_after (3) times alone and ends 'failed' with
# the reason + a dead-letter entry; every other buyer's message is delivered, once, and later
# events keep flowing. Before: the batch retried for ever with all partitions paused.
# Then a message whose third solo send the server takes before the connection drops (the
# proxy forwards it, then drops): recovery finds it in the archive and it ends 'sent', not
# failed + dead-lettered (the old code failed it without asking the archive).
NT_TEST=notifier_poison_send
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
export PP_SEND_BATCH=100 PP_SEND_RETRY_MAX_MS=2000 PP_NOTIFIER_POISON_AFTER=3
PARTITIONS=1 # one batch holds every event
BUYERS=4 PER=5
POISON_SHIP=777 POISON_NUMBER=620000000000000000000777
LATE_SHIP=888 LATE_NUMBER=620000000000000000000888

nt_setup
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done

python3 "$NT_ROOT/tests/tools/xmpp-fault-proxy.py" --target "$PP_XMPP_HOST:$PP_XMPP_PORT" \
	--drop-on "$POISON_NUMBER" --drop-late "3:$LATE_NUMBER" --port-file "$NT_TMP/proxy.port" --log "$NT_TMP/proxy.log" &
NT_PIDS+=("$!")
wait_until 300 test -s "$NT_TMP/proxy.port"
proxy=$(cat "$NT_TMP/proxy.port" 2>/dev/null) || fail "the fault proxy did not start: $(cat "$NT_TMP/proxy.log")"

{
	for ((s = 1; s <= PER; s++)); do
		for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((500 + b)) "$s" in_transit; done
		((s == 2)) && nt_event 20 "$POISON_SHIP" 1 in_transit # buyer 2's other parcel, mid-batch
	done
} >"$NT_TMP/r1"
produce <"$NT_TMP/r1"
PP_XMPP_PORT=$proxy nt_start one
port=$NT_LAST_PORT

total=$((BUYERS * PER + 1))
wait_sql "SELECT count(*) FROM notifications WHERE state IN ('sent', 'failed')" "$total" 180
got=$(sql "SELECT state || ' ' || coalesce(last_error, '') FROM notifications WHERE shipment_id = $POISON_SHIP")
[[ $got == "failed "*"dropped the connection"*"(3 times)"* ]] || fail "the poison message ended: '$got'"
[[ $(sql "SELECT count(*) FROM notifications WHERE shipment_id <> $POISON_SHIP AND state = 'sent'") == $((BUYERS * PER)) ]] ||
	fail "other buyers' messages not all sent: $(sql "SELECT user_id, state, count(*) FROM notifications GROUP BY 1, 2")"
grep -q 'one message per barrier' "$NT_TMP/one.log" || fail "no isolation in the log"
drops=$(grep -c '^drop ' "$NT_TMP/proxy.log")
((drops >= 3)) || fail "the proxy dropped the connection $drops times, want >= 3"
log "poison: ${got#failed }; the proxy dropped the connection $drops times"
wait_metric "$port" pp_notifier_dlq_total 1 30

# later events keep flowing through the same process
for ((b = 1; b <= BUYERS; b++)); do nt_event $((b * 10)) $((500 + b)) $((PER + 1)) delivered; done | produce
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" $((BUYERS * (PER + 1))) 60
kill -0 "$NT_LAST_PID" || fail "notifier died"

# alone in its batch: two solo losses before the server, the third after the server took it
nt_event 30 "$LATE_SHIP" 1 in_transit | produce
wait_sql "SELECT count(*) FROM notifications WHERE shipment_id = $LATE_SHIP AND state IN ('sent', 'failed')" 1 180
late=$(sql "SELECT state || ' ' || coalesce(last_error, '') FROM notifications WHERE shipment_id = $LATE_SHIP")
late_drops=$(grep -c "^drop $LATE_NUMBER" "$NT_TMP/proxy.log")
log "late: $late after $late_drops drops ($(grep -c "^drop $LATE_NUMBER after forwarding" "$NT_TMP/proxy.log") after forwarding)"
[[ $late == "sent "* ]] || fail "the message the server took on the third try ended '$late', not sent"
((late_drops == 3)) || fail "the proxy dropped the connection $late_drops times on it, want 3"
nt_stop "$NT_LAST_PID"

"$NT_BIN/pp-produce" -b "$PP_KAFKA_BROKERS" -t "$PP_DLQ_TOPIC" -D >"$NT_TMP/dlq" 2>>"$NT_TMP/kafka.log" || fail "cannot read the DLQ"
[[ $(wc -l <"$NT_TMP/dlq") == 1 ]] || fail "DLQ has $(wc -l <"$NT_TMP/dlq") messages, want 1"
grep -q "\"pp-dlq-reason\":\"the IM server dropped the connection" "$NT_TMP/dlq" || fail "DLQ reason: $(cat "$NT_TMP/dlq")"
grep -q "$POISON_NUMBER" "$NT_TMP/dlq" || fail "the DLQ entry is not the poison event"

inbox >"$NT_TMP/inbox"
got=$(grep -c '"id":' "$NT_TMP/inbox")
((got == BUYERS * (PER + 1) + 1)) || fail "the buyers got $got messages, want $((BUYERS * (PER + 1) + 1))"
dups=$(grep -o '"id":"[^"]*' "$NT_TMP/inbox" | sort | uniq -d | wc -l)
((dups == 0)) || fail "$dups message(s) delivered twice"
! grep -q "$POISON_NUMBER" "$NT_TMP/inbox" || fail "the poison message arrived"
log "$total + $BUYERS + 1 events: $got delivered once each, 1 failed + dead-lettered"
echo ok
