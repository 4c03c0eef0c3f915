/* feed.c - the marketplace feed (service key): idempotent upserts of users and transactions. */
#include "api.h"
#include "err.h"
#include "log.h"
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct feed_job {
    long long id;
    char locale[4];
    char im_channel[16];
    bool has_im_channel;
    long long buyer_id, seller_id;
    /* results */
    bool created;
    bool conflict; /* transaction exists with other parties */
    bool unknown_buyer;
    char out_locale[4], out_channel[16];
    long long out_buyer, out_seller;
} feed_job_t;

#define MAX_JSON_ID 9007199254740991LL /* 2^53 - 1: the largest id a JSON number holds exactly */

/* The {id} of the path, a positive integer JSON numbers hold exactly; else answers 400. */
static bool path_id(pp_api_req_t *r, const char *what, long long *id)
{
    if (pp_api_param_id(r, "id", id) == PP_OK && *id <= MAX_JSON_ID)
        return true;
    pp_api_reply_error(r, 400, "invalid_id", "the %s id must be a positive integer", what);
    return false;
}

/* ---- PUT /v1/users/{id} ---- */

static int user_work(PGconn *conn, pp_api_req_t *r)
{
    feed_job_t *j = r->data;
    char id[32];
    snprintf(id, sizeof id, "%lld", j->id);
    const char *p[] = {id, j->locale, j->has_im_channel ? "1" : "0",
                       j->im_channel[0] ? j->im_channel : NULL};
    PGresult *res = NULL;
    int rc =
        pp_db_exec(conn, "api: upsert user",
                   "INSERT INTO users (id, locale, im_channel) VALUES ($1, $2, $4) "
                   "ON CONFLICT (id) DO UPDATE SET locale = EXCLUDED.locale, "
                   "  im_channel = CASE WHEN $3 = '1' THEN EXCLUDED.im_channel ELSE users.im_channel END, "
                   "  im_address = CASE WHEN $3 = '1' AND EXCLUDED.im_channel IS DISTINCT FROM users.im_channel "
                   "                    THEN NULL ELSE users.im_address END, "
                   "  im_verified = CASE WHEN $3 = '1' AND EXCLUDED.im_channel IS DISTINCT FROM users.im_channel "
                   "                    THEN false ELSE users.im_verified END "
                   "RETURNING (xmax = 0), locale, coalesce(im_channel, '')",
                   4, p, &res);
    if (rc == PP_OK) {
        j->created = PQgetvalue(res, 0, 0)[0] == 't';
        snprintf(j->out_locale, sizeof j->out_locale, "%s", PQgetvalue(res, 0, 1));
        snprintf(j->out_channel, sizeof j->out_channel, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return rc;
}

static void user_done(pp_api_req_t *r, int rc)
{
    feed_job_t *j = r->data;
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "locale", j->out_locale);
    if (j->out_channel[0])
        cJSON_AddStringToObject(o, "im_channel", j->out_channel);
    else
        cJSON_AddNullToObject(o, "im_channel");
    pp_api_reply_json(r, j->created ? 201 : 200, o);
    cJSON_Delete(o);
}

static int put_user(pp_api_req_t *r)
{
    long long id;
    if (!path_id(r, "user", &id))
        return 0;
    feed_job_t *j = pp_api_job_new(r, sizeof *j, free);
    if (!j)
        return PP_ENOMEM;
    cJSON *body = pp_api_body_json(r);
    if (!body)
        return 0;
    j->id = id;
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(body, "locale");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(body, "im_channel");
    if (!cJSON_IsString(loc) ||
        (strcmp(loc->valuestring, "pl") != 0 && strcmp(loc->valuestring, "en") != 0)) {
        pp_api_reply_error(r, 422, "invalid_locale", "locale must be \"pl\" or \"en\"");
        goto out;
    }
    snprintf(j->locale, sizeof j->locale, "%s", loc->valuestring);
    if (ch) {
        j->has_im_channel = true;
        if (cJSON_IsString(ch) && strcmp(ch->valuestring, "xmpp") == 0)
            snprintf(j->im_channel, sizeof j->im_channel, "xmpp");
        else if (!cJSON_IsNull(ch)) {
            pp_api_reply_error(r, 422, "invalid_im_channel", "im_channel must be \"xmpp\" or null");
            goto out;
        }
    }
    if (pp_api_db(r, user_work, user_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
out:
    cJSON_Delete(body);
    return 0;
}

/* ---- PUT /v1/transactions/{id} ---- */

static int txn_work(PGconn *conn, pp_api_req_t *r)
{
    feed_job_t *j = r->data;
    char id[32], buyer[32], seller[32];
    snprintf(id, sizeof id, "%lld", j->id);
    snprintf(buyer, sizeof buyer, "%lld", j->buyer_id);
    snprintf(seller, sizeof seller, "%lld", j->seller_id);
    PGresult *res = NULL;
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    const char *pb[] = {buyer};
    if ((rc = pp_db_exec(conn, "api: buyer exists", "SELECT 1 FROM users WHERE id = $1", 1, pb, &res)))
        goto fail;
    j->unknown_buyer = PQntuples(res) == 0;
    PQclear(res);
    res = NULL;
    if (j->unknown_buyer)
        goto fail;
    const char *ps[] = {seller};
    if ((rc = pp_db_exec(conn, "api: seller on first sight",
                         "INSERT INTO sellers (id, name) VALUES ($1::bigint, 'seller ' || $1::text) "
                         "ON CONFLICT (id) DO NOTHING",
                         1, ps, NULL)))
        goto fail;
    const char *pt[] = {id, buyer, seller};
    if ((rc = pp_db_exec(conn, "api: upsert transaction",
                         "INSERT INTO transactions (id, buyer_id, seller_id) VALUES ($1, $2, $3) "
                         "ON CONFLICT (id) DO NOTHING RETURNING id",
                         3, pt, &res)))
        goto fail;
    j->created = PQntuples(res) == 1;
    PQclear(res);
    res = NULL;
    if (!j->created) {
        if ((rc = pp_db_exec(conn, "api: transaction parties",
                             "SELECT buyer_id, seller_id FROM transactions WHERE id = $1", 1, pt, &res)))
            goto fail;
        j->out_buyer = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        j->out_seller = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        j->conflict = j->out_buyer != j->buyer_id || j->out_seller != j->seller_id;
        PQclear(res);
        res = NULL;
    }
    return pp_db_commit(conn);
fail:
    PQclear(res);
    pp_db_rollback(conn);
    return rc;
}

static void txn_done(pp_api_req_t *r, int rc)
{
    feed_job_t *j = r->data;
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    if (j->unknown_buyer) {
        pp_api_reply_error(r, 422, "unknown_buyer", "no user %lld: PUT /v1/users/%lld first",
                           j->buyer_id, j->buyer_id);
        return;
    }
    if (j->conflict) {
        pp_api_reply_error(r, 409, "conflict", "transaction %lld exists with other parties", j->id);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddNumberToObject(o, "buyer_id", (double)j->buyer_id);
    cJSON_AddNumberToObject(o, "seller_id", (double)j->seller_id);
    pp_api_reply_json(r, j->created ? 201 : 200, o);
    cJSON_Delete(o);
}

static int get_id_field(const cJSON *body, const char *name, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > (double)MAX_JSON_ID ||
        v->valuedouble != (double)(long long)v->valuedouble)
        return PP_EINVAL;
    *out = (long long)v->valuedouble;
    return PP_OK;
}

static int put_transaction(pp_api_req_t *r)
{
    long long id;
    if (!path_id(r, "transaction", &id))
        return 0;
    feed_job_t *j = pp_api_job_new(r, sizeof *j, free);
    if (!j)
        return PP_ENOMEM;
    cJSON *body = pp_api_body_json(r);
    if (!body)
        return 0;
    j->id = id;
    if (get_id_field(body, "buyer_id", &j->buyer_id) || get_id_field(body, "seller_id", &j->seller_id))
        pp_api_reply_error(r, 422, "invalid_field", "buyer_id and seller_id must be positive integers");
    else if (pp_api_db(r, txn_work, txn_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
    cJSON_Delete(body);
    return 0;
}

int pp_api_register_feed(pp_api_t *a)
{
    int rc;
    if ((rc = pp_api_route(a, "PUT", "/v1/users/{id}", PP_API_AUTH_SERVICE, put_user)))
        return rc;
    return pp_api_route(a, "PUT", "/v1/transactions/{id}", PP_API_AUTH_SERVICE, put_transaction);
}
