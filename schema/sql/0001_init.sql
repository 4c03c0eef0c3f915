-- 0001_init: the walking skeleton's tables (users, sellers, transactions, shipments,
-- shipment_events, outbox, notifications, workers). Applied by `ppctl migrate`.

CREATE TABLE users (
    id                      bigint PRIMARY KEY,
    locale                  text NOT NULL DEFAULT 'pl' CHECK (locale IN ('pl', 'en')),
    notify_shipment_status  boolean NOT NULL DEFAULT false,  -- "Powiadomienia o statusie przesyłki"
    notify_changed_at       timestamptz NOT NULL DEFAULT now(),
    im_channel              text CHECK (im_channel IN ('xmpp')),
    im_address              text,
    im_verified             boolean NOT NULL DEFAULT false,
    quiet_from              time,
    quiet_to                time,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (im_address IS NULL OR im_channel IS NOT NULL)
);

CREATE TABLE sellers (
    id              bigint PRIMARY KEY,
    name            text NOT NULL,
    api_key_hash    text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A transaction is the purchase's payment card: who bought from whom.
CREATE TABLE transactions (
    id          bigint PRIMARY KEY,
    buyer_id    bigint NOT NULL REFERENCES users (id),
    seller_id   bigint NOT NULL REFERENCES sellers (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transactions_buyer ON transactions (buyer_id);

CREATE TABLE shipments (
    id                  bigserial PRIMARY KEY,
    transaction_id      bigint NOT NULL REFERENCES transactions (id),
    carrier             text NOT NULL,
    tracking_number     text NOT NULL,
    status              text NOT NULL DEFAULT 'info_received',
    progress            smallint NOT NULL DEFAULT 1,     -- highest main-line rank reached
    sequence            bigint NOT NULL DEFAULT 0,       -- last event sequence issued
    carrier_status      text,
    last_event_at       timestamptz,                     -- carrier time of the newest applied event
    last_location       text,
    last_text           text,
    pickup_point        text,
    entered_at          timestamptz NOT NULL DEFAULT now(),
    last_change_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    next_poll_at        timestamptz,                     -- NULL: not polled any more (terminal)
    lease_owner         text,
    lease_until         timestamptz,
    polls               integer NOT NULL DEFAULT 0,
    consecutive_errors  integer NOT NULL DEFAULT 0,
    last_error          text,
    last_polled_at      timestamptz,
    carrier_state       jsonb NOT NULL DEFAULT '{}',     -- e.g. hash of the last seen history
    UNIQUE (transaction_id, carrier, tracking_number)
);
-- The claim query's index: due, unleased work in time order.
CREATE INDEX shipments_due ON shipments (next_poll_at) WHERE next_poll_at IS NOT NULL;

CREATE TABLE shipment_events (
    id              bigserial PRIMARY KEY,
    shipment_id     bigint NOT NULL REFERENCES shipments (id),
    sequence        bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('number_entered', 'status_changed')),
    status          text NOT NULL,
    previous_status text,
    carrier_status  text,
    description     text,
    location        text,
    occurred_at     timestamptz NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    event_id        uuid NOT NULL UNIQUE,
    UNIQUE (shipment_id, sequence)
);

-- Transactional outbox: written in the same transaction as the state change, relayed
-- to Kafka by the poller, marked published only on a successful delivery report.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    topic           text NOT NULL,
    msg_key         text NOT NULL,
    payload         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Dedup ledger: one row per (event, recipient). A row in state 'sent' means the IM
-- server acknowledged the message; replays and redeliveries find it and send nothing.
CREATE TABLE notifications (
    event_id        uuid NOT NULL,
    user_id         bigint NOT NULL REFERENCES users (id),
    shipment_id     bigint NOT NULL,
    sequence        bigint NOT NULL,
    status          text NOT NULL,
    state           text NOT NULL CHECK (state IN ('sending', 'sent', 'skipped_opted_out',
                                                   'skipped_no_im', 'skipped_stale', 'failed')),
    channel         text,
    address         text,
    body            text,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX notifications_order ON notifications (shipment_id, user_id, sequence);

CREATE TABLE workers (
    id              text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('poller', 'notifier', 'api')),
    host            text NOT NULL,
    pid             integer NOT NULL,
    metrics_addr    text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    stopped_at      timestamptz,
    counters        jsonb NOT NULL DEFAULT '{}'
);
