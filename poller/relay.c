/*
 * relay.c - outbox → Kafka. One relay fleet-wide (advisory lock on a dedicated connection);
 * on taking the lock it reconciles, then keeps rounds in flight, overlapped: while rounds (a
 * fetch of relay_batch unpublished rows each, in outbox id order) are with Kafka, the next is
 * fetched and produced, and acknowledged ones are marked, one UPDATE per mark, up to
 * MAX_MARKS side by side on pool connections. The lock connection fetches and LISTENs: an
 * outbox insert's NOTIFY pp_outbox (schema 0008) wakes an idle relay, which otherwise looks
 * every relay_interval_ms; librdkafka's delivery reports wake it through a pipe. A fetch not
 * after a full one waits for the acks of the rounds in flight and relay_linger_ms.
 *
 * Exactly once, with rounds overlapping:
 * - a fetch never takes a row of a round in flight (their ids are passed), so a row is handed
 *   to the producer once per relay; one that failed is sent again only after a reconcile;
 * - rounds leave oldest first, only once marked, and only then may raise relay_offsets (to
 *   their highest offset per partition, written by a later mark job): everything at or below
 *   is marked, since the producer keeps a partition's messages in the order handed over.
 *   After a failed report, or a lost lock, nothing raises relay_offsets until the reconcile
 *   has read the topic again (a message not acknowledged may still have been written);
 * - a failed report (or a refused produce) stops new rounds: what is in flight settles, is
 *   marked, the topic is reconciled, and rows are fetched again from the oldest unpublished,
 *   so a shipment's events never overtake its earlier failed one.
 */
#include "poller.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "relay_internal.h"
#include "timeutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 50 /* pauses, retries and the drain's deadline */
#define DRAIN_TIMEOUT_MS 15000
#define LAG_EVERY_MS 1000
#define MAX_ROUNDS 16  /* in flight, and at most 8 x relay_batch rows, */
#define MAX_MARKS 2    /* mark jobs side by side */
#define MAX_ROWS 50000 /* or this many (librdkafka queues 100,000 messages) */

typedef enum { JOB_LOCK, JOB_RECONCILE, JOB_FETCH, JOB_MARK, JOB_UNLOCK } job_kind_t;

struct pp_relay {
    pp_poller_t *p;
    PGconn *conn; /* dedicated: holds the session advisory lock, LISTENs, fetches */
    int lock_pid; /* backend pid that holds the lock (0 = none) */
    bool have_lock, reconciled, need_reconcile, no_advance, refused;
    bool conn_busy;      /* a job on conn */
    int marks_busy;      /* mark jobs (on pool connections) */
    relay_advance_t adv; /* rounds marked and gone: relay_offsets may be raised to these */
    bool more;           /* the last fetch was full, or a notification came */
    bool full;           /* the last fetch was full: the next one goes at once */
    bool draining, drained, closing, purged;
    rd_kafka_t *rk;
    relay_rounds_t rounds;
    uv_timer_t timer;
    uv_poll_t kafka_poll; /* the read end of kafka_pipe: librdkafka's main queue has events */
    int kafka_pipe[2];
    uv_poll_t *pg_poll; /* conn's socket, watched for notifications while no job uses conn */
    int pg_fd;
    int handles;        /* open libuv handles: once closing, r is freed with the last one */
    bool kafka_watched; /* kafka_poll is open */
    int64_t next_lock_try, next_try, next_mark, next_look, next_lag, drain_deadline, last_fetch;
    long long lag;
    long long n_reports;
};

typedef struct relay_job {
    pp_relay_t *r;
    job_kind_t kind;
    bool got_lock;
    bool lost; /* the lock's session is gone (connection reset) */
    long long marked, lag;
    bool want_lag;
    long batch;     /* fetch: relay_batch when submitted */
    char *exclude;  /* fetch: ids in flight */
    PGresult *rows; /* fetch result */
    relay_mark_t mark;
    relay_advance_t adv;
    int64_t t0; /* submitted (for the debug log) */
    char db_url[512];
} relay_job_t;

static void kick(pp_relay_t *r);
static void tick(uv_timer_t *t);

/* ---- work functions (threadpool) ------------------------------------------------------- */

