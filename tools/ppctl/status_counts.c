/* status_counts.c - the whole-table totals `ppctl wait` follows and `ppctl status` opens with: shipments by status, outbox, ledger, live workers, the bots' counters. */
#include "status.h"

#include "db.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_COUNTS                                                                                \
    "(SELECT count(*) FROM workers WHERE kind = 'poller' AND stopped_at IS NULL "                  \
    "  AND heartbeat_at > now() - interval '15 seconds'), "                                        \
    "(SELECT count(*) FROM workers WHERE kind = 'notifier' AND stopped_at IS NULL "                \
    "  AND heartbeat_at > now() - interval '15 seconds')"

static long long ll(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Runs sql (no parameters, one row) and stores its column i into *out[i]; a NULL out[i] skips
 * the column. 0 or PP_EDB (printed). */
static int one_row(PGconn *c, const char *what, const char *sql, int n, long long *const out[])
{
    PGresult *r;
    if (pp_db_exec(c, what, sql, 0, NULL, &r))
        return PP_EDB;
    for (int i = 0; i < n; i++)
        if (out[i])
            *out[i] = ll(r, 0, i);
    PQclear(r);
    return PP_OK;
}

/* Above this many shipments (the planner's count) `ppctl status` estimates the totals: the
 * exact counts scan the tables (2 to 3 s at 10 M shipments), everything else it reads is
 * bounded. */
#define EXACT_MAX_ROWS 1000000

/* Shipments (or notifications) per status (state) as the planner's statistics say: the
 * column's most common values' frequencies times the table's row count (hot table only). */
static const char *const EST_SQL =
    "SELECT u.v, round(u.f * greatest(c.reltuples, 0))::bigint, 0 "
    "FROM pg_class c JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = $1 "
    "  AND s.attname = $2 AND NOT s.inherited, "
    "  unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS u(v, f) "
    "WHERE c.oid = $1::regclass ORDER BY 2 DESC, 1";

static int by_status(PGconn *c, bool exact, ppctl_counts_t *s)
{
    PGresult *r;
    const char *p[] = {"shipments", "status"};
    if (pp_db_exec(c, "shipments by status",
                   exact ? "SELECT status, count(*), count(*) FILTER (WHERE next_poll_at <= now()) "
                           "FROM shipments GROUP BY 1 ORDER BY min(progress), 1"
                         : EST_SQL,
                   exact ? 0 : 2, exact ? NULL : p, &r))
        return PP_EDB;
    for (int i = 0; i < PQntuples(r) && i < 16; i++) {
        snprintf(s->status_names[i], sizeof s->status_names[i], "%s", PQgetvalue(r, i, 0));
        s->by_status[i] = ll(r, i, 1);
        s->total += s->by_status[i];
        s->due += ll(r, i, 2);
        if (!strcmp(s->status_names[i], "delivered") || !strcmp(s->status_names[i], "returned") ||
            !strcmp(s->status_names[i], "expired"))
            s->terminal += s->by_status[i];
        s->n_status++;
    }
    PQclear(r);
    return PP_OK;
}

/* The estimates of the outbox and the ledger; the due and unpublished rows counted up to caps. */
static int estimates(PGconn *c, ppctl_counts_t *s)
{
    PGresult *r;
    const char *p[] = {"notifications", "state"};
    if (pp_db_exec(c, "ledger estimate", EST_SQL, 2, p, &r))
        return PP_EDB;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *st = PQgetvalue(r, i, 0);
        long long n = ll(r, i, 1);
        *(!strcmp(st, "sent")          ? &s->sent
          : !strncmp(st, "skipped", 7) ? &s->skipped
          : !strcmp(st, "sending")     ? &s->sending
                                       : &s->failed) += n;
    }
    PQclear(r);
    long long *const out[] = {&s->events, &s->unpublished, &s->due};
    return one_row(c, "outbox estimate",
                   "SELECT greatest((SELECT reltuples FROM pg_class WHERE oid = 'outbox'::regclass), 0)::bigint, "
                   "(SELECT count(*) FROM (SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 100000) u), "
                   "(SELECT count(*) FROM (SELECT 1 FROM ONLY shipments WHERE next_poll_at <= now() "
                   "                       LIMIT 10000) d)",
                   3, out);
}

