/* request.c - pp-api request handling: dispatch, authentication, replies, DB jobs. */
#include "api.h"
#include "access.h"
#include "route.h"
#include "err.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

h2o_iovec_t pp_api_header(const pp_api_req_t *r, const char *name)
{
    if (!r->req)
        return h2o_iovec_init(NULL, 0);
    return pp_httpd_req_header(r->req, name);
}

/* ---- lifetime ---- */

static void req_release(pp_api_req_t *r)
{
    if (r->data_free && r->data)
        r->data_free(r->data);
    free(r);
}

/* A request is freed once h2o disposed it, no DB job is pending, and no callback is on the stack. */
static void req_maybe_free(pp_api_req_t *r, int *holds)
{
    if (*holds == 0 && r->req_gone && !r->db_busy)
        req_release(r);
}

/* The request and its hold count (callbacks on the stack) in one allocation. */
typedef struct req_box {
    pp_api_req_t r;
    int holds;
} req_box_t;

static int *req_holds(pp_api_req_t *r) { return &((req_box_t *)(void *)r)->holds; }

static void req_dispose(void *p)
{
    pp_api_req_t *r = *(pp_api_req_t **)p;
    if (!r->answered) /* the client went away first: 499, as nginx logs it */
        pp_api_access_end(&r->access, &r->auth, 499, 0);
    r->req = NULL;
    r->req_gone = true;
    req_maybe_free(r, req_holds(r));
}

/* ---- replies ---- */

static void record(pp_api_req_t *r, int status)
{
    pp_api_t *a = r->api;
    char series[320];
    const char *label = r->pattern ? r->pattern : "unmatched";
    /* the method is one of the routes' (or "-"), so a client cannot add series with it */
    const char *method = r->method ? r->method : "-";
    snprintf(series, sizeof series, "pp_api_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"}",
             method, label, status);
    pp_metrics_add(a->metrics, series, 1);
    char labels[256];
    snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\"", method, label);
    pp_metrics_observe(a->metrics, "pp_api_request_seconds", labels,
                       (double)(now_ns() - r->start_ns) / 1e9);
    a->n_requests++;
    if (status >= 500)
        a->n_errors_5xx++;
    else if (status >= 400)
        a->n_errors_4xx++;
}

void pp_api_header_set(pp_api_req_t *r, const char *name, const char *value)
{
    if (r->req && !r->answered)
        pp_httpd_header(r->req, name, value);
}

void pp_api_reply(pp_api_req_t *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->answered)
        return;
    r->answered = true;
    if (!r->req)
        return;
    record(r, status);
    pp_api_access_end(&r->access, &r->auth, status, body ? len : 0);
    pp_httpd_header(r->req, "cache-control", "no-store");
    pp_httpd_send(r->req, status, content_type, body, len);
}

