-- 0007_im_link: linking a buyer's IM address with a one-time code (issue 4), and an exact
-- record of when each buyer's "Powiadomienia o statusie przesyłki" toggle changed.

-- One pending link per buyer: a new POST /v1/me/im-link replaces the previous one (and its
-- code, which the notifier then no longer sends). The code travels to the address as an
-- im-link-code.v1 event through the outbox; only its salted hash is stored here. The
-- buyer's current address (users.im_*) stays as it is until the code is verified.
CREATE TABLE im_links (
    user_id     bigint PRIMARY KEY REFERENCES users (id),
    event_id    uuid NOT NULL UNIQUE,          -- the event carrying this code
    channel     text NOT NULL CHECK (channel IN ('xmpp')),
    address     text NOT NULL,
    code_hash   text NOT NULL,                 -- hex SHA-256 of event_id || ':' || code
    attempts    integer NOT NULL DEFAULT 0,    -- wrong codes entered
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    verified_at timestamptz
);

-- The ledger also records link-code messages (kind im_link_code, shipment_id 0), so they
-- get the same exactly-once send (stanza id <event_id>:<user_id>, archive lookup after a
-- crash). decided_at: when the notifier read the buyer's settings and decided, taken after
-- it locked the users row (FOR SHARE), so it orders exactly against notify_changes.
ALTER TABLE notifications ADD COLUMN kind text NOT NULL DEFAULT 'shipment_status'
    CHECK (kind IN ('shipment_status', 'im_link_code'));
ALTER TABLE notifications ADD COLUMN decided_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- Every change of the toggle, whoever made it (API, bot stop/start, ppctl, the feed).
-- changed_at is taken when the users row is already locked by the UPDATE, so a decision
-- (notifications.decided_at) before it saw the old value and one after it the new value.
CREATE TABLE notify_changes (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    shipment_status boolean NOT NULL,
    changed_at      timestamptz NOT NULL
);
CREATE INDEX notify_changes_user ON notify_changes (user_id, changed_at);

CREATE FUNCTION users_notify_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.notify_changed_at := clock_timestamp();
    ELSIF NEW.notify_shipment_status IS DISTINCT FROM OLD.notify_shipment_status THEN
        NEW.notify_changed_at := clock_timestamp();
    ELSE
        NEW.notify_changed_at := OLD.notify_changed_at;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_notify_stamp BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_notify_stamp();

CREATE FUNCTION users_notify_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.notify_shipment_status IS DISTINCT FROM OLD.notify_shipment_status THEN
        INSERT INTO notify_changes (user_id, shipment_status, changed_at)
        VALUES (NEW.id, NEW.notify_shipment_status, NEW.notify_changed_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_notify_log AFTER INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_notify_log();

-- The bot registers in workers like the other daemons.
ALTER TABLE workers DROP CONSTRAINT workers_kind_check;
ALTER TABLE workers ADD CONSTRAINT workers_kind_check CHECK (kind IN ('poller', 'notifier', 'api', 'bot'));
