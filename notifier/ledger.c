/* ledger.c - recipient lookup and the notifications dedup ledger, parameterized SQL on libpq. */
#include "ledger.h"
#include "pgarray.h"
#include "db.h"
#include "err.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_RECIPIENT[] =
    "SELECT u.id, u.locale, u.notify_shipment_status, coalesce(u.im_channel, ''),"
    "       coalesce(u.im_address, ''), u.im_verified,"
    "       coalesce((SELECT n.state FROM notifications n"
    "                  WHERE n.event_id = $2::uuid AND n.user_id = u.id), ''),"
    "       EXISTS (SELECT 1 FROM notifications n"
    "                WHERE n.shipment_id = $3 AND n.user_id = u.id AND n.sequence >= $4"
    "                  AND n.event_id <> $2::uuid AND n.state = 'sent')"
    "  FROM transactions t JOIN users u ON u.id = t.buyer_id WHERE t.id = $1"
    /* Held until the decision commits: a toggle change waits for it or is seen by it. */
    "   FOR SHARE OF u";

int pp_ledger_recipient(PGconn *c, const pp_event_t *ev, pp_recipient_t *r)
{
    char tx[24], ship[24], seq[24];
    PGresult *res = NULL;
    memset(r, 0, sizeof *r);
    snprintf(tx, sizeof tx, "%lld", ev->transaction_id);
    snprintf(ship, sizeof ship, "%lld", ev->shipment_id);
    snprintf(seq, sizeof seq, "%lld", ev->sequence);
    const char *p[] = {tx, ev->event_id, ship, seq};
    if (pp_db_exec(c, "notifier recipient lookup", SQL_RECIPIENT, 4, p, &res))
        return PP_EDB;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return PP_ENOTFOUND;
    }
    r->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(r->locale, sizeof r->locale, "%s", PQgetvalue(res, 0, 1));
    r->opted_in = PQgetvalue(res, 0, 2)[0] == 't';
    snprintf(r->channel, sizeof r->channel, "%s", PQgetvalue(res, 0, 3));
    snprintf(r->address, sizeof r->address, "%s", PQgetvalue(res, 0, 4));
    r->verified = PQgetvalue(res, 0, 5)[0] == 't';
    snprintf(r->prev_state, sizeof r->prev_state, "%s", PQgetvalue(res, 0, 6));
    r->newer_sent = PQgetvalue(res, 0, 7)[0] == 't';
    PQclear(res);
    return PP_OK;
}

int pp_ledger_link_recipient(PGconn *c, const pp_link_event_t *lev, pp_recipient_t *r, bool *current)
{
    char user[24];
    PGresult *res = NULL;
    memset(r, 0, sizeof *r);
    *current = false;
    snprintf(user, sizeof user, "%lld", lev->user_id);
    const char *p[] = {user, lev->event_id};
    if (pp_db_exec(c, "notifier IM-link recipient lookup",
                   "SELECT u.locale,"
                   "       coalesce((SELECT n.state FROM notifications n"
                   "                  WHERE n.event_id = $2::uuid AND n.user_id = u.id), ''),"
                   "       EXISTS (SELECT 1 FROM im_links l WHERE l.user_id = u.id AND l.event_id = $2::uuid"
                   "                  AND l.verified_at IS NULL AND l.expires_at > now())"
                   "  FROM users u WHERE u.id = $1 FOR SHARE OF u",
                   2, p, &res))
        return PP_EDB;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return PP_ENOTFOUND;
    }
    r->user_id = lev->user_id;
    snprintf(r->locale, sizeof r->locale, "%s", PQgetvalue(res, 0, 0));
    snprintf(r->prev_state, sizeof r->prev_state, "%s", PQgetvalue(res, 0, 1));
    snprintf(r->channel, sizeof r->channel, "%s", lev->channel);
    snprintf(r->address, sizeof r->address, "%s", lev->address);
    r->opted_in = r->verified = true; /* not asked: the code goes to the address being linked */
    *current = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    return PP_OK;
}

