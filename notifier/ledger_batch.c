/*
 * ledger_batch.c - the ledger's decision statements for a whole batch at once: the
 * recipients of every shipment event in one SELECT and the decided rows in one INSERT per
 * kind, instead of two statements per event (ledger.c has the one-event forms, used for
 * IM-link codes and by recovery). Same SQL semantics as the one-event forms; the values go
 * as array parameters (unnest).
 */
#include "db.h"
#include "err.h"
#include "ledger.h"
#include "pgarray.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char SQL_RECIPIENTS[] =
    "SELECT x.i, u.id, u.locale, u.notify_shipment_status, coalesce(u.im_channel, ''),"
    "       coalesce(u.im_address, ''), u.im_verified,"
    "       coalesce((SELECT n.state FROM notifications n"
    "                  WHERE n.event_id = x.ev AND n.user_id = u.id), ''),"
    "       EXISTS (SELECT 1 FROM notifications n"
    "                WHERE n.shipment_id = x.ship AND n.user_id = u.id AND n.sequence >= x.seq"
    "                  AND n.event_id <> x.ev AND n.state = 'sent')"
    "  FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::bigint[])"
    "       WITH ORDINALITY AS x(tx, ev, ship, seq, i)"
    "  JOIN transactions t ON t.id = x.tx JOIN users u ON u.id = t.buyer_id"
    /* Held until the decision commits: a toggle change waits for it or is seen by it. */
    "   FOR SHARE OF u";

/* Prepared once per connection (common/db.h): unprepared, parsing and planning these for every
 * batch cost the notifier's backend more than running them (fleet-bench latency at 500/s). */
static const pp_db_stmt_t recipients_stmt = {"notifier_recipients", SQL_RECIPIENTS, 4};

int pp_ledger_recipients(PGconn *c, size_t n, const pp_event_t *const *evs, pp_recipient_t *r,
                         bool *found)
{
    pp_pgarray_t cols[4] = {{0}};
    PGresult *res = NULL;
    int rc = PP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        found[i] = false;
        pp_pgarray_ll(&cols[0], evs[i]->transaction_id);
        pp_pgarray_text(&cols[1], evs[i]->event_id);
        pp_pgarray_ll(&cols[2], evs[i]->shipment_id);
        pp_pgarray_ll(&cols[3], evs[i]->sequence);
    }
    const char *p[4];
    for (int k = 0; k < 4; k++)
        if (!(p[k] = pp_pgarray_str(&cols[k])))
            goto out;
    if ((rc = pp_db_exec_stmt(c, "notifier recipients lookup", &recipients_stmt, p, &res)))
        goto out;
    for (int row = 0; row < PQntuples(res); row++) {
        long long i = strtoll(PQgetvalue(res, row, 0), NULL, 10) - 1;
        if (i < 0 || (size_t)i >= n)
            continue;
        pp_recipient_t *q = &r[i];
        found[i] = true;
        q->user_id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
        snprintf(q->locale, sizeof q->locale, "%s", PQgetvalue(res, row, 2));
        q->opted_in = PQgetvalue(res, row, 3)[0] == 't';
        snprintf(q->channel, sizeof q->channel, "%s", PQgetvalue(res, row, 4));
        snprintf(q->address, sizeof q->address, "%s", PQgetvalue(res, row, 5));
        q->verified = PQgetvalue(res, row, 6)[0] == 't';
        snprintf(q->prev_state, sizeof q->prev_state, "%s", PQgetvalue(res, row, 7));
        q->newer_sent = PQgetvalue(res, row, 8)[0] == 't';
    }
    rc = PP_OK;
out:
    PQclear(res);
    for (int k = 0; k < 4; k++)
        pp_pgarray_free(&cols[k]);
    return rc;
}

/* The ledger's status and kind columns for ev (as ledger.c). */
static const char *row_status(const pp_event_t *ev)
{
    return ev->kind == PP_EV_IM_LINK_CODE ? "im_link_code" : pp_status_name(ev->status);
}

static const char *row_kind(const pp_event_t *ev)
{
    return ev->kind == PP_EV_IM_LINK_CODE ? "im_link_code" : "shipment_status";
}

static const char SQL_SKIPS[] =
    "INSERT INTO notifications (event_id, user_id, shipment_id, sequence, status,"
    "                           state, channel, address, last_error, kind, decided_at)"
    " SELECT e, u, s, q, st, state, ch, addr, why, kind, clock_timestamp()"
    "   FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[],"
    "               $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])"
    "        AS x(e, u, s, q, st, state, ch, addr, why, kind)"
    " ON CONFLICT (event_id, user_id) DO UPDATE"
    "   SET state = EXCLUDED.state, last_error = EXCLUDED.last_error,"
    "       decided_at = clock_timestamp()"
    "   WHERE notifications.state = 'sending'";

