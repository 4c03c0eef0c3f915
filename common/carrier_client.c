/* carrier_client.c - the carrier client's public face: submit and add, drain, finish, close, init (carrier_client.h); the work per carrier is in carrier_lane.c. */
#include "carrier_client_internal.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pp_cc_lane_t *lane_of(const pp_cc_t *cc, const char *carrier)
{
    for (size_t i = 0; i < cc->n_lanes; i++)
        if (strcasecmp(cc->lanes[i].carrier->name, carrier) == 0)
            return &cc->lanes[i];
    return NULL;
}

int pp_cc_batch_max(const pp_cc_t *cc, const char *carrier)
{
    const pp_cc_lane_t *l = lane_of(cc, carrier);
    return l ? l->max_batch : 1;
}

pp_cc_call_t *pp_cc_submit(pp_cc_t *cc, const char *carrier, const char *number,
                           int64_t deadline_ms, pp_cc_done_cb cb, void *arg)
{
    pp_cc_lane_t *l = lane_of(cc, carrier);
    pp_cc_call_t *c = l && !cc->closing ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return NULL;
    c->lane = l;
    c->cb = cb;
    c->arg = arg;
    c->deadline_ms = deadline_ms;
    if (!pp_cc_add(c, number)) {
        pp_cc_call_free(c);
        return NULL;
    }
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->queued++;
    cc->pending++;
    pp_cc_lane_arm(l, 0);
    return c;
}

bool pp_cc_add(pp_cc_call_t *c, const char *number)
{
    if (c->sent || c->why)
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->numbers[i], number) == 0)
            return true;
    if ((int)c->n >= c->lane->max_batch)
        return false;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        char **a = realloc(c->numbers, nc * sizeof *a);
        if (!a)
            return false;
        c->numbers = a;
        c->cap = nc;
    }
    if (!(c->numbers[c->n] = strdup(number)))
        return false;
    c->n++;
    return true;
}

size_t pp_cc_call_size(const pp_cc_call_t *c) { return c->n; }

const pp_track_result_t *pp_cc_result_for(const pp_cc_result_t *r, const char *number, size_t n_numbers)
{
    const pp_track_result_t *any = NULL;
    for (size_t i = 0; i < r->n_results; i++)
        if (strcasecmp(r->results[i].tracking_number, number) == 0) {
            if (r->results[i].found)
                return &r->results[i];
            any = &r->results[i];
        }
    /* a one-number call whose answer does not repeat the number (never another parcel's) */
    if (!any && n_numbers == 1 && r->n_results == 1 && r->results[0].tracking_number[0] == '\0')
        any = &r->results[0];
    return any;
}

bool pp_cc_ready(const pp_cc_t *cc) { return cc->ready; }
long pp_cc_pending(const pp_cc_t *cc) { return cc->pending + cc->jobs; }
void pp_cc_stats(const pp_cc_t *cc, pp_cc_stats_t *out) { *out = cc->stats; }
int pp_cc_live_pollers(const pp_cc_t *cc) { return cc->live_pollers; }

/* Sum of the lane's recent slots in [from, to]. */
static pp_cc_recent_t recent_sum(const pp_cc_lane_t *l, long long from, long long to)
{
    pp_cc_recent_t t = {0};
    for (int i = 0; i < PP_CC_RECENT_SLOTS; i++)
        if (l->recent[i].slot >= from && l->recent[i].slot <= to) {
            t.requests += l->recent[i].requests;
            t.rate_limited += l->recent[i].rate_limited;
            t.errors += l->recent[i].errors;
        }
    return t;
}

