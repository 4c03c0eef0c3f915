/* poller.c - pp-poller lifecycle: start-up, timers, heartbeat, health, signals, graceful stop. */
#include "poller.h"
#include "carrier_client.h"
#include "err.h"
#include "launch.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct simple_job {
    pp_poller_t *p;
    int kind; /* 0 register, 1 heartbeat, 2 release leases + stopped */
    char id[128];
    char kindname[16];
    char addr[128];
    char counters[512];
    long long released;
} simple_job_t;

static int simple_work(PGconn *conn, void *arg)
{
    simple_job_t *j = arg;
    switch (j->kind) {
    case 0:
        return pp_worker_register(conn, j->id, "poller", j->addr);
    case 1: {
        int rc = pp_worker_heartbeat(conn, j->id, j->counters);
        if (rc == PP_ENOTFOUND)
            rc = pp_worker_register(conn, j->id, "poller", j->addr);
        return rc;
    }
    default: {
        PGresult *r = NULL;
        const char *p[] = {j->id};
        int rc = pp_db_exec(conn, "release leases",
                            "UPDATE shipments SET lease_owner = NULL, lease_until = now() "
                            "WHERE lease_owner = $1",
                            1, p, &r);
        if (rc == PP_OK)
            j->released = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        int rc2 = pp_worker_stop(conn, j->id);
        return rc ? rc : rc2;
    }
    }
}

static void advance_stop(pp_poller_t *p);

static void simple_done(int rc, void *arg)
{
    simple_job_t *j = arg;
    pp_poller_t *p = j->p;
    pp_poller_db_result(p, rc);
    if (j->kind == 1)
        p->heartbeat_busy = false;
    if (j->kind == 2) {
        if (rc == PP_OK)
            pp_info("worker %s: released %lld leases, marked stopped", p->worker_id, j->released);
        p->phase = PP_POLLER_CLOSING;
        advance_stop(p);
    } else if (rc && j->kind == 0) {
        pp_warn("worker %s: registration failed: %s (retried by the heartbeat)", p->worker_id,
                pp_strerror(rc));
    }
    free(j);
}

static int submit_simple(pp_poller_t *p, int kind)
{
    simple_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->p = p;
    j->kind = kind;
    snprintf(j->id, sizeof j->id, "%s", p->worker_id);
    snprintf(j->addr, sizeof j->addr, "%s", p->metrics_addr);
    pp_cc_stats_t st = {0};
    if (p->cc)
        pp_cc_stats(p->cc, &st);
    snprintf(j->counters, sizeof j->counters,
             "{\"claims\":%lld,\"claimed\":%lld,\"requests\":%lld,\"request_errors\":%lld,"
             "\"written\":%lld,\"events\":%lld,\"lease_lost\":%lld,\"published\":%lld,"
             "\"publish_failed\":%lld,\"inflight\":%d,\"relay\":%s,\"relay_lag\":%lld}",
             p->n_claims, p->n_claimed, st.requests, st.failures, p->n_written, p->n_events,
             p->n_lease_lost, p->n_published, p->n_publish_failed, p->inflight,
             pp_relay_active(p->relay) ? "true" : "false", pp_relay_lag(p->relay));
    int rc = pp_db_submit(p->db, simple_work, simple_done, j);
    if (rc)
        free(j);
    return rc;
}

static void heartbeat_cb(uv_timer_t *t)
{
    pp_poller_t *p = t->data;
    pp_metrics_set(p->metrics, "pp_poller_relay_active", pp_relay_active(p->relay) ? 1 : 0);
    if (p->heartbeat_busy || p->phase != PP_POLLER_RUNNING)
        return;
    if (submit_simple(p, 1) == PP_OK)
        p->heartbeat_busy = true;
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
}

