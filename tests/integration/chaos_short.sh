#!/usr/bin/env bash
# chaos_short.sh - a short chaos run (tests/chaos/chaos) on a stack of its own: every fault
# kind once (several workers SIGKILLed at once; Kafka, Prosody and Postgres SIGKILLed and
# restarted) while buyers toggle, about 1,500 status changes; then the buyers' side must
# show nothing lost, duplicated, out of order or sent while off. A few minutes. The
# recovery times are printed, never asserted on.
# Its stack: port base PP_CHAOS_PORT_BASE (default tests/run's port base + 500), state
# "$PP_TEST_STATE-chaos"; stopped at the end.
set -uo pipefail
root=${PP_ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
base=${PP_CHAOS_PORT_BASE:-$((${PP_TEST_PORT_BASE:-56000} + 500))}
state=${PP_TEST_STATE:-$root/.local/test-stack}-chaos
out=${PP_TEST_TMP:-$(mktemp -d /tmp/pp-chaos_short.XXXXXX)}/chaos
# The test stack's database, topics and group are not this run's: its own stack names them.
unset PP_DB_URL PP_TOPIC PP_DLQ_TOPIC PP_IM_LINK_TOPIC PP_GROUP_ID
python3 "$root/tests/chaos/chaos" --build "${PP_BUILD:-$root/build}" --port-base "$base" --state "$state" \
	--out "$out" --seed "${PP_CHAOS_SEED:-4242}" --changes 1500 --faults 4 --each-kind \
	--wave 150 --active 300 --gap-min 2 --gap-max 5 --give-up 180 --timeout 480
rc=$?
((rc == 0)) || { echo "FAIL: the chaos run found problems or did not finish (logs in $out)"; exit 1; }
echo ok
