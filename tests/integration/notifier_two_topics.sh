#!/usr/bin/env bash
# The notifier reads two topics (shipment events, IM-link codes) in one consumer group; the
# offsets it commits must be per topic. 30 poison messages on the IM-link topic (offsets up to
# ~10 on each of its 3 partitions) go to the dead-letter topic and their offsets are committed;
# after a restart, 240 shipment events (about 20 per partition) must all be decided.
# Committing the IM-link offsets under the shipment topic's name (an earlier bug) made the
# restarted notifier start at offset ~10 on the partitions the two topics share: events lost.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
xmpp_stack tt
PRODUCE=$PP_BUILD/notifier/pp-produce
: "${PP_IM_LINK_TOPIC:?tests/run exports PP_IM_LINK_TOPIC}"
export PP_XMPP_JID=ttbot-$tag@$D PP_XMPP_PASSWORD=tt-$tag
xmpp_register "ttbot-$tag" "tt-$tag"
psql_q "INSERT INTO users (id) VALUES (1); INSERT INTO sellers (id, name) VALUES (1, 's');
        INSERT INTO transactions (id, buyer_id, seller_id) VALUES (10, 1, 1)" || fail "seed"

start_notifier() { # NAME: started and consuming
	start_bg "$1" "$NOTIFIER" >/dev/null
	NPID=${pp_test_pids[-1]}
	wait_until 30 grep -q 'kafka: assigned' "$PP_TEST_TMP/$1.log" || fail "$1 got no partitions: $(tail -3 "$PP_TEST_TMP/$1.log")"
}
stop_notifier() { kill -TERM "$NPID"; wait "$NPID" || fail "notifier exited non-zero after SIGTERM"; }

# 1. poison on the IM-link topic only: dead-lettered, offsets committed at the graceful stop.
start_notifier n1
for k in $(seq 30); do printf 'u%d\t{"kind":"im_link_code"}\n' "$k"; done |
	"$PRODUCE" -b "$PP_KAFKA_BROKERS" -t "$PP_IM_LINK_TOPIC" 2>>"$PP_TEST_TMP/kafka.log" || fail "produce poison"
dlq() { [[ $(grep -c 'poison event at' "$PP_TEST_TMP/n1.log") == 30 ]]; }
wait_until 60 dlq || fail "not every poison message was dead-lettered: $(grep -c 'poison event at' "$PP_TEST_TMP/n1.log")"
stop_notifier

# 2. shipment events, then a new notifier in the same group: every one decided.
for s in $(seq 240); do
	printf '%d\t{"event_id":"%s","schema_version":1,"kind":"status_changed","shipment_id":%d,"transaction_id":10,"carrier":"dhl","tracking_number":"JJD%012d","previous_status":null,"status":"in_transit","carrier_status":null,"carrier_status_text":null,"location":null,"occurred_at":"2026-01-01T10:00:00Z","detected_at":"2026-01-01T10:00:01Z","sequence":1}\n' \
		"$s" "$(cat /proc/sys/kernel/random/uuid)" "$s" "$s"
done | "$PRODUCE" -b "$PP_KAFKA_BROKERS" -t "$PP_TOPIC" 2>>"$PP_TEST_TMP/kafka.log" || fail "produce events"
start_notifier n2
decided() { [[ $(psql_q "SELECT count(*) FROM notifications") == 240 ]]; }
if ! wait_until 60 decided; then
	fail "$(psql_q "SELECT count(*) FROM notifications") of 240 shipment events decided after the restart (events skipped by a wrong committed offset?)"
fi
stop_notifier
echo "ok: 30 IM-link poison messages dead-lettered, then 240 of 240 shipment events decided after a restart"
