/* token.c - per-carrier access token (OAuth2 client credentials): fetch, cache, refresh at 90 %, one at a time. */
#include "carrier_rt.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void token_failed(pp_crt_t *rt, const char *why)
{
    pp_poller_t *p = rt->p;
    int64_t now = pp_mono_ms();
    rt->token_failures++;
    int sh = rt->token_failures < 7 ? rt->token_failures : 7;
    int64_t backoff = (int64_t)500 << sh;
    rt->token_retry_ms = now + (backoff > 60000 ? 60000 : backoff);
    pp_crt_metric(p, true, "pp_poller_token_refreshes_total", rt->carrier->name, "result", "error", 1);
    pp_crt_count_error(rt, "token");
    pp_warn("worker %s: carrier %s: token request failed (%d in a row, next try in %lld ms): %s",
            p->worker_id, rt->carrier->name, rt->token_failures, (long long)(rt->token_retry_ms - now), why);
    /* The carrier cannot be used without a token: that counts against it. */
    if (pp_breaker_record(&rt->breaker, false, false, now)) {
        pp_warn("worker %s: carrier %s: circuit breaker open for %lld ms", p->worker_id,
                rt->carrier->name, (long long)rt->breaker.cur_cooldown_ms);
        pp_crt_breaker_gauge(rt, now);
    }
}

static void token_done(const pp_http_response_t *resp, void *arg)
{
    pp_crt_t *rt = arg;
    pp_poller_t *p = rt->p;
    rt->token_busy = false;
    if (resp->err == PP_EAGAIN)
        return; /* client closing */
    char err[256] = "", why[512];
    char *tok = NULL;
    long expires_in = 0;
    if (resp->err) {
        snprintf(why, sizeof why, "%s", resp->errmsg);
        token_failed(rt, why);
        goto out;
    }
    int rc = pp_carrier_read_token(rt->carrier, resp->status, resp->body, resp->body_len, &tok,
                                   &expires_in, err, sizeof err);
    if (rc == PP_ENOMEM) {
        token_failed(rt, "out of memory");
        goto out;
    }
    if (rc) {
        snprintf(why, sizeof why, "HTTP %d: %s: %s", resp->status, pp_strerror(rc),
                 err[0] ? err : "(no token)");
        token_failed(rt, why);
        goto out;
    }
    int64_t now = pp_mono_ms();
    free(rt->token);
    rt->token = tok;
    tok = NULL;
    rt->token_gen++;
    rt->token_expires_ms = now + (int64_t)expires_in * 1000;
    rt->token_refresh_ms = now + (int64_t)expires_in * 900; /* 90 % of the lifetime */
    rt->token_failures = 0;
    rt->token_retry_ms = 0;
    pp_crt_metric(p, true, "pp_poller_token_refreshes_total", rt->carrier->name, "result", "ok", 1);
    pp_info("worker %s: carrier %s: new access token (valid %ld s)", p->worker_id, rt->carrier->name,
            expires_in);
out:
    free(tok);
    pp_crt_pump(rt);
    pp_crt_flush_defers(p);
}

void pp_crt_token_refresh(pp_crt_t *rt, int64_t now)
{
    pp_poller_t *p = rt->p;
    if (rt->token_busy || now < rt->token_retry_ms || p->stopping >= 4)
        return;
    pp_http_request_t req = {0};
    int rc = rt->carrier->build_auth_request(p->cfg, &req);
    if (rc == PP_OK)
        rc = pp_httpc_send(p->http, &req, p->cfg->http_timeout_ms, token_done, rt);
    pp_http_request_free(&req);
    if (rc) {
        char why[128];
        snprintf(why, sizeof why, "cannot start the request: %s", pp_strerror(rc));
        token_failed(rt, why);
        return;
    }
    rt->token_busy = true;
}

