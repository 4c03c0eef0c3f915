/*
 * poll.c - shipments' poll outcomes (from dispatch.c) queued and written back in batches:
 * what finished in one loop turn goes to the database together (writeback.c), and while
 * write-backs are running the next batch gathers, so a busy poller sends one transaction
 * for many shipments and an idle one writes at the end of the turn.
 */
#include "poller.h"
#include "err.h"
#include "log.h"
#include "schedule.h"
#include "text.h"
#include "timeutil.h"
#include "writeback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outcomes per write-back transaction at most. */
#define WRITE_BATCH_MAX 256

typedef struct write_job {
    pp_poller_t *p;
    pp_wb_item_t **items;
    size_t n;
    char me[128];
    char topic[256];
} write_job_t;

static void item_free(pp_wb_item_t *it)
{
    pp_track_results_free(it->mine, it->mine ? 1 : 0);
    free(it);
}

/* Write-backs at once: half the pool (claims, releases and the relay use the rest). */
static int max_running(const pp_poller_t *p)
{
    long n = p->cfg->db_pool_size / 2;
    return n < 1 ? 1 : (int)n;
}

static int write_work(PGconn *conn, void *arg)
{
    write_job_t *j = arg;
    return pp_writeback(conn, j->p->cfg, j->me, j->topic, j->items, j->n);
}

/* On the loop: each shipment's result logged and counted; the leases given back at once. */
static void report(pp_poller_t *p, pp_wb_item_t *it, int rc)
{
    if (rc == PP_OK)
        rc = it->rc;
    const pp_log_field_t *lf = PP_LOG_FIELDS(PP_LF_CLAIMED(&it->c));
    if (rc == PP_ECONFLICT) {
        p->n_lease_lost++;
        pp_metrics_add(p->metrics, "pp_poller_lease_lost_total", 1);
        pp_warnk(lf, "worker %s: shipment %lld (%s %s): lease lost before write-back; nothing written",
                 p->worker_id, it->c.id, it->c.carrier, it->c.tracking_number);
    } else if (rc) {
        pp_warnk(lf, "worker %s: shipment %lld (%s %s): write-back failed: %s (re-polled after the lease)",
                 p->worker_id, it->c.id, it->c.carrier, it->c.tracking_number, pp_strerror(rc));
    } else {
        p->n_written++;
        p->n_events += (long long)it->n_events;
        if (it->n_events)
            pp_metrics_add(p->metrics, "pp_poller_events_written_total", (double)it->n_events);
        pp_debugk(lf, "worker %s: shipment %lld (%s %s): %s, %zu new events, status %s",
                  p->worker_id, it->c.id, it->c.carrier, it->c.tracking_number, it->result,
                  it->n_events, pp_status_name(it->status_after));
        if (it->not_found_late_now)
            pp_infok(lf,
                     "worker %s: shipment %lld (%s %s): still unknown to the carrier after %ld s; "
                     "polled every %ld s from now on (expires after %ld s without a change)",
                     p->worker_id, it->c.id, it->c.carrier, it->c.tracking_number,
                     p->cfg->not_found_grace_s, p->cfg->interval_not_found_late_s,
                     p->cfg->expire_after_s);
    }
}

static void flush(pp_poller_t *p);

static void write_done(int rc, void *arg)
{
    write_job_t *j = arg;
    pp_poller_t *p = j->p;
    p->writes_running--;
    for (size_t i = 0; i < j->n; i++) {
        report(p, j->items[i], rc);
        item_free(j->items[i]);
    }
    int n = (int)j->n;
    p->answered -= n;
    free(j->items);
    free(j);
    flush(p); /* what gathered meanwhile */
    pp_leases_done(p, n);
}

/* Starts write-backs for what waits, while fewer than max_running are in progress. */
static void flush(pp_poller_t *p)
{
    while (p->writes && p->writes_running < max_running(p)) {
        size_t n = p->n_writes < WRITE_BATCH_MAX ? p->n_writes : WRITE_BATCH_MAX;
        write_job_t *j = calloc(1, sizeof *j);
        pp_wb_item_t **items = calloc(n, sizeof *items);
        if (!j || !items) {
            free(j);
            free(items);
            return; /* tried again when the next outcome arrives or a write-back ends */
        }
        for (size_t i = 0; i < n; i++) {
            items[i] = p->writes;
            p->writes = p->writes->next;
        }
        if (!p->writes)
            p->writes_tail = &p->writes;
        p->n_writes -= n;
        j->p = p;
        j->items = items;
        j->n = n;
        pp_text_copy(j->me, sizeof j->me, p->worker_id);
        pp_text_copy(j->topic, sizeof j->topic, p->cfg->topic);
        p->writes_running++;
        if (pp_db_submit(p->db, write_work, write_done, j) != PP_OK)
            write_done(PP_EIO, j);
    }
}

