-- 0010_status_rates: what `ppctl status` reads its last-minute rates through without a scan
-- of the whole table: events by the time they were detected, ledger rows by the time they
-- were decided (an IM's sent_at is read among the rows decided in the last minutes; indexing
-- created_at, never updated, keeps the notifier's sending -> sent update a HOT one).
-- On a large existing table each index takes a while to build (the migration holds a lock
-- that blocks writes to it meanwhile): run it before the workers, as every migration.
CREATE INDEX shipment_events_detected ON shipment_events (detected_at);
CREATE INDEX notifications_created ON notifications (created_at);
