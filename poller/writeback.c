/* writeback.c - many shipments' poll outcomes in one fenced transaction (see writeback.h). */
#include "writeback.h"
#include "apply.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "numparse.h"
#include "pgarray.h"
#include "schedule.h"
#include "text.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The whole batch in one statement (one transaction, one round trip). u: the shipments still
 * leased to us and not written since their claim (polls unchanged; fencing: a lost lease
 * matches nothing), updated; e and o: the events and outbox rows of those shipments only, in
 * array order (a shipment's changes get outbox ids in sequence order: the relay's order).
 * ONLY: polled shipments are in the hot table, never in shipments_archive (schema/sql/0009).
 */
static const char write_sql[] =
    "WITH u AS ("
    " UPDATE ONLY shipments s SET status = v.st, progress = v.pr, sequence = v.sq, "
    "  last_event_at = COALESCE(to_timestamp(v.le), s.last_event_at), "
    "  carrier_status = COALESCE(NULLIF(v.cs, ''), s.carrier_status), "
    "  last_text = COALESCE(NULLIF(v.lt, ''), s.last_text), "
    "  last_location = COALESCE(NULLIF(v.ll, ''), s.last_location), "
    "  pickup_point = COALESCE(NULLIF(v.pp, ''), s.pickup_point), "
    "  pickup_address = COALESCE(NULLIF(v.pa, ''), s.pickup_address), "
    "  pickup_deadline = COALESCE(to_timestamp(v.pd), s.pickup_deadline), "
    "  last_change_at = CASE WHEN v.ch THEN now() ELSE s.last_change_at END, "
    "  delivered_at = CASE WHEN v.st = 'delivered' AND s.delivered_at IS NULL "
    "                      THEN COALESCE(to_timestamp(v.dl), now()) ELSE s.delivered_at END, "
    "  next_poll_at = now() + v.nx * interval '1 millisecond', "
    "  polls = s.polls + 1, consecutive_errors = v.ce, last_error = v.er, last_polled_at = now(), "
    "  lease_owner = NULL, lease_until = NULL "
    " FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::bigint[], $5::bigint[], "
    "             $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::bigint[], "
    "             $12::bigint[], $13::int[], $14::text[], $15::text[], $16::bigint[], $17::int[]) "
    "      AS v(id, st, pr, sq, le, cs, lt, ll, pp, ch, dl, nx, ce, er, pa, pd, po) "
    " WHERE s.id = v.id AND s.lease_owner = $18 AND s.polls = v.po RETURNING s.id), "
    "e AS ("
    " INSERT INTO shipment_events (shipment_id, sequence, kind, status, previous_status, "
    "  carrier_status, description, location, occurred_at, detected_at, event_id) "
    " SELECT s, q, 'status_changed', st, ps, NULLIF(cs, ''), NULLIF(d, ''), NULLIF(l, ''), "
    "        to_timestamp(o), LEAST(to_timestamp(dt / 1000.0), now()), e "
    " FROM unnest($19::bigint[], $20::bigint[], $21::text[], $22::text[], $23::text[], "
    "             $24::text[], $25::text[], $26::bigint[], $27::bigint[], $28::uuid[]) "
    "      AS x(s, q, st, ps, cs, d, l, o, dt, e) "
    " WHERE x.s IN (SELECT id FROM u)), "
    "o AS ("
    " INSERT INTO outbox (event_id, topic, msg_key, payload) "
    " SELECT e, $29, k, pl FROM unnest($30::uuid[], $31::text[], $32::text[]) WITH ORDINALITY "
    "      AS y(e, k, pl, i) "
    " WHERE y.k::bigint IN (SELECT id FROM u) ORDER BY i) "
    "SELECT id FROM u";

enum { UP_COLS = 17, EV_COLS = 10, OB_COLS = 3, N_PARAMS = UP_COLS + 1 + EV_COLS + 1 + OB_COLS };
static const pp_db_stmt_t write_stmt = {"write_back_polls", write_sql, N_PARAMS};

