-- tools/bench/claim.sql - pgbench script for tools/bench/fleet-bench: poller/claim.c's claim
-- of a batch of due shipments, rolled back so that every run claims from the same data.
-- Variables: :batch.
BEGIN;
UPDATE ONLY shipments SET lease_owner = 'pgbench', lease_until = now() + 60::int * interval '1 second' WHERE id IN (SELECT id FROM ONLY shipments WHERE next_poll_at <= now() AND (lease_until IS NULL OR lease_until < now()) ORDER BY next_poll_at LIMIT :batch::int FOR UPDATE SKIP LOCKED) RETURNING id, transaction_id, carrier, tracking_number;
ROLLBACK;
