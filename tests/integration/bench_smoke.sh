#!/usr/bin/env bash
# bench_smoke: tools/bench/api-bench runs in a quick mode (1 s per phase, 300 transactions)
# against the test stack's fresh database (--reuse-stack), completes, prints every figure of
# every phase (and its results file has them all), and no phase had a non-2xx answer or a
# socket error. Only that it works and what it prints is checked: never how fast anything was.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

BENCH=$PP_ROOT/tools/bench/api-bench
"$BENCH" --help | grep -q -- '--reuse-stack' || fail "api-bench --help does not describe --reuse-stack"

out=$PP_TEST_TMP/bench.out tsv=$PP_TEST_TMP/bench.tsv
timeout -k 5 150 "$BENCH" --reuse-stack --no-install --build "$PP_BUILD" --duration 1 --warmup 0 \
	--connections 8 --transactions 300 --buyers 100 --sellers 2 --variants "default pool=2,tp=2" \
	--results "$tsv" >"$out" 2>&1 || fail "api-bench failed: $(tail -25 "$out")"

# every phase of the first variant, the variant phases of the second one
want="sim/default healthz/default pg-card/default pg-card-prep/default card-seller/default card-buyer/default"
want+=" notif-put/default ship-put/default card-seller/pool=2,tp=2 notif-put/pool=2,tp=2"
got=$(awk -F'\t' 'NR > 1 { printf "%s%s/%s", sep, $1, $2; sep = " " }' "$tsv")
[[ $got == "$want" ]] || fail "phases in the results: '$got', want '$want'"
head -1 "$tsv" | grep -q $'^phase\tvariant\tlabel\treq_per_s\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tnon2xx\tsocket_errors\tserver_rss_mib\tserver_cpu_s\tpg_cpu_s\tgen_cpu_s\tmachine_busy_pct\tnew_db_conns\trequests\tduration_s$' ||
	fail "unexpected results header: $(head -1 "$tsv")"
bad=$(awk -F'\t' 'NR > 1 {
	num = "^[0-9]+(\\.[0-9]+)?$"
	for (i = 4; i <= 18; i++)
		if ($i !~ num && !(($1 ~ /^pg-/) && (i == 11 || i == 12))) print $1 "/" $2 ": field " i " is not a number: \"" $i "\""
	if ($4 <= 0 || $17 <= 0) print $1 "/" $2 ": no requests measured"
	if ($5 > $6 || $6 > $7) print $1 "/" $2 ": percentiles out of order"
	if ($9 != 0) print $1 "/" $2 ": " $9 " non-2xx answers"
	if ($10 != 0) print $1 "/" $2 ": " $10 " socket errors"
	if ($1 !~ /^pg-/ && $11 <= 0) print $1 "/" $2 ": no RSS"
}' "$tsv")
[[ -z $bad ]] || fail "results: $bad"

# the printed report: a result line per phase with every figure, the table, no warning
[[ $(grep -cE '^  [a-z-]+: [0-9.]+ req/s  p50 [0-9.]+ ms  p90 [0-9.]+ ms  p99 [0-9.]+ ms  max [0-9.]+ ms  non-2xx 0  socket errors 0$' "$out") == 10 ]] ||
	fail "not 10 result lines with every figure and 0 non-2xx: $(grep 'req/s' "$out")"
[[ $(grep -cE '(pp-api|simulator) RSS max [0-9.]+ MiB, CPU [0-9.]+ s \([0-9]+ % of a core\); postgres CPU [0-9.]+ s; wrk CPU [0-9.]+ s; machine busy [0-9]+ %; new DB connections [0-9]+$' "$out") == 8 ]] ||
	fail "not 8 resource lines: $(grep 'RSS max' "$out")"
[[ $(grep -cE '^      postgres CPU [0-9.]+ s; pgbench CPU [0-9.]+ s; machine busy [0-9]+ %$' "$out") == 2 ]] ||
	fail "not 2 pgbench resource lines: $(grep 'pgbench CPU' "$out")"
grep -qE '^route +pp-api +req/s +%healthz +p50 ms +p90 ms +p99 ms +max ms +non2xx +RSS MiB +srvCPU% +pgCPU% +genCPU% +newDB$' "$out" ||
	fail "no results table header"
for l in "ceiling: simulator GET /v1/tracking/{n}" "ceiling: GET /healthz" "ceiling: pgbench card SQL (as pp-api)" \
	"ceiling: pgbench card SQL (prepared)" "GET /v1/transactions/{id} (seller)" \
	"GET /v1/transactions/{id} (buyer)" "PUT /v1/me/notifications (toggle)" "PUT /v1/transactions/{id}/shipment"; do
	grep -qF "$l" "$out" || fail "the table has no row '$l'"
done
grep -q 'wrk runs on the same' "$out" || fail "the report does not say that wrk shares the cores"
grep -q 'WARNING' "$out" && fail "warnings: $(grep WARNING "$out")"
grep -q 'pp-api stopped (exit 0' "$out" || fail "pp-api did not stop cleanly: $(grep 'pp-api stopped' "$out")"

# the bench used this database: seeded, and the toggles really wrote
[[ $(psql_q "SELECT count(*) FROM transactions") == 300 ]] || fail "the bench did not seed 300 transactions here"
# (the seed's 100 inserts and the bench's resets to off before each toggle phase make < 200 rows)
[[ $(psql_q "SELECT count(*) > 200 FROM notify_changes") == t ]] || fail "PUT /v1/me/notifications changed no toggle"
echo ok
sed -n '/results (wrk/,/^$/p' "$out"
