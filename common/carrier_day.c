/* carrier_day.c - the carrier client's day quota and shares: carrier_usage syncs (pollers' grants, bots' share), live counts, budget gauges. */
#include "carrier_client_internal.h"
#include "carrier_usage.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pp_cc_day_help(pp_cc_t *cc)
{
    pp_cc_help(cc, "budget_used", "gauge",
               "this process's requests: in the last active second, and today");
    pp_cc_help(cc, "budget_limit", "gauge", "this process's share of the fleet limit (0 = unlimited)");
    pp_cc_help(cc, "budget_fleet_used", "gauge",
               "requests by the whole fleet today (carrier_usage, as of the last sync)");
    pp_cc_help(cc, "budget_fleet_limit", "gauge", "the fleet's limit (<carrier>_per_day; unset: none)");
    pp_cc_help(cc, "live_pollers", "gauge", "live pollers sharing the carrier day budgets");
    pp_cc_help(cc, "rate_sharers", "gauge",
               "live pollers and bots sharing the per-second carrier budgets");
    if (cc->o.day_mode == PP_CC_DAY_BOT) {
        pp_cc_help(cc, "day_share", "gauge",
                   "requests a UTC day the bots may send (bot_day_share_pct of <carrier>_per_day; no series: no day quota)");
        pp_cc_help(cc, "day_used", "gauge",
                   "requests the bots sent today (carrier_usage, as of the last check)");
    }
    pp_cc_gauge(cc, "live_pollers", cc->live_pollers);
    pp_cc_gauge(cc, "rate_sharers", cc->sharers);
}

void pp_cc_budget_gauges(pp_cc_lane_t *l)
{
    pp_cc_t *cc = l->cc;
    const char *n = l->carrier->name;
    pp_metric_t **k = l->m_budget; /* set after every request: kept */
    pp_cc_metric_kept(cc, &k[0], false, "budget_limit", n, "window", "second",
                      pp_budget_share(l->rps, cc->sharers));
    if (cc->o.day_mode == PP_CC_DAY_FLEET) {
        pp_cc_metric_kept(cc, &k[1], false, "budget_limit", n, "window", "day",
                          pp_budget_share(l->per_day, cc->live_pollers));
        pp_cc_metric_kept(cc, &k[2], false, "budget_used", n, "window", "day",
                          (double)l->day_used_local);
        if (l->per_day > 0) {
            pp_cc_metric_kept(cc, &k[3], false, "budget_fleet_used", n, "window", "day",
                              (double)l->fleet_requests);
            pp_cc_metric_kept(cc, &k[4], false, "budget_fleet_limit", n, "window", "day",
                              (double)l->per_day);
        }
    }
}

void pp_cc_day_lane_init(pp_cc_lane_t *l)
{
    pp_cc_t *cc = l->cc;
    l->day = pp_budget_utc_day(cc->wall());
    l->spent_day = l->logged_day = -1;
    if (cc->o.day_mode == PP_CC_DAY_BOT) {
        l->share = pp_carrier_usage_bot_share(l->per_day, cc->o.cfg->bot_day_share_pct);
        if (l->per_day > 0)
            pp_cc_metric(cc, false, "day_share", l->carrier->name, NULL, NULL, (double)l->share);
        if (l->per_day > 0)
            pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                     "%s: carrier %s: day share %ld of %s_per_day %ld (bot_day_share_pct %ld)%s",
                     cc->o.who, l->carrier->name, l->share, l->carrier->name, l->per_day,
                     cc->o.cfg->bot_day_share_pct, l->share > 0 ? "" : ": no calls");
    }
    pp_cc_metric(cc, false, "budget_used", l->carrier->name, "window", "second", 0);
    pp_cc_budget_gauges(l);
}

void pp_cc_day_reconfigure(pp_cc_lane_t *l)
{
    pp_cc_t *cc = l->cc;
    if (cc->o.day_mode == PP_CC_DAY_BOT) {
        l->share = pp_carrier_usage_bot_share(l->per_day, cc->o.cfg->bot_day_share_pct);
        l->spent_day = -1; /* a larger share: ask the database again */
        if (l->per_day > 0)
            pp_cc_metric(cc, false, "day_share", l->carrier->name, NULL, NULL, (double)l->share);
    }
    pp_cc_budget_gauges(l);
}

/* ---- the sync: live counts and the day quota, one database job ------------------------- */

