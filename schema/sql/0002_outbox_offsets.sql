-- 0002_outbox_offsets: where each relayed outbox row landed in Kafka, and per partition the
-- highest offset the relay has accounted for. On taking the relay lock the relay reads every
-- partition from relay_offsets.last_offset + 1 to the high watermark and marks the rows whose
-- pp-event-id it finds (sent by a relay that died before marking), so nothing is sent twice.

ALTER TABLE outbox
    ADD COLUMN kafka_partition integer,
    ADD COLUMN kafka_offset    bigint;

CREATE TABLE relay_offsets (
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    last_offset     bigint NOT NULL,   -- every message at or below is accounted for
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition)
);
