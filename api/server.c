/* server.c - pp-api lifecycle: start-up, route files, /healthz + /metrics, heartbeat, signals, graceful stop. */
#include "api.h"
#include "err.h"
#include "launch.h"
#include "log.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct worker_job {
    pp_api_t *a;
    int kind; /* 0 register, 1 heartbeat, 2 stopped */
    char id[128];
    char addr[128];
    char counters[256];
} worker_job_t;

static int worker_work(PGconn *conn, void *arg)
{
    worker_job_t *j = arg;
    if (j->kind == 0)
        return pp_worker_register(conn, j->id, "api", j->addr);
    if (j->kind == 1) {
        int rc = pp_worker_heartbeat(conn, j->id, j->counters);
        if (rc == PP_ENOTFOUND)
            rc = pp_worker_register(conn, j->id, "api", j->addr);
        return rc;
    }
    return pp_worker_stop(conn, j->id);
}

static void check_stop(pp_api_t *a);

static void worker_done(int rc, void *arg)
{
    worker_job_t *j = arg;
    pp_api_t *a = j->a;
    if (rc == PP_EDB)
        a->db_failures++;
    else if (rc == PP_OK)
        a->db_failures = 0;
    if (j->kind == 1)
        a->heartbeat_busy = false;
    if (rc && j->kind == 0)
        pp_warn("worker %s: registration failed: %s (retried by the heartbeat)", a->worker_id,
                pp_strerror(rc));
    if (j->kind == 2) {
        a->stopping = 3;
        check_stop(a);
    }
    free(j);
}

static int submit_worker(pp_api_t *a, int kind)
{
    worker_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->a = a;
    j->kind = kind;
    snprintf(j->id, sizeof j->id, "%s", a->worker_id);
    snprintf(j->addr, sizeof j->addr, "%s", a->metrics_addr);
    snprintf(j->counters, sizeof j->counters,
             "{\"requests\":%lld,\"errors_4xx\":%lld,\"errors_5xx\":%lld,\"port\":%d}", a->n_requests,
             a->n_errors_4xx, a->n_errors_5xx, a->port);
    int rc = pp_db_submit(a->db, worker_work, worker_done, j);
    if (rc)
        free(j);
    return rc;
}

static void heartbeat_cb(uv_timer_t *t)
{
    pp_api_t *a = t->data;
    if (a->heartbeat_busy || a->stopping)
        return;
    if (submit_worker(a, 1) == PP_OK)
        a->heartbeat_busy = true;
}

static int health_cb(void *arg, char *msg, size_t msglen)
{
    pp_api_t *a = arg;
    if (a->stopping) {
        snprintf(msg, msglen, "stopping");
        return 1;
    }
    if (a->db_failures >= 3) {
        snprintf(msg, msglen, "database: %d consecutive failures", a->db_failures);
        return 1;
    }
    return 0;
}

