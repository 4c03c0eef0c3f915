/*
 * live.c - the bot's live carrier calls, all on the loop thread.
 *
 * A lookup is one carrier + number; an ask for a number already being looked up waits for
 * the same answer (coalescing), so it costs no request. Before a lookup's one request goes
 * out it passes, per carrier:
 *   1. the Retry-After pause: a 429 (or a 503 with Retry-After; seconds or HTTP date) pauses
 *      the carrier's live calls until then; a 429 without the header pauses PAUSE_DEFAULT_S,
 *      as the poller does. Nothing is sent before the pause ends; a lookup that cannot wait
 *      that long (bot_max_wait_ms) is answered at once.
 *   2. the circuit breaker (common/breaker.c, the poller's breaker_* keys): transport errors,
 *      timeouts, 5xx, unparseable answers and failed token requests are failures. While it
 *      is open nothing is sent and lookups are answered at once; half-open, one probe goes.
 *   3. the day share (quota.c): for a carrier with <carrier>_per_day > 0 the bot may use
 *      bot_day_share_pct % of it a UTC day. One request is taken from carrier_usage under a
 *      row lock before the call, so every pp-bot process counts against the same share; a
 *      request taken and then not sent is given back. The share is also reserved in the
 *      fleet's row every sync (pp_bot_live_sync), so the pollers' split leaves it alone.
 *      Carriers without a day quota are only counted, after the call.
 *   4. the access token (UPS, GLS: fetched once at a time, refreshed at 90 % of its life or
 *      after a 401) and a token bucket at the bot's share of <carrier>_rps: the fleet-wide
 *      rate is split between the live pollers and bots (workers table, counted every sync).
 * A lookup still waiting after bot_max_wait_ms is answered "try later".
 */
#include "live.h"
#include "breaker.h"
#include "budget.h"
#include "carriers/numbers.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "quota.h"
#include "timeutil.h"
#include "worker.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CARRIERS 16
/* Re-check period while a half-open breaker's probe is out. */
#define RECHECK_MS 50
/* Pause after a 429 without Retry-After (the poller's fallback). */
#define PAUSE_DEFAULT_S 1

typedef struct crt crt_t;
typedef struct lookup lookup_t;

typedef struct waiter {
    struct waiter *next;
    pp_bot_live_cb cb;
    void *arg;
} waiter_t;

struct lookup {
    lookup_t *next;  /* in lv->lookups */
    lookup_t *qnext; /* in the carrier's send queue */
    crt_t *rt;
    char number[PP_NUMBER_MAX];
    waiter_t *waiters;
    int64_t started_ms;
    long long paid_day; /* UTC day of a request taken from the share and not sent yet; -1 none */
    bool retried, probe;
    const char *why; /* while being refused by sweep() */
};

struct crt {
    pp_bot_live_t *lv;
    const pp_carrier_t *carrier;
    long rps, per_day, share;
    pp_bucket_t bucket;
    pp_breaker_t breaker;
    int64_t paused_until_ms; /* monotonic; nothing is sent before */
    uv_timer_t timer;
    int64_t timer_due_ms; /* 0 = not armed */
    lookup_t *qhead, *qtail;
    char *token;
    int64_t token_expires_ms, token_refresh_ms, token_retry_ms;
    bool token_busy;
    long long spent_day;  /* UTC day the share was found used up; -1 = not known */
    long long logged_day; /* UTC day the "no share left" line was logged */
};

typedef enum { JOB_TAKE, JOB_UNTAKE, JOB_COUNT, JOB_RESERVE, JOB_RELEASE } job_kind_t;

typedef struct quota_job {
    pp_bot_live_t *lv;
    crt_t *rt;
    lookup_t *l; /* JOB_TAKE */
    job_kind_t kind;
    char carrier[32], day[16];
    long long day_no;
    long per_day, share;
    pp_bot_quota_verdict_t verdict;
    pp_bot_quota_rows_t rows;
} quota_job_t;

struct pp_bot_live {
    const pp_config_t *cfg;
    uv_loop_t *loop;
    pp_metrics_t *m;
    pp_db_t *db;
    pp_httpc_t *http; /* NULL once aborted or closed */
    crt_t rt[MAX_CARRIERS];
    size_t n_rt;
    lookup_t *lookups;
    long n_lookups;
    int syncs;         /* reserve jobs in flight */
    int sharers;       /* live pollers + bots splitting each <carrier>_rps (this bot counts); 0 = not counted yet */
    bool sharers_busy;
    int sync_failures; /* in a row; logged on the first and on recovery */
    pp_bot_live_stats_t st;
};