typedef struct sync_item {
    pp_cc_lane_t *lane;
    char carrier[32];
    long per_day, share;
    long long flush_day, today;
    long used, give_back, held, cap; /* FLEET */
    long grant;                      /* out */
    long long requests, reserved;    /* out: the fleet row (FLEET), the bots' row (BOT) */
    int rc;                          /* BOT: this carrier's reservation */
} sync_item_t;

typedef struct sync_job {
    pp_cc_t *cc;
    bool final;
    long live_window_ms;
    int64_t started_ms;
    int live, sharers;
    bool counted; /* live and sharers were read */
    size_t n;
    sync_item_t items[];
} sync_job_t;

static int sync_fleet(PGconn *conn, sync_job_t *j)
{
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    if ((rc = pp_worker_live_counts(conn, j->live_window_ms, &j->live, &j->sharers)))
        goto fail;
    j->counted = true;
    for (size_t i = 0; i < j->n; i++) {
        sync_item_t *it = &j->items[i];
        char day[16];
        if (it->used > 0 || it->give_back > 0) {
            pp_time_day_text(it->flush_day, day);
            if ((rc = pp_carrier_usage_flush(conn, it->carrier, day, it->used, it->give_back)))
                goto fail;
        }
        if (j->final)
            continue;
        pp_time_day_text(it->today, day);
        if ((rc = pp_carrier_usage_grant(conn, it->carrier, day, it->per_day, j->live, it->held,
                                         it->cap, &it->grant, &it->requests, &it->reserved)))
            goto fail;
    }
    if ((rc = pp_db_commit(conn)))
        goto fail;
    return PP_OK;
fail:
    pp_db_rollback(conn);
    return rc;
}

static int sync_bot(PGconn *conn, sync_job_t *j)
{
    int rc = PP_OK;
    if (!j->final) {
        if ((rc = pp_worker_live_counts(conn, j->live_window_ms, &j->live, &j->sharers)))
            return rc;
        j->counted = true;
    }
    for (size_t i = 0; i < j->n; i++) {
        sync_item_t *it = &j->items[i];
        char day[16];
        pp_carrier_usage_rows_t rows = {0};
        pp_time_day_text(it->today, day);
        it->rc = j->final ? pp_carrier_usage_bot_release(conn, it->carrier, day)
                          : pp_carrier_usage_bot_reserve(conn, it->carrier, day, it->per_day,
                                                         it->share, &rows);
        it->requests = rows.bot_requests;
        if (it->rc && !rc)
            rc = it->rc;
    }
    return rc;
}

static int sync_work(PGconn *conn, void *arg)
{
    sync_job_t *j = arg;
    return j->cc->o.day_mode == PP_CC_DAY_BOT ? sync_bot(conn, j) : sync_fleet(conn, j);
}

static void fleet_done(sync_job_t *j)
{
    pp_cc_t *cc = j->cc;
    for (size_t i = 0; i < j->n; i++) {
        sync_item_t *it = &j->items[i];
        pp_cc_lane_t *l = it->lane;
        if (it->today != l->day) {
            l->day = it->today;
            l->day_used_local = 0;
        }
        l->day_held += it->grant;
        l->day_synced = true;
        l->fleet_requests = it->requests;
        l->fleet_reserved = it->reserved;
        bool spent = l->per_day > 0 && it->reserved >= l->per_day;
        if (spent && !l->day_spent && l->day_held <= 0)
            pp_infok(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
                     "%s: carrier %s: fleet day budget spent (%lld of %ld requests); its calls wait "
                     "for the next UTC day",
                     cc->o.who, l->carrier->name, it->reserved, l->per_day);
        l->day_spent = spent;
    }
}

static void bot_done(sync_job_t *j, int rc)
{
    pp_cc_t *cc = j->cc;
    if (rc && cc->sync_failures++ == 0)
        pp_warn("%s: cannot reserve the bots' day share in carrier_usage: %s (retried every "
                "sync; logged again when it recovers)",
                cc->o.who, pp_strerror(rc));
    if (!rc && cc->sync_failures > 0) {
        pp_info("%s: day-share reservation in carrier_usage works again after %d failures",
                cc->o.who, cc->sync_failures);
        cc->sync_failures = 0;
    }
    for (size_t i = 0; i < j->n; i++)
        if (!j->items[i].rc && !j->final)
            pp_cc_metric(cc, false, "day_used", j->items[i].carrier, NULL, NULL,
                         (double)j->items[i].requests);
}