/* Every job but the mark uses the relay's own connection; the mark uses the pool's (pool). */
static int job_work(PGconn *pool, void *arg)
{
    relay_job_t *j = arg;
    pp_relay_t *r = j->r;
    int rc = PP_OK;
    switch (j->kind) {
    case JOB_LOCK: return pp_relay_db_lock(&r->conn, j->db_url, &j->got_lock, &r->lock_pid);
    case JOB_RECONCILE: rc = pp_reconcile_run(r->conn, r->p->cfg, &j->marked); break;
    case JOB_FETCH:
        rc = pp_relay_db_fetch(r->conn, j->batch, j->exclude, &j->rows, j->want_lag ? &j->lag : NULL);
        break;
    case JOB_MARK:
        /* The advance is of rounds marked before, never of these: marks run side by side. */
        rc = pp_relay_mark(pool, j->mark.event_ids, j->mark.partitions, j->mark.offsets, j->mark.n,
                           false);
        return rc ? rc : pp_relay_db_advance(pool, &j->adv);
    case JOB_UNLOCK: pp_relay_db_unlock(&r->conn, r->lock_pid); return PP_OK;
    }
    j->lost = pp_relay_db_lost(r->conn, r->lock_pid);
    return rc;
}

/* ---- waking up: the lock connection's notifications, librdkafka's events ---------------- */

static void handle_closed(uv_handle_t *h);

static void pg_poll_closed(uv_handle_t *h)
{
    handle_closed(h);
    free(h);
}

static void watch_stop(pp_relay_t *r)
{
    if (r->pg_poll)
        uv_poll_stop(r->pg_poll);
}

/* Before the connection's socket may change or close (a reconnect, the unlock). */
static void watch_close(pp_relay_t *r)
{
    if (r->pg_poll) {
        uv_close((uv_handle_t *)r->pg_poll, pg_poll_closed);
        r->pg_poll = NULL;
    }
}

static void lose_lock(pp_relay_t *r)
{
    watch_close(r);
    if (!r->have_lock)
        return;
    pp_warn("worker %s: relay: lost the relay lock (database connection reset); will retake it "
            "and reconcile",
            r->p->worker_id);
    r->have_lock = false;
    r->reconciled = false;
    r->no_advance = true; /* another relay may have sent rows meanwhile: reconcile first */
    pp_relay_advance_clear(&r->adv);
    r->lock_pid = 0;
}

/* Reads the lock connection's notifications: new outbox rows, look now. */
static bool take_notified(pp_relay_t *r)
{
    if (!pp_relay_db_notified(r->conn))
        return false;
    pp_debug("worker %s: relay: notified of new outbox rows", r->p->worker_id);
    r->more = true;
    return true;
}

static void pg_readable(uv_poll_t *h, int status, int events)
{
    pp_relay_t *r = h->data;
    (void)events;
    if (r->conn_busy || !r->conn)
        return;
    if (status < 0 || !PQconsumeInput(r->conn) || PQstatus(r->conn) != CONNECTION_OK) {
        lose_lock(r);
        kick(r);
        return;
    }
    if (take_notified(r))
        kick(r);
}

/* While nothing uses the lock connection: a notification (or its loss) wakes the relay. */
static void watch_start(pp_relay_t *r)
{
    int fd = r->conn ? PQsocket(r->conn) : -1;
    if (fd < 0 || r->conn_busy || r->closing || !r->have_lock)
        return;
    if (r->pg_poll && r->pg_fd != fd)
        watch_close(r);
    if (!r->pg_poll) {
        if (!(r->pg_poll = calloc(1, sizeof *r->pg_poll)))
            return;
        if (uv_poll_init_socket(r->p->loop, r->pg_poll, fd) != 0) {
            free(r->pg_poll);
            r->pg_poll = NULL;
            return;
        }
        r->pg_poll->data = r;
        r->pg_fd = fd;
        r->handles++;
    }
    uv_poll_start(r->pg_poll, UV_READABLE, pg_readable);
}

/* librdkafka wrote to the pipe: its main queue has events (delivery reports). */
static void kafka_readable(uv_poll_t *h, int status, int events)
{
    pp_relay_t *r = h->data;
    char buf[64];
    (void)status;
    (void)events;
    while (read(r->kafka_pipe[0], buf, sizeof buf) > 0)
        ;
    while (rd_kafka_poll(r->rk, 0) > 0)
        ;
    kick(r);
}

