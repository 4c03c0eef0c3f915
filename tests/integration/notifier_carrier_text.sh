#!/usr/bin/env bash
# notifier_carrier_text.sh - a carrier that answers a control character in one buyer's parcel
# (pp-carrier-sim --hostile NUMBER=control: every place "KRA\u0001X"), invalid UTF-8 in
# another's, a long Polish place name in a third's and quotes, a backslash, braces, a comma
# and NULL in a fourth's (what the poller's batched write-back puts in array literals: the
# text must arrive exactly, in the shipment row and its events) cannot stop the fleet:
# simulator -> pp-poller -> outbox -> Kafka -> pp-notifier -> Prosody. Every other buyer's
# notifications arrive, and that buyer's are sent clean (the control character dropped) or
# recorded 'failed'; nothing is left 'sending'. Before: the stanza carried the raw byte,
# Prosody closed the notifier's stream on every send and the notifier retried for ever with
# all its partitions paused; the long name cut in half and the invalid UTF-8 made Postgres
# refuse the poller's write, and the parcel was polled again for ever.
NT_TEST=notifier_carrier_text
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
POLLER=$NT_BUILD/poller/pp-poller SIM=$NT_BUILD/tools/carrier-sim/pp-carrier-sim
[[ -x $POLLER && -x $SIM ]] || fail "build pp-poller and pp-carrier-sim first"
export PP_SEND_BATCH=50 PP_SEND_RETRY_MAX_MS=2000 PARTITIONS=2
BUYERS=7 # 2: control, 5: long, 6: utf8, 7: quote

nt_setup
for ((b = 1; b <= BUYERS; b++)); do nt_buyer "$b" pl t "$(nt_jid "$b")" t; done