/* The ledger's status and kind columns for ev. */
static const char *row_status(const pp_event_t *ev)
{
    return ev->kind == PP_EV_IM_LINK_CODE ? "im_link_code" : pp_status_name(ev->status);
}

static const char *row_kind(const pp_event_t *ev)
{
    return ev->kind == PP_EV_IM_LINK_CODE ? "im_link_code" : "shipment_status";
}

int pp_ledger_skip(PGconn *c, const pp_event_t *ev, const pp_recipient_t *r, const char *state,
                   const char *why)
{
    char user[24], ship[24], seq[24];
    snprintf(user, sizeof user, "%lld", r->user_id);
    snprintf(ship, sizeof ship, "%lld", ev->shipment_id);
    snprintf(seq, sizeof seq, "%lld", ev->sequence);
    const char *p[] = {ev->event_id,
                       user,
                       ship,
                       seq,
                       row_status(ev),
                       state,
                       r->channel[0] ? r->channel : NULL,
                       r->address[0] ? r->address : NULL,
                       why,
                       row_kind(ev)};
    return pp_db_exec(c, "notifier ledger skip",
                      "INSERT INTO notifications (event_id, user_id, shipment_id, sequence, status,"
                      "                           state, channel, address, last_error, kind, decided_at)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())"
                      " ON CONFLICT (event_id, user_id) DO UPDATE"
                      "   SET state = EXCLUDED.state, last_error = EXCLUDED.last_error,"
                      "       decided_at = clock_timestamp()"
                      "   WHERE notifications.state = 'sending'",
                      10, p, NULL);
}

int pp_ledger_sending(PGconn *c, const pp_event_t *ev, const pp_recipient_t *r, const char *body,
                      bool *claimed)
{
    char user[24], ship[24], seq[24];
    PGresult *res = NULL;
    snprintf(user, sizeof user, "%lld", r->user_id);
    snprintf(ship, sizeof ship, "%lld", ev->shipment_id);
    snprintf(seq, sizeof seq, "%lld", ev->sequence);
    const char *p[] = {ev->event_id, user,       ship, seq,         row_status(ev),
                       r->channel,   r->address, body, row_kind(ev)};
    *claimed = false;
    if (pp_db_exec(c, "notifier ledger sending",
                   "INSERT INTO notifications (event_id, user_id, shipment_id, sequence, status,"
                   "                           state, channel, address, body, attempts, kind, decided_at)"
                   " VALUES ($1, $2, $3, $4, $5, 'sending', $6, $7, $8, 1, $9, clock_timestamp())"
                   " ON CONFLICT (event_id, user_id) DO UPDATE"
                   "   SET attempts = notifications.attempts + 1, channel = EXCLUDED.channel,"
                   "       address = EXCLUDED.address, body = EXCLUDED.body, last_error = NULL,"
                   "       decided_at = clock_timestamp()"
                   "   WHERE notifications.state = 'sending'"
                   " RETURNING attempts",
                   9, p, &res))
        return PP_EDB;
    *claimed = PQntuples(res) == 1;
    PQclear(res);
    return PP_OK;
}

/* The array literal of n event ids or n numbers, in a (NULL when memory ran out). */
static const char *array_of(pp_pgarray_t *a, size_t n, const char *const *strs, const long long *nums)
{
    for (size_t i = 0; i < n; i++) {
        if (strs)
            pp_pgarray_text(a, strs[i]);
        else
            pp_pgarray_ll(a, nums[i]);
    }
    return pp_pgarray_str(a);
}

/* Prepared (common/db.h): sent once per batch, in-flight rows once per recovery. */
static const pp_db_stmt_t sent_stmt = {"notifier_ledger_sent",
                                       "UPDATE notifications n SET state = 'sent', sent_at = now()"
                                       "  FROM unnest($1::uuid[], $2::bigint[]) AS x(event_id, user_id)"
                                       " WHERE n.event_id = x.event_id AND n.user_id = x.user_id"
                                       "   AND n.state = 'sending'",
                                       2};
