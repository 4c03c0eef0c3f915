/* quota.h - the bot's share of each carrier's fleet day quota, kept in carrier_usage (SQL for pp_db work functions). */
#ifndef PP_BOT_QUOTA_H
#define PP_BOT_QUOTA_H

#include "timeutil.h"

#include <libpq-fe.h>

/*
 * Two carrier_usage rows per carrier and UTC day, always locked in this order (bot row
 * first; pollers lock only the fleet row, so no cycle is possible):
 *   "bot:<carrier>"  requests = live calls by every pp-bot today, reserved = how much of the
 *                    bot's share is set aside for it in the fleet row (used or not);
 *   "<carrier>"      the fleet row the pollers split: the bot's reservation is part of its
 *                    `reserved` and the bot's calls of its `requests`, so the pollers' grants,
 *                    (per_day - reserved) / live pollers, leave the bot's share alone and the
 *                    fleet as a whole never goes over per_day.
 * Day is "YYYY-MM-DD" (UTC). Each function is one transaction; 0 or PP_EDB / PP_EPARSE.
 */
#define PP_BOT_QUOTA_ROW_PREFIX "bot:"

typedef enum {
    PP_BOT_QUOTA_GRANTED = 0, /* one request taken: call the carrier */
    PP_BOT_QUOTA_SPENT,       /* the bot's share for today is used up */
    PP_BOT_QUOTA_FLEET_FULL   /* the fleet reserved the day quota before the bot got its share */
} pp_bot_quota_verdict_t;

typedef struct pp_bot_quota_rows {
    long long bot_requests, bot_reserved, fleet_requests, fleet_reserved; /* after the change */
} pp_bot_quota_rows_t;

/* The bot's share of a day quota: per_day * pct / 100, rounded down; 0 when per_day <= 0. */
long pp_bot_quota_share(long per_day, long pct);

/*
 * Reserve what is missing of the bot's share (as far as the fleet row has room), then take
 * one request from it (requests + 1 in both rows). per_day <= 0 (no quota): always granted,
 * requests and reserved + 1 in both rows (the call is only counted).
 */
int pp_bot_quota_take(PGconn *conn, const char *carrier, const char *day, long per_day, long share,
                      pp_bot_quota_verdict_t *verdict, pp_bot_quota_rows_t *rows)
    __attribute__((warn_unused_result));
/* Reserve what is missing of the bot's share, take nothing (the periodic top-up). */
int pp_bot_quota_reserve(PGconn *conn, const char *carrier, const char *day, long per_day,
                         long share, pp_bot_quota_rows_t *rows) __attribute__((warn_unused_result));
/* n requests taken were not sent after all: requests - n in both rows (still reserved). */
int pp_bot_quota_untake(PGconn *conn, const char *carrier, const char *day, long n)
    __attribute__((warn_unused_result));
/* Graceful stop: give the unused part of the bot's reservation back to the fleet row. */
int pp_bot_quota_release(PGconn *conn, const char *carrier, const char *day)
    __attribute__((warn_unused_result));

/* "YYYY-MM-DD" of a UTC day number (days since 1970-01-01). */
static inline void pp_bot_quota_day_text(long long day, char out[16]) { pp_time_day_text(day, out); }

#endif
