#!/usr/bin/env bash
# `ppctl archive` keeps the outbox and the notification ledger bounded (tools/ppctl/retention.c):
# outbox rows published more than --outbox-days ago go, unpublished ones never (old or new);
# settled ledger rows older than --ledger-days go, 'sending' ones never, and only when that is
# longer than the retention Kafka itself reports for the event, dead-letter and IM-link topics
# (the stack's broker keeps 7 days): a shorter one, or a Kafka that does not answer, keeps the
# ledger whole and fails the run with a message. Pages smaller than the rows (--batch 2) so
# the paging is walked. Asserts on row counts only.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

"$PPCTL" topics >/dev/null || fail "ppctl topics"
psql_q "INSERT INTO users (id) VALUES (1)" >/dev/null

# outbox ids 1-2 published 10 days ago, 3 nine days ago, 4 written 10 days ago and never
# published, 5-6 published yesterday, 7 unpublished now
ob() { # ID CREATED_DAYS_AGO PUBLISHED_DAYS_AGO|null
	local pub=null
	[[ $3 == null ]] || pub="now() - interval '$3 days'"
	psql_q "INSERT INTO outbox (id, event_id, topic, msg_key, payload, created_at, published_at)
	        VALUES ($1, gen_random_uuid(), 't', 'k', '{}', now() - interval '$2 days', $pub)" >/dev/null
}
ob 1 10 10; ob 2 10 10; ob 3 10 9; ob 4 10 null; ob 5 1 1; ob 6 1 1; ob 7 0 null

# ledger: 3 sent and 1 failed 40 days ago, 1 left 'sending' 40 days ago, 2 sent yesterday
led() { # STATE DAYS_AGO
	psql_q "INSERT INTO notifications (event_id, user_id, shipment_id, sequence, status, state, created_at)
	        VALUES (gen_random_uuid(), 1, 1, 1, 'in_transit', '$1', now() - interval '$2 days')" >/dev/null
}
led sent 40; led sent 40; led sent 40; led failed 40; led sending 40; led sent 1; led sent 1

outbox_ids() { psql_q "SELECT string_agg(id::text, ',' ORDER BY id) FROM outbox"; }
ledger() { psql_q "SELECT string_agg(r, ',' ORDER BY r) FROM (SELECT state || ':' || extract(day FROM now() - created_at)::int AS r FROM notifications) x"; }
LEDGER_ALL="failed:40,sending:40,sent:1,sent:1,sent:40,sent:40,sent:40"

# ---- a ledger retention not longer than the topics' (7 days): the ledger is kept whole ----
set +e
out=$("$PPCTL" archive --outbox-days off --ledger-days 7 --batch 2 2>&1)
st=$?
set -e
((st == 1)) || fail "ppctl archive with --ledger-days 7 under a 7-day topic retention exited $st: $out"
grep -q "ledger kept whole: --ledger-days 7 is not longer than the topics' retention (7.0 days)" <<<"$out" ||
	fail "no message naming the topics' retention: $out"
[[ $(ledger) == "$LEDGER_ALL" ]] || fail "ledger rows dropped although refused: $(ledger)"
[[ $(outbox_ids) == 1,2,3,4,5,6,7 ]] || fail "--outbox-days off dropped outbox rows: $(outbox_ids)"

# ---- a Kafka that does not answer: the ledger is kept whole, the outbox is cleaned ----
set +e
out=$(PP_KAFKA_BROKERS=127.0.0.1:1 "$PPCTL" archive --outbox-days 7 --ledger-days 30 --batch 2 2>&1)
st=$?
set -e
((st == 1)) || fail "ppctl archive without Kafka exited $st: $out"
grep -q "ledger kept whole: cannot tell how long Kafka keeps events" <<<"$out" || fail "no message about Kafka: $out"
[[ $(ledger) == "$LEDGER_ALL" ]] || fail "ledger rows dropped without Kafka's retention: $(ledger)"
grep -q "^dropped 3 outbox rows published more than 7 days ago" <<<"$out" || fail "outbox clean-up: $out"
[[ $(outbox_ids) == 4,5,6,7 ]] || fail "outbox after the clean-up: $(outbox_ids) (want 4,5,6,7)"

# ---- the defaults (30 days, longer than 7): the settled old rows go, 'sending' stays ----
out=$("$PPCTL" archive --batch 2) || fail "ppctl archive: $out"
grep -q "^dropped 4 settled notifications older than 30 days (topics keep events 7.0 days)" <<<"$out" ||
	fail "ledger clean-up: $out"
[[ $(ledger) == "sending:40,sent:1,sent:1" ]] || fail "ledger after the clean-up: $(ledger)"
grep -q "^dropped 0 outbox rows" <<<"$out" || fail "second outbox clean-up: $out"
[[ $(outbox_ids) == 4,5,6,7 ]] || fail "outbox changed by a second run: $(outbox_ids)"

# ---- bad options are refused ----
for bad in "--ledger-days 0" "--outbox-days -1" "--ledger-days never"; do
	set +e
	"$PPCTL" archive $bad >/dev/null 2>&1
	st=$?
	set -e
	((st == 2)) || fail "ppctl archive $bad exited $st (want 2: usage)"
done
echo ok
