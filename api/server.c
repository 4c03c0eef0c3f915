/* server.c - pp-api's hooks in the daemon frame: start (listen, route files), drain, counters. */
#include "api.h"
#include "access.h"
#include "err.h"
#include "daemon.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The workers row's counters (the frame writes them with every heartbeat). */
static void counters(void *self, char *json, size_t cap)
{
    pp_api_t *a = self;
    snprintf(json, cap, "{\"requests\":%lld,\"errors_4xx\":%lld,\"errors_5xx\":%lld,\"port\":%d}",
             a->n_requests, a->n_errors_4xx, a->n_errors_5xx, a->port);
}

/* SIGTERM (through the frame): new requests get 503; those in flight finish while the frame
 * marks the row stopped and waits for the database. */
static void drain(void *self)
{
    pp_api_t *a = self;
    pp_info("worker %s: refusing new requests, finishing %d database jobs", a->worker_id,
            pp_db_pending(a->db));
    a->stopping = 1;
    pp_daemon_drained(a->daemon);
}

static void close_handles(void *self)
{
    pp_api_t *a = self;
    pp_httpd_stop(a->httpd);
    a->httpd = NULL;
    pp_info("worker %s: stopped (%lld requests served)", a->worker_id, a->n_requests);
}

static void free_api(void *self)
{
    pp_api_t *a = self;
    free(a->routes);
    free(a->rl);
    free(a->rl_fail);
    free(a->rl_fail_net);
    free(a->key_cache);
}

static void help_metrics(pp_metrics_t *m)
{
    pp_metrics_help(m, "pp_api_requests_total", "counter", "API requests by method, route and status");
    pp_metrics_help(m, "pp_api_request_seconds", "histogram",
                    "API request latency by method and route");
    pp_metrics_help(m, "pp_api_rate_limited_total", "counter",
                    "requests refused by the per-key rate limit");
    pp_metrics_add(m, "pp_api_rate_limited_total", 0);
    pp_metrics_help(m, "pp_api_body_too_large_total", "counter",
                    "request bodies over api_max_body refused while reading (413, before authentication)");
    pp_metrics_add(m, "pp_api_body_too_large_total", 0);
    pp_metrics_help(m, "pp_api_auth_failures_total", "counter",
                    "presented keys or tokens found invalid (401)");
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

static void body_too_large_cb(h2o_req_t *req, void *arg)
{
    pp_api_t *a = arg;
    pp_api_access_t acc;
    pp_api_access_begin(a, req, &acc);
    pp_api_access_end(&acc, NULL, 413, req->res.content_length);
    pp_metrics_add(a->metrics, "pp_api_body_too_large_total", 1);
    a->n_requests++;
    a->n_errors_4xx++;
}

/* Listens on api_addr with the body limit and every route file's routes. */
static int listen_and_route(pp_api_t *a)
{
    const pp_config_t *cfg = a->cfg;
    if (pp_httpd_start(a->loop, cfg->api_addr, &a->httpd, &a->port) != PP_OK) {
        pp_error("worker %s: cannot listen on %s (api_addr): is the port taken?", a->worker_id,
                 cfg->api_addr);
        return PP_EIO;
    }
    char too_large[160];
    snprintf(too_large, sizeof too_large,
             "{\"error\":{\"code\":\"body_too_large\",\"message\":\"the request body exceeds %ld bytes\"}}",
             cfg->api_max_body);
    if (pp_httpd_body_limit(a->httpd, (size_t)cfg->api_max_body, "application/json", too_large,
                            body_too_large_cb, a) != PP_OK)
        return PP_ENOMEM;
    /* No /metrics and no /healthz here: the public port shows nothing about the process
     * (probes and scrapes use the ops listener, ops_addr). */
    for (int i = 0; pp_api_route_files[i]; i++)
        if (pp_api_route_files[i](a) != PP_OK) {
            pp_error("worker %s: cannot register the routes (table full?)", a->worker_id);
            return PP_ENOMEM;
        }
    return pp_api_dispatch_install(a);
}

static int start(pp_daemon_t *d, void **self)
{
    static pp_api_t api;
    pp_api_t *a = &api;
    a->daemon = d;
    a->loop = pp_daemon_loop(d);
    a->cfg = pp_daemon_config(d);
    a->metrics = pp_daemon_metrics(d);
    a->db = pp_daemon_db(d);
    a->worker_id = pp_daemon_worker_id(d);
    *self = a;
    if (!a->cfg->api_service_key[0])
        pp_warn("api_service_key is empty: the marketplace feed routes answer 401");
    help_metrics(a->metrics);
    int rc = listen_and_route(a);
    if (rc != PP_OK)
        return rc;
    const char *colon = strrchr(a->cfg->api_addr, ':');
    int hostlen = colon ? (int)(colon - a->cfg->api_addr) : (int)strlen(a->cfg->api_addr);
    /* Machine-readable start line for scripts. */
    pp_info("worker %s: api on http://%.*s:%d/ (%d routes); metrics on http://%s/metrics",
            a->worker_id, hostlen, a->cfg->api_addr, a->port, a->n_routes, pp_daemon_ops_addr(d));
    return PP_OK;
}

const pp_daemon_hooks_t pp_api_hooks = {
    .prog = "pp-api",
    .kind = "api",
    .summary = "The HTTP API: marketplace feed, seller WebAPI, payment cards, buyer settings.",
    .uses_db_pool = true,
    .ops_port = 9472, /* docs/operations.md: 9470 poller, 9471 notifier, 9472 api, 9473 bot */
    .uses = 0,
    .start = start,
    .drain = drain,
    .close = close_handles,
    .free = free_api,
    .counters = counters,
};
