/* carrier_lane.c - one carrier's queue in the carrier client: the pause, breaker, day quota, token and per-second gates, sending, and the carrier's answer read once. */
#include "carrier_client_internal.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Re-check period while waiting on something without a known end (token, probe, sync). */
#define RECHECK_MS 50
/* Pause after a 429 without Retry-After. */
#define PAUSE_DEFAULT_S 1

static void pump(pp_cc_lane_t *l);

/* ---- the lane's timer ------------------------------------------------------------------ */

static void lane_timer_cb(uv_timer_t *t)
{
    pp_cc_lane_t *l = t->data;
    l->timer_due_ms = 0;
    pump(l);
}

void pp_cc_lane_arm(pp_cc_lane_t *l, int64_t delay)
{
    if (l->cc->closing)
        return;
    int64_t now = l->cc->now();
    if (delay < 1)
        delay = 1;
    if (l->timer_due_ms && l->timer_due_ms <= now + delay)
        return;
    l->timer_due_ms = now + delay;
    uv_timer_start(&l->timer, lane_timer_cb, (uint64_t)delay, 0);
}

void pp_cc_lane_wake(pp_cc_lane_t *l) { pp_cc_lane_arm(l, 0); }

void pp_cc_lane_breaker_gauge(pp_cc_lane_t *l, int64_t now)
{
    pp_cc_metric_kept(l->cc, &l->m_breaker, false, "breaker_state", l->carrier->name, NULL, NULL,
                      (double)pp_breaker_state(&l->breaker, now));
}

/* This 10-second slot of the lane's recent counts, emptied when it last held an older one. */
static pp_cc_recent_t *recent_slot(pp_cc_lane_t *l)
{
    long long slot = l->cc->wall() / PP_CC_RECENT_SLOT_MS;
    int i = (int)(slot % PP_CC_RECENT_SLOTS);
    if (l->recent[i].slot != slot) {
        memset(&l->recent[i], 0, sizeof l->recent[i]);
        l->recent[i].slot = slot;
    }
    return &l->recent[i];
}

static void count_error(pp_cc_lane_t *l, const char *kind)
{
    pp_cc_metric(l->cc, true, "errors_total", l->carrier->name, "kind", kind, 1);
    if (strcmp(kind, "aborted") == 0) /* our own stop, not the carrier's */
        return;
    pp_cc_recent_t *r = recent_slot(l);
    if (strcmp(kind, "rate_limited") == 0)
        r->rate_limited++;
    else
        r->errors++;
}

static void count_sent(pp_cc_lane_t *l)
{
    long long sec = l->cc->wall() / 1000;
    if (sec != l->sec) {
        /* the gauge shows the last second in which this carrier was called */
        if (l->sec_count)
            pp_cc_metric(l->cc, false, "budget_used", l->carrier->name, "window", "second",
                         (double)l->sec_count);
        l->sec = sec;
        l->sec_count = 0;
    }
    l->sec_count++;
    pp_cc_recent_t *r = recent_slot(l);
    r->requests++;
}

/* ---- completing a call ----------------------------------------------------------------- */

static void unlink_call(pp_cc_lane_t *l, pp_cc_call_t *c)
{
    pp_cc_call_t *prev = NULL;
    for (pp_cc_call_t *x = l->head; x; prev = x, x = x->next)
        if (x == c) {
            if (prev)
                prev->next = c->next;
            else
                l->head = c->next;
            if (l->tail == c)
                l->tail = prev;
            l->queued--;
            c->next = NULL;
            return;
        }
}

void pp_cc_call_free(pp_cc_call_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->numbers[i]);
    free(c->numbers);
    free(c);
}

/* The one completion: the call is out of every list. */
static void complete(pp_cc_call_t *c, const pp_cc_result_t *r)
{
    pp_cc_t *cc = c->lane->cc;
    if (c->paid == PP_CC_PAID) /* taken from the bots' share and not sent: give it back */
        pp_cc_day_untake(c->lane, c->paid_day);
    cc->pending--;
    c->cb(c, r, c->arg);
    pp_cc_call_free(c);
}