static void pump(crt_t *rt);
static void take_quota(lookup_t *l);

/* ---- metrics ---------------------------------------------------------------------------- */

static void metric(pp_bot_live_t *lv, bool counter, const char *family, const char *carrier,
                   const char *l2, const char *v2, double v)
{
    char s[256];
    if (l2)
        snprintf(s, sizeof s, "%s{carrier=\"%s\",%s=\"%s\"}", family, carrier, l2, v2);
    else
        snprintf(s, sizeof s, "%s{carrier=\"%s\"}", family, carrier);
    if (counter)
        pp_metrics_add(lv->m, s, v);
    else
        pp_metrics_set(lv->m, s, v);
}

static void breaker_gauge(crt_t *rt, int64_t now)
{
    metric(rt->lv, false, "pp_bot_breaker_state", rt->carrier->name, NULL, NULL,
           (double)pp_breaker_state(&rt->breaker, now));
}

/* ---- answering -------------------------------------------------------------------------- */

static void lookup_unlink(pp_bot_live_t *lv, lookup_t *l)
{
    for (lookup_t **p = &lv->lookups; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            lv->n_lookups--;
            return;
        }
}

static void submit_job(crt_t *rt, job_kind_t kind, long long day, lookup_t *l);

/* Answer every waiter and free the lookup (a request taken and not sent is given back). */
static void lookup_answer(lookup_t *l, const pp_bot_live_answer_t *a)
{
    crt_t *rt = l->rt;
    pp_bot_live_t *lv = rt->lv;
    lookup_unlink(lv, l);
    if (l->paid_day >= 0)
        submit_job(rt, JOB_UNTAKE, l->paid_day, NULL);
    waiter_t *w = l->waiters;
    free(l);
    while (w) {
        waiter_t *n = w->next;
        w->cb(w->arg, a);
        free(w);
        w = n;
    }
}

/* Answer without a call: why is the metric label (quota, breaker, paused, budget, ...). */
static void refuse(lookup_t *l, pp_bot_live_outcome_t o, const char *why)
{
    crt_t *rt = l->rt;
    pp_bot_live_t *lv = rt->lv;
    if (o == PP_BOT_LIVE_QUOTA)
        lv->st.refused_quota++;
    else if (o == PP_BOT_LIVE_BREAKER)
        lv->st.refused_breaker++;
    else if (strcmp(why, "paused") == 0)
        lv->st.refused_paused++;
    else
        lv->st.refused_other++;
    metric(lv, true, "pp_bot_live_refused_total", rt->carrier->name, "reason", why, 1);
    pp_bot_live_answer_t a = {.outcome = o, .why = why};
    if (o == PP_BOT_LIVE_QUOTA)
        a.quota_resets_at = (time_t)((pp_budget_utc_day(pp_now_ms()) + 1) * 86400);
    lookup_answer(l, &a);
}

/* ---- the day share (database jobs) ------------------------------------------------------ */

static int job_work(PGconn *conn, void *arg)
{
    quota_job_t *j = arg;
    switch (j->kind) {
    case JOB_TAKE:
        return pp_bot_quota_take(conn, j->carrier, j->day, j->per_day, j->share, &j->verdict, &j->rows);
    case JOB_COUNT:
        return pp_bot_quota_take(conn, j->carrier, j->day, 0, 0, &j->verdict, &j->rows);
    case JOB_UNTAKE:
        return pp_bot_quota_untake(conn, j->carrier, j->day, 1);
    case JOB_RESERVE:
        return pp_bot_quota_reserve(conn, j->carrier, j->day, j->per_day, j->share, &j->rows);
    case JOB_RELEASE:
        return pp_bot_quota_release(conn, j->carrier, j->day);
    }
    return PP_EINVAL;
}

static void share_used_gauge(crt_t *rt, const pp_bot_quota_rows_t *rows)
{
    metric(rt->lv, false, "pp_bot_day_used", rt->carrier->name, NULL, NULL, (double)rows->bot_requests);
}

