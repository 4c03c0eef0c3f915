#!/usr/bin/env bash
# log_json.sh - log_format = json: every line a pp-poller writes, librdkafka's own lines
# included (routed through the one logger by a log callback), is one JSON object with time,
# level, process, pid, worker and msg; none is librdkafka's raw "%7|..." format. A SIGHUP back
# to text switches the format at once, and SIGTERM still stops it with 0.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail

T=$PP_TEST_TMP
printf 'log_format = json\nlog_level = debug\nworker_id = logjson-%s\nmetrics_addr = 127.0.0.1:0\nrdkafka.debug = metadata\n' "$$" >"$T/poller.conf"
start_bg poller "$POLLER" --config "$T/poller.conf" >/dev/null
pid=${pp_test_pids[-1]}
has_kafka_line() { grep -q '"msg":"kafka ' "$T/poller.log"; }
wait_until 60 has_kafka_line || fail "no librdkafka line routed through the logger: $(tail -3 "$T/poller.log")"
wait_until 30 grep -q 'metrics on http' "$T/poller.log" || fail "pp-poller did not start: $(tail -3 "$T/poller.log")"

check=$(python3 - "$T/poller.log" "logjson-$$" <<'PY'
import json, sys
path, worker = sys.argv[1], sys.argv[2]
n = kafka = 0
for i, line in enumerate(open(path, encoding="utf-8"), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        print(f"line {i} is not JSON ({e}): {line[:120]!r}"); sys.exit(1)
    missing = {"time", "level", "process", "pid", "msg"} - o.keys()
    if missing or o["process"] != "pp-poller" or o["level"] not in ("debug", "info", "warn", "error"):
        print(f"line {i}: fields {sorted(o)} process {o.get('process')} level {o.get('level')}"); sys.exit(1)
    if o.get("worker") not in (None, worker):
        print(f"line {i}: worker {o.get('worker')!r}, want {worker}"); sys.exit(1)
    n += 1
    kafka += o["msg"].startswith("kafka ")
print(f"{n} lines, all JSON; {kafka} of them librdkafka's")
PY
) || fail "log_format = json: $check"
grep -q '^%[0-9]|' "$T/poller.log" && fail "a raw librdkafka line escaped the logger"
grep -q "\"worker\":\"logjson-$$\"" "$T/poller.log" || fail "no line carries the worker id"

printf 'log_format = text\nlog_level = info\nworker_id = logjson-%s\nmetrics_addr = 127.0.0.1:0\n' "$$" >"$T/poller.conf"
kill -HUP "$pid"
wait_until 30 grep -qE '^[0-9-]+T[0-9:.]+Z pp-poller\[[0-9]+\] info: ' "$T/poller.log" || fail "SIGHUP did not switch back to text: $(tail -2 "$T/poller.log")"
stop_pid "$pid" 60
echo ok
echo "    $check; SIGHUP to text took effect; SIGTERM exit 0"
