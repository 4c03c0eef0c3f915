/*
 * live.c - the bot's live carrier calls: its policy over the carrier client (common/carrier_client).
 *
 * A lookup is one carrier + number; an ask for a number already being looked up waits for
 * the same answer (coalescing), so it costs no request. Each lookup is one call with a
 * deadline of bot_max_wait_ms: the client's gates (Retry-After pause, circuit breaker, the
 * bots' day share in carrier_usage, access token, the bots' part of <carrier>_rps) send it
 * or refuse it, and a refusal is answered at once ("try later", quota, breaker).
 */
#include "live.h"
#include "carrier_client.h"
#include "carriers/numbers.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lookup lookup_t;

typedef struct waiter {
    struct waiter *next;
    pp_bot_live_cb cb;
    void *arg;
} waiter_t;

struct lookup {
    lookup_t *next; /* in lv->lookups */
    pp_bot_live_t *lv;
    char carrier[32];
    char number[PP_NUMBER_MAX];
    waiter_t *waiters;
};

struct pp_bot_live {
    const pp_config_t *cfg;
    pp_metrics_t *m;
    pp_cc_t *cc;
    lookup_t *lookups;
    long n_lookups;
    pp_bot_live_stats_t st;
};

static void metric(pp_bot_live_t *lv, const char *family, const char *carrier, const char *l2,
                   const char *v2)
{
    char s[256];
    if (l2)
        snprintf(s, sizeof s, "%s{carrier=\"%s\",%s=\"%s\"}", family, carrier, l2, v2);
    else
        snprintf(s, sizeof s, "%s{carrier=\"%s\"}", family, carrier);
    pp_metrics_add(lv->m, s, 1);
}

/* Answer every waiter and free the lookup. */
static void answer(lookup_t *l, const pp_bot_live_answer_t *a)
{
    pp_bot_live_t *lv = l->lv;
    for (lookup_t **p = &lv->lookups; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            lv->n_lookups--;
            break;
        }
    waiter_t *w = l->waiters;
    free(l);
    while (w) {
        waiter_t *n = w->next;
        w->cb(w->arg, a);
        free(w);
        w = n;
    }
}

static void refused(lookup_t *l, const pp_cc_result_t *r)
{
    pp_bot_live_t *lv = l->lv;
    pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE, .why = r->why};
    if (strcmp(r->why, "quota") == 0) {
        a.outcome = PP_BOT_LIVE_QUOTA;
        a.quota_resets_at = r->quota_resets_at;
        lv->st.refused_quota++;
    } else if (strcmp(r->why, "breaker") == 0) {
        a.outcome = PP_BOT_LIVE_BREAKER;
        lv->st.refused_breaker++;
    } else if (strcmp(r->why, "paused") == 0) {
        lv->st.refused_paused++;
    } else {
        lv->st.refused_other++;
    }
    metric(lv, "pp_bot_live_refused_total", l->carrier, "reason", r->why);
    answer(l, &a);
}

static void call_done(pp_cc_call_t *call, const pp_cc_result_t *r, void *arg)
{
    lookup_t *l = arg;
    (void)call;
    if (r->outcome == PP_CC_REFUSED) {
        refused(l, r);
        return;
    }
    if (r->outcome == PP_CC_FAILED) {
        bool aborted = strcmp(r->why, "aborted") == 0;
        if (!aborted) {
            l->lv->st.failed++;
            pp_warnk(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier)), "bot: carrier %s number %s: %s: %s",
                     l->carrier, l->number, r->why, r->detail ? r->detail : "");
        }
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE,
                                  .why = aborted ? "stopping" : r->why};
        answer(l, &a);
        return;
    }
    static const pp_track_result_t none = {.found = false};
    const pp_track_result_t *tr = pp_cc_result_for(r, l->number, 1);
    if (!tr)
        tr = &none;
    pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_ANSWERED,
                              .why = tr->found ? "ok" : "not_found",
                              .r = tr};
    answer(l, &a);
}

