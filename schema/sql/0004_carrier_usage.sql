-- 0004_carrier_usage: requests to each carrier per UTC day, shared by the whole poller fleet,
-- so a per-day carrier quota holds across restarts and any number of pollers.
-- `reserved` = requests granted to some poller today (used or still held; a poller takes its
-- share of what is left, (per_day - reserved) / live pollers, under the row lock, and gives
-- back what it did not use when it stops); `requests` = requests actually sent (flushed in
-- batches by each poller). A crashed poller's unused holding stays reserved: conservative.

CREATE TABLE carrier_usage (
    carrier     text NOT NULL,
    day         date NOT NULL,               -- UTC
    requests    bigint NOT NULL DEFAULT 0,
    reserved    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (carrier, day)
);
