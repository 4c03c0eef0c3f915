-- 0009_shipments_archive: finished parcels leave the hot table (issue 10, scale).
--
-- `ppctl archive` moves a transaction's shipments and their events into shipments_archive and
-- shipment_events_archive once none of its shipments is polled any more (next_poll_at NULL)
-- and the last of them finished more than a retention ago. The hot table then holds the
-- active parcels and those finished within the retention, so its heap and every index on it
-- stay the size of that set instead of growing with every parcel ever sent.
--
-- The archive tables are inheritance children: every statement that reads FROM shipments or
-- FROM shipment_events (pp-api's card, pp-bot's lookup, ppctl) still sees archived rows, with
-- no change. Writers never need them: the CHECKs below let the planner leave the archive out
-- of any statement that filters on next_poll_at or lease_owner (the claim's due scan, the
-- poll's lock, defer, the release at a stop; constraint_exclusion = partition, the default),
-- the claim updates ONLY shipments, and pp_shipment_enter moves a transaction back into the
-- hot table before it changes it. A column added to shipments later is added to the archive
-- by the same ALTER TABLE.
CREATE TABLE shipments_archive (
    PRIMARY KEY (id),
    CHECK (next_poll_at IS NULL),
    CHECK (lease_owner IS NULL)
) INHERITS (shipments);
CREATE INDEX shipments_archive_transaction ON shipments_archive (transaction_id);
CREATE INDEX shipments_archive_number ON shipments_archive (tracking_number);

CREATE TABLE shipment_events_archive (
    PRIMARY KEY (id),
    UNIQUE (shipment_id, sequence)
) INHERITS (shipment_events);

-- pp-bot looks a parcel up by (carrier, tracking number) without its transaction: without
-- this index that is a scan of the whole table (seconds at 10 M shipments).
CREATE INDEX shipments_number ON shipments (tracking_number);

-- Deleting a shipment from the hot table (the archiver) makes the replaced_by foreign key look
-- for shipments that point at it: without this index a scan of the table per row (6.6 ms each
-- at 20,000 shipments). Only replaced shipments are in it.
CREATE INDEX shipments_replaced_by ON shipments (replaced_by) WHERE replaced_by IS NOT NULL;

-- The archiver's way to the oldest finished shipments (only finished rows are in it: a poll
-- that keeps a parcel polled adds nothing here).
CREATE INDEX shipments_finished ON shipments (greatest(last_change_at, last_polled_at, replaced_at), id)
    WHERE next_poll_at IS NULL;

-- Every poll moves a shipment's entry in shipments_due from its due time to the next one; the
-- old entry stays, dead, at the left end of the index, where every claim's scan starts, until
-- VACUUM removes it (and recycles the emptied pages). With the default threshold (20 % of the
-- table: 2 M polls at 10 M shipments) a claim walks hundreds of thousands of dead entries
-- before the next vacuum (1 M shipments, 1.16 M dead: 11.4 ms per claim of 200 against 2.8
-- after VACUUM); 1 % keeps it to tens of thousands (docs/benchmarks.md, claim).
ALTER TABLE shipments SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 10000);