static void take_done(quota_job_t *j, int rc)
{
    crt_t *rt = j->rt;
    lookup_t *l = j->l;
    const char *name = rt->carrier->name;
    if (rc) {
        pp_warn("bot: carrier %s number %s: cannot take a request from the bot's day share in "
                "carrier_usage: %s; live call refused (is the database reachable?)",
                name, l->number, pp_strerror(rc));
        refuse(l, PP_BOT_LIVE_UNAVAILABLE, "database");
        return;
    }
    share_used_gauge(rt, &j->rows);
    if (j->verdict == PP_BOT_QUOTA_GRANTED) {
        l->paid_day = j->day_no;
        l->qnext = NULL;
        if (rt->qtail)
            rt->qtail->qnext = l;
        else
            rt->qhead = l;
        rt->qtail = l;
        pump(rt);
        return;
    }
    if (j->verdict == PP_BOT_QUOTA_SPENT)
        rt->spent_day = j->day_no;
    if (rt->logged_day != j->day_no) {
        rt->logged_day = j->day_no;
        if (j->verdict == PP_BOT_QUOTA_SPENT)
            pp_info("bot: carrier %s: the bot's day share is used up (%lld of %ld requests, "
                    "bot_day_share_pct %ld of %s_per_day %ld); live calls refused until 00:00 UTC",
                    name, j->rows.bot_requests, rt->share, rt->lv->cfg->bot_day_share_pct, name,
                    rt->per_day);
        else
            pp_warn("bot: carrier %s: the fleet has reserved %lld of %s_per_day %ld, no room for "
                    "the rest of the bot's share (%lld of %ld reserved, all used); live calls "
                    "refused while it stays so",
                    name, j->rows.fleet_reserved, name, rt->per_day, j->rows.bot_reserved, rt->share);
    }
    refuse(l, PP_BOT_LIVE_QUOTA, "quota");
}

static void job_done(int rc, void *arg)
{
    quota_job_t *j = arg;
    crt_t *rt = j->rt;
    switch (j->kind) {
    case JOB_TAKE:
        take_done(j, rc);
        break;
    case JOB_RESERVE:
        rt->lv->syncs--;
        if (rc && rt->lv->sync_failures++ == 0)
            pp_warn("bot: carrier %s: cannot reserve the bot's day share in carrier_usage: %s "
                    "(retried every heartbeat; logged again when it recovers)",
                    rt->carrier->name, pp_strerror(rc));
        if (!rc && rt->lv->sync_failures > 0) {
            pp_info("bot: day-share reservation in carrier_usage works again after %d failures",
                    rt->lv->sync_failures);
            rt->lv->sync_failures = 0;
        }
        if (!rc)
            share_used_gauge(rt, &j->rows);
        break;
    default:
        if (rc)
            pp_warn("bot: carrier %s: carrier_usage update (%s) failed: %s; the bot's count "
                    "may be off by one request until the next UTC day",
                    rt->carrier->name,
                    j->kind == JOB_UNTAKE  ? "give back an unsent request"
                    : j->kind == JOB_COUNT ? "count a request"
                                           : "release the unused day share",
                    pp_strerror(rc));
        break;
    }
    free(j);
}

static void submit_job(crt_t *rt, job_kind_t kind, long long day, lookup_t *l)
{
    pp_bot_live_t *lv = rt->lv;
    quota_job_t *j = calloc(1, sizeof *j);
    int rc = PP_ENOMEM;
    if (j) {
        j->lv = lv;
        j->rt = rt;
        j->l = l;
        j->kind = kind;
        j->day_no = day;
        j->per_day = rt->per_day;
        j->share = rt->share;
        snprintf(j->carrier, sizeof j->carrier, "%s", rt->carrier->name);
        pp_bot_quota_day_text(day, j->day);
        rc = pp_db_submit(lv->db, job_work, job_done, j);
    }
    if (rc == 0) {
        if (kind == JOB_RESERVE)
            lv->syncs++;
        return;
    }
    free(j);
    if (kind == JOB_TAKE) {
        pp_warn("bot: carrier %s number %s: cannot queue the day-share check: %s; live call refused",
                rt->carrier->name, l->number, pp_strerror(rc));
        refuse(l, PP_BOT_LIVE_UNAVAILABLE, "database");
    } else if (kind != JOB_RESERVE) {
        pp_warn("bot: carrier %s: cannot queue a carrier_usage update: %s", rt->carrier->name,
                pp_strerror(rc));
    }
}

/* Carriers with a day quota: take a request from the share first; others: queue it. */
static void take_quota(lookup_t *l)
{
    crt_t *rt = l->rt;
    if (rt->per_day <= 0) {
        l->qnext = NULL;
        if (rt->qtail)
            rt->qtail->qnext = l;
        else
            rt->qhead = l;
        rt->qtail = l;
        pump(rt);
        return;
    }
    long long today = pp_budget_utc_day(pp_now_ms());
    if (rt->share <= 0 || rt->spent_day == today) {
        refuse(l, PP_BOT_LIVE_QUOTA, "quota");
        return;
    }
    submit_job(rt, JOB_TAKE, today, l);
}

