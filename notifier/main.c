/*
 * main.c - pp-notifier launcher: config, logging, libuv loop for /metrics, /healthz and
 * signals; the work itself runs on the notifier thread (see notifier.c for why).
 */
#include "config.h"
#include "err.h"
#include "launch.h"
#include "log.h"
#include "metrics.h"
#include "notifier.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define PUBLISH_MS 500

typedef struct app {
    pp_config_t *cfg;
    char who[280];
    pp_metrics_t *metrics;
    pp_notifier_t *notifier;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t publish;
    uv_async_t done;
    int signals;
    long long last[16]; /* last published value of each counter */
} app_t;

static const struct {
    const char *series, *help;
} counters[] = {
    {"pp_notifier_events_consumed_total", "events read from the topic"},
    {"pp_notifier_messages_sent_total", "messages acknowledged by the IM server"},
    {"pp_notifier_messages_failed_total", "messages refused by the IM server (bounced)"},
    {"pp_notifier_dlq_total", "poison events sent to the dead-letter topic"},
    {"pp_notifier_skipped_total{reason=\"opted_out\"}", "events not sent, by reason"},
    {"pp_notifier_skipped_total{reason=\"no_im\"}", NULL},
    {"pp_notifier_skipped_total{reason=\"stale\"}", NULL},
    {"pp_notifier_skipped_total{reason=\"duplicate\"}", NULL},
    {"pp_notifier_skipped_total{reason=\"no_recipient\"}", NULL},
    {"pp_notifier_batch_retries_total", "batches retried after a transient failure"},
    {"pp_notifier_batches_total", "batches finished (offsets stored)"},
    {"pp_notifier_messages_recovered_total",
     "messages in flight at a crash found routed in the IM archive (not sent again)"},
    {"pp_notifier_messages_in_doubt_total",
     "messages in the IM archive the server may have died with before storing them for the buyer"},
    {"pp_notifier_messages_resent_in_doubt_total",
     "of those, sent again with the same id (the server's record of the buyer lacks them, or "
     "notifier_resend_in_doubt)"},
    {"pp_notifier_messages_in_doubt_undecided_total",
     "of those, the server could not tell whether the buyer's store has them (no "
     "mod_pp_delivery): notifier_resend_in_doubt decided"},
};

static long long counter_value(pp_notifier_stats_t *s, size_t i)
{
    atomic_llong *v[] = {&s->consumed,  &s->sent,          &s->failed,
                         &s->dlq,       &s->skipped_opted_out, &s->skipped_no_im,
                         &s->skipped_stale, &s->duplicate, &s->no_recipient,
                         &s->retries,   &s->batches,       &s->recovered,
                         &s->in_doubt,  &s->resent_in_doubt, &s->in_doubt_undecided};
    return atomic_load(v[i]);
}

/* Copy the worker's atomics into the registry (the registry is loop-thread only). */
static void publish_cb(uv_timer_t *t)
{
    app_t *a = t->data;
    pp_notifier_stats_t *s = pp_notifier_stats(a->notifier);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        long long v = counter_value(s, i);
        if (v != a->last[i])
            pp_metrics_add(a->metrics, counters[i].series, (double)(v - a->last[i]));
        a->last[i] = v;
    }
    pp_metrics_set(a->metrics, "pp_notifier_xmpp_up", atomic_load(&s->xmpp_up) ? 1 : 0);
    pp_metrics_set(a->metrics, "pp_notifier_consumer_lag", (double)atomic_load(&s->lag));
    double lat[PP_NOTIFIER_LAT_SAMPLES];
    pthread_mutex_lock(&s->lat_lock);
    int n = s->n_lat;
    memcpy(lat, s->lat, (size_t)n * sizeof lat[0]);
    s->n_lat = 0;
    pthread_mutex_unlock(&s->lat_lock);
    for (int i = 0; i < n; i++)
        pp_metrics_observe(a->metrics, "pp_notifier_send_latency_seconds", NULL, lat[i]);
}

static int health_cb(void *arg, char *msg, size_t msglen)
{
    app_t *a = arg;
    pp_notifier_stats_t *s = pp_notifier_stats(a->notifier);
    if (atomic_load(&s->finished)) {
        snprintf(msg, msglen, "stopping\n");
        return 1;
    }
    if (!atomic_load(&s->xmpp_up)) {
        snprintf(msg, msglen, "xmpp connection down\n");
        return 1;
    }
    return 0;
}

