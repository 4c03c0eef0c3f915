#!/usr/bin/env bash
# multihost.sh - the fleet on three "hosts" (network namespaces, workers reaching the servers
# over a veth interface, not loopback), scaled (pollers 1 -> 4 -> 2, notifiers 1 -> 3 -> 1),
# a host crashed (SIGKILL of its namespace) and a host cut off for longer than the lease,
# during a few thousand parcels; then Postgres (fencing: nothing written twice) and the buyers'
# inboxes (tests/chaos/buyers_check.py: nothing lost, twice, or to an opted-out buyer).
# tests/multihost/multihost does it all; see there. 2-4 minutes.
# Its stack (in its own namespace): port base PP_MULTIHOST_PORT_BASE (default tests/run's port
# base + 700), state "$PP_TEST_STATE-multihost"; namespaces pp<port base>-*; all removed at the end.
set -uo pipefail
root=${PP_ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
base=${PP_MULTIHOST_PORT_BASE:-$((${PP_TEST_PORT_BASE:-56000} + 700))}
state=${PP_TEST_STATE:-$root/.local/test-stack}-multihost
out=${PP_TEST_TMP:-$(mktemp -d /tmp/pp-multihost.XXXXXX)}/multihost
((EUID == 0)) || { echo "FAIL: needs root (network namespaces)"; exit 1; }
# The test stack's database, topics and group are not this run's: its own stack names them.
unset PP_DB_URL PP_TOPIC PP_DLQ_TOPIC PP_IM_LINK_TOPIC PP_GROUP_ID PP_KAFKA_BROKERS
python3 "$root/tests/multihost/multihost" --build "${PP_BUILD:-$root/build}" --port-base "$base" \
	--state "$state" --out "$out" --parcels 2400 --timeout 420
rc=$?
((rc == 0)) || { echo "FAIL: the multi-host run found problems or did not finish (logs in $out)"; exit 1; }
echo ok
