-- 0008_outbox_notify: a statement that adds outbox rows wakes the relay at its commit
-- (NOTIFY pp_outbox; the relay LISTENs on its lock connection), so an idle relay publishes
-- a new row within milliseconds instead of finding it at its next look. A trigger, not the
-- writers, so every writer is covered (the poller, pp-api, ppctl, COPY, a bench's pgbench).
-- One notification per statement, and Postgres folds a transaction's identical ones into one.
-- A notifying commit takes Postgres' notify-queue lock, which serialises such commits (held
-- through the commit's WAL flush): cheap for the outbox's writers, which commit a batch at a
-- time, but a cost to know of. Without this trigger the relay still looks every
-- relay_interval_ms.

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pp_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
