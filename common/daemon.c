/* daemon.c - the one process shape: loop, ops listener, pool, workers row, signals, phased stop. */
#include "daemon.h"
#include "err.h"
#include "launch.h"
#include "log.h"
#include "procmetrics.h"
#include "version.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STOP_TICK_MS 20
#define COUNTERS_CAP 2048

struct pp_daemon {
    const pp_daemon_hooks_t *hooks;
    void *self;
    pp_config_t *cfg;
    uv_loop_t loop;
    pp_metrics_t *metrics;
    pp_db_t *db;
    char worker_id[128];
    char ops_addr[128];
    char who[160];
    pp_daemon_phase_t phase;
    bool drained;
    bool heartbeat_busy;
    int heartbeat_failures; /* in a row: logged on the first and on recovery */
    int exit_code;
    uv_timer_t heartbeat, stop_tick;
    uv_signal_t sig_term, sig_int, sig_hup;
};

/* ---- the workers row -------------------------------------------------------------------- */

typedef enum { ROW_REGISTER, ROW_HEARTBEAT, ROW_STOPPED } row_op_t;

typedef struct row_job {
    pp_daemon_t *d;
    row_op_t op;
    char id[128], kind[32], addr[128];
    char counters[COUNTERS_CAP];
} row_job_t;

static int row_work(PGconn *conn, void *arg)
{
    row_job_t *j = arg;
    if (j->op == ROW_REGISTER)
        return pp_worker_register(conn, j->id, j->kind, j->addr);
    int rc = pp_worker_heartbeat(conn, j->id, j->counters);
    if (rc == PP_ENOTFOUND && j->op == ROW_HEARTBEAT) /* deleted by ops, or never registered */
        rc = pp_worker_register(conn, j->id, j->kind, j->addr);
    if (j->op == ROW_STOPPED && (rc == PP_OK || rc == PP_ENOTFOUND))
        rc = pp_worker_stop(conn, j->id);
    return rc;
}

static void heartbeat_result(pp_daemon_t *d, int rc)
{
    if (rc && d->heartbeat_failures++ == 0)
        pp_warn("%s: heartbeat failed: %s (retried every heartbeat_interval_ms; logged again "
                "when it recovers)",
                d->who, pp_strerror(rc));
    if (!rc && d->heartbeat_failures > 0) {
        pp_info("%s: heartbeat recovered after %d failures", d->who, d->heartbeat_failures);
        d->heartbeat_failures = 0;
    }
}

static void row_done(int rc, void *arg)
{
    row_job_t *j = arg;
    pp_daemon_t *d = j->d;
    switch (j->op) {
    case ROW_REGISTER:
        if (rc)
            pp_warn("%s: registration failed: %s (retried by the next heartbeat)", d->who,
                    pp_strerror(rc));
        else
            pp_info("%s: registered (kind %s, ops %s)", d->who, j->kind, j->addr);
        break;
    case ROW_HEARTBEAT:
        d->heartbeat_busy = false;
        heartbeat_result(d, rc);
        break;
    case ROW_STOPPED:
        if (rc)
            pp_warn("%s: stopped mark failed: %s (the row ages out by its heartbeat)", d->who,
                    pp_strerror(rc));
        else
            pp_info("%s: marked stopped", d->who);
        d->phase = PP_DAEMON_CLOSING; /* the stop tick closes, outside any job's callback */
        break;
    }
    free(j);
}

static int submit_row(pp_daemon_t *d, row_op_t op)
{
    row_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->d = d;
    j->op = op;
    snprintf(j->id, sizeof j->id, "%s", d->worker_id);
    snprintf(j->kind, sizeof j->kind, "%s", d->hooks->kind);
    snprintf(j->addr, sizeof j->addr, "%s", d->ops_addr);
    snprintf(j->counters, sizeof j->counters, "{}");
    if (op != ROW_REGISTER && d->self)
        d->hooks->counters(d->self, j->counters, sizeof j->counters);
    int rc = pp_db_submit(d->db, row_work, row_done, j);
    if (rc)
        free(j);
    return rc;
}

static void heartbeat_cb(uv_timer_t *t)
{
    pp_daemon_t *d = t->data;
    if (d->heartbeat_busy || d->phase > PP_DAEMON_DRAINING)
        return;
    if (submit_row(d, ROW_HEARTBEAT) == PP_OK)
        d->heartbeat_busy = true;
}

/* ---- health ----------------------------------------------------------------------------- */