/* ---- the carrier's answer --------------------------------------------------------------- */

static void record_breaker(crt_t *rt, bool probe, bool ok, int64_t now)
{
    pp_breaker_state_t before = pp_breaker_state(&rt->breaker, now);
    if (pp_breaker_record(&rt->breaker, probe, ok, now)) {
        pp_breaker_state_t after = pp_breaker_state(&rt->breaker, now);
        if (after == PP_BREAKER_OPEN)
            pp_warn("bot: carrier %s: circuit breaker %s for %lld ms: no live calls meanwhile, "
                    "asks answered from Postgres where the parcel is known",
                    rt->carrier->name,
                    before == PP_BREAKER_CLOSED ? "opened" : "probe failed, open again",
                    (long long)rt->breaker.cur_cooldown_ms);
        else if (after == PP_BREAKER_CLOSED)
            pp_info("bot: carrier %s: probe succeeded, circuit breaker closed", rt->carrier->name);
    }
    breaker_gauge(rt, now);
}

static void pause_carrier(crt_t *rt, int status, long retry_after_s, int64_t now)
{
    /* +1: pp_mono_ms() truncates, the pause must not end before the carrier's moment */
    int64_t ms = retry_after_s >= 0 ? (int64_t)retry_after_s * 1000 + 1 : PAUSE_DEFAULT_S * 1000;
    metric(rt->lv, true, "pp_bot_carrier_paused_total", rt->carrier->name, NULL, NULL, 1);
    if (now + ms <= rt->paused_until_ms)
        return;
    rt->paused_until_ms = now + ms;
    if (retry_after_s >= 0)
        pp_info("bot: carrier %s: HTTP %d with Retry-After %ld s: live calls paused for %lld ms",
                rt->carrier->name, status, retry_after_s, (long long)ms);
    else
        pp_info("bot: carrier %s: HTTP %d without Retry-After: live calls paused for %lld ms",
                rt->carrier->name, status, (long long)ms);
}

static void track_done(const pp_http_response_t *resp, void *arg)
{
    lookup_t *l = arg;
    crt_t *rt = l->rt;
    pp_bot_live_t *lv = rt->lv;
    const pp_carrier_t *c = rt->carrier;
    int64_t now = pp_mono_ms();
    bool probe = l->probe, judged = true, failure = false;
    const char *result;
    pp_track_result_t *res = NULL, none = {.found = false};
    const pp_track_result_t *r = NULL;
    size_t n = 0;
    l->probe = false;
    if (resp->err) {
        judged = failure = resp->err != PP_EAGAIN;
        result = resp->err == PP_ETIMEOUT  ? "timeout"
                 : resp->err == PP_EAGAIN ? "stopping"
                                          : "transport_error";
        if (judged)
            pp_warn("bot: carrier %s number %s: %s", c->name, l->number, resp->errmsg);
    } else if (resp->status == 401 && c->build_auth_request && !l->retried) {
        result = "unauthorized";
    } else {
        char err[256] = "";
        if (resp->status == 429 || (resp->status == 503 && resp->retry_after_s >= 0))
            pause_carrier(rt, resp->status, resp->retry_after_s, now);
        int rc = pp_carrier_parse(c, resp->status, resp->body, resp->body_len, &res, &n, err, sizeof err);
        if (rc) {
            failure = resp->status >= 500 || (rc != PP_EHTTP && resp->status != 429);
            result = resp->status == 429   ? "rate_limited"
                     : resp->status >= 500 ? "http_5xx"
                     : rc == PP_EPARSE     ? "malformed"
                                           : "http_error";
            if (resp->status != 429)
                pp_warn("bot: carrier %s number %s: HTTP %d: %s: %s", c->name, l->number,
                        resp->status, pp_strerror(rc), err[0] ? err : "(no detail)");
        } else {
            /* the poller's rule: the number asked, or the one result of an answer that does
             * not repeat the number (never another parcel's result) */
            for (size_t i = 0; i < n; i++)
                if (strcasecmp(res[i].tracking_number, l->number) == 0 ||
                    (n == 1 && res[i].tracking_number[0] == '\0'))
                    r = &res[i];
            if (!r)
                r = &none;
            result = r->found ? "ok" : "not_found";
        }
    }
    metric(lv, true, "pp_bot_live_calls_total", c->name, "result", result, 1);
    if (judged)
        record_breaker(rt, probe, !failure, now);
    else if (probe)
        rt->breaker.probe_inflight = false; /* aborted: nobody judged */
    if (strcmp(result, "unauthorized") == 0) {
        /* token revoked or expired early: a new one, and the call once more (a new request) */
        free(rt->token);
        rt->token = NULL;
        l->retried = true;
        take_quota(l);
        return;
    }
    if (r) {
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_ANSWERED, .why = result, .r = r};
        lookup_answer(l, &a);
    } else {
        if (judged)
            lv->st.failed++;
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE, .why = result};
        lookup_answer(l, &a);
    }
    pp_track_results_free(res, n);
    pump(rt);
}

