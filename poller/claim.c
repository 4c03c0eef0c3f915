/* claim.c - claim due shipments in batches under a lease (FOR UPDATE SKIP LOCKED). */
#include "poller.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "numparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct claim_job {
    pp_poller_t *p;
    int want;
    int got;
    pp_claimed_t *rows;
    char me[128];
    long lease_s;
    int64_t submitted_ms; /* monotonic: the leases start no earlier */
} claim_job_t;

/* ONLY: due shipments are in the hot table, never in shipments_archive (schema/sql/0009). The
 * scan walks the partial index shipments_due, which holds polled shipments only. */
static const char claim_sql[] =
    "UPDATE ONLY shipments SET lease_owner = $1, lease_until = now() + $2::int * interval '1 second' "
    "WHERE id IN (SELECT id FROM ONLY shipments "
    "             WHERE next_poll_at <= now() AND (lease_until IS NULL OR lease_until < now()) "
    "             ORDER BY next_poll_at LIMIT $3::int FOR UPDATE SKIP LOCKED) "
    "RETURNING id, transaction_id, carrier, tracking_number, status, progress, sequence, "
    "          (extract(epoch FROM last_event_at))::bigint, "
    "          (extract(epoch FROM last_change_at) * 1000)::bigint, consecutive_errors, "
    "          (extract(epoch FROM now()) * 1000)::bigint, "
    "          (extract(epoch FROM entered_at) * 1000)::bigint, "
    "          (extract(epoch FROM last_polled_at) * 1000)::bigint, polls, "
    "          (extract(epoch FROM next_poll_at) * 1000)::bigint";

static const pp_db_stmt_t claim_stmt = {"claim_shipments", claim_sql, 3};

static bool get_ll(PGresult *r, int row, int col, long long *out)
{
    return !PQgetisnull(r, row, col) && pp_parse_ll(PQgetvalue(r, row, col), out) == 0;
}

/* The claimed row's state, from which the write-back applies the poll (writeback.c). */
static void read_state(PGresult *r, int row, pp_claimed_t *c)
{
    pp_apply_state_t *st = &c->st;
    long long v;
    if (pp_status_parse(PQgetvalue(r, row, 4), &st->status) != 0)
        st->status = PP_ST_INFO_RECEIVED;
    if (get_ll(r, row, 5, &v))
        st->progress = (int)v;
    if (get_ll(r, row, 6, &v))
        st->sequence = v;
    if (get_ll(r, row, 7, &v)) {
        st->has_last_event = true;
        st->last_event_at = (time_t)v;
    }
    if (get_ll(r, row, 8, &v))
        st->last_change_ms = v;
    if (get_ll(r, row, 9, &v))
        st->consecutive_errors = (int)v;
    if (!get_ll(r, row, 10, &c->db_now_ms))
        c->db_now_ms = pp_now_ms();
    long long entered_ms = 0;
    get_ll(r, row, 11, &entered_ms);
    get_ll(r, row, 12, &c->last_polled_ms);
    get_ll(r, row, 13, &c->polls);
    if (!get_ll(r, row, 14, &c->next_poll_ms))
        c->next_poll_ms = c->db_now_ms;
    /* never seen by the carrier: the not-found grace period counts from the entry */
    if (!st->has_last_event)
        st->not_found_since_ms = entered_ms;
}