/* ---- producing and delivery reports ---------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    pp_relay_t *r = opaque;
    relay_row_t *w = m->_private;
    (void)rk;
    r->n_reports++;
    if (!w)
        return;
    bool acked = pp_relay_row_report(w, m);
    pp_relay_row_log(w, m, r->p->worker_id, r->p->cfg->topic);
    if (!acked) {
        r->need_reconcile = true;
        r->no_advance = true; /* it may be in the topic below later offsets: reconcile first */
        pp_relay_advance_clear(&r->adv);
        r->p->n_publish_failed++;
        pp_metrics_add(r->p->metrics, "pp_poller_outbox_failed_total", 1);
        return;
    }
    long crash = r->p->cfg->relay_crash_after_produce;
    if (crash > 0 && r->n_reports >= crash) {
        pp_warn("worker %s: relay: relay_crash_after_produce=%ld reached: SIGKILL before marking",
                r->p->worker_id, crash);
        raise(SIGKILL);
    }
}

/* A fetch's rows: a new round, handed to the producer at once, unless it must not be sent now. */
static void take_round(pp_relay_t *r, PGresult *res)
{
    pp_poller_t *p = r->p;
    relay_round_t *rd;
    if (!r->have_lock || r->need_reconcile || r->refused || r->draining) {
        PQclear(res); /* still unpublished: fetched again later */
        return;
    }
    if (pp_relay_rounds_add(&r->rounds, res, &rd) != PP_OK)
        return;
    rd_kafka_resp_err_t ke = RD_KAFKA_RESP_ERR_NO_ERROR;
    const char *ev = "";
    size_t held = pp_relay_round_produce(rd, r->rk, &ke, &ev);
    if (held) {
        r->refused = true; /* no new round until this one settles; then from the oldest row */
        pp_warnk(PP_LOG_FIELDS(PP_LF_EVENT(ev)),
                 "worker %s: relay: cannot produce event %s: %s; it and %zu more rows wait for the "
                 "next rounds",
                 p->worker_id, ev, rd_kafka_err2str(ke), held - 1);
    }
}

/* ---- jobs ------------------------------------------------------------------------------ */

static void job_free(relay_job_t *j)
{
    free(j->exclude);
    PQclear(j->rows);
    pp_relay_mark_free(&j->mark);
    pp_relay_advance_clear(&j->adv);
    free(j);
}

static void mark_done(pp_relay_t *r, relay_job_t *j, int rc)
{
    pp_poller_t *p = r->p;
    r->marks_busy--;
    if (rc == PP_OK) {
        pp_debug("worker %s: relay: marked %zu rows (%zu rounds) in %lld ms", p->worker_id,
                 j->mark.n, j->mark.n_rounds, (long long)(pp_mono_ms() - j->t0));
        p->n_published += (long long)j->mark.n;
        pp_metrics_add(p->metrics, "pp_poller_outbox_published_total", (double)j->mark.n);
    } else {
        r->next_mark = pp_mono_ms() + 500; /* keep the rounds; mark them again */
    }
    pp_relay_mark_finish(&r->rounds, &j->mark, rc == PP_OK, r->no_advance ? NULL : &r->adv);
}

static void fetch_done(pp_relay_t *r, relay_job_t *j, int rc)
{
    pp_poller_t *p = r->p;
    if (rc != PP_OK || j->lost) {
        r->next_try = pp_mono_ms() + 500;
        return;
    }
    size_t n = (size_t)PQntuples(j->rows);
    pp_debug("worker %s: relay: fetched %zu rows in %lld ms (%zu rows in flight)", p->worker_id, n,
             (long long)(pp_mono_ms() - j->t0), r->rounds.n_rows);
    r->full = n >= (size_t)j->batch;
    r->more = r->more || r->full;
    if (n > 0) {
        take_round(r, j->rows);
        j->rows = NULL;
    }
    if (j->want_lag)
        r->lag = j->lag; /* the workers row's; the gauge is backlog.c's */
}

static void job_done(int rc, void *arg)
{
    relay_job_t *j = arg;
    pp_relay_t *r = j->r;
    pp_poller_t *p = r->p;
    if (j->kind == JOB_MARK) {
        mark_done(r, j, rc);
        goto out;
    }
    r->conn_busy = false;
    if (j->lost && j->kind != JOB_UNLOCK && j->kind != JOB_LOCK)
        lose_lock(r);
    (void)take_notified(r);
    switch (j->kind) {
    case JOB_LOCK:
        if (rc == PP_OK && j->got_lock) {
            pp_info("worker %s: relay: took the relay lock; reconciling", p->worker_id);
            r->have_lock = true;
            r->reconciled = false;
            r->more = true;
        }
        break;
    case JOB_RECONCILE:
        if (rc == PP_OK && !j->lost) {
            r->reconciled = true;
            r->need_reconcile = false;
            r->no_advance = false;
            pp_info("worker %s: relay: reconciled, %lld outbox rows were already in Kafka",
                    p->worker_id, j->marked);
            if (j->marked)
                pp_metrics_add(p->metrics, "pp_poller_outbox_reconciled_total", (double)j->marked);
        } else {
            r->next_try = pp_mono_ms() + 1000; /* retry the reconcile after a pause */
        }
        break;
    case JOB_FETCH: fetch_done(r, j, rc); break;
    case JOB_MARK: break;
    case JOB_UNLOCK:
        r->have_lock = false;
        r->lock_pid = 0;
        r->drained = true;
        pp_info("worker %s: relay: released the relay lock", p->worker_id);
        break;
    }
out:
    job_free(j);
    if (r->drained)
        p->progress(p);
    else
        kick(r);
}

