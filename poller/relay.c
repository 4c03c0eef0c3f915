/*
 * relay.c - outbox → Kafka. One relay fleet-wide (advisory lock on a dedicated connection);
 * on taking the lock it reconciles, then runs rounds: fetch a batch, produce it with the
 * idempotent producer, wait for every delivery report, mark the delivered rows (with
 * partition/offset) in one UPDATE; a failed report triggers a reconcile before any resend.
 */
#include "poller.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "timeutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_LOCK_KEY "7426510973312011" /* pg_try_advisory_lock(bigint): "pp-outbox-relay" */
#define TICK_MS 10
#define DRAIN_TIMEOUT_MS 15000
#define LAG_EVERY_MS 1000

typedef enum { JOB_LOCK, JOB_RECONCILE, JOB_FETCH, JOB_MARK, JOB_UNLOCK } job_kind_t;

typedef struct row {
    long long id;
    char event_id[37];
    char *topic, *key, *payload;
    int partition;
    long long offset;
    int state; /* 0 fetched, 1 produced, 2 delivered, 3 failed */
} row_t;

struct pp_relay {
    pp_poller_t *p;
    PGconn *conn; /* dedicated: holds the session advisory lock */
    int lock_pid; /* backend pid that holds the lock (0 = none) */
    bool have_lock, reconciled, need_reconcile, busy, draining, drained, closing, purged;
    rd_kafka_t *rk;
    uv_timer_t timer;
    row_t *rows; /* the current round */
    size_t n_rows;
    int outstanding; /* produced, no delivery report yet */
    bool round_full;
    int64_t next_lock_try, next_fetch, next_lag, drain_deadline;
    long long lag;
    long long n_reports;
};

typedef struct relay_job {
    pp_relay_t *r;
    job_kind_t kind;
    int rc;
    bool got_lock;
    bool lost; /* the lock's session is gone (connection reset) */
    long long marked;
    long long lag;
    bool want_lag;
    /* fetch result */
    row_t *rows;
    size_t n_rows;
    /* mark input */
    const char **ids;
    int *parts;
    long long *offs;
    size_t n_mark;
    bool advance;
    char db_url[512];
} relay_job_t;

static void free_rows(row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].topic);
        free(rows[i].key);
        free(rows[i].payload);
    }
    free(rows);
}

static void produce_round(pp_relay_t *r);

/* ---- work functions (threadpool; the pool connection is unused, r->conn is ours) ------ */

static bool lock_lost(pp_relay_t *r)
{
    return !r->conn || PQstatus(r->conn) != CONNECTION_OK || PQbackendPID(r->conn) != r->lock_pid;
}

/* Opens the relay's own connection (the lock is a session lock: it lives with the connection). */
static int relay_connect(pp_relay_t *r, const char *db_url)
{
    char err[512];
    r->conn = pp_db_connect(db_url, err, sizeof err);
    if (!r->conn) {
        pp_warn("relay: %s", err);
        return PP_EDB;
    }
    return PP_OK;
}

/* JOB_LOCK: tries to take the relay's advisory lock; j->got_lock says whether it did. */
static int job_lock(relay_job_t *j)
{
    pp_relay_t *r = j->r;
    PGresult *res = NULL;
    const char *p[] = {RELAY_LOCK_KEY};
    int rc =
        pp_db_exec(r->conn, "take relay lock", "SELECT pg_try_advisory_lock($1::bigint)", 1, p, &res);
    if (rc == PP_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        j->got_lock = true;
        r->lock_pid = PQbackendPID(r->conn);
    }
    PQclear(res);
    return rc;
}

