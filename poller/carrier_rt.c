/* carrier_rt.c - per-carrier runtime: batching, tokens, budgets, Retry-After pause, circuit breaker. */
#include "carrier_rt.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A shipment waits in its carrier's queue at most this share of its lease (then deferred). */
#define LEASE_WAIT_NUM 1
#define LEASE_WAIT_DEN 2
/* Re-check period while waiting on something without a known end (token, probe, sync). */
#define RECHECK_MS 100
/* Fallback carrier pause after a 429 without Retry-After (seconds, / speed like the schedule). */
#define PAUSE_DEFAULT_S 1

typedef struct batch {
    pp_crt_t *rt;
    pp_item_t *items;
    size_t n_items;
    const char **numbers; /* point into items */
    size_t n_numbers;
    bool probe;
    unsigned token_gen;
    int64_t started_ms;
} batch_t;

typedef enum { GATE_GO, GATE_WAIT } gate_t;


/* ---- metrics helpers ------------------------------------------------------------------- */

void pp_crt_metric(pp_poller_t *p, bool counter, const char *family, const char *carrier,
                    const char *l2, const char *v2, double v)
{
    char s[256];
    if (l2)
        snprintf(s, sizeof s, "%s{carrier=\"%s\",%s=\"%s\"}", family, carrier, l2, v2);
    else
        snprintf(s, sizeof s, "%s{carrier=\"%s\"}", family, carrier);
    if (counter)
        pp_metrics_add(p->metrics, s, v);
    else
        pp_metrics_set(p->metrics, s, v);
}

void pp_crt_count_error(pp_crt_t *rt, const char *kind)
{
    pp_crt_metric(rt->p, true, "pp_poller_errors_total", rt->carrier->name, "kind", kind, 1);
}

void pp_crt_breaker_gauge(pp_crt_t *rt, int64_t now)
{
    pp_crt_metric(rt->p, false, "pp_poller_breaker_state", rt->carrier->name, NULL, NULL,
            (double)pp_breaker_state(&rt->breaker, now));
}

static void budget_gauges(pp_crt_t *rt)
{
    pp_poller_t *p = rt->p;
    const char *n = rt->carrier->name;
    pp_crt_metric(p, false, "pp_poller_budget_limit", n, "window", "second", pp_budget_share(rt->rps, p->rate_sharers));
    pp_crt_metric(p, false, "pp_poller_budget_limit", n, "window", "day", pp_budget_share(rt->per_day, p->live_pollers));
    pp_crt_metric(p, false, "pp_poller_budget_used", n, "window", "day", (double)rt->day_used_local);
    if (rt->per_day > 0)
        pp_crt_metric(p, false, "pp_poller_budget_fleet_used", n, "window", "day", (double)rt->fleet_day_requests);
}

static void count_sent(pp_crt_t *rt)
{
    long long sec = pp_now_ms() / 1000;
    if (sec != rt->sec) {
        /* the gauge shows the last second in which this carrier was called */
        if (rt->sec_count)
            pp_crt_metric(rt->p, false, "pp_poller_budget_used", rt->carrier->name, "window", "second",
                    (double)rt->sec_count);
        rt->sec = sec;
        rt->sec_count = 0;
    }
    rt->sec_count++;
}

/* ---- gates ----------------------------------------------------------------------------- */

static void request_sync(pp_crt_t *rt, int64_t now)
{
    pp_poller_t *p = rt->p;
    if (!p->usage_busy && now - p->usage_last_ms >= 50 && !p->stopping)
        pp_usage_sync(p, false);
}

/*
 * Can a request to this carrier go now? Nothing is consumed. GATE_WAIT: *wait_ms is the
 * known wait, or -1 while something short is outstanding (token, probe, usage sync).
 */
