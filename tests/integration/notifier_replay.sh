#!/usr/bin/env bash
# notifier_replay.sh - one IM per event, in order; a replay (same events again + a fresh
# consumer group reading from the start) sends nothing new.
NT_TEST=notifier_replay
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"
N=${N:-30}

nt_setup
JID=$(nt_jid 1)
nt_buyer 1 pl t "$JID" t
{
	nt_event 10 501 1 info_received "" number_entered
	for ((s = 2; s <= N; s++)); do nt_event 10 501 "$s" in_transit; done
} >"$NT_TMP/batch1"
produce <"$NT_TMP/batch1"

nt_start first
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" "$N"
P1=$NT_LAST_PORT
wait_metric "$P1" pp_notifier_messages_sent_total "$N" 5
nt_stop "$NT_LAST_PID"

# Exactly one message per event, in sequence order, with id <event_id>:<user_id>.
inbox >"$NT_TMP/inbox1"
want=$(awk '{ print $3 ":1" }' "$NT_TMP/events")
got=$(grep -o '"id":"[^"]*"' "$NT_TMP/inbox1" | cut -d'"' -f4)
[[ $(wc -l <"$NT_TMP/inbox1") == "$N" ]] || fail "inbox has $(wc -l <"$NT_TMP/inbox1") messages, want $N"
[[ $got == "$want" ]] || fail "inbox ids differ from the events in order: $(diff <(echo "$want") <(echo "$got") | head -5)"
grep -q '"body":"Paczka InPost 620000000000000000000501: sprzedawca nadał przesyłkę"' "$NT_TMP/inbox1" ||
	fail "first message text: $(head -1 "$NT_TMP/inbox1")"
grep -q '"body":"Paczka InPost 620000000000000000000501: w drodze"' "$NT_TMP/inbox1" || fail "w drodze text missing"
[[ $(sql "SELECT count(*) FROM notifications WHERE attempts = 1 AND sent_at IS NOT NULL") == "$N" ]] ||
	fail "ledger rows not sent exactly once"

# Replay: the same events produced again, and a new group that re-reads the whole topic.
produce <"$NT_TMP/batch1"
export PP_GROUP_ID=$PP_GROUP_ID-replay
nt_start replay
wait_metric "$NT_LAST_PORT" pp_notifier_events_consumed_total $((2 * N))
wait_metric "$NT_LAST_PORT" 'pp_notifier_skipped_total{reason="duplicate"}' $((2 * N))
[[ -z $(metric "$NT_LAST_PORT" pp_notifier_messages_sent_total) ]] || fail "replay sent messages"
nt_stop "$NT_LAST_PID"
inbox >"$NT_TMP/inbox2"
[[ ! -s $NT_TMP/inbox2 ]] || fail "replay delivered $(wc -l <"$NT_TMP/inbox2") message(s) again"
[[ $(sql "SELECT count(*) FROM notifications") == "$N" ]] || fail "ledger grew on replay"
echo ok