typedef struct batch {
    pp_pgarray_t ev[EV_COLS], ob[OB_COLS], up[UP_COLS];
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

/* One key change: its shipment_events row and its outbox row (the event's JSON). */
static int add_change(batch_t *b, const pp_wb_item_t *it, const pp_apply_change_t *ch, time_t now_s)
{
    pp_event_t ev = {0};
    pp_event_new_id(&ev);
    ev.schema_version = PP_EVENT_SCHEMA_VERSION;
    ev.kind = PP_EV_STATUS_CHANGED;
    ev.shipment_id = it->c.id;
    ev.transaction_id = it->c.transaction_id;
    pp_text_copy(ev.carrier, sizeof ev.carrier, it->c.carrier);
    pp_text_copy(ev.tracking_number, sizeof ev.tracking_number, it->c.tracking_number);
    ev.previous_status = ch->previous;
    ev.status = ch->status;
    if (ch->ev) {
        pp_text_copy(ev.carrier_status, sizeof ev.carrier_status, ch->ev->carrier_code);
        pp_text_copy(ev.carrier_status_text, sizeof ev.carrier_status_text, ch->ev->description);
        pp_text_copy(ev.location, sizeof ev.location, ch->ev->location);
        ev.occurred_at = ch->ev->occurred_at;
    } else {
        ev.occurred_at = now_s;
    }
    ev.detected_at = (time_t)(it->answered_ms / 1000);
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
    pp_pgarray_ll(&b->ev[8], (long long)it->answered_ms); /* ms: answer -> IM latency is measured from it */
    pp_pgarray_text(&b->ev[9], ev.event_id);
    char key[32];
    snprintf(key, sizeof key, "%lld", ev.shipment_id);
    pp_pgarray_text(&b->ob[0], ev.event_id);
    pp_pgarray_text(&b->ob[1], key);
    pp_pgarray_text(&b->ob[2], payload);
    free(payload);
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
    pp_pgarray_ll(&b->up[16], it->c.polls);
}

static int by_id(const void *a, const void *b)
{
    long long x = (*(pp_wb_item_t *const *)a)->c.id, y = (*(pp_wb_item_t *const *)b)->c.id;
    return (x > y) - (x < y);
}

/* The write_sql parameters: the columns of each array group, the worker id, the topic. */
static int params_of(batch_t *b, const char *me, const char *topic, const char **p)
{
    int k = 0;
    for (int i = 0; i < UP_COLS; i++)
        p[k++] = pp_pgarray_str(&b->up[i]);
    p[k++] = me;
    for (int i = 0; i < EV_COLS; i++)
        p[k++] = pp_pgarray_str(&b->ev[i]);
    p[k++] = topic;
    for (int i = 0; i < OB_COLS; i++)
        p[k++] = pp_pgarray_str(&b->ob[i]);
    for (int i = 0; i < k; i++)
        if (!p[i])
            return PP_ENOMEM;
    return PP_OK;
}

/* The batch in one statement; on failure nothing of it is written. */
static int write_batch(PGconn *conn, const pp_config_t *cfg, const char *me, const char *topic,
                       pp_wb_item_t **items, size_t n)
{
    batch_t b = {0};
    PGresult *r = NULL;
    const char *params[N_PARAMS];
    pp_apply_out_t *out = malloc(sizeof *out);
    int rc = out ? PP_OK : PP_ENOMEM;
    if (rc)
        goto done;
    qsort(items, n, sizeof *items, by_id);
    int64_t mono = pp_mono_ms();
    for (size_t i = 0; i < n; i++) {
        pp_wb_item_t *it = items[i];
        const pp_claimed_t *c = &it->c;
        /* the database's clock now: at the claim, plus the time since */
        long long now_ms = c->db_now_ms + (mono - c->claimed_ms > 0 ? mono - c->claimed_ms : 0);
        pp_apply_poll(cfg, &c->st, it->mine, it->outcome, it->retry_after_s, now_ms, it->u, out);
        time_t now_s = (time_t)(now_ms / 1000);
        for (size_t k = 0; k < out->n_changes; k++)
            if ((rc = add_change(&b, it, &out->changes[k], now_s)))
                goto done;
        add_update(&b, it, out);
        it->rc = PP_ECONFLICT; /* until the statement returns its id */
        it->n_events = out->n_changes;
        it->status_after = out->status;
        it->not_found_late_now =
            out->sched.not_found_late &&
            !pp_schedule_not_found_late(cfg, c->st.not_found_since_ms, c->last_polled_ms);
    }
    if ((rc = params_of(&b, me, topic, params)) ||
        (rc = pp_db_exec_stmt(conn, "write back polls", &write_stmt, params, &r)))
        goto done;
    /* Returned: written. Not returned: the lease was lost (nothing of it was written). */
    for (int row = 0; row < PQntuples(r); row++) {
        pp_wb_item_t key, *kp = &key, **hit;
        if (pp_parse_ll(PQgetvalue(r, row, 0), &key.c.id))
            continue;
        if ((hit = bsearch(&kp, items, n, sizeof *items, by_id)))
            (*hit)->rc = PP_OK;
    }
done:
    if (rc)
        for (size_t i = 0; i < n; i++)
            items[i]->rc = rc;
    PQclear(r);
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
