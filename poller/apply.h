/* apply.h - turn one poll's outcome into key changes and the shipment's next state (pure). */
#ifndef PP_POLLER_APPLY_H
#define PP_POLLER_APPLY_H

#include "carriers/carrier.h"
#include "config.h"
#include "schedule.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Carrier events considered per poll (a longer history: the newest ones are used). */
#define PP_APPLY_MAX_EVENTS 256

/* The shipment as read under the row lock. */
typedef struct pp_apply_state {
    pp_status_t status;
    int progress;
    long long sequence;
    bool has_last_event;    /* last_event_at IS NOT NULL */
    time_t last_event_at;   /* carrier time of the newest event already seen */
    int64_t last_change_ms; /* wall clock of the last key change */
    int consecutive_errors;
    int64_t not_found_since_ms; /* entered_at while the carrier never knew it; 0 = n/a */
} pp_apply_state_t;

/* One key change = one shipment_events row + one outbox event. */
typedef struct pp_apply_change {
    pp_status_t previous;
    pp_status_t status;
    long long sequence;
    const pp_track_event_t *ev; /* the carrier event (NULL for our own `expired`) */
} pp_apply_change_t;

typedef struct pp_apply_out {
    pp_apply_change_t changes[PP_APPLY_MAX_EVENTS + 1]; /* one per carrier event + expired */
    size_t n_changes;
    pp_status_t status;
    int progress;
    long long sequence;
    bool has_new_events;            /* carrier events newer than last_event_at were seen */
    time_t last_event_at;           /* newest seen (valid if has_new_events) */
    const pp_track_event_t *newest; /* for carrier_status / last_text / last_location */
    int consecutive_errors;         /* value to store */
    pp_schedule_out_t sched;        /* poll_again = false: next_poll_at NULL */
} pp_apply_out_t;

/*
 * Apply the carrier's events newer than st->last_event_at, oldest first, through
 * pp_status_advance; then the schedule (incl. expiry, which adds an `expired` change).
 * res is the parcel's result for PP_POLL_OK, else ignored (may be NULL).
 * Pointers in *out point into res.
 */
void pp_apply_poll(const pp_config_t *cfg, const pp_apply_state_t *st, const pp_track_result_t *res,
                   pp_poll_outcome_t outcome, long retry_after_s, int64_t now_ms, double u,
                   pp_apply_out_t *out);

#endif