static gate_t gate(pp_crt_t *rt, int64_t now, int64_t *wait_ms, const char **reason)
{
    *wait_ms = -1;
    if (rt->paused_until_ms > now) {
        *wait_ms = rt->paused_until_ms - now;
        *reason = "paused";
        return GATE_WAIT;
    }
    pp_breaker_state_t bs = pp_breaker_state(&rt->breaker, now);
    if (bs == PP_BREAKER_OPEN) {
        *wait_ms = rt->breaker.open_until_ms - now;
        *reason = "breaker";
        return GATE_WAIT;
    }
    if (bs == PP_BREAKER_HALF_OPEN && rt->breaker.probe_inflight) {
        *reason = "breaker";
        return GATE_WAIT;
    }
    if (rt->per_day > 0) {
        long long today = pp_budget_utc_day(pp_now_ms());
        if (!rt->day_synced || today != rt->day || (rt->day_held <= 0 && !rt->day_spent)) {
            request_sync(rt, now);
            *reason = "budget_day";
            return GATE_WAIT;
        }
        if (rt->day_held <= 0) {
            *wait_ms = pp_budget_ms_to_next_day(pp_now_ms());
            *reason = "budget_day";
            return GATE_WAIT;
        }
    }
    if (rt->carrier->build_auth_request) {
        if (!rt->token || now >= rt->token_expires_ms) {
            pp_crt_token_refresh(rt, now);
            if (!rt->token_busy && rt->token_retry_ms > now)
                *wait_ms = rt->token_retry_ms - now;
            *reason = "token";
            return GATE_WAIT;
        }
        if (now >= rt->token_refresh_ms)
            pp_crt_token_refresh(rt, now); /* in the background; the current token is still valid */
    }
    int64_t w = pp_bucket_wait_ms(&rt->bucket, now);
    if (w > 0) {
        *wait_ms = w;
        *reason = "budget_second";
        return GATE_WAIT;
    }
    return GATE_GO;
}

/* Breaker open or carrier paused by a 429: release the shipments, however short the wait. */
static bool must_release(const char *reason)
{
    return strcmp(reason, "breaker") == 0 || strcmp(reason, "paused") == 0;
}

static int64_t lease_wait_ms(const pp_poller_t *p)
{
    return (int64_t)p->cfg->lease_s * 1000 * LEASE_WAIT_NUM / LEASE_WAIT_DEN;
}

/* Expected extra wait for the request that will carry queue position `pos` (0-based). */
static int64_t position_ms(const pp_crt_t *rt, long pos)
{
    return pp_bucket_queue_ms(&rt->bucket, pos / rt->max_batch);
}

/*
 * Waiting: defer every queued item that would not go out within its share of the lease
 * (or at once when stopping, or when the wait is unknown and the item has waited too long).
 */
static void triage(pp_crt_t *rt, int64_t now, int64_t wait_ms, const char *reason)
{
    pp_poller_t *p = rt->p;
    int64_t budget = lease_wait_ms(p);
    pp_item_t **pp = &rt->head, *prev = NULL;
    long pos = 0;
    while (*pp) {
        pp_item_t *it = *pp;
        int64_t deadline = it->c.claimed_ms + budget;
        int64_t eta = wait_ms >= 0 ? now + wait_ms + position_ms(rt, pos) : now;
        bool give_up = p->stopping || eta > deadline || (wait_ms < 0 && now > deadline) ||
                       (wait_ms >= 0 && must_release(reason));
        if (give_up) {
            *pp = it->next;
            rt->queued--;
            int64_t delay = p->stopping ? 0
                            : wait_ms >= 0 ? pp_crt_spread(wait_ms + position_ms(rt, pos))
                                           : pp_crt_spread(p->cfg->budget_sync_ms > 1000 ? p->cfg->budget_sync_ms : 1000);
            pp_crt_defer(rt, it, delay, p->stopping ? "stopping" : reason);
            continue;
        }
        prev = it;
        pp = &it->next;
        pos++;
    }
    rt->tail = prev;
}

