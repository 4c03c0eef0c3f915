/* status_db.c - the fleet as Postgres sees it for `ppctl status`: each worker's row, each carrier's state, the relay and the outbox, the last minute's rates. Every query is bounded (an index range or a LIMIT), so it stays cheap at 10 M shipments. */
#include "status.h"

#include "budget.h"
#include "carriers/carrier.h"
#include "db.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A worker is live while its heartbeat is younger than this (as the poller's budget count). */
#define LIVE_SQL "stopped_at IS NULL AND heartbeat_at > now() - interval '15 seconds'"
/* Due shipments looked at for the backlog and its lateness: the oldest ones, at most this many. */
#define DUE_CAP 10000
#define OUTBOX_CAP 100000

static void add_num_or_null(cJSON *o, const char *name, PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, strtod(PQgetvalue(r, row, col), NULL));
}

/* Workers that are live, or were seen in the last hour (stopped, or silent: crashed or cut off). */
static int add_workers(PGconn *c, cJSON *st)
{
    PGresult *r;
    /* the ops address column is metrics_addr or ops_addr, depending on the schema's age */
    if (pp_db_exec(c, "workers",
                   "SELECT id, kind, host, pid, "
                   "  coalesce(to_jsonb(w)->>'ops_addr', to_jsonb(w)->>'metrics_addr'), "
                   "  to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                   "  round(extract(epoch FROM now() - heartbeat_at)::numeric, 1), "
                   "  CASE WHEN stopped_at IS NOT NULL THEN 'stopped' "
                   "       WHEN heartbeat_at > now() - interval '15 seconds' THEN 'live' "
                   "       ELSE 'silent' END, counters::text "
                   "FROM workers w WHERE stopped_at IS NULL OR heartbeat_at > now() - interval '1 hour' "
                   "ORDER BY kind, started_at, id LIMIT 1000",
                   0, NULL, &r))
        return PP_EDB;
    cJSON *arr = cJSON_AddArrayToObject(st, "workers");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *w = cJSON_CreateObject();
        cJSON_AddStringToObject(w, "id", PQgetvalue(r, i, 0));
        cJSON_AddStringToObject(w, "kind", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(w, "host", PQgetvalue(r, i, 2));
        cJSON_AddNumberToObject(w, "pid", strtod(PQgetvalue(r, i, 3), NULL));
        if (PQgetisnull(r, i, 4))
            cJSON_AddNullToObject(w, "ops_addr");
        else
            cJSON_AddStringToObject(w, "ops_addr", PQgetvalue(r, i, 4));
        cJSON_AddStringToObject(w, "started", PQgetvalue(r, i, 5));
        add_num_or_null(w, "heartbeat_age_s", r, i, 6);
        cJSON_AddStringToObject(w, "state", PQgetvalue(r, i, 7));
        cJSON *counters = cJSON_Parse(PQgetvalue(r, i, 8));
        cJSON_AddItemToObject(w, "counters", counters ? counters : cJSON_CreateObject());
        cJSON_AddItemToArray(arr, w);
    }
    PQclear(r);
    return PP_OK;
}

/* Row of carrier `name` in r (column 0), or -1. */
static int row_of(PGresult *r, const char *name)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), name) == 0)
            return i;
    return -1;
}