int pp_daemon_health(pp_daemon_t *d, char *msg, size_t cap)
{
    if (d->phase != PP_DAEMON_RUNNING) {
        snprintf(msg, cap, "stopping");
        return 1;
    }
    if (pp_db_failures(d->db) >= 3) {
        snprintf(msg, cap, "database: %d consecutive failures", pp_db_failures(d->db));
        return 1;
    }
    if (d->hooks->health && d->self)
        return d->hooks->health(d->self, msg, cap) ? 1 : 0;
    return 0;
}

static int health_cb(void *arg, char *msg, size_t cap) { return pp_daemon_health(arg, msg, cap); }

/* ---- the stop --------------------------------------------------------------------------- */

static void close_own(pp_daemon_t *d)
{
    uv_timer_stop(&d->stop_tick);
    uv_timer_stop(&d->heartbeat);
    pp_metrics_stop(d->metrics);
    uv_close((uv_handle_t *)&d->stop_tick, NULL);
    uv_close((uv_handle_t *)&d->heartbeat, NULL);
    uv_close((uv_handle_t *)&d->sig_term, NULL);
    uv_close((uv_handle_t *)&d->sig_int, NULL);
    uv_close((uv_handle_t *)&d->sig_hup, NULL);
}

/* Moves the stop on when what the current phase waits for is done (pp_daemon_phase_t). */
static void advance(pp_daemon_t *d)
{
    switch (d->phase) {
    case PP_DAEMON_RUNNING: return;
    case PP_DAEMON_DRAINING:
        if (!d->drained || d->heartbeat_busy)
            return;
        d->phase = PP_DAEMON_MARKING;
        if (submit_row(d, ROW_STOPPED) != PP_OK)
            d->phase = PP_DAEMON_CLOSING;
        return;
    case PP_DAEMON_MARKING: return; /* row_done moves on */
    case PP_DAEMON_CLOSING:
        if (pp_db_pending(d->db) > 0)
            return;
        d->phase = PP_DAEMON_CLOSED;
        if (d->hooks->close)
            d->hooks->close(d->self);
        close_own(d);
        return;
    case PP_DAEMON_CLOSED: return;
    }
}

static void stop_tick_cb(uv_timer_t *t) { advance(t->data); }

void pp_daemon_drained(pp_daemon_t *d) { d->drained = true; }

void pp_daemon_stop(pp_daemon_t *d)
{
    if (d->phase != PP_DAEMON_RUNNING)
        return;
    d->phase = PP_DAEMON_DRAINING;
    uv_timer_start(&d->stop_tick, stop_tick_cb, STOP_TICK_MS, STOP_TICK_MS);
    if (d->hooks->drain)
        d->hooks->drain(d->self);
    else
        d->drained = true;
}

static void signal_cb(uv_signal_t *s, int signum)
{
    pp_daemon_t *d = s->data;
    if (signum == SIGHUP) {
        if (pp_launch_reload(d->cfg, d->who) > 0 && d->phase == PP_DAEMON_RUNNING) {
            uv_timer_start(&d->heartbeat, heartbeat_cb, (uint64_t)d->cfg->heartbeat_interval_ms,
                           (uint64_t)d->cfg->heartbeat_interval_ms);
            if (d->hooks->reload)
                d->hooks->reload(d->self);
        }
        return;
    }
    if (d->phase != PP_DAEMON_RUNNING) {
        pp_warn("%s: second signal (%s): exiting now", d->who, strsignal(signum));
        _exit(1);
    }
    pp_info("%s: %s: stopping gracefully (signal again to exit now)", d->who, strsignal(signum));
    pp_daemon_stop(d);
}

/* ---- start and run ---------------------------------------------------------------------- */

/* The ops listener: ops_addr; a host alone (0.0.0.0, [::]) takes the kind's fixed port, and
 * an empty one is 127.0.0.1 on it: one line serves every kind of a host on its own port. */
static void serve_ops(pp_daemon_t *d)
{
    const char *a = d->cfg->ops_addr;
    size_t n = strlen(a);
    char want[160];
    int port = 0;
    if (!n)
        snprintf(want, sizeof want, "127.0.0.1:%d", d->hooks->ops_port);
    else if (!strchr(a, ':') || a[n - 1] == ']')
        snprintf(want, sizeof want, "%.100s:%d", a, d->hooks->ops_port);
    else
        snprintf(want, sizeof want, "%.100s", a);
    if (pp_metrics_serve(d->metrics, &d->loop, want, health_cb, d, &port) != PP_OK)
        pp_die("%s: cannot serve the ops listener (/livez, /readyz, /metrics) on %s (ops_addr%s): "
               "is the port taken? Several %s processes on one host need one ops_addr each",
               d->who, want, n && strchr(a, ':') && a[n - 1] != ']' ? "" : ": the kind's port",
               d->hooks->prog);
    const char *colon = strrchr(want, ':');
    int hostlen = colon ? (int)(colon - want) : (int)strlen(want);
    snprintf(d->ops_addr, sizeof d->ops_addr, "%.*s:%d", hostlen, want, port);
}