static void timer_cb(uv_timer_t *t)
{
    pp_crt_t *rt = t->data;
    rt->timer_due_ms = 0;
    pp_crt_pump(rt);
    pp_crt_flush_defers(rt->p);
}

static void arm(pp_crt_t *rt, int64_t now, int64_t delay)
{
    if (delay < 1)
        delay = 1;
    if (rt->timer_due_ms && rt->timer_due_ms <= now + delay)
        return;
    rt->timer_due_ms = now + delay;
    uv_timer_start(&rt->timer, timer_cb, (uint64_t)delay, 0);
}

/* ---- requests -------------------------------------------------------------------------- */

static void finish_item(pp_crt_t *rt, pp_item_t *it, pp_poll_outcome_t outcome, pp_track_result_t *res,
                        long retry_after_s, const char *result, const char *error)
{
    pp_poll_finish(rt->p, &it->c, outcome, res, retry_after_s, result, error);
    free(it);
}

static void fail_batch(batch_t *b, long retry_after_s, const char *result, const char *error)
{
    pp_item_t *it = b->items;
    while (it) {
        pp_item_t *next = it->next;
        finish_item(b->rt, it, PP_POLL_ERROR, NULL, retry_after_s, result, error);
        it = next;
    }
    b->items = NULL;
}

static void batch_free(batch_t *b)
{
    free(b->numbers);
    free(b);
}

static pp_track_result_t *copy_result(const pp_track_result_t *r)
{
    pp_track_result_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    *c = *r;
    c->events = NULL;
    if (r->n_events) {
        c->events = malloc(r->n_events * sizeof *c->events);
        if (!c->events) {
            free(c);
            return NULL;
        }
        memcpy(c->events, r->events, r->n_events * sizeof *c->events);
    }
    return c;
}

static const pp_track_result_t *match(const pp_track_result_t *res, size_t n, const char *number,
                                      size_t n_numbers)
{
    const pp_track_result_t *any = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(res[i].tracking_number, number) == 0) {
            if (res[i].found)
                return &res[i];
            any = &res[i];
        }
    }
    /* a single-number request whose answer does not repeat the number */
    if (!any && n_numbers == 1 && n == 1 && res[0].tracking_number[0] == '\0')
        any = &res[0];
    return any;
}

static void record_breaker(pp_crt_t *rt, bool probe, bool ok, int64_t now)
{
    pp_poller_t *p = rt->p;
    pp_breaker_state_t before = pp_breaker_state(&rt->breaker, now);
    if (!pp_breaker_record(&rt->breaker, probe, ok, now))
        return;
    pp_breaker_state_t after = pp_breaker_state(&rt->breaker, now);
    if (after == PP_BREAKER_OPEN)
        pp_warn("worker %s: carrier %s: circuit breaker %s for %lld ms", p->worker_id, rt->carrier->name,
                before == PP_BREAKER_CLOSED ? "opened" : "probe failed, open again",
                (long long)rt->breaker.cur_cooldown_ms);
    else if (after == PP_BREAKER_CLOSED)
        pp_info("worker %s: carrier %s: probe succeeded, circuit breaker closed", p->worker_id,
                rt->carrier->name);
    pp_crt_breaker_gauge(rt, now);
}

