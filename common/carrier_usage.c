/* carrier_usage.c - the carrier_usage table: the pollers' day grants and the bots' day share (SQL only). */
#include "carrier_usage.h"
#include "budget.h"
#include "db.h"
#include "err.h"
#include "numparse.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- pollers ------------------------------------------------------------------------------- */

int pp_carrier_usage_flush(PGconn *conn, const char *carrier, const char *day, long used, long give_back)
{
    char u[32], b[32];
    snprintf(u, sizeof u, "%ld", used);
    snprintf(b, sizeof b, "%ld", give_back);
    const char *p[] = {carrier, day, u, b};
    return pp_db_exec(conn, "flush carrier usage",
                      "INSERT INTO carrier_usage (carrier, day, requests, reserved) "
                      "VALUES ($1, $2::date, $3::bigint, $3::bigint) "
                      "ON CONFLICT (carrier, day) DO UPDATE SET "
                      " requests = carrier_usage.requests + $3::bigint, "
                      " reserved = GREATEST(carrier_usage.reserved - $4::bigint, "
                      "                     carrier_usage.requests + $3::bigint), "
                      " updated_at = now()",
                      4, p, NULL);
}

int pp_carrier_usage_grant(PGconn *conn, const char *carrier, const char *day, long per_day, int live,
                           long held, long cap, long *grant, long long *requests, long long *reserved)
{
    PGresult *r = NULL;
    const char *p[] = {carrier, day};
    *grant = 0;
    int rc = pp_db_exec(conn, "create carrier usage row",
                        "INSERT INTO carrier_usage (carrier, day) VALUES ($1, $2::date) "
                        "ON CONFLICT (carrier, day) DO NOTHING",
                        2, p, NULL);
    if (rc)
        return rc;
    rc = pp_db_exec(conn, "lock carrier usage",
                    "SELECT requests, reserved FROM carrier_usage "
                    "WHERE carrier = $1 AND day = $2::date FOR UPDATE",
                    2, p, &r);
    if (rc)
        return rc;
    if (PQntuples(r) != 1 || pp_parse_ll(PQgetvalue(r, 0, 0), requests) ||
        pp_parse_ll(PQgetvalue(r, 0, 1), reserved)) {
        PQclear(r);
        return PP_EPARSE;
    }
    PQclear(r);
    long g = pp_budget_day_grant(per_day, (long)*reserved, live, held, cap);
    if (g <= 0)
        return PP_OK;
    char gs[32];
    snprintf(gs, sizeof gs, "%ld", g);
    const char *up[] = {carrier, day, gs};
    rc = pp_db_exec(conn, "reserve carrier usage",
                    "UPDATE carrier_usage SET reserved = reserved + $3::bigint, updated_at = now() "
                    "WHERE carrier = $1 AND day = $2::date",
                    3, up, NULL);
    if (rc)
        return rc;
    *grant = g;
    *reserved += g;
    return PP_OK;
}

/* ---- bots ---------------------------------------------------------------------------------- */

long pp_carrier_usage_bot_share(long per_day, long pct)
{
    if (per_day <= 0 || pct <= 0)
        return 0;
    if (pct >= 100)
        return per_day;
    return (long)((long long)per_day * pct / 100);
}

/* Inside a transaction: create both rows if missing, lock them (bot row first), read them. */
static int lock_rows(PGconn *conn, const char *carrier, const char *day, pp_carrier_usage_rows_t *r)
{
    char bot[64];
    PGresult *res = NULL;
    snprintf(bot, sizeof bot, PP_CARRIER_USAGE_BOT_PREFIX "%s", carrier);
    const char *p[] = {carrier, bot, day};
    int rc = pp_db_exec(conn, "create carrier usage rows",
                        "INSERT INTO carrier_usage (carrier, day) VALUES ($2, $3::date), ($1, $3::date) "
                        "ON CONFLICT (carrier, day) DO NOTHING",
                        3, p, NULL);
    if (rc)
        return rc;
    rc = pp_db_exec(conn, "lock carrier usage rows",
                    "SELECT carrier = $2, requests, reserved FROM carrier_usage "
                    "WHERE day = $3::date AND carrier IN ($1, $2) ORDER BY carrier = $2 DESC FOR UPDATE",
                    3, p, &res);
    if (rc)
        return rc;
    bool got_bot = false, got_fleet = false;
    for (int i = 0; i < PQntuples(res); i++) {
        bool is_bot = PQgetvalue(res, i, 0)[0] == 't';
        long long *req = is_bot ? &r->bot_requests : &r->fleet_requests;
        long long *resv = is_bot ? &r->bot_reserved : &r->fleet_reserved;
        if (pp_parse_ll(PQgetvalue(res, i, 1), req) || pp_parse_ll(PQgetvalue(res, i, 2), resv)) {
            PQclear(res);
            return PP_EPARSE;
        }
        *(is_bot ? &got_bot : &got_fleet) = true;
    }
    PQclear(res);
    return got_bot && got_fleet ? PP_OK : PP_EPARSE;
}

