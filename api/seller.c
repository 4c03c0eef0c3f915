/* seller.c - the seller WebAPI: enter a transaction's tracking number; read its payment card. */
#include "api.h"
#include "carriers/carrier.h"
#include "carriers/numbers.h"
#include "err.h"
#include "log.h"
#include "routes.h"
#include "shipment.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ship_job {
    long long txn;
    char carrier[32];
    char number[PP_NUMBER_MAX];
    /* results */
    bool not_found; /* no such transaction, or not the caller's */
    bool created;
    long long shipment_id;
    char err[256];
    cJSON *card;
} ship_job_t;

static void job_free(void *p)
{
    ship_job_t *j = p;
    cJSON_Delete(j->card);
    free(j);
}

/* May the authenticated caller see transaction seller/buyer? (else: 404, existence not leaked) */
static bool may_read(const pp_api_req_t *r, long long seller, long long buyer)
{
    if (r->auth.kind == PP_API_AUTH_SELLER)
        return r->auth.seller_id == seller;
    if (r->auth.kind == PP_API_AUTH_BUYER)
        return r->auth.user_id == buyer;
    return false;
}

/* ---- PUT /v1/transactions/{id}/shipment ---- */

/*
 * Replacement rule: the shipment just entered becomes the transaction's current one; every
 * other shipment of the transaction points at it (replaced_by) and stops being polled. A
 * number entered again after being replaced is current again (polled unless terminal).
 */
static int make_current(PGconn *conn, const char *txn, const char *sid)
{
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    const char *p[] = {txn, sid};
    if ((rc = pp_db_exec(conn, "api: retire replaced shipments",
                         "UPDATE shipments SET replaced_by = $2::bigint, replaced_at = coalesce(replaced_at, now()), "
                         "next_poll_at = NULL, lease_owner = NULL "
                         "WHERE transaction_id = $1 AND id <> $2::bigint "
                         "AND replaced_by IS DISTINCT FROM $2::bigint",
                         2, p, NULL)))
        goto fail;
    if ((rc = pp_db_exec(conn, "api: reactivate shipment",
                         "UPDATE shipments SET replaced_by = NULL, replaced_at = NULL, "
                         "next_poll_at = CASE WHEN status IN ('delivered', 'returned', 'expired') "
                         "THEN NULL ELSE now() END WHERE id = $1 AND replaced_by IS NOT NULL",
                         1, p + 1, NULL)))
        goto fail;
    return pp_db_commit(conn);
fail:
    pp_db_rollback(conn);
    return rc;
}

static int ship_work(PGconn *conn, pp_api_req_t *r)
{
    ship_job_t *j = r->data;
    long long seller = 0;
    int rc = pp_api_card_query(conn, j->txn, &j->card, &seller, NULL);
    if (rc == PP_ENOTFOUND || (rc == PP_OK && seller != r->auth.seller_id)) {
        j->not_found = true;
        return PP_OK;
    }
    if (rc)
        return rc;
    cJSON_Delete(j->card);
    j->card = NULL;
    pp_shipment_entry_t e = {.transaction_id = j->txn,
                             .carrier = j->carrier,
                             .tracking_number = j->number,
                             .topic = r->api->cfg->topic};
    rc = pp_shipment_enter(conn, &e, &j->shipment_id, &j->created, j->err, sizeof j->err);
    if (rc)
        return rc;
    char txn[32], sid[32];
    snprintf(txn, sizeof txn, "%lld", j->txn);
    snprintf(sid, sizeof sid, "%lld", j->shipment_id);
    if ((rc = make_current(conn, txn, sid)))
        return rc;
    return pp_api_card_query(conn, j->txn, &j->card, NULL, NULL);
}

static void ship_done(pp_api_req_t *r, int rc)
{
    ship_job_t *j = r->data;
    if (j->not_found) {
        pp_api_reply_error(r, 404, "not_found", "no transaction %lld for this seller", j->txn);
        return;
    }
    if (rc == PP_EINVAL) {
        pp_api_reply_error(r, 422, "invalid_number", "%s", j->err);
        return;
    }
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    if (j->created)
        pp_infok(PP_LOG_FIELDS(PP_LF_ID("seller_id", r->auth.seller_id),
                               PP_LF_SHIPMENT(j->shipment_id), PP_LF_CARRIER(j->carrier)),
                 "api: seller %lld entered %s number for transaction %lld (shipment %lld)",
                 r->auth.seller_id, j->carrier, j->txn, j->shipment_id);
    pp_api_reply_json(r, j->created ? 201 : 200, j->card);
}

