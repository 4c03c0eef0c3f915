-- 0006_pickup_details: where and until when a parcel waits for its buyer (InPost locker
-- address and pickup deadline; other carriers when their APIs say).
ALTER TABLE shipments
    ADD COLUMN pickup_address text,
    ADD COLUMN pickup_deadline timestamptz;
