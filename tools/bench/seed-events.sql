-- tools/bench/seed-events.sql - run by tools/bench/api-bench after `ppctl seed`: gives every
-- shipment that has only its number_entered event a realistic history of 1 to 3 status
-- changes (in_transit; then out_for_delivery, or available_for_pickup for InPost and ORLEN;
-- then delivered), two days old and ten hours apart, with places and carrier texts, and sets
-- the shipment's columns (status, sequence, progress, last event, pickup point, delivered_at,
-- next_poll_at) as the poller would have. Payment cards then carry 2 to 4 history entries.
BEGIN;

CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
SELECT s.id, s.carrier, 1 + abs(hashint8(s.id)) % 3 AS n,
       now() - interval '2 days' AS t0
FROM shipments s
WHERE s.sequence = 1 AND s.replaced_by IS NULL
  AND NOT EXISTS (SELECT 1 FROM shipment_events e WHERE e.shipment_id = s.id AND e.kind = 'status_changed');

UPDATE shipment_events e SET occurred_at = p.t0, detected_at = p.t0
FROM bench_plan p WHERE e.shipment_id = p.id AND e.sequence = 1;

CREATE TEMP TABLE bench_steps ON COMMIT DROP AS
SELECT p.id, k,
       (ARRAY['info_received', 'in_transit',
              CASE WHEN p.carrier IN ('inpost', 'orlen') THEN 'available_for_pickup' ELSE 'out_for_delivery' END,
              'delivered'])[k] AS previous_status,
       (ARRAY['in_transit',
              CASE WHEN p.carrier IN ('inpost', 'orlen') THEN 'available_for_pickup' ELSE 'out_for_delivery' END,
              'delivered'])[k] AS status,
       (ARRAY['Warszawa', 'Kraków', 'Łódź', 'Wrocław', 'Poznań', 'Gdańsk', 'Katowice', 'Lublin'])[1 + (p.id + k) % 8]
           || CASE WHEN k = 1 THEN ' (sortownia)' ELSE '' END AS location,
       p.t0 + k * interval '10 hours' AS occurred_at
FROM bench_plan p, generate_series(1, p.n) AS k;

INSERT INTO shipment_events (shipment_id, sequence, kind, status, previous_status, carrier_status,
                             description, location, occurred_at, detected_at, event_id)
SELECT id, k + 1, 'status_changed', status, previous_status, upper(status),
       CASE status
           WHEN 'in_transit' THEN 'Przesyłka w drodze'
           WHEN 'out_for_delivery' THEN 'Przekazano do doręczenia'
           WHEN 'available_for_pickup' THEN 'Gotowa do odbioru'
           ELSE 'Doręczono' END,
       location, occurred_at, occurred_at + interval '3 minutes', gen_random_uuid()
FROM bench_steps;

UPDATE shipments s SET
    status = l.status,
    sequence = l.k + 1,
    progress = CASE l.status WHEN 'in_transit' THEN 2 WHEN 'out_for_delivery' THEN 3
                             WHEN 'available_for_pickup' THEN 4 ELSE 5 END,
    carrier_status = upper(l.status),
    last_event_at = l.occurred_at,
    last_location = l.location,
    last_text = 'status: ' || l.status,
    last_change_at = l.occurred_at,
    pickup_point = CASE WHEN l.status = 'available_for_pickup' THEN 'KRA01M' END,
    pickup_address = CASE WHEN l.status = 'available_for_pickup' THEN 'ul. Testowa 1, 30-001 Kraków' END,
    pickup_deadline = CASE WHEN l.status = 'available_for_pickup' THEN l.occurred_at + interval '48 hours' END,
    delivered_at = CASE WHEN l.status = 'delivered' THEN l.occurred_at END,
    next_poll_at = CASE WHEN l.status = 'delivered' THEN NULL ELSE now() + interval '1 hour' END,
    entered_at = l.occurred_at - l.k * interval '10 hours'
FROM (SELECT DISTINCT ON (id) id, k, status, location, occurred_at FROM bench_steps ORDER BY id, k DESC) l
WHERE s.id = l.id;

COMMIT;
ANALYZE;
