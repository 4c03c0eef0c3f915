/* poller.c - pp-poller's hooks in the daemon frame: start, the drain's phases, reload, counters. */
#include "poller.h"
#include "carrier_client.h"
#include "err.h"
#include "daemon.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The drain's last database step: the leases still held (e.g. a poll given up) go back. */
typedef struct release_job {
    pp_poller_t *p;
    char id[128];
    long long released;
} release_job_t;

static int release_work(PGconn *conn, void *arg)
{
    release_job_t *j = arg;
    PGresult *r = NULL;
    const char *params[] = {j->id};
    int rc = pp_db_exec(conn, "release leases",
                        "UPDATE shipments SET lease_owner = NULL, lease_until = now() "
                        "WHERE lease_owner = $1",
                        1, params, &r);
    if (rc == PP_OK)
        j->released = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

static void advance_stop(pp_poller_t *p);

static void release_done(int rc, void *arg)
{
    release_job_t *j = arg;
    pp_poller_t *p = j->p;
    if (rc == PP_OK)
        pp_info("worker %s: released %lld leases", p->worker_id, j->released);
    free(j);
    p->phase = PP_POLLER_DRAINED;
    advance_stop(p);
}

static int submit_release(pp_poller_t *p)
{
    release_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->p = p;
    snprintf(j->id, sizeof j->id, "%s", p->worker_id);
    int rc = pp_db_submit(p->db, release_work, release_done, j);
    if (rc)
        free(j);
    return rc;
}

/* The workers row's counters (the frame writes them with every heartbeat). */
static void counters(void *self, char *json, size_t cap)
{
    pp_poller_t *p = self;
    pp_cc_stats_t st = {0};
    if (p->cc)
        pp_cc_stats(p->cc, &st);
    pp_metrics_set(p->metrics, "pp_poller_relay_active", pp_relay_active(p->relay) ? 1 : 0);
    /* each carrier's breaker and recent counts (ppctl status); left out if they do not fit */
    char carriers[1024];
    if (!p->cc || pp_cc_carriers_json(p->cc, carriers, sizeof carriers) != PP_OK)
        snprintf(carriers, sizeof carriers, "{}");
    int n = snprintf(json, cap,
                     "{\"claims\":%lld,\"claimed\":%lld,\"requests\":%lld,\"request_errors\":%lld,"
                     "\"written\":%lld,\"events\":%lld,\"lease_lost\":%lld,\"published\":%lld,"
                     "\"publish_failed\":%lld,\"inflight\":%d,\"relay\":%s,\"relay_lag\":%lld,"
                     "\"carriers\":%s}",
                     p->n_claims, p->n_claimed, st.requests, st.failures, p->n_written, p->n_events,
                     p->n_lease_lost, p->n_published, p->n_publish_failed, p->inflight,
                     pp_relay_active(p->relay) ? "true" : "false", pp_relay_lag(p->relay), carriers);
    if (n < 0 || (size_t)n >= cap) /* cut JSON would fail the heartbeat: the counters without */
        snprintf(json, cap, "{}");
}

/*
 * A new poller takes no work until a budget sync one budget_sync_ms after its start has
 * counted the live pollers: by then every poller that started with it has registered, and
 * the ones already running have shrunk their shares, so the fleet never overshoots a
 * carrier's budget while it grows.
 */
static void claim_cb(uv_timer_t *t)
{
    pp_poller_t *p = t->data;
    if (pp_cc_ready(p->cc))
        pp_claim_tick(p);
    pp_backlog_tick(p);
}

static void usage_flushed_cb(void *arg)
{
    pp_poller_t *p = arg;
    p->phase = PP_POLLER_RELAY_DRAIN;
    advance_stop(p);
}

/* The drain's phases in order (pp_poller_phase_t): each one waits for what it names. Runs from
 * the stop timer and after every completion (progress). */
static void advance_stop(pp_poller_t *p)
{
    switch (p->phase) {
    case PP_POLLER_RUNNING: return;
    case PP_POLLER_DRAINING:
        if (p->inflight > 0 || p->claims_running || p->backlog_counting)
            return;
        p->phase = PP_POLLER_USAGE_FLUSH; /* today's carrier usage, unused grants given back */
        pp_cc_finish(p->cc, usage_flushed_cb, p);
        return;
    case PP_POLLER_USAGE_FLUSH: return; /* usage_flushed_cb moves on */
    case PP_POLLER_RELAY_DRAIN:
        if (!pp_relay_drain(p->relay))
            return;
        p->phase = PP_POLLER_RELEASING;
        if (submit_release(p) == PP_OK)
            return; /* release_done moves on */
        p->phase = PP_POLLER_DRAINED;
        advance_stop(p);
        return;
    case PP_POLLER_RELEASING: return;
    case PP_POLLER_DRAINED:
        uv_timer_stop(&p->stop_timer);
        pp_daemon_drained(p->daemon);
        return;
    }
}

/* Something finished (shipments, a claim, a relay step): claim more if there is room, and
 * move the stop on. The one way the files below call back up (p->progress). */
static void progress(pp_poller_t *p)
{
    if (p->backlog)
        pp_claim_tick(p);
    advance_stop(p);
}

static void stop_timer_cb(uv_timer_t *t) { advance_stop(t->data); }

/* SIGTERM (through the frame): stop claiming, finish the polls in flight, flush the relay. */
static void drain(void *self)
{
    pp_poller_t *p = self;
    pp_info("worker %s: stop claiming, finish %d in-flight polls, flush the relay", p->worker_id,
            p->inflight);
    p->phase = PP_POLLER_DRAINING;
    uv_timer_stop(&p->claim_timer);
    pp_cc_drain(p->cc); /* queued shipments: leases released, polled again at once by anyone */
    uv_timer_start(&p->stop_timer, stop_timer_cb, 20, 20);
    advance_stop(p);
}

/* After a reload: what is kept outside cfg (the claim timer's period, the carrier client). The
 * rest (claim size, concurrency, lease, schedule, relay) is read from cfg where it is used. */
static void reload(void *self)
{
    pp_poller_t *p = self;
    if (p->phase != PP_POLLER_RUNNING)
        return;
    uv_timer_start(&p->claim_timer, claim_cb, (uint64_t)p->cfg->claim_interval_ms,
                   (uint64_t)p->cfg->claim_interval_ms);
    pp_cc_reconfigure(p->cc, p->cfg->http_timeout_ms);
}

static void close_handles(void *self)
{
    pp_poller_t *p = self;
    uv_timer_stop(&p->stop_timer);
    uv_timer_stop(&p->claim_timer);
    pp_relay_close(p->relay);
    p->relay = NULL;
    pp_dispatch_close(p); /* aborts a token request still in flight */
    pp_defer_close(p);
    pp_poll_close(p);
    uv_close((uv_handle_t *)&p->stop_timer, NULL);
    uv_close((uv_handle_t *)&p->claim_timer, NULL);
    pp_info("worker %s: stopped (%lld polls written, %lld events, %lld published)", p->worker_id,
            p->n_written, p->n_events, p->n_published);
}

/* Declares the poller's metrics (help lines) and sets the gauges and counters to 0. */
static void declare_metrics(pp_metrics_t *m)
{
    pp_metrics_help(m, "pp_poller_claims_total", "counter", "claim round trips");
    pp_metrics_help(m, "pp_poller_claimed_shipments_total", "counter", "shipments claimed");
    pp_metrics_help(m, "pp_poller_polls_total", "counter",
                    "shipment polls written back, by carrier and result");
    pp_metrics_help(m, "pp_poller_events_written_total", "counter",
                    "key changes written (events + outbox rows)");
    pp_metrics_help(m, "pp_poller_lease_lost_total", "counter",
                    "write-backs skipped: lease taken by another poller");
    pp_metrics_help(m, "pp_poller_outbox_published_total", "counter",
                    "outbox rows acknowledged by Kafka and marked");
    pp_metrics_help(m, "pp_poller_outbox_failed_total", "counter", "failed delivery reports");
    pp_metrics_help(m, "pp_poller_outbox_reconciled_total", "counter",
                    "rows found already in Kafka when taking the relay lock");
    pp_metrics_help(m, "pp_poller_inflight", "gauge", "shipments being polled or written back");
    pp_metrics_help(m, "pp_poller_leases_held", "gauge", "leases held by this poller");
    pp_metrics_help(m, "pp_poller_relay_active", "gauge", "1 when this poller holds the relay lock");
    pp_metrics_help(m, "pp_poller_poll_lateness_seconds", "histogram",
                    "how late shipments are claimed: now - next_poll_at at the claim, by carrier");
    pp_metrics_slow_buckets(m, "pp_poller_poll_lateness_seconds");
    pp_metrics_set(m, "pp_poller_inflight", 0);
    pp_metrics_set(m, "pp_poller_leases_held", 0);
    pp_metrics_set(m, "pp_poller_relay_active", 0);
    pp_metrics_add(m, "pp_poller_events_written_total", 0);
    pp_metrics_add(m, "pp_poller_outbox_published_total", 0);
    pp_metrics_add(m, "pp_poller_outbox_failed_total", 0);
    pp_metrics_add(m, "pp_poller_lease_lost_total", 0);
}

static int start(pp_daemon_t *d, void **self)
{
    static pp_poller_t poller;
    pp_poller_t *p = &poller;
    p->daemon = d;
    p->loop = pp_daemon_loop(d);
    p->cfg = pp_daemon_config(d);
    p->metrics = pp_daemon_metrics(d);
    p->db = pp_daemon_db(d);
    p->progress = progress;
    p->worker_id = pp_daemon_worker_id(d);
    *self = p;
    declare_metrics(p->metrics);
    pp_backlog_declare(p);
    pp_defer_init(p);
    pp_poll_init(p);
    if (pp_dispatch_init(p) != PP_OK) {
        pp_error("worker %s: cannot start the carrier client (HTTP client, memory)", p->worker_id);
        return PP_ENOMEM;
    }
    if (pp_relay_start(p, &p->relay) != PP_OK) {
        pp_error("worker %s: cannot start the outbox relay (Kafka %s)", p->worker_id,
                 p->cfg->kafka_brokers);
        return PP_EIO;
    }
    uv_timer_init(p->loop, &p->claim_timer);
    uv_timer_init(p->loop, &p->stop_timer);
    p->claim_timer.data = p->stop_timer.data = p;
    uv_timer_start(&p->claim_timer, claim_cb, 0, (uint64_t)p->cfg->claim_interval_ms);
    /* Machine-readable start line for scripts: the metrics port. */
    pp_info("worker %s: polling (concurrency %ld, batch %ld, lease %ld s, speed %ld); metrics on "
            "http://%s/metrics",
            p->worker_id, p->cfg->poll_concurrency, p->cfg->poll_batch, p->cfg->lease_s,
            p->cfg->speed, pp_daemon_ops_addr(d));
    return PP_OK;
}

const pp_daemon_hooks_t pp_poller_hooks = {
    .prog = "pp-poller",
    .kind = "poller",
    .summary = "Claims due shipments, polls carriers, writes key changes + outbox, relays to Kafka.",
    .uses_db_pool = true,
    .ops_port = 9470, /* docs/operations.md: 9470 poller, 9471 notifier, 9472 api, 9473 bot */
    .uses = PP_USES_KAFKA,
    .start = start,
    .drain = drain,
    .close = close_handles,
    .counters = counters,
    .reload = reload,
};
