/* breaker.h - a circuit breaker per carrier: closed -> open -> half-open (one probe) -> closed (pure). */
#ifndef PP_BREAKER_H
#define PP_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define PP_BREAKER_MAX_WINDOW 256

/* Gauge values of pp_poller_breaker_state. */
typedef enum {
    PP_BREAKER_CLOSED = 0,
    PP_BREAKER_HALF_OPEN = 1, /* cool-down over: one probe request may go */
    PP_BREAKER_OPEN = 2
} pp_breaker_state_t;

/*
 * Closed: every outcome goes into a sliding window of the last `window` requests; when at
 * least `min_requests` are in it and failures reach `failure_pct` % of them, it opens for
 * the cool-down. Open: nothing goes until the cool-down ends, then it is half-open and
 * exactly one request (the probe) is allowed. The probe's success closes it (window cleared,
 * cool-down back to the base); its failure re-opens it with twice the cool-down (capped).
 * Outcomes of requests that started before the breaker opened are ignored.
 * Times are monotonic milliseconds supplied by the caller.
 */
typedef struct pp_breaker {
    int window, min_requests, failure_pct;
    int64_t cooldown_ms, cooldown_max_ms;
    pp_breaker_state_t state;
    unsigned char ring[PP_BREAKER_MAX_WINDOW]; /* 1 = failure */
    int ring_n, ring_pos, failures;
    int64_t open_until_ms;
    int64_t cur_cooldown_ms;
    bool probe_inflight;
    long long opened; /* times it opened (incl. re-opens) */
} pp_breaker_t;

void pp_breaker_init(pp_breaker_t *b, int window, int min_requests, int failure_pct,
                     int64_t cooldown_ms, int64_t cooldown_max_ms);
/* New parameters (a reload): state and cool-down kept; the history too unless the window changed. */
void pp_breaker_configure(pp_breaker_t *b, int window, int min_requests, int failure_pct,
                          int64_t cooldown_ms, int64_t cooldown_max_ms);
/* State as of now (an open breaker whose cool-down ended reads as half-open). */
pp_breaker_state_t pp_breaker_state(const pp_breaker_t *b, int64_t now_ms);
/*
 * May a request start now? true: yes; *probe tells whether it is the half-open probe
 * (report it with probe = true). false: *wait_ms = time until the cool-down ends, or -1
 * while a probe is in flight (ask again when it completes).
 */
bool pp_breaker_allow(pp_breaker_t *b, int64_t now_ms, bool *probe, int64_t *wait_ms);
/* Outcome of a request that allow() let through. Returns true when the state changed. */
bool pp_breaker_record(pp_breaker_t *b, bool probe, bool ok, int64_t now_ms);

#endif
