/*
 * batch.h - the notifier worker's state and one batch of events, shared by its files
 * (internal to pp-notifier; the worker's interface is notifier.h). Who calls whom, one way:
 *   notifier.c   the worker thread: fill a batch from Kafka, run it, store offsets; start/stop
 *   batch.c      one batch to completion: dead letters, decide, send + barrier, mark, retry;
 *                or in steps, for the pipeline: prepare, launch, land, complete
 *   decide.c     the decision transaction of a batch (ledger_batch.c's batch statements)
 *   recover.c    rows a predecessor left in 'sending': the IM server's record decides
 *   idle.c       idle work: channel I/O, dead-letter reports, the consumer lag for the counters
 *   consumer.c   the Kafka consumer (group, rebalance, pause, lag, offsets) and DLQ reports
 */
#ifndef PP_NOTIFIER_BATCH_H
#define PP_NOTIFIER_BATCH_H

#include "channels/channel.h"
#include "event.h"
#include "log.h"
#include "notifier.h"
#include "poison.h"

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define FLUSH_TIMEOUT_MS 15000
#define DLQ_TIMEOUT_MS 10000
#define RETRY_MIN_MS 100
#define PUSH_TIMEOUT_MS 1000 /* writing a launched batch out to the IM server, at most */

typedef enum { IT_PENDING = 0, IT_SENDING, IT_ACKED, IT_DONE } item_state_t;

typedef enum {
    OUT_NONE = 0,
    OUT_SENT,
    OUT_FAILED,
    OUT_DLQ,
    OUT_DUPLICATE,
    OUT_NO_RECIPIENT,
    OUT_OPTED_OUT,
    OUT_NO_IM,
    OUT_STALE,
    OUT_RECOVERED
} outcome_t;

typedef struct item {
    rd_kafka_message_t *msg;  /* owned until the batch ends */
    item_state_t st, next_st; /* next_st: decided inside the open transaction */
    outcome_t next_out;
    bool valid, revoked, bounced;
    bool link; /* from the IM-link topic: lev is the event; ev carries its id (kind IM_LINK_CODE) */
    int dlq;   /* 0 not produced, 1 in flight, 2 delivered, -1 failed */
    pp_event_t ev;
    pp_link_event_t lev;
    char reason[256];  /* decode error, bounce or poison reason */
    bool queued;       /* handed to the channel in this attempt (its barrier proves it) */
    int64_t queued_ms; /* when (monotonic): the send -> acknowledged latency */
    int solo_losses;   /* times the connection was lost with only this message in flight */
    bool poison;       /* failed for good (poison.h): ledger 'failed', then the dead-letter topic */
    /* What the archive said about this event's row left in 'sending', kept across retries
     * of the batch (a failed database transaction must not cost the lookup again); cleared
     * when the item is sent again. 0 = not looked up, else 1 + pp_channel_fate_t. */
    int recov;
    pp_channel_doubt_t recov_doubt; /* in doubt after a server crash: decided (channel.h) */
    long long recov_when;
    char recov_reason[256];
    long long user_id;
    char id[64]; /* stanza id <event_id>:<user_id> */
    char to[256];
    char body[512];
} item_t;

struct pp_notifier {
    const pp_config_t *cfg;
    const char *worker_id;
    pthread_t thread;
    atomic_bool stop;
    void (*on_exit)(void *);
    void *exit_arg;
    int result;
    pp_notifier_stats_t stats;
    rd_kafka_t *consumer, *dlq;
    PGconn *db;
    const pp_channel_ops_t *chops;
    pp_channel_t *ch;
    item_t *items; /* the batch at hand: what batch.c, decide.c and recover.c work on */
    size_t n_items;
    /* The pipeline (notifier.c): a batch launched (sent, its barrier not yet back) while the
     * next one is decided in items; both are searched by bounces and revocations. */
    item_t *flight;
    size_t n_flight;
    bool flight_landed; /* its barrier came back (or failed: flight_rc) already */
    int flight_rc;
    /* consumer.c calls it when partitions are revoked, before it lets them go */
    void (*on_revoke)(struct pp_notifier *n);
    rd_kafka_message_t **carry; /* polled while paused/rebalancing: heads the next batch */
    size_t n_carry;
    bool paused;
    int64_t next_heartbeat_ms;
    bool archive;        /* recovery asks the channel's record (was_sent) */
    bool archive_absent; /* the last was_sent said "no record": logged once per streak */
    long flushed;        /* batches acknowledged (notifier_crash_after_send) */
    pp_poison_t poison;  /* isolation of a message the IM server will not take */
};

/* The topic a consumed message came from (the notifier reads two: shipment events, IM-link codes). */
static inline const char *pp_batch_topic(const rd_kafka_message_t *m)
{
    return rd_kafka_topic_name(m->rkt);
}