static int put_shipment(pp_api_req_t *r)
{
    long long txn;
    if (pp_api_param_id(r, "id", &txn) != PP_OK) {
        pp_api_reply_error(r, 404, "not_found", "no such transaction");
        return 0;
    }
    ship_job_t *j = pp_api_job_new(r, sizeof *j, job_free);
    if (!j)
        return PP_ENOMEM;
    cJSON *body = pp_api_body_json(r);
    if (!body)
        return 0;
    j->txn = txn;
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(body, "tracking_number");
    const cJSON *car = cJSON_GetObjectItemCaseSensitive(body, "carrier");
    if (!cJSON_IsString(num) ||
        pp_number_normalize(num->valuestring, j->number, sizeof j->number) != PP_OK) {
        pp_api_reply_error(r, 422, "invalid_number",
                           "tracking_number must be a string of letters and digits (spaces and dashes allowed)");
        goto out;
    }
    if (car && !cJSON_IsNull(car)) {
        char lc[32];
        size_t i = 0;
        if (!cJSON_IsString(car) || strlen(car->valuestring) >= sizeof lc) {
            pp_api_reply_error(r, 422, "unknown_carrier", "carrier must be a carrier name");
            goto out;
        }
        for (; car->valuestring[i]; i++)
            lc[i] = (char)tolower((unsigned char)car->valuestring[i]);
        lc[i] = '\0';
        if (!pp_carrier_find(lc)) {
            pp_api_reply_error(r, 422, "unknown_carrier", "unknown carrier; one of %s",
                               pp_carrier_names());
            goto out;
        }
        if (!pp_number_valid(lc, j->number)) {
            pp_api_reply_error(r, 422, "invalid_number", "%s is not a valid %s tracking number",
                               j->number, lc);
            goto out;
        }
        snprintf(j->carrier, sizeof j->carrier, "%s", lc);
    } else {
        pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
        size_t n = 0;
        if (pp_number_detect(j->number, cand, PP_NUMBER_MAX_CANDIDATES, &n) != PP_OK || n == 0) {
            pp_api_reply_error(r, 422, "invalid_number",
                               "%s is not a valid tracking number of any carrier", j->number);
            goto out;
        }
        if (n > 1) {
            cJSON *o = cJSON_CreateObject();
            cJSON *e = cJSON_AddObjectToObject(o, "error");
            cJSON_AddStringToObject(e, "code", "ambiguous_carrier");
            cJSON_AddStringToObject(e, "message",
                                    "several carriers use this number format; send carrier");
            cJSON *list = cJSON_AddArrayToObject(e, "candidates");
            for (size_t i = 0; i < n && i < PP_NUMBER_MAX_CANDIDATES; i++) {
                cJSON *c = cJSON_CreateObject();
                cJSON_AddStringToObject(c, "carrier", cand[i].carrier);
                cJSON_AddNumberToObject(c, "confidence", cand[i].confidence);
                cJSON_AddItemToArray(list, c);
            }
            pp_api_reply_json(r, 422, o);
            cJSON_Delete(o);
            goto out;
        }
        snprintf(j->carrier, sizeof j->carrier, "%s", cand[0].carrier);
    }
    if (pp_api_db(r, ship_work, ship_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
out:
    cJSON_Delete(body);
    return 0;
}

/* ---- GET /v1/transactions/{id} ---- */

static int card_work(PGconn *conn, pp_api_req_t *r)
{
    ship_job_t *j = r->data;
    long long seller = 0, buyer = 0;
    int rc = pp_api_card_query(conn, j->txn, &j->card, &seller, &buyer);
    if (rc == PP_ENOTFOUND || (rc == PP_OK && !may_read(r, seller, buyer))) {
        j->not_found = true;
        return PP_OK;
    }
    return rc;
}

static void card_done(pp_api_req_t *r, int rc)
{
    ship_job_t *j = r->data;
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    if (j->not_found) {
        pp_api_reply_error(r, 404, "not_found", "no such transaction");
        return;
    }
    pp_api_reply_json(r, 200, j->card);
}

static int get_card(pp_api_req_t *r)
{
    long long txn;
    /* A buyer's card page polls; their limit counts every token they hold. */
    if (r->auth.kind == PP_API_AUTH_BUYER && !pp_api_buyer_rate_allow(r))
        return 0;
    if (pp_api_param_id(r, "id", &txn) != PP_OK) {
        pp_api_reply_error(r, 404, "not_found", "no such transaction");
        return 0;
    }
    ship_job_t *j = pp_api_job_new(r, sizeof *j, job_free);
    if (!j)
        return PP_ENOMEM;
    j->txn = txn;
    if (pp_api_db(r, card_work, card_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
    return 0;
}

int pp_api_register_seller(pp_api_t *a)
{
    int rc;
    if ((rc = pp_api_route(a, "PUT", "/v1/transactions/{id}/shipment", PP_API_AUTH_SELLER, put_shipment)))
        return rc;
    return pp_api_route(a, "GET", "/v1/transactions/{id}", PP_API_AUTH_SELLER | PP_API_AUTH_BUYER,
                        get_card);
}
