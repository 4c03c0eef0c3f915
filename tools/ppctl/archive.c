/* archive.c - `ppctl archive`: finished transactions' shipments and events moved out of the hot tables (schema/sql/0009); then the outbox and the ledger cleaned (retention.c). */
#include "ppctl.h"

#include "db.h"
#include "retention.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* When a shipment finished: its last status change, last poll or replacement. */
#define FINISHED_AT "greatest(s.last_change_at, s.last_polled_at, s.replaced_at)"

/* The next batch of finished shipments older than the retention, after the cursor, in the
 * order of the shipments_finished index (so a run never reads the same row twice). */
static const char next_sql[] =
    "SELECT " FINISHED_AT "::text, s.id, s.transaction_id FROM ONLY shipments s "
    "WHERE s.next_poll_at IS NULL "
    "  AND " FINISHED_AT " < now() - make_interval(days => $1::int) "
    "  AND (" FINISHED_AT ", s.id) > ($2::timestamptz, $3::bigint) "
    "ORDER BY " FINISHED_AT ", s.id LIMIT $4::int";

/* A transaction moves whole, so that replaced_by never points out of the hot table. Nothing
 * of it may be polled, leased or finished within the retention. */
#define ALL_FINISHED(t)                                                                            \
    "NOT EXISTS (SELECT 1 FROM ONLY shipments s WHERE s.transaction_id = " t " AND "               \
    "(s.next_poll_at IS NOT NULL OR s.lease_owner IS NOT NULL OR " FINISHED_AT                     \
    " >= now() - make_interval(days => $2::int)))"

/* pp_shipment_enter locks the transaction before it adds or changes a shipment of it: a
 * transaction held by one is skipped, and one locked here cannot change until the commit. */
static const char lock_sql[] = "SELECT t.id FROM transactions t WHERE t.id = ANY($1::bigint[]) "
                               "AND " ALL_FINISHED("t.id") " FOR UPDATE OF t SKIP LOCKED";

/* Checked again under the lock (a new snapshot: an entry committed before the lock is seen). */
static const char move_sql[] =
    "WITH txn AS (SELECT u.id FROM unnest($1::bigint[]) AS u(id) WHERE " ALL_FINISHED(
        "u.id") "), "
                "ev AS (DELETE FROM ONLY shipment_events e USING ONLY shipments s, txn "
                "       WHERE e.shipment_id = s.id AND s.transaction_id = txn.id RETURNING e.*), "
                "ev_in AS (INSERT INTO shipment_events_archive SELECT * FROM ev RETURNING 1), "
                "sh AS (DELETE FROM ONLY shipments s USING txn WHERE s.transaction_id = txn.id RETURNING s.*), "
                "sh_in AS (INSERT INTO shipments_archive SELECT * FROM sh RETURNING transaction_id) "
                "SELECT count(DISTINCT transaction_id), count(*), (SELECT count(*) FROM ev_in) FROM sh_in";

typedef struct run {
    PGconn *c;
    char days[24], batch[24];
    char cur_at[64], cur_id[24]; /* the cursor: the last candidate seen */
    long long txns, shipments, events, batches;
} run_t;

/* "{a,b,...}": column col of every row of r, as a bigint[] literal (malloc'd; NULL if out of memory). */
static char *id_array(PGresult *r, int col)
{
    int n = PQntuples(r);
    size_t cap = (size_t)n * 21 + 3, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[len++] = '{';
    for (int i = 0; i < n; i++) {
        const char *v = PQgetvalue(r, i, col);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len > 1 ? "," : "", v);
    }
    snprintf(buf + len, cap - len, "}");
    return buf;
}

/* One batch in one transaction: the candidates, their transactions locked, moved. Returns
 * 1 if there were candidates, 0 at the end, negative on error. */