/* GET /healthz and GET /metrics on the API port too (same as on metrics_addr). */
static int healthz_route(pp_api_req_t *r)
{
    char msg[200];
    if (health_cb(r->api, msg, sizeof msg - 1)) {
        strcat(msg, "\n");
        pp_api_reply(r, 503, "text/plain; charset=utf-8", msg, strlen(msg));
    } else {
        pp_api_reply(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
    }
    return 0;
}

static int metrics_route(pp_api_req_t *r)
{
    char *out = NULL;
    size_t len = 0;
    int rc = pp_metrics_render(r->api->metrics, &out, &len);
    if (rc)
        return rc;
    pp_api_reply(r, 200, "text/plain; version=0.0.4", out, len);
    free(out);
    return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Stop states: 1 = refusing new requests, waiting for DB work; 2 = stopped mark sent; 3 = close. */
static void check_stop(pp_api_t *a)
{
    if (a->stopping == 1) {
        if (pp_db_pending(a->db) > 0)
            return;
        a->stopping = 2;
        if (submit_worker(a, 2) != PP_OK)
            a->stopping = 3;
        return;
    }
    if (a->stopping == 3 && pp_db_pending(a->db) == 0) {
        a->stopping = 4;
        uv_timer_stop(&a->stop_timer);
        uv_timer_stop(&a->heartbeat_timer);
        pp_httpd_stop(a->httpd);
        a->httpd = NULL;
        pp_metrics_stop(a->metrics);
        uv_close((uv_handle_t *)&a->stop_timer, NULL);
        uv_close((uv_handle_t *)&a->heartbeat_timer, NULL);
        uv_close((uv_handle_t *)&a->sig_term, NULL);
        uv_close((uv_handle_t *)&a->sig_int, NULL);
        uv_close((uv_handle_t *)&a->sig_hup, NULL);
        pp_info("worker %s: stopped (%lld requests served)", a->worker_id, a->n_requests);
    }
}

static void stop_timer_cb(uv_timer_t *t) { check_stop(t->data); }

static void signal_cb(uv_signal_t *s, int signum)
{
    pp_api_t *a = s->data;
    if (signum == SIGHUP) {
        char who[160];
        snprintf(who, sizeof who, "worker %s", a->worker_id);
        /* log_level takes effect at once; the heartbeat's period here; the api_* limits only
         * at a restart (the config table says which) */
        if (pp_launch_reload(a->cfg, who) > 0 && !a->stopping)
            uv_timer_start(&a->heartbeat_timer, heartbeat_cb, (uint64_t)a->cfg->heartbeat_interval_ms,
                           (uint64_t)a->cfg->heartbeat_interval_ms);
        return;
    }
    if (a->stopping) {
        pp_warn("worker %s: second signal: exiting now", a->worker_id);
        _exit(1);
    }
    pp_info("worker %s: %s: refusing new requests, finishing %d database jobs", a->worker_id,
            strsignal(signum), pp_db_pending(a->db));
    a->stopping = 1;
    uv_timer_start(&a->stop_timer, stop_timer_cb, 20, 20);
    check_stop(a);
}

static void help_metrics(pp_metrics_t *m)
{
    pp_metrics_help(m, "pp_api_requests_total", "counter", "API requests by route and status");
    pp_metrics_help(m, "pp_api_request_seconds", "histogram", "API request latency by route");
    pp_metrics_help(m, "pp_api_rate_limited_total", "counter", "requests refused by the per-key rate limit");
    pp_metrics_add(m, "pp_api_rate_limited_total", 0);
    pp_metrics_help(m, "pp_api_body_too_large_total", "counter",
                    "request bodies over api_max_body refused while reading (413, before authentication)");
    pp_metrics_add(m, "pp_api_body_too_large_total", 0);
    pp_metrics_help(m, "pp_api_auth_failures_total", "counter", "presented keys or tokens found invalid (401)");
    pp_metrics_add(m, "pp_api_auth_failures_total", 0);
    pp_metrics_help(m, "pp_api_auth_throttled_total", "counter",
                    "requests refused by a failed-authentication limit (address, network or all clients; 429, no key lookup)");
    pp_metrics_add(m, "pp_api_auth_throttled_total", 0);
    pp_metrics_help(m, "pp_api_auth_throttled_network_total", "counter",
                    "of those, refused because their network (IPv4 /24, IPv6 /48) is over api_auth_fail_net_per_min/_burst");
    pp_metrics_add(m, "pp_api_auth_throttled_network_total", 0);
    pp_metrics_help(m, "pp_api_auth_throttled_all_total", "counter",
                    "of those, refused because all clients together are over api_auth_fail_global_per_min/_burst");
    pp_metrics_add(m, "pp_api_auth_throttled_all_total", 0);
    pp_metrics_help(m, "pp_api_key_lookups_total", "counter", "seller keys looked up in Postgres");
    pp_metrics_add(m, "pp_api_key_lookups_total", 0);
}

static void body_too_large_cb(void *arg)
{
    pp_api_t *a = arg;
    pp_metrics_add(a->metrics, "pp_api_body_too_large_total", 1);
    a->n_requests++;
    a->n_errors_4xx++;
}

/* Starts the heartbeat timer, inits the stop timer, and catches SIGTERM, SIGINT and SIGHUP. */
static void start_timers_and_signals(pp_api_t *a)
{
    uv_timer_init(a->loop, &a->heartbeat_timer);
    uv_timer_init(a->loop, &a->stop_timer);
    a->heartbeat_timer.data = a->stop_timer.data = a;
    uv_timer_start(&a->heartbeat_timer, heartbeat_cb, (uint64_t)a->cfg->heartbeat_interval_ms,
                   (uint64_t)a->cfg->heartbeat_interval_ms);
    uv_signal_init(a->loop, &a->sig_term);
    uv_signal_init(a->loop, &a->sig_int);
    uv_signal_init(a->loop, &a->sig_hup);
    a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;
    uv_signal_start(&a->sig_term, signal_cb, SIGTERM);
    uv_signal_start(&a->sig_int, signal_cb, SIGINT);
    uv_signal_start(&a->sig_hup, signal_cb, SIGHUP);
}

int pp_api_run(pp_config_t *cfg)
{
    uv_loop_t loop;
    pp_api_t api = {0}, *a = &api;
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&loop) != 0)
        pp_die("cannot initialise the event loop");
    a->loop = &loop;
    a->cfg = cfg;
    if (cfg->worker_id[0])
        snprintf(a->worker_id, sizeof a->worker_id, "%s", cfg->worker_id);
    else
        pp_worker_default_id("api", a->worker_id, sizeof a->worker_id);
    if (!cfg->api_service_key[0])
        pp_warn("api_service_key is empty: the marketplace feed routes answer 401");

    a->metrics = pp_metrics_new();
    if (!a->metrics)
        pp_die("out of memory");
    help_metrics(a->metrics);
    int mport = 0;
    if (pp_metrics_serve(a->metrics, &loop, cfg->metrics_addr, health_cb, a, &mport) != PP_OK)
        pp_die("cannot serve /metrics on %s", cfg->metrics_addr);
    char host[100];
    snprintf(host, sizeof host, "%s", cfg->metrics_addr);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    snprintf(a->metrics_addr, sizeof a->metrics_addr, "%s:%d", host, mport);

    if (pp_db_open(&a->db, &loop, cfg->db_url, (int)cfg->db_pool_size) != PP_OK)
        pp_die("cannot open the database %s", pp_config_db_url_shown(cfg->db_url));
    if (pp_httpd_start(&loop, cfg->api_addr, &a->httpd, &a->port) != PP_OK)
        pp_die("cannot listen on %s", cfg->api_addr);
    char too_large[160];
    snprintf(too_large, sizeof too_large,
             "{\"error\":{\"code\":\"body_too_large\",\"message\":\"the request body exceeds %ld bytes\"}}",
             cfg->api_max_body);
    if (pp_httpd_body_limit(a->httpd, (size_t)cfg->api_max_body, "application/json", too_large,
                            body_too_large_cb, a) != PP_OK)
        pp_die("out of memory");
    if (pp_api_route(a, "GET", "/healthz", 0, healthz_route) != PP_OK ||
        pp_api_route(a, "GET", "/metrics", 0, metrics_route) != PP_OK)
        pp_die("out of memory");
    for (int i = 0; pp_api_route_files[i]; i++)
        if (pp_api_route_files[i](a) != PP_OK)
            pp_die("cannot register the routes (table full?)");
    if (pp_api_dispatch_install(a) != PP_OK)
        pp_die("cannot install the dispatcher");
    if (submit_worker(a, 0) != PP_OK)
        pp_die("cannot register the worker");

    start_timers_and_signals(a);

    char ahost[100];
    snprintf(ahost, sizeof ahost, "%s", cfg->api_addr);
    colon = strrchr(ahost, ':');
    if (colon)
        *colon = '\0';
    /* Machine-readable start line for scripts. */
    pp_info("worker %s: api on http://%s:%d/ (%d routes); metrics on http://%s/metrics", a->worker_id,
            ahost, a->port, a->n_routes, a->metrics_addr);

    uv_run(&loop, UV_RUN_DEFAULT);
    uv_walk(&loop, close_walk_cb, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pp_db_close(a->db);
    pp_metrics_free(a->metrics);
    free(a->routes);
    free(a->rl);
    free(a->rl_fail);
    free(a->rl_fail_net);
    free(a->key_cache);
    if (uv_loop_close(&loop) != 0)
        pp_warn("worker %s: event loop closed with handles still open", a->worker_id);
    return a->exit_code;
}