static int claim_work(PGconn *conn, void *arg)
{
    claim_job_t *j = arg;
    char lease[32], n[32];
    snprintf(lease, sizeof lease, "%ld", j->lease_s);
    snprintf(n, sizeof n, "%d", j->want);
    const char *params[] = {j->me, lease, n};
    PGresult *r = NULL;
    int rc = pp_db_exec_stmt(conn, "claim shipments", &claim_stmt, params, &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    j->rows = calloc((size_t)(rows ? rows : 1), sizeof *j->rows);
    if (!j->rows) {
        rc = PP_ENOMEM;
        goto done;
    }
    for (int i = 0; i < rows; i++) {
        pp_claimed_t *c = &j->rows[j->got];
        if (pp_parse_ll(PQgetvalue(r, i, 0), &c->id) ||
            pp_parse_ll(PQgetvalue(r, i, 1), &c->transaction_id))
            continue;
        snprintf(c->carrier, sizeof c->carrier, "%s", PQgetvalue(r, i, 2));
        snprintf(c->tracking_number, sizeof c->tracking_number, "%s", PQgetvalue(r, i, 3));
        read_state(r, i, c);
        j->got++;
    }
done:
    PQclear(r);
    return rc;
}

/* How late each claimed shipment is polled: the database's now minus its due time, both from
 * the claim's own row (no query of its own). Poller autoscaling and the dashboard read it. */
static void observe_lateness(pp_poller_t *p, const claim_job_t *j)
{
    pp_metric_t *s = NULL; /* the series of the carrier of the row before, while the same */
    const char *carrier = NULL;
    for (int i = 0; i < j->got; i++) {
        const pp_claimed_t *c = &j->rows[i];
        if (!carrier || strcmp(carrier, c->carrier) != 0) {
            char labels[64];
            snprintf(labels, sizeof labels, "carrier=\"%s\"", c->carrier);
            s = pp_metrics_histogram(p->metrics, "pp_poller_poll_lateness_seconds", labels);
            carrier = c->carrier;
        }
        long long late_ms = c->db_now_ms - c->next_poll_ms;
        pp_metric_observe(s, late_ms > 0 ? (double)late_ms / 1000.0 : 0.0);
    }
}

static void claim_done(int rc, void *arg)
{
    claim_job_t *j = arg;
    pp_poller_t *p = j->p;
    p->claims_running--;
    p->claim_reserved -= j->want;
    if (rc == PP_OK) {
        p->n_claims++;
        p->n_claimed += j->got;
        pp_metrics_add(p->metrics, "pp_poller_claims_total", 1);
        pp_metrics_add(p->metrics, "pp_poller_claimed_shipments_total", j->got);
        observe_lateness(p, j);
        p->backlog = j->got == j->want;
        if (j->got)
            pp_debug("worker %s: claimed %d shipments", p->worker_id, j->got);
        /* Claimed during shutdown: still polled and written back (the lease is ours). */
        for (int i = 0; i < j->got; i++) {
            j->rows[i].claimed_ms = j->submitted_ms;
            pp_dispatch(p, &j->rows[i]);
        }
    } else {
        pp_warn("worker %s: claim failed: %s", p->worker_id, pp_strerror(rc));
        p->backlog = false;
    }
    free(j->rows);
    free(j);
    p->progress(p);
}

/*
 * Claims on their way at once. One claim's round trip (the UPDATE, queued behind write-backs
 * for a pool connection) left the carrier requests freed meanwhile idle: with a second claim
 * on its way they are refilled as they free. FOR UPDATE SKIP LOCKED keeps the two apart.
 */
#define CLAIMS_MAX 2

/*
 * How many shipments a claim may bring now. poll_concurrency bounds carrier requests in
 * flight: a shipment answered and waiting for its write-back holds a lease but no request.
 * The leases held stay under twice poll_concurrency, so a slow database cannot make the
 * answers waiting for it pile up without end.
 */
static long room(const pp_poller_t *p)
{
    long conc = p->cfg->poll_concurrency;
    long requests = (long)p->inflight - p->answered + p->claim_reserved;
    long leases = (long)p->inflight + p->claim_reserved;
    long r = conc - requests;
    if (r > 2 * conc - leases)
        r = 2 * conc - leases;
    return r > p->cfg->poll_batch ? p->cfg->poll_batch : r;
}

void pp_claim_tick(pp_poller_t *p)
{
    while (p->phase == PP_POLLER_RUNNING && p->claims_running < CLAIMS_MAX) {
        long want = room(p);
        /* A second claim only for a fair share: many tiny claims cost more than they bring. */
        long least = 1;
        if (p->claims_running) {
            long batch = p->cfg->poll_batch < p->cfg->poll_concurrency ? p->cfg->poll_batch
                                                                       : p->cfg->poll_concurrency;
            least = batch / 4 > 1 ? batch / 4 : 1;
        }
        if (want < least)
            return;
        claim_job_t *j = calloc(1, sizeof *j);
        if (!j)
            return;
        j->p = p;
        j->want = (int)want;
        j->lease_s = p->cfg->lease_s;
        snprintf(j->me, sizeof j->me, "%s", p->worker_id);
        j->submitted_ms = pp_mono_ms();
        if (pp_db_submit(p->db, claim_work, claim_done, j) != PP_OK) {
            free(j);
            return;
        }
        p->claims_running++;
        p->claim_reserved += j->want;
    }
}