# Parcels that end in a locker (its id starts with a branch code the simulator can poison)
# for buyers 2, 5 and 6; the others' parcels whatever the scenario gives.
"$SIM" --listen 127.0.0.1:0 --not-found-minutes 0 >"$NT_TMP/probe.log" 2>&1 &
probe=$!
NT_PIDS+=("$probe")
wait_until 300 grep -q "^listening on " "$NT_TMP/probe.log"
purl="http://$(sed -n 's/^listening on //p' "$NT_TMP/probe.log" | head -1)"
lockers=()
for ((k = 1; k <= 120 && ${#lockers[@]} < 4; k++)); do
	n=6$(printf '%023d' $((7700 + k)))
	body=$(curl -sf "$purl/v1/tracking/$n") && grep -q '"target_machine_id":"[A-Z]' <<<"$body" && lockers+=("$n")
done
kill "$probe"
((${#lockers[@]} == 4)) || fail "only ${#lockers[@]} locker parcels among 120 numbers"
numbers=()
for ((b = 1; b <= BUYERS; b++)); do
	n=6$(printf '%023d' $((8800 + b)))
	((b == 2)) && n=${lockers[0]} hostile=${lockers[0]}
	((b == 5)) && n=${lockers[1]} long=${lockers[1]}
	((b == 6)) && n=${lockers[2]} utf8=${lockers[2]}
	((b == 7)) && n=${lockers[3]} quote=${lockers[3]}
	numbers+=("$n")
	sql "INSERT INTO shipments (transaction_id, carrier, tracking_number, next_poll_at)
	     VALUES ($((b * 10)), 'inpost', '$n', now())" || fail "seed shipment $b"
done
log "buyer 2's parcel $hostile answers every place with a control character"

"$SIM" --listen 127.0.0.1:0 --speed 20000 --not-found-minutes 0 --hostile "$hostile=control" \
	--hostile "$long=long" --hostile "$utf8=utf8" --hostile "$quote=quote" \
	>"$NT_TMP/sim.log" 2>&1 &
NT_PIDS+=("$!")
wait_until 300 grep -q "^listening on " "$NT_TMP/sim.log"
sim="http://$(sed -n 's/^listening on //p' "$NT_TMP/sim.log" | head -1)"
[[ $sim != http:// ]] || fail "simulator did not start: $(tail -3 "$NT_TMP/sim.log")"

PP_INPOST_BASE_URL=$sim PP_SPEED=20000 PP_CLAIM_INTERVAL_MS=50 PP_RELAY_INTERVAL_MS=50 \
	PP_WORKER_ID=poller-$$ "$POLLER" >"$NT_TMP/poller.log" 2>&1 &
NT_PIDS+=("$!")
nt_start one

all_done() {
	[[ $(sql "SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL OR lease_owner IS NOT NULL") == 0 &&
		$(sql "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 &&
		$(sql "SELECT count(*) FROM notifications WHERE state IN ('sent', 'failed')") == $(sql "SELECT count(*) FROM outbox") ]]
}
wait_until 600 all_done
all_done || fail "not every parcel notified in 600 s: shipments $(sql "SELECT string_agg(transaction_id || ':' || status, ' ') FROM shipments"), outbox $(sql "SELECT count(*) FROM outbox"), notifications $(sql "SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM notifications GROUP BY 1) x")"
kill -0 "$NT_LAST_PID" || fail "notifier died"
nt_stop "$NT_LAST_PID"

bad=$(sql "SELECT count(*) FROM shipments WHERE concat(last_location, pickup_point, pickup_address) ~ '[[:cntrl:]]'")
[[ $bad == 0 ]] || fail "$bad shipment row(s) with a control character"
[[ $(sql "SELECT count(*) FROM shipments s JOIN transactions t ON t.id = s.transaction_id WHERE t.buyer_id = 2 AND (s.last_location LIKE 'KRAX%' OR s.pickup_point LIKE 'KRAX%')") == 1 ]] ||
	fail "buyer 2's parcel place is not the cleaned text: $(sql "SELECT last_location || ' / ' || pickup_point FROM shipments WHERE transaction_id = 20")"
place() { sql "SELECT concat(last_location, ' / ', pickup_point) FROM shipments WHERE transaction_id = $(($1 * 10))"; }
[[ $(place 5) == *"Źdźbło żółtej"* ]] || fail "buyer 5's long place: $(place 5)"
[[ $(place 6) == *"KRA"$'\xef\xbf\xbd'* ]] || fail "buyer 6's invalid UTF-8 place is not U+FFFD: $(place 6)"
q='K"R'"'"'A\{x},NULL'
[[ $(place 7) == *"$q"*" / $q"* ]] || fail "buyer 7's place is not exactly $q: $(place 7)"
evq=$(sql "SELECT count(*) FROM shipment_events WHERE shipment_id = (SELECT id FROM shipments WHERE transaction_id = 70) AND strpos(location, \$\$$q\$\$) > 0")
((evq > 0)) || fail "no event of buyer 7's parcel names its place exactly: $(sql "SELECT string_agg(location, ' | ') FROM shipment_events WHERE shipment_id = (SELECT id FROM shipments WHERE transaction_id = 70)")"
others=$(sql "SELECT count(*) FROM notifications WHERE user_id <> 2 AND state <> 'sent'")
[[ $others == 0 ]] || fail "$others notification(s) of other buyers not sent"
inbox >"$NT_TMP/inbox"
sent=$(sql "SELECT count(*) FROM notifications WHERE state = 'sent'")
got=$(grep -c '"id":' "$NT_TMP/inbox")
((got == sent)) || fail "the buyers got $got messages, the ledger says $sent sent"
dups=$(grep -o '"id":"[^"]*' "$NT_TMP/inbox" | sort | uniq -d | wc -l)
((dups == 0)) || fail "$dups message(s) delivered twice"
! grep -qP '[\x00-\x08\x0b\x0c\x0e-\x1f]|\\u000[0-8]|\\u001' "$NT_TMP/inbox" || fail "a control character reached an inbox"
clean=$(grep -c 'KRAX' "$NT_TMP/inbox")
log "$sent sent ($(sql "SELECT count(*) FROM notifications WHERE user_id = 2 AND state = 'sent'") to buyer 2, $clean naming 'KRAX…' clean), $(sql "SELECT count(*) FROM notifications WHERE state = 'failed'") failed"
echo ok