static int write_rows(PGconn *conn, const char *carrier, const char *day,
                      const pp_carrier_usage_rows_t *r)
{
    char bot[64], breq[32], bres[32], freq[32], fres[32];
    snprintf(bot, sizeof bot, PP_CARRIER_USAGE_BOT_PREFIX "%s", carrier);
    snprintf(breq, sizeof breq, "%lld", r->bot_requests);
    snprintf(bres, sizeof bres, "%lld", r->bot_reserved);
    snprintf(freq, sizeof freq, "%lld", r->fleet_requests);
    snprintf(fres, sizeof fres, "%lld", r->fleet_reserved);
    const char *p[] = {carrier, bot, day, breq, bres, freq, fres};
    return pp_db_exec(conn, "update carrier usage rows",
                      "UPDATE carrier_usage SET updated_at = now(), "
                      " requests = CASE WHEN carrier = $2 THEN $4::bigint ELSE $6::bigint END, "
                      " reserved = CASE WHEN carrier = $2 THEN $5::bigint ELSE $7::bigint END "
                      "WHERE day = $3::date AND carrier IN ($1, $2)",
                      7, p, NULL);
}

/* Reserve what is missing of the share, as far as the fleet row has room. */
static void top_up(pp_carrier_usage_rows_t *r, long per_day, long share)
{
    long long want = share - r->bot_reserved, room = per_day - r->fleet_reserved;
    long long g = want < room ? want : room;
    if (g > 0) {
        r->bot_reserved += g;
        r->fleet_reserved += g;
    }
}

typedef enum { OP_TAKE, OP_RESERVE, OP_UNTAKE, OP_RELEASE } op_t;

static int bot_run(PGconn *conn, op_t op, const char *carrier, const char *day, long per_day,
                   long share, long n, pp_carrier_usage_verdict_t *verdict,
                   pp_carrier_usage_rows_t *out)
{
    pp_carrier_usage_rows_t r = {0};
    bool changed = true;
    int rc = pp_db_begin(conn);
    if (rc)
        return rc;
    if ((rc = lock_rows(conn, carrier, day, &r)) != 0)
        goto fail;
    switch (op) {
    case OP_TAKE:
        if (per_day <= 0) { /* no quota: count the call */
            *verdict = PP_CARRIER_USAGE_GRANTED;
            r.bot_requests++;
            r.fleet_requests++;
            if (r.bot_reserved < r.bot_requests)
                r.bot_reserved = r.bot_requests;
            if (r.fleet_reserved < r.fleet_requests)
                r.fleet_reserved = r.fleet_requests;
            break;
        }
        top_up(&r, per_day, share);
        if (r.bot_requests < r.bot_reserved && r.bot_requests < share) {
            *verdict = PP_CARRIER_USAGE_GRANTED;
            r.bot_requests++;
            r.fleet_requests++;
        } else {
            *verdict = r.bot_requests >= share ? PP_CARRIER_USAGE_SPENT : PP_CARRIER_USAGE_FLEET_FULL;
        }
        break;
    case OP_RESERVE: top_up(&r, per_day, share); break;
    case OP_UNTAKE:
        r.bot_requests = r.bot_requests > n ? r.bot_requests - n : 0;
        r.fleet_requests = r.fleet_requests > n ? r.fleet_requests - n : 0;
        break;
    case OP_RELEASE: {
        long long unused = r.bot_reserved - r.bot_requests;
        changed = unused > 0;
        if (changed) {
            r.bot_reserved -= unused;
            r.fleet_reserved -= unused;
            if (r.fleet_reserved < r.fleet_requests)
                r.fleet_reserved = r.fleet_requests;
        }
        break;
    }
    }
    if (changed && (rc = write_rows(conn, carrier, day, &r)) != 0)
        goto fail;
    if ((rc = pp_db_commit(conn)) != 0)
        goto fail;
    if (out)
        *out = r;
    return PP_OK;
fail:
    pp_db_rollback(conn);
    return rc;
}

int pp_carrier_usage_bot_take(PGconn *conn, const char *carrier, const char *day, long per_day,
                              long share, pp_carrier_usage_verdict_t *verdict,
                              pp_carrier_usage_rows_t *rows)
{
    *verdict = PP_CARRIER_USAGE_SPENT;
    return bot_run(conn, OP_TAKE, carrier, day, per_day, share, 0, verdict, rows);
}

int pp_carrier_usage_bot_reserve(PGconn *conn, const char *carrier, const char *day, long per_day,
                                 long share, pp_carrier_usage_rows_t *rows)
{
    return bot_run(conn, OP_RESERVE, carrier, day, per_day, share, 0, NULL, rows);
}

int pp_carrier_usage_bot_untake(PGconn *conn, const char *carrier, const char *day, long n)
{
    return bot_run(conn, OP_UNTAKE, carrier, day, 0, 0, n, NULL, NULL);
}

int pp_carrier_usage_bot_release(PGconn *conn, const char *carrier, const char *day)
{
    return bot_run(conn, OP_RELEASE, carrier, day, 0, 0, 0, NULL, NULL);
}