/* JOB_FETCH: takes the next relay_batch unpublished outbox rows into j->rows (and the lag if asked). */
static int job_fetch(relay_job_t *j)
{
    pp_relay_t *r = j->r;
    PGresult *res = NULL;
    char batch[32];
    snprintf(batch, sizeof batch, "%ld", r->p->cfg->relay_batch);
    const char *p[] = {batch};
    int rc = pp_db_exec(r->conn, "fetch outbox",
                        /* RETURNING has no order of its own: sort, so that a shipment's
                         * events reach its partition in outbox (= sequence) order. */
                        "WITH u AS (UPDATE outbox SET attempts = attempts + 1 WHERE id IN "
                        "(SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id "
                        " LIMIT $1::int FOR UPDATE SKIP LOCKED) "
                        "RETURNING id, event_id, topic, msg_key, payload) "
                        "SELECT * FROM u ORDER BY id",
                        1, p, &res);
    if (rc)
        goto out;
    int n = PQntuples(res);
    j->rows = calloc((size_t)(n ? n : 1), sizeof *j->rows);
    if (!j->rows) {
        rc = PP_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        row_t *w = &j->rows[j->n_rows++];
        w->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        snprintf(w->event_id, sizeof w->event_id, "%s", PQgetvalue(res, i, 1));
        w->topic = strdup(PQgetvalue(res, i, 2));
        w->key = strdup(PQgetvalue(res, i, 3));
        w->payload = strdup(PQgetvalue(res, i, 4));
        if (!w->topic || !w->key || !w->payload)
            rc = PP_ENOMEM;
    }
    PQclear(res);
    res = NULL;
    if (rc == PP_OK && j->want_lag &&
        pp_db_exec(r->conn, "outbox lag", "SELECT count(*) FROM outbox WHERE published_at IS NULL",
                   0, NULL, &res) == PP_OK)
        j->lag = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
out:
    PQclear(res);
    return rc;
}

/* JOB_UNLOCK: releases the lock (if still ours) and closes the relay's connection. */
static void job_unlock(pp_relay_t *r)
{
    if (r->conn) {
        const char *p[] = {RELAY_LOCK_KEY};
        if (!lock_lost(r))
            (void)!pp_db_exec(r->conn, "release relay lock",
                              "SELECT pg_advisory_unlock($1::bigint)", 1, p, NULL);
        PQfinish(r->conn);
        r->conn = NULL;
    }
    r->lock_pid = 0;
}

static int job_work(PGconn *unused, void *arg)
{
    relay_job_t *j = arg;
    pp_relay_t *r = j->r;
    int rc = PP_OK;
    switch (j->kind) {
    case JOB_LOCK:
        if (!r->conn && (rc = relay_connect(r, j->db_url)))
            return rc;
        rc = job_lock(j);
        break;
    case JOB_RECONCILE: rc = pp_reconcile_run(r->conn, r->p->cfg, &j->marked); break;
    case JOB_FETCH: rc = job_fetch(j); break;
    case JOB_MARK:
        /* A failed report in this round: mark, but keep relay_offsets for the reconcile. */
        rc = pp_relay_mark(r->conn, j->ids, j->parts, j->offs, j->n_mark, j->advance);
        break;
    case JOB_UNLOCK: job_unlock(r); return PP_OK;
    }
    j->lost = lock_lost(r);
    return rc;
}

