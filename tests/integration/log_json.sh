#!/usr/bin/env bash
# log_json.sh - log_format = json: every line a pp-poller writes, librdkafka's own lines
# included (routed through the one logger by a log callback), is one JSON object with time,
# level, process, pid, worker and msg; none is librdkafka's raw "%7|..." format. Lines about
# one shipment or event carry it as fields of their own: the poller's poll outcome
# shipment_id and carrier, the relay's delivery event_id, partition and offset, a pp-notifier's
# decision event_id and user_id (what an operator filters with jq). A SIGHUP back to text
# switches the format at once, and SIGTERM still stops it with 0.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail

T=$PP_TEST_TMP
# One parcel of buyer 1, who turned notifications off: the notifier decides it without a send.
psql_q "INSERT INTO users (id, notify_shipment_status) VALUES (1, false); INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (10, 1, 1)" || fail "seed"
"$PPCTL" ship --transaction 10 --carrier inpost --number 620000000000000000000031 >/dev/null || fail "ppctl ship"
SID=$(psql_q "SELECT id FROM shipments")
start_sim --speed 20000 --not-found-minutes 1
export PP_SPEED=20000

printf 'log_format = json\nlog_level = debug\nworker_id = logjson-%s\nops_addr = 127.0.0.1:0\nrdkafka.debug = metadata\n' "$$" >"$T/poller.conf"
start_bg poller "$POLLER" --config "$T/poller.conf" >/dev/null
pid=${pp_test_pids[-1]}
has_kafka_line() { grep -q '"msg":"kafka ' "$T/poller.log"; }
wait_until 60 has_kafka_line || fail "no librdkafka line routed through the logger: $(tail -3 "$T/poller.log")"
wait_until 30 grep -q 'metrics on http' "$T/poller.log" || fail "pp-poller did not start: $(tail -3 "$T/poller.log")"
polled() { [[ $(psql_q "SELECT polls > 0 FROM shipments") == t ]]; }
wait_until 60 polled || fail "the parcel was never polled: $(tail -3 "$T/poller.log")"
outbox_drained() { [[ $(psql_q "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 ]]; }
wait_until 60 outbox_drained || fail "outbox not published"

# pp-notifier, JSON at debug level, with a bot account of its own.
xmpp_stack
export PP_XMPP_JID=jbot-$tag@$D PP_XMPP_PASSWORD=jb-$tag
xmpp_register "jbot-$tag" "jb-$tag"
PP_LOG_FORMAT=json PP_LOG_LEVEL=debug start_bg notifier "$NOTIFIER" >/dev/null
npid=${pp_test_pids[-1]}
decided() { [[ $(psql_q "SELECT count(*) FROM notifications WHERE state = 'skipped_opted_out'") -ge 1 ]]; }
wait_until 60 decided || fail "the notifier decided nothing: $(tail -3 "$T/notifier.log")"
has_decision_line() { grep -q '"outcome":"skipped_opted_out"' "$T/notifier.log"; }
wait_until 30 has_decision_line || fail "no decision line in the notifier's log: $(tail -3 "$T/notifier.log")"
stop_pid "$npid" 60

check=$(python3 - "$T/poller.log" "logjson-$$" "$T/notifier.log" "$SID" <<'PY'
import json, re, sys
path, worker, npath, sid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def lines(path, process):
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            print(f"{path} line {i} is not JSON ({e}): {line[:120]!r}"); sys.exit(1)
        missing = {"time", "level", "process", "pid", "msg"} - o.keys()
        if missing or o["process"] != process or o["level"] not in ("debug", "info", "warn", "error"):
            print(f"{path} line {i}: fields {sorted(o)} process {o.get('process')} level {o.get('level')}"); sys.exit(1)
        yield o
n = kafka = 0
polls = relayed = 0
for o in lines(path, "pp-poller"):
    if o.get("worker") not in (None, worker):
        print(f"poller: worker {o.get('worker')!r}, want {worker}"); sys.exit(1)
    n += 1
    kafka += o["msg"].startswith("kafka ")
    if f"shipment {sid} (" in o["msg"]:  # a poll's outcome or deferral
        if o.get("shipment_id") != sid or o.get("carrier") != "inpost":
            print(f"poll line without its fields: {o}"); sys.exit(1)
        polls += 1
    if "relay: event" in o["msg"] and " at offset " in o["msg"]:
        if not re.fullmatch(r"[0-9a-f-]{36}", o.get("event_id", "")) or o.get("shipment_id") != sid \
                or not isinstance(o.get("partition"), int) or not isinstance(o.get("offset"), int):
            print(f"relay line without its fields: {o}"); sys.exit(1)
        relayed += 1
decisions = 0
for o in lines(npath, "pp-notifier"):
    if o.get("outcome") == "skipped_opted_out":
        if not re.fullmatch(r"[0-9a-f-]{36}", o.get("event_id", "")) or o.get("user_id") != 1 \
                or o.get("shipment_id") != sid or not isinstance(o.get("offset"), int):
            print(f"decision line without its fields: {o}"); sys.exit(1)
        decisions += 1
if not polls or not relayed or not decisions:
    print(f"{polls} poll lines, {relayed} relay lines, {decisions} notifier decisions with fields"); sys.exit(1)
print(f"{n} poller lines, all JSON, {kafka} of them librdkafka's; fields on {polls} poll, "
      f"{relayed} relay and {decisions} notifier lines")
PY
) || fail "log_format = json: $check"
grep -q '^%[0-9]|' "$T/poller.log" && fail "a raw librdkafka line escaped the logger"
grep -q "\"worker\":\"logjson-$$\"" "$T/poller.log" || fail "no line carries the worker id"

printf 'log_format = text\nlog_level = info\nworker_id = logjson-%s\nops_addr = 127.0.0.1:0\n' "$$" >"$T/poller.conf"
kill -HUP "$pid"
wait_until 30 grep -qE '^[0-9-]+T[0-9:.]+Z pp-poller\[[0-9]+\] info: ' "$T/poller.log" || fail "SIGHUP did not switch back to text: $(tail -2 "$T/poller.log")"
stop_pid "$pid" 60
echo ok
echo "    $check; SIGHUP to text took effect; SIGTERM exit 0"
