/* apply.c - key changes from a carrier history (forward-only, in order) and the next schedule. */
#include "apply.h"

#include <string.h>

/* Takes the history's events newer than the last one seen, in time order (stable); each that
 * moves the status forward is a change. True when one did. */
static bool apply_events(const pp_apply_state_t *st, const pp_track_result_t *res, pp_apply_out_t *out)
{
    bool changed = false;
    /* Oldest first by contract; take them in time order anyway (stable), newer only. */
    size_t n = res->n_events, first = 0;
    bool used[PP_APPLY_MAX_EVENTS] = {false};
    if (n > PP_APPLY_MAX_EVENTS) {
        first = n - PP_APPLY_MAX_EVENTS;
        n = PP_APPLY_MAX_EVENTS;
    }
    const pp_track_event_t *evs = res->events + first;
    for (;;) {
        const pp_track_event_t *best = NULL;
        size_t bi = 0;
        for (size_t i = 0; i < n; i++) {
            const pp_track_event_t *e = &evs[i];
            if (used[i] || (st->has_last_event && e->occurred_at <= st->last_event_at))
                continue;
            if (!best || e->occurred_at < best->occurred_at)
                best = e, bi = i;
        }
        if (!best)
            break;
        used[bi] = true;
        out->has_new_events = true;
        out->last_event_at = best->occurred_at;
        out->newest = best;
        pp_status_t prev = out->status;
        if (pp_status_advance(&out->status, &out->progress, best->status)) {
            pp_apply_change_t *c = &out->changes[out->n_changes++];
            c->previous = prev;
            c->status = out->status;
            c->sequence = ++out->sequence;
            c->ev = best;
            changed = true;
        }
    }
    return changed;
}

void pp_apply_poll(const pp_config_t *cfg, const pp_apply_state_t *st, const pp_track_result_t *res,
                   pp_poll_outcome_t outcome, long retry_after_s, int64_t now_ms, double u,
                   pp_apply_out_t *out)
{
    memset(out, 0, sizeof *out);
    out->status = st->status;
    out->progress = st->progress;
    out->sequence = st->sequence;
    out->consecutive_errors = outcome == PP_POLL_ERROR ? st->consecutive_errors + 1 : 0;
    int64_t last_change_ms = st->last_change_ms;

    if (outcome == PP_POLL_OK && res && apply_events(st, res, out))
        last_change_ms = now_ms;

    /*
     * Late entry: the carrier's first answer about this parcel already ends it (a number
     * entered after delivery). The buyer hears the outcome once, not its whole past.
     */
    if (!st->has_last_event && out->n_changes > 1 && pp_status_is_terminal(out->status)) {
        out->changes[0] = out->changes[out->n_changes - 1];
        out->changes[0].previous = st->status;
        out->changes[0].sequence = st->sequence + 1;
        out->n_changes = 1;
        out->sequence = st->sequence + 1;
    }

    pp_schedule_in_t in = {
        .status = out->status,
        .outcome = outcome,
        .consecutive_errors = out->consecutive_errors,
        .retry_after_s = retry_after_s,
        .last_change_ms = last_change_ms,
        .now_ms = now_ms,
        .not_found_since_ms = out->has_new_events ? 0 : st->not_found_since_ms,
        .u = u,
    };
    pp_schedule_next(cfg, &in, &out->sched);
    if (out->sched.expire) {
        pp_status_t prev = out->status;
        if (pp_status_advance(&out->status, &out->progress, PP_ST_EXPIRED)) {
            pp_apply_change_t *c = &out->changes[out->n_changes++];
            c->previous = prev;
            c->status = PP_ST_EXPIRED;
            c->sequence = ++out->sequence;
            c->ev = NULL;
        }
        out->sched.poll_again = false;
    }
}