static void batch_done(const pp_http_response_t *resp, void *arg)
{
    batch_t *b = arg;
    pp_crt_t *rt = b->rt;
    pp_poller_t *p = rt->p;
    const char *cname = rt->carrier->name;
    int64_t now = pp_mono_ms();
    char labels[96], err[256] = "", msg[512];
    rt->requests_inflight--;
    snprintf(labels, sizeof labels, "carrier=\"%s\"", cname);
    pp_metrics_observe(p->metrics, "pp_poller_request_seconds", labels,
                       (double)(now - b->started_ms) / 1000.0);
    const char *result;
    bool failure = false;

    if (resp->err) {
        result = resp->err == PP_ETIMEOUT ? "timeout" : resp->err == PP_EAGAIN ? "aborted" : "transport_error";
        failure = resp->err != PP_EAGAIN;
        pp_crt_count_error(rt, result);
        fail_batch(b, -1, result, resp->errmsg);
        goto done;
    }
    if (resp->status == 401 && rt->carrier->build_auth_request) {
        /* Token rejected (expired early, revoked): drop it, refresh, re-send each item once. */
        result = "unauthorized";
        pp_crt_count_error(rt, "unauthorized");
        if (b->token_gen == rt->token_gen && rt->token) {
            free(rt->token);
            rt->token = NULL;
            pp_info("worker %s: carrier %s: 401 on a tracking call: token dropped, refreshing",
                    p->worker_id, cname);
        }
        pp_item_t *it = b->items, *retry_head = NULL, *retry_last = NULL;
        long n_retry = 0;
        while (it) {
            pp_item_t *next = it->next;
            if (it->c.auth_retried) {
                finish_item(rt, it, PP_POLL_ERROR, NULL, -1, result, "HTTP 401 again after a new token");
            } else {
                it->c.auth_retried = true;
                it->next = NULL;
                if (retry_last)
                    retry_last->next = it;
                else
                    retry_head = it;
                retry_last = it;
                n_retry++;
            }
            it = next;
        }
        b->items = NULL;
        if (retry_head) { /* back to the front of the queue */
            retry_last->next = rt->head;
            if (!rt->head)
                rt->tail = retry_last;
            rt->head = retry_head;
            rt->queued += n_retry;
        }
        goto done;
    }
    pp_track_result_t *res = NULL;
    size_t n_res = 0;
    int rc = pp_carrier_parse(rt->carrier, resp->status, resp->body, resp->body_len, &res, &n_res, err, sizeof err);
    if (resp->status == 429) {
        long ra = resp->retry_after_s >= 0 ? resp->retry_after_s : PAUSE_DEFAULT_S;
        long speed = p->cfg->speed > 0 ? p->cfg->speed : 1;
        int64_t pause = (int64_t)ra * 1000 / speed;
        int64_t cap = (int64_t)p->cfg->error_backoff_max_s * 1000 / speed;
        if (pause > cap)
            pause = cap;
        if (pause < 1)
            pause = 1;
        if (now + pause > rt->paused_until_ms) {
            rt->paused_until_ms = now + pause;
            pp_info("worker %s: carrier %s: 429, paused for %lld ms (Retry-After %ld)", p->worker_id,
                    cname, (long long)pause, resp->retry_after_s);
        }
        pp_crt_count_error(rt, "rate_limited");
    }
    if (rc) {
        pp_track_results_free(res, n_res);
        result = rc == PP_EHTTP ? "http_error" : "parse_error";
        failure = resp->status >= 500 || (rc != PP_EHTTP && resp->status != 429);
        if (resp->status != 429)
            pp_crt_count_error(rt, resp->status >= 500 ? "http_5xx" : rc == PP_EHTTP ? "http_4xx" : "parse");
        snprintf(msg, sizeof msg, "HTTP %d: %s: %s", resp->status, pp_strerror(rc), err[0] ? err : "(no detail)");
        fail_batch(b, resp->retry_after_s, result, msg);
        goto done;
    }
    result = "ok";
    size_t n_not_found = 0;
    for (pp_item_t *it = b->items, *next; it; it = next) {
        next = it->next;
        const pp_track_result_t *r = match(res, n_res, it->c.tracking_number, b->n_numbers);
        if (!r) {
            pp_crt_count_error(rt, "missing_in_batch");
            snprintf(msg, sizeof msg, "HTTP %d: number missing from the carrier's answer to a %zu-number request",
                     resp->status, b->n_numbers);
            finish_item(rt, it, PP_POLL_ERROR, NULL, -1, "missing", msg);
        } else if (!r->found) {
            n_not_found++;
            finish_item(rt, it, PP_POLL_NOT_FOUND, NULL, -1, "not_found", NULL);
        } else {
            pp_track_result_t *mine = copy_result(r);
            if (mine)
                finish_item(rt, it, PP_POLL_OK, mine, -1, "ok", NULL);
            else
                finish_item(rt, it, PP_POLL_ERROR, NULL, -1, "request_error", "out of memory");
        }
    }
    b->items = NULL;
    if (b->n_numbers == 1 && n_not_found == 1)
        result = "not_found";
    pp_track_results_free(res, n_res);
done:
    if (strcmp(result, "aborted") != 0)
        record_breaker(rt, b->probe, !failure, now);
    else if (b->probe)
        rt->breaker.probe_inflight = false; /* closing: nobody judged */
    pp_crt_metric(p, true, "pp_poller_requests_total", cname, "result", result, 1);
    if (failure || strcmp(result, "ok") != 0)
        if (strcmp(result, "not_found") != 0)
            p->n_request_errors++;
    batch_free(b);
    if (p->stopping < 4) {
        pp_crt_pump(rt);
        pp_crt_flush_defers(p);
    }
}