static bool submit(pp_relay_t *r, job_kind_t kind)
{
    relay_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return false;
    j->r = r;
    j->kind = kind;
    int64_t now = pp_mono_ms();
    j->t0 = now;
    if (kind == JOB_LOCK)
        snprintf(j->db_url, sizeof j->db_url, "%s", r->p->cfg->db_url);
    if (kind == JOB_FETCH) {
        if (!(j->exclude = pp_relay_rounds_ids(&r->rounds))) {
            free(j);
            return false;
        }
        j->want_lag = now >= r->next_lag;
        if (j->want_lag)
            r->next_lag = now + LAG_EVERY_MS;
        j->batch = r->p->cfg->relay_batch;
        r->more = false;
        r->next_look = now + r->p->cfg->relay_interval_ms;
        r->last_fetch = now;
    }
    if (kind == JOB_MARK) {
        size_t n = pp_relay_rounds_ready(&r->rounds, 4 * (size_t)r->p->cfg->relay_batch);
        if (n > 0 && pp_relay_mark_build(&r->rounds, n, &j->mark) != PP_OK) {
            free(j);
            return false;
        }
        /* Rounds that left the head are marked, and so is every row before them. */
        j->adv = r->adv;
        memset(&r->adv, 0, sizeof r->adv);
    } else {
        watch_stop(r); /* the job's thread uses conn now */
        if (kind == JOB_UNLOCK || kind == JOB_LOCK)
            watch_close(r); /* the socket is closed or replaced */
    }
    if (pp_db_submit(r->p->db, job_work, job_done, j) != PP_OK) {
        if (kind == JOB_MARK)
            pp_relay_mark_finish(&r->rounds, &j->mark, false, NULL);
        job_free(j);
        return false;
    }
    if (kind == JOB_MARK)
        r->marks_busy++;
    else
        r->conn_busy = true;
    return true;
}

/* ---- the state machine: after every event, and every TICK_MS --------------------------- */

static bool may_fetch(const pp_relay_t *r)
{
    size_t batch = (size_t)r->p->cfg->relay_batch, cap = 8 * batch;
    if (cap > MAX_ROWS)
        cap = MAX_ROWS > batch ? MAX_ROWS : batch;
    return !r->refused && r->rounds.n_rounds < MAX_ROUNDS && r->rounds.n_rows + batch <= cap;
}

/* With the lock connection free: the next step that needs it, if any. */
static void next_on_conn(pp_relay_t *r, int64_t now)
{
    bool settled = !r->rounds.head && r->marks_busy == 0;
    if (!r->have_lock) {
        if (!settled) /* finish what was produced first */
            return;
        if (r->draining) {
            if (r->conn) {
                submit(r, JOB_UNLOCK);
            } else {
                r->drained = true;
                r->p->progress(r->p);
            }
        } else if (now >= r->next_lock_try) {
            r->next_lock_try = now + r->p->cfg->relay_lock_retry_ms;
            submit(r, JOB_LOCK);
        }
        return;
    }
    if (r->draining) {
        if (settled)
            submit(r, JOB_UNLOCK);
        return;
    }
    if (now < r->next_try)
        return;
    if (!r->reconciled || r->need_reconcile) {
        if (settled)
            submit(r, JOB_RECONCILE);
        return;
    }
    if (r->refused && settled) {
        r->refused = false; /* fetch again, from the oldest unpublished row, after a pause */
        r->next_try = now + 100;
        return;
    }
    int64_t gather = r->last_fetch + r->p->cfg->relay_linger_ms;
    bool wait = !r->full && (pp_relay_rounds_awaiting(&r->rounds) || now < gather);
    if (may_fetch(r) && (r->more || now >= r->next_look) && !wait)
        submit(r, JOB_FETCH);
    else if (r->more && now < gather)
        uv_timer_start(&r->timer, tick, (uint64_t)(gather - now), TICK_MS); /* then fetch */
    else
        watch_start(r);
}

