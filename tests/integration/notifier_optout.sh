#!/usr/bin/env bash
# notifier_optout.sh - opted-out buyer, buyer without (verified) IM: nothing sent, ledger says
# skipped_*; a buyer who turns notifications off between two events gets only the first.
NT_TEST=notifier_optout
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"

nt_setup
nt_buyer 1 pl f "$(nt_jid 1)" t # opted out, has a linked JID
nt_buyer 2 pl t "" f            # opted in, no IM address
nt_buyer 3 pl t "$(nt_jid 3)" f # opted in, JID not verified
nt_buyer 4 en t "$(nt_jid 4)" t # opted in; turns it off after the first event
{
	nt_event 10 601 1 in_transit
	nt_event 20 602 1 in_transit
	nt_event 30 603 1 in_transit
	nt_event 40 604 1 available_for_pickup KRA01M
} | produce
nt_start one
state() { sql "SELECT state FROM notifications WHERE user_id = $1 ORDER BY sequence" | paste -sd, -; }
wait_sql "SELECT count(*) FROM notifications WHERE state <> 'sending'" 4
[[ $(state 1) == skipped_opted_out ]] || fail "buyer 1 (opted out): $(state 1)"
[[ $(state 2) == skipped_no_im ]] || fail "buyer 2 (no IM): $(state 2)"
[[ $(state 3) == skipped_no_im ]] || fail "buyer 3 (unverified IM): $(state 3)"
[[ $(state 4) == sent ]] || fail "buyer 4 first event: $(state 4)"

sql "UPDATE users SET notify_shipment_status = false, notify_changed_at = now() WHERE id = 4"
nt_event 40 604 2 delivered | produce
wait_sql "SELECT count(*) FROM notifications WHERE user_id = 4 AND state <> 'sending'" 2
[[ $(state 4) == sent,skipped_opted_out ]] || fail "buyer 4 after opting out: $(state 4)"
wait_metric "$NT_LAST_PORT" 'pp_notifier_skipped_total{reason="opted_out"}' 2 5
wait_metric "$NT_LAST_PORT" 'pp_notifier_skipped_total{reason="no_im"}' 2 5
nt_stop "$NT_LAST_PID"

inbox >"$NT_TMP/inbox"
[[ $(wc -l <"$NT_TMP/inbox") == 1 ]] || fail "want exactly 1 message, got: $(cat "$NT_TMP/inbox")"
grep -q "\"jid\":\"$(nt_jid 4)\".*\"body\":\"Parcel InPost 620000000000000000000604: is waiting in the Paczkomat locker KRA01M\"" \
	"$NT_TMP/inbox" || fail "buyer 4's message: $(cat "$NT_TMP/inbox")"
echo ok
