#!/usr/bin/env bash
# fleet_bench_smoke: tools/bench/fleet-bench runs in its tiny form (--tiny: 600 shipments per
# poller mix, 1 s ceilings, claims at 1,000 and 5,000 shipments, 2,000 outbox rows, 400
# events for 40 buyers, 20 status changes/s for 3 s end to end, 300 requests in flight) against the
# test stack's fresh database (--reuse-stack), completes, prints every row of every stage with
# its figure, ceiling, ratio, CPU and RSS, and its JSON has every stage, row and field. Only
# that it works and what it prints is checked: never how fast anything was.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

BENCH=$PP_ROOT/tools/bench/fleet-bench
help=$("$BENCH" --help)
for o in --reuse-stack --no-install --build --tiny --json --stage; do
	grep -q -- "$o" <<<"$help" || fail "fleet-bench --help does not describe $o"
done
rc=0
"$BENCH" --stage nosuch >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "an unknown --stage should exit 2, got $rc"

out=$PP_TEST_TMP/fleet.out json=$PP_TEST_TMP/fleet.json
timeout -k 5 170 "$BENCH" --reuse-stack --no-install --build "$PP_BUILD" --tiny --json "$json" >"$out" 2>&1 ||
	fail "fleet-bench failed: $(tail -25 "$out")"

# every stage, in order, with its rows
want="poller poller poller poller poller poller poller claim claim claim claim relay notifier notifier notifier latency latency latency latency inflight"
got=$(jq -r '[.stages[].stage] | join(" ")' "$json")
[[ $got == "$want" ]] || fail "stages of the JSON rows: '$got', want '$want'"
for f in machine load_average build date; do
	[[ $(jq -r --arg f "$f" '.[$f] // "" | tostring' "$json") != "" ]] || fail "the JSON has no '$f'"
done
# every row has every field; figures are numbers above 0; a row with a ceiling has a ratio;
# a process row has a CPU share for each process and an RSS
bad=$(jq -r '.stages[] | . as $r |
	(["stage", "row", "figure", "unit", "ceiling", "ceiling_label", "ratio", "cpu_pct", "rss_mib", "note"] - keys)[] as $k
		| "\($r.row): no field \($k)"' "$json")
bad+=$(jq -r '.stages[] |
	if (.figure | type) != "number" or .figure <= 0 then "\(.row): figure \(.figure)\n" else empty end,
	if .ceiling != null and ((.ceiling | type) != "number" or .ceiling <= 0 or (.ratio | type) != "number") then "\(.row): ceiling \(.ceiling), ratio \(.ratio)\n" else empty end,
	if (.cpu_pct | to_entries | map(select((.value | type) != "number")) | length) > 0 then "\(.row): CPU \(.cpu_pct)\n" else empty end,
	if (.row | test("^pp-poller, [a-z-]+( \\(1 change in 6\\))?$|^relay|^pp-poller RSS")) and ((.rss_mib | type) != "number" or .rss_mib <= 0 or (.cpu_pct.poller | type) != "number" or (.cpu_pct.postgres | type) != "number")
		then "\(.row): no RSS or CPU of the poller and Postgres\n" else empty end,
	if (.stage == "latency") and ((.cpu_pct | keys) != ["kafka", "machine", "notifier", "poller", "postgres", "prosody"] or (.rss_mib | type) != "number")
		then "\(.row): CPU \(.cpu_pct | keys), RSS \(.rss_mib)\n" else empty end,
	if (.row | startswith("pp-notifier, ")) and ((.rss_mib | type) != "number" or .rss_mib <= 0 or (.cpu_pct.notifier | type) != "number" or (.cpu_pct.postgres | type) != "number" or (.cpu_pct.prosody | type) != "number")
		then "\(.row): no RSS or CPU of the notifier, Postgres and Prosody\n" else empty end' "$json")
[[ -z $bad ]] || fail "JSON rows: $bad"
jq -e '[.stages[] | select(.stage == "latency" and (.row | test(" p50")))] | length == 2 and all(.note | test("CPU per change: machine [0-9.]+ ms of the [0-9.]+ ms"))' "$json" >/dev/null ||
	fail "the latency rows do not say the CPU per change"
jq -e '[.stages[] | select(.stage == "poller" and (.row | startswith("ceiling")))][0].cpu_pct | has("simulator") and has("wrk")' "$json" >/dev/null ||
	fail "the wrk ceiling has no CPU of the simulator and wrk"
for r in "ceiling: wrk -t1 -c64 on the simulator" "pp-poller, all-change" "pp-poller, all-change vs pgbench unprepared" \
	"pp-poller, all-change vs pgbench prepared" "pp-poller, realistic (1 change in 6)" \
	"pp-poller, realistic (1 change in 6) vs pgbench unprepared" "pp-poller, realistic (1 change in 6) vs pgbench prepared" \
	"claim of 200 due at 1000 shipments" "claim of 200 due at 5000 shipments" "bytes per shipment at 1000 shipments" \
	"bytes per shipment at 5000 shipments" "relay of 2000 outbox rows" \
	"pp-notifier, 400 events for 40 buyers into XMPP" "pp-notifier vs Kafka ConsumerPerformance" \
	"pp-notifier into the sink, 400 events for 40 buyers" \
	"end-to-end p50 at 20 changes/s" "end-to-end p99 at 20 changes/s" \
	"carrier answer -> IM ack p50, 20 polls/s" "carrier answer -> IM ack p99, 20 polls/s" "pp-poller RSS at poll_concurrency 300"; do
	jq -e --arg r "$r" 'any(.stages[]; .row == $r)' "$json" >/dev/null || fail "the JSON has no row '$r'"
	# the printed table: the row with a number as its figure
	grep -qE "^[a-z]+ +$(sed 's/[][()*.^$+?{}|\\]/\\&/g' <<<"$r") +[0-9.]+ " "$out" || fail "the table has no row '$r' with a figure"
done
grep -qE '^stage +row +figure +unit +ceiling +ceiling is +ratio +CPU % +RSS MiB$' "$out" || fail "no table header"
# the poller really polled and the relay really published, here
[[ $(psql_q "SELECT count(*) FROM transactions") == 0 ]] || fail "the bench left its data behind"
[[ $(jq '[.stages[] | select(.row == "pp-poller, all-change")][0].note | test("600 changes in 600 polls")' "$json") == true ]] ||
	fail "all-change: not every poll was a change: $(jq -r '.stages[1].note' "$json")"
[[ $(jq '[.stages[] | select(.row == "pp-poller, realistic (1 change in 6)")][0].note | test("100 changes in 600 polls")' "$json") == true ]] ||
	fail "realistic: not one poll in six a change: $(jq -r '.stages[4].note' "$json")"
[[ $(jq '[.stages[] | select(.row | startswith("pp-notifier, "))][0].note | test("ledger: sent 400;")' "$json") == true ]] ||
	fail "notifier: not every event sent: $(jq -r '[.stages[] | select(.stage == "notifier")][0].note' "$json")"
[[ $(jq '[.stages[] | select(.row | startswith("pp-notifier into the sink"))][0].note | test("ledger: sent 400$")' "$json") == true ]] ||
	fail "notifier into the sink: not every event settled sent: $(jq -r '[.stages[] | select(.row | startswith("pp-notifier into the sink"))][0].note' "$json")"
echo ok
sed -n '/ results (/,/^$/p' "$out"
