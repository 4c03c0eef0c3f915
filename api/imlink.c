/*
 * imlink.c - linking a buyer's IM address with a one-time code:
 *   POST /v1/me/im-link         {channel, address}: a new 6-digit code for that address, sent
 *                                as an im-link-code.v1 event through the outbox (the poller's
 *                                relay publishes it, the notifier sends it to the address);
 *   POST /v1/me/im-link/verify  {code}: the right code makes the address the buyer's verified
 *                                IM address (users.im_*), which is what notifications go to.
 * Until then the buyer's current address is kept; the pending link shows in the settings.
 * Only a salted SHA-256 of the code is stored; the code is never logged. Limits: one code
 * per im_link_resend_s per buyer (429 + Retry-After), im_link_max_attempts wrong codes per
 * code, expiry after im_link_code_ttl_s; a new code replaces the old (never sent if not yet).
 */
#include "api.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "routes.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#define CODE_DIGITS 6

typedef struct link_job {
    /* input */
    char channel[16];
    char address[256];
    char code[PP_LINK_CODE_MAX];
    /* result: status 0 = success, else an HTTP error with err_code / message */
    int status;
    const char *err_code;
    char message[200];
    long retry_after;
    cJSON *out;
} link_job_t;

static void job_free(void *p)
{
    link_job_t *j = p;
    cJSON_Delete(j->out);
    free(j);
}

static void refuse(link_job_t *j, int status, const char *code, const char *message)
{
    j->status = status;
    j->err_code = code;
    snprintf(j->message, sizeof j->message, "%s", message);
}

/* Uniform CODE_DIGITS-digit code from the OpenSSL CSPRNG (rejection sampling). */
static int new_code(char out[PP_LINK_CODE_MAX])
{
    uint32_t v;
    do {
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
            return PP_EIO;
    } while (v >= 4294000000u); /* 4294 * 10^6: keeps v % 10^6 uniform */
    snprintf(out, PP_LINK_CODE_MAX, "%0*u", CODE_DIGITS, v % 1000000u);
    return PP_OK;
}

/* hex SHA-256 of "<event_id>:<code>" (the event id salts the hash). */
static int code_hash(const char *event_id, const char *code, char out[65])
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%s:%s", event_id, code);
    if (n < 0 || (size_t)n >= sizeof buf)
        return PP_EINVAL;
    return pp_api_sha256_hex(buf, (size_t)n, out);
}

/* ---- POST /v1/me/im-link ---- */

/* Draws a new code for the user, stores its hash in im_links (replacing any earlier one) and
 * puts the code's event in the outbox, in the caller's transaction (evp: the locale). */
static int link_store(PGconn *conn, pp_api_req_t *r, const char *user, const pp_link_event_t *evp)
{
    link_job_t *j = r->data;
    const pp_config_t *cfg = r->api->cfg;
    pp_link_event_t ev = *evp;
    PGresult *res = NULL;
    char *payload = NULL, ttl[24], hash[65];
    int rc;
    snprintf(ttl, sizeof ttl, "%ld", cfg->im_link_code_ttl_s);
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, ev.event_id);
    ev.user_id = r->auth.user_id;
    snprintf(ev.channel, sizeof ev.channel, "%s", j->channel);
    snprintf(ev.address, sizeof ev.address, "%s", j->address);
    if ((rc = new_code(ev.code)) || (rc = code_hash(ev.event_id, ev.code, hash)))
        goto out;
    const char *p3[] = {user, ev.event_id, j->channel, j->address, hash, ttl};
    if ((rc = pp_db_exec(conn, "api: im-link: store the code",
                         "INSERT INTO im_links (user_id, event_id, channel, address, code_hash, expires_at) "
                         "VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::int)) "
                         "ON CONFLICT (user_id) DO UPDATE SET event_id = EXCLUDED.event_id, "
                         "channel = EXCLUDED.channel, address = EXCLUDED.address, code_hash = EXCLUDED.code_hash, "
                         "attempts = 0, created_at = now(), expires_at = EXCLUDED.expires_at, verified_at = NULL "
                         "RETURNING extract(epoch FROM expires_at)::bigint",
                         6, p3, &res)))
        goto out;
    ev.expires_at = (time_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = NULL;
    if ((rc = pp_link_event_encode(&ev, &payload)))
        goto out;
    const char *p4[] = {ev.event_id, cfg->im_link_topic, user, payload};
    rc = pp_db_exec(conn, "api: im-link: outbox",
                    "INSERT INTO outbox (event_id, topic, msg_key, payload) VALUES ($1, $2, $3, $4)",
                    4, p4, NULL);
out:
    PQclear(res);
    free(payload);
    explicit_bzero(&ev, sizeof ev);
    return rc;
}