int pp_cc_carriers_json(const pp_cc_t *cc, char *buf, size_t cap)
{
    static const char *const breaker[] = {"closed", "half_open", "open"};
    long long cur = cc->wall() / PP_CC_RECENT_SLOT_MS;
    int64_t now = cc->now();
    size_t len = 0;
    int n;
    if ((n = snprintf(buf, cap, "{")) < 0 || (size_t)n >= cap)
        return PP_EINVAL;
    len = (size_t)n;
    for (size_t i = 0; i < cc->n_lanes; i++) {
        const pp_cc_lane_t *l = &cc->lanes[i];
        pp_breaker_state_t bs = pp_breaker_state(&l->breaker, now);
        pp_cc_recent_t last_min = recent_sum(l, cur - 6, cur - 1); /* six whole slots: 60 s */
        pp_cc_recent_t last_5 = recent_sum(l, cur - PP_CC_RECENT_SLOTS + 1, cur);
        if (bs == PP_BREAKER_CLOSED && !last_5.requests && !last_5.rate_limited && !last_5.errors)
            continue; /* nothing to say: ppctl status reads a missing carrier as idle */
        n = snprintf(buf + len, cap - len,
                     "%s\"%s\":{\"breaker\":\"%s\",\"requests_60s\":%ld,"
                     "\"rate_limited_5m\":%ld,\"errors_5m\":%ld}",
                     len > 1 ? "," : "", l->carrier->name, breaker[bs], last_min.requests,
                     last_5.rate_limited, last_5.errors);
        if (n < 0 || (size_t)n >= cap - len)
            return PP_EINVAL;
        len += (size_t)n;
    }
    if (len + 2 > cap)
        return PP_EINVAL;
    memcpy(buf + len, "}", 2);
    return PP_OK;
}

void pp_cc_reconfigure(pp_cc_t *cc, long timeout_ms)
{
    const pp_config_t *cfg = cc->o.cfg;
    int64_t now = cc->now();
    cc->o.timeout_ms = timeout_ms;
    for (size_t i = 0; i < cc->n_lanes; i++) {
        pp_cc_lane_t *l = &cc->lanes[i];
        const pp_carrier_t *c = l->carrier;
        pp_budget_limits(cfg, c->name, &l->rps, &l->per_day);
        pp_bucket_set_rate(&l->bucket, pp_budget_share(l->rps, cc->sharers), now);
        l->max_batch = c->batch_limit ? c->batch_limit(cfg) : c->max_batch;
        if (l->max_batch < 1)
            l->max_batch = 1;
        pp_breaker_configure(&l->breaker, (int)cfg->breaker_window, (int)cfg->breaker_min_requests,
                             (int)cfg->breaker_failure_pct, cfg->breaker_cooldown_ms,
                             cfg->breaker_cooldown_max_ms);
        if (l->token) { /* its credentials may have changed: fetch a new one */
            pp_ctoken_set_timeout(l->token, timeout_ms);
            pp_ctoken_reset(l->token);
        }
        pp_cc_day_reconfigure(l);
        pp_cc_lane_wake(l);
    }
    pp_cc_day_restart_timer(cc);
}

void pp_cc_drain(pp_cc_t *cc)
{
    cc->draining = true;
    for (size_t i = 0; i < cc->n_lanes; i++)
        pp_cc_lane_arm(&cc->lanes[i], 0);
}

void pp_cc_abort(pp_cc_t *cc)
{
    pp_cc_drain(cc);
    if (!cc->http)
        return;
    pp_httpc_t *h = cc->http;
    cc->http = NULL;
    pp_httpc_close(h); /* the calls in flight complete "aborted", now */
}

void pp_cc_finish(pp_cc_t *cc, void (*done)(void *arg), void *arg)
{
    cc->finish_done = done;
    cc->finish_arg = arg;
    pp_cc_day_finish(cc);
}

static void closed_cb(uv_handle_t *h)
{
    pp_cc_t *cc = h->data;
    if (--cc->closes > 0)
        return;
    for (size_t i = 0; i < cc->n_lanes; i++)
        pp_ctoken_free(cc->lanes[i].token);
    free(cc->lanes);
    free(cc);
}

void pp_cc_close(pp_cc_t *cc)
{
    if (!cc || cc->closing)
        return;
    cc->closing = true; /* first: a callback of the abort below may call here again */
    pp_cc_abort(cc);
    for (size_t i = 0; i < cc->n_lanes; i++) {
        pp_cc_lane_t *l = &cc->lanes[i];
        while (l->head) { /* nothing should be queued by now: answered "stopping" */
            pp_cc_call_t *c = l->head;
            l->head = c->next;
            l->queued--;
            c->paid = PP_CC_UNPAID;
            pp_cc_lane_refuse(c, "stopping", 0);
        }
        uv_timer_stop(&l->timer);
        l->timer.data = cc;
        cc->closes++;
        uv_close((uv_handle_t *)&l->timer, closed_cb);
    }
    cc->closes++;
    pp_cc_day_close(cc, closed_cb); /* its data is cc */
}