void pp_cc_lane_refuse(pp_cc_call_t *c, const char *why, int64_t wait_ms)
{
    pp_cc_t *cc = c->lane->cc;
    cc->stats.refused++;
    pp_cc_result_t r = {.outcome = PP_CC_REFUSED, .why = why, .retry_after_s = -1, .wait_ms = wait_ms};
    if (strcmp(why, "quota") == 0 || strcmp(why, "budget_day") == 0)
        r.quota_resets_at = (time_t)((pp_budget_utc_day(cc->wall()) + 1) * 86400);
    complete(c, &r);
}

static void fail(pp_cc_call_t *c, const char *why, const char *detail, int status, long retry_after_s)
{
    pp_cc_result_t r = {.outcome = PP_CC_FAILED,
                        .why = why,
                        .detail = detail,
                        .http_status = status,
                        .retry_after_s = retry_after_s,
                        .wait_ms = -1};
    complete(c, &r);
}

/* carrier_day.c: a take for the bots' share ended. */
void pp_cc_lane_take_done(pp_cc_call_t *c, bool granted, const char *why)
{
    if (granted) {
        pp_cc_lane_arm(c->lane, 0);
        return;
    }
    unlink_call(c->lane, c);
    pp_cc_lane_refuse(c, why, -1);
}

/* ---- gates ----------------------------------------------------------------------------- */

/*
 * Can a request to this carrier go now? Nothing is consumed. false: *wait_ms is the known
 * wait, or -1 while something short is outstanding (token, probe, day sync).
 */
static bool gate(pp_cc_lane_t *l, int64_t now, int64_t *wait_ms, const char **reason)
{
    *wait_ms = -1;
    if (l->paused_until_ms > now) {
        *wait_ms = l->paused_until_ms - now;
        *reason = "paused";
        return false;
    }
    pp_breaker_state_t bs = pp_breaker_state(&l->breaker, now);
    if (bs == PP_BREAKER_OPEN) {
        *wait_ms = l->breaker.open_until_ms - now;
        *reason = "breaker";
        return false;
    }
    if (bs == PP_BREAKER_HALF_OPEN && l->breaker.probe_inflight) {
        *reason = "breaker";
        return false;
    }
    if (!pp_cc_day_gate(l, wait_ms)) {
        *reason = "budget_day";
        return false;
    }
    if (l->token) {
        unsigned gen;
        if (!pp_ctoken_get(l->token, l->cc->http, now, wait_ms, &gen)) {
            *reason = "token";
            return false;
        }
    }
    int64_t w = pp_bucket_wait_ms(&l->bucket, now);
    if (w > 0) {
        *wait_ms = w;
        *reason = "budget_second";
        return false;
    }
    return true;
}

/*
 * Refuse every queued call that cannot go before its deadline, or at all (stopping, breaker
 * open, the bots' share spent); start a take from the bots' share for the calls that need
 * one. Returns the earliest deadline of the calls left (INT64_MAX if none).
 */
static int64_t triage(pp_cc_lane_t *l, int64_t now, bool go, int64_t wait, const char *reason)
{
    pp_cc_t *cc = l->cc;
    bool open = pp_breaker_state(&l->breaker, now) == PP_BREAKER_OPEN;
    pp_cc_call_t *keep = NULL, **ktail = &keep, *last = NULL, *drop = NULL, **dtail = &drop;
    int64_t earliest = INT64_MAX;
    long pos = 0;
    for (pp_cc_call_t *c = l->head, *next; c; c = next) {
        next = c->next;
        c->next = NULL;
        int64_t eta = go          ? pp_bucket_queue_ms(&l->bucket, pos)
                      : wait >= 0 ? wait + pp_bucket_queue_ms(&l->bucket, pos)
                                  : -1;
        c->why = NULL;
        c->why_wait = -1;
        if (c->paid == PP_CC_TAKING) { /* judged when its take ends: the job holds it */
            *ktail = c;
            ktail = &c->next;
            last = c;
            pos++;
            continue;
        }
        if (!cc->http || cc->draining) {
            c->why = "stopping";
            c->why_wait = 0;
        } else if (open) {
            c->why = "breaker";
            c->why_wait = l->breaker.open_until_ms - now;
        } else if (c->paid == PP_CC_UNPAID && pp_cc_day_refused(l)) {
            c->why = "quota";
        } else if (eta >= 0 && now + eta > c->deadline_ms) {
            c->why = go ? "budget_second" : reason;
            c->why_wait = eta;
        } else if (eta < 0 && now >= c->deadline_ms) {
            c->why = reason;
        } else if (c->paid == PP_CC_UNPAID && pp_cc_day_needs_take(l) && !pp_cc_day_take(c)) {
            c->why = "database";
        }
        if (c->why) {
            *dtail = c;
            dtail = &c->next;
            l->queued--;
            continue;
        }
        *ktail = c;
        ktail = &c->next;
        last = c;
        pos++;
        if (c->deadline_ms < earliest)
            earliest = c->deadline_ms;
    }
    l->head = keep;
    l->tail = last;
    while (drop) { /* the queue is consistent again: callbacks may submit and add */
        pp_cc_call_t *c = drop;
        drop = c->next;
        c->next = NULL;
        pp_cc_lane_refuse(c, c->why, c->why_wait);
    }
    return earliest;
}