static const pp_db_stmt_t inflight_stmt = {"notifier_ledger_inflight",
                                           "SELECT event_id::text, user_id, coalesce(address, ''),"
                                           "       floor(extract(epoch FROM created_at))::bigint"
                                           "  FROM notifications"
                                           " WHERE event_id = ANY($1::uuid[]) AND state = 'sending' AND channel = $2"
                                           " ORDER BY address, created_at",
                                           2};

static int mark_sent(PGconn *c, size_t n, const char *const *event_ids, const long long *user_ids,
                     const long long *when)
{
    int rc = PP_ENOMEM;
    if (n == 0)
        return PP_OK;
    pp_pgarray_t a[3] = {{0}};
    const char *ids = array_of(&a[0], n, event_ids, NULL);
    const char *users = array_of(&a[1], n, NULL, user_ids);
    const char *times = when ? array_of(&a[2], n, NULL, when) : NULL;
    if (!ids || !users || (when && !times))
        goto fail;
    const char *p[] = {ids, users, times};
    if (!when)
        rc = pp_db_exec_stmt(c, "notifier ledger sent", &sent_stmt, p, NULL);
    else
        rc = pp_db_exec(c, "notifier ledger sent (from the IM archive)",
                        "UPDATE notifications n SET state = 'sent', sent_at = to_timestamp(x.ts)"
                        "  FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])"
                        "       AS x(event_id, user_id, ts)"
                        " WHERE n.event_id = x.event_id AND n.user_id = x.user_id"
                        "   AND n.state = 'sending'",
                        3, p, NULL);
fail:
    for (int i = 0; i < 3; i++)
        pp_pgarray_free(&a[i]);
    return rc;
}

int pp_ledger_sent(PGconn *c, size_t n, const char *const *event_ids, const long long *user_ids)
{
    return mark_sent(c, n, event_ids, user_ids, NULL);
}

int pp_ledger_sent_at(PGconn *c, size_t n, const char *const *event_ids, const long long *user_ids,
                      const long long *when)
{
    return mark_sent(c, n, event_ids, user_ids, when);
}

int pp_ledger_inflight(PGconn *c, size_t n, const char *const *event_ids, const char *channel,
                       pp_inflight_t **out, size_t *n_out)
{
    PGresult *res = NULL;
    int rc = PP_ENOMEM;
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return PP_OK;
    pp_pgarray_t a = {0};
    const char *ids = array_of(&a, n, event_ids, NULL);
    if (!ids) {
        pp_pgarray_free(&a);
        return PP_ENOMEM;
    }
    const char *p[] = {ids, channel};
    if ((rc = pp_db_exec_stmt(c, "notifier ledger in-flight rows", &inflight_stmt, p, &res)))
        goto out;
    size_t rows = (size_t)PQntuples(res);
    if (rows == 0)
        goto out;
    pp_inflight_t *v = calloc(rows, sizeof *v);
    if (!v) {
        rc = PP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < rows; i++) {
        snprintf(v[i].event_id, sizeof v[i].event_id, "%s", PQgetvalue(res, (int)i, 0));
        v[i].user_id = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        snprintf(v[i].address, sizeof v[i].address, "%s", PQgetvalue(res, (int)i, 2));
        v[i].created = strtoll(PQgetvalue(res, (int)i, 3), NULL, 10);
    }
    *out = v;
    *n_out = rows;
out:
    PQclear(res);
    pp_pgarray_free(&a);
    return rc;
}

int pp_ledger_failed(PGconn *c, const char *event_id, long long user_id, const char *reason)
{
    char user[24];
    snprintf(user, sizeof user, "%lld", user_id);
    const char *p[] = {event_id, user, reason};
    return pp_db_exec(c, "notifier ledger failed",
                      "UPDATE notifications SET state = 'failed', last_error = $3"
                      " WHERE event_id = $1 AND user_id = $2 AND state = 'sending'",
                      3, p, NULL);
}
