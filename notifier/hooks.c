/*
 * hooks.c - pp-notifier's hooks in the daemon frame (common/daemon.h): start the worker
 * thread (notifier.c), copy its atomics into the metrics registry and the workers row's
 * counters, ask it to stop on SIGTERM, and hand the stop back to the frame when it returned.
 */
#include "daemon.h"
#include "err.h"
#include "log.h"
#include "notifier.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#define PUBLISH_MS 500

typedef struct hooks_state {
    pp_daemon_t *d;
    pp_notifier_t *notifier;
    uv_timer_t publish;
    uv_async_t done;
    bool ended;         /* the worker thread has returned (by itself when no stop was asked) */
    long long last[16]; /* last published value of each counter */
    char shown[PP_NOTIFIER_MAX_PARTS][128]; /* the partition lag series last set non-zero */
    int n_shown;
} hooks_state_t;

static const struct {
    const char *series, *help;
} counters_table[] = {
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
#define N_COUNTERS (sizeof counters_table / sizeof counters_table[0])

static long long counter_value(pp_notifier_stats_t *s, size_t i)
{
    atomic_llong *v[] = {&s->consumed,
                         &s->sent,
                         &s->failed,
                         &s->dlq,
                         &s->skipped_opted_out,
                         &s->skipped_no_im,
                         &s->skipped_stale,
                         &s->duplicate,
                         &s->no_recipient,
                         &s->retries,
                         &s->batches,
                         &s->recovered,
                         &s->in_doubt,
                         &s->resent_in_doubt,
                         &s->in_doubt_undecided};
    return atomic_load(v[i]);
}

/* The lag of each assigned partition. A partition given away drops to 0 here (its new owner
 * shows its lag), so a sum over the group stays the group's lag. */
static void publish_partitions(hooks_state_t *h, pp_metrics_t *m, pp_notifier_stats_t *s)
{
    pp_partition_lag_t parts[PP_NOTIFIER_MAX_PARTS];
    pthread_mutex_lock(&s->lat_lock);
    int n = s->n_parts;
    memcpy(parts, s->parts, (size_t)n * sizeof parts[0]);
    pthread_mutex_unlock(&s->lat_lock);
    for (int i = 0; i < h->n_shown; i++)
        pp_metrics_set(m, h->shown[i], 0);
    h->n_shown = 0;
    for (int i = 0; i < n; i++) {
        char *key = h->shown[h->n_shown++];
        snprintf(key, sizeof h->shown[0], "pp_notifier_partition_lag{topic=\"%.63s\",partition=\"%d\"}",
                 parts[i].topic, parts[i].partition);
        pp_metrics_set(m, key, (double)parts[i].lag);
    }
}

/* Copy the worker's atomics into the registry (the registry is loop-thread only). */
static void publish_cb(uv_timer_t *t)
{
    hooks_state_t *h = t->data;
    pp_metrics_t *m = pp_daemon_metrics(h->d);
    pp_notifier_stats_t *s = pp_notifier_stats(h->notifier);
    for (size_t i = 0; i < N_COUNTERS; i++) {
        long long v = counter_value(s, i);
        if (v != h->last[i])
            pp_metrics_add(m, counters_table[i].series, (double)(v - h->last[i]));
        h->last[i] = v;
    }
    pp_metrics_set(m, "pp_notifier_xmpp_up", atomic_load(&s->xmpp_up) ? 1 : 0);
    long long lag = atomic_load(&s->lag); /* -1: no assignment known, so none of the group's */
    pp_metrics_set(m, "pp_notifier_consumer_lag", lag > 0 ? (double)lag : 0);
    publish_partitions(h, m, s);
    double lat[PP_NOTIFIER_LAT_SAMPLES];
    pthread_mutex_lock(&s->lat_lock);
    int n = s->n_lat;
    memcpy(lat, s->lat, (size_t)n * sizeof lat[0]);
    s->n_lat = 0;
    pthread_mutex_unlock(&s->lat_lock);
    for (int i = 0; i < n; i++)
        pp_metrics_observe(m, "pp_notifier_send_latency_seconds", NULL, lat[i]);
}

/* The workers row's counters (the frame writes them with every heartbeat and at the stop). */
static void counters(void *self, char *json, size_t cap)
{
    hooks_state_t *h = self;
    pp_notifier_stats_t *s = pp_notifier_stats(h->notifier);
    snprintf(json, cap,
             "{\"consumed\":%lld,\"sent\":%lld,\"failed\":%lld,\"dlq\":%lld,"
             "\"skipped_opted_out\":%lld,\"skipped_no_im\":%lld,\"skipped_stale\":%lld,"
             "\"duplicate\":%lld,\"recovered\":%lld,\"retries\":%lld,\"lag\":%lld,"
             "\"xmpp_up\":%s}",
             atomic_load(&s->consumed), atomic_load(&s->sent), atomic_load(&s->failed),
             atomic_load(&s->dlq), atomic_load(&s->skipped_opted_out),
             atomic_load(&s->skipped_no_im), atomic_load(&s->skipped_stale),
             atomic_load(&s->duplicate), atomic_load(&s->recovered), atomic_load(&s->retries),
             atomic_load(&s->lag), atomic_load(&s->xmpp_up) ? "true" : "false");
}

static int health(void *self, char *msg, size_t cap)
{
    hooks_state_t *h = self;
    if (!atomic_load(&pp_notifier_stats(h->notifier)->xmpp_up)) {
        snprintf(msg, cap, "xmpp connection down");
        return 1;
    }
    return 0;
}

static void declare_metrics(pp_metrics_t *m)
{
    for (size_t i = 0; i < N_COUNTERS; i++) {
        if (!counters_table[i].help)
            continue;
        char fam[128];
        snprintf(fam, sizeof fam, "%.*s", (int)strcspn(counters_table[i].series, "{"),
                 counters_table[i].series);
        pp_metrics_help(m, fam, "counter", counters_table[i].help);
    }
    pp_metrics_help(m, "pp_notifier_xmpp_up", "gauge", "1 while the IM connection is up");
    pp_metrics_help(m, "pp_notifier_consumer_lag", "gauge",
                    "events behind the end of the assigned partitions (0 with none assigned)");
    pp_metrics_help(m, "pp_notifier_partition_lag", "gauge",
                    "events behind the end of each assigned partition (0 once given away)");
    pp_metrics_help(m, "pp_notifier_send_latency_seconds", "histogram",
                    "batch send until the IM server acknowledged it");
}

/* The worker thread has returned (stopped, or ended on an error): the frame moves on. */
static void done_cb(uv_async_t *a)
{
    hooks_state_t *h = a->data;
    h->ended = true;
    publish_cb(&h->publish);
    pp_daemon_drained(h->d);
    pp_daemon_stop(h->d); /* the thread may have ended by itself */
}

static void notify_done(void *arg) { uv_async_send(arg); }

static int start(pp_daemon_t *d, void **self)
{
    static hooks_state_t state;
    hooks_state_t *h = &state;
    h->d = d;
    *self = h;
    uv_loop_t *loop = pp_daemon_loop(d);
    declare_metrics(pp_daemon_metrics(d));
    pp_info("notifier %s: metrics on http://%s/metrics", pp_daemon_worker_id(d), pp_daemon_ops_addr(d));
    uv_async_init(loop, &h->done, done_cb);
    h->done.data = h;
    int rc = pp_notifier_start(&h->notifier, pp_daemon_config(d), pp_daemon_worker_id(d),
                               notify_done, &h->done);
    if (rc != PP_OK) {
        uv_close((uv_handle_t *)&h->done, NULL);
        return rc;
    }
    uv_timer_init(loop, &h->publish);
    h->publish.data = h;
    uv_timer_start(&h->publish, publish_cb, PUBLISH_MS, PUBLISH_MS);
    return PP_OK;
}

/* SIGTERM (through the frame): the thread finishes its batch, commits and leaves the group. */
static void drain(void *self)
{
    hooks_state_t *h = self;
    if (h->ended) /* it stopped on an error it logged: nothing left to finish */
        pp_info("notifier %s: the worker thread has ended: stopping", pp_daemon_worker_id(h->d));
    else
        pp_info("notifier %s: finishing the current batch", pp_daemon_worker_id(h->d));
    pp_notifier_stop(h->notifier);
}

static void close_handles(void *self)
{
    hooks_state_t *h = self;
    if (pp_notifier_join(h->notifier) != PP_OK) /* the thread has returned: no wait */
        pp_daemon_set_exit_code(h->d, 1);
    h->notifier = NULL;
    uv_close((uv_handle_t *)&h->publish, NULL);
    uv_close((uv_handle_t *)&h->done, NULL);
}

const pp_daemon_hooks_t pp_notifier_hooks = {
    .prog = "pp-notifier",
    .kind = "notifier",
    .summary = "Consumes shipment status events and sends each buyer's IM notification.",
    .uses_db_pool = false, /* the worker thread has its own connection */
    .ops_port = 9471,      /* docs/operations.md: 9470 poller, 9471 notifier, 9472 api, 9473 bot */
    .uses = PP_USES_KAFKA | PP_USES_XMPP,
    .start = start,
    .drain = drain,
    .close = close_handles,
    .counters = counters,
    .health = health,
};