void pp_api_reply_json(pp_api_req_t *r, int status, const cJSON *body)
{
    char *s = body ? cJSON_PrintUnformatted(body) : NULL;
    if (!s) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        pp_api_reply(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    pp_api_reply(r, status, "application/json", s, strlen(s));
    free(s);
}

void pp_api_reply_error(pp_api_req_t *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    cJSON *err = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    if (err) {
        cJSON_AddStringToObject(err, "code", code);
        cJSON_AddStringToObject(err, "message", msg);
    }
    pp_api_reply_json(r, status, err ? root : NULL);
    cJSON_Delete(root);
}

void pp_api_reply_db_error(pp_api_req_t *r, int rc)
{
    if (rc == PP_EDB) {
        pp_api_header_set(r, "retry-after", "1");
        pp_api_reply_error(r, 503, "unavailable", "the database is unavailable; try again");
    } else {
        pp_api_reply_error(r, 500, "internal", "internal error");
    }
}

void *pp_api_job_new(pp_api_req_t *r, size_t size, void (*data_free)(void *))
{
    void *j = calloc(1, size);
    if (j) {
        r->data = j;
        r->data_free = data_free;
    }
    return j;
}

/* ---- DB jobs ---- */

static int db_work_tramp(PGconn *conn, void *arg)
{
    pp_api_req_t *r = arg;
    return r->work(conn, r);
}

static void db_done_tramp(int rc, void *arg)
{
    pp_api_req_t *r = arg;
    int *holds = req_holds(r);
    r->db_busy = false;
    (*holds)++;
    pp_api_done_fn done = r->done;
    done(r, rc);
    if (!r->answered && !r->db_busy)
        pp_api_reply_error(r, 500, "internal", "internal error");
    (*holds)--;
    req_maybe_free(r, holds);
}

int pp_api_db(pp_api_req_t *r, pp_api_work_fn work, pp_api_done_fn done)
{
    if (r->db_busy || !work || !done)
        return PP_EINVAL;
    r->work = work;
    r->done = done;
    r->db_busy = true;
    int rc = pp_db_submit(r->api->db, db_work_tramp, db_done_tramp, r);
    if (rc)
        r->db_busy = false;
    return rc;
}

/* ---- authentication and dispatch ---- */

static void run_handler(pp_api_req_t *r)
{
    int rc = r->handler(r);
    if (rc < 0) {
        pp_warn("api: %s %s: handler failed: %s", r->method, r->pattern, pp_strerror(rc));
        if (rc == PP_EDB || rc == PP_EAGAIN)
            pp_api_reply_db_error(r, PP_EDB);
        else
            pp_api_reply_error(r, 500, "internal", "internal error");
    } else if (!r->answered && !r->db_busy) {
        pp_api_reply_error(r, 500, "internal", "the handler gave no answer");
    }
}

/*
 * Seller keys found valid lately (api_key_cache_ms), so a busy seller's requests do not each
 * cost a database job before the real one. Direct-mapped by the key's SHA-256, loop thread
 * only; only valid keys are kept (an unknown key always asks Postgres).
 */
#define KEY_CACHE_SLOTS 1024
typedef struct pp_api_key_slot {
    char hash[65];
    long long seller_id;
    uint64_t until_ms;
} key_slot_t;

static key_slot_t *key_slot(pp_api_t *a, const char *hash)
{
    if (a->cfg->api_key_cache_ms <= 0)
        return NULL;
    if (!a->key_cache && !(a->key_cache = calloc(KEY_CACHE_SLOTS, sizeof *a->key_cache)))
        return NULL;
    unsigned h = 0; /* the hex digest's first 32 bits */
    for (int i = 0; i < 8; i++)
        h = h * 16 + (unsigned)(hash[i] >= 'a' ? hash[i] - 'a' + 10 : hash[i] - '0');
    return &a->key_cache[h % KEY_CACHE_SLOTS];
}

static int seller_auth_work(PGconn *conn, pp_api_req_t *r)
{
    const char *p[] = {r->key_hash};
    PGresult *res = NULL;
    int rc = pp_db_exec(conn, "api: seller key", "SELECT id FROM sellers WHERE api_key_hash = $1",
                        1, p, &res);
    if (rc == PP_OK) {
        if (PQntuples(res) == 1)
            r->auth.seller_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        else
            rc = PP_ENOTFOUND;
    }
    PQclear(res);
    return rc;
}

void pp_api_reply_limited(pp_api_req_t *r, int64_t wait_ms, const char *code, const char *what)
{
    long wait = (long)((wait_ms + 999) / 1000);
    if (wait < 1)
        wait = 1;
    char ra[32];
    snprintf(ra, sizeof ra, "%ld", wait);
    pp_api_header_set(r, "retry-after", ra);
    pp_api_reply_error(r, 429, code, "too many %s; retry after %ld s", what, wait);
}

bool pp_api_rate_allow(pp_api_req_t *r, const char *key)
{
    int64_t wait_ms = pp_api_rate_take(r->api, key);
    if (wait_ms == 0)
        return true;
    pp_api_reply_limited(r, wait_ms, "rate_limited", "requests for this key");
    return false;
}

static void seller_auth_done(pp_api_req_t *r, int rc)
{
    if (rc == PP_ENOTFOUND) {
        pp_metrics_add(r->api->metrics, "pp_api_auth_failures_total", 1);
        pp_api_reply_error(r, 401, "unauthorized", "invalid API key");
        return;
    }
    pp_api_authfail_refund(r->api, r->peer);
    if (rc) {
        pp_api_reply_db_error(r, rc);
        return;
    }
    r->auth.kind = PP_API_AUTH_SELLER;
    key_slot_t *k = key_slot(r->api, r->key_hash);
    if (k) {
        memcpy(k->hash, r->key_hash, sizeof k->hash);
        k->seller_id = r->auth.seller_id;
        k->until_ms = uv_now(r->api->loop) + (uint64_t)r->api->cfg->api_key_cache_ms;
    }
    if (pp_api_rate_allow(r, r->key_hash))
        run_handler(r);
}

/*
 * Keys that are valid at once (service key, a buyer token's HMAC, a seller key in the cache)
 * are rate limited per key and served. Anything else first takes a token of the client
 * address's failed-authentication bucket, so an address guessing keys costs at most
 * api_auth_fail_burst database lookups (then one per refill); a seller key found valid gives
 * its token back. No bucket of the per-key limit is ever taken for an unverified key.
 */
static void authenticate(pp_api_req_t *r, int allowed)
{
    pp_api_t *a = r->api;
    h2o_iovec_t h = pp_api_header(r, "authorization");
    if (!h.base || h.len <= 7 || strncasecmp(h.base, "Bearer ", 7) != 0) {
        pp_api_header_set(r, "www-authenticate", "Bearer");
        pp_api_reply_error(r, 401, "unauthorized", "missing Authorization: Bearer <key>");
        return;
    }
    const char *tok = h.base + 7;
    size_t len = h.len - 7;
    if (pp_api_sha256_hex(tok, len, r->key_hash) != PP_OK) {
        pp_api_reply_error(r, 500, "internal", "internal error");
        return;
    }
    if ((allowed & PP_API_AUTH_SERVICE) && a->cfg->api_service_key[0] &&
        pp_api_consttime_eq(tok, len, a->cfg->api_service_key, strlen(a->cfg->api_service_key))) {
        r->auth.kind = PP_API_AUTH_SERVICE;
        if (pp_api_rate_allow(r, r->key_hash))
            run_handler(r);
        return;
    }
    long long uid = 0;
    if ((allowed & PP_API_AUTH_BUYER) && a->buyer_auth && a->buyer_auth(a, tok, len, &uid) == 0) {
        r->auth.kind = PP_API_AUTH_BUYER;
        r->auth.user_id = uid;
        if (pp_api_rate_allow(r, r->key_hash))
            run_handler(r);
        return;
    }
    key_slot_t *k = (allowed & PP_API_AUTH_SELLER) ? key_slot(a, r->key_hash) : NULL;
    if (k && k->until_ms > uv_now(a->loop) && memcmp(k->hash, r->key_hash, 64) == 0) {
        r->auth.kind = PP_API_AUTH_SELLER;
        r->auth.seller_id = k->seller_id;
        if (pp_api_rate_allow(r, r->key_hash))
            run_handler(r);
        return;
    }
    if (!r->req || pp_httpd_peer(r->req, true, r->peer, sizeof r->peer) != PP_OK)
        snprintf(r->peer, sizeof r->peer, "unknown");
    const char *what = NULL;
    int64_t wait_ms = pp_api_authfail_take(a, r->peer, &what);
    if (wait_ms > 0) {
        pp_api_reply_limited(r, wait_ms, "auth_rate_limited", what);
        return;
    }
    if (allowed & PP_API_AUTH_SELLER) {
        pp_metrics_add(a->metrics, "pp_api_key_lookups_total", 1);
        int rc = pp_api_db(r, seller_auth_work, seller_auth_done);
        if (rc) {
            pp_api_authfail_refund(r->api, r->peer);
            pp_api_reply_db_error(r, PP_EDB);
        }
        return;
    }
    pp_metrics_add(a->metrics, "pp_api_auth_failures_total", 1);
    pp_api_reply_error(r, 401, "unauthorized", "invalid key for this route");
}

static int dispatch_cb(h2o_req_t *req, void *arg)
{
    pp_api_t *a = arg;
    req_box_t *box = calloc(1, sizeof *box);
    if (!box)
        return PP_ENOMEM;
    pp_api_req_t *r = &box->r;
    r->api = a;
    r->req = req;
    r->start_ns = now_ns();
    pp_api_access_begin(a, req, &r->access);
    pp_api_req_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, req_dispose);
    *slot = r;
    box->holds = 1;

    h2o_iovec_t path = pp_httpd_path(req);
    const pp_api_route_t *found = NULL;
    bool path_known = false;
    for (int i = 0; i < a->n_routes; i++) {
        const pp_api_route_t *rt = &a->routes[i];
        if (!pp_api_route_match(rt, path.base, path.len, NULL))
            continue;
        path_known = true;
        if (h2o_memis(req->method.base, req->method.len, rt->method, strlen(rt->method)) ||
            (strcmp(rt->method, "GET") == 0 &&
             h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))) {
            found = rt;
            break;
        }
    }
    if (!found) {
        r->method = "-";
        r->pattern = path_known ? "method_not_allowed" : "unmatched";
        if (path_known)
            pp_api_reply_error(r, 405, "method_not_allowed", "method not allowed on this path");
        else
            pp_api_reply_error(r, 404, "not_found", "no such route");
    } else {
        (void)pp_api_route_match(found, path.base, path.len, r);
        r->method = found->method;
        r->pattern = found->pattern;
        r->handler = found->fn;
        if (a->stopping) {
            pp_api_reply_error(r, 503, "shutting_down", "the server is shutting down");
        } else if (found->auth == 0) {
            run_handler(r);
        } else {
            authenticate(r, found->auth);
        }
    }
    box->holds--;
    req_maybe_free(r, &box->holds);
    return 0;
}

int pp_api_dispatch_install(pp_api_t *a) { return pp_httpd_route(a->httpd, "/", dispatch_cb, a); }
