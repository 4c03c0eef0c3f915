/* schedule.h - when to poll a shipment next: status intervals, jitter, back-off, expiry. */
#ifndef PP_SCHEDULE_H
#define PP_SCHEDULE_H

#include "config.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Pure functions of their arguments: randomness comes in as `u`, a number in [0, 1)
 * drawn by the caller (pp_schedule_random()), so every result can be unit-tested.
 * All returned durations are milliseconds, already divided by cfg->speed.
 */

/* Outcome of one poll, as the scheduler sees it. */
typedef enum {
    PP_POLL_OK = 0,    /* carrier answered with the parcel */
    PP_POLL_NOT_FOUND, /* carrier does not know the number (yet) */
    PP_POLL_ERROR      /* transport, HTTP or parse error */
} pp_poll_outcome_t;

typedef struct pp_schedule_in {
    pp_status_t status; /* status after applying this poll's events */
    pp_poll_outcome_t outcome;
    int consecutive_errors;     /* including this poll's error (1 = first failure) */
    long retry_after_s;         /* carrier's Retry-After, -1 if none */
    int64_t last_change_ms;     /* wall clock of the last key change (after this poll) */
    int64_t now_ms;             /* wall clock now */
    int64_t not_found_since_ms; /* wall clock since when the carrier has never known the number
                                   (the shipment's entry while no event was ever seen); 0 = n/a */
    double u;                   /* uniform random in [0, 1) for jitter */
} pp_schedule_in_t;

typedef struct pp_schedule_out {
    bool poll_again;     /* false: terminal, next_poll_at = NULL */
    bool expire;         /* true: move the shipment to `expired` (terminal) */
    int64_t delay_ms;    /* from now; meaningful only when poll_again */
    bool not_found_late; /* unknown for longer than not_found_grace_s: slower interval */
} pp_schedule_out_t;

/* Base interval of a status (not-found interval when outcome is NOT_FOUND), / speed. */
int64_t pp_schedule_interval_ms(const pp_config_t *cfg, pp_status_t st, pp_poll_outcome_t outcome);
/* base × (0.9 + 0.2u): ±10 % jitter; never below 1 ms. */
int64_t pp_schedule_jitter_ms(int64_t base_ms, double u);
/*
 * Back-off after the n-th consecutive error (n >= 1): interval_error_s × 2^(n-1), capped at
 * error_backoff_max_s, / speed, "equal jitter" (half fixed, half random); at least the
 * Retry-After (also / speed) when the carrier sent one.
 */
int64_t pp_schedule_backoff_ms(const pp_config_t *cfg, int n, long retry_after_s, double u);
/* No key change for expire_after_s / speed. */
bool pp_schedule_is_expired(const pp_config_t *cfg, int64_t last_change_ms, int64_t now_ms);
/* No key change for stale_after_s / speed (and stale_factor > 1): intervals x stale_factor. */
bool pp_schedule_is_stale(const pp_config_t *cfg, int64_t last_change_ms, int64_t now_ms);
/* Unknown for at least not_found_grace_s / speed (since > 0). */
bool pp_schedule_not_found_late(const pp_config_t *cfg, int64_t since_ms, int64_t now_ms);
/*
 * The whole decision. Terminal: stop. No key change for expire_after_s: expire (also for a
 * number the carrier never knew: DESIGN's 30 days). Error: back-off. Not found: the
 * not-found interval during the grace period, then interval_not_found_late_s (the number
 * stays info_received; no event is emitted for it - a typo'd number simply expires).
 * Otherwise the status interval, x stale_factor after stale_after_s without a key change
 * (time since last change). Jitter on everything. The carrier's budget acts in the poller
 * (poller/dispatch.c): a shipment it cannot poll now is released until the budget is back.
 */
void pp_schedule_next(const pp_config_t *cfg, const pp_schedule_in_t *in, pp_schedule_out_t *out);
/* A uniform random double in [0, 1) (thread-safe; not for cryptography). */
double pp_schedule_random(void);

#endif
