-- tools/bench/card-queries.sql - pgbench script of tools/bench/api-bench's database ceiling:
-- the four statements pp-api sends for one GET /v1/transactions/{id} by a seller (the key
-- lookup of api/request.c, then the card of api/card.c), with a random transaction of the
-- seeded set. Run with -M extended, each statement is parsed and planned every time, as
-- PQexecParams does in pp-api; with -M prepared, once per connection.
-- Variables: -D h=<a seller's api_key_hash> -D n=<transactions>; the seed gives transaction i
-- shipment i (pp-api takes the shipment id from the third statement's answer). The to_char formats use
-- "." where pp-api has ":" (pgbench would take :MI for a variable); the cost is the same.
-- Keep in step with api/card.c and api/request.c.
\set t random(1, :n)
SELECT id FROM sellers WHERE api_key_hash = :h;
SELECT buyer_id, seller_id FROM transactions WHERE id = (:t)::bigint;
SELECT id, carrier, tracking_number, status, carrier_status, to_char(last_event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"."MI"."SS"Z"'), last_location, last_text, pickup_point, to_char(entered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"."MI"."SS"Z"'), to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"."MI"."SS"Z"'), pickup_address, to_char(pickup_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"."MI"."SS"Z"') FROM shipments WHERE transaction_id = (:t)::bigint AND replaced_by IS NULL ORDER BY id DESC LIMIT 1;
SELECT sequence, kind, status, carrier_status, description, location, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"."MI"."SS"Z"') FROM shipment_events WHERE shipment_id = (:t)::bigint ORDER BY sequence;