/* ---- answers --------------------------------------------------------------------------- */

static void record_breaker(pp_cc_lane_t *l, bool probe, bool ok, int64_t now)
{
    pp_cc_t *cc = l->cc;
    pp_breaker_state_t before = pp_breaker_state(&l->breaker, now);
    if (pp_breaker_record(&l->breaker, probe, ok, now)) {
        pp_breaker_state_t after = pp_breaker_state(&l->breaker, now);
        if (after == PP_BREAKER_OPEN)
            pp_warnk(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                     "%s: carrier %s: circuit breaker %s for %lld ms: no calls meanwhile",
                     cc->o.who, l->carrier->name,
                     before == PP_BREAKER_CLOSED ? "opened" : "probe failed, open again",
                     (long long)l->breaker.cur_cooldown_ms);
        else if (after == PP_BREAKER_CLOSED)
            pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                     "%s: carrier %s: probe succeeded, circuit breaker closed", cc->o.who,
                     l->carrier->name);
    }
    pp_cc_lane_breaker_gauge(l, now);
}

/* A 429, or a 503 with Retry-After: nothing goes to this carrier before the moment named. */
static void pause_carrier(pp_cc_lane_t *l, int status, long retry_after_s, int64_t now)
{
    pp_cc_t *cc = l->cc;
    const pp_config_t *cfg = cc->o.cfg;
    long speed = cfg->speed > 0 ? cfg->speed : 1;
    long s = retry_after_s >= 0 ? retry_after_s : PAUSE_DEFAULT_S;
    /* +1: the monotonic clock truncates, the pause must not end before the carrier's moment */
    int64_t ms = (int64_t)s * 1000 / speed + 1;
    int64_t cap = (int64_t)cfg->error_backoff_max_s * 1000 / speed;
    if (cap > 0 && ms > cap)
        ms = cap;
    pp_cc_metric(cc, true, "carrier_paused_total", l->carrier->name, NULL, NULL, 1);
    if (now + ms <= l->paused_until_ms)
        return;
    l->paused_until_ms = now + ms;
    if (retry_after_s >= 0)
        pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                 "%s: carrier %s: HTTP %d with Retry-After %ld s: calls paused for %lld ms",
                 cc->o.who, l->carrier->name, status, retry_after_s, (long long)ms);
    else
        pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                 "%s: carrier %s: HTTP %d without Retry-After: calls paused for %lld ms", cc->o.who,
                 l->carrier->name, status, (long long)ms);
}

/* A tracking call's 401: drop the token it carried, send the call once more with a new one. */
static bool retry_unauthorized(pp_cc_call_t *c)
{
    pp_cc_lane_t *l = c->lane;
    if (pp_ctoken_drop(l->token, c->token_gen))
        pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                 "%s: carrier %s: 401 on a tracking call: token dropped, refreshing", l->cc->o.who,
                 l->carrier->name);
    if (c->auth_retried)
        return false;
    c->auth_retried = true;
    c->sent = false;
    c->next = l->head; /* back to the front of the queue */
    l->head = c;
    if (!l->tail)
        l->tail = c;
    l->queued++;
    return true;
}

/* <prefix>_request_seconds{carrier} (kept) */
static void observe_seconds(pp_cc_lane_t *l, int64_t ms)
{
    if (!l->m_seconds) {
        char labels[96], fam[96];
        snprintf(labels, sizeof labels, "carrier=\"%s\"", l->carrier->name);
        snprintf(fam, sizeof fam, "%s_request_seconds", l->cc->o.prefix);
        l->m_seconds = pp_metrics_histogram(l->cc->o.metrics, fam, labels);
    }
    pp_metric_observe(l->m_seconds, (double)ms / 1000.0);
}

