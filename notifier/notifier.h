/*
 * notifier.h - the notifier worker: one thread that consumes shipment-status events, decides
 * recipients through the ledger, sends over the IM channel and stores offsets. Counters are
 * atomics readable from any thread (hooks.c publishes them to the metrics registry).
 */
#ifndef PP_NOTIFIER_H
#define PP_NOTIFIER_H

#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define PP_NOTIFIER_LAT_SAMPLES 4096
#define PP_NOTIFIER_MAX_PARTS 64 /* partitions whose lag is shown (the event topic has 12) */

typedef struct pp_partition_lag {
    char topic[64];
    int partition;
    long long lag;
} pp_partition_lag_t;

typedef struct pp_notifier_stats {
    atomic_llong consumed, sent, failed, dlq, duplicate, no_recipient, retries, batches;
    atomic_llong recovered; /* in flight at a crash, found routed in the IM archive: not re-sent */
    atomic_llong in_doubt;  /* in the archive, but the server restarted before confirming */
    atomic_llong resent_in_doubt; /* of those, sent again (not stored for the buyer, or the option) */
    atomic_llong in_doubt_undecided; /* of those, the server could not tell (the option decided) */
    atomic_llong skipped_opted_out, skipped_no_im, skipped_stale;
    atomic_llong lag; /* sum of consumer lag over assigned partitions, -1 unknown */
    atomic_bool xmpp_up;
    atomic_bool finished; /* the worker thread has returned */
    /* Send->ack latency samples (seconds), drained by the metrics thread. */
    pthread_mutex_t lat_lock;
    double lat[PP_NOTIFIER_LAT_SAMPLES];
    int n_lat;
    /* The assigned partitions' lag at the last refresh (under lat_lock too). */
    pp_partition_lag_t parts[PP_NOTIFIER_MAX_PARTS];
    int n_parts;
} pp_notifier_stats_t;

typedef struct pp_notifier pp_notifier_t;

/*
 * Connect to Kafka, Postgres and start the worker thread; the channel
 * connects in the background. cfg and strings must outlive the notifier. on_exit(arg) is
 * called from the worker thread when it returns (e.g. uv_async_send). PP_E* on start-up error.
 */
int pp_notifier_start(pp_notifier_t **out, const pp_config_t *cfg, const char *worker_id,
                      void (*on_exit)(void *), void *arg) __attribute__((warn_unused_result));
/* Graceful stop: stop consuming, finish the batch, commit, leave the group. Thread-safe. */
void pp_notifier_stop(pp_notifier_t *n);
pp_notifier_stats_t *pp_notifier_stats(pp_notifier_t *n);
/* Join the thread and free; returns 0, or PP_E* if the worker ended on an error. */
int pp_notifier_join(pp_notifier_t *n);

/* hooks.c: the process's hooks for the daemon frame (main.c). */
extern const struct pp_daemon_hooks pp_notifier_hooks;

#endif
