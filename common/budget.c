/* budget.c - token bucket, per-day fleet split and the per-carrier limits from config. */
#include "budget.h"
#include "carriers/carrier.h"

#include <math.h>
#include <string.h>

static void refill(pp_bucket_t *b, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += b->rate * (double)(now_ms - b->last_ms) / 1000.0;
        if (b->tokens > b->capacity)
            b->tokens = b->capacity;
    }
    b->last_ms = now_ms > b->last_ms ? now_ms : b->last_ms;
}

void pp_bucket_init(pp_bucket_t *b, double rate, double capacity, int64_t now_ms)
{
    b->rate = rate;
    b->capacity = capacity < 1 ? 1 : capacity;
    b->tokens = b->capacity;
    b->last_ms = now_ms;
}

void pp_bucket_set_rate(pp_bucket_t *b, double rate, int64_t now_ms)
{
    if (b->rate > 0)
        refill(b, now_ms);
    else
        b->last_ms = now_ms;
    b->rate = rate;
    if (b->tokens > b->capacity)
        b->tokens = b->capacity;
}

void pp_bucket_retune(pp_bucket_t *b, double rate, double capacity, int64_t now_ms)
{
    if (capacity < 1)
        capacity = 1;
    if (b->rate == rate && b->capacity == capacity)
        return;
    b->capacity = capacity;
    pp_bucket_set_rate(b, rate, now_ms); /* caps the tokens at the new capacity */
}

int64_t pp_bucket_wait_ms(pp_bucket_t *b, int64_t now_ms)
{
    if (b->rate <= 0)
        return 0;
    refill(b, now_ms);
    if (b->tokens >= 1.0)
        return 0;
    int64_t w = (int64_t)ceil((1.0 - b->tokens) * 1000.0 / b->rate);
    return w > 0 ? w : 1;
}

int64_t pp_bucket_take(pp_bucket_t *b, int64_t now_ms)
{
    int64_t w = pp_bucket_wait_ms(b, now_ms);
    if (w > 0)
        return w;
    if (b->rate > 0)
        b->tokens -= 1.0;
    return 0;
}

int64_t pp_bucket_queue_ms(const pp_bucket_t *b, long n)
{
    if (b->rate <= 0 || n <= 0)
        return 0;
    return (int64_t)ceil((double)n * 1000.0 / b->rate);
}

double pp_budget_share(long fleet_limit, int live)
{
    if (fleet_limit <= 0)
        return 0;
    return (double)fleet_limit / (double)(live > 0 ? live : 1);
}

long pp_budget_day_grant(long per_day, long reserved, int live, long held, long cap)
{
    if (per_day <= 0)
        return 0;
    long left = per_day - reserved;
    if (left <= 0)
        return 0;
    long share = left / (live > 0 ? live : 1);
    if (share < 1)
        share = 1;
    long target = cap > 0 && cap < share ? cap : share;
    long grant = target - (held > 0 ? held : 0);
    if (grant <= 0)
        return 0;
    return grant < left ? grant : left;
}

long pp_budget_day_cap(long per_day, int live, double rate_share, long sync_ms)
{
    double cap;
    if (rate_share > 0)
        cap = ceil(rate_share * (double)sync_ms / 1000.0 * 2.0);
    else
        cap = floor((double)per_day / (double)(live > 0 ? live : 1) / 100.0);
    return cap < 1 ? 1 : (long)cap;
}

long long pp_budget_utc_day(int64_t now_ms)
{
    int64_t d = now_ms / 86400000;
    if (now_ms < 0 && now_ms % 86400000)
        d--;
    return (long long)d;
}

int64_t pp_budget_ms_to_next_day(int64_t now_ms)
{
    return (pp_budget_utc_day(now_ms) + 1) * 86400000LL - now_ms;
}

void pp_budget_limits(const pp_config_t *cfg, const char *carrier, long *rps, long *per_day)
{
    *rps = pp_carrier_cfg_int(cfg, carrier, PP_CARRIER_KEY_RPS);
    *per_day = pp_carrier_cfg_int(cfg, carrier, PP_CARRIER_KEY_PER_DAY);
}