static int link_work(PGconn *conn, pp_api_req_t *r)
{
    link_job_t *j = r->data;
    const pp_config_t *cfg = r->api->cfg;
    char user[32], resend[24];
    pp_link_event_t ev = {0};
    PGresult *res = NULL;
    snprintf(user, sizeof user, "%lld", r->auth.user_id);
    snprintf(resend, sizeof resend, "%ld", cfg->im_link_resend_s);
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    const char *p1[] = {user, resend};
    if ((rc = pp_db_exec(conn, "api: im-link: read user",
                         "SELECT u.locale, "
                         "       coalesce(ceil(extract(epoch FROM l.created_at + make_interval(secs => $2::int)"
                         "                               - now()))::bigint, 0) "
                         "  FROM users u LEFT JOIN im_links l ON l.user_id = u.id "
                         " WHERE u.id = $1 FOR UPDATE OF u",
                         2, p1, &res)))
        goto fail;
    if (PQntuples(res) == 0) {
        refuse(j, 404, "not_found", "no such user");
        goto fail;
    }
    snprintf(ev.locale, sizeof ev.locale, "%s", PQgetvalue(res, 0, 0));
    j->retry_after = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    res = NULL;
    const char *p2[] = {user, j->channel, j->address};
    if ((rc = pp_db_exec(conn, "api: im-link: already linked?",
                         "SELECT 1 FROM users WHERE id = $1 AND im_verified AND im_channel = $2 AND im_address = $3",
                         3, p2, &res)))
        goto fail;
    if (PQntuples(res) == 1) {
        refuse(j, 409, "already_verified", "this address is already linked and verified");
        goto fail;
    }
    PQclear(res);
    res = NULL;
    if (j->retry_after > 0) {
        refuse(j, 429, "too_soon", "a code was sent moments ago: wait before asking for another one");
        goto fail;
    }

    if ((rc = link_store(conn, r, user, &ev)))
        goto fail;
    if ((rc = pp_db_commit(conn)))
        goto fail;
    explicit_bzero(&ev, sizeof ev);
    return pp_api_settings_query(conn, r->auth.user_id, &j->out);
fail:
    PQclear(res);
    explicit_bzero(&ev, sizeof ev);
    pp_db_rollback(conn);
    return rc;
}

static void link_done(pp_api_req_t *r, int rc)
{
    link_job_t *j = r->data;
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    if (j->status) {
        if (j->status == 429) {
            char ra[24];
            snprintf(ra, sizeof ra, "%ld", j->retry_after > 0 ? j->retry_after : 1);
            pp_api_header_set(r, "Retry-After", ra);
        }
        pp_api_reply_error(r, j->status, j->err_code, "%s", j->message);
        return;
    }
    pp_infok(PP_LOG_FIELDS(PP_LF_USER(r->auth.user_id)),
             "api: buyer %lld asked for an IM-link code (%s); sent through the outbox",
             r->auth.user_id, j->channel);
    pp_metrics_add(r->api->metrics, "pp_api_im_link_codes_total", 1);
    pp_api_reply_json(r, 202, j->out);
}

static int post_link(pp_api_req_t *r)
{
    if (!pp_api_buyer_rate_allow(r))
        return 0;
    link_job_t *j = pp_api_job_new(r, sizeof *j, job_free);
    if (!j)
        return PP_ENOMEM;
    cJSON *body = pp_api_body_json(r);
    if (!body)
        return 0;
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(body, "channel");
    const cJSON *ad = cJSON_GetObjectItemCaseSensitive(body, "address");
    if (!cJSON_IsString(ch) || strcmp(ch->valuestring, "xmpp") != 0)
        pp_api_reply_error(r, 422, "invalid_im_channel", "channel must be \"xmpp\"");
    else if (!cJSON_IsString(ad) || !pp_api_valid_xmpp_address(ad->valuestring))
        pp_api_reply_error(r, 422, "invalid_field",
                           "address must be a bare XMPP address (user@domain)");
    else {
        snprintf(j->channel, sizeof j->channel, "%s", ch->valuestring);
        snprintf(j->address, sizeof j->address, "%s", ad->valuestring);
        if (pp_api_db(r, link_work, link_done) != PP_OK)
            pp_api_reply_db_error(r, PP_EDB);
    }
    cJSON_Delete(body);
    return 0;
}

/* ---- POST /v1/me/im-link/verify ---- */