static double num(PGresult *r, int row, int col)
{
    return row < 0 || PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

/* One carrier's object from the three results (the live pollers' and bots' counters, usage
 * today, due rows); n_clients: those processes (each has its own breaker). */
static cJSON *carrier_obj(const ppctl_t *ctl, const char *name, PGresult *live, PGresult *usage,
                          PGresult *due, long long n_clients)
{
    long rps, per_day;
    pp_budget_limits(&ctl->cfg, name, &rps, &per_day);
    int l = row_of(live, name), u = row_of(usage, name), d = row_of(due, name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "carrier", name);
    const char *breaker = num(live, l, 1) > 0   ? "open"
                          : num(live, l, 2) > 0 ? "half_open"
                                                : "closed";
    cJSON_AddStringToObject(o, "breaker", breaker);
    cJSON_AddNumberToObject(o, "breaker_not_closed", num(live, l, 1) + num(live, l, 2));
    cJSON_AddNumberToObject(o, "clients", (double)n_clients);
    cJSON_AddNumberToObject(o, "rate_limited_5m", num(live, l, 4));
    cJSON_AddNumberToObject(o, "errors_5m", num(live, l, 5));
    cJSON_AddNumberToObject(o, "requests_per_s", num(live, l, 3) / 60.0);
    cJSON_AddNumberToObject(o, "limit_per_s", (double)rps);
    cJSON_AddNumberToObject(o, "requests_today", num(usage, u, 1));
    cJSON_AddNumberToObject(o, "limit_per_day", (double)per_day);
    cJSON_AddNumberToObject(o, "due", num(due, d, 1));
    if (d < 0) {
        cJSON_AddNullToObject(o, "late_p50_s");
        cJSON_AddNullToObject(o, "late_p99_s");
        cJSON_AddNullToObject(o, "late_max_s");
    } else {
        add_num_or_null(o, "late_p50_s", due, d, 2);
        add_num_or_null(o, "late_p99_s", due, d, 3);
        add_num_or_null(o, "late_max_s", due, d, 4);
    }
    return o;
}

static const char *const CARRIERS_LIVE_SQL =
    "SELECT key, count(*) FILTER (WHERE value->>'breaker' = 'open'), "
    "  count(*) FILTER (WHERE value->>'breaker' = 'half_open'), "
    "  sum((value->>'requests_60s')::bigint), sum((value->>'rate_limited_5m')::bigint), "
    "  sum((value->>'errors_5m')::bigint) "
    "FROM workers, jsonb_each(CASE WHEN jsonb_typeof(counters->'carriers') = 'object' "
    "                         THEN counters->'carriers' ELSE '{}' END) "
    "WHERE kind IN ('poller', 'bot') AND " LIVE_SQL " GROUP BY key";

/* Shipments due and not leased (waiting for a poller), the oldest DUE_CAP of them: how many
 * per carrier and how late (now - next_poll_at) at the median, the 99th percentile, the most. */
static const char *const CARRIERS_DUE_SQL =
    "SELECT carrier, count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY late)::numeric, 3), "
    "  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY late)::numeric, 3), "
    "  round(max(late)::numeric, 3), sum(count(*)) OVER () "
    "FROM (SELECT carrier, extract(epoch FROM now() - next_poll_at) AS late FROM ONLY shipments "
    "      WHERE next_poll_at <= now() AND (lease_until IS NULL OR lease_until < now()) "
    "      ORDER BY next_poll_at LIMIT $1::int) due GROUP BY carrier";

static int add_carriers(PGconn *c, const ppctl_t *ctl, cJSON *st)
{
    PGresult *live = NULL, *usage = NULL, *due = NULL, *np = NULL;
    char cap[16];
    snprintf(cap, sizeof cap, "%d", DUE_CAP);
    const char *p[] = {cap};
    int rc = PP_EDB;
    if (pp_db_exec(c, "carriers: pollers' counters", CARRIERS_LIVE_SQL, 0, NULL, &live) ||
        pp_db_exec(c, "carriers: usage today",
                   "SELECT carrier, requests FROM carrier_usage "
                   "WHERE day = (now() AT TIME ZONE 'UTC')::date",
                   0, NULL, &usage) ||
        pp_db_exec(c, "carriers: due shipments", CARRIERS_DUE_SQL, 1, p, &due) ||
        pp_db_exec(c, "live pollers",
                   "SELECT count(*) FROM workers WHERE kind = 'poller' AND " LIVE_SQL, 0, NULL, &np))
        goto out;
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    cJSON *arr = cJSON_AddArrayToObject(st, "carriers");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, carrier_obj(ctl, all[i]->name, live, usage, due,
                                              (long long)num(np, 0, 0)));
    double due_seen = PQntuples(due) ? num(due, 0, 5) : 0;
    cJSON *d = cJSON_AddObjectToObject(st, "due_backlog");
    cJSON_AddNumberToObject(d, "waiting", due_seen);
    cJSON_AddBoolToObject(d, "capped", due_seen >= DUE_CAP); /* at least that many */
    rc = PP_OK;
out:
    PQclear(live);
    PQclear(usage);
    PQclear(due);
    PQclear(np);
    return rc;
}

