/* writeback.c - many shipments' poll outcomes in one fenced transaction (see writeback.h). */
#include "writeback.h"
#include "apply.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "numparse.h"
#include "pgarray.h"
#include "schedule.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows still ours, locked in id order (two batches never wait on each other in a cycle). */
static const char lock_sql[] =
    "SELECT id, status, progress, sequence, "
    "       (extract(epoch FROM last_event_at))::bigint, "
    "       (extract(epoch FROM last_change_at) * 1000)::bigint, consecutive_errors, "
    "       (extract(epoch FROM now()) * 1000)::bigint, "
    "       (extract(epoch FROM entered_at) * 1000)::bigint, "
    "       (extract(epoch FROM last_polled_at) * 1000)::bigint "
    "FROM shipments WHERE id = ANY($1::bigint[]) AND lease_owner = $2 ORDER BY id FOR UPDATE";

static const char events_sql[] =
    "INSERT INTO shipment_events (shipment_id, sequence, kind, status, previous_status, "
    " carrier_status, description, location, occurred_at, detected_at, event_id) "
    "SELECT s, q, 'status_changed', st, ps, NULLIF(cs, ''), NULLIF(d, ''), NULLIF(l, ''), "
    "       to_timestamp(o), to_timestamp(dt), e "
    "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "            $7::text[], $8::bigint[], $9::bigint[], $10::uuid[]) "
    "     AS v(s, q, st, ps, cs, d, l, o, dt, e)";

/* In array order: a shipment's changes get outbox ids in sequence order (the relay's order). */
static const char outbox_sql[] =
    "INSERT INTO outbox (event_id, topic, msg_key, payload) "
    "SELECT e, $2, k, pl FROM unnest($1::uuid[], $3::text[], $4::text[]) WITH ORDINALITY "
    "     AS v(e, k, pl, i) ORDER BY i";

static const char update_sql[] =
    "UPDATE shipments s SET status = v.st, progress = v.pr, sequence = v.sq, "
    " last_event_at = COALESCE(to_timestamp(v.le), s.last_event_at), "
    " carrier_status = COALESCE(NULLIF(v.cs, ''), s.carrier_status), "
    " last_text = COALESCE(NULLIF(v.lt, ''), s.last_text), "
    " last_location = COALESCE(NULLIF(v.ll, ''), s.last_location), "
    " pickup_point = COALESCE(NULLIF(v.pp, ''), s.pickup_point), "
    " pickup_address = COALESCE(NULLIF(v.pa, ''), s.pickup_address), "
    " pickup_deadline = COALESCE(to_timestamp(v.pd), s.pickup_deadline), "
    " last_change_at = CASE WHEN v.ch THEN now() ELSE s.last_change_at END, "
    " delivered_at = CASE WHEN v.st = 'delivered' AND s.delivered_at IS NULL "
    "                     THEN COALESCE(to_timestamp(v.dl), now()) ELSE s.delivered_at END, "
    " next_poll_at = now() + v.nx * interval '1 millisecond', "
    " polls = s.polls + 1, consecutive_errors = v.ce, last_error = v.er, last_polled_at = now(), "
    " lease_owner = NULL, lease_until = NULL "
    "FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::bigint[], $5::bigint[], "
    "            $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::bigint[], "
    "            $12::bigint[], $13::int[], $14::text[], $15::text[], $16::bigint[]) "
    "     AS v(id, st, pr, sq, le, cs, lt, ll, pp, ch, dl, nx, ce, er, pa, pd) "
    "WHERE s.id = v.id";

enum { EV_COLS = 10, OB_COLS = 3, UP_COLS = 16 };

typedef struct batch {
    pp_pgarray_t ev[EV_COLS], ob[OB_COLS], up[UP_COLS];
    size_t n_events, n_updates;
} batch_t;

static void batch_free(batch_t *b)
{
    for (int i = 0; i < EV_COLS; i++)
        pp_pgarray_free(&b->ev[i]);
    for (int i = 0; i < OB_COLS; i++)
        pp_pgarray_free(&b->ob[i]);
    for (int i = 0; i < UP_COLS; i++)
        pp_pgarray_free(&b->up[i]);
}

static int get_ll(PGresult *r, int row, int col, long long *out)
{
    if (PQgetisnull(r, row, col))
        return PP_ENOTFOUND;
    return pp_parse_ll(PQgetvalue(r, row, col), out) ? PP_EPARSE : PP_OK;
}

/* Reads a locked shipment row (columns of lock_sql) into the state pp_apply_poll starts
 * from; also the database's clock (now_ms) and when the shipment was last polled. */