static const char SQL_SENDING[] =
    "INSERT INTO notifications (event_id, user_id, shipment_id, sequence, status,"
    "                           state, channel, address, body, attempts, kind, decided_at)"
    " SELECT e, u, s, q, st, 'sending', ch, addr, body, 1, kind, clock_timestamp()"
    "   FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[],"
    "               $6::text[], $7::text[], $8::text[], $9::text[])"
    "        AS x(e, u, s, q, st, ch, addr, body, kind)"
    " ON CONFLICT (event_id, user_id) DO UPDATE"
    "   SET attempts = notifications.attempts + 1, channel = EXCLUDED.channel,"
    "       address = EXCLUDED.address, body = EXCLUDED.body, last_error = NULL,"
    "       decided_at = clock_timestamp()"
    "   WHERE notifications.state = 'sending'"
    " RETURNING event_id::text, user_id";

#define NCOLS 10

/* The rows whose state is 'sending' (sending = true) or a skip, as array parameters in the
 * column order of SQL_SENDING (9) or SQL_SKIPS (10), built in cols (emptied first; p points
 * into them); *k rows. PP_ENOMEM. */
static int columns(size_t n, const pp_ledger_row_t *rows, bool sending, pp_pgarray_t *cols,
                   const char **p, size_t *k)
{
    size_t m = 0, ncols = sending ? 9 : 10;
    for (size_t c = 0; c < NCOLS; c++)
        pp_pgarray_reset(&cols[c]);
    for (size_t i = 0; i < n; i++) {
        const pp_ledger_row_t *w = &rows[i];
        if ((strcmp(w->state, "sending") == 0) != sending)
            continue;
        const char *ch = w->r->channel[0] ? w->r->channel : NULL;
        const char *addr = w->r->address[0] ? w->r->address : NULL;
        pp_pgarray_text(&cols[0], w->ev->event_id);
        pp_pgarray_ll(&cols[1], w->r->user_id);
        pp_pgarray_ll(&cols[2], w->ev->shipment_id);
        pp_pgarray_ll(&cols[3], w->ev->sequence);
        pp_pgarray_text(&cols[4], row_status(w->ev));
        if (sending) { /* ch, addr, body, kind */
            pp_pgarray_text(&cols[5], w->r->channel);
            pp_pgarray_text(&cols[6], w->r->address);
            pp_pgarray_text(&cols[7], w->text);
            pp_pgarray_text(&cols[8], row_kind(w->ev));
        } else { /* state, ch, addr, why, kind */
            pp_pgarray_text(&cols[5], w->state);
            pp_pgarray_text(&cols[6], ch);
            pp_pgarray_text(&cols[7], addr);
            pp_pgarray_text(&cols[8], w->text);
            pp_pgarray_text(&cols[9], row_kind(w->ev));
        }
        m++;
    }
    int rc = PP_OK;
    for (size_t c = 0; c < ncols; c++)
        if (!(p[c] = pp_pgarray_str(&cols[c])))
            rc = PP_ENOMEM;
    *k = m;
    return rc;
}

/* The 'sending' rows the INSERT returned are claimed. */
static void claimed_rows(size_t n, pp_ledger_row_t *rows, PGresult *res)
{
    for (int row = 0; row < PQntuples(res); row++) {
        const char *ev = PQgetvalue(res, row, 0);
        long long user = strtoll(PQgetvalue(res, row, 1), NULL, 10);
        for (size_t i = 0; i < n; i++) {
            pp_ledger_row_t *w = &rows[i];
            if (!w->claimed && w->r->user_id == user && strcmp(w->state, "sending") == 0 &&
                strcasecmp(w->ev->event_id, ev) == 0) {
                w->claimed = true;
                break;
            }
        }
    }
}

static const pp_db_stmt_t skips_stmt = {"notifier_ledger_skips", SQL_SKIPS, 10};
static const pp_db_stmt_t sending_stmt = {"notifier_ledger_sending", SQL_SENDING, 9};

int pp_ledger_decide_many(PGconn *c, size_t n, pp_ledger_row_t *rows)
{
    pp_pgarray_t cols[NCOLS] = {{0}};
    const char *p[NCOLS] = {0};
    PGresult *res = NULL;
    size_t k = 0;
    int rc;
    for (size_t i = 0; i < n; i++)
        rows[i].claimed = false;
    if ((rc = columns(n, rows, false, cols, p, &k)))
        goto out;
    if (k && (rc = pp_db_exec_stmt(c, "notifier ledger skips", &skips_stmt, p, NULL)))
        goto out;
    if ((rc = columns(n, rows, true, cols, p, &k)))
        goto out;
    if (k && (rc = pp_db_exec_stmt(c, "notifier ledger sending", &sending_stmt, p, &res)))
        goto out;
    if (res)
        claimed_rows(n, rows, res);
out:
    PQclear(res);
    for (int i = 0; i < NCOLS; i++)
        pp_pgarray_free(&cols[i]);
    return rc;
}
