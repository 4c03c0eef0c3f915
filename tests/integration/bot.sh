#!/usr/bin/env bash
# bot.sh - pp-bot end to end: simulator (all carriers, credentials as the demo), Postgres, Prosody
# and chat clients (tests/tools/pp-chat). Checks: a fresh known number is answered from Postgres
# (no carrier call), a number the marketplace does not know from one live call shared by three
# concurrent askers, an ambiguous number asks for the carrier, stop/start flip the writer's flag,
# garbage gets the help text; the bot's workers row (kind bot) heartbeats with its counters, shows
# in `ppctl status`, and is marked stopped after SIGTERM; prints the reply latency median and p99
# over 50 asks. Day share, breaker and Retry-After: bot_limits.sh.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
set -uo pipefail

# Own bot account and three writers; the simulator answers in 150-250 ms.
bot_accounts 3
U1=u1-$tag@$D U2=u2-$tag@$D U3=u3-$tag@$D
bot_sim 150-250
export PP_BOT_FRESH_S=600 PP_HEARTBEAT_INTERVAL_MS=300
# per-writer limits widened (they are bot_abuse.sh's): this test is about answers and fleet budgets
export PP_BOT_SENDER_MSGS_BURST=100000 PP_BOT_SENDER_LIVE_BURST=100000

# Marketplace data: seeded shipments; user 1 (pl) and 2 (en) linked to u1/u2, u3 not linked.
"$PPCTL" seed --transactions 40 --buyers 4 --first-id 100 >"$PP_TEST_TMP/seed.log" 2>&1 || fail "seed: $(tail -3 "$PP_TEST_TMP/seed.log")"
psql_q "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
        VALUES (1, 'pl', true, 'xmpp', '$U1', true), (2, 'en', false, 'xmpp', '$U2', true)" || fail "users"
# Every shipment fresh with a known status, except the UPS ones: renamed, so the marketplace
# does not know their numbers any more.
psql_q "UPDATE shipments SET status = 'in_transit', last_location = 'Kraków', last_polled_at = now(),
        last_event_at = '2026-01-15T10:00:00Z'" || fail "fresh"