int ppctl_counts_take(PGconn *c, rd_kafka_t *rk, const ppctl_t *ctl, bool exact, ppctl_counts_t *s)
{
    PGresult *r;
    memset(s, 0, sizeof *s);
    if (!exact) {
        if (pp_db_exec(c, "shipments size",
                       "SELECT reltuples FROM pg_class WHERE oid = 'shipments'::regclass", 0, NULL, &r))
            return PP_EDB;
        exact = strtod(PQgetvalue(r, 0, 0), NULL) < EXACT_MAX_ROWS;
        PQclear(r);
    }
    s->estimated = !exact;
    if (by_status(c, exact, s) || (!exact && estimates(c, s)))
        return PP_EDB;
    /* estimated: the first six columns are 0 placeholders, the estimates stay */
    long long *const counts[] = {&s->events,         &s->unpublished,     &s->sent,
                                 &s->skipped,        &s->sending,         &s->failed,
                                 &s->workers_poller, &s->workers_notifier};
    long long *const live_only[] =
        {NULL, NULL, NULL, NULL, NULL, NULL, &s->workers_poller, &s->workers_notifier};
    if (one_row(c, "outbox and ledger counts",
                exact ? "SELECT (SELECT count(*) FROM outbox), "
                        "(SELECT count(*) FROM outbox WHERE published_at IS NULL), "
                        "(SELECT count(*) FROM notifications WHERE state = 'sent'), "
                        "(SELECT count(*) FROM notifications WHERE state LIKE 'skipped%'), "
                        "(SELECT count(*) FROM notifications WHERE state = 'sending'), "
                        "(SELECT count(*) FROM notifications WHERE state = 'failed'), " LIVE_COUNTS
                      : "SELECT 0, 0, 0, 0, 0, 0, " LIVE_COUNTS,
                8, exact ? counts : live_only))
        return PP_EDB;
    long long *const bot[] = {&s->workers_bot,         &s->bot_asks,          &s->bot_db,
                              &s->bot_live_calls,      &s->bot_coalesced,     &s->bot_refused_quota,
                              &s->bot_refused_breaker, &s->bot_refused_paused};
    if (one_row(c, "bot workers",
                "SELECT count(*), sum((counters->>'asks')::bigint), "
                "sum((counters->>'answered_db')::bigint), sum((counters->>'live_calls')::bigint), "
                "sum((counters->>'coalesced')::bigint), sum((counters->>'refused_quota')::bigint), "
                "sum((counters->>'refused_breaker')::bigint), "
                "sum((counters->>'refused_paused')::bigint) "
                "FROM workers WHERE kind = 'bot' AND stopped_at IS NULL "
                "  AND heartbeat_at > now() - interval '15 seconds'",
                8, bot))
        return PP_EDB;
    s->lag = rk ? ppctl_consumer_lag(rk, ctl->cfg.topic) : -1;
    return PP_OK;
}

void ppctl_counts_line(FILE *out, const ppctl_counts_t *s)
{
    fprintf(out, "shipments %lld:", s->total);
    for (int i = 0; i < s->n_status; i++)
        fprintf(out, " %s %lld", s->status_names[i], s->by_status[i]);
    fprintf(out, " | events %lld published %lld | IMs sent %lld skipped %lld failed %lld | lag ",
            s->events, s->events - s->unpublished, s->sent, s->skipped, s->failed);
    if (s->lag < 0)
        fprintf(out, "?");
    else
        fprintf(out, "%lld", s->lag);
}

void ppctl_counts_json(const ppctl_counts_t *s, cJSON *st)
{
    cJSON_AddBoolToObject(st, "estimated", s->estimated);
    cJSON_AddNumberToObject(st, "shipments", (double)s->total);
    cJSON_AddNumberToObject(st, "terminal", (double)s->terminal);
    cJSON_AddNumberToObject(st, "due", (double)s->due);
    cJSON *bs = cJSON_AddObjectToObject(st, "by_status");
    for (int i = 0; i < s->n_status; i++)
        cJSON_AddNumberToObject(bs, s->status_names[i], (double)s->by_status[i]);
    cJSON_AddNumberToObject(st, "events", (double)s->events);
    cJSON_AddNumberToObject(st, "unpublished", (double)s->unpublished);
    cJSON *n = cJSON_AddObjectToObject(st, "notifications");
    cJSON_AddNumberToObject(n, "sent", (double)s->sent);
    cJSON_AddNumberToObject(n, "skipped", (double)s->skipped);
    cJSON_AddNumberToObject(n, "sending", (double)s->sending);
    cJSON_AddNumberToObject(n, "failed", (double)s->failed);
    cJSON *live = cJSON_AddObjectToObject(st, "live");
    cJSON_AddNumberToObject(live, "poller", (double)s->workers_poller);
    cJSON_AddNumberToObject(live, "notifier", (double)s->workers_notifier);
    cJSON_AddNumberToObject(live, "bot", (double)s->workers_bot);
    cJSON *b = cJSON_AddObjectToObject(st, "bot");
    cJSON_AddNumberToObject(b, "asks", (double)s->bot_asks);
    cJSON_AddNumberToObject(b, "answered_db", (double)s->bot_db);
    cJSON_AddNumberToObject(b, "live_calls", (double)s->bot_live_calls);
    cJSON_AddNumberToObject(b, "coalesced", (double)s->bot_coalesced);
    cJSON_AddNumberToObject(b, "refused_quota", (double)s->bot_refused_quota);
    cJSON_AddNumberToObject(b, "refused_breaker", (double)s->bot_refused_breaker);
    cJSON_AddNumberToObject(b, "refused_paused", (double)s->bot_refused_paused);
    if (s->lag < 0)
        cJSON_AddNullToObject(st, "consumer_lag");
    else
        cJSON_AddNumberToObject(st, "consumer_lag", (double)s->lag);
}
