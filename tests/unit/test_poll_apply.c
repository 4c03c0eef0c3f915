/* test_poll_apply.c - key changes from a carrier history: order, newer-only, monotonic, expiry. */
#include "apply.h"
#include "check.h"
#include "config.h"

#include <string.h>

static pp_track_event_t ev(pp_status_t st, const char *code, time_t t)
{
    pp_track_event_t e = {0};
    e.status = st;
    snprintf(e.carrier_code, sizeof e.carrier_code, "%s", code);
    e.occurred_at = t;
    return e;
}

int main(void)
{
    pp_config_t cfg;
    if (pp_config_init(&cfg) != 0)
        return 1;
    pp_apply_out_t out;
    const int64_t now = 1800000000000LL;

    /* Several key changes between two polls: each one an event, in order, sequence +1. */
    pp_track_event_t h1[] = {
        ev(PP_ST_INFO_RECEIVED, "confirmed", 1000),
        ev(PP_ST_IN_TRANSIT, "collected_from_sender", 2000),
        ev(PP_ST_IN_TRANSIT, "adopted_at_sorting_center", 3000), /* repeat scan: no change */
        ev(PP_ST_IN_TRANSIT, "sent_from_sorting_center", 4000),
        ev(PP_ST_OUT_FOR_DELIVERY, "out_for_delivery", 5000),
        ev(PP_ST_UNKNOWN, "weird_code", 5500),
        ev(PP_ST_DELIVERED, "delivered", 6000),
    };
    pp_track_result_t res = {.found = true, .events = h1, .n_events = 7};
    pp_apply_state_t st = {.status = PP_ST_INFO_RECEIVED,
                           .progress = 1,
                           .sequence = 1,
                           .has_last_event = true,
                           .last_event_at = 500,
                           .last_change_ms = now - 1000,
                           .consecutive_errors = 2};
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 3);
    CHECK_INT(out.changes[0].status, PP_ST_IN_TRANSIT);
    CHECK_INT(out.changes[0].previous, PP_ST_INFO_RECEIVED);
    CHECK_INT(out.changes[0].sequence, 2);
    CHECK_STR(out.changes[0].ev->carrier_code, "collected_from_sender");
    CHECK_INT(out.changes[1].status, PP_ST_OUT_FOR_DELIVERY);
    CHECK_INT(out.changes[1].previous, PP_ST_IN_TRANSIT);
    CHECK_INT(out.changes[2].status, PP_ST_DELIVERED);
    CHECK_INT(out.changes[2].sequence, 4);
    CHECK_INT(out.sequence, 4);
    CHECK_INT(out.status, PP_ST_DELIVERED);
    CHECK_INT(out.progress, 5);
    CHECK_INT(out.last_event_at, 6000);
    CHECK(out.has_new_events);
    CHECK_INT(out.consecutive_errors, 0);
    CHECK(!out.sched.poll_again); /* terminal */

    /* A number entered after delivery: the first answer ends the parcel -> one change. */
    st = (pp_apply_state_t){.status = PP_ST_INFO_RECEIVED,
                            .progress = 1,
                            .sequence = 1,
                            .last_change_ms = now - 1000};
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 1);
    CHECK_INT(out.changes[0].status, PP_ST_DELIVERED);
    CHECK_INT(out.changes[0].previous, PP_ST_INFO_RECEIVED);
    CHECK_INT(out.changes[0].sequence, 2);
    CHECK_STR(out.changes[0].ev->carrier_code, "delivered");
    CHECK_INT(out.sequence, 2);
    CHECK_INT(out.status, PP_ST_DELIVERED);
    /* ... but a first answer that is still on its way keeps every key change. */
    res.n_events = 5; /* up to out_for_delivery */
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 2);
    res.n_events = 7;

    /* Only events newer than last_event_at; repeated in_transit scans are not key changes. */
    st = (pp_apply_state_t){.status = PP_ST_IN_TRANSIT,
                            .progress = 2,
                            .sequence = 2,
                            .has_last_event = true,
                            .last_event_at = 3000,
                            .last_change_ms = now};
    res.n_events = 4; /* up to sent_from_sorting_center */
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 0);
    CHECK(out.has_new_events);
    CHECK_INT(out.last_event_at, 4000);
    CHECK_STR(out.newest->carrier_code, "sent_from_sorting_center");
    CHECK(out.sched.poll_again);
    CHECK_INT(out.sched.delay_ms, cfg.interval_in_transit_s * 1000);

    /* A late, older event never moves the status back. */
    pp_track_event_t h2[] = {ev(PP_ST_IN_TRANSIT, "adopted_at_sorting_center", 7000)};
    res = (pp_track_result_t){.found = true, .events = h2, .n_events = 1};
    st = (pp_apply_state_t){.status = PP_ST_OUT_FOR_DELIVERY,
                            .progress = 3,
                            .sequence = 5,
                            .has_last_event = true,
                            .last_event_at = 6000,
                            .last_change_ms = now};
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 0);
    CHECK_INT(out.status, PP_ST_OUT_FOR_DELIVERY);
    CHECK_INT(out.sequence, 5);

    /* An event at exactly last_event_at was seen last time: never applied again. */
    pp_track_event_t h4[] = {ev(PP_ST_OUT_FOR_DELIVERY, "out_for_delivery", 5000),
                             ev(PP_ST_DELIVERY_FAILED, "undelivered", 5000)};
    res = (pp_track_result_t){.found = true, .events = h4, .n_events = 2};
    st = (pp_apply_state_t){.status = PP_ST_DELIVERY_FAILED,
                            .progress = 3,
                            .sequence = 4,
                            .has_last_event = true,
                            .last_event_at = 5000,
                            .last_change_ms = now};
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 0);
    CHECK_INT(out.status, PP_ST_DELIVERY_FAILED);

    /* Out-of-order input is taken in time order. */
    pp_track_event_t h3[] = {ev(PP_ST_OUT_FOR_DELIVERY, "out_for_delivery", 300),
                             ev(PP_ST_IN_TRANSIT, "collected_from_sender", 200)};
    res = (pp_track_result_t){.found = true, .events = h3, .n_events = 2};
    st = (pp_apply_state_t){.status = PP_ST_INFO_RECEIVED,
                            .progress = 1,
                            .sequence = 1,
                            .last_change_ms = now};
    pp_apply_poll(&cfg, &st, &res, PP_POLL_OK, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 2);
    CHECK_INT(out.changes[0].status, PP_ST_IN_TRANSIT);
    CHECK_INT(out.changes[1].status, PP_ST_OUT_FOR_DELIVERY);

    /* Not found: status kept, not-found interval, errors reset. */
    st = (pp_apply_state_t){.status = PP_ST_INFO_RECEIVED,
                            .progress = 1,
                            .sequence = 1,
                            .last_change_ms = now,
                            .consecutive_errors = 3};
    pp_apply_poll(&cfg, &st, NULL, PP_POLL_NOT_FOUND, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 0);
    CHECK_INT(out.status, PP_ST_INFO_RECEIVED);
    CHECK_INT(out.consecutive_errors, 0);
    CHECK_INT(out.sched.delay_ms, cfg.interval_not_found_s * 1000);
    CHECK(!out.sched.not_found_late);
    /* ... still unknown past not_found_grace_s since entry: the slower interval, no event. */
    st.not_found_since_ms = now - cfg.not_found_grace_s * 1000;
    pp_apply_poll(&cfg, &st, NULL, PP_POLL_NOT_FOUND, -1, now, 0.5, &out);
    CHECK(out.sched.not_found_late);
    CHECK_INT(out.n_changes, 0);
    CHECK_INT(out.sched.delay_ms, cfg.interval_not_found_late_s * 1000);
    st.not_found_since_ms = 0;

    /* Error: counter +1, back-off, Retry-After honoured. */
    pp_apply_poll(&cfg, &st, NULL, PP_POLL_ERROR, 100000, now, 0.0, &out);
    CHECK_INT(out.consecutive_errors, 4);
    CHECK_INT(out.sched.delay_ms, 100000LL * 1000);

    /* No change for expire_after_s: one `expired` event, terminal. */
    st.last_change_ms = now - cfg.expire_after_s * 1000;
    pp_apply_poll(&cfg, &st, NULL, PP_POLL_ERROR, -1, now, 0.5, &out);
    CHECK_INT(out.n_changes, 1);
    CHECK_INT(out.changes[0].status, PP_ST_EXPIRED);
    CHECK(out.changes[0].ev == NULL);
    CHECK_INT(out.changes[0].sequence, 2);
    CHECK(!out.sched.poll_again);

    pp_config_free(&cfg);
    return CHECK_DONE();
}
