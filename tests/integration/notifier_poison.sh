#!/usr/bin/env bash
# notifier_poison.sh - malformed JSON, wrong schema_version, unknown status and a huge field
# all land on the DLQ with a reason and their source position; the valid events around them
# (same partition) are delivered in order and the notifier keeps going.
NT_TEST=notifier_poison
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"

nt_setup
nt_buyer 1 pl t "$(nt_jid 1)" t
huge=$(head -c 100000 /dev/zero | tr '\0' x)
{
	nt_event 10 701 1 in_transit
	printf '701\t{"event_id": "broken\n'
	nt_event 10 701 2 out_for_delivery | sed 's/"schema_version":1/"schema_version":2/'
	nt_event 10 701 3 teleported
	nt_event 10 701 4 delivered | sed "s/\"carrier_status_text\":null/\"carrier_status_text\":\"$huge\"/"
	printf '701\t\n'
	nt_event 10 701 5 available_for_pickup KRA01M
} >"$NT_TMP/batch"
produce <"$NT_TMP/batch"
nt_start one
wait_metric "$NT_LAST_PORT" pp_notifier_dlq_total 5
wait_sql "SELECT string_agg(sequence || ':' || state, ',' ORDER BY sequence) FROM notifications" "1:sent,5:sent"
# Keeps going: a valid event after the poison is delivered by the same process.
nt_event 10 701 6 delivered | produce
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" 3
kill -0 "$NT_LAST_PID" || fail "notifier died"
curl -sf "http://127.0.0.1:$NT_LAST_PORT/healthz" >/dev/null || fail "notifier unhealthy after poison"
nt_stop "$NT_LAST_PID"

"$NT_BIN/pp-produce" -b "$PP_KAFKA_BROKERS" -t "$PP_DLQ_TOPIC" -D >"$NT_TMP/dlq" 2>>"$NT_TMP/kafka.log" || fail "cannot read the DLQ"
[[ $(wc -l <"$NT_TMP/dlq") == 5 ]] || fail "DLQ has $(wc -l <"$NT_TMP/dlq") messages, want 5"
reasons=$(grep -o '"pp-dlq-reason":"[^"]*"' "$NT_TMP/dlq" | cut -d'"' -f4)
for want in "not valid JSON" "unsupported schema_version 2" "status 'teleported' is not a notifiable status" \
	"field 'carrier_status_text' is longer than" "empty payload"; do
	grep -qF "$want" <<<"$reasons" || fail "no DLQ reason '$want' in: $reasons"
done
offsets=$(grep -o '"pp-source-offset":"[0-9]*"' "$NT_TMP/dlq" | cut -d'"' -f4 | sort -n | paste -sd, -)
[[ $offsets == 1,2,3,4,5 ]] || fail "DLQ source offsets $offsets, want 1,2,3,4,5"
grep -q '"pp-source-partition":"[0-9]*"' "$NT_TMP/dlq" || fail "no pp-source-partition header"
[[ $(awk 'length($0) > 100000 && index($0, "carrier_status_text")' "$NT_TMP/dlq" | wc -l) == 1 ]] ||
	fail "the huge payload was not kept intact on the DLQ"

inbox >"$NT_TMP/inbox"
bodies=$(grep -o '"body":"[^"]*"' "$NT_TMP/inbox" | cut -d'"' -f4 | paste -sd'|' -)
[[ $bodies == "Paczka InPost 620000000000000000000701: w drodze|Paczka InPost 620000000000000000000701: czeka w Paczkomacie KRA01M|Paczka InPost 620000000000000000000701: doręczona" ]] ||
	fail "inbox: $bodies"
echo ok
