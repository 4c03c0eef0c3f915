/* usage.c - fleet budget sync: live pollers and per-day carrier usage (carrier_usage) in Postgres. */
#include "carrier_rt.h"
#include "err.h"
#include "log.h"
#include "worker.h"
#include "timeutil.h"
#include "numparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct usage_item {
    size_t idx;              /* p->crt[idx] */
    char carrier[32];
    long per_day;
    long long flush_day;     /* day the used / given-back requests belong to */
    long long today;         /* day to take a grant from */
    long used;               /* sent since the last sync */
    long give_back;          /* unused holding returned (day over, or stopping) */
    long held;               /* still held after give_back */
    long cap;
    /* out */
    long grant;
    long long fleet_requests, fleet_reserved;
} usage_item_t;

typedef struct usage_job {
    pp_poller_t *p;
    bool final;
    long live_window_ms;
    int64_t started_ms; /* monotonic submission time: the live count is at least this fresh */
    int live;    /* live pollers: split the day budgets */
    int sharers; /* live pollers and bots: split the per-second budgets */
    size_t n;
    usage_item_t items[];
} usage_job_t;

static int usage_work(PGconn *conn, void *arg)
{
    usage_job_t *j = arg;
    PGresult *r = NULL;
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    if ((rc = pp_worker_live_counts(conn, j->live_window_ms, &j->live, &j->sharers)))
        goto fail;

    for (size_t i = 0; i < j->n; i++) {
        usage_item_t *it = &j->items[i];
        char day[16], used[32], back[32];
        if (it->used > 0 || it->give_back > 0) {
            pp_time_day_text(it->flush_day, day);
            snprintf(used, sizeof used, "%ld", it->used);
            snprintf(back, sizeof back, "%ld", it->give_back);
            const char *fp[] = {it->carrier, day, used, back};
            rc = pp_db_exec(conn, "flush carrier usage",
                            "INSERT INTO carrier_usage (carrier, day, requests, reserved) "
                            "VALUES ($1, $2::date, $3::bigint, $3::bigint) "
                            "ON CONFLICT (carrier, day) DO UPDATE SET "
                            " requests = carrier_usage.requests + $3::bigint, "
                            " reserved = GREATEST(carrier_usage.reserved - $4::bigint, "
                            "                     carrier_usage.requests + $3::bigint), "
                            " updated_at = now()",
                            4, fp, NULL);
            if (rc)
                goto fail;
        }
        if (j->final)
            continue;
        pp_time_day_text(it->today, day);
        const char *gp[] = {it->carrier, day};
        rc = pp_db_exec(conn, "create carrier usage row",
                        "INSERT INTO carrier_usage (carrier, day) VALUES ($1, $2::date) "
                        "ON CONFLICT (carrier, day) DO NOTHING",
                        2, gp, NULL);
        if (rc)
            goto fail;
        rc = pp_db_exec(conn, "lock carrier usage",
                        "SELECT requests, reserved FROM carrier_usage "
                        "WHERE carrier = $1 AND day = $2::date FOR UPDATE",
                        2, gp, &r);
        if (rc)
            goto fail;
        if (PQntuples(r) != 1 || pp_parse_ll(PQgetvalue(r, 0, 0), &it->fleet_requests) ||
            pp_parse_ll(PQgetvalue(r, 0, 1), &it->fleet_reserved)) {
            rc = PP_EPARSE;
            goto fail;
        }
        PQclear(r);
        r = NULL;
        it->grant = pp_budget_day_grant(it->per_day, (long)it->fleet_reserved, j->live, it->held, it->cap);
        if (it->grant > 0) {
            char g[32];
            snprintf(g, sizeof g, "%ld", it->grant);
            const char *up[] = {it->carrier, day, g};
            rc = pp_db_exec(conn, "reserve carrier usage",
                            "UPDATE carrier_usage SET reserved = reserved + $3::bigint, updated_at = now() "
                            "WHERE carrier = $1 AND day = $2::date",
                            3, up, NULL);
            if (rc)
                goto fail;
            it->fleet_reserved += it->grant;
        }
    }
    rc = pp_db_commit(conn);
    if (rc)
        goto fail;
    return PP_OK;
fail:
    PQclear(r);
    pp_db_rollback(conn);
    return rc;
}