static void job_done(int rc, void *arg)
{
    relay_job_t *j = arg;
    pp_relay_t *r = j->r;
    pp_poller_t *p = r->p;
    r->busy = false;
    if (j->lost && j->kind != JOB_UNLOCK && r->have_lock) {
        pp_warn("worker %s: relay: lost the relay lock (database connection reset); will retake it "
                "and reconcile",
                p->worker_id);
        r->have_lock = false;
        r->reconciled = false;
        r->lock_pid = 0;
    }
    switch (j->kind) {
    case JOB_LOCK:
        if (rc == PP_OK && j->got_lock) {
            pp_info("worker %s: relay: took the relay lock; reconciling", p->worker_id);
            r->have_lock = true;
            r->reconciled = false;
        }
        break;
    case JOB_RECONCILE:
        if (rc == PP_OK && !j->lost) {
            r->reconciled = true;
            r->need_reconcile = false;
            pp_info("worker %s: relay: reconciled, %lld outbox rows were already in Kafka",
                    p->worker_id, j->marked);
            if (j->marked)
                pp_metrics_add(p->metrics, "pp_poller_outbox_reconciled_total", (double)j->marked);
        } else {
            r->next_fetch = pp_mono_ms() + 1000; /* retry the reconcile after a pause */
        }
        break;
    case JOB_FETCH:
        if (rc == PP_OK && !j->lost) {
            if (j->n_rows) {
                r->rows = j->rows;
                r->n_rows = j->n_rows;
                j->rows = NULL;
                r->round_full = r->n_rows >= (size_t)p->cfg->relay_batch;
                produce_round(r);
            } else {
                r->next_fetch = pp_mono_ms() + p->cfg->relay_interval_ms;
            }
            if (j->want_lag) {
                r->lag = j->lag;
                pp_metrics_set(p->metrics, "pp_poller_relay_lag", (double)r->lag);
            }
        }
        break;
    case JOB_MARK:
        if (rc == PP_OK) {
            p->n_published += (long long)j->n_mark;
            pp_metrics_add(p->metrics, "pp_poller_outbox_published_total", (double)j->n_mark);
            /* the round is over; a full one means more is waiting */
            free_rows(r->rows, r->n_rows);
            r->rows = NULL;
            r->n_rows = 0;
            r->next_fetch = r->round_full ? 0 : pp_mono_ms() + p->cfg->relay_interval_ms;
        } else {
            r->next_fetch = pp_mono_ms() + 500; /* keep the round; retry the mark */
        }
        free(j->ids);
        free(j->parts);
        free(j->offs);
        break;
    case JOB_UNLOCK:
        r->have_lock = false;
        r->drained = true;
        pp_info("worker %s: relay: released the relay lock", p->worker_id);
        break;
    }
    if (j->rows)
        free_rows(j->rows, j->n_rows);
    free(j);
    if (r->drained)
        p->progress(p);
}

static void submit(pp_relay_t *r, relay_job_t *j)
{
    j->r = r;
    snprintf(j->db_url, sizeof j->db_url, "%s", r->p->cfg->db_url);
    if (pp_db_submit(r->p->db, job_work, job_done, j) != PP_OK) {
        free(j);
        return;
    }
    r->busy = true;
}

/* ---- producer ------------------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    pp_relay_t *r = opaque;
    row_t *w = m->_private;
    r->outstanding--;
    r->n_reports++;
    if (!w)
        return;
    if (m->err) {
        w->state = 3;
        r->need_reconcile = true;
        r->p->n_publish_failed++;
        pp_metrics_add(r->p->metrics, "pp_poller_outbox_failed_total", 1);
        pp_warn("worker %s: relay: event %s (shipment %s) not acknowledged: %s; will reconcile",
                r->p->worker_id, w->event_id, w->key, rd_kafka_err2str(m->err));
        return;
    }
    w->state = 2;
    w->partition = m->partition;
    w->offset = m->offset;
    long crash = r->p->cfg->relay_crash_after_produce;
    if (crash > 0 && r->n_reports >= crash) {
        pp_warn("worker %s: relay: relay_crash_after_produce=%ld reached: SIGKILL before marking",
                r->p->worker_id, crash);
        raise(SIGKILL);
    }
}

static void produce_round(pp_relay_t *r)
{
    pp_poller_t *p = r->p;
    for (size_t i = 0; i < r->n_rows; i++) {
        row_t *w = &r->rows[i];
        if (w->state != 0)
            continue;
        rd_kafka_resp_err_t ke;
        int rc = pp_kafka_produce(r->rk, w->topic, w->key, w->payload, strlen(w->payload),
                                  w->event_id, w, &ke);
        if (rc) {
            /* Not handed to librdkafka: not sent; it stays unpublished for a later round. */
            w->state = 4;
            pp_warn("worker %s: relay: cannot produce event %s: %s", p->worker_id, w->event_id,
                    rd_kafka_err2str(ke));
            continue;
        }
        w->state = 1;
        r->outstanding++;
    }
}

