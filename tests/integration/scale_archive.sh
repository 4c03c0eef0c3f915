#!/usr/bin/env bash
# The hot table stays the size of the active parcels as parcels finish (issue 10, scale):
# the due index (partial: next_poll_at IS NOT NULL) does not grow when a round of parcels
# finishes and the next round comes; `ppctl archive` moves finished transactions (shipments
# and events) out of the hot table, so its heap does not grow either, while every reader still
# sees them (pp-api's card, pp-bot's lookup, ppctl status); an entry for an archived
# transaction brings it back, and a replaced number of it can be made current again. The
# claim's plan walks the due index of the hot table only. The migration applies to a database
# with data. Asserts on sizes, row counts and plans; never on timing.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/api_lib.sh"

N=20000
vacuum() { psql "$PP_DB_URL" -XAtq -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE shipments" -c "VACUUM ANALYZE shipment_events" >/dev/null; }
size() { vacuum; psql_q "SELECT pg_relation_size('$1')"; }

# load FIRST N: transactions FIRST.. with one InPost shipment each, due now, and its
# number_entered event (what pp_shipment_enter writes, in bulk)
load() {
	psql_q "INSERT INTO transactions (id, buyer_id, seller_id) SELECT g, 1, 1 FROM generate_series($1, $1 + $2 - 1) g;
	        INSERT INTO shipments (id, transaction_id, carrier, tracking_number, sequence, next_poll_at)
	          SELECT g, g, 'inpost', '6' || lpad(g::text, 23, '0'), 1, now() - interval '1 minute' FROM generate_series($1, $1 + $2 - 1) g;
	        INSERT INTO shipment_events (shipment_id, sequence, kind, status, occurred_at, event_id)
	          SELECT g, 1, 'number_entered', 'info_received', now(), gen_random_uuid() FROM generate_series($1, $1 + $2 - 1) g;
	        SELECT setval('shipments_id_seq', $1 + $2 - 1)" >/dev/null
}
# finish FIRST N: the poller's last write-back of a delivered parcel (its event, next_poll_at NULL)
finish() { # two transactions: an update of rows this transaction key-share locked (the events' FK
	# checks) makes a multixact per row (20,000: 49 s)
	psql "$PP_DB_URL" -XAtq -v ON_ERROR_STOP=1 -c "INSERT INTO shipment_events (shipment_id, sequence, kind, status, previous_status, occurred_at, event_id)
	          SELECT g, 2, 'status_changed', 'delivered', 'info_received', now(), gen_random_uuid() FROM generate_series($1, $1 + $2 - 1) g" \
		-c "UPDATE shipments SET status = 'delivered', progress = 5, sequence = 2, delivered_at = now(), last_change_at = now(),
	          last_polled_at = now(), polls = polls + 1, next_poll_at = NULL WHERE id BETWEEN $1 AND $1 + $2 - 1" >/dev/null
}

psql_q "INSERT INTO users (id) VALUES (1)" >/dev/null
KEY=$("$PPCTL" seller --id 1 --new-key)

# ---- round 1: N parcels polled, then all delivered; round 2: N new ones ----
load 1 "$N"
due1=$(size shipments_due)
finish 1 "$N"
# what autovacuum does between the rounds: a first VACUUM removes the finished parcels' dead
# entries and deletes the pages they leave empty, the next hands those pages back for reuse
vacuum
vacuum
load $((N + 1)) "$N"
due2=$(size shipments_due)
heap2=$(size shipments)
echo "due index: $due1 B with $N polled, $due2 B with $N polled + $N delivered"
((due2 <= due1 * 12 / 10)) || fail "the due index grew with finished parcels: $due1 -> $due2 B"

# ---- the delivered round archived; round 3: N new ones fill the hot table's freed space ----
out=$("$PPCTL" archive --after-days 1) || fail "ppctl archive failed: $out"
[[ $out == "archived 0 transactions"* ]] || fail "archived parcels finished within the retention: $out"
out=$("$PPCTL" archive --after-days 0 --batch 700)
[[ $out == "archived $N transactions ($N shipments, $((2 * N)) events)"* ]] || fail "ppctl archive: $out"
vacuum
load $((2 * N + 1)) "$N"
heap3=$(size shipments)
echo "hot heap: $heap2 B with $N delivered + $N polled, $heap3 B after archiving those delivered and $N more polled"
((heap3 <= heap2 * 11 / 10)) || fail "the hot table grew with finished parcels: $heap2 -> $heap3 B"
[[ $(psql_q "SELECT count(*) FROM ONLY shipments") == $((2 * N)) ]] || fail "the hot table does not hold only the polled parcels"
[[ $(psql_q "SELECT count(*) FROM shipments") == $((3 * N)) ]] || fail "archived shipments are not read through shipments"

# the claim (poller/claim.c's claim_sql, its string literals joined) walks the hot table's due
# index, never the archive
claim=$(/usr/bin/python3 -c 'import re, sys
src = open(sys.argv[1]).read()
body = re.search(r"claim_sql\[\] =(.*?);", src, re.S).group(1)
sql = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", body))
print(sql.replace("$1", "'"'"'t'"'"'").replace("$2", "60").replace("$3", "200"))' "$PP_ROOT/poller/claim.c")
[[ $claim == UPDATE* ]] || fail "no claim_sql in poller/claim.c"
plan=$(psql_q "BEGIN; EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) $claim; ROLLBACK")
grep -q 'Index Scan using shipments_due on shipments' <<<"$plan" || fail "the claim does not use the due index: $plan"
! grep -q 'archive' <<<"$plan" || fail "the claim reads the archive: $plan"
echo "claim plan: $(grep -c . <<<"$plan") lines; $(grep -m1 'Buffers' <<<"$plan")"

# ---- readers of archived parcels ----
api_start api PP_API_RATE_PER_MIN=100000 PP_API_RATE_BURST=100000
T=/v1/transactions/{id} S=/v1/transactions/{id}/shipment
call 200 GET "$T" /v1/transactions/7 "$KEY"
[[ $(field 'd["shipment"]["status"], len(d["shipment"]["history"])') == "('delivered', 2)" ]] ||
	fail "card of an archived parcel: $(cat "$OUT")"
num7=$(psql_q "SELECT tracking_number FROM shipments_archive WHERE id = 7")
bot=$(psql_q "EXPLAIN (COSTS OFF) SELECT status FROM shipments WHERE carrier = 'inpost' AND tracking_number = '$num7' ORDER BY last_polled_at DESC NULLS LAST, id DESC LIMIT 1")
grep -q 'shipments_number' <<<"$bot" && grep -q 'shipments_archive_number' <<<"$bot" || fail "pp-bot's lookup scans a table: $bot"
[[ $(psql_q "SELECT status FROM shipments WHERE carrier = 'inpost' AND tracking_number = '$num7'") == delivered ]] || fail "pp-bot's lookup misses an archived parcel"
"$PPCTL" status --json >"$PP_TEST_TMP/status.json"
[[ $(jq '.shipments, .terminal' "$PP_TEST_TMP/status.json" | tr '\n' ' ') == "$((3 * N)) $N " ]] || fail "ppctl status: $(cat "$PP_TEST_TMP/status.json")"

# an entry for an archived transaction brings it back, then replaces and reactivates as before
NEW=6340012345678901234
call 201 PUT "$S" /v1/transactions/7/shipment "$KEY" "{\"carrier\":\"inpost\",\"tracking_number\":\"$NEW\"}"
[[ $(psql_q "SELECT count(*) FROM shipments_archive WHERE transaction_id = 7") == 0 ]] || fail "transaction 7 still archived"
[[ $(psql_q "SELECT replaced_by IS NOT NULL FROM ONLY shipments WHERE id = 7") == t ]] || fail "the archived shipment was not replaced"
[[ $(psql_q "SELECT count(*) FROM ONLY shipment_events WHERE shipment_id = 7") == 2 ]] || fail "its events did not come back"
call 200 PUT "$S" /v1/transactions/7/shipment "$KEY" "{\"carrier\":\"inpost\",\"tracking_number\":\"$num7\"}"
[[ $(field 'd["shipment"]["tracking_number"], d["shipment"]["status"]') == "('$num7', 'delivered')" ]] || fail "old number not current again: $(cat "$OUT")"
# transaction 7 again (its current shipment delivered, the new number replaced: nothing
# polled), with the new shipment's event; round 2's transactions stay (polled)
out=$("$PPCTL" archive --after-days 0)
[[ $out == "archived 1 transactions (2 shipments, 3 events)"* ]] || fail "second archive run: $out"
[[ $(psql_q "SELECT count(*) FROM ONLY shipments") == $((2 * N)) ]] || fail "polled shipments were archived"

# ---- the migration on a database with data ----
db2=${PP_DB_URL##*/}_m
psql_q "DROP DATABASE IF EXISTS $db2" >/dev/null
psql_q "CREATE DATABASE $db2" >/dev/null
mkdir -p "$PP_TEST_TMP/before"
for f in "$PP_ROOT"/schema/sql/*.sql; do
	b=$(basename "$f")
	[[ $b < 0009 ]] && cp "$f" "$PP_TEST_TMP/before/"
done
PP_DB_URL=${PP_DB_URL%/*}/$db2 "$PPCTL" migrate --dir "$PP_TEST_TMP/before" >/dev/null
psql "${PP_DB_URL%/*}/$db2" -XAtq -v ON_ERROR_STOP=1 -c "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 's')" >/dev/null
(
	PP_DB_URL=${PP_DB_URL%/*}/$db2
	load 1 100
	finish 1 50
	"$PPCTL" migrate >/dev/null || fail "the migration failed on a database with data"
	out=$("$PPCTL" archive --after-days 0)
	[[ $out == "archived 50 transactions (50 shipments, 100 events)"* ]] || fail "after the migration: $out"
	[[ $(psql_q "SELECT count(*) FROM shipments") == 100 ]] || fail "rows lost by the migration"
)
psql_q "DROP DATABASE $db2" >/dev/null
echo ok