static void usage_done(int rc, void *arg)
{
    usage_job_t *j = arg;
    pp_poller_t *p = j->p;
    p->usage_busy = false;
    pp_poller_db_result(p, rc);
    if (rc) {
        pp_warn("worker %s: budget sync failed: %s (usage kept for the next sync)", p->worker_id,
                pp_strerror(rc));
        for (size_t i = 0; i < j->n && p->crt; i++)
            p->crt[j->items[i].idx]->day_unsynced += j->items[i].used;
    } else if (!j->final) {
        if (j->live != p->live_pollers)
            pp_info("worker %s: %d live pollers share the carrier budgets", p->worker_id, j->live);
        if (j->sharers != p->rate_sharers)
            pp_info("worker %s: %d live pollers and bots share the per-second budgets", p->worker_id,
                    j->sharers);
        p->live_pollers = j->live;
        p->rate_sharers = j->sharers;
        pp_metrics_set(p->metrics, "pp_poller_live_pollers", j->live);
        pp_metrics_set(p->metrics, "pp_poller_rate_sharers", j->sharers);
        /* the second periodic sync (half an interval of slack for timer jitter) */
        if (!p->budget_ready && j->started_ms - p->started_ms >= p->cfg->budget_sync_ms / 2) {
            p->budget_ready = true;
            pp_info("worker %s: budget shares known (%d live pollers); polling", p->worker_id, j->live);
        }
        for (size_t i = 0; i < j->n; i++) {
            usage_item_t *it = &j->items[i];
            pp_crt_t *rt = p->crt[it->idx];
            if (it->today != rt->day) {
                rt->day = it->today;
                rt->day_used_local = 0;
            }
            rt->day_held += it->grant;
            rt->day_synced = true;
            rt->fleet_day_requests = it->fleet_requests;
            rt->fleet_day_reserved = it->fleet_reserved;
            bool spent = it->fleet_reserved >= rt->per_day;
            if (spent && !rt->day_spent && rt->day_held <= 0)
                pp_info("worker %s: carrier %s: fleet day budget spent (%lld of %ld requests); "
                        "its shipments wait for the next UTC day", p->worker_id, rt->carrier->name,
                        it->fleet_reserved, rt->per_day);
            rt->day_spent = spent;
        }
    }
    if (j->final) {
        p->usage_final = 2;
        free(j);
        pp_poller_check_stop(p);
        return;
    }
    free(j);
    if (p->crt) {
        pp_crt_budget_changed(p);
        pp_crt_pump_all(p);
    }
}

void pp_usage_sync(pp_poller_t *p, bool final)
{
    if (p->usage_busy)
        return;
    usage_job_t *j = p->crt ? calloc(1, sizeof *j + p->n_crt * sizeof(usage_item_t)) : NULL;
    if (!j) {
        if (final)
            p->usage_final = 2; /* the stop must not wait for what cannot be sent */
        return;
    }
    j->p = p;
    j->final = final;
    j->live_window_ms = p->cfg->heartbeat_interval_ms * 3;
    j->started_ms = pp_mono_ms();
    long long today = pp_budget_utc_day(pp_now_ms());
    for (size_t i = 0; i < p->n_crt; i++) {
        pp_crt_t *rt = p->crt[i];
        if (rt->per_day <= 0)
            continue;
        usage_item_t *it = &j->items[j->n++];
        it->idx = i;
        snprintf(it->carrier, sizeof it->carrier, "%s", rt->carrier->name);
        it->per_day = rt->per_day;
        it->flush_day = rt->day;
        it->today = today;
        it->used = rt->day_unsynced;
        rt->day_unsynced = 0;
        if (final || today != rt->day) {
            it->give_back = rt->day_held;
            rt->day_held = 0;
        }
        it->held = rt->day_held;
        it->cap = pp_budget_day_cap(rt->per_day, p->live_pollers, pp_budget_share(rt->rps, p->rate_sharers),
                                    p->cfg->budget_sync_ms);
    }
    if (pp_db_submit(p->db, usage_work, usage_done, j) != PP_OK) {
        for (size_t i = 0; i < j->n; i++) {
            pp_crt_t *rt = p->crt[j->items[i].idx];
            rt->day_unsynced += j->items[i].used;
            if (!final && j->items[i].flush_day == today)
                rt->day_held += j->items[i].give_back;
        }
        free(j);
        if (final)
            p->usage_final = 2;
        return;
    }
    p->usage_busy = true;
    p->usage_last_ms = pp_mono_ms();
    if (final)
        p->usage_final = 1;
}

static void usage_timer_cb(uv_timer_t *t)
{
    pp_poller_t *p = t->data;
    if (!p->stopping)
        pp_usage_sync(p, false);
}

void pp_usage_start(pp_poller_t *p)
{
    pp_metrics_help(p->metrics, "pp_poller_live_pollers", "gauge", "live pollers sharing the carrier budgets");
    pp_metrics_set(p->metrics, "pp_poller_live_pollers", 1);
    pp_metrics_help(p->metrics, "pp_poller_rate_sharers", "gauge",
                    "live pollers and bots sharing the per-second carrier budgets");
    pp_metrics_set(p->metrics, "pp_poller_rate_sharers", 1);
    uv_timer_init(p->loop, &p->usage_timer);
    p->usage_timer.data = p;
    uv_timer_start(&p->usage_timer, usage_timer_cb, 0, (uint64_t)p->cfg->budget_sync_ms);
}