int pp_cc_init(pp_cc_t **out, const pp_cc_opts_t *o)
{
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    const pp_config_t *cfg = o->cfg;
    pp_cc_t *cc = calloc(1, sizeof *cc);
    *out = NULL;
    if (!cc || !(cc->lanes = calloc(n ? n : 1, sizeof *cc->lanes))) {
        free(cc);
        return PP_ENOMEM;
    }
    cc->o = *o;
    cc->now = o->now_ms ? o->now_ms : pp_mono_ms;
    cc->wall = o->wall_ms ? o->wall_ms : pp_now_ms;
    cc->wake = pp_cc_lane_wake;
    cc->take_done = pp_cc_lane_take_done;
    cc->live_pollers = 1;
    cc->sharers = o->day_mode == PP_CC_DAY_BOT ? 2 : 1; /* until counted: a bot assumes one poller */
    pp_httpc_opts_t ho = {.ca_file = cfg->carrier_ca_file,
                          .http2 = cfg->carrier_http2,
                          .max_host_connections = cfg->carrier_max_connections};
    int rc = pp_httpc_init(&cc->http, o->loop, &ho);
    if (rc) {
        free(cc->lanes);
        free(cc);
        return rc;
    }
    pp_cc_help(cc, "requests_total", "counter", "carrier HTTP requests by carrier and result");
    pp_cc_help(cc, "request_seconds", "histogram", "carrier request latency");
    pp_cc_help(cc, "request_numbers_total", "counter",
               "tracking numbers sent (a request may carry many)");
    pp_cc_help(cc, "errors_total", "counter", "carrier call errors by carrier and kind");
    pp_cc_help(cc, "breaker_state", "gauge", "circuit breaker: 0 closed, 1 half-open, 2 open");
    pp_cc_help(cc, "carrier_paused_total", "counter",
               "carrier answers that paused the calls (429, 503 with Retry-After)");
    pp_cc_help(cc, "carrier_rate_limited_total", "counter",
               "HTTP 429 answers from the carrier (its rate limit hit)");
    pp_cc_help(cc, "token_refreshes_total", "counter", "access-token requests by carrier and result");
    pp_cc_day_help(cc);
    int64_t now = cc->now();
    for (size_t i = 0; i < n; i++) {
        pp_cc_lane_t *l = &cc->lanes[cc->n_lanes++];
        l->cc = cc;
        l->carrier = all[i];
        l->max_batch = all[i]->batch_limit ? all[i]->batch_limit(cfg) : all[i]->max_batch;
        if (l->max_batch < 1)
            l->max_batch = 1;
        pp_budget_limits(cfg, all[i]->name, &l->rps, &l->per_day);
        pp_bucket_init(&l->bucket, pp_budget_share(l->rps, cc->sharers), 1, now);
        pp_breaker_init(&l->breaker, (int)cfg->breaker_window, (int)cfg->breaker_min_requests,
                        (int)cfg->breaker_failure_pct, cfg->breaker_cooldown_ms,
                        cfg->breaker_cooldown_max_ms);
        if (all[i]->build_auth_request) {
            pp_ctoken_opts_t to = {.carrier = all[i],
                                   .cfg = cfg,
                                   .timeout_ms = o->timeout_ms,
                                   .now_ms = cc->now,
                                   .cb = pp_cc_lane_token_cb,
                                   .arg = l};
            if (!(l->token = pp_ctoken_new(&to)))
                return PP_ENOMEM; /* start-up: the process exits */
        }
        uv_timer_init(o->loop, &l->timer);
        l->timer.data = l;
        pp_cc_lane_breaker_gauge(l, now);
        pp_cc_metric(cc, true, "carrier_rate_limited_total", all[i]->name, NULL, NULL, 0);
        pp_cc_day_lane_init(l);
        pp_info("%s: carrier %s: %d numbers per request, fleet budget %ld/s %ld/day%s", o->who,
                all[i]->name, l->max_batch, l->rps, l->per_day,
                all[i]->build_auth_request ? ", access token" : "");
    }
    pp_cc_day_start(cc);
    *out = cc;
    return PP_OK;
}
