-- 0005_api: pp-api (issue 4). A transaction has one current shipment: entering a different
-- number through the seller WebAPI replaces the previous one, which then points at its
-- successor (replaced_by) and is no longer polled (next_poll_at NULL). Seller API keys are
-- looked up by their SHA-256 (hex), unique when set.
ALTER TABLE shipments ADD COLUMN replaced_by bigint REFERENCES shipments (id);
ALTER TABLE shipments ADD COLUMN replaced_at timestamptz;
CREATE UNIQUE INDEX sellers_api_key_hash ON sellers (api_key_hash) WHERE api_key_hash IS NOT NULL;
