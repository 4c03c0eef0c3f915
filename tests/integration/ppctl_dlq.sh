#!/usr/bin/env bash
# ppctl_dlq.sh - `ppctl dlq list|show|replay` end to end with a real notifier and Prosody: the
# notifier dead-letters a malformed event and one with a status it does not know; `list` shows
# them with their reasons and sources, `show` one whole with its headers; an event that was in
# fact delivered (put on the DLQ as well) and the unknown-status one fixed by hand are replayed,
# then everything is replayed again (--all): the buyer gets each message exactly once (the
# ledger dedups by event_id:user_id), the malformed one goes back to the DLQ and sends nothing.
NT_TEST=ppctl_dlq
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
PPCTL=$NT_BUILD/tools/ppctl/ppctl

nt_setup
nt_buyer 1 pl t "$(nt_jid 1)" t
E1=$(cat /proc/sys/kernel/random/uuid) E2=$(cat /proc/sys/kernel/random/uuid)
{
	nt_event 10 801 1 in_transit "" status_changed "$E1"
	printf '801\t{"event_id": "broken\n'
	nt_event 10 801 2 teleported "" status_changed "$E2"
} >"$NT_TMP/batch"
produce <"$NT_TMP/batch"
nt_start one
wait_metric "$NT_LAST_PORT" pp_notifier_dlq_total 2
wait_sql "SELECT string_agg(sequence || ':' || state, ',' ORDER BY sequence) FROM notifications" "1:sent"
# The delivered event on the DLQ too (as a notifier's poison path may leave one the buyer got).
nt_event 10 801 1 in_transit "" status_changed "$E1" | produce "$PP_DLQ_TOPIC"

"$PPCTL" dlq list >"$NT_TMP/list.txt" 2>"$NT_TMP/list.err" || fail "ppctl dlq list: $(cat "$NT_TMP/list.err")"
"$PPCTL" dlq list --json >"$NT_TMP/list.json" 2>>"$NT_TMP/list.err" || fail "ppctl dlq list --json: $(cat "$NT_TMP/list.err")"
[[ $(wc -l <"$NT_TMP/list.json") == 3 ]] || fail "dlq list --json: want 3 messages: $(cat "$NT_TMP/list.json")"
grep -Eq '^0:0 +20[0-9-]+T[0-9:]+Z +801 +[0-9]+  not valid JSON.* \(from '"$PP_TOPIC"':[0-9]+:1\)$' "$NT_TMP/list.txt" ||
	fail "dlq list: no line for the malformed event: $(cat "$NT_TMP/list.txt")"
grep -Eq "^0:1 .* status 'teleported' is not a notifiable status \\(from $PP_TOPIC:[0-9]+:2\\)$" "$NT_TMP/list.txt" ||
	fail "dlq list: no line for the unknown status: $(cat "$NT_TMP/list.txt")"
jq -e 'select(.id == "0:2") | .key == "801" and .reason == "" and .source == "" and .size > 100' "$NT_TMP/list.json" >/dev/null ||
	fail "dlq list --json: the copied event: $(cat "$NT_TMP/list.json")"

# show: the whole message, headers included; a bare offset names it when one partition holds it
"$PPCTL" dlq show 1 >"$NT_TMP/show.txt" 2>&1 || fail "ppctl dlq show 1: $(cat "$NT_TMP/show.txt")"
for want in '^id +0:1$' "^reason +status 'teleported' is not a notifiable status" "^header +pp-source-topic: $PP_TOPIC$" \
	'^header +pp-source-offset: 2$' "^\\{\"event_id\":\"$E2\",.*\"status\":\"teleported\""; do
	grep -Eq "$want" "$NT_TMP/show.txt" || fail "dlq show: no line like /$want/: $(cat "$NT_TMP/show.txt")"
done
"$PPCTL" dlq show --json 0:1 | jq -r .value >"$NT_TMP/e2.json" || fail "dlq show --json"
"$PPCTL" dlq show 0:9 >/dev/null 2>&1 && fail "dlq show of a missing offset succeeded"

# Fix by hand: a status the notifier knows (same event_id; another one is refused).
sed 's/"teleported"/"out_for_delivery"/' "$NT_TMP/e2.json" >"$NT_TMP/e2.fixed"
sed "s/$E2/$E1/" "$NT_TMP/e2.fixed" >"$NT_TMP/e2.other"
"$PPCTL" dlq replay 0:1 --value "$NT_TMP/e2.other" >/dev/null 2>&1 && fail "a fix with another event_id was replayed"
"$PPCTL" dlq replay 0:1 --value "$NT_TMP/e2.fixed" >"$NT_TMP/replay1.txt" 2>&1 || fail "dlq replay --value: $(cat "$NT_TMP/replay1.txt")"
"$PPCTL" dlq replay 0:2 >>"$NT_TMP/replay1.txt" 2>&1 || fail "dlq replay 0:2: $(cat "$NT_TMP/replay1.txt")"
grep -q "^replay 0:2 -> $PP_TOPIC (event $E1)$" "$NT_TMP/replay1.txt" || fail "replay output: $(cat "$NT_TMP/replay1.txt")"
wait_sql "SELECT string_agg(sequence || ':' || state, ',' ORDER BY sequence) FROM notifications" "1:sent,2:sent"
wait_metric "$NT_LAST_PORT" 'pp_notifier_skipped_total{reason="duplicate"}' 1

# Everything again: the delivered ones are duplicates, the malformed one returns to the DLQ.
"$PPCTL" dlq replay --all >"$NT_TMP/replay2.txt" 2>&1 || fail "dlq replay --all: $(cat "$NT_TMP/replay2.txt")"
[[ $(grep -c '^replay ' "$NT_TMP/replay2.txt") == 3 ]] || fail "replay --all: $(cat "$NT_TMP/replay2.txt")"
wait_metric "$NT_LAST_PORT" pp_notifier_dlq_total 4 # the malformed and the unfixed teleported again
wait_metric "$NT_LAST_PORT" 'pp_notifier_skipped_total{reason="duplicate"}' 2
"$PPCTL" dlq list --json | jq -e -s 'length == 5 and (.[3].reason | startswith("not valid JSON")) and (.[4].reason | contains("teleported"))' >/dev/null ||
	fail "the DLQ after the replays: $("$PPCTL" dlq list)"
nt_stop "$NT_LAST_PID"
[[ $(sql "SELECT count(*) FROM notifications") == 2 ]] || fail "ledger: $(sql "SELECT event_id, state FROM notifications")"

inbox >"$NT_TMP/inbox"
bodies=$(grep -o '"body":"[^"]*"' "$NT_TMP/inbox" | cut -d'"' -f4 | paste -sd'|' -)
[[ $bodies == "Paczka InPost 620000000000000000000801: w drodze|Paczka InPost 620000000000000000000801: wydana do doręczenia" ]] ||
	fail "inbox (each message once): $bodies"
echo ok
