/* poller.h - the pp-poller process context shared by claim, poll, relay and lifecycle code. */
#ifndef PP_POLLER_H
#define PP_POLLER_H

#include "apply.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "httpc.h"
#include "metrics.h"
#include "schedule.h"
#include "carriers/carrier.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct pp_relay pp_relay_t;
typedef struct pp_cc pp_cc_t; /* the carrier client: common/carrier_client.h */
typedef struct slot slot_t;   /* dispatch.c: the open call per carrier */

/* A shipment claimed under our lease. */
typedef struct pp_claimed {
    long long id;
    long long transaction_id;
    char carrier[32];
    char tracking_number[64];
    int64_t claimed_ms; /* monotonic: when our lease started */
    /* The row as the claim found it (it changes only under a lease, so it is still so when
     * the write-back comes, unless the lease was lost: polls is the write-back's fence). */
    pp_apply_state_t st;
    long long polls;          /* write-backs so far */
    long long db_now_ms;      /* the database's clock at the claim */
    long long last_polled_ms; /* 0: never */
    long long next_poll_ms;   /* the due time the claim found (lateness = db_now_ms - it) */
} pp_claimed_t;

/* A claimed shipment's log fields (log.h): PP_LOG_FIELDS(PP_LF_CLAIMED(c)). */
#define PP_LF_CLAIMED(c) PP_LF_SHIPMENT((c)->id), PP_LF_CARRIER((c)->carrier)

/* The stop, in order. Each phase waits for what it names, then moves on (poller.c). */
typedef enum {
    PP_POLLER_RUNNING = 0,
    PP_POLLER_DRAINING,    /* no claims; every shipment in flight is written back or released */
    PP_POLLER_USAGE_FLUSH, /* the carrier client's last carrier_usage write */
    PP_POLLER_RELAY_DRAIN, /* the relay publishes and marks what it took, gives up its lock */
    PP_POLLER_RELEASING,   /* left-over leases released */
    PP_POLLER_DRAINED      /* handed to the daemon frame: stopped mark, close (common/daemon.h) */
} pp_poller_phase_t;

typedef struct pp_poller pp_poller_t;
typedef struct pp_daemon pp_daemon_t;

typedef struct pp_poll_series {
    char carrier[32], result[32];
    pp_metric_t *s;
} pp_poll_series_t;

struct pp_poller {
    pp_daemon_t *daemon; /* the process frame: loop, metrics, pool, workers row, signals */
    uv_loop_t *loop;
    pp_config_t *cfg;      /* owned by the frame */
    const char *worker_id; /* the frame's (pp_daemon_worker_id) */
    pp_db_t *db;
    pp_metrics_t *metrics;
    pp_relay_t *relay;
    pp_cc_t *cc;   /* every carrier call goes through it (dispatch.c) */
    slot_t *slots; /* dispatch.c */
    size_t n_slots;
    void *defers;           /* shipments to release with a later next_poll_at (defer.c) */
    uv_timer_t defer_timer; /* flushes them once per loop turn */
    struct pp_wb_item *writes, **writes_tail; /* outcomes waiting for a write-back (poll.c) */
    size_t n_writes;                          /* how many wait */
    int writes_running;                       /* write-back transactions in progress */
    uv_timer_t write_timer;                   /* starts one at the end of the loop turn */

    uv_timer_t claim_timer;
    uv_timer_t stop_timer; /* drives the drain's phases */

    int inflight;            /* claimed shipments not yet written back or released (lease.c) */
    int answered;            /* of those, answered and waiting for their write-back (poll.c) */
    int claims_running;      /* claim round trips outstanding (claim.c: at most two) */
    int claim_reserved;      /* the shipments those claims may bring */
    bool backlog;            /* the last claim was full: more may be due */
    bool backlog_counting;   /* backlog.c: a count is outstanding */
    int64_t backlog_next_ms; /* backlog.c: the next count (monotonic) */
    pp_poller_phase_t phase;
    /* Set by poller.c; called whenever something
     * finished: shipments (lease.c), a claim (claim.c), a relay step (relay.c). It claims more
     * when there is room and advances the stop. The files below poller.c call up only through it. */
    void (*progress)(pp_poller_t *p);