static void counted(sync_job_t *j)
{
    pp_cc_t *cc = j->cc;
    if (j->live != cc->live_pollers && cc->o.day_mode == PP_CC_DAY_FLEET)
        pp_info("%s: %d live pollers share the carrier day budgets", cc->o.who, j->live);
    if (j->sharers != cc->sharers || !cc->counted)
        pp_info("%s: %d live pollers and bots share the per-second budgets", cc->o.who, j->sharers);
    cc->live_pollers = j->live;
    cc->sharers = j->sharers;
    cc->counted = true;
    pp_cc_gauge(cc, "live_pollers", j->live);
    pp_cc_gauge(cc, "rate_sharers", j->sharers);
    /* the second periodic sync (half an interval of slack for timer jitter) */
    if (!cc->ready && j->started_ms - cc->started_ms >= cc->o.cfg->budget_sync_ms / 2) {
        cc->ready = true;
        pp_info("%s: budget shares known (%d live pollers)", cc->o.who, j->live);
    }
    int64_t now = cc->now();
    for (size_t i = 0; i < cc->n_lanes; i++)
        pp_bucket_set_rate(&cc->lanes[i].bucket, pp_budget_share(cc->lanes[i].rps, cc->sharers), now);
}

static void sync_submit(pp_cc_t *cc, bool final);

static void finished(pp_cc_t *cc)
{
    cc->finish_state = 2;
    if (cc->finish_done) {
        void (*done)(void *) = cc->finish_done;
        cc->finish_done = NULL;
        done(cc->finish_arg);
    }
}

static void sync_done(int rc, void *arg)
{
    sync_job_t *j = arg;
    pp_cc_t *cc = j->cc;
    cc->sync_busy = false;
    cc->jobs--;
    if (cc->o.day_mode == PP_CC_DAY_BOT) {
        bot_done(j, rc);
    } else if (rc) {
        pp_warn("%s: budget sync failed: %s (usage kept for the next sync)", cc->o.who,
                pp_strerror(rc));
        for (size_t i = 0; i < j->n; i++)
            j->items[i].lane->day_unsynced += j->items[i].used;
    } else if (!j->final) {
        fleet_done(j);
    }
    if (j->counted)
        counted(j);
    bool final = j->final;
    free(j);
    if (final) {
        finished(cc);
        return;
    }
    if (cc->finish_state == 1) { /* a finish waited for this sync */
        sync_submit(cc, true);
        return;
    }
    for (size_t i = 0; i < cc->n_lanes; i++) {
        pp_cc_budget_gauges(&cc->lanes[i]);
        cc->wake(&cc->lanes[i]);
    }
}

/* A lane the sync writes for: one with a day quota, or (a poller) one whose quota a reload
 * removed while it still held grants or had requests to count for the day. */
static bool synced(const pp_cc_t *cc, const pp_cc_lane_t *l)
{
    if (cc->o.day_mode == PP_CC_DAY_BOT)
        return l->per_day > 0 && l->share > 0;
    return l->per_day > 0 || l->day_held > 0 || l->day_unsynced > 0;
}

static void sync_submit(pp_cc_t *cc, bool final)
{
    if (cc->sync_busy)
        return;
    sync_job_t *j = calloc(1, sizeof *j + cc->n_lanes * sizeof(sync_item_t));
    if (!j) {
        if (final)
            finished(cc); /* the stop must not wait for what cannot be sent */
        return;
    }
    j->cc = cc;
    j->final = final;
    j->live_window_ms = cc->o.cfg->heartbeat_interval_ms * 3;
    j->started_ms = cc->now();
    long long today = pp_budget_utc_day(cc->wall());
    for (size_t i = 0; i < cc->n_lanes; i++) {
        pp_cc_lane_t *l = &cc->lanes[i];
        if (!synced(cc, l))
            continue;
        sync_item_t *it = &j->items[j->n++];
        it->lane = l;
        snprintf(it->carrier, sizeof it->carrier, "%s", l->carrier->name);
        it->per_day = l->per_day;
        it->share = l->share;
        it->today = today;
        if (cc->o.day_mode == PP_CC_DAY_BOT)
            continue;
        it->flush_day = l->day;
        it->used = l->day_unsynced;
        l->day_unsynced = 0;
        if (final || today != l->day || l->per_day <= 0) { /* (no quota any more: all back) */
            it->give_back = l->day_held;
            l->day_held = 0;
        }
        it->held = l->day_held;
        it->cap = pp_budget_day_cap(l->per_day, cc->live_pollers,
                                    pp_budget_share(l->rps, cc->sharers), cc->o.cfg->budget_sync_ms);
    }
    if (pp_db_submit(cc->o.db, sync_work, sync_done, j) != PP_OK) {
        for (size_t i = 0; i < j->n; i++) {
            pp_cc_lane_t *l = j->items[i].lane;
            l->day_unsynced += j->items[i].used;
            if (!final && j->items[i].flush_day == today)
                l->day_held += j->items[i].give_back;
        }
        free(j);
        if (final)
            finished(cc);
        return;
    }
    cc->sync_busy = true;
    cc->jobs++;
    cc->sync_last_ms = cc->now();
    if (final)
        cc->finish_state = 1;
}

