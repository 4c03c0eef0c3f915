#!/usr/bin/env bash
# ppctl migrate is idempotent and rolls back a failing migration; ppctl ship validates the
# number and writes shipment + number_entered event + outbox row atomically, idempotently.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

out=$("$PPCTL" migrate)
[[ $out == "schema is up to date"* ]] || fail "second migrate was not a no-op: $out"

# A failing migration is rolled back whole and named.
mkdir -p "$PP_TEST_TMP/mig"
cp "$PP_ROOT"/schema/sql/*.sql "$PP_TEST_TMP/mig/"
cat >"$PP_TEST_TMP/mig/9998_good.sql" <<'SQL'
CREATE TABLE mig_probe (id int);
SQL
cat >"$PP_TEST_TMP/mig/9999_bad.sql" <<'SQL'
CREATE TABLE mig_half (id int);
INSERT INTO no_such_table VALUES (1);
SQL
if "$PPCTL" migrate --dir "$PP_TEST_TMP/mig" >"$PP_TEST_TMP/mig.out" 2>&1; then fail "bad migration succeeded"; fi
grep -q '9999_bad.sql' "$PP_TEST_TMP/mig.out" || fail "error does not name the migration: $(cat "$PP_TEST_TMP/mig.out")"
[[ $(psql_q "SELECT count(*) FROM schema_migrations WHERE version = 9998") == 1 ]] || fail "good migration before the bad one not applied"
[[ $(psql_q "SELECT count(*) FROM schema_migrations WHERE version = 9999") == 0 ]] || fail "bad migration recorded"
[[ $(psql_q "SELECT to_regclass('mig_half') IS NULL") == t ]] || fail "bad migration left a table behind"

psql_q "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (10, 1, 1);"

# Invalid number and unknown transaction: clear errors, nothing written.
if "$PPCTL" ship --transaction 10 --carrier inpost --number 12345 2>"$PP_TEST_TMP/e1"; then fail "short number accepted"; fi
grep -q 'not a valid InPost tracking number' "$PP_TEST_TMP/e1" || fail "unclear error: $(cat "$PP_TEST_TMP/e1")"
if "$PPCTL" ship --transaction 99 --carrier inpost --number 620000000000000000000123 2>"$PP_TEST_TMP/e2"; then fail "unknown transaction accepted"; fi
grep -q 'transaction 99 does not exist' "$PP_TEST_TMP/e2" || fail "unclear error: $(cat "$PP_TEST_TMP/e2")"
if "$PPCTL" ship --transaction 10 --carrier fedex --number 620000000000000000000123 2>"$PP_TEST_TMP/e3"; then fail "unknown carrier accepted"; fi
[[ $(psql_q "SELECT count(*) FROM shipments") == 0 ]] || fail "a rejected entry wrote a shipment"

out=$("$PPCTL" ship --transaction 10 --carrier inpost --number '6200 0000 0000 0000 0000 0123')
[[ $out == *'"created":true'* ]] || fail "ship: $out"
out2=$("$PPCTL" ship --transaction 10 --carrier inpost --number 620000000000000000000123)
[[ $out2 == *'"created":false'* ]] || fail "second ship created again: $out2"
row=$(psql_q "SELECT s.status, s.sequence, s.next_poll_at <= now(), e.kind, e.sequence, o.msg_key = s.id::text,
              o.published_at IS NULL, o.payload::json->>'kind', (o.payload::json->>'sequence')::int
              FROM shipments s JOIN shipment_events e ON e.shipment_id = s.id JOIN outbox o ON o.event_id = e.event_id")
[[ $row == 'info_received|1|t|number_entered|1|t|t|number_entered|1' ]] || fail "unexpected rows: $row"
[[ $(psql_q "SELECT count(*) FROM outbox") == 1 ]] || fail "idempotent ship wrote a second outbox row"
echo ok
