-- 0011_shipments_fillfactor: room on every page of shipments for a row's next version, so
-- that a claim (lease_owner, lease_until: in no index) is a HOT update: no new entry in any of
-- the table's indexes and nothing dead left in the due index for the next claims to step over.
-- New pages only: existing rows move to pages with room as they are updated (or at once with
-- VACUUM FULL / pg_repack in a quiet hour).
ALTER TABLE shipments SET (fillfactor = 80);
