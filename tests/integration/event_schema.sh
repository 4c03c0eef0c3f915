#!/usr/bin/env bash
# Real events produced to Kafka by the poller's relay validate against
# schema/events/shipment-status.v1.json (JSON Schema 2020-12, python3-jsonschema).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

psql_q "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) SELECT g, 1, 1 FROM generate_series(1, 20) g;"
for i in $(seq 20); do
	"$PPCTL" ship --transaction "$i" --carrier inpost --number "$(printf '6%023d' $((i * 7919)))" >/dev/null
done
start_sim --speed 20000 --not-found-minutes 1
export PP_SPEED=20000
start_bg poller "$POLLER" >/dev/null
all_terminal() { [[ $(psql_q "SELECT count(*) FROM shipments WHERE status IN ('delivered','returned')") == 20 ]]; }
outbox_drained() { [[ $(psql_q "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 ]]; }
wait_until 240 all_terminal ||
	fail "shipments did not finish: $(psql_q "SELECT status, count(*) FROM shipments GROUP BY 1")"
wait_until 60 outbox_drained || fail "outbox not drained"
"$PPCTL" events >"$PP_TEST_TMP/events.jsonl"
n=$(wc -l <"$PP_TEST_TMP/events.jsonl")
[[ $n == "$(psql_q "SELECT count(*) FROM outbox")" ]] || fail "topic has $n events, outbox $(psql_q "SELECT count(*) FROM outbox")"
/usr/bin/python3 - "$PP_ROOT/schema/events/shipment-status.v1.json" "$PP_TEST_TMP/events.jsonl" <<'PY' || fail "schema validation failed"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
bad = 0
for i, line in enumerate(open(sys.argv[2]), 1):
    for e in v.iter_errors(json.loads(line)):
        bad += 1
        if bad <= 5:
            print(f"event {i}: {e.message}", file=sys.stderr)
# Per shipment, the topic (one partition per key) must hold the events in sequence order.
last = {}
for i, line in enumerate(open(sys.argv[2]), 1):
    ev = json.loads(line)
    sid, seq = ev["shipment_id"], ev["sequence"]
    if seq <= last.get(sid, 0):
        bad += 1
        print(f"event {i}: shipment {sid} sequence {seq} after {last[sid]}", file=sys.stderr)
    last[sid] = max(seq, last.get(sid, 0))
# A schema that accepts everything proves nothing: a broken event must fail.
broken = json.loads(open(sys.argv[2]).readline())
broken["status"] = "teleported"
assert not v.is_valid(broken), "schema accepted an unknown status"
sys.exit(1 if bad else 0)
PY
check_logs_clean
echo "ok ($n events valid)"