/* ---- access tokens ---------------------------------------------------------------------- */

static void token_done(const pp_http_response_t *resp, void *arg)
{
    crt_t *rt = arg;
    pp_bot_live_t *lv = rt->lv;
    rt->token_busy = false;
    if (resp->err == PP_EAGAIN)
        return;
    char err[256] = "", *tok = NULL;
    long ttl = 0;
    int rc = resp->err ? resp->err
                       : pp_carrier_read_token(rt->carrier, resp->status, resp->body, resp->body_len,
                                               &tok, &ttl, err, sizeof err);
    int64_t now = pp_mono_ms();
    if (rc) {
        pp_warn("bot: carrier %s: token request failed: HTTP %d: %s %s; queued asks answered "
                "\"try later\", next token request in 1 s",
                rt->carrier->name, resp->status, resp->err ? resp->errmsg : pp_strerror(rc), err);
        metric(lv, true, "pp_bot_token_refreshes_total", rt->carrier->name, "result", "error", 1);
        rt->token_retry_ms = now + 1000;
        record_breaker(rt, false, false, now); /* the carrier cannot be used without a token */
        /* the queued lookups cannot go without a token */
        lookup_t *q = rt->qhead;
        rt->qhead = rt->qtail = NULL;
        while (q) {
            lookup_t *next = q->qnext;
            refuse(q, PP_BOT_LIVE_UNAVAILABLE, "token");
            q = next;
        }
        return;
    }
    free(rt->token);
    rt->token = tok;
    rt->token_expires_ms = now + ttl * 1000;
    rt->token_refresh_ms = now + ttl * 900;
    metric(lv, true, "pp_bot_token_refreshes_total", rt->carrier->name, "result", "ok", 1);
    pump(rt);
}

static void token_fetch(crt_t *rt)
{
    pp_bot_live_t *lv = rt->lv;
    if (rt->token_busy || !lv->http)
        return;
    pp_http_request_t req = {0};
    int rc = rt->carrier->build_auth_request(lv->cfg, &req);
    if (rc == 0)
        rc = pp_httpc_send(lv->http, &req, lv->cfg->bot_carrier_timeout_ms, token_done, rt);
    pp_http_request_free(&req);
    if (rc) {
        pp_warn("bot: carrier %s: cannot start the token request: %s (retried in 1 s)",
                rt->carrier->name, pp_strerror(rc));
        rt->token_retry_ms = pp_mono_ms() + 1000;
        return;
    }
    rt->token_busy = true;
}

/* ---- the send queue --------------------------------------------------------------------- */

static void rt_timer_cb(uv_timer_t *t)
{
    crt_t *rt = t->data;
    rt->timer_due_ms = 0;
    pump(rt);
}

static void arm(crt_t *rt, int64_t now, int64_t delay)
{
    if (delay < 1)
        delay = 1;
    if (rt->timer_due_ms && rt->timer_due_ms <= now + delay)
        return;
    rt->timer_due_ms = now + delay;
    uv_timer_start(&rt->timer, rt_timer_cb, (uint64_t)delay, 0);
}

/*
 * Answer now every queued lookup that cannot be sent within its wait (or at all: stopping,
 * breaker open). Returns the earliest deadline of those left (INT64_MAX if none).
 */