static void sync_timer_cb(uv_timer_t *t)
{
    pp_cc_t *cc = t->data;
    if (!cc->draining)
        sync_submit(cc, false);
}

void pp_cc_day_start(pp_cc_t *cc)
{
    cc->started_ms = cc->now();
    cc->ready = cc->o.day_mode == PP_CC_DAY_BOT; /* a bot starts as if one poller were live too */
    uv_timer_init(cc->o.loop, &cc->sync_timer);
    cc->sync_timer.data = cc;
    uv_timer_start(&cc->sync_timer, sync_timer_cb, 0, (uint64_t)cc->o.cfg->budget_sync_ms);
}

void pp_cc_day_restart_timer(pp_cc_t *cc)
{
    if (!cc->draining && !cc->finish_state)
        uv_timer_start(&cc->sync_timer, sync_timer_cb, (uint64_t)cc->o.cfg->budget_sync_ms,
                       (uint64_t)cc->o.cfg->budget_sync_ms);
}

void pp_cc_day_finish(pp_cc_t *cc)
{
    if (cc->finish_state)
        return;
    uv_timer_stop(&cc->sync_timer);
    if (cc->sync_busy) {
        cc->finish_state = 1; /* sync_done submits the final one */
        return;
    }
    sync_submit(cc, true);
}

void pp_cc_day_close(pp_cc_t *cc, uv_close_cb closed)
{
    uv_timer_stop(&cc->sync_timer);
    uv_close((uv_handle_t *)&cc->sync_timer, closed);
}

/* ---- pollers: grants held from the fleet row ------------------------------------------- */

static void request_sync(pp_cc_t *cc)
{
    if (!cc->sync_busy && cc->now() - cc->sync_last_ms >= 50 && !cc->draining && !cc->finish_state)
        sync_submit(cc, false);
}

bool pp_cc_day_gate(pp_cc_lane_t *l, int64_t *wait_ms)
{
    pp_cc_t *cc = l->cc;
    if (cc->o.day_mode != PP_CC_DAY_FLEET || l->per_day <= 0)
        return true;
    long long today = pp_budget_utc_day(cc->wall());
    if (!l->day_synced || today != l->day || (l->day_held <= 0 && !l->day_spent)) {
        request_sync(cc);
        *wait_ms = -1;
        return false;
    }
    if (l->day_held <= 0) {
        *wait_ms = pp_budget_ms_to_next_day(cc->wall());
        return false;
    }
    return true;
}

void pp_cc_day_spend(pp_cc_lane_t *l)
{
    if (l->cc->o.day_mode != PP_CC_DAY_FLEET || l->per_day <= 0)
        return;
    l->day_held--;
    l->day_unsynced++;
    l->day_used_local++;
    if (l->day_held == 0)
        request_sync(l->cc);
}

/* ---- bots: one request at a time from the share ---------------------------------------- */

typedef enum { JOB_TAKE, JOB_UNTAKE, JOB_COUNT } job_kind_t;

typedef struct bot_job {
    pp_cc_lane_t *lane;
    pp_cc_call_t *call; /* JOB_TAKE */
    job_kind_t kind;
    char carrier[32], day[16];
    long long day_no;
    long per_day, share;
    pp_carrier_usage_verdict_t verdict;
    pp_carrier_usage_rows_t rows;
} bot_job_t;

bool pp_cc_day_needs_take(const pp_cc_lane_t *l)
{
    return l->cc->o.day_mode == PP_CC_DAY_BOT && l->per_day > 0;
}

bool pp_cc_day_refused(const pp_cc_lane_t *l)
{
    return pp_cc_day_needs_take(l) &&
           (l->share <= 0 || l->spent_day == pp_budget_utc_day(l->cc->wall()));
}

static int bot_work(PGconn *conn, void *arg)
{
    bot_job_t *j = arg;
    switch (j->kind) {
    case JOB_TAKE:
        return pp_carrier_usage_bot_take(conn, j->carrier, j->day, j->per_day, j->share,
                                         &j->verdict, &j->rows);
    case JOB_COUNT:
        return pp_carrier_usage_bot_take(conn, j->carrier, j->day, 0, 0, &j->verdict, &j->rows);
    case JOB_UNTAKE: return pp_carrier_usage_bot_untake(conn, j->carrier, j->day, 1);
    }
    return PP_EINVAL;
}