static void flush_cb(uv_timer_t *t) { flush(t->data); }

/* pp_poller_polls_total{carrier,result}: a pair seen before is kept (p->m_polls). */
static void count_poll(pp_poller_t *p, const char *carrier, const char *result)
{
    pp_poll_series_t *k = p->m_polls, *end = k + sizeof p->m_polls / sizeof p->m_polls[0];
    for (; k < end && k->s; k++)
        if (strcmp(k->carrier, carrier) == 0 && strcmp(k->result, result) == 0) {
            pp_metric_add(k->s, 1);
            return;
        }
    char series[160];
    snprintf(series, sizeof series, "pp_poller_polls_total{carrier=\"%s\",result=\"%s\"}", carrier,
             result);
    pp_metric_t *s = pp_metrics_counter(p->metrics, series);
    pp_metric_add(s, 1);
    if (k < end && s && strlen(carrier) < sizeof k->carrier && strlen(result) < sizeof k->result) {
        pp_text_copy(k->carrier, sizeof k->carrier, carrier);
        pp_text_copy(k->result, sizeof k->result, result);
        k->s = s;
    }
}

void pp_poll_finish(pp_poller_t *p, const pp_claimed_t *c, pp_poll_outcome_t outcome,
                    pp_track_result_t *res, long retry_after_s, const char *result, const char *error)
{
    size_t elen = error ? strnlen(error, PP_WB_ERROR_MAX - 1) : 0;
    pp_wb_item_t *it = calloc(1, sizeof *it + elen + 1);
    if (!it) {
        pp_errork(PP_LOG_FIELDS(PP_LF_CLAIMED(c)),
                  "worker %s: shipment %lld: out of memory; left to lease expiry", p->worker_id,
                  c->id);
        pp_track_results_free(res, res ? 1 : 0);
        pp_leases_done(p, 1);
        return;
    }
    it->c = *c;
    it->outcome = outcome;
    it->retry_after_s = retry_after_s;
    if (outcome == PP_POLL_OK && res && res->found)
        it->mine = res;
    else
        pp_track_results_free(res, res ? 1 : 0);
    if (outcome == PP_POLL_OK && !it->mine)
        it->outcome = PP_POLL_NOT_FOUND;
    pp_text_copy(it->result, sizeof it->result, result ? result : "ok");
    pp_text_copy(it->error, elen + 1, error);
    it->u = pp_schedule_random();
    it->answered_ms = pp_now_ms();

    count_poll(p, c->carrier, it->result);
    if (it->outcome == PP_POLL_ERROR)
        pp_infok(PP_LOG_FIELDS(PP_LF_CLAIMED(c)), "worker %s: shipment %lld (%s %s): %s: %s",
                 p->worker_id, c->id, c->carrier, c->tracking_number, it->result, it->error);

    *p->writes_tail = it;
    p->writes_tail = &it->next;
    p->answered++;
    if (++p->n_writes >= WRITE_BATCH_MAX)
        flush(p);
    else if (!uv_is_active((uv_handle_t *)&p->write_timer))
        uv_timer_start(&p->write_timer, flush_cb, 0, 0); /* once this loop turn is over */
    p->progress(p); /* its carrier request is over: room for another claim */
}

void pp_poll_init(pp_poller_t *p)
{
    p->writes = NULL;
    p->writes_tail = &p->writes;
    uv_timer_init(p->loop, &p->write_timer);
    p->write_timer.data = p;
}

void pp_poll_close(pp_poller_t *p)
{
    for (pp_wb_item_t *it = p->writes, *next; it; it = next) { /* none: the stop waited for them */
        next = it->next;
        item_free(it);
    }
    p->writes = NULL;
    uv_timer_stop(&p->write_timer);
    uv_close((uv_handle_t *)&p->write_timer, NULL);
}