static int64_t sweep(crt_t *rt, int64_t now)
{
    pp_bot_live_t *lv = rt->lv;
    bool open = pp_breaker_state(&rt->breaker, now) == PP_BREAKER_OPEN;
    bool paused = rt->paused_until_ms > now;
    lookup_t *keep = NULL, **ktail = &keep, *drop = NULL, *last = NULL;
    int64_t earliest = INT64_MAX;
    for (lookup_t *l = rt->qhead, *next; l; l = next) {
        next = l->qnext;
        int64_t deadline = l->started_ms + lv->cfg->bot_max_wait_ms;
        l->why = !lv->http                                         ? "stopping"
                 : open                                            ? "breaker"
                 : paused && rt->paused_until_ms > deadline        ? "paused"
                 : now < deadline                                  ? NULL
                 : rt->breaker.probe_inflight                      ? "breaker"
                 : rt->carrier->build_auth_request && !rt->token   ? "token"
                                                                   : "budget";
        if (l->why) {
            l->qnext = drop;
            drop = l;
            continue;
        }
        l->qnext = NULL;
        *ktail = l;
        ktail = &l->qnext;
        last = l;
        if (deadline < earliest)
            earliest = deadline;
    }
    rt->qhead = keep;
    rt->qtail = last;
    while (drop) { /* the queue is consistent again: callbacks may run */
        lookup_t *next = drop->qnext;
        bool breaker = strcmp(drop->why, "breaker") == 0;
        refuse(drop, breaker ? PP_BOT_LIVE_BREAKER : PP_BOT_LIVE_UNAVAILABLE, drop->why);
        drop = next;
    }
    return earliest;
}

static void send_lookup(lookup_t *l, bool probe)
{
    crt_t *rt = l->rt;
    pp_bot_live_t *lv = rt->lv;
    const char *nums[1] = {l->number};
    pp_http_request_t req = {0};
    int rc = rt->carrier->build_request(lv->cfg, rt->token, nums, 1, &req);
    if (rc == 0)
        rc = pp_httpc_send(lv->http, &req, lv->cfg->bot_carrier_timeout_ms, track_done, l);
    pp_http_request_free(&req);
    if (rc) {
        pp_warn("bot: carrier %s number %s: cannot start the request: %s", rt->carrier->name,
                l->number, pp_strerror(rc));
        if (probe)
            rt->breaker.probe_inflight = false;
        refuse(l, PP_BOT_LIVE_UNAVAILABLE, "request_error");
        return;
    }
    l->probe = probe;
    l->paid_day = -1; /* the request taken from the share is spent now */
    lv->st.calls++;
    if (rt->per_day <= 0)
        submit_job(rt, JOB_COUNT, pp_budget_utc_day(pp_now_ms()), NULL);
}

/* Send queued lookups as the pause, the breaker, the token and the bucket allow. */
static void pump(crt_t *rt)
{
    pp_bot_live_t *lv = rt->lv;
    for (;;) {
        int64_t now = pp_mono_ms();
        int64_t earliest = sweep(rt, now);
        lookup_t *l = rt->qhead;
        if (!l)
            return;
        int64_t wait = -1;
        if (rt->paused_until_ms > now) {
            wait = rt->paused_until_ms - now;
        } else if (rt->breaker.probe_inflight) {
            wait = RECHECK_MS;
        } else if (rt->carrier->build_auth_request) {
            if (!rt->token || now >= rt->token_expires_ms) {
                if (now < rt->token_retry_ms) {
                    wait = rt->token_retry_ms - now;
                } else {
                    token_fetch(rt); /* token_done pumps */
                    wait = rt->token_busy ? earliest - now : rt->token_retry_ms - now;
                }
            } else if (now >= rt->token_refresh_ms) {
                token_fetch(rt); /* the current token is still valid meanwhile */
            }
        }
        if (wait < 0)
            wait = pp_bucket_wait_ms(&rt->bucket, now);
        if (wait > 0) {
            arm(rt, now, wait < earliest - now ? wait : earliest - now);
            return;
        }
        bool probe;
        int64_t bw;
        if (!pp_breaker_allow(&rt->breaker, now, &probe, &bw)) {
            arm(rt, now, RECHECK_MS);
            return;
        }
        if (probe) {
            pp_info("bot: carrier %s: circuit breaker half-open: one probe call", rt->carrier->name);
            breaker_gauge(rt, now);
        }
        pp_bucket_take(&rt->bucket, now);
        rt->qhead = l->qnext;
        if (!rt->qhead)
            rt->qtail = NULL;
        l->qnext = NULL;
        send_lookup(l, probe);
        if (!lv->http)
            return;
    }
}

/* ---- public ----------------------------------------------------------------------------- */