static void read_state(PGresult *r, int row, pp_apply_state_t *st, long long *now_ms,
                       long long *last_polled_ms)
{
    long long v;
    if (pp_status_parse(PQgetvalue(r, row, 1), &st->status) != 0)
        st->status = PP_ST_INFO_RECEIVED;
    if (get_ll(r, row, 2, &v) == 0)
        st->progress = (int)v;
    if (get_ll(r, row, 3, &v) == 0)
        st->sequence = v;
    if (get_ll(r, row, 4, &v) == 0) {
        st->has_last_event = true;
        st->last_event_at = (time_t)v;
    }
    if (get_ll(r, row, 5, &v) == 0)
        st->last_change_ms = v;
    if (get_ll(r, row, 6, &v) == 0)
        st->consecutive_errors = (int)v;
    get_ll(r, row, 7, now_ms);
    long long entered_ms = 0;
    get_ll(r, row, 8, &entered_ms);
    get_ll(r, row, 9, last_polled_ms);
    /* never seen by the carrier: the not-found grace period counts from the entry */
    if (!st->has_last_event)
        st->not_found_since_ms = entered_ms;
}

/* One key change: its shipment_events row and its outbox row (the event's JSON). */
static int add_change(batch_t *b, const pp_wb_item_t *it, const pp_apply_change_t *ch, time_t now_s)
{
    pp_event_t ev = {0};
    pp_event_new_id(&ev);
    ev.schema_version = PP_EVENT_SCHEMA_VERSION;
    ev.kind = PP_EV_STATUS_CHANGED;
    ev.shipment_id = it->c.id;
    ev.transaction_id = it->c.transaction_id;
    snprintf(ev.carrier, sizeof ev.carrier, "%s", it->c.carrier);
    snprintf(ev.tracking_number, sizeof ev.tracking_number, "%s", it->c.tracking_number);
    ev.previous_status = ch->previous;
    ev.status = ch->status;
    if (ch->ev) {
        snprintf(ev.carrier_status, sizeof ev.carrier_status, "%s", ch->ev->carrier_code);
        snprintf(ev.carrier_status_text, sizeof ev.carrier_status_text, "%s", ch->ev->description);
        snprintf(ev.location, sizeof ev.location, "%s", ch->ev->location);
        ev.occurred_at = ch->ev->occurred_at;
    } else {
        ev.occurred_at = now_s;
    }
    ev.detected_at = now_s;
    ev.sequence = ch->sequence;
    char *payload = NULL;
    int rc = pp_event_encode(&ev, &payload);
    if (rc)
        return rc;
    pp_pgarray_ll(&b->ev[0], ev.shipment_id);
    pp_pgarray_ll(&b->ev[1], ev.sequence);
    pp_pgarray_text(&b->ev[2], pp_status_name(ev.status));
    pp_pgarray_text(&b->ev[3], pp_status_name(ev.previous_status));
    pp_pgarray_text(&b->ev[4], ev.carrier_status);
    pp_pgarray_text(&b->ev[5], ev.carrier_status_text);
    pp_pgarray_text(&b->ev[6], ev.location);
    pp_pgarray_ll(&b->ev[7], (long long)ev.occurred_at);
    pp_pgarray_ll(&b->ev[8], (long long)ev.detected_at);
    pp_pgarray_text(&b->ev[9], ev.event_id);
    char key[32];
    snprintf(key, sizeof key, "%lld", ev.shipment_id);
    pp_pgarray_text(&b->ob[0], ev.event_id);
    pp_pgarray_text(&b->ob[1], key);
    pp_pgarray_text(&b->ob[2], payload);
    free(payload);
    b->n_events++;
    return PP_OK;
}

/* The shipment row's new state: status, schedule, errors; its lease is freed. */
static void add_update(batch_t *b, const pp_wb_item_t *it, const pp_apply_out_t *out)
{
    const pp_track_event_t *nw = out->newest;
    const pp_track_result_t *m = it->mine;
    pp_pgarray_ll(&b->up[0], it->c.id);
    pp_pgarray_text(&b->up[1], pp_status_name(out->status));
    pp_pgarray_ll(&b->up[2], out->progress);
    pp_pgarray_ll(&b->up[3], out->sequence);
    if (out->has_new_events)
        pp_pgarray_ll(&b->up[4], (long long)out->last_event_at);
    else
        pp_pgarray_null(&b->up[4]);
    pp_pgarray_text(&b->up[5], nw ? nw->carrier_code : NULL);
    pp_pgarray_text(&b->up[6], nw ? nw->description : NULL);
    pp_pgarray_text(&b->up[7], nw ? nw->location : NULL);
    pp_pgarray_text(&b->up[8], m ? m->pickup_point : NULL);
    pp_pgarray_text(&b->up[9], out->n_changes ? "t" : "f");
    long long delivered = 0;
    for (size_t i = 0; i < out->n_changes; i++)
        if (out->changes[i].status == PP_ST_DELIVERED && out->changes[i].ev)
            delivered = (long long)out->changes[i].ev->occurred_at;
    if (delivered)
        pp_pgarray_ll(&b->up[10], delivered);
    else
        pp_pgarray_null(&b->up[10]);
    if (out->sched.poll_again)
        pp_pgarray_ll(&b->up[11], (long long)out->sched.delay_ms);
    else
        pp_pgarray_null(&b->up[11]);
    pp_pgarray_ll(&b->up[12], out->consecutive_errors);
    pp_pgarray_text(&b->up[13], it->outcome == PP_POLL_ERROR ? it->error : NULL);
    pp_pgarray_text(&b->up[14], m ? m->pickup_address : NULL);
    if (m && m->pickup_deadline)
        pp_pgarray_ll(&b->up[15], (long long)m->pickup_deadline);
    else
        pp_pgarray_null(&b->up[15]);
    b->n_updates++;
}

