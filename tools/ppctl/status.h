/* status.h - what `ppctl status` and `ppctl wait` read: the counts (status_counts.c), the fleet (status_db.c), Kafka (status_kafka.c), printed by status_print.c. */
#ifndef PPCTL_STATUS_H
#define PPCTL_STATUS_H

#include "ppctl.h"

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>

/* The totals `ppctl wait` follows and `ppctl status` opens with (whole-table counts). */
typedef struct {
    long long total, terminal, due, by_status[16];
    char status_names[16][32];
    int n_status;
    long long events, unpublished, sent, skipped, sending, failed, workers_poller, workers_notifier;
    long long lag; /* -1 = unknown */
    /* live pp-bot workers and the sums of their heartbeat counters */
    long long workers_bot, bot_asks, bot_db, bot_live_calls, bot_coalesced, bot_refused_quota,
        bot_refused_breaker, bot_refused_paused;
    bool estimated; /* by the planner's statistics (a large table), not counted */
} ppctl_counts_t;

/* status_kafka.c: a consumer of the notifiers' group that commits nothing (NULL: printed why). */
rd_kafka_t *ppctl_kafka_client(const ppctl_t *ctl);
/* Sum over the topic's partitions of high watermark - the group's committed offset; -1 unknown. */
long long ppctl_consumer_lag(rd_kafka_t *rk, const char *topic);
/* "notifier_lag" (each partition of the event and IM-link topics: committed, high, lag) and
 * "dlq" (messages on the dead-letter topic) into st; unknown values are null. */
void ppctl_status_kafka(rd_kafka_t *rk, const ppctl_t *ctl, cJSON *st);

/* status_counts.c: 0 or PP_EDB (printed). exact false: the planner's estimates instead of
 * whole-table counts when shipments holds over a million rows. */
int ppctl_counts_take(PGconn *c, rd_kafka_t *rk, const ppctl_t *ctl, bool exact, ppctl_counts_t *s);
void ppctl_counts_line(FILE *out, const ppctl_counts_t *s); /* one line, for ppctl wait */
void ppctl_counts_json(const ppctl_counts_t *s, cJSON *st); /* the top-level totals */

/* status_db.c: "workers", "carriers", "relay", "outbox", "rates" into st; 0 or PP_EDB. */
int ppctl_status_db(PGconn *c, const ppctl_t *ctl, cJSON *st);

/* status_print.c: the human view of a whole snapshot. */
void ppctl_status_print(FILE *out, const ppctl_t *ctl, const ppctl_counts_t *s, const cJSON *st);

#endif