static void start_timers_and_signals(pp_daemon_t *d)
{
    uv_timer_init(&d->loop, &d->heartbeat);
    uv_timer_init(&d->loop, &d->stop_tick);
    d->heartbeat.data = d->stop_tick.data = d;
    uv_timer_start(&d->heartbeat, heartbeat_cb, (uint64_t)d->cfg->heartbeat_interval_ms,
                   (uint64_t)d->cfg->heartbeat_interval_ms);
    uv_signal_init(&d->loop, &d->sig_term);
    uv_signal_init(&d->loop, &d->sig_int);
    uv_signal_init(&d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, signal_cb, SIGTERM);
    uv_signal_start(&d->sig_int, signal_cb, SIGINT);
    uv_signal_start(&d->sig_hup, signal_cb, SIGHUP);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static const pp_daemon_hooks_t *the_hooks; /* pp_launch's run() takes only the configuration */

static int run(pp_config_t *cfg)
{
    static pp_daemon_t daemon;
    pp_daemon_t *d = &daemon;
    d->hooks = the_hooks;
    d->cfg = cfg;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* until the handler below takes over: a reload asked for while
                              * starting changes nothing (the file was just read), never kills */
    if (uv_loop_init(&d->loop) != 0)
        pp_die("cannot initialise the event loop");
    if (cfg->worker_id[0])
        snprintf(d->worker_id, sizeof d->worker_id, "%s", cfg->worker_id);
    else
        pp_worker_default_id(d->hooks->kind, d->worker_id, sizeof d->worker_id);
    snprintf(d->who, sizeof d->who, "worker %.127s", d->worker_id);
    pp_log_set_worker(d->worker_id);
    d->metrics = pp_metrics_new();
    if (!d->metrics)
        pp_die("out of memory");
    serve_ops(d);
    char info[256];
    snprintf(info, sizeof info, "pp_build_info{version=\"%s\",commit=\"%s\",kind=\"%s\"}",
             PP_VERSION, PP_COMMIT, d->hooks->kind);
    pp_metrics_help(d->metrics, "pp_build_info", "gauge",
                    "1, labelled with the build's version and git commit");
    pp_metrics_set(d->metrics, info, 1);
    pp_metrics_before_render(d->metrics, pp_procmetrics_update);
    int pool = d->hooks->uses_db_pool ? (int)cfg->db_pool_size : 1;
    if (pp_db_open(&d->db, &d->loop, cfg->db_url, pool) != PP_OK)
        pp_die("%s: cannot open the database %s (db_url): is Postgres up?", d->who,
               pp_config_db_url_shown(cfg->db_url));
    if (submit_row(d, ROW_REGISTER) != PP_OK)
        pp_die("out of memory");
    int rc = d->hooks->start(d, &d->self);
    if (rc != PP_OK)
        pp_die("%s: start-up failed: %s", d->who, pp_strerror(rc));
    start_timers_and_signals(d);

    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_walk(&d->loop, close_walk_cb, NULL); /* anything left open (there should be nothing) */
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (d->hooks->free)
        d->hooks->free(d->self);
    pp_db_close(d->db);
    pp_metrics_free(d->metrics);
    if (uv_loop_close(&d->loop) != 0)
        pp_warn("%s: event loop closed with handles still open", d->who);
    return d->exit_code;
}

int pp_daemon_main(int argc, char **argv, const pp_daemon_hooks_t *hooks)
{
    the_hooks = hooks;
    return pp_launch(argc, argv, hooks->prog, hooks->summary, hooks->uses, run);
}

/* ---- accessors -------------------------------------------------------------------------- */

uv_loop_t *pp_daemon_loop(pp_daemon_t *d) { return &d->loop; }
pp_config_t *pp_daemon_config(pp_daemon_t *d) { return d->cfg; }
pp_metrics_t *pp_daemon_metrics(pp_daemon_t *d) { return d->metrics; }
pp_db_t *pp_daemon_db(pp_daemon_t *d) { return d->db; }
const char *pp_daemon_worker_id(pp_daemon_t *d) { return d->worker_id; }
const char *pp_daemon_ops_addr(pp_daemon_t *d) { return d->ops_addr; }
const char *pp_daemon_who(pp_daemon_t *d) { return d->who; }
void pp_daemon_set_exit_code(pp_daemon_t *d, int code) { d->exit_code = code; }
