/* buyer.c - buyer tokens (HMAC-SHA256, installed as api->buyer_auth) and the buyer's
 * notification settings: GET / PUT /v1/me/notifications (IM linking: imlink.c). */
#include "api.h"
#include "err.h"
#include "log.h"
#include "routes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_MAX 1024  /* longer bearer values are not buyer tokens */
#define PAYLOAD_MAX 512 /* decoded payload bytes */
#define ADDRESS_MAX 254 /* an IM address (bare JID) */

/* ---- buyer tokens: base64url(payload) "." base64url(HMAC-SHA256(secret, payload)) ---- */

static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Unpadded base64url into out (cap bytes); *outlen = bytes written. 0 or PP_EINVAL. */
static int b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
    if (len % 4 == 1)
        return PP_EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_val((unsigned char)in[i]);
        if (v < 0)
            return PP_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return PP_EINVAL;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1)) /* non-canonical trailing bits */
        return PP_EINVAL;
    *outlen = n;
    return PP_OK;
}

/* Verify a buyer token; *user_id = its "sub". Never logs the token. */
static int buyer_token_verify(pp_api_t *a, const char *tok, size_t len, long long *user_id)
{
    const char *secret = a->cfg->api_buyer_secret;
    if (!secret || !secret[0] || len == 0 || len > TOKEN_MAX)
        return PP_EINVAL;
    const char *dot = memchr(tok, '.', len);
    if (!dot || memchr(dot + 1, '.', len - (size_t)(dot + 1 - tok)))
        return PP_EINVAL;
    unsigned char payload[PAYLOAD_MAX + 1], sig[64], md[EVP_MAX_MD_SIZE];
    size_t plen = 0, slen = 0;
    unsigned int mdlen = 0;
    if (b64url_decode(tok, (size_t)(dot - tok), payload, PAYLOAD_MAX, &plen) != PP_OK || plen == 0 ||
        b64url_decode(dot + 1, len - (size_t)(dot + 1 - tok), sig, sizeof sig, &slen) != PP_OK)
        return PP_EINVAL;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), payload, plen, md, &mdlen) || mdlen != 32)
        return PP_EIO;
    if (slen != mdlen || CRYPTO_memcmp(sig, md, mdlen) != 0) {
        pp_metrics_add(a->metrics, "pp_api_buyer_token_rejected_total", 1);
        return PP_EINVAL;
    }
    /* Signed by the marketplace: now the claims. */
    payload[plen] = '\0';
    int rc = PP_EINVAL;
    cJSON *p = NULL;
    pp_api_json_err_t jerr;
    if (pp_api_json_strict((const char *)payload, plen, &p, &jerr) != PP_OK)
        goto out;
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(p, "sub");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
    if (!cJSON_IsObject(p) || !cJSON_IsNumber(sub) || !cJSON_IsNumber(exp))
        goto out;
    double s = sub->valuedouble, e = exp->valuedouble;
    if (s < 1 || s > 9007199254740991.0 || floor(s) != s || !isfinite(e))
        goto out;
    double now = (double)time(NULL);
    if (e <= now) {
        pp_metrics_add(a->metrics, "pp_api_buyer_token_expired_total", 1);
        goto out;
    }
    if (e > now + (double)a->cfg->api_buyer_token_max_ttl_s) { /* a token for ever is a leak for ever */
        pp_metrics_add(a->metrics, "pp_api_buyer_token_too_long_total", 1);
        goto out;
    }
    *user_id = (long long)s;
    rc = PP_OK;
out:
    cJSON_Delete(p);
    return rc;
}

/* ---- GET / PUT /v1/me/notifications ---- */

typedef struct notif_job {
    /* PUT input; has_* = the field was in the body */
    bool has_status, status;
    bool has_channel, has_address;
    char channel[16];              /* "" = null */
    char address[ADDRESS_MAX + 1]; /* "" = null */
    /* result */
    bool not_found;
    cJSON *out;
} notif_job_t;

static void job_free(void *p)
{
    notif_job_t *j = p;
    cJSON_Delete(j->out);
    free(j);
}

#define UTC_ISO(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* The users columns of NotificationSettings, then the pending IM link (5..7, NULL if none). */
#define NOTIF_COLS                                                                                 \
    "notify_shipment_status, im_channel, im_address, im_verified, " UTC_ISO(                       \
        "notify_changed_at") ", l.channel, l.address, " UTC_ISO("l.expires_at")
