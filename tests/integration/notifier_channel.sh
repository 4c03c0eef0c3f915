#!/usr/bin/env bash
# The notifier takes its IM channel by name through pp_channel_find (notifier_channel, default
# xmpp: every other notifier test runs on it). An unknown name stops it at start-up with exit
# status 1 and a line naming the key, the value and the valid channels (before: the key did
# not exist and the notifier always took pp_channel_xmpp). The benchmark sink (channels/sink.c,
# nothing sent, rows marked 'sent') is refused the same way unless notifier_sink_benchmark =
# true; fleet_bench_smoke.sh runs it with the key.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
log=$PP_TEST_TMP/notifier.log
rc=0
PP_NOTIFIER_CHANNEL=carrier-pigeon timeout -k 5 120 "$NOTIFIER" >"$log" 2>&1 || rc=$?
((rc == 1)) || fail "pp-notifier with notifier_channel = carrier-pigeon exited $rc, want 1: $(tail -3 "$log")"
line=$(grep 'notifier_channel' "$log" | head -1)
[[ $line == *'"carrier-pigeon"'* && $line == *'valid: xmpp, sink (benchmark only)'* ]] ||
	fail "no clear start-up error naming the valid channels: $(tail -3 "$log")"
! grep -q 'registered\|kafka: ' "$log" || fail "it got as far as Kafka or the workers table: $(tail -3 "$log")"
echo "ok: an unknown notifier_channel is refused at start-up (exit 1):"
echo "    ${line#*error: }"
rc=0
PP_NOTIFIER_CHANNEL=sink timeout -k 5 120 "$NOTIFIER" >"$log" 2>&1 || rc=$?
((rc == 1)) || fail "pp-notifier with notifier_channel = sink and no notifier_sink_benchmark exited $rc, want 1: $(tail -3 "$log")"
line=$(grep 'notifier_sink_benchmark' "$log" | head -1)
[[ $line == *'"sink"'* && $line == *'never in production'* ]] || fail "no clear start-up error for the sink: $(tail -3 "$log")"
! grep -q 'registered\|kafka: ' "$log" || fail "the sink got as far as Kafka or the workers table: $(tail -3 "$log")"
echo "ok: the benchmark sink is refused without notifier_sink_benchmark (exit 1):"
echo "    ${line#*error: }"