void pp_bot_live_ask(pp_bot_live_t *lv, const char *carrier, const char *number, pp_bot_live_cb cb,
                     void *arg)
{
    waiter_t *w = calloc(1, sizeof *w);
    if (!w) {
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE, .why = "nomem"};
        cb(arg, &a);
        return;
    }
    w->cb = cb;
    w->arg = arg;
    lv->st.lookups++;
    for (lookup_t *l = lv->lookups; l; l = l->next)
        if (strcmp(l->carrier, carrier) == 0 && strcmp(l->number, number) == 0) {
            w->next = l->waiters;
            l->waiters = w;
            lv->st.coalesced++;
            metric(lv, "pp_bot_live_coalesced_total", carrier, NULL, NULL);
            return;
        }
    lookup_t *l = calloc(1, sizeof *l);
    if (!l || !pp_cc_submit(lv->cc, carrier, number, pp_mono_ms() + lv->cfg->bot_max_wait_ms,
                            call_done, l)) {
        const char *why = l ? "unavailable" : "nomem";
        free(l);
        free(w);
        pp_bot_live_answer_t a = {.outcome = PP_BOT_LIVE_UNAVAILABLE, .why = why};
        cb(arg, &a);
        return;
    }
    l->lv = lv;
    l->waiters = w;
    snprintf(l->carrier, sizeof l->carrier, "%s", carrier);
    snprintf(l->number, sizeof l->number, "%s", number);
    l->next = lv->lookups;
    lv->lookups = l;
    lv->n_lookups++;
}

void pp_bot_live_reconfigure(pp_bot_live_t *lv)
{
    pp_cc_reconfigure(lv->cc, lv->cfg->bot_carrier_timeout_ms);
}
void pp_bot_live_release(pp_bot_live_t *lv) { pp_cc_finish(lv->cc, NULL, NULL); }
void pp_bot_live_abort(pp_bot_live_t *lv) { pp_cc_abort(lv->cc); }
long pp_bot_live_pending(const pp_bot_live_t *lv) { return lv->n_lookups; }

void pp_bot_live_close(pp_bot_live_t *lv)
{
    pp_cc_close(lv->cc); /* frees itself in its close callbacks */
    lv->cc = NULL;
}

int pp_bot_live_carriers_json(const pp_bot_live_t *lv, char *buf, size_t cap)
{
    return lv && lv->cc ? pp_cc_carriers_json(lv->cc, buf, cap) : PP_EINVAL;
}

void pp_bot_live_stats(const pp_bot_live_t *lv, pp_bot_live_stats_t *out)
{
    *out = lv->st;
    pp_cc_stats_t s = {0};
    if (lv->cc)
        pp_cc_stats(lv->cc, &s);
    out->calls = s.requests;
}

int pp_bot_live_init(pp_bot_live_t **out, const pp_config_t *cfg, uv_loop_t *loop, pp_metrics_t *m,
                     pp_db_t *db)
{
    pp_bot_live_t *lv = calloc(1, sizeof *lv);
    *out = lv; /* the caller frees it, also on failure */
    if (!lv)
        return PP_ENOMEM;
    lv->cfg = cfg;
    lv->m = m;
    pp_metrics_help(m, "pp_bot_live_refused_total", "counter",
                    "lookups answered without a carrier call, by carrier and reason (quota, "
                    "breaker, paused, budget_second, budget_day, token, database, stopping)");
    pp_metrics_help(m, "pp_bot_live_coalesced_total", "counter",
                    "asks that joined a live lookup already under way");
    pp_cc_opts_t o = {.cfg = cfg,
                      .loop = loop,
                      .metrics = m,
                      .db = db,
                      .who = "bot",
                      .prefix = "pp_bot",
                      .timeout_ms = cfg->bot_carrier_timeout_ms,
                      .day_mode = PP_CC_DAY_BOT};
    int rc = pp_cc_init(&lv->cc, &o);
    if (rc)
        pp_error("bot: cannot start the carrier client: %s", pp_strerror(rc));
    return rc;
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
    free(lv);
}