/* Take up to max_batch distinct numbers (with every queued shipment sharing one) and send. */
static void send_batch(pp_crt_t *rt, int64_t now, bool probe)
{
    pp_poller_t *p = rt->p;
    batch_t *b = calloc(1, sizeof *b);
    size_t cap = (size_t)rt->max_batch;
    if (b)
        b->numbers = calloc(cap, sizeof *b->numbers);
    if (!b || !b->numbers) {
        free(b);
        pp_error("worker %s: carrier %s: out of memory building a request", p->worker_id, rt->carrier->name);
        if (probe)
            rt->breaker.probe_inflight = false;
        return;
    }
    b->rt = rt;
    b->probe = probe;
    b->token_gen = rt->token_gen;
    pp_item_t **pp = &rt->head, *prev = NULL, **btail = &b->items;
    while (*pp) {
        pp_item_t *it = *pp;
        bool take = false;
        size_t k;
        for (k = 0; k < b->n_numbers; k++)
            if (strcmp(b->numbers[k], it->c.tracking_number) == 0)
                break;
        if (k < b->n_numbers)
            take = true;
        else if (b->n_numbers < cap) {
            b->numbers[b->n_numbers++] = it->c.tracking_number;
            take = true;
        }
        if (!take) {
            prev = it;
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        it->next = NULL;
        *btail = it;
        btail = &it->next;
        b->n_items++;
        rt->queued--;
    }
    rt->tail = prev;

    b->started_ms = now;
    rt->requests_inflight++;
    p->n_requests++;
    count_sent(rt);
    pp_crt_metric(p, true, "pp_poller_request_numbers_total", rt->carrier->name, NULL, NULL, (double)b->n_numbers);
    pp_http_request_t req = {0};
    int rc = rt->carrier->build_request(p->cfg, rt->token, b->numbers, b->n_numbers, &req);
    if (rc == PP_OK)
        rc = pp_httpc_send(p->http, &req, p->cfg->http_timeout_ms, batch_done, b);
    pp_http_request_free(&req);
    if (rc) {
        char msg[128];
        snprintf(msg, sizeof msg, "cannot start the request: %s", pp_strerror(rc));
        pp_warn("worker %s: carrier %s: %s (%zu numbers)", p->worker_id, rt->carrier->name, msg, b->n_numbers);
        rt->requests_inflight--;
        if (probe)
            rt->breaker.probe_inflight = false;
        pp_crt_metric(p, true, "pp_poller_requests_total", rt->carrier->name, "result", "request_error", 1);
        pp_crt_count_error(rt, "request_error");
        p->n_request_errors++;
        fail_batch(b, -1, "request_error", msg);
        batch_free(b);
    }
}

void pp_crt_pump(pp_crt_t *rt)
{
    pp_poller_t *p = rt->p;
    while (rt->head) {
        int64_t now = pp_mono_ms(), wait;
        const char *reason = "";
        if (p->stopping) {
            triage(rt, now, 0, "stopping");
            break;
        }
        if (gate(rt, now, &wait, &reason) == GATE_WAIT) {
            triage(rt, now, wait, reason);
            if (rt->head)
                arm(rt, now, wait >= 0 && wait < RECHECK_MS * 10 ? wait : RECHECK_MS);
            break;
        }
        bool probe;
        int64_t bw;
        if (!pp_breaker_allow(&rt->breaker, now, &probe, &bw)) {
            arm(rt, now, RECHECK_MS);
            break;
        }
        if (probe) {
            pp_info("worker %s: carrier %s: circuit breaker half-open: one probe request", p->worker_id,
                    rt->carrier->name);
            pp_crt_breaker_gauge(rt, now);
        }
        if (pp_bucket_take(&rt->bucket, now) != 0) { /* cannot happen after gate() */
            if (probe)
                rt->breaker.probe_inflight = false;
            arm(rt, now, 1);
            break;
        }
        if (rt->per_day > 0) {
            rt->day_held--;
            rt->day_unsynced++;
            rt->day_used_local++;
            if (rt->day_held == 0)
                request_sync(rt, now);
        }
        send_batch(rt, now, probe);
        budget_gauges(rt);
    }
}

/* ---- public ---------------------------------------------------------------------------- */

void pp_crt_pump_all(pp_poller_t *p)
{
    for (size_t i = 0; i < p->n_crt; i++)
        pp_crt_pump(p->crt[i]);
    pp_crt_flush_defers(p);
}

void pp_crt_dispatch(pp_poller_t *p, const pp_claimed_t *c)
{
    p->inflight++;
    pp_metrics_set(p->metrics, "pp_poller_inflight", p->inflight);
    pp_metrics_set(p->metrics, "pp_poller_leases_held", p->inflight);
    pp_crt_t *rt = NULL;
    for (size_t i = 0; i < p->n_crt && !rt; i++)
        if (strcasecmp(p->crt[i]->carrier->name, c->carrier) == 0)
            rt = p->crt[i];
    if (!rt) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown carrier \"%s\"", c->carrier);
        pp_crt_metric(p, true, "pp_poller_requests_total", c->carrier, "result", "unknown_carrier", 1);
        pp_poll_finish(p, c, PP_POLL_ERROR, NULL, -1, "unknown_carrier", msg);
        return;
    }
    pp_item_t *it = calloc(1, sizeof *it);
    if (!it) {
        pp_error("worker %s: shipment %lld: out of memory; left to lease expiry", p->worker_id, c->id);
        p->inflight--;
        return;
    }
    it->c = *c;
    if (!it->c.claimed_ms)
        it->c.claimed_ms = pp_mono_ms();
    /* Out of budget / paused / breaker open for longer than it may wait: release it now. */
    int64_t now = pp_mono_ms(), wait;
    const char *reason = "";
    if (gate(rt, now, &wait, &reason) == GATE_WAIT && wait >= 0) {
        int64_t eta = wait + position_ms(rt, rt->queued);
        if (must_release(reason) || now + eta > it->c.claimed_ms + lease_wait_ms(p)) {
            pp_crt_defer(rt, it, pp_crt_spread(eta), reason);
            return;
        }
    } else if (rt->bucket.rate > 0) {
        int64_t eta = position_ms(rt, rt->queued);
        if (now + eta > it->c.claimed_ms + lease_wait_ms(p)) {
            pp_crt_defer(rt, it, pp_crt_spread(eta), "budget_second");
            return;
        }
    }
    if (rt->tail)
        rt->tail->next = it;
    else
        rt->head = it;
    rt->tail = it;
    rt->queued++;
}

