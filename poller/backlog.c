/*
 * backlog.c - the fleet's gauges that come from counting rows: the due backlog per carrier
 * (shipments due now and not leased) and the outbox's lag (unpublished rows, the oldest one's
 * age). One poller in the fleet counts them, the one holding the relay lock, every
 * BACKLOG_EVERY_MS on the pool; the others show 0, so a sum or a max over the fleet is the
 * count. Each count stops at a cap, so it stays cheap at 10 M shipments: the due backlog walks
 * the partial index shipments_due in due order (with 550,000 of 10 M due: 25-50 ms at the
 * 10,000 cap, 600-700 ms at a 100,000 cap, so 10,000: above the 8 x 800 the KEDA trigger
 * needs), the outbox lag the partial index outbox_unpublished (schema/sql/0001_init.sql).
 */
#include "poller.h"
#include "err.h"
#include "log.h"
#include "numparse.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG_EVERY_MS 10000
#define BACKLOG_CAP "10000" /* due rows counted at most (in all carriers) */
#define OUTBOX_CAP "100000" /* unpublished rows counted at most */
#define MAX_CARRIERS 64

static const char due_sql[] =
    "SELECT carrier, count(*) FROM (SELECT carrier FROM ONLY shipments "
    "  WHERE next_poll_at <= now() AND (lease_until IS NULL OR lease_until < now()) "
    "  ORDER BY next_poll_at LIMIT " BACKLOG_CAP ") due GROUP BY carrier";

static const char outbox_sql[] =
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE published_at IS NULL "
    "                              LIMIT " OUTBOX_CAP ") u), "
    "       coalesce(extract(epoch FROM now() - (SELECT created_at FROM outbox "
    "                WHERE published_at IS NULL ORDER BY id LIMIT 1)), 0)";

typedef struct backlog_job {
    pp_poller_t *p;
    int n;
    struct {
        char carrier[32];
        long long due;
    } rows[MAX_CARRIERS];
    long long unpublished;
    double oldest_s;
} backlog_job_t;

static int count_work(PGconn *conn, void *arg)
{
    backlog_job_t *j = arg;
    PGresult *r = NULL;
    int rc = pp_db_exec(conn, "count the due backlog", due_sql, 0, NULL, &r);
    for (int i = 0; rc == PP_OK && i < PQntuples(r) && j->n < MAX_CARRIERS; i++) {
        snprintf(j->rows[j->n].carrier, sizeof j->rows[j->n].carrier, "%s", PQgetvalue(r, i, 0));
        if (pp_parse_ll(PQgetvalue(r, i, 1), &j->rows[j->n].due) == 0)
            j->n++;
    }
    PQclear(r);
    r = NULL;
    if (rc == PP_OK)
        rc = pp_db_exec(conn, "count the outbox lag", outbox_sql, 0, NULL, &r);
    if (rc == PP_OK && PQntuples(r) == 1) {
        if (pp_parse_ll(PQgetvalue(r, 0, 0), &j->unpublished) != 0)
            j->unpublished = 0;
        j->oldest_s = strtod(PQgetvalue(r, 0, 1), NULL);
    }
    PQclear(r);
    return rc;
}

/* Every registered carrier gets a series (0 when none is due); the holder's counts on top. */
static void show(pp_poller_t *p, const backlog_job_t *j)
{
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    for (size_t i = 0; i < n; i++) {
        char s[96];
        long long due = 0;
        for (int k = 0; j && k < j->n; k++)
            if (strcmp(j->rows[k].carrier, all[i]->name) == 0)
                due = j->rows[k].due;
        snprintf(s, sizeof s, "pp_poller_due_backlog{carrier=\"%s\"}", all[i]->name);
        pp_metrics_set(p->metrics, s, (double)due);
    }
    pp_metrics_set(p->metrics, "pp_poller_relay_lag", j ? (double)j->unpublished : 0);
    pp_metrics_set(p->metrics, "pp_poller_relay_oldest_age_seconds", j ? j->oldest_s : 0);
}

static void count_done(int rc, void *arg)
{
    backlog_job_t *j = arg;
    pp_poller_t *p = j->p;
    p->backlog_counting = false;
    if (rc == PP_OK && pp_relay_active(p->relay))
        show(p, j);
    else if (rc != PP_OK)
        pp_warn("worker %s: counting the due backlog failed: %s", p->worker_id, pp_strerror(rc));
    free(j);
    p->progress(p);
}

void pp_backlog_tick(pp_poller_t *p)
{
    int64_t now = pp_mono_ms();
    if (p->phase != PP_POLLER_RUNNING || p->backlog_counting || now < p->backlog_next_ms)
        return;
    if (!pp_relay_active(p->relay)) {
        show(p, NULL); /* another poller counts: a sum over the fleet stays the count */
        p->backlog_next_ms = now + 1000; /* count soon after taking the relay lock */
        return;
    }
    p->backlog_next_ms = now + BACKLOG_EVERY_MS;
    backlog_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->p = p;
    if (pp_db_submit(p->db, count_work, count_done, j) != PP_OK) {
        free(j);
        return;
    }
    p->backlog_counting = true;
}

void pp_backlog_declare(pp_poller_t *p)
{
    pp_metrics_help(p->metrics, "pp_poller_due_backlog", "gauge",
                    "shipments due now and not leased, by carrier (counted by the relay holder "
                    "every 10 s, up to " BACKLOG_CAP " in all; 0 on the other pollers)");
    pp_metrics_help(p->metrics, "pp_poller_relay_lag", "gauge",
                    "unpublished outbox rows (counted by the relay holder every 10 s, up "
                    "to " OUTBOX_CAP "; 0 on the other pollers)");
    pp_metrics_help(p->metrics, "pp_poller_relay_oldest_age_seconds", "gauge",
                    "age of the oldest unpublished outbox row (relay holder; 0 when none, and "
                    "on the other pollers)");
    show(p, NULL);
}