/* <prefix>_requests_total{carrier,result} (the "ok" series kept) */
static void count_result(pp_cc_lane_t *l, const char *why)
{
    if (strcmp(why, "ok") == 0)
        pp_cc_metric_kept(l->cc, &l->m_ok, true, "requests_total", l->carrier->name, "result", "ok", 1);
    else
        pp_cc_metric(l->cc, true, "requests_total", l->carrier->name, "result", why, 1);
}

static void call_done(const pp_http_response_t *resp, void *arg)
{
    pp_cc_call_t *c = arg;
    pp_cc_lane_t *l = c->lane;
    pp_cc_t *cc = l->cc;
    const pp_carrier_t *carrier = l->carrier;
    int64_t now = cc->now();
    char err[256] = "", msg[512];
    bool probe = c->probe, failure = false;
    c->probe = false;
    l->inflight--;
    observe_seconds(l, now - c->sent_ms);
    const char *why;
    pp_track_result_t *res = NULL;
    size_t n_res = 0;
    if (resp->err) {
        why = resp->err == PP_ETIMEOUT ? "timeout"
              : resp->err == PP_EAGAIN ? "aborted"
                                       : "transport_error";
        failure = resp->err != PP_EAGAIN;
        snprintf(msg, sizeof msg, "%s", resp->errmsg);
    } else if (resp->status == 401 && l->token) {
        why = "unauthorized";
        snprintf(msg, sizeof msg, "HTTP 401 again after a new token");
    } else {
        if (resp->status == 429)
            pp_cc_metric(cc, true, "carrier_rate_limited_total", carrier->name, NULL, NULL, 1);
        if (resp->status == 429 || (resp->status == 503 && resp->retry_after_s >= 0))
            pause_carrier(l, resp->status, resp->retry_after_s, now);
        int rc = pp_carrier_parse(carrier, resp->status, resp->body, resp->body_len, &res, &n_res,
                                  err, sizeof err);
        if (rc) {
            pp_track_results_free(res, n_res);
            res = NULL;
            n_res = 0;
            failure = resp->status >= 500 || (rc != PP_EHTTP && resp->status != 429);
            why = resp->status == 429   ? "rate_limited"
                  : resp->status >= 500 ? "http_5xx"
                  : rc == PP_EHTTP      ? "http_4xx"
                                        : "malformed";
            snprintf(msg, sizeof msg, "HTTP %d: %s: %s", resp->status, pp_strerror(rc),
                     err[0] ? err : "(no detail)");
        } else {
            why = "ok";
        }
    }
    if (strcmp(why, "ok") != 0)
        count_error(l, why);
    if (strcmp(why, "aborted") != 0)
        record_breaker(l, probe, !failure, now);
    else if (probe)
        l->breaker.probe_inflight = false; /* closing: nobody judged */
    count_result(l, why);
    if (strcmp(why, "unauthorized") == 0 && retry_unauthorized(c)) {
        pp_cc_lane_arm(l, 0);
        return;
    }
    if (strcmp(why, "ok") == 0) {
        pp_cc_result_t r = {.outcome = PP_CC_ANSWERED,
                            .why = why,
                            .http_status = resp->status,
                            .retry_after_s = -1,
                            .wait_ms = -1,
                            .results = res,
                            .n_results = n_res};
        complete(c, &r);
    } else {
        cc->stats.failures++;
        fail(c, why, msg, resp->status, resp->err ? -1 : resp->retry_after_s);
    }
    pp_track_results_free(res, n_res);
    if (!cc->closing)
        pump(l);
}

/* ---- sending --------------------------------------------------------------------------- */

