/* budget.h - carrier request budgets: a per-second token bucket and the fleet's per-day split (pure). */
#ifndef PP_BUDGET_H
#define PP_BUDGET_H

#include "config.h"

#include <stdint.h>

/*
 * Token bucket: refills at `rate` tokens/s up to `capacity`; one token = one carrier request
 * (whatever the number of tracking numbers in it). With capacity 1 consecutive requests are
 * at least 1/rate apart, so a poller sends at most ceil(rate) requests in any 1-second window.
 * rate <= 0 means unlimited. Times are monotonic milliseconds supplied by the caller.
 */
typedef struct pp_bucket {
    double rate;     /* tokens per second; <= 0 = unlimited */
    double capacity; /* at least 1 */
    double tokens;
    int64_t last_ms; /* time of the last refill */
} pp_bucket_t;

/* Starts full. */
void pp_bucket_init(pp_bucket_t *b, double rate, double capacity, int64_t now_ms);
/* Change the rate (e.g. the live-poller count changed); accrued tokens are kept, capped. */
void pp_bucket_set_rate(pp_bucket_t *b, double rate, int64_t now_ms);
/* Set rate and capacity if either differs (a reload changed the limit); accrued tokens are
 * kept, capped at the new capacity. */
void pp_bucket_retune(pp_bucket_t *b, double rate, double capacity, int64_t now_ms);
/* Milliseconds until one token is available (0 = now). */
int64_t pp_bucket_wait_ms(pp_bucket_t *b, int64_t now_ms);
/* Take one token: 0 on success, else the wait in ms (>= 1) and nothing is taken. */
int64_t pp_bucket_take(pp_bucket_t *b, int64_t now_ms);
/* Expected wait before `n` more requests have gone out after the next one (for deferrals). */
int64_t pp_bucket_queue_ms(const pp_bucket_t *b, long n);

/* This poller's share of a fleet-wide per-second limit: limit / live (0 = unlimited). */
double pp_budget_share(long fleet_limit, int live);

/*
 * Per-day split. The fleet's counter carrier_usage.reserved holds every request granted to
 * some poller today (used or still held); a poller asks for more only under the row lock.
 * Returns how many requests to add to this poller's holding: its share of what is left,
 * (per_day - reserved) / live (at least 1 while anything is left, so the tail of the day is
 * not wasted), limited to `cap` held at a time, never more than what is left. 0 when the
 * holding is already at the target or the day is spent. per_day <= 0: unlimited, returns 0.
 */
long pp_budget_day_grant(long per_day, long reserved, int live, long held, long cap);
/* Most requests a poller should hold at once: enough for 2 sync periods at its rate share
 * (rate <= 0: 1 % of its day share), at least 1. */
long pp_budget_day_cap(long per_day, int live, double rate_share, long sync_ms);

/* UTC day number (days since 1970-01-01) of a wall-clock time, and ms until the next one. */
long long pp_budget_utc_day(int64_t now_ms);
int64_t pp_budget_ms_to_next_day(int64_t now_ms);

/* The fleet limits of a carrier from config (<name>_rps, <name>_per_day); 0 = unlimited. */
void pp_budget_limits(const pp_config_t *cfg, const char *carrier, long *rps, long *per_day);

#endif