/* Runs cols[0..n) as the parameters of sql, with extra (if any) as parameter 2. */
static int exec_arrays(PGconn *conn, const char *what, const char *sql, pp_pgarray_t *cols, int n,
                       const char *extra)
{
    const char *params[UP_COLS + 1];
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (extra && k == 1)
            params[k++] = extra;
        if (!(params[k++] = pp_pgarray_str(&cols[i])))
            return PP_ENOMEM;
    }
    return pp_db_exec(conn, what, sql, k, params, NULL);
}

static int by_id(const void *a, const void *b)
{
    long long x = (*(pp_wb_item_t *const *)a)->c.id, y = (*(pp_wb_item_t *const *)b)->c.id;
    return (x > y) - (x < y);
}

/* The batch in one transaction; on failure nothing of it is written. */
static int write_batch(PGconn *conn, const pp_config_t *cfg, const char *me, const char *topic,
                       pp_wb_item_t **items, size_t n)
{
    batch_t b = {0};
    PGresult *r = NULL;
    pp_apply_out_t *out = malloc(sizeof *out);
    pp_pgarray_t ids = {0};
    int rc = out ? PP_OK : PP_ENOMEM;
    if (rc)
        goto done;
    qsort(items, n, sizeof *items, by_id);
    for (size_t i = 0; i < n; i++) {
        items[i]->rc = PP_ECONFLICT; /* until its row is found locked under our lease */
        pp_pgarray_ll(&ids, items[i]->c.id);
    }
    const char *idlist = pp_pgarray_str(&ids);
    if (!idlist) {
        rc = PP_ENOMEM;
        goto done;
    }
    if ((rc = pp_db_begin(conn)))
        goto done;
    const char *lp[] = {idlist, me};
    if ((rc = pp_db_exec(conn, "lock shipments", lock_sql, 2, lp, &r)))
        goto done;
    int rows = PQntuples(r);
    size_t k = 0;
    for (int row = 0; row < rows; row++) {
        long long id;
        if (pp_parse_ll(PQgetvalue(r, row, 0), &id))
            continue;
        while (k < n && items[k]->c.id < id)
            k++; /* not returned: its lease is gone (fencing: nothing is written for it) */
        if (k == n || items[k]->c.id != id)
            continue;
        pp_wb_item_t *it = items[k++];
        pp_apply_state_t st = {0};
        long long now_ms = pp_now_ms(), last_polled_ms = 0;
        read_state(r, row, &st, &now_ms, &last_polled_ms);
        pp_apply_poll(cfg, &st, it->mine, it->outcome, it->retry_after_s, now_ms, it->u, out);
        time_t now_s = (time_t)(now_ms / 1000);
        for (size_t c = 0; c < out->n_changes; c++)
            if ((rc = add_change(&b, it, &out->changes[c], now_s)))
                goto done;
        add_update(&b, it, out);
        it->rc = PP_EAGAIN; /* written if the transaction commits */
        it->n_events = out->n_changes;
        it->status_after = out->status;
        it->not_found_late_now =
            out->sched.not_found_late &&
            !pp_schedule_not_found_late(cfg, st.not_found_since_ms, last_polled_ms);
    }
    PQclear(r);
    r = NULL;
    if (b.n_events &&
        ((rc = exec_arrays(conn, "insert shipment events", events_sql, b.ev, EV_COLS, NULL)) ||
         (rc = exec_arrays(conn, "insert outbox rows", outbox_sql, b.ob, OB_COLS, topic))))
        goto done;
    if (b.n_updates && (rc = exec_arrays(conn, "update shipments", update_sql, b.up, UP_COLS, NULL)))
        goto done;
    if ((rc = pp_db_commit(conn)))
        goto done;
    for (size_t i = 0; i < n; i++)
        if (items[i]->rc == PP_EAGAIN)
            items[i]->rc = PP_OK;
done:
    if (rc) {
        pp_db_rollback(conn);
        for (size_t i = 0; i < n; i++)
            items[i]->rc = rc;
    }
    PQclear(r);
    pp_pgarray_free(&ids);
    batch_free(&b);
    free(out);
    return rc;
}

int pp_writeback(PGconn *conn, const pp_config_t *cfg, const char *me, const char *topic,
                 pp_wb_item_t **items, size_t n)
{
    int rc = write_batch(conn, cfg, me, topic, items, n);
    if (rc == PP_OK || n == 1 || PQstatus(conn) != CONNECTION_OK)
        return rc;
    /* Something in the batch was refused: each alone, so that it costs only itself. */
    pp_warn("database: a write-back of %zu shipments failed; writing each in its own transaction", n);
    for (size_t i = 0; i < n; i++)
        (void)write_batch(conn, cfg, me, topic, &items[i], 1);
    return PP_OK;
}