void pp_bot_live_ask(pp_bot_live_t *lv, const char *carrier, const char *number, pp_bot_live_cb cb,
                     void *arg)
{
    crt_t *rt = NULL;
    for (size_t i = 0; i < lv->n_rt && !rt; i++)
        if (strcmp(lv->rt[i].carrier->name, carrier) == 0)
            rt = &lv->rt[i];
    waiter_t *w = calloc(1, sizeof *w);
    if (!rt || !w) {
        free(w);
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE,
                                  .why = rt ? "nomem" : "unknown_carrier"};
        cb(arg, &a);
        return;
    }
    w->cb = cb;
    w->arg = arg;
    lv->st.lookups++;
    for (lookup_t *l = lv->lookups; l; l = l->next)
        if (l->rt == rt && strcmp(l->number, number) == 0) {
            w->next = l->waiters;
            l->waiters = w;
            lv->st.coalesced++;
            metric(lv, true, "pp_bot_live_coalesced_total", carrier, NULL, NULL, 1);
            return;
        }
    lookup_t *l = calloc(1, sizeof *l);
    if (!l) {
        free(w);
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE, .why = "nomem"};
        cb(arg, &a);
        return;
    }
    l->rt = rt;
    l->waiters = w;
    l->paid_day = -1;
    l->started_ms = pp_mono_ms();
    snprintf(l->number, sizeof l->number, "%s", number);
    l->next = lv->lookups;
    lv->lookups = l;
    lv->n_lookups++;
    /* Known at once, before anything is spent: stopping, breaker open, paused too long. */
    int64_t now = l->started_ms;
    if (!lv->http)
        refuse(l, PP_BOT_LIVE_UNAVAILABLE, "stopping");
    else if (pp_breaker_state(&rt->breaker, now) == PP_BREAKER_OPEN)
        refuse(l, PP_BOT_LIVE_BREAKER, "breaker");
    else if (rt->paused_until_ms > now + lv->cfg->bot_max_wait_ms)
        refuse(l, PP_BOT_LIVE_UNAVAILABLE, "paused");
    else
        take_quota(l);
}

/* ---- the per-second budget: split with the live pollers (workers table) ---------------- */

typedef struct sharers_job {
    pp_bot_live_t *lv;
    long window_ms;
    int pollers, sharers;
} sharers_job_t;

static int sharers_work(PGconn *conn, void *arg)
{
    sharers_job_t *j = arg;
    return pp_worker_live_counts(conn, j->window_ms, &j->pollers, &j->sharers);
}

static void sharers_done(int rc, void *arg)
{
    sharers_job_t *j = arg;
    pp_bot_live_t *lv = j->lv;
    lv->sharers_busy = false;
    if (!rc && j->sharers != lv->sharers) {
        pp_info("bot: %d live pollers and bots share each carrier's per-second budget", j->sharers);
        lv->sharers = j->sharers;
        int64_t now = pp_mono_ms();
        for (size_t i = 0; i < lv->n_rt; i++)
            pp_bucket_set_rate(&lv->rt[i].bucket, pp_budget_share(lv->rt[i].rps, lv->sharers), now);
    }
    free(j);
}

static void sync_sharers(pp_bot_live_t *lv)
{
    sharers_job_t *j;
    if (lv->sharers_busy || !(j = calloc(1, sizeof *j)))
        return;
    j->lv = lv;
    j->window_ms = lv->cfg->heartbeat_interval_ms * 3;
    if (pp_db_submit(lv->db, sharers_work, sharers_done, j) == PP_OK)
        lv->sharers_busy = true;
    else
        free(j);
}

void pp_bot_live_sync(pp_bot_live_t *lv)
{
    if (lv->http)
        sync_sharers(lv);
    if (lv->syncs > 0 || !lv->http)
        return;
    long long today = pp_budget_utc_day(pp_now_ms());
    for (size_t i = 0; i < lv->n_rt; i++) {
        crt_t *rt = &lv->rt[i];
        if (rt->per_day > 0 && rt->share > 0)
            submit_job(rt, JOB_RESERVE, today, NULL);
        breaker_gauge(rt, pp_mono_ms()); /* an open breaker turns half-open by itself */
    }
}

void pp_bot_live_release(pp_bot_live_t *lv)
{
    long long today = pp_budget_utc_day(pp_now_ms());
    for (size_t i = 0; i < lv->n_rt; i++)
        if (lv->rt[i].per_day > 0 && lv->rt[i].share > 0)
            submit_job(&lv->rt[i], JOB_RELEASE, today, NULL);
}

void pp_bot_live_abort(pp_bot_live_t *lv)
{
    if (!lv->http)
        return;
    pp_httpc_t *h = lv->http;
    lv->http = NULL;   /* pump() answers the queued lookups */
    pp_httpc_close(h); /* the calls in flight complete with PP_EAGAIN */
    for (size_t i = 0; i < lv->n_rt; i++)
        pump(&lv->rt[i]);
}

