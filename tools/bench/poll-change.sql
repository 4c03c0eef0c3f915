-- tools/bench/poll-change.sql - pgbench script for tools/bench/fleet-bench: the write-back
-- of one poll that found a change, statement for statement as poller/poll.c sends it (lock,
-- event, outbox row, shipment update, in one transaction). Differences, so that pgbench can
-- repeat it: the lease is set back to 'pgbench' instead of NULL, the event id is made in SQL
-- from two random numbers, the sequence is random. Variables: :n (shipments loaded).
\set id random(1, :n)
\set seq random(1000000, 999999999999)
\set u1 random(1, 9223372036854775806)
\set u2 random(1, 9223372036854775806)
\set t random(1700000000, 1800000000)
BEGIN;
SELECT status, progress, sequence, (extract(epoch FROM last_event_at))::bigint, (extract(epoch FROM last_change_at) * 1000)::bigint, consecutive_errors, (extract(epoch FROM now()) * 1000)::bigint, (extract(epoch FROM entered_at) * 1000)::bigint, (extract(epoch FROM last_polled_at) * 1000)::bigint FROM shipments WHERE id = :id AND lease_owner = 'pgbench' FOR UPDATE;
INSERT INTO shipment_events (shipment_id, sequence, kind, status, previous_status, carrier_status, description, location, occurred_at, detected_at, event_id) VALUES (:id, :seq, 'status_changed', 'in_transit', 'info_received', NULLIF('adopted_at_sorting_center', ''), NULLIF('Przesyłka przyjęta w sortowni', ''), NULLIF('SOR', ''), to_timestamp(:t::bigint), to_timestamp(:t::bigint), (lpad(to_hex(:u1::bigint), 16, '0') || lpad(to_hex(:u2::bigint), 16, '0'))::uuid);
INSERT INTO outbox (event_id, topic, msg_key, payload) VALUES ((lpad(to_hex(:u1::bigint), 16, '0') || lpad(to_hex(:u2::bigint), 16, '0'))::uuid, 'fleet-bench', :id, '{"schema":"shipment-status/v1","event_id":"00000000-0000-0000-0000-000000000000","shipment_id":1,"transaction_id":1,"sequence":2,"carrier":"inpost","tracking_number":"600000000000000000000001","status":"in_transit","previous_status":"info_received","carrier_status":"adopted_at_sorting_center","description":"Przesyłka przyjęta w sortowni","location":"SOR","occurred_at":"2026-12-03T10:00:00Z","detected_at":"2026-12-03T10:00:01Z","buyer_id":1,"seller_id":1}');
UPDATE shipments SET status = 'in_transit', progress = 3::smallint, sequence = :seq::bigint, last_event_at = COALESCE(to_timestamp(:t::bigint), last_event_at), carrier_status = COALESCE(NULLIF('adopted_at_sorting_center', ''), carrier_status), last_text = COALESCE(NULLIF('Przesyłka przyjęta w sortowni', ''), last_text), last_location = COALESCE(NULLIF('SOR', ''), last_location), pickup_point = COALESCE(NULLIF('', ''), pickup_point), pickup_address = COALESCE(NULLIF('', ''), pickup_address), pickup_deadline = CASE WHEN NULL::bigint IS NULL THEN pickup_deadline ELSE to_timestamp(NULL::bigint) END, last_change_at = CASE WHEN true THEN now() ELSE last_change_at END, delivered_at = CASE WHEN 'in_transit' = 'delivered' AND delivered_at IS NULL THEN COALESCE(to_timestamp(NULL::bigint), now()) ELSE delivered_at END, next_poll_at = now() + 3600000::bigint * interval '1 millisecond', polls = polls + 1, consecutive_errors = 0::int, last_error = NULL, last_polled_at = now(), lease_owner = 'pgbench', lease_until = NULL WHERE id = :id;
COMMIT;
