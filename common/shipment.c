/* shipment.c - the one code path that turns an entered tracking number into a shipment. */
#include "shipment.h"
#include "carriers/carrier.h"
#include "db.h"
#include "err.h"
#include "event.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The carrier is known and the number valid for it: PP_OK, or PP_EINVAL with the reason in err. */
static int check_entry(const pp_shipment_entry_t *e, char *err, size_t errlen)
{
    const pp_carrier_t *carrier = pp_carrier_find(e->carrier);
    if (!carrier) {
        snprintf(err, errlen, "unknown carrier '%s'", e->carrier);
        return PP_EINVAL;
    }
    if (!pp_number_valid(carrier->name, e->tracking_number)) {
        snprintf(err, errlen, "'%s' is not a valid %s tracking number", e->tracking_number,
                 carrier->display);
        return PP_EINVAL;
    }
    return PP_OK;
}

/* The number_entered event of a new shipment (sequence 1, info_received, at its entry time). */
static void entered_event(pp_event_t *ev, const pp_shipment_entry_t *e, long long shipment_id,
                          time_t entered)
{
    *ev = (pp_event_t){0};
    pp_event_new_id(ev);
    ev->kind = PP_EV_NUMBER_ENTERED;
    ev->shipment_id = shipment_id;
    ev->transaction_id = e->transaction_id;
    snprintf(ev->carrier, sizeof ev->carrier, "%s", e->carrier);
    snprintf(ev->tracking_number, sizeof ev->tracking_number, "%s", e->tracking_number);
    ev->previous_status = PP_ST_UNKNOWN;
    ev->status = PP_ST_INFO_RECEIVED;
    ev->occurred_at = entered;
    ev->detected_at = entered;
    ev->sequence = 1;
}

/* Inserts the number_entered row of shipment_events and its outbox row (payload: the event's JSON). */
static int insert_entered(PGconn *conn, const pp_shipment_entry_t *e, const char *sid,
                          const char *event_id, const char *payload)
{
    const char *p3[] = {sid, event_id};
    int rc = pp_db_exec(conn, "insert number_entered event",
                        "INSERT INTO shipment_events (shipment_id, sequence, kind, status, "
                        "occurred_at, event_id) VALUES ($1, 1, 'number_entered', 'info_received', "
                        "now(), $2)",
                        2, p3, NULL);
    if (rc)
        return rc;
    const char *p4[] = {event_id, e->topic, sid, payload};
    return pp_db_exec(conn, "insert outbox row",
                      "INSERT INTO outbox (event_id, topic, msg_key, payload) VALUES ($1, $2, $3, $4)",
                      4, p4, NULL);
}

/* A transaction the archive holds (`ppctl archive`, schema/sql/0009) comes back into the hot
 * tables before anything of it changes: the archive takes no row that is polled or leased
 * (its CHECKs), and pp-api may reactivate a replaced shipment of it. Under the transaction's
 * lock, which the archiver takes too. */
static int unarchive(PGconn *conn, const char *txn)
{
    PGresult *r = NULL;
    const char *p[] = {txn};
    int rc = pp_db_exec(conn, "unarchive shipments",
                        "WITH s AS (DELETE FROM ONLY shipments_archive WHERE transaction_id = $1 "
                        "RETURNING *) INSERT INTO shipments SELECT * FROM s",
                        1, p, &r);
    if (rc)
        return rc;
    bool moved = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    if (!moved)
        return PP_OK;
    return pp_db_exec(conn, "unarchive shipment events",
                      "WITH e AS (DELETE FROM ONLY shipment_events_archive a USING ONLY shipments s "
                      "WHERE a.shipment_id = s.id AND s.transaction_id = $1 RETURNING a.*) "
                      "INSERT INTO shipment_events SELECT * FROM e",
                      1, p, NULL);
}

int pp_shipment_enter(PGconn *conn, const pp_shipment_entry_t *e, long long *shipment_id,
                      bool *created, char *err, size_t errlen)
{
    PGresult *r = NULL;
    char *payload = NULL;
    char txn[32], sid[32];
    int rc;

    *created = false;
    if ((rc = check_entry(e, err, errlen)))
        return rc;
    snprintf(txn, sizeof txn, "%lld", e->transaction_id);
    if ((rc = pp_db_begin(conn)))
        goto db_fail;
    const char *p1[] = {txn};
    rc = pp_db_exec(conn, "lock transaction",
                    "SELECT id FROM transactions WHERE id = $1 FOR UPDATE", 1, p1, &r);
    if (rc)
        goto db_fail;
    if (PQntuples(r) == 0) {
        snprintf(err, errlen, "transaction %s does not exist", txn);
        rc = PP_ENOTFOUND;
        goto fail;
    }
    PQclear(r);
    r = NULL;
    if ((rc = unarchive(conn, txn)))
        goto db_fail;
    const char *p2[] = {txn, e->carrier, e->tracking_number};
    rc = pp_db_exec(conn, "find shipment",
                    "SELECT id FROM shipments WHERE transaction_id = $1 AND carrier = $2 "
                    "AND tracking_number = $3",
                    3, p2, &r);
    if (rc)
        goto db_fail;
    if (PQntuples(r) > 0) {
        *shipment_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        r = NULL;
        if ((rc = pp_db_commit(conn))) /* keeps what unarchive() moved back */
            goto db_fail;
        return PP_OK;
    }
    PQclear(r);
    rc = pp_db_exec(conn, "insert shipment",
                    "INSERT INTO shipments (transaction_id, carrier, tracking_number, status, "
                    "progress, sequence, next_poll_at) VALUES ($1, $2, $3, 'info_received', 1, "
                    "1, now()) RETURNING id, extract(epoch FROM entered_at)::bigint",
                    3, p2, &r);
    if (rc)
        goto db_fail;
    *shipment_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    time_t entered = (time_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    r = NULL;

    pp_event_t ev;
    entered_event(&ev, e, *shipment_id, entered);
    if ((rc = pp_event_encode(&ev, &payload)))
        goto fail;
    snprintf(sid, sizeof sid, "%lld", *shipment_id);
    if ((rc = insert_entered(conn, e, sid, ev.event_id, payload)))
        goto db_fail;
    if ((rc = pp_db_commit(conn)))
        goto db_fail;
    free(payload);
    *created = true;
    return PP_OK;

db_fail:
    snprintf(err, errlen, "database error while entering %s %s for transaction %s (see log)",
             e->carrier, e->tracking_number, txn);
    rc = PP_EDB;
fail:
    PQclear(r);
    free(payload);
    pp_db_rollback(conn);
    return rc;
}
