/* schedule.c - next poll time: status intervals / speed, jitter, error back-off, expiry. */
#include "schedule.h"

#include <stdlib.h>
#include <time.h>

static int64_t div_speed(const pp_config_t *cfg, int64_t ms)
{
    long speed = cfg->speed > 0 ? cfg->speed : 1;
    int64_t v = ms / speed;
    return v > 0 ? v : 1;
}

int64_t pp_schedule_interval_ms(const pp_config_t *cfg, pp_status_t st, pp_poll_outcome_t outcome)
{
    long s;
    if (outcome == PP_POLL_NOT_FOUND && pp_status_rank(st) <= 1 && st != PP_ST_DELIVERY_FAILED &&
        st != PP_ST_EXCEPTION && st != PP_ST_RETURNING)
        s = cfg->interval_not_found_s;
    else {
        switch (st) {
        case PP_ST_UNKNOWN:
        case PP_ST_NOT_FOUND_YET: s = cfg->interval_not_found_s; break;
        case PP_ST_INFO_RECEIVED: s = cfg->interval_info_received_s; break;
        case PP_ST_IN_TRANSIT:
        case PP_ST_RETURNING: s = cfg->interval_in_transit_s; break;
        case PP_ST_OUT_FOR_DELIVERY:
        case PP_ST_AVAILABLE_FOR_PICKUP: s = cfg->interval_last_mile_s; break;
        case PP_ST_DELIVERY_FAILED:
        case PP_ST_EXCEPTION: s = cfg->interval_exception_s; break;
        default: s = cfg->interval_in_transit_s; break; /* terminal: not used */
        }
    }
    return div_speed(cfg, (int64_t)s * 1000);
}

int64_t pp_schedule_jitter_ms(int64_t base_ms, double u)
{
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999;
    int64_t v = (int64_t)((double)base_ms * (0.9 + 0.2 * u));
    return v > 0 ? v : 1;
}

int64_t pp_schedule_backoff_ms(const pp_config_t *cfg, int n, long retry_after_s, double u)
{
    if (n < 1)
        n = 1;
    int64_t cap = (int64_t)cfg->error_backoff_max_s * 1000;
    int64_t base = (int64_t)cfg->interval_error_s * 1000;
    for (int i = 1; i < n && base < cap; i++)
        base *= 2;
    if (base > cap)
        base = cap;
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999;
    int64_t v = base / 2 + (int64_t)((double)(base - base / 2) * u);
    if (retry_after_s >= 0 && (int64_t)retry_after_s * 1000 > v)
        v = (int64_t)retry_after_s * 1000;
    return div_speed(cfg, v);
}

bool pp_schedule_is_expired(const pp_config_t *cfg, int64_t last_change_ms, int64_t now_ms)
{
    return now_ms - last_change_ms >= div_speed(cfg, (int64_t)cfg->expire_after_s * 1000);
}

bool pp_schedule_is_stale(const pp_config_t *cfg, int64_t last_change_ms, int64_t now_ms)
{
    return cfg->stale_factor > 1 &&
           now_ms - last_change_ms >= div_speed(cfg, (int64_t)cfg->stale_after_s * 1000);
}

bool pp_schedule_not_found_late(const pp_config_t *cfg, int64_t since_ms, int64_t now_ms)
{
    if (since_ms <= 0)
        return false;
    return now_ms - since_ms >= div_speed(cfg, (int64_t)cfg->not_found_grace_s * 1000);
}

void pp_schedule_next(const pp_config_t *cfg, const pp_schedule_in_t *in, pp_schedule_out_t *out)
{
    out->poll_again = false;
    out->expire = false;
    out->delay_ms = 0;
    out->not_found_late = false;
    if (pp_status_is_terminal(in->status))
        return;
    if (pp_schedule_is_expired(cfg, in->last_change_ms, in->now_ms)) {
        out->expire = true;
        return;
    }
    out->poll_again = true;
    if (in->outcome == PP_POLL_ERROR)
        out->delay_ms = pp_schedule_backoff_ms(cfg, in->consecutive_errors, in->retry_after_s, in->u);
    else if (in->outcome == PP_POLL_NOT_FOUND &&
             (in->status == PP_ST_INFO_RECEIVED || in->status == PP_ST_NOT_FOUND_YET ||
              in->status == PP_ST_UNKNOWN) &&
             pp_schedule_not_found_late(cfg, in->not_found_since_ms, in->now_ms)) {
        out->not_found_late = true;
        out->delay_ms =
            pp_schedule_jitter_ms(div_speed(cfg, (int64_t)cfg->interval_not_found_late_s * 1000),
                                  in->u);
    } else {
        int64_t base = pp_schedule_interval_ms(cfg, in->status, in->outcome);
        if (in->outcome == PP_POLL_OK && pp_schedule_is_stale(cfg, in->last_change_ms, in->now_ms))
            base *= cfg->stale_factor;
        out->delay_ms = pp_schedule_jitter_ms(base, in->u);
    }
}

double pp_schedule_random(void)
{
    static _Thread_local unsigned short xsubi[3];
    static _Thread_local int seeded;
    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned long s = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^
                          (unsigned long)(uintptr_t)&seeded;
        xsubi[0] = (unsigned short)s;
        xsubi[1] = (unsigned short)(s >> 16);
        xsubi[2] = (unsigned short)(s >> 32);
        seeded = 1;
    }
    return erand48(xsubi);
}