static void signal_cb(uv_signal_t *h, int signum)
{
    app_t *a = h->data;
    if (signum == SIGHUP) { /* the worker thread reads the reloadable keys where it uses them */
        (void)pp_launch_reload(a->cfg, a->who);
        return;
    }
    if (a->signals++ > 0) {
        pp_warn("second signal %d: exiting now", signum);
        _exit(1);
    }
    pp_info("signal %d: finishing the current batch (signal again to exit now)", signum);
    pp_notifier_stop(a->notifier);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void walk_close_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, close_cb);
}

/* The worker thread has returned: stop serving and let the loop end. */
static void done_cb(uv_async_t *h)
{
    app_t *a = h->data;
    publish_cb(&a->publish);
    pp_metrics_stop(a->metrics);
    uv_close((uv_handle_t *)&a->sigterm, close_cb);
    uv_close((uv_handle_t *)&a->sigint, close_cb);
    uv_close((uv_handle_t *)&a->sighup, close_cb);
    uv_close((uv_handle_t *)&a->publish, close_cb);
    uv_close((uv_handle_t *)&a->done, close_cb);
}

static void notify_done(void *arg) { uv_async_send(arg); }

static int run(pp_config_t *cfg)
{
    static app_t a;
    char worker_id[256], maddr[300];
    int port = 0;
    signal(SIGPIPE, SIG_IGN);
    a.cfg = cfg;
    if (a.cfg->worker_id[0])
        snprintf(worker_id, sizeof worker_id, "%s", a.cfg->worker_id);
    else
        pp_worker_default_id("notifier", worker_id, sizeof worker_id);

    uv_loop_t *loop = uv_default_loop();
    a.metrics = pp_metrics_new();
    if (!a.metrics)
        pp_die("out of memory");
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        if (!counters[i].help)
            continue;
        char fam[128];
        snprintf(fam, sizeof fam, "%.*s", (int)strcspn(counters[i].series, "{"),
                 counters[i].series);
        pp_metrics_help(a.metrics, fam, "counter", counters[i].help);
    }
    pp_metrics_help(a.metrics, "pp_notifier_xmpp_up", "gauge", "1 while the IM connection is up");
    pp_metrics_help(a.metrics, "pp_notifier_consumer_lag", "gauge",
                    "events behind the end of the assigned partitions (-1 unknown)");
    pp_metrics_help(a.metrics, "pp_notifier_send_latency_seconds", "histogram",
                    "batch send until the IM server acknowledged it");
    if (pp_metrics_serve(a.metrics, loop, a.cfg->metrics_addr, health_cb, &a, &port))
        pp_die("cannot serve metrics on %s", a.cfg->metrics_addr);
    snprintf(maddr, sizeof maddr, "%.*s:%d", (int)strcspn(a.cfg->metrics_addr, ":"),
             a.cfg->metrics_addr, port);
    snprintf(a.who, sizeof a.who, "notifier %s", worker_id);
    pp_info("notifier %s: metrics on http://%s/metrics", worker_id, maddr);

    uv_async_init(loop, &a.done, done_cb);
    a.done.data = &a;
    if (pp_notifier_start(&a.notifier, a.cfg, worker_id, maddr, notify_done, &a.done))
        pp_die("notifier %s: start-up failed", worker_id);
    uv_signal_init(loop, &a.sigterm);
    uv_signal_init(loop, &a.sigint);
    uv_signal_init(loop, &a.sighup);
    a.sigterm.data = a.sigint.data = a.sighup.data = &a;
    uv_signal_start(&a.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&a.sigint, signal_cb, SIGINT);
    uv_signal_start(&a.sighup, signal_cb, SIGHUP);
    uv_timer_init(loop, &a.publish);
    a.publish.data = &a;
    uv_timer_start(&a.publish, publish_cb, PUBLISH_MS, PUBLISH_MS);

    uv_run(loop, UV_RUN_DEFAULT);
    int rc = pp_notifier_join(a.notifier);
    uv_walk(loop, walk_close_cb, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop))
        pp_warn("libuv loop still has handles at exit");
    pp_metrics_free(a.metrics);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    return pp_launch(argc, argv, "pp-notifier",
                     "Consumes shipment status events and sends each buyer's IM notification.", run);
}