static void start_mark(pp_relay_t *r)
{
    relay_job_t *j = calloc(1, sizeof *j);
    size_t n = 0;
    if (!j)
        return;
    j->ids = calloc(r->n_rows + 1, sizeof *j->ids);
    j->parts = calloc(r->n_rows + 1, sizeof *j->parts);
    j->offs = calloc(r->n_rows + 1, sizeof *j->offs);
    if (!j->ids || !j->parts || !j->offs) {
        free(j->ids);
        free(j->parts);
        free(j->offs);
        free(j);
        return;
    }
    bool failed = false;
    for (size_t i = 0; i < r->n_rows; i++) {
        if (r->rows[i].state == 3)
            failed = true;
        if (r->rows[i].state != 2)
            continue;
        j->ids[n] = r->rows[i].event_id;
        j->parts[n] = r->rows[i].partition;
        j->offs[n] = r->rows[i].offset;
        n++;
    }
    j->n_mark = n;
    j->advance = !failed;
    j->kind = JOB_MARK;
    submit(r, j);
}

/* ---- the state machine, run every TICK_MS --------------------------------------------- */

static void tick(uv_timer_t *t)
{
    pp_relay_t *r = t->data;
    pp_poller_t *p = r->p;
    rd_kafka_poll(r->rk, 0);
    if (r->busy || r->drained)
        return;
    int64_t now = pp_mono_ms();
    if (r->draining && r->outstanding > 0 && now > r->drain_deadline && !r->purged) {
        pp_warn("worker %s: relay: %d messages unacknowledged at shutdown; the next relay reconciles",
                p->worker_id, r->outstanding);
        r->purged = true; /* their reports arrive as errors; the delivered ones are still marked */
        rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
    if (r->rows) {
        /* A round is in progress: wait for all its reports, then mark it. */
        if (r->outstanding == 0 && now >= r->next_fetch)
            start_mark(r);
        return;
    }
    relay_job_t *j;
    if (!r->have_lock) {
        if (r->draining) {
            if (r->conn) {
                if ((j = calloc(1, sizeof *j))) {
                    j->kind = JOB_UNLOCK;
                    submit(r, j);
                }
            } else {
                r->drained = true;
                p->progress(p);
            }
            return;
        }
        if (now < r->next_lock_try)
            return;
        r->next_lock_try = now + p->cfg->relay_lock_retry_ms;
        if ((j = calloc(1, sizeof *j))) {
            j->kind = JOB_LOCK;
            submit(r, j);
        }
        return;
    }
    if (r->draining) {
        if ((j = calloc(1, sizeof *j))) {
            j->kind = JOB_UNLOCK;
            submit(r, j);
        }
        return;
    }
    if (now < r->next_fetch)
        return;
    if (!r->reconciled || r->need_reconcile) {
        if ((j = calloc(1, sizeof *j))) {
            j->kind = JOB_RECONCILE;
            submit(r, j);
        }
        return;
    }
    if (!(j = calloc(1, sizeof *j)))
        return;
    j->kind = JOB_FETCH;
    if (now >= r->next_lag) {
        j->want_lag = true;
        r->next_lag = now + LAG_EVERY_MS;
    }
    submit(r, j);
}

int pp_relay_start(pp_poller_t *p, pp_relay_t **out)
{
    pp_relay_t *r = calloc(1, sizeof *r);
    if (!r)
        return PP_ENOMEM;
    r->p = p;
    int rc = pp_kafka_producer_new(p->cfg, dr_cb, r, &r->rk);
    if (rc) {
        free(r);
        return rc;
    }
    uv_timer_init(p->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, tick, TICK_MS, TICK_MS);
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
    }
    return r->drained && !r->busy;
}

bool pp_relay_active(const pp_relay_t *r) { return r && r->have_lock && r->reconciled; }
long long pp_relay_lag(const pp_relay_t *r) { return r ? r->lag : 0; }

static void timer_closed(uv_handle_t *h)
{
    pp_relay_t *r = h->data;
    if (r->rk) {
        rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->rk, 0);
        rd_kafka_destroy(r->rk);
    }
    if (r->conn)
        PQfinish(r->conn);
    free_rows(r->rows, r->n_rows);
    free(r);
}

void pp_relay_close(pp_relay_t *r)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, timer_closed);
}
