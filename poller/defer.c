/* defer.c - shipments the poller cannot poll now: leases released, next_poll_at later (one batched UPDATE per loop turn). */
#include "poller.h"
#include "schedule.h"
#include "err.h"
#include "log.h"
#include "pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct defer_list {
    size_t n, cap;
    long long *ids;
    long long *delay_ms;
} defer_list_t;

typedef struct defer_job {
    pp_poller_t *p;
    defer_list_t *list;
    char me[128];
} defer_job_t;

static int defer_work(PGconn *conn, void *arg)
{
    defer_job_t *j = arg;
    pp_pgarray_t a[2] = {{0}};
    for (size_t i = 0; i < j->list->n; i++) {
        pp_pgarray_ll(&a[0], j->list->ids[i]);
        pp_pgarray_ll(&a[1], j->list->delay_ms[i]);
    }
    const char *ids = pp_pgarray_str(&a[0]), *delays = pp_pgarray_str(&a[1]);
    int rc = ids && delays ? PP_OK : PP_ENOMEM;
    if (rc == PP_OK) {
        const char *params[] = {ids, delays, j->me};
        rc = pp_db_exec(conn, "defer shipments",
                        "UPDATE shipments s SET lease_owner = NULL, lease_until = NULL, "
                        " next_poll_at = now() + d.ms * interval '1 millisecond' "
                        "FROM unnest($1::bigint[], $2::bigint[]) AS d(id, ms) "
                        "WHERE s.id = d.id AND s.lease_owner = $3",
                        3, params, NULL);
    }
    pp_pgarray_free(&a[0]);
    pp_pgarray_free(&a[1]);
    return rc;
}

static void defer_list_free(defer_list_t *l)
{
    if (!l)
        return;
    free(l->ids);
    free(l->delay_ms);
    free(l);
}

static void defer_done(int rc, void *arg)
{
    defer_job_t *j = arg;
    pp_poller_t *p = j->p;
    if (rc)
        pp_warn("worker %s: releasing %zu deferred shipments failed: %s (their leases expire by themselves)",
                p->worker_id, j->list->n, pp_strerror(rc));
    int n = (int)j->list->n;
    defer_list_free(j->list);
    free(j);
    pp_leases_done(p, n);
}

static void flush(pp_poller_t *p)
{
    defer_list_t *l = p->defers;
    if (!l || l->n == 0)
        return;
    p->defers = NULL;
    defer_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        pp_error("worker %s: out of memory releasing %zu shipments; their leases expire by themselves",
                 p->worker_id, l->n);
        int n = (int)l->n;
        defer_list_free(l);
        pp_leases_done(p, n);
        return;
    }
    j->p = p;
    j->list = l;
    snprintf(j->me, sizeof j->me, "%s", p->worker_id);
    if (pp_db_submit(p->db, defer_work, defer_done, j) != PP_OK)
        defer_done(PP_EIO, j);
}

static void flush_cb(uv_timer_t *t) { flush(t->data); }

void pp_defer(pp_poller_t *p, const pp_claimed_t *c, int64_t delay_ms, const char *reason)
{
    defer_list_t *l = p->defers;
    if (!l && !(l = p->defers = calloc(1, sizeof *l)))
        goto oom;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        long long *a = realloc(l->ids, nc * sizeof *a);
        if (!a)
            goto oom;
        l->ids = a;
        long long *b = realloc(l->delay_ms, nc * sizeof *b);
        if (!b)
            goto oom;
        l->delay_ms = b;
        l->cap = nc;
    }
    if (l->n == 0)
        uv_timer_start(&p->defer_timer, flush_cb, 0, 0); /* once this loop turn is over */
    l->ids[l->n] = c->id;
    l->delay_ms[l->n] = delay_ms > 0 ? delay_ms : 0;
    l->n++;
    char m[160];
    snprintf(m, sizeof m, "pp_poller_deferred_total{carrier=\"%s\",reason=\"%s\"}", c->carrier, reason);
    pp_metrics_add(p->metrics, m, 1);
    pp_debugk(PP_LOG_FIELDS(PP_LF_CLAIMED(c)),
              "worker %s: shipment %lld (%s %s): deferred %lld ms (%s)", p->worker_id, c->id,
              c->carrier, c->tracking_number, (long long)delay_ms, reason);
    return;
oom:
    pp_errork(PP_LOG_FIELDS(PP_LF_CLAIMED(c)),
              "worker %s: shipment %lld: out of memory deferring it; its lease expires by itself",
              p->worker_id, c->id);
    pp_leases_done(p, 1);
}

/* Delay until the carrier is expected to take requests again, plus up to 10 % jitter. */
int64_t pp_defer_spread(int64_t wait_ms)
{
    int64_t j = wait_ms / 10;
    if (j > 600000)
        j = 600000;
    if (j < 50)
        j = 50;
    return wait_ms + (int64_t)(pp_schedule_random() * (double)j);
}

void pp_defer_init(pp_poller_t *p)
{
    pp_metrics_help(p->metrics, "pp_poller_deferred_total", "counter",
                    "shipments released unpolled until the carrier can be called (reason)");
    uv_timer_init(p->loop, &p->defer_timer);
    p->defer_timer.data = p;
}

void pp_defer_close(pp_poller_t *p)
{
    defer_list_free(p->defers); /* nothing is left: the stop waited for every shipment */
    p->defers = NULL;
    uv_timer_stop(&p->defer_timer);
    uv_close((uv_handle_t *)&p->defer_timer, NULL);
}