#define NOTIF_PENDING_JOIN                                                                         \
    " LEFT JOIN im_links l ON l.user_id = users.id AND l.verified_at IS NULL AND l.expires_at > now()"

/* The settings row of res as the NotificationSettings JSON object. */
static int notif_json(const PGresult *res, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return PP_ENOMEM;
    if (PQgetisnull(res, 0, 5)) {
        cJSON_AddNullToObject(o, "pending");
    } else {
        cJSON *p = cJSON_AddObjectToObject(o, "pending");
        if (!p || !cJSON_AddStringToObject(p, "channel", PQgetvalue(res, 0, 5)) ||
            !cJSON_AddStringToObject(p, "address", PQgetvalue(res, 0, 6)) ||
            !cJSON_AddStringToObject(p, "expires_at", PQgetvalue(res, 0, 7))) {
            cJSON_Delete(o);
            return PP_ENOMEM;
        }
    }
    cJSON_AddBoolToObject(o, "shipment_status", PQgetvalue(res, 0, 0)[0] == 't');
    for (int c = 1; c <= 2; c++) {
        const char *name = c == 1 ? "channel" : "address";
        if (PQgetisnull(res, 0, c))
            cJSON_AddNullToObject(o, name);
        else
            cJSON_AddStringToObject(o, name, PQgetvalue(res, 0, c));
    }
    cJSON_AddBoolToObject(o, "verified", PQgetvalue(res, 0, 3)[0] == 't');
    if (!cJSON_AddStringToObject(o, "changed_at", PQgetvalue(res, 0, 4))) {
        cJSON_Delete(o);
        return PP_ENOMEM;
    }
    *out = o;
    return PP_OK;
}

int pp_api_settings_query(PGconn *conn, long long user_id, cJSON **out)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", user_id);
    const char *p[] = {id};
    PGresult *res = NULL;
    int rc = pp_db_exec(conn, "api: get notification settings",
                        "SELECT " NOTIF_COLS " FROM users" NOTIF_PENDING_JOIN " WHERE users.id = $1",
                        1, p, &res);
    if (rc == PP_OK)
        rc = PQntuples(res) == 0 ? PP_ENOTFOUND : notif_json(res, out);
    PQclear(res);
    return rc;
}

static int notif_get_work(PGconn *conn, pp_api_req_t *r)
{
    notif_job_t *j = r->data;
    int rc = pp_api_settings_query(conn, r->auth.user_id, &j->out);
    if (rc == PP_ENOTFOUND) {
        j->not_found = true;
        rc = PP_OK;
    }
    return rc;
}

/*
 * Absent fields stay as they are; channel null clears the address too. A channel or address
 * that differs from the stored one is unverified again (im_verified = false).
 */
static int notif_put_work(PGconn *conn, pp_api_req_t *r)
{
    notif_job_t *j = r->data;
    char id[32];
    snprintf(id, sizeof id, "%lld", r->auth.user_id);
    const char *p[] = {
        id,
        j->has_status ? (j->status ? "true" : "false") : NULL,
        j->has_channel ? "1" : "0",
        j->channel[0] ? j->channel : NULL,
        j->has_address ? "1" : "0",
        j->address[0] ? j->address : NULL,
    };
#define NEW_CHANNEL "(CASE WHEN $3 = '1' THEN $4::text ELSE im_channel END)"
#define NEW_ADDRESS                                                                                \
    "(CASE WHEN $5 = '1' THEN $6::text WHEN $3 = '1' AND $4::text IS NULL THEN NULL ELSE im_address END)"
    PGresult *res = NULL;
    int rc = pp_db_exec(conn, "api: put notification settings",
                        "WITH changed AS (UPDATE users SET "
                        "notify_shipment_status = coalesce($2::boolean, notify_shipment_status), "
                        "im_channel = " NEW_CHANNEL ", im_address = " NEW_ADDRESS ", "
                        "im_verified = CASE WHEN " NEW_CHANNEL
                        " IS DISTINCT FROM im_channel OR " NEW_ADDRESS
                        " IS DISTINCT FROM im_address THEN false ELSE im_verified END "
                        "WHERE id = $1 RETURNING *) "
                        "SELECT " NOTIF_COLS " FROM changed AS users" NOTIF_PENDING_JOIN,
                        6, p, &res);
#undef NEW_CHANNEL
#undef NEW_ADDRESS
    if (rc == PP_OK) {
        if (PQntuples(res) == 0)
            j->not_found = true;
        else
            rc = notif_json(res, &j->out);
    }
    PQclear(res);
    return rc;
}

