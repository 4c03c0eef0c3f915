/* card.c - the payment card of a transaction as JSON: current shipment, labelled status, history. */
#include "api.h"
#include "carriers/carrier.h"
#include "err.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_status(cJSON *o, const char *name)
{
    pp_status_t st = PP_ST_UNKNOWN;
    if (pp_status_parse(name, &st) != PP_OK)
        st = PP_ST_UNKNOWN;
    cJSON_AddStringToObject(o, "status", name);
    cJSON *l = cJSON_AddObjectToObject(o, "status_label");
    if (l) {
        cJSON_AddStringToObject(l, "pl", pp_status_label(st, false));
        cJSON_AddStringToObject(l, "en", pp_status_label(st, true));
    }
}

/* Text column or JSON null. */
static void add_text(cJSON *o, const char *name, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddStringToObject(o, name, PQgetvalue(res, row, col));
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Fills the card's "shipment" object from its row (the latest shipment of the transaction). */
static void add_shipment(cJSON *s, const PGresult *res)
{
    cJSON_AddNumberToObject(s, "id", (double)strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    const char *carrier = PQgetvalue(res, 0, 1);
    const pp_carrier_t *c = pp_carrier_find(carrier);
    cJSON_AddStringToObject(s, "carrier", carrier);
    cJSON_AddStringToObject(s, "carrier_name", c ? c->display : carrier);
    cJSON_AddStringToObject(s, "tracking_number", PQgetvalue(res, 0, 2));
    add_status(s, PQgetvalue(res, 0, 3));
    add_text(s, "carrier_status", res, 0, 4);
    add_text(s, "last_event_at", res, 0, 5);
    add_text(s, "last_location", res, 0, 6);
    add_text(s, "last_text", res, 0, 7);
    add_text(s, "pickup_point", res, 0, 8);
    add_text(s, "entered_at", res, 0, 9);
    add_text(s, "delivered_at", res, 0, 10);
    add_text(s, "pickup_address", res, 0, 11);
    /* A deadline matters only while the parcel waits; after pickup (or a return) it is history. */
    if (strcmp(PQgetvalue(res, 0, 3), "available_for_pickup") == 0)
        add_text(s, "pickup_deadline", res, 0, 12);
    else
        cJSON_AddNullToObject(s, "pickup_deadline");
}

/* Adds the shipment's events, in sequence order, as its "history" array. */
static int add_history(PGconn *conn, cJSON *s, const char *sid)
{
    PGresult *res = NULL;
    const char *ps[] = {sid};
    int rc =
        pp_db_exec(conn, "api: card history",
                   "SELECT sequence, kind, status, carrier_status, description, location, " TS(
                       "occurred_at") " FROM shipment_events WHERE shipment_id = $1 ORDER BY sequence",
                   1, ps, &res);
    if (rc)
        return rc;
    cJSON *h = cJSON_AddArrayToObject(s, "history");
    for (int i = 0; i < PQntuples(res); i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(h, e)) {
            cJSON_Delete(e);
            rc = PP_ENOMEM;
            break;
        }
        cJSON_AddNumberToObject(e, "sequence", (double)strtoll(PQgetvalue(res, i, 0), NULL, 10));
        cJSON_AddStringToObject(e, "kind", PQgetvalue(res, i, 1));
        add_status(e, PQgetvalue(res, i, 2));
        add_text(e, "carrier_status", res, i, 3);
        add_text(e, "description", res, i, 4);
        add_text(e, "location", res, i, 5);
        add_text(e, "occurred_at", res, i, 6);
    }
    PQclear(res);
    return rc;
}

int pp_api_card_query(PGconn *conn, long long txn, cJSON **out, long long *seller_id, long long *buyer_id)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", txn);
    const char *p[] = {id};
    PGresult *res = NULL;
    cJSON *card = NULL;
    int rc = pp_db_exec(conn, "api: card transaction",
                        "SELECT buyer_id, seller_id FROM transactions WHERE id = $1", 1, p, &res);
    if (rc)
        goto fail;
    if (PQntuples(res) == 0) {
        rc = PP_ENOTFOUND;
        goto fail;
    }
    long long buyer = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    long long seller = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    res = NULL;
    if (seller_id)
        *seller_id = seller;
    if (buyer_id)
        *buyer_id = buyer;
    rc = PP_ENOMEM;
    card = cJSON_CreateObject();
    if (!card)
        goto fail;
    cJSON_AddNumberToObject(card, "transaction_id", (double)txn);
    cJSON_AddNumberToObject(card, "buyer_id", (double)buyer);
    cJSON_AddNumberToObject(card, "seller_id", (double)seller);
    rc = pp_db_exec(
        conn, "api: card shipment",
        "SELECT id, carrier, tracking_number, status, carrier_status, " TS("last_event_at") ", last_location, last_text, pickup_point, " TS(
            "entered_at") ", " TS("delivered_at") ", pickup_address, " TS("pickup_deadline") " FROM shipments WHERE transaction_id = $1 AND replaced_by IS NULL "
                                                                                             "ORDER BY id DESC LIMIT 1",
        1, p, &res);
    if (rc)
        goto fail;
    if (PQntuples(res) == 0) {
        cJSON_AddNullToObject(card, "shipment");
        PQclear(res);
        *out = card;
        return PP_OK;
    }
    cJSON *s = cJSON_AddObjectToObject(card, "shipment");
    char sid[32];
    snprintf(sid, sizeof sid, "%s", PQgetvalue(res, 0, 0));
    add_shipment(s, res);
    PQclear(res);
    res = NULL;
    if ((rc = add_history(conn, s, sid)))
        goto fail;
    *out = card;
    return PP_OK;
fail:
    PQclear(res);
    cJSON_Delete(card);
    return rc;
}