    /* counters (also in the heartbeat's jsonb) */
    long long n_claims, n_claimed, n_events, n_lease_lost;
    long long n_published, n_publish_failed, n_written;

    /* Series updated for every shipment, kept from their first update (no series text built
     * and hashed per shipment): the lease gauges (lease.c), pp_poller_polls_total by carrier
     * and result (poll.c; the first few pairs seen). */
    pp_metric_t *m_inflight, *m_leases;
    pp_poll_series_t m_polls[8];
};

/* claim.c: claim due shipments while carrier requests in flight < poll_concurrency. */
void pp_claim_tick(pp_poller_t *p);

/* backlog.c: the due backlog per carrier and the outbox lag, counted by the relay holder. */
void pp_backlog_declare(pp_poller_t *p);
void pp_backlog_tick(pp_poller_t *p); /* from the claim timer: counts when one is due */

/*
 * dispatch.c: claimed shipments into carrier calls (batched per carrier, up to the carrier's
 * batch size) through the carrier client. Each claimed shipment ends in exactly one
 * pp_poll_finish or one pp_defer, each of which decrements p->inflight when its DB job completes.
 */
int pp_dispatch_init(pp_poller_t *p) __attribute__((warn_unused_result));
void pp_dispatch(pp_poller_t *p, const pp_claimed_t *c); /* takes a copy of c; p->inflight++ */
void pp_dispatch_close(pp_poller_t *p);

/* defer.c: release the shipment's lease with next_poll_at = now + delay (batched per loop turn). */
void pp_defer_init(pp_poller_t *p);
void pp_defer(pp_poller_t *p, const pp_claimed_t *c, int64_t delay_ms, const char *reason);
int64_t pp_defer_spread(int64_t wait_ms); /* wait + up to 10 % jitter (50 ms .. 10 min) */
void pp_defer_close(pp_poller_t *p);

/*
 * poll.c: one shipment's outcome, queued for a fenced write-back (writeback.c) that takes
 * every outcome waiting at the end of the loop turn, or while earlier ones are being
 * written, in one transaction. Takes ownership of res (a single result, or NULL); result =
 * metrics/log label; error = text stored as last_error.
 */
void pp_poll_init(pp_poller_t *p);
void pp_poll_close(pp_poller_t *p);
void pp_poll_finish(pp_poller_t *p, const pp_claimed_t *c, pp_poll_outcome_t outcome,
                    pp_track_result_t *res, long retry_after_s, const char *result, const char *error);

/* relay.c: outbox → Kafka with the fleet-wide advisory lock and reconciliation. */
int pp_relay_start(pp_poller_t *p, pp_relay_t **out) __attribute__((warn_unused_result));
/* Stop taking new rows; true when everything sent is acknowledged and marked, and the lock released. */
bool pp_relay_drain(pp_relay_t *r);
void pp_relay_close(pp_relay_t *r); /* frees in close callbacks */
bool pp_relay_active(const pp_relay_t *r);
long long pp_relay_lag(const pp_relay_t *r);

/* reconcile.c: blocking; run in a DB work function on the relay's lock connection. */
int pp_reconcile_run(PGconn *conn, const pp_config_t *cfg, long long *marked)
    __attribute__((warn_unused_result));
/*
 * Mark rows published at (partition, offset), given as parallel arrays; with advance, also
 * raise relay_offsets to the highest offset per partition (only when every message of the
 * round was acknowledged, so that everything at or below it is accounted for).
 */
int pp_relay_mark(PGconn *conn, const char *const *event_ids, const int *partitions,
                  const long long *offsets, size_t n, bool advance)
    __attribute__((warn_unused_result));

/*
 * lease.c: the one place the in-flight count moves. Taken when a claimed shipment is
 * dispatched; done when its write-back or release completed (or was given up: the lease
 * expires by itself), which then calls p->progress.
 */
void pp_leases_taken(pp_poller_t *p, int n);
void pp_leases_done(pp_poller_t *p, int n);

/* poller.c: the process's hooks for the daemon frame (main.c). */
extern const struct pp_daemon_hooks pp_poller_hooks;

#endif