void pp_crt_budget_changed(pp_poller_t *p)
{
    int64_t now = pp_mono_ms();
    for (size_t i = 0; i < p->n_crt; i++) {
        pp_crt_t *rt = p->crt[i];
        pp_bucket_set_rate(&rt->bucket, pp_budget_share(rt->rps, p->rate_sharers), now);
        budget_gauges(rt);
    }
}

int pp_crt_init(pp_poller_t *p)
{
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    const pp_config_t *cfg = p->cfg;
    int64_t now = pp_mono_ms();
    p->live_pollers = p->rate_sharers = 1;
    p->crt = calloc(n ? n : 1, sizeof *p->crt);
    if (!p->crt)
        return PP_ENOMEM;
    pp_metrics_help(p->metrics, "pp_poller_errors_total", "counter", "carrier call errors by carrier and kind");
    pp_metrics_help(p->metrics, "pp_poller_request_numbers_total", "counter", "tracking numbers sent (a request may carry many)");
    pp_metrics_help(p->metrics, "pp_poller_deferred_total", "counter", "shipments released unpolled until the carrier can be called (reason)");
    pp_metrics_help(p->metrics, "pp_poller_budget_used", "gauge", "this poller's requests: in the last active second, and today");
    pp_metrics_help(p->metrics, "pp_poller_budget_limit", "gauge", "this poller's share of the fleet limit (limit / live pollers; 0 = unlimited)");
    pp_metrics_help(p->metrics, "pp_poller_budget_fleet_used", "gauge", "requests by the whole fleet today (carrier_usage, as of the last sync)");
    pp_metrics_help(p->metrics, "pp_poller_breaker_state", "gauge", "circuit breaker: 0 closed, 1 half-open, 2 open");
    pp_metrics_help(p->metrics, "pp_poller_token_refreshes_total", "counter", "access-token requests by result");
    for (size_t i = 0; i < n; i++) {
        pp_crt_t *rt = calloc(1, sizeof *rt);
        if (!rt)
            return PP_ENOMEM;
        p->crt[p->n_crt++] = rt;
        rt->p = p;
        rt->carrier = all[i];
        rt->max_batch = all[i]->batch_limit ? all[i]->batch_limit(cfg) : all[i]->max_batch;
        if (rt->max_batch < 1)
            rt->max_batch = 1;
        pp_budget_limits(cfg, all[i]->name, &rt->rps, &rt->per_day);
        pp_bucket_init(&rt->bucket, pp_budget_share(rt->rps, 1), 1, now);
        pp_breaker_init(&rt->breaker, (int)cfg->breaker_window, (int)cfg->breaker_min_requests,
                        (int)cfg->breaker_failure_pct, cfg->breaker_cooldown_ms, cfg->breaker_cooldown_max_ms);
        rt->day = pp_budget_utc_day(pp_now_ms());
        uv_timer_init(p->loop, &rt->timer);
        rt->timer.data = rt;
        pp_crt_breaker_gauge(rt, now);
        budget_gauges(rt);
        pp_crt_metric(p, false, "pp_poller_budget_used", all[i]->name, "window", "second", 0);
        pp_info("worker %s: carrier %s: %d numbers per request, fleet budget %ld/s %ld/day%s", p->worker_id,
                all[i]->name, rt->max_batch, rt->rps, rt->per_day,
                all[i]->build_auth_request ? ", access token" : "");
    }
    return PP_OK;
}

static void rt_closed_cb(uv_handle_t *h)
{
    pp_crt_t *rt = h->data;
    free(rt->token);
    free(rt);
}

void pp_crt_close(pp_poller_t *p)
{
    for (size_t i = 0; i < p->n_crt; i++) {
        pp_crt_t *rt = p->crt[i];
        while (rt->head) { /* nothing should be queued once in-flight is 0 */
            pp_item_t *it = rt->head;
            rt->head = it->next;
            free(it);
        }
        uv_timer_stop(&rt->timer);
        uv_close((uv_handle_t *)&rt->timer, rt_closed_cb);
    }
    free(p->crt);
    p->crt = NULL;
    p->n_crt = 0;
    pp_crt_defers_free(p);
}