static void kick(pp_relay_t *r)
{
    if (r->drained || r->closing)
        return;
    int64_t now = pp_mono_ms();
    if (r->draining && r->rounds.head && now > r->drain_deadline && !r->purged) {
        pp_warn("worker %s: relay: %zu rows unacknowledged at shutdown; the next relay reconciles",
                r->p->worker_id, r->rounds.n_rows);
        r->purged = true; /* their reports arrive as errors; the delivered ones are still marked */
        rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        while (rd_kafka_poll(r->rk, 0) > 0)
            ;
    }
    /* Marks side by side (a 2nd needs a batch ready); an empty one writes a left-over advance */
    size_t batch = (size_t)r->p->cfg->relay_batch;
    while (r->marks_busy < MAX_MARKS && now >= r->next_mark &&
           (r->marks_busy == 0 || pp_relay_rounds_ready_rows(&r->rounds, 4 * batch) >= batch) &&
           (pp_relay_rounds_ready(&r->rounds, 1) || (r->adv.n && r->marks_busy == 0)))
        if (!submit(r, JOB_MARK))
            break;
    if (!r->conn_busy && !r->drained)
        next_on_conn(r, now);
}

static void tick(uv_timer_t *t)
{
    pp_relay_t *r = t->data;
    while (rd_kafka_poll(r->rk, 0) > 0) /* in case the pipe's wake-up was missed */
        ;
    kick(r);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

/* librdkafka writes a byte to the pipe when its main queue (delivery reports) gets an event. */
static int kafka_wakeup_init(pp_relay_t *r)
{
    if (pp_kafka_wakeup_pipe(r->rk, r->kafka_pipe) != PP_OK) {
        pp_error("relay: pipe: %s", strerror(errno));
        return PP_EIO;
    }
    if (uv_poll_init(r->p->loop, &r->kafka_poll, r->kafka_pipe[0]) != 0) {
        pp_error("relay: cannot watch librdkafka's queue");
        return PP_EIO;
    }
    r->kafka_poll.data = r;
    r->handles++;
    r->kafka_watched = true;
    uv_poll_start(&r->kafka_poll, UV_READABLE, kafka_readable);
    return PP_OK;
}

static void relay_free(pp_relay_t *r)
{
    if (r->rk) {
        rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->rk, 0);
        rd_kafka_destroy(r->rk);
    }
    for (int i = 0; i < 2; i++)
        if (r->kafka_pipe[i] >= 0)
            close(r->kafka_pipe[i]);
    if (r->conn)
        PQfinish(r->conn);
    pp_relay_rounds_free(&r->rounds);
    pp_relay_advance_clear(&r->adv);
    free(r);
}

int pp_relay_start(pp_poller_t *p, pp_relay_t **out)
{
    pp_relay_t *r = calloc(1, sizeof *r);
    if (!r)
        return PP_ENOMEM;
    r->p = p;
    r->kafka_pipe[0] = r->kafka_pipe[1] = -1;
    int rc = pp_kafka_producer_new(p->cfg, dr_cb, r, &r->rk);
    if (rc) {
        free(r);
        return rc;
    }
    uv_timer_init(p->loop, &r->timer);
    r->timer.data = r;
    r->handles++;
    if ((rc = kafka_wakeup_init(r))) {
        pp_relay_close(r);
        return rc;
    }
    uv_timer_start(&r->timer, tick, 0, TICK_MS);
    *out = r;
    return PP_OK;
}

bool pp_relay_drain(pp_relay_t *r)
{
    if (!r)
        return true;
    if (!r->draining) {
        r->draining = true;
        r->drain_deadline = pp_mono_ms() + DRAIN_TIMEOUT_MS;
        /* At the next turn: the relay's progress must not call back up from in here. */
        uv_timer_start(&r->timer, tick, 0, TICK_MS);
    }
    return r->drained && !r->conn_busy && r->marks_busy == 0;
}

bool pp_relay_active(const pp_relay_t *r) { return r && r->have_lock && r->reconciled; }
long long pp_relay_lag(const pp_relay_t *r) { return r ? r->lag : 0; }

static void handle_closed(uv_handle_t *h)
{
    pp_relay_t *r = h->data;
    if (--r->handles == 0 && r->closing)
        relay_free(r);
}

void pp_relay_close(pp_relay_t *r)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, handle_closed);
    if (r->kafka_watched)
        uv_close((uv_handle_t *)&r->kafka_poll, handle_closed);
    watch_close(r);
}