static int archive_batch(run_t *run)
{
    PGresult *r = NULL, *locked = NULL;
    char *cands = NULL, *ids = NULL;
    int rc = pp_db_begin(run->c);
    if (rc)
        return rc;
    const char *p1[] = {run->days, run->cur_at, run->cur_id, run->batch};
    if ((rc = pp_db_exec(run->c, "archive: candidates", next_sql, 4, p1, &r)))
        goto fail;
    int n = PQntuples(r);
    if (n == 0) {
        pp_db_rollback(run->c);
        PQclear(r);
        return 0;
    }
    snprintf(run->cur_at, sizeof run->cur_at, "%s", PQgetvalue(r, n - 1, 0));
    snprintf(run->cur_id, sizeof run->cur_id, "%s", PQgetvalue(r, n - 1, 1));
    if (!(cands = id_array(r, 2))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    const char *p2[] = {cands, run->days};
    if ((rc = pp_db_exec(run->c, "archive: lock transactions", lock_sql, 2, p2, &locked)))
        goto fail;
    if (!(ids = id_array(locked, 0))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    PQclear(r);
    r = NULL;
    const char *p3[] = {ids, run->days};
    if ((rc = pp_db_exec(run->c, "archive: move", move_sql, 2, p3, &r)))
        goto fail;
    run->txns += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    run->shipments += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    run->events += strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    if ((rc = pp_db_commit(run->c)))
        goto done;
    run->batches++;
    rc = 1;
    goto done;
fail:
    pp_db_rollback(run->c);
done:
    PQclear(r);
    PQclear(locked);
    free(cands);
    free(ids);
    return rc;
}

#define USAGE                                                                                      \
    "usage: ppctl archive [--after-days D] [--outbox-days D|off] [--ledger-days D|off] "           \
    "[--batch N]\n"

/* "--name D|off": days in [min, 36500], or -1 for off. */
static int days_opt(int argc, char **argv, int *i, long long min, long long *out)
{
    const char *opt = argv[*i], *v = ppctl_optarg(argc, argv, i);
    if (v && strcmp(v, "off") == 0) {
        *out = -1;
        return 0;
    }
    return !v || ppctl_parse_ll(opt, v, min, 36500, out);
}

/* The ledger's part: only when every topic Kafka may deliver an event from again drops it
 * sooner than the ledger would (retention.c). Returns 0, or 1 when the ledger was kept. */
static int prune_ledger(ppctl_t *ctl, PGconn *c, long long days, long long batch)
{
    char err[512];
    long long max_ms, n;
    if (ppctl_topics_retention(&ctl->cfg, &max_ms, err, sizeof err)) {
        fprintf(stderr,
                "ppctl archive: ledger kept whole: cannot tell how long Kafka keeps events (%s); "
                "a ledger row must outlive every copy of its event (or pass --ledger-days off)\n",
                err);
        return 1;
    }
    if (days * 86400000LL <= max_ms) {
        fprintf(stderr,
                "ppctl archive: ledger kept whole: --ledger-days %lld is not longer than the "
                "topics' retention (%.1f days): an event Kafka delivers again after its ledger "
                "row went would be sent twice; pass more days\n",
                days, (double)max_ms / 86400000.0);
        return 1;
    }
    int rc = ppctl_prune_ledger(c, days, batch, &n);
    if (rc) {
        fprintf(stderr, "ppctl archive: ledger clean-up stopped: %s\n", pp_strerror(rc));
        return 1;
    }
    printf("dropped %lld settled notifications older than %lld days (topics keep events %.1f "
           "days)\n",
           n, days, (double)max_ms / 86400000.0);
    return 0;
}

int ppctl_archive(ppctl_t *ctl, int argc, char **argv)
{
    long long days = 7, batch = 1000, outbox_days = 7, ledger_days = 30;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--after-days") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--after-days", v, 0, 36500, &days))
                return 2;
        } else if (strcmp(argv[i], "--outbox-days") == 0) {
            if (days_opt(argc, argv, &i, 0, &outbox_days))
                return 2;
        } else if (strcmp(argv[i], "--ledger-days") == 0) {
            if (days_opt(argc, argv, &i, 1, &ledger_days))
                return 2;
        } else if (strcmp(argv[i], "--batch") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) || ppctl_parse_ll("--batch", v, 1, 100000, &batch))
                return 2;
        } else {
            fprintf(stderr, USAGE);
            return 2;
        }
    }
    run_t run = {.c = ppctl_connect(ctl)};
    if (!run.c)
        return 1;
    snprintf(run.days, sizeof run.days, "%lld", days);
    snprintf(run.batch, sizeof run.batch, "%lld", batch);
    snprintf(run.cur_at, sizeof run.cur_at, "-infinity");
    snprintf(run.cur_id, sizeof run.cur_id, "0");
    int rc;
    while ((rc = archive_batch(&run)) == 1)
        ;
    if (rc < 0) {
        fprintf(stderr, "ppctl archive: stopped after %lld batches: %s\n", run.batches,
                pp_strerror(rc));
        PQfinish(run.c);
        return 1;
    }
    printf("archived %lld transactions (%lld shipments, %lld events) finished more than %lld "
           "days ago, in %lld batches\n",
           run.txns, run.shipments, run.events, days, run.batches);
    int status = 0;
    long long n;
    if (outbox_days >= 0) {
        if ((rc = ppctl_prune_outbox(run.c, outbox_days, batch, &n))) {
            fprintf(stderr, "ppctl archive: outbox clean-up stopped: %s\n", pp_strerror(rc));
            status = 1;
        } else
            printf("dropped %lld outbox rows published more than %lld days ago\n", n, outbox_days);
    }
    if (ledger_days >= 0 && prune_ledger(ctl, run.c, ledger_days, batch))
        status = 1;
    PQfinish(run.c);
    return status;
}