static void take_done(bot_job_t *j, int rc)
{
    pp_cc_lane_t *l = j->lane;
    pp_cc_t *cc = l->cc;
    pp_cc_call_t *c = j->call;
    const char *name = l->carrier->name;
    const pp_log_field_t *lf = PP_LOG_FIELDS(PP_LF_CARRIER(name));
    c->paid = PP_CC_UNPAID;
    if (rc) {
        pp_warnk(lf,
                 "%s: carrier %s: cannot take a request from the bots' day share in carrier_usage: "
                 "%s; call refused (is the database reachable?)",
                 cc->o.who, name, pp_strerror(rc));
        cc->take_done(c, false, "database");
        return;
    }
    pp_cc_metric(cc, false, "day_used", name, NULL, NULL, (double)j->rows.bot_requests);
    if (j->verdict == PP_CARRIER_USAGE_GRANTED) {
        c->paid = PP_CC_PAID;
        c->paid_day = j->day_no;
        cc->take_done(c, true, NULL);
        return;
    }
    if (j->verdict == PP_CARRIER_USAGE_SPENT)
        l->spent_day = j->day_no;
    if (l->logged_day != j->day_no) {
        l->logged_day = j->day_no;
        if (j->verdict == PP_CARRIER_USAGE_SPENT)
            pp_infok(lf,
                     "%s: carrier %s: the bots' day share is used up (%lld of %ld requests, "
                     "bot_day_share_pct %ld of %s_per_day %ld); calls refused until 00:00 UTC",
                     cc->o.who, name, j->rows.bot_requests, l->share, cc->o.cfg->bot_day_share_pct,
                     name, l->per_day);
        else
            pp_warnk(lf,
                     "%s: carrier %s: the fleet has reserved %lld of %s_per_day %ld, no room for "
                     "the rest of the bots' share (%lld of %ld reserved, all used); calls refused "
                     "while it stays so",
                     cc->o.who, name, j->rows.fleet_reserved, name, l->per_day,
                     j->rows.bot_reserved, l->share);
    }
    cc->take_done(c, false, "quota");
}

static void bot_job_done(int rc, void *arg)
{
    bot_job_t *j = arg;
    pp_cc_t *cc = j->lane->cc;
    cc->jobs--;
    if (j->kind == JOB_TAKE)
        take_done(j, rc);
    else if (rc)
        pp_warn("%s: carrier %s: carrier_usage update (%s) failed: %s; the bots' count may be "
                "off by one request until the next UTC day",
                cc->o.who, j->lane->carrier->name,
                j->kind == JOB_UNTAKE ? "give back an unsent request" : "count a request",
                pp_strerror(rc));
    free(j);
}

static bool bot_submit(pp_cc_lane_t *l, job_kind_t kind, long long day, pp_cc_call_t *c)
{
    pp_cc_t *cc = l->cc;
    bot_job_t *j = calloc(1, sizeof *j);
    int rc = PP_ENOMEM;
    if (j) {
        j->lane = l;
        j->call = c;
        j->kind = kind;
        j->day_no = day;
        j->per_day = l->per_day;
        j->share = l->share;
        snprintf(j->carrier, sizeof j->carrier, "%s", l->carrier->name);
        pp_time_day_text(day, j->day);
        rc = pp_db_submit(cc->o.db, bot_work, bot_job_done, j);
    }
    if (rc == PP_OK) {
        cc->jobs++;
        return true;
    }
    free(j);
    pp_warnk(PP_LOG_FIELDS(PP_LF_CARRIER(l->carrier->name)),
             "%s: carrier %s: cannot queue a carrier_usage job: %s", cc->o.who, l->carrier->name,
             pp_strerror(rc));
    return false;
}

bool pp_cc_day_take(pp_cc_call_t *c)
{
    c->paid = PP_CC_TAKING;
    if (bot_submit(c->lane, JOB_TAKE, pp_budget_utc_day(c->lane->cc->wall()), c))
        return true;
    c->paid = PP_CC_UNPAID;
    return false;
}

void pp_cc_day_untake(pp_cc_lane_t *l, long long day)
{
    (void)bot_submit(l, JOB_UNTAKE, day, NULL);
}

void pp_cc_day_count(pp_cc_lane_t *l)
{
    if (l->cc->o.day_mode == PP_CC_DAY_BOT && l->per_day <= 0)
        (void)bot_submit(l, JOB_COUNT, pp_budget_utc_day(l->cc->wall()), NULL);
}
