#!/usr/bin/env bash
# bot_abuse.sh - pp-bot's per-sender limits (bot/senders.c), judged from the writers' inboxes,
# the bot's counters and the simulator's request log. Limits: 10 messages in a burst, 3 live
# lookups in a burst, both refilled at 1 per minute (so no refill changes the counts however
# slow the machine):
# (1) 200 `pomoc` at once from one account: 10 answered, one polite refusal, the rest unanswered
#     (and no database job for them);
# (2) another writer is still answered at once, live lookup included;
# (3) 10 unknown InPost numbers at once from one account: 3 carrier calls, one refusal, no more;
# (4) a writer over the live limit asking about a parcel Postgres knows gets its status from
#     Postgres, without a call.
# Prints the figures after "ok".
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
set -uo pipefail

bot_accounts 4
bot_sim 10
export PP_BOT_FRESH_S=60 PP_HEARTBEAT_INTERVAL_MS=300 PP_BOT_MAX_WAIT_MS=5000
export PP_BOT_SENDER_MSGS_BURST=10 PP_BOT_SENDER_MSGS_PER_MIN=1 PP_BOT_SENDER_LIVE_BURST=3 PP_BOT_SENDER_LIVE_PER_MIN=1

# Parcels: all polled an hour ago (not fresh); one InPost number stays known, the others are
# renamed so Postgres does not know them.
"$PPCTL" seed --transactions 60 --buyers 4 --first-id 100 --carrier inpost >"$PP_TEST_TMP/seed.log" 2>&1 ||
	fail "seed: $(tail -3 "$PP_TEST_TMP/seed.log")"
psql_q "UPDATE shipments SET status = 'in_transit', last_location = 'Kraków', last_polled_at = now() - interval '1 hour',
        last_event_at = '2026-01-15T10:00:00Z'" || fail "stale"
