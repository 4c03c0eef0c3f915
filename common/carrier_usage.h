/* carrier_usage.h - the carrier_usage table: each carrier's requests per UTC day, split between the pollers and the bots (SQL for pp_db work functions). */
#ifndef PP_CARRIER_USAGE_H
#define PP_CARRIER_USAGE_H

#include <libpq-fe.h>

/*
 * Rows are (carrier, day). "<carrier>" is the fleet row: `requests` counts every request sent
 * that day, `reserved` every request granted to some process (used or still held), never
 * more than <carrier>_per_day. Pollers hold grants from it (pp_carrier_usage_grant) and
 * give back what they did not use. The bots' share lives in a second row "bot:<carrier>":
 * its `reserved` is the part of the share set aside in the fleet row (so the pollers' grants
 * leave it alone), its `requests` the bots' calls. Both rows are always locked bot row
 * first; pollers lock only the fleet row, so no lock cycle is possible.
 * day is "YYYY-MM-DD" (UTC). Each function returns 0 or PP_EDB / PP_EPARSE.
 */
#define PP_CARRIER_USAGE_BOT_PREFIX "bot:"

/* ---- pollers: run inside the caller's transaction --------------------------------------- */

/* Add `used` requests sent on `day` and give back `give_back` unused granted ones. */
int pp_carrier_usage_flush(PGconn *conn, const char *carrier, const char *day, long used,
                           long give_back) __attribute__((warn_unused_result));
/*
 * Under the fleet row's lock: grant this process its share of what is left of per_day
 * (pp_budget_day_grant with `live` pollers, `held` still held, at most `cap`). *grant is the
 * number added to `reserved`; *requests and *reserved the row after it.
 */
int pp_carrier_usage_grant(PGconn *conn, const char *carrier, const char *day, long per_day,
                           int live, long held, long cap, long *grant, long long *requests,
                           long long *reserved) __attribute__((warn_unused_result));

/* ---- bots: each function is one transaction ---------------------------------------------- */

typedef enum {
    PP_CARRIER_USAGE_GRANTED = 0, /* one request taken: call the carrier */
    PP_CARRIER_USAGE_SPENT,       /* the bots' share for today is used up */
    PP_CARRIER_USAGE_FLEET_FULL   /* the fleet reserved the day before the bots got their share */
} pp_carrier_usage_verdict_t;

typedef struct pp_carrier_usage_rows {
    long long bot_requests, bot_reserved, fleet_requests, fleet_reserved; /* after the change */
} pp_carrier_usage_rows_t;

/* The bots' share of a day quota: per_day * pct / 100, rounded down; 0 when per_day <= 0. */
long pp_carrier_usage_bot_share(long per_day, long pct);
/*
 * Reserve what is missing of the bots' share (as far as the fleet row has room), then take
 * one request from it (requests + 1 in both rows). per_day <= 0 (no quota): always granted,
 * requests and reserved + 1 in both rows (the call is only counted).
 */
int pp_carrier_usage_bot_take(PGconn *conn, const char *carrier, const char *day, long per_day,
                              long share, pp_carrier_usage_verdict_t *verdict,
                              pp_carrier_usage_rows_t *rows) __attribute__((warn_unused_result));
/* Reserve what is missing of the bots' share, take nothing (the periodic top-up). */
int pp_carrier_usage_bot_reserve(PGconn *conn, const char *carrier, const char *day, long per_day,
                                 long share, pp_carrier_usage_rows_t *rows)
    __attribute__((warn_unused_result));
/* n requests taken were not sent after all: requests - n in both rows (still reserved). */
int pp_carrier_usage_bot_untake(PGconn *conn, const char *carrier, const char *day, long n)
    __attribute__((warn_unused_result));
/* Graceful stop: give the unused part of the bots' reservation back to the fleet row. */
int pp_carrier_usage_bot_release(PGconn *conn, const char *carrier, const char *day)
    __attribute__((warn_unused_result));

#endif
