/* breaker.c - circuit breaker state machine over a sliding window of request outcomes. */
#include "breaker.h"

#include <string.h>

static void clear_window(pp_breaker_t *b)
{
    memset(b->ring, 0, sizeof b->ring);
    b->ring_n = b->ring_pos = b->failures = 0;
}

void pp_breaker_init(pp_breaker_t *b, int window, int min_requests, int failure_pct,
                     int64_t cooldown_ms, int64_t cooldown_max_ms)
{
    memset(b, 0, sizeof *b);
    if (window < 1)
        window = 1;
    if (window > PP_BREAKER_MAX_WINDOW)
        window = PP_BREAKER_MAX_WINDOW;
    if (min_requests < 1)
        min_requests = 1;
    if (min_requests > window)
        min_requests = window;
    b->window = window;
    b->min_requests = min_requests;
    b->failure_pct = failure_pct < 1 ? 1 : failure_pct > 100 ? 100 : failure_pct;
    b->cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 1;
    b->cooldown_max_ms = cooldown_max_ms > b->cooldown_ms ? cooldown_max_ms : b->cooldown_ms;
    b->cur_cooldown_ms = b->cooldown_ms;
    b->state = PP_BREAKER_CLOSED;
}

void pp_breaker_configure(pp_breaker_t *b, int window, int min_requests, int failure_pct,
                          int64_t cooldown_ms, int64_t cooldown_max_ms)
{
    pp_breaker_t n;
    pp_breaker_init(&n, window, min_requests, failure_pct, cooldown_ms, cooldown_max_ms);
    if (n.window != b->window) { /* a different window: the history does not fit it; the state stays */
        n.state = b->state;
        n.open_until_ms = b->open_until_ms;
        n.probe_inflight = b->probe_inflight;
        n.cur_cooldown_ms = b->cur_cooldown_ms;
        n.opened = b->opened;
        *b = n;
    }
    b->min_requests = n.min_requests;
    b->failure_pct = n.failure_pct;
    b->cooldown_ms = n.cooldown_ms;
    b->cooldown_max_ms = n.cooldown_max_ms;
    if (b->cur_cooldown_ms > b->cooldown_max_ms)
        b->cur_cooldown_ms = b->cooldown_max_ms;
    if (b->cur_cooldown_ms < b->cooldown_ms)
        b->cur_cooldown_ms = b->cooldown_ms;
}

pp_breaker_state_t pp_breaker_state(const pp_breaker_t *b, int64_t now_ms)
{
    if (b->state == PP_BREAKER_OPEN && now_ms >= b->open_until_ms)
        return PP_BREAKER_HALF_OPEN;
    return b->state;
}

static void open_now(pp_breaker_t *b, int64_t now_ms)
{
    b->state = PP_BREAKER_OPEN;
    b->open_until_ms = now_ms + b->cur_cooldown_ms;
    b->probe_inflight = false;
    b->opened++;
}

bool pp_breaker_allow(pp_breaker_t *b, int64_t now_ms, bool *probe, int64_t *wait_ms)
{
    *probe = false;
    *wait_ms = 0;
    if (b->state == PP_BREAKER_CLOSED)
        return true;
    if (b->state == PP_BREAKER_OPEN) {
        if (now_ms < b->open_until_ms) {
            *wait_ms = b->open_until_ms - now_ms;
            return false;
        }
        b->state = PP_BREAKER_HALF_OPEN;
    }
    if (b->probe_inflight) {
        *wait_ms = -1;
        return false;
    }
    b->probe_inflight = true;
    *probe = true;
    return true;
}

bool pp_breaker_record(pp_breaker_t *b, bool probe, bool ok, int64_t now_ms)
{
    if (probe) {
        if (b->state != PP_BREAKER_HALF_OPEN || !b->probe_inflight)
            return false;
        b->probe_inflight = false;
        if (ok) {
            b->state = PP_BREAKER_CLOSED;
            b->cur_cooldown_ms = b->cooldown_ms;
            clear_window(b);
        } else {
            b->cur_cooldown_ms *= 2;
            if (b->cur_cooldown_ms > b->cooldown_max_ms)
                b->cur_cooldown_ms = b->cooldown_max_ms;
            open_now(b, now_ms);
        }
        return true;
    }
    if (b->state != PP_BREAKER_CLOSED)
        return false; /* started before it opened: already judged */
    if (b->ring_n == b->window) {
        b->failures -= b->ring[b->ring_pos];
    } else {
        b->ring_n++;
    }
    b->ring[b->ring_pos] = ok ? 0 : 1;
    b->failures += ok ? 0 : 1;
    b->ring_pos = (b->ring_pos + 1) % b->window;
    if (b->ring_n >= b->min_requests && b->failures * 100 >= b->failure_pct * b->ring_n) {
        b->cur_cooldown_ms = b->cooldown_ms;
        open_now(b, now_ms);
        clear_window(b);
        return true;
    }
    return false;
}