static int health_cb(void *arg, char *msg, size_t msglen)
{
    pp_poller_t *p = arg;
    if (p->phase != PP_POLLER_RUNNING) {
        snprintf(msg, msglen, "stopping");
        return 1;
    }
    if (p->db_failures >= 3) {
        snprintf(msg, msglen, "database: %d consecutive failures", p->db_failures);
        return 1;
    }
    return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_all(pp_poller_t *p)
{
    uv_timer_stop(&p->stop_timer);
    uv_timer_stop(&p->claim_timer);
    uv_timer_stop(&p->heartbeat_timer);
    pp_relay_close(p->relay);
    p->relay = NULL;
    pp_dispatch_close(p); /* aborts a token request still in flight */
    pp_defer_close(p);
    pp_metrics_stop(p->metrics);
    uv_close((uv_handle_t *)&p->stop_timer, NULL);
    uv_close((uv_handle_t *)&p->claim_timer, NULL);
    uv_close((uv_handle_t *)&p->heartbeat_timer, NULL);
    uv_close((uv_handle_t *)&p->sig_term, NULL);
    uv_close((uv_handle_t *)&p->sig_int, NULL);
    uv_close((uv_handle_t *)&p->sig_hup, NULL);
    pp_info("worker %s: stopped (%lld polls written, %lld events, %lld published)", p->worker_id,
            p->n_written, p->n_events, p->n_published);
}

static void usage_flushed_cb(void *arg)
{
    pp_poller_t *p = arg;
    p->phase = PP_POLLER_RELAY_DRAIN;
    advance_stop(p);
}

/* The stop's phases in order (pp_poller_phase_t): each one waits for what it names. Runs from
 * the stop timer and after every completion (progress). */
static void advance_stop(pp_poller_t *p)
{
    switch (p->phase) {
    case PP_POLLER_RUNNING:
        return;
    case PP_POLLER_DRAINING:
        if (p->inflight > 0 || p->claiming)
            return;
        p->phase = PP_POLLER_USAGE_FLUSH; /* today's carrier usage, unused grants given back */
        pp_cc_finish(p->cc, usage_flushed_cb, p);
        return;
    case PP_POLLER_USAGE_FLUSH:
        return; /* usage_flushed_cb moves on */
    case PP_POLLER_RELAY_DRAIN:
        if (!pp_relay_drain(p->relay))
            return;
        p->phase = PP_POLLER_RELEASING;
        if (submit_simple(p, 2) != PP_OK)
            p->phase = PP_POLLER_CLOSING;
        return;
    case PP_POLLER_RELEASING:
        return; /* simple_done moves on */
    case PP_POLLER_CLOSING:
        if (pp_db_pending(p->db) > 0)
            return;
        p->phase = PP_POLLER_CLOSED;
        close_all(p);
        return;
    case PP_POLLER_CLOSED:
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

/* After a reload: what is kept outside cfg (the timers' periods, the carrier client). The
 * rest (claim size, concurrency, lease, schedule, relay) is read from cfg where it is used. */
static void reconfigure(pp_poller_t *p)
{
    const pp_config_t *cfg = p->cfg;
    if (p->phase != PP_POLLER_RUNNING)
        return;
    uv_timer_start(&p->claim_timer, claim_cb, (uint64_t)cfg->claim_interval_ms,
                   (uint64_t)cfg->claim_interval_ms);
    uv_timer_start(&p->heartbeat_timer, heartbeat_cb, (uint64_t)cfg->heartbeat_interval_ms,
                   (uint64_t)cfg->heartbeat_interval_ms);
    pp_cc_reconfigure(p->cc, cfg->http_timeout_ms);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    pp_poller_t *p = s->data;
    if (signum == SIGHUP) {
        if (pp_launch_reload(p->cfg, p->who) > 0)
            reconfigure(p);
        return;
    }
    if (p->phase != PP_POLLER_RUNNING) {
        pp_warn("worker %s: second signal: exiting now (leases expire by themselves)", p->worker_id);
        _exit(1);
    }
    pp_info("worker %s: %s: stop claiming, finish %d in-flight polls, flush the relay", p->worker_id,
            strsignal(signum), p->inflight);
    p->phase = PP_POLLER_DRAINING;
    uv_timer_stop(&p->claim_timer);
    pp_cc_drain(p->cc); /* queued shipments: leases released, polled again at once by anyone */
    uv_timer_start(&p->stop_timer, stop_timer_cb, 20, 20);
    advance_stop(p);
}

/* Declares the poller's metrics (help lines) and sets the gauges and counters to 0. */
static void declare_metrics(pp_metrics_t *m)
{
    pp_metrics_help(m, "pp_poller_claims_total", "counter", "claim round trips");
    pp_metrics_help(m, "pp_poller_claimed_shipments_total", "counter", "shipments claimed");
    pp_metrics_help(m, "pp_poller_polls_total", "counter", "shipment polls written back, by carrier and result");
    pp_metrics_help(m, "pp_poller_events_written_total", "counter", "key changes written (events + outbox rows)");
    pp_metrics_help(m, "pp_poller_lease_lost_total", "counter", "write-backs skipped: lease taken by another poller");
    pp_metrics_help(m, "pp_poller_outbox_published_total", "counter", "outbox rows acknowledged by Kafka and marked");
    pp_metrics_help(m, "pp_poller_outbox_failed_total", "counter", "failed delivery reports");
    pp_metrics_help(m, "pp_poller_outbox_reconciled_total", "counter", "rows found already in Kafka when taking the relay lock");
    pp_metrics_help(m, "pp_poller_inflight", "gauge", "shipments being polled or written back");
    pp_metrics_help(m, "pp_poller_leases_held", "gauge", "leases held by this poller");
    pp_metrics_help(m, "pp_poller_relay_lag", "gauge", "unpublished outbox rows (seen by the relay holder)");
    pp_metrics_help(m, "pp_poller_relay_active", "gauge", "1 when this poller holds the relay lock");
    pp_metrics_set(m, "pp_poller_inflight", 0);
    pp_metrics_set(m, "pp_poller_leases_held", 0);
    pp_metrics_set(m, "pp_poller_relay_lag", 0);
    pp_metrics_set(m, "pp_poller_relay_active", 0);
    pp_metrics_add(m, "pp_poller_events_written_total", 0);
    pp_metrics_add(m, "pp_poller_outbox_published_total", 0);
    pp_metrics_add(m, "pp_poller_outbox_failed_total", 0);
    pp_metrics_add(m, "pp_poller_lease_lost_total", 0);
}

/* Starts the claim and heartbeat timers, inits the stop timer, and catches SIGTERM, SIGINT and SIGHUP. */
static void start_timers_and_signals(pp_poller_t *p)
{
    uv_timer_init(p->loop, &p->claim_timer);
    uv_timer_init(p->loop, &p->heartbeat_timer);
    uv_timer_init(p->loop, &p->stop_timer);
    p->claim_timer.data = p->heartbeat_timer.data = p->stop_timer.data = p;
    uv_timer_start(&p->claim_timer, claim_cb, 0, (uint64_t)p->cfg->claim_interval_ms);
    uv_timer_start(&p->heartbeat_timer, heartbeat_cb, (uint64_t)p->cfg->heartbeat_interval_ms,
                   (uint64_t)p->cfg->heartbeat_interval_ms);
    uv_signal_init(p->loop, &p->sig_term);
    uv_signal_init(p->loop, &p->sig_int);
    uv_signal_init(p->loop, &p->sig_hup);
    p->sig_term.data = p->sig_int.data = p->sig_hup.data = p;
    uv_signal_start(&p->sig_term, signal_cb, SIGTERM);
    uv_signal_start(&p->sig_int, signal_cb, SIGINT);
    uv_signal_start(&p->sig_hup, signal_cb, SIGHUP);
}

int pp_poller_run(pp_config_t *cfg)
{
    uv_loop_t loop;
    pp_poller_t pl = {0}, *p = &pl;
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&loop) != 0)
        pp_die("cannot initialise the event loop");
    p->loop = &loop;
    p->cfg = cfg;
    p->progress = progress;
    if (cfg->worker_id[0])
        snprintf(p->worker_id, sizeof p->worker_id, "%s", cfg->worker_id);
    else
        pp_worker_default_id("poller", p->worker_id, sizeof p->worker_id);

    p->metrics = pp_metrics_new();
    if (!p->metrics)
        pp_die("out of memory");
    declare_metrics(p->metrics);

    int port = 0;
    if (pp_metrics_serve(p->metrics, &loop, cfg->metrics_addr, health_cb, p, &port) != PP_OK)
        pp_die("cannot serve /metrics on %s", cfg->metrics_addr);
    char host[100];
    snprintf(host, sizeof host, "%s", cfg->metrics_addr);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    snprintf(p->metrics_addr, sizeof p->metrics_addr, "%s:%d", host, port);

    if (pp_db_open(&p->db, &loop, cfg->db_url, (int)cfg->db_pool_size) != PP_OK)
        pp_die("cannot open the database %s", pp_config_db_url_shown(cfg->db_url));
    pp_defer_init(p);
    if (pp_dispatch_init(p) != PP_OK)
        pp_die("cannot start the carrier client (HTTP client, memory)");
    if (pp_relay_start(p, &p->relay) != PP_OK)
        pp_die("cannot start the outbox relay (Kafka %s)", cfg->kafka_brokers);
    if (submit_simple(p, 0) != PP_OK)
        pp_die("cannot register the worker");

    start_timers_and_signals(p);

    /* Machine-readable start line for scripts: the metrics port. */
    pp_info("worker %s: polling (concurrency %ld, batch %ld, lease %ld s, speed %ld); metrics on http://%s/metrics",
            p->worker_id, cfg->poll_concurrency, cfg->poll_batch, cfg->lease_s, cfg->speed,
            p->metrics_addr);

    uv_run(&loop, UV_RUN_DEFAULT);
    /* Anything still open (there should be nothing): close it and let callbacks run. */
    uv_walk(&loop, close_walk_cb, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pp_db_close(p->db);
    pp_metrics_free(p->metrics);
    if (uv_loop_close(&loop) != 0)
        pp_warn("worker %s: event loop closed with handles still open", p->worker_id);
    return p->exit_code;
}