/* The relay's holder (the live poller whose counters say it relays) and the outbox's lag. */
static int add_relay(PGconn *c, cJSON *st)
{
    PGresult *r;
    char cap[16];
    snprintf(cap, sizeof cap, "%d", OUTBOX_CAP);
    const char *p[] = {cap};
    if (pp_db_exec(c, "relay and outbox",
                   "SELECT (SELECT id FROM workers WHERE kind = 'poller' AND " LIVE_SQL
                   "          AND counters->>'relay' = 'true' ORDER BY heartbeat_at DESC LIMIT 1), "
                   "  (SELECT host FROM workers WHERE kind = 'poller' AND " LIVE_SQL
                   "          AND counters->>'relay' = 'true' ORDER BY heartbeat_at DESC LIMIT 1), "
                   "  (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE published_at IS NULL "
                   "                         LIMIT $1::int) u), "
                   "  round(extract(epoch FROM now() - (SELECT created_at FROM outbox "
                   "      WHERE published_at IS NULL ORDER BY id LIMIT 1))::numeric, 3)",
                   1, p, &r))
        return PP_EDB;
    cJSON *relay = cJSON_AddObjectToObject(st, "relay");
    if (PQgetisnull(r, 0, 0)) {
        cJSON_AddNullToObject(relay, "holder");
        cJSON_AddNullToObject(relay, "host");
    } else {
        cJSON_AddStringToObject(relay, "holder", PQgetvalue(r, 0, 0));
        cJSON_AddStringToObject(relay, "host", PQgetvalue(r, 0, 1));
    }
    cJSON *ob = cJSON_AddObjectToObject(st, "outbox");
    cJSON_AddNumberToObject(ob, "unpublished", num(r, 0, 2));
    cJSON_AddBoolToObject(ob, "capped", num(r, 0, 2) >= OUTBOX_CAP);
    add_num_or_null(ob, "oldest_unpublished_age_s", r, 0, 3);
    PQclear(r);
    return PP_OK;
}

/* Events detected and IMs acknowledged in the last minute (indexes of schema 0010). An IM
 * decided more than 10 minutes before it was sent (a recovery) is not counted. */
static int add_rates(PGconn *c, cJSON *st)
{
    PGresult *r;
    if (pp_db_exec(c, "rates",
                   "SELECT (SELECT count(*) FROM ONLY shipment_events "
                   "        WHERE detected_at > now() - interval '60 seconds'), "
                   "  (SELECT count(*) FROM notifications WHERE created_at > now() - interval '10 minutes' "
                   "        AND sent_at > now() - interval '60 seconds')",
                   0, NULL, &r))
        return PP_EDB;
    cJSON *rates = cJSON_AddObjectToObject(st, "rates");
    cJSON_AddNumberToObject(rates, "window_s", 60);
    cJSON_AddNumberToObject(rates, "events_per_s", num(r, 0, 0) / 60.0);
    cJSON_AddNumberToObject(rates, "ims_per_s", num(r, 0, 1) / 60.0);
    PQclear(r);
    return PP_OK;
}

int ppctl_status_db(PGconn *c, const ppctl_t *ctl, cJSON *st)
{
    if (add_workers(c, st) || add_carriers(c, ctl, st) || add_relay(c, st) || add_rates(c, st))
        return PP_EDB;
    return PP_OK;
}