static void send_call(pp_cc_lane_t *l, pp_cc_call_t *c, int64_t now, bool probe)
{
    pp_cc_t *cc = l->cc;
    const char *token = NULL;
    if (l->token) {
        int64_t w;
        token = pp_ctoken_get(l->token, NULL, now, &w, &c->token_gen);
    }
    c->sent = true;
    c->probe = probe;
    c->sent_ms = now;
    l->inflight++;
    pp_http_request_t req = {0};
    int rc = l->carrier->build_request(cc->o.cfg, token, (const char *const *)c->numbers, c->n, &req);
    if (rc == PP_OK)
        rc = pp_httpc_send(cc->http, &req, cc->o.timeout_ms, call_done, c);
    pp_http_request_free(&req);
    if (rc) {
        char msg[128];
        snprintf(msg, sizeof msg, "cannot start the request: %s", pp_strerror(rc));
        pp_warnk(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)), "%s: carrier %s: %s (%zu numbers)",
                 cc->o.who, l->carrier->name, msg, c->n);
        l->inflight--;
        if (probe)
            l->breaker.probe_inflight = false;
        pp_cc_metric(cc, true, "requests_total", l->carrier->name, "result", "request_error", 1);
        count_error(l, "request_error");
        cc->stats.failures++;
        fail(c, "request_error", msg, 0, -1); /* a request taken from the share is given back */
        return;
    }
    c->paid = PP_CC_UNPAID; /* the request taken from the share (or granted) is spent now */
    cc->stats.requests++;
    count_sent(l);
    pp_cc_metric_kept(cc, &l->m_numbers, true, "request_numbers_total", l->carrier->name, NULL,
                      NULL, (double)c->n);
    pp_cc_day_spend(l);
    pp_cc_day_count(l);
}

/* The first call that may go now (a bot's call waits for its take from the share). */
static pp_cc_call_t *first_ready(pp_cc_lane_t *l)
{
    bool take = pp_cc_day_needs_take(l);
    for (pp_cc_call_t *c = l->head; c; c = c->next)
        if (c->n > 0 && c->paid != PP_CC_TAKING && (!take || c->paid == PP_CC_PAID))
            return c;
    return NULL;
}

/* Send what the gates allow; refuse what cannot wait; arm the timer for the rest. */
static void pump(pp_cc_lane_t *l)
{
    pp_cc_t *cc = l->cc;
    while (l->head && !cc->closing) {
        int64_t now = cc->now(), wait;
        const char *reason = "";
        bool go = cc->http && !cc->draining && gate(l, now, &wait, &reason);
        int64_t earliest = triage(l, now, go, go ? 0 : wait, reason);
        if (cc->closing)
            return; /* a refusal's callback closed the client */
        if (!cc->http || cc->draining)
            go = false; /* ... or drained or aborted it */
        pp_cc_call_t *c = first_ready(l);
        if (!c)
            return; /* nothing left, or waiting for a take from the share (take_done wakes) */
        if (!go) {
            int64_t d = wait >= 0 && wait < RECHECK_MS * 10 ? wait : RECHECK_MS;
            pp_cc_lane_arm(l, earliest - now < d ? earliest - now : d);
            return;
        }
        bool probe;
        int64_t bw;
        if (!pp_breaker_allow(&l->breaker, now, &probe, &bw)) {
            pp_cc_lane_arm(l, RECHECK_MS);
            return;
        }
        if (probe) {
            pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                     "%s: carrier %s: circuit breaker half-open: one probe request", cc->o.who,
                     l->carrier->name);
            pp_cc_lane_breaker_gauge(l, now);
        }
        pp_bucket_take(&l->bucket, now);
        unlink_call(l, c);
        send_call(l, c, now, probe);
        pp_cc_budget_gauges(l);
    }
}

/* ---- tokens ---------------------------------------------------------------------------- */

void pp_cc_lane_token_cb(void *arg, bool ok, const char *why, long ttl_s, int64_t retry_in_ms)
{
    pp_cc_lane_t *l = arg;
    pp_cc_t *cc = l->cc;
    pp_cc_metric(cc, true, "token_refreshes_total", l->carrier->name, "result", ok ? "ok" : "error", 1);
    if (ok) {
        pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                 "%s: carrier %s: new access token (valid %ld s)", cc->o.who, l->carrier->name, ttl_s);
    } else {
        count_error(l, "token");
        pp_warnk(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                 "%s: carrier %s: token request failed (next try in %lld ms): %s", cc->o.who,
                 l->carrier->name, (long long)retry_in_ms, why);
        record_breaker(l, false, false, cc->now()); /* the carrier cannot be used without one */
    }
    pp_cc_lane_arm(l, 0);
}