static void notif_done(pp_api_req_t *r, int rc)
{
    notif_job_t *j = r->data;
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    if (j->not_found) {
        pp_api_reply_error(r, 404, "not_found", "no such user");
        return;
    }
    if (strcmp(r->method, "PUT") == 0)
        pp_infok(PP_LOG_FIELDS(PP_LF_USER(r->auth.user_id)),
                 "api: buyer %lld changed notification settings (shipment_status %s)", r->auth.user_id,
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->out, "shipment_status")) ? "on"
                                                                                           : "off");
    pp_api_reply_json(r, 200, j->out);
}

/* Per-buyer limit on top of the per-token one (a buyer may hold many tokens). */
bool pp_api_buyer_rate_allow(pp_api_req_t *r)
{
    char key[48];
    snprintf(key, sizeof key, "buyer:%lld", r->auth.user_id);
    return pp_api_rate_allow(r, key);
}

static int get_notifications(pp_api_req_t *r)
{
    if (!pp_api_buyer_rate_allow(r))
        return 0;
    if (!pp_api_job_new(r, sizeof(notif_job_t), job_free))
        return PP_ENOMEM;
    if (pp_api_db(r, notif_get_work, notif_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
    return 0;
}

bool pp_api_valid_xmpp_address(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > ADDRESS_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 127 || *c == '/')
            return false;
    return true;
}

static int put_notifications(pp_api_req_t *r)
{
    if (!pp_api_buyer_rate_allow(r))
        return 0;
    notif_job_t *j = pp_api_job_new(r, sizeof *j, job_free);
    if (!j)
        return PP_ENOMEM;
    cJSON *body = pp_api_body_json(r);
    if (!body)
        return 0;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(body, "shipment_status");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(body, "channel");
    const cJSON *ad = cJSON_GetObjectItemCaseSensitive(body, "address");
    if (!st && !ch && !ad) {
        pp_api_reply_error(r, 422, "invalid_field",
                           "send at least one of shipment_status, channel, address");
        goto out;
    }
    if (st) {
        if (!cJSON_IsBool(st)) {
            pp_api_reply_error(r, 422, "invalid_field", "shipment_status must be true or false");
            goto out;
        }
        j->has_status = true;
        j->status = cJSON_IsTrue(st);
    }
    if (ch) {
        if (!cJSON_IsNull(ch) && !(cJSON_IsString(ch) && strcmp(ch->valuestring, "xmpp") == 0)) {
            pp_api_reply_error(r, 422, "invalid_im_channel", "channel must be \"xmpp\" or null");
            goto out;
        }
        j->has_channel = true;
        if (cJSON_IsString(ch))
            snprintf(j->channel, sizeof j->channel, "%s", ch->valuestring);
    }
    if (ad) {
        if (!cJSON_IsNull(ad) && !(cJSON_IsString(ad) && pp_api_valid_xmpp_address(ad->valuestring))) {
            pp_api_reply_error(r, 422, "invalid_field",
                               "address must be a bare XMPP address (user@domain, at most %d bytes) or null",
                               ADDRESS_MAX);
            goto out;
        }
        j->has_address = true;
        if (cJSON_IsString(ad))
            snprintf(j->address, sizeof j->address, "%s", ad->valuestring);
    }
    if (j->address[0] && !j->channel[0]) {
        pp_api_reply_error(r, 422, "invalid_field",
                           "an address needs its channel: send channel \"xmpp\" with it");
        goto out;
    }
    if (pp_api_db(r, notif_put_work, notif_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
out:
    cJSON_Delete(body);
    return 0;
}

int pp_api_register_buyer(pp_api_t *a)
{
    int rc;
    a->buyer_auth = buyer_token_verify;
    if (!a->cfg->api_buyer_secret[0])
        pp_warn("api_buyer_secret is empty: buyer tokens are refused (401)");
    if ((rc = pp_api_route(a, "GET", "/v1/me/notifications", PP_API_AUTH_BUYER, get_notifications)))
        return rc;
    return pp_api_route(a, "PUT", "/v1/me/notifications", PP_API_AUTH_BUYER, put_notifications);
}
