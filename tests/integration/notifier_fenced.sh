#!/usr/bin/env bash
# A fatal Kafka consumer error stops the notifier with exit status 1 and a message naming the
# error and what to do, for the supervisor to restart it (before: logged, and the process ran
# on consuming nothing). The fatal error is a real one: two notifiers with the same
# rdkafka.group.instance.id (static membership); the broker fences the first when the second
# joins, which librdkafka reports as RD_KAFKA_RESP_ERR__FATAL (FENCED_INSTANCE_ID).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
xmpp_stack nf
export PP_XMPP_JID=nfbot-$tag@$D PP_XMPP_PASSWORD=nf-$tag
xmpp_register "nfbot-$tag" "nf-$tag"
export PP_RDKAFKA_GROUP_INSTANCE_ID=nf-$tag

start_bg n1 "$NOTIFIER" >/dev/null
N1=${pp_test_pids[-1]}
wait_until 120 grep -q 'kafka: assigned' "$PP_TEST_TMP/n1.log" || fail "n1 got no partitions: $(tail -3 "$PP_TEST_TMP/n1.log")"
start_bg n2 "$NOTIFIER" >/dev/null
N2=${pp_test_pids[-1]}
wait_until 300 pid_gone "$N1" || fail "n1 still runs after being fenced by n2: $(grep -i fatal "$PP_TEST_TMP/n1.log" | tail -2)"
rc=0
wait "$N1" || rc=$?
((rc == 1)) || fail "the fenced notifier exited $rc, want 1: $(tail -3 "$PP_TEST_TMP/n1.log")"
line=$(grep 'fatal consumer error' "$PP_TEST_TMP/n1.log" | head -1)
[[ $line == *FENCED* && $line == *group.instance.id* && $line == *restart* ]] ||
	fail "no clear message for the fatal error: $(grep -iE 'fatal|fenced' "$PP_TEST_TMP/n1.log" | head -3)"
grep -q 'notifier .*: stopped' "$PP_TEST_TMP/n1.log" || fail "n1 did not stop cleanly: $(tail -3 "$PP_TEST_TMP/n1.log")"
grep -q 'finishing the current batch' "$PP_TEST_TMP/n1.log" &&
	fail "n1's stop after the fatal error claims to finish a batch: $(grep -E 'finishing|has ended' "$PP_TEST_TMP/n1.log")"
grep -q 'the worker thread has ended: stopping' "$PP_TEST_TMP/n1.log" || fail "n1 did not say its worker thread had ended"
wait_until 120 grep -q 'kafka: assigned' "$PP_TEST_TMP/n2.log" || fail "n2 got no partitions: $(tail -3 "$PP_TEST_TMP/n2.log")"
stop_pid "$N2" 300
check_logs_clean
echo "ok: fenced by a second notifier with the same group.instance.id, the first stopped with exit 1:"
echo "    ${line#*kafka: }"