long pp_bot_live_pending(const pp_bot_live_t *lv) { return lv->n_lookups; }

void pp_bot_live_close(pp_bot_live_t *lv)
{
    if (lv->http) {
        pp_httpc_close(lv->http);
        lv->http = NULL;
    }
    for (size_t i = 0; i < lv->n_rt; i++)
        uv_timer_stop(&lv->rt[i].timer);
}

void pp_bot_live_stats(const pp_bot_live_t *lv, pp_bot_live_stats_t *out) { *out = lv->st; }

int pp_bot_live_init(pp_bot_live_t **out, const pp_config_t *cfg, uv_loop_t *loop, pp_metrics_t *m,
                     pp_db_t *db)
{
    pp_bot_live_t *lv = calloc(1, sizeof *lv);
    if (!lv)
        return PP_ENOMEM;
    lv->cfg = cfg;
    lv->loop = loop;
    lv->m = m;
    lv->db = db;
    pp_metrics_help(m, "pp_bot_live_calls_total", "counter",
                    "requests sent to carriers by the bot, by carrier and result");
    pp_metrics_help(m, "pp_bot_live_refused_total", "counter",
                    "lookups answered without a carrier call, by carrier and reason (quota, "
                    "breaker, paused, budget, token, database, stopping)");
    pp_metrics_help(m, "pp_bot_live_coalesced_total", "counter",
                    "asks that joined a live lookup already under way");
    pp_metrics_help(m, "pp_bot_breaker_state", "gauge",
                    "circuit breaker: 0 closed, 1 half-open, 2 open");
    pp_metrics_help(m, "pp_bot_carrier_paused_total", "counter",
                    "carrier answers that paused the bot's calls (429, 503 with Retry-After)");
    pp_metrics_help(m, "pp_bot_day_share", "gauge",
                    "requests a UTC day the bot may send (bot_day_share_pct of <carrier>_per_day; "
                    "-1 = no day quota)");
    pp_metrics_help(m, "pp_bot_day_used", "gauge",
                    "requests the bots sent today (carrier_usage, as of the last check)");
    pp_metrics_help(m, "pp_bot_token_refreshes_total", "counter",
                    "OAuth token requests, by carrier and result");
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    int64_t now = pp_mono_ms();
    for (size_t i = 0; i < n && i < MAX_CARRIERS; i++) {
        crt_t *rt = &lv->rt[lv->n_rt++];
        rt->lv = lv;
        rt->carrier = all[i];
        rt->spent_day = rt->logged_day = -1;
        pp_budget_limits(cfg, all[i]->name, &rt->rps, &rt->per_day);
        rt->share = pp_bot_quota_share(rt->per_day, cfg->bot_day_share_pct);
        /* Until the first count (the next heartbeat): as if one poller were live too. */
        pp_bucket_init(&rt->bucket, pp_budget_share(rt->rps, 2), 1, now);
        pp_breaker_init(&rt->breaker, (int)cfg->breaker_window, (int)cfg->breaker_min_requests,
                        (int)cfg->breaker_failure_pct, cfg->breaker_cooldown_ms,
                        cfg->breaker_cooldown_max_ms);
        uv_timer_init(loop, &rt->timer);
        rt->timer.data = rt;
        breaker_gauge(rt, now);
        metric(lv, false, "pp_bot_day_share", all[i]->name, NULL, NULL,
               rt->per_day > 0 ? (double)rt->share : -1);
        if (rt->per_day > 0)
            pp_info("bot: carrier %s: day share %ld of %s_per_day %ld (bot_day_share_pct %ld)%s, "
                    "%ld/s", all[i]->name, rt->share, all[i]->name, rt->per_day,
                    cfg->bot_day_share_pct, rt->share > 0 ? "" : ": no live calls", rt->rps);
    }
    int rc = pp_httpc_init(&lv->http, loop);
    if (rc) {
        pp_error("bot: cannot start the HTTP client: %s", pp_strerror(rc));
        *out = lv; /* the caller frees it */
        return rc;
    }
    *out = lv;
    return PP_OK;
}

void pp_bot_live_free(pp_bot_live_t *lv)
{
    if (!lv)
        return;
    while (lv->lookups) { /* nothing should be left once the loop has ended */
        lookup_t *l = lv->lookups;
        lv->lookups = l->next;
        while (l->waiters) {
            waiter_t *w = l->waiters;
            l->waiters = w->next;
            free(w);
        }
        free(l);
    }
    for (size_t i = 0; i < lv->n_rt; i++)
        free(lv->rt[i].token);
    free(lv);
}
