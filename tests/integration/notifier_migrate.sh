#!/usr/bin/env bash
# notifier_migrate.sh - a migration under a running notifier: a column its prepared recipients
# statement returns changes type (users.locale text -> varchar). Postgres then refuses the
# prepared statement ("cached plan must not change result type", 0A000) inside the decision's
# transaction; the notifier must prepare it again and go on, not retry that batch until
# someone restarts it. The buyer gets both messages, the second one after the migration.
NT_TEST=notifier_migrate
. "$(dirname -- "${BASH_SOURCE[0]}")/notifier_lib.sh"

nt_setup
nt_buyer 1 en t "$(nt_jid 1)" t
nt_event 10 701 1 in_transit | produce
nt_start one
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" 1

sql "ALTER TABLE users ALTER COLUMN locale TYPE varchar(8)" || fail "migration"
nt_event 10 701 2 delivered | produce
wait_sql "SELECT count(*) FROM notifications WHERE state = 'sent'" 2
grep -q "no longer fits the schema" "$NT_TMP/one.log" ||
	fail "the second message went out without the prepared statement failing: the test no longer migrates under it (log: $NT_TMP/one.log)"
nt_stop "$NT_LAST_PID"

inbox >"$NT_TMP/inbox"
[[ $(wc -l <"$NT_TMP/inbox") == 2 ]] || fail "want 2 messages, got: $(cat "$NT_TMP/inbox")"
echo "ok: the recipients statement prepared again after the migration; 2 of 2 messages sent"