psql_q "UPDATE shipments SET tracking_number = 'X' || tracking_number WHERE id <> (SELECT min(id) FROM shipments)" || fail "rename"
KNOWN=$(psql_q "SELECT tracking_number FROM shipments WHERE tracking_number NOT LIKE 'X%'")
mapfile -t UNK < <(psql_q "SELECT substr(tracking_number, 2) FROM shipments WHERE tracking_number LIKE 'X%' ORDER BY id LIMIT 20")
((${#UNK[@]} == 20)) || fail "seed gave ${#UNK[@]} unknown numbers"

bot_start

msum() { # sum of every series of a metric family
	curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" 'index($1, m) == 1 && (substr($1, length(m) + 1, 1) == "{" || $1 == m) { s += $2 } END { print s + 0 }'
}
calls() { [[ -f $PP_TEST_TMP/requests.jsonl ]] && grep -c '"carrier":"inpost"' "$PP_TEST_TMP/requests.jsonl" || echo 0; }
chat() { # USER LINE...: one JSON line per ask
	local u=$1
	shift
	bot_chat "$u" -T 15 "$@"
}
# flood USER LINE...: send every line at once, wait until the bot has decided each (replied or
# dropped) and every reply arrived; the replies in $PP_TEST_TMP/USER.txt.
flood() {
	local u=$1
	shift
	local n=$# stop=$PP_TEST_TMP/$u.stop out=$PP_TEST_TMP/$u.json
	local r0 d0
	r0=$(msum pp_bot_replies_total) d0=$(msum pp_bot_sender_dropped_total)
	rm -f "$stop"
	bot_chat "$u" -T 120 -f "$stop" "$@" \
		>"$out" 2>"$PP_TEST_TMP/$u.err" &
	local cpid=$!
	decided() { echo $(($(msum pp_bot_replies_total) - r0 + $(msum pp_bot_sender_dropped_total) - d0)); }
	all_decided() { (($(decided) >= n)); }
	wait_until 120 all_decided || fail "$u: the bot decided $(decided) of $n messages"
	local sent=$(($(msum pp_bot_replies_total) - r0))
	all_arrived() { (($(wc -l <"$out") >= sent)); }
	wait_until 30 all_arrived || fail "$u: $(wc -l <"$out") of $sent replies arrived"
	touch "$stop"
	wait "$cpid" || fail "$u: pp-chat failed: $(cat "$PP_TEST_TMP/$u.err")"
	python3 -c 'import json,sys; [print(json.loads(l)["reply"].replace("\n", " ")) for l in open(sys.argv[1])]' "$out" >"$PP_TEST_TMP/$u.txt"
}

# ---- (1) 200 `pomoc` from one account ----
asks_before=$(msum pp_bot_asks_total)
mapfile -t POMOC < <(yes pomoc | head -200)
flood u1 "${POMOC[@]}"
help=$(grep -c '^Jestem botem paczka' "$PP_TEST_TMP/u1.txt")
refusals=$(grep -c '^Piszesz do mnie za szybko: na kolejne wiadomości odpowiem za ok. [0-9]* s. / You are writing too fast' "$PP_TEST_TMP/u1.txt")
other=$(($(wc -l <"$PP_TEST_TMP/u1.txt") - help - refusals))
asks=$(($(msum pp_bot_asks_total) - asks_before))
((help >= 10 && help <= 11)) || fail "200 pomoc: $help answered (burst 10)"
((refusals == 1)) || fail "200 pomoc: $refusals refusals, want 1"
((other == 0)) || fail "200 pomoc: $other other replies: $(grep -v -e '^Jestem' -e '^Piszesz' "$PP_TEST_TMP/u1.txt" | head -3)"
((asks == help)) || fail "200 pomoc: $asks asks reached the database step for $help answers"

# ---- (2) another writer is served ----
got=$(chat u2 pomoc "paczka inpost ${UNK[19]}") || fail "u2 got no replies"
[[ $(sed -n 1p <<<"$got") == *'"reply":"Jestem botem paczka'* ]] || fail "u2's pomoc: $got"
[[ $(grep -c "\"number\":\"${UNK[19]}\"" "$PP_TEST_TMP/requests.jsonl") == 1 ]] || fail "u2's lookup did not reach the carrier"

# ---- (3) 10 unknown numbers at once from one account ----
c0=$(calls)
lines=()
for i in $(seq 0 9); do lines+=("paczka inpost ${UNK[i]}"); done
flood u3 "${lines[@]}"
live_calls=$(($(calls) - c0))
live_refusals=$(grep -c '^Paczka InPost [0-9]*: pytasz przewoźników o wiele przesyłek naraz, spróbuj za ok. [0-9]* s.$' "$PP_TEST_TMP/u3.txt")
answered=$(grep -c -v 'pytasz przewoźników' "$PP_TEST_TMP/u3.txt")
((live_calls >= 3 && live_calls <= 4)) || fail "10 unknown numbers: $live_calls carrier calls (burst 3)"
((live_refusals == 1)) || fail "10 unknown numbers: $live_refusals refusals: $(cat "$PP_TEST_TMP/u3.txt")"
((answered == live_calls)) || fail "10 unknown numbers: $answered answers for $live_calls calls: $(cat "$PP_TEST_TMP/u3.txt")"

# ---- (4) over the live limit, a known parcel: from Postgres, no call ----
c0=$(calls)
got=$(chat u4 "paczka inpost ${UNK[10]}" "paczka inpost ${UNK[11]}" "paczka inpost ${UNK[12]}" "paczka inpost $KNOWN") ||
	fail "u4 got no replies"
[[ $(($(calls) - c0)) == 3 ]] || fail "u4: $(($(calls) - c0)) calls for 3 unknown numbers and a known one over the limit"
[[ $(tail -1 <<<"$got") == *"$KNOWN: w drodze (Kraków, 15.01.2026 11:00). Stan z "*": Twój limit zapytań do przewoźników jest na razie wyczerpany.\""* ]] ||
	fail "u4's known parcel over the limit: $(tail -1 <<<"$got")"

limited=$(msum pp_bot_sender_limited_total)
kill -TERM "$BOT_PID"
rc=0
wait "$BOT_PID" || rc=$?
((rc == 0)) || fail "pp-bot exited $rc after SIGTERM"
check_logs_clean
echo ok
echo "    200 pomoc from one account: $help answered, $refusals refusal, $((200 - help - refusals)) unanswered"
echo "    10 unknown numbers from one account: $live_calls carrier calls, $live_refusals refusal; another writer still served"
echo "    per-sender limits applied $limited times"
