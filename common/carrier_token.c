/* carrier_token.c - one carrier's access token: fetch, cache, refresh at 90 %, back off after a failure. */
#include "carrier_token.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>

#define BACKOFF_FIRST_MS 500 /* doubled per failure in a row: 1 s after the first */
#define BACKOFF_MAX_MS 60000

struct pp_ctoken {
    pp_ctoken_opts_t o;
    char *value;  /* malloc'd; NULL = none */
    unsigned gen; /* bumped on every new token */
    int64_t expires_ms, refresh_ms, retry_ms;
    bool busy;
    int failures; /* in a row */
};

pp_ctoken_t *pp_ctoken_new(const pp_ctoken_opts_t *o)
{
    pp_ctoken_t *t = calloc(1, sizeof *t);
    if (t)
        t->o = *o;
    return t;
}

static void failed(pp_ctoken_t *t, const char *why)
{
    int64_t now = t->o.now_ms();
    t->failures++;
    int sh = t->failures < 7 ? t->failures : 7;
    int64_t backoff = (int64_t)BACKOFF_FIRST_MS << sh;
    if (backoff > BACKOFF_MAX_MS)
        backoff = BACKOFF_MAX_MS;
    t->retry_ms = now + backoff;
    t->o.cb(t->o.arg, false, why, 0, backoff);
}

static void fetch_done(const pp_http_response_t *resp, void *arg)
{
    pp_ctoken_t *t = arg;
    t->busy = false;
    if (resp->err == PP_EAGAIN)
        return; /* the HTTP client is closing */
    char err[256] = "", why[512];
    char *tok = NULL;
    long ttl = 0;
    if (resp->err) {
        snprintf(why, sizeof why, "%s", resp->errmsg);
        failed(t, why);
        return;
    }
    int rc = pp_carrier_read_token(t->o.carrier, resp->status, resp->body, resp->body_len, &tok,
                                   &ttl, err, sizeof err);
    if (rc) {
        snprintf(why, sizeof why, "HTTP %d: %s: %s", resp->status, pp_strerror(rc),
                 err[0] ? err : "(no token)");
        failed(t, why);
        return;
    }
    int64_t now = t->o.now_ms();
    free(t->value);
    t->value = tok;
    t->gen++;
    t->expires_ms = now + (int64_t)ttl * 1000;
    t->refresh_ms = now + (int64_t)ttl * 900; /* 90 % of the lifetime */
    t->failures = 0;
    t->retry_ms = 0;
    t->o.cb(t->o.arg, true, NULL, ttl, 0);
}

static void fetch(pp_ctoken_t *t, pp_httpc_t *h, int64_t now)
{
    if (t->busy || !h || now < t->retry_ms)
        return;
    pp_http_request_t req = {0};
    int rc = t->o.carrier->build_auth_request(t->o.cfg, &req);
    if (rc == PP_OK)
        rc = pp_httpc_send(h, &req, t->o.timeout_ms, fetch_done, t);
    pp_http_request_free(&req);
    if (rc) {
        char why[128];
        snprintf(why, sizeof why, "cannot start the request: %s", pp_strerror(rc));
        failed(t, why);
        return;
    }
    t->busy = true;
}

const char *pp_ctoken_get(pp_ctoken_t *t, pp_httpc_t *h, int64_t now, int64_t *wait_ms, unsigned *gen)
{
    *gen = t->gen;
    if (t->value && now < t->expires_ms) {
        if (now >= t->refresh_ms)
            fetch(t, h, now); /* in the background: the current token is still valid */
        *wait_ms = 0;
        return t->value;
    }
    fetch(t, h, now);
    *wait_ms = !t->busy && t->retry_ms > now ? t->retry_ms - now : -1;
    return NULL;
}

bool pp_ctoken_drop(pp_ctoken_t *t, unsigned gen)
{
    if (gen != t->gen || !t->value)
        return false;
    free(t->value);
    t->value = NULL;
    return true;
}

bool pp_ctoken_busy(const pp_ctoken_t *t) { return t->busy; }

void pp_ctoken_reset(pp_ctoken_t *t)
{
    free(t->value);
    t->value = NULL;
    t->gen++;
    t->failures = 0;
    t->retry_ms = 0;
}
void pp_ctoken_set_timeout(pp_ctoken_t *t, long timeout_ms) { t->o.timeout_ms = timeout_ms; }

void pp_ctoken_free(pp_ctoken_t *t)
{
    if (!t)
        return;
    free(t->value);
    free(t);
}