mapfile -t UPS < <(psql_q "SELECT tracking_number FROM shipments WHERE carrier = 'ups' ORDER BY id")
psql_q "UPDATE shipments SET tracking_number = 'X' || tracking_number WHERE carrier = 'ups'" || fail "rename"
mapfile -t KNOWN < <(psql_q "SELECT carrier || ' ' || tracking_number FROM shipments WHERE carrier <> 'ups' ORDER BY id")
((${#UPS[@]} >= 3 && ${#KNOWN[@]} >= 10)) || fail "seed gave ${#UPS[@]} UPS and ${#KNOWN[@]} other numbers"

bot_start

chat() { # USER LINE...: JSON lines on stdout
	local u=$1
	shift
	bot_chat "$u" -T 120 "$@"
}
reply() { python3 -c 'import json,sys; [print(json.loads(l)["reply"]) for l in sys.stdin]'; }
sim_calls() { grep -c "\"number\":\"$1\"" "$PP_TEST_TMP/requests.jsonl"; }

# 1. known and fresh: from Postgres, no carrier call
read -r kc kn <<<"${KNOWN[0]}"
got=$(chat u1 "paczka $kc $kn" | reply) || fail "no reply to the known number"
[[ $got == "Paczka "*" $kn: w drodze (Kraków, 15.01.2026 11:00)" ]] || fail "known number: [$got]"
[[ $(sim_calls "$kn") == 0 ]] || fail "known fresh number went to the carrier"

# 2. unknown to the marketplace, three writers at once: one live call
n=${UPS[0]}
rm -f "$PP_TEST_TMP/go" "$PP_TEST_TMP"/go.up.*
cpids=()
for u in 1 2 3; do
	chat u$u "paczka ups $n" -b "$PP_TEST_TMP/go" >"$PP_TEST_TMP/c$u.json" 2>"$PP_TEST_TMP/c$u.err" &
	cpids+=($!)
done
barrier_wait "$PP_TEST_TMP/go" 3 # all three logged in, then released together
wait "${cpids[@]}"
for u in 1 2 3; do
	r=$(reply <"$PP_TEST_TMP/c$u.json")
	[[ $r == "Pac"*" UPS $n: "* || $r == "Parcel UPS $n: "* ]] || fail "$u live reply: [$r] $(cat "$PP_TEST_TMP/c$u.err")"
	echo "# $u: $r"
done
[[ $(sim_calls "$n") == 1 ]] || fail "want exactly 1 carrier call for $n, got $(sim_calls "$n")"
co=$(curl -sf "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "pp_bot_live_coalesced_total{carrier=\"ups\"}" { print $2 }')
[[ $co == 2 ]] || fail "coalesced asks: want 2, got '$co'"

# 3. ambiguous number asks for the carrier; invalid says so
got=$(chat u3 "paczka 3318810025" "Paczka DHL 12" | reply) || fail "no reply (ambiguous/invalid)"
grep -q "^Numer 3318810025 pasuje do kilku przewoźników: DHL, ORLEN Paczka. Który?" <<<"$got" || fail "ambiguous: [$got]"
grep -q "^12 to nie jest poprawny numer przesyłki DHL" <<<"$got" || fail "invalid: [$got]"

# 4. stop / start flip the writer's flag; an unlinked address is told so
flag() { psql_q "SELECT notify_shipment_status FROM users WHERE id = $1"; }
got=$(chat u1 "STOP" | reply)
[[ $got == "Powiadomienia o statusie przesyłki wyłączone." && $(flag 1) == f ]] || fail "stop: [$got] flag $(flag 1)"
got=$(chat u1 " start " | reply)
[[ $got == "Powiadomienia o statusie przesyłki włączone." && $(flag 1) == t ]] || fail "start: [$got] flag $(flag 1)"
got=$(chat u2 "Start" | reply)
[[ $got == "Shipment status notifications are on." && $(flag 2) == t ]] || fail "start (en): [$got] flag $(flag 2)"
got=$(chat u3 "stop" | reply)
[[ $got == "Ten adres nie jest powiązany z żadnym kontem"* ]] || fail "unlinked stop: [$got]"

# 5. garbage gets the help text
got=$(chat u3 "hello bot ąę" | reply)
[[ $got == "Jestem botem paczka."* ]] || fail "garbage: [$got]"
got=$(chat u2 "help" | reply)
[[ $got == "I am the paczka bot."* ]] || fail "help (en): [$got]"

# 5b. hostile text in a reply: a place with control characters (as an older poller, or any
# other writer, may have left it in Postgres) is answered clean, and the bot's stream survives
# (one raw control character in a stanza and the server closes it: no reply to anyone)
read -r hc hn <<<"${KNOWN[1]}"
psql_q "UPDATE shipments SET last_location = E'KRA\\x01X\\x1b[31m' WHERE tracking_number = '$hn'" || fail "hostile place"
got=$(chat u1 "paczka $hc $hn" "pomoc" | reply) || fail "no reply to a parcel with a hostile place: [$got]"
grep -q "^Paczka .* $hn: w drodze (KRAX\[31m, 15.01.2026 11:00)$" <<<"$got" || fail "hostile place reply: [$got]"
grep -q "^Jestem botem paczka." <<<"$got" || fail "no reply after the hostile one: [$got]"
! grep -qP '[\x00-\x08\x0b-\x1f\x7f]' <<<"$got" || fail "a control character in a reply"
psql_q "UPDATE shipments SET last_location = 'Kraków' WHERE tracking_number = '$hn'" || fail "restore place"

# 6. latency over 50 asks: known numbers (Postgres) and the other UPS numbers (live)
lines=()
for ((i = 0; i < 50; i++)); do
	if ((i % 5 == 4)); then lines+=("paczka ups ${UPS[(i / 5) % ${#UPS[@]}]}"); else lines+=("paczka ${KNOWN[i % ${#KNOWN[@]}]}"); fi
done
chat u1 "${lines[@]}" >"$PP_TEST_TMP/lat.json" || fail "latency run: $(wc -l <"$PP_TEST_TMP/lat.json") replies"
python3 - "$PP_TEST_TMP/lat.json" >"$PP_TEST_TMP/latency.txt" <<'PY' || fail "latency run replies"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 50, len(rows)
for r in rows:
    assert r["reply"].startswith("Paczka "), r
t = sorted(r["rtt_ms"] for r in rows)
db = sorted(r["rtt_ms"] for r in rows if "ups" not in r["ask"])
print("bot reply latency over %d asks: median %.1f ms, p99 %.1f ms (Postgres-only median %.1f ms; live calls wait on the simulator's 150-250 ms)"
      % (len(t), t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))], db[len(db) // 2]))
PY
# (read whole first: with pipefail, `curl | grep -q` fails when grep stops reading early)
metrics=$(curl -sf "http://127.0.0.1:$MPORT/metrics") || fail "cannot read /metrics"
grep -q '^pp_bot_reply_latency_seconds_count' <<<"$metrics" || fail "no latency histogram"
grep -q '^pp_bot_asks_total{command="stop"} 2' <<<"$metrics" || fail "asks by command"

# 7. the workers row: kind bot, heartbeating with its counters, in `ppctl status`
row() { psql_q "SELECT $1 FROM workers WHERE kind = 'bot'"; }
[[ $(row "count(*)") == 1 ]] || fail "workers rows of kind bot: $(row "count(*)")"
[[ $(row "stopped_at IS NULL AND heartbeat_at > now() - interval '10 seconds'") == t ]] || fail "bot row not live: $(row "heartbeat_at, stopped_at")"
counted() { (($(row "(counters->>'asks')::int") >= 62)); }
wait_until 10 counted || fail "heartbeat counters: $(row counters)"
[[ $(row "(counters->>'coalesced')::int >= 2 AND (counters->>'live_calls')::int >= 1 AND (counters->>'answered_db')::int >= 40 AND (counters->>'latency_p99_ms')::float > 0") == t ]] || fail "counters: $(row counters)"
[[ $(row "metrics_addr") == "127.0.0.1:$MPORT" ]] || fail "metrics_addr $(row metrics_addr), bot serves :$MPORT"
"$PPCTL" status >"$PP_TEST_TMP/status.txt" 2>&1 || fail "ppctl status: $(cat "$PP_TEST_TMP/status.txt")"
grep -q '^workers live: .* 1 bots$' "$PP_TEST_TMP/status.txt" || fail "ppctl status: $(head -2 "$PP_TEST_TMP/status.txt")"
grep -q '^bot: [0-9]* asks, [0-9]* answered from Postgres, [0-9]* live calls' "$PP_TEST_TMP/status.txt" || fail "ppctl status bot line: $(head -2 "$PP_TEST_TMP/status.txt")"
"$PPCTL" status --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["live"]["bot"] == 1 and j["bot"]["asks"] >= 62, j; b = [w for w in j["workers"] if w["kind"] == "bot"]; assert "ups" in b[0]["counters"]["carriers"], b' || fail "ppctl status --json (the bot and its carriers)"

# graceful stop: exit 0, the row marked stopped
stop_pid "$BOT_PID" 300
[[ $(row "stopped_at IS NOT NULL") == t ]] || fail "bot row not marked stopped: $(row "heartbeat_at, stopped_at")"
check_logs_clean
echo ok
cat "$PP_TEST_TMP/latency.txt"