static int verify_work(PGconn *conn, pp_api_req_t *r)
{
    link_job_t *j = r->data;
    char user[32], hash[65];
    PGresult *res = NULL;
    snprintf(user, sizeof user, "%lld", r->auth.user_id);
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    const char *p1[] = {user};
    if ((rc = pp_db_exec(conn, "api: im-link verify: read the link",
                         "SELECT event_id::text, code_hash, attempts, expires_at <= now(), verified_at IS NOT NULL "
                         "FROM im_links WHERE user_id = $1 FOR UPDATE",
                         1, p1, &res)))
        goto fail;
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, 4)[0] == 't') {
        refuse(j, 422, "no_pending_link",
               "no code is waiting for this account: ask for one with POST /v1/me/im-link");
        goto fail;
    }
    if (PQgetvalue(res, 0, 3)[0] == 't') {
        refuse(j, 422, "code_expired", "the code has expired: ask for a new one");
        goto fail;
    }
    long attempts = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    long max = r->api->cfg->im_link_max_attempts;
    if (attempts >= max) {
        refuse(j, 422, "too_many_attempts", "too many wrong codes: ask for a new one");
        goto fail;
    }
    if ((rc = code_hash(PQgetvalue(res, 0, 0), j->code, hash)))
        goto fail;
    bool ok = pp_api_consttime_eq(hash, 64, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
    PQclear(res);
    res = NULL;
    if (!ok) {
        if ((rc = pp_db_exec(conn, "api: im-link verify: count a wrong code",
                             "UPDATE im_links SET attempts = attempts + 1 WHERE user_id = $1", 1,
                             p1, NULL)) ||
            (rc = pp_db_commit(conn)))
            goto fail;
        refuse(j, 422, "wrong_code", "");
        snprintf(j->message, sizeof j->message, "wrong code: %ld attempt(s) left", max - attempts - 1);
        return PP_OK;
    }
    if ((rc = pp_db_exec(conn, "api: im-link verify: link the address",
                         "WITH l AS (UPDATE im_links SET verified_at = now() WHERE user_id = $1 "
                         "           RETURNING channel, address) "
                         "UPDATE users u SET im_channel = l.channel, im_address = l.address, im_verified = true "
                         "FROM l WHERE u.id = $1",
                         1, p1, NULL)) ||
        (rc = pp_db_commit(conn)))
        goto fail;
    return pp_api_settings_query(conn, r->auth.user_id, &j->out);
fail:
    PQclear(res);
    pp_db_rollback(conn);
    return rc;
}

static void verify_done(pp_api_req_t *r, int rc)
{
    link_job_t *j = r->data;
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    if (j->status) {
        pp_metrics_add(r->api->metrics, "pp_api_im_link_refused_total", 1);
        pp_api_reply_error(r, j->status, j->err_code, "%s", j->message);
        return;
    }
    pp_infok(PP_LOG_FIELDS(PP_LF_USER(r->auth.user_id)), "api: buyer %lld verified an IM address",
             r->auth.user_id);
    pp_metrics_add(r->api->metrics, "pp_api_im_link_verified_total", 1);
    pp_api_reply_json(r, 200, j->out);
}

static int post_verify(pp_api_req_t *r)
{
    if (!pp_api_buyer_rate_allow(r))
        return 0;
    link_job_t *j = pp_api_job_new(r, sizeof *j, job_free);
    if (!j)
        return PP_ENOMEM;
    cJSON *body = pp_api_body_json(r);
    if (!body)
        return 0;
    /* Digits only; spaces people type between groups ("123 456") are dropped. */
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "code");
    size_t n = 0;
    bool bad = !cJSON_IsString(c);
    for (const char *s = bad ? "" : c->valuestring; *s && !bad; s++) {
        if (*s == ' ')
            continue;
        if (*s < '0' || *s > '9' || n >= CODE_DIGITS)
            bad = true;
        else
            j->code[n++] = *s;
    }
    if (bad || n != CODE_DIGITS)
        pp_api_reply_error(r, 422, "invalid_field", "code must be the %d digits from the message",
                           CODE_DIGITS);
    else if (pp_api_db(r, verify_work, verify_done) != PP_OK)
        pp_api_reply_db_error(r, PP_EDB);
    cJSON_Delete(body);
    return 0;
}

int pp_api_register_imlink(pp_api_t *a)
{
    int rc;
    pp_metrics_help(a->metrics, "pp_api_im_link_codes_total", "counter",
                    "IM-link codes written to the outbox");
    pp_metrics_help(a->metrics, "pp_api_im_link_verified_total", "counter",
                    "IM addresses verified with a code");
    pp_metrics_help(a->metrics, "pp_api_im_link_refused_total", "counter",
                    "verification attempts refused (wrong, expired, too many, none pending)");
    if ((rc = pp_api_route(a, "POST", "/v1/me/im-link", PP_API_AUTH_BUYER, post_link)))
        return rc;
    return pp_api_route(a, "POST", "/v1/me/im-link/verify", PP_API_AUTH_BUYER, post_verify);
}