static inline void pp_batch_count(pp_notifier_t *n, outcome_t o)
{
    pp_notifier_stats_t *s = &n->stats;
    switch (o) {
    case OUT_SENT: atomic_fetch_add(&s->sent, 1); break;
    case OUT_FAILED: atomic_fetch_add(&s->failed, 1); break;
    case OUT_DLQ: atomic_fetch_add(&s->dlq, 1); break;
    case OUT_DUPLICATE: atomic_fetch_add(&s->duplicate, 1); break;
    case OUT_NO_RECIPIENT: atomic_fetch_add(&s->no_recipient, 1); break;
    case OUT_OPTED_OUT: atomic_fetch_add(&s->skipped_opted_out, 1); break;
    case OUT_NO_IM: atomic_fetch_add(&s->skipped_no_im, 1); break;
    case OUT_STALE: atomic_fetch_add(&s->skipped_stale, 1); break;
    case OUT_RECOVERED: atomic_fetch_add(&s->recovered, 1); break;
    case OUT_NONE: break;
    }
}

/* An item's log fields (log.h): its event (once decoded), buyer and shipment (once known),
 * and where Kafka holds it. */
#define PP_LF_ITEM(it)                                                                             \
    PP_LF_EVENT((it)->valid || (it)->poison ? (it)->ev.event_id : NULL),                           \
        PP_LF_USER((it)->link ? (it)->lev.user_id : (it)->user_id),                                \
        PP_LF_SHIPMENT((it)->ev.shipment_id), PP_LF_PARTITION((it)->msg->partition),               \
        PP_LF_OFFSET((it)->msg->offset)

/* An outcome as the ledger and the counters name it. */
static inline const char *pp_batch_outcome_name(outcome_t o)
{
    switch (o) {
    case OUT_SENT: return "sent";
    case OUT_FAILED: return "failed";
    case OUT_DLQ: return "dlq";
    case OUT_DUPLICATE: return "duplicate";
    case OUT_NO_RECIPIENT: return "no_recipient";
    case OUT_OPTED_OUT: return "skipped_opted_out";
    case OUT_NO_IM: return "skipped_no_im";
    case OUT_STALE: return "skipped_stale";
    case OUT_RECOVERED: return "recovered";
    case OUT_NONE: break;
    }
    return "none";
}

/* The item's end: counted, and one debug line with its fields (what became of each event). */
static inline void pp_batch_finish(pp_notifier_t *n, item_t *it, outcome_t o)
{
    it->st = IT_DONE;
    pp_batch_count(n, o);
    pp_debugk(PP_LOG_FIELDS(PP_LF_ITEM(it), PP_LF_STR("outcome", pp_batch_outcome_name(o))),
              "notifier: event %s to user %lld: %s", it->ev.event_id[0] ? it->ev.event_id : "-",
              it->link ? it->lev.user_id : it->user_id, pp_batch_outcome_name(o));
}

/* batch.c: run the batch to completion (or until stop during a retry); PP_OK when finished. */
int pp_batch_run(pp_notifier_t *n);
/* batch.c, the same in steps. prepare: recovery, dead letters, the decision (rows 'sending'
 * committed). launch: the decided messages queued and written to the server, no barrier.
 * land: the barrier over what was launched (acknowledged items marked for the ledger).
 * complete(rc): the ledger marks, then retries until finished (rc: the steps' result so far).
 * run_prepared(rc): after prepare, send + barrier + complete. */
int pp_batch_prepare(pp_notifier_t *n);
int pp_batch_launch(pp_notifier_t *n);
int pp_batch_land(pp_notifier_t *n);
int pp_batch_complete(pp_notifier_t *n, int rc);
int pp_batch_run_prepared(pp_notifier_t *n, int rc);
/* decide.c: one transaction decides every pending event; PP_EAGAIN: retry. */
int pp_batch_decide(pp_notifier_t *n);

/* recover.c: close the batch's rows left in 'sending' that the IM server's record lists
 * (sent or bounced); PP_EAGAIN: retry the batch. */
int pp_batch_recover(pp_notifier_t *n);

/* idle.c: refresh the consumer lag in the stats (every heartbeat_interval_ms, or now if force). */
void pp_notifier_refresh_lag(pp_notifier_t *n, bool force);
/* idle.c: keep the channel, the DLQ producer and the lag fresh for about ms. */
void pp_notifier_idle(pp_notifier_t *n, int ms);

/* consumer.c */
int pp_consumer_new(pp_notifier_t *n);                           /* subscribe; logs why not */
void pp_consumer_pause(pp_notifier_t *n, bool pause);            /* the whole assignment */
void pp_consumer_error(pp_notifier_t *n, rd_kafka_message_t *m); /* a fatal one stops the worker */
long long pp_consumer_lag(pp_notifier_t *n);                     /* -1: no assignment */
void pp_consumer_store_offsets(pp_notifier_t *n);                /* +1 per partition of the batch */
/* Delivery report of the dead-letter producer (m->_private: the item). */
void pp_consumer_dlq_report_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

#endif
