/* test_schedule.c - intervals by status, speed, jitter bounds, back-off, Retry-After, expiry. */
#include "check.h"
#include "config.h"
#include "schedule.h"

static pp_config_t cfg;

static void set(const char *k, const char *v)
{
    char err[256];
    if (pp_config_set(&cfg, k, v, err, sizeof err) != 0)
        fprintf(stderr, "config %s: %s\n", k, err);
}

int main(void)
{
    if (pp_config_init(&cfg) != 0)
        return 1;
    set("interval_info_received_s", "14400");
    set("interval_in_transit_s", "7200");
    set("interval_last_mile_s", "1200");
    set("interval_exception_s", "3600");
    set("interval_not_found_s", "1800");
    set("interval_error_s", "300");
    set("error_backoff_max_s", "3600");
    set("expire_after_s", "2592000");
    set("speed", "1");

    /* Table: status, outcome -> base interval (ms) at speed 1. */
    static const struct {
        pp_status_t st;
        pp_poll_outcome_t oc;
        long long ms;
    } iv[] = {
        {PP_ST_INFO_RECEIVED, PP_POLL_OK, 14400000},
        {PP_ST_INFO_RECEIVED, PP_POLL_NOT_FOUND, 1800000},
        {PP_ST_IN_TRANSIT, PP_POLL_OK, 7200000},
        {PP_ST_IN_TRANSIT, PP_POLL_NOT_FOUND, 7200000}, /* known parcel: keep its pace */
        {PP_ST_OUT_FOR_DELIVERY, PP_POLL_OK, 1200000},
        {PP_ST_AVAILABLE_FOR_PICKUP, PP_POLL_OK, 1200000},
        {PP_ST_DELIVERY_FAILED, PP_POLL_OK, 3600000},
        {PP_ST_EXCEPTION, PP_POLL_OK, 3600000},
        {PP_ST_RETURNING, PP_POLL_OK, 7200000},
    };
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        CHECK_INT(pp_schedule_interval_ms(&cfg, iv[i].st, iv[i].oc), iv[i].ms);

    /* Jitter: within ±10 %, both ends reachable. */
    CHECK_INT(pp_schedule_jitter_ms(1000000, 0.0), 900000);
    CHECK(pp_schedule_jitter_ms(1000000, 0.999999) >= 1099990);
    CHECK(pp_schedule_jitter_ms(1000000, 0.999999) <= 1100000);
    CHECK_INT(pp_schedule_jitter_ms(1000000, 0.5), 1000000);
    for (int i = 0; i < 10000; i++) {
        int64_t v = pp_schedule_jitter_ms(7200000, pp_schedule_random());
        CHECK(v >= 6480000 && v <= 7920000);
        if (!(v >= 6480000 && v <= 7920000))
            break;
    }

    /* Back-off: 300 s doubling, equal jitter, capped at 3600 s. */
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 1, -1, 0.0), 150000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 1, -1, 0.5), 225000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 2, -1, 0.0), 300000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 3, -1, 0.0), 600000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 4, -1, 0.0), 1200000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 5, -1, 0.0), 1800000);  /* 4800 s capped at 3600 */
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 60, -1, 0.0), 1800000); /* no overflow */
    CHECK(pp_schedule_backoff_ms(&cfg, 60, -1, 0.999999) <= 3600000);
    /* Retry-After wins when longer, is ignored when shorter. */
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 1, 7200, 0.0), 7200000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 3, 10, 0.0), 600000);

    /* Speed divides everything. */
    set("speed", "100");
    CHECK_INT(pp_schedule_interval_ms(&cfg, PP_ST_IN_TRANSIT, PP_POLL_OK), 72000);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 1, -1, 0.0), 1500);
    CHECK_INT(pp_schedule_backoff_ms(&cfg, 1, 600, 0.0), 6000);
    CHECK(!pp_schedule_is_expired(&cfg, 0, 25919999));
    CHECK(pp_schedule_is_expired(&cfg, 0, 25920000));
    set("speed", "1");

    /* The whole decision. */
    pp_schedule_out_t out;
    pp_schedule_in_t in = {.status = PP_ST_DELIVERED,
                           .outcome = PP_POLL_OK,
                           .retry_after_s = -1,
                           .last_change_ms = 1000,
                           .now_ms = 2000,
                           .u = 0.5};
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.poll_again);
    CHECK(!out.expire);

    in.status = PP_ST_IN_TRANSIT;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(out.poll_again);
    CHECK_INT(out.delay_ms, 7200000);

    in.outcome = PP_POLL_ERROR;
    in.consecutive_errors = 2;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(out.poll_again);
    CHECK_INT(out.delay_ms, 450000);

    in.outcome = PP_POLL_NOT_FOUND;
    in.status = PP_ST_INFO_RECEIVED;
    pp_schedule_next(&cfg, &in, &out);
    CHECK_INT(out.delay_ms, 1800000);

    /* No change for 30 days: expire, no next poll (errors too). */
    in.outcome = PP_POLL_ERROR;
    in.now_ms = in.last_change_ms + 2592000LL * 1000;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(out.expire);
    CHECK(!out.poll_again);
    in.now_ms -= 1;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.expire);
    CHECK(out.poll_again);

    /* Time since the last key change: after stale_after_s the status interval doubles
     * (stale_factor 2); not for not-found or errors; stale_factor 1 turns it off. */
    set("stale_after_s", "259200");
    set("stale_factor", "2");
    in = (pp_schedule_in_t){.status = PP_ST_IN_TRANSIT,
                            .outcome = PP_POLL_OK,
                            .retry_after_s = -1,
                            .last_change_ms = 0,
                            .now_ms = 259200LL * 1000 - 1,
                            .u = 0.5};
    pp_schedule_next(&cfg, &in, &out);
    CHECK_INT(out.delay_ms, 7200000);
    in.now_ms += 1;
    CHECK(pp_schedule_is_stale(&cfg, in.last_change_ms, in.now_ms));
    pp_schedule_next(&cfg, &in, &out);
    CHECK_INT(out.delay_ms, 14400000);
    in.status = PP_ST_AVAILABLE_FOR_PICKUP;
    pp_schedule_next(&cfg, &in, &out);
    CHECK_INT(out.delay_ms, 2400000);
    in.outcome = PP_POLL_ERROR;
    in.consecutive_errors = 1;
    pp_schedule_next(&cfg, &in, &out);
    CHECK_INT(out.delay_ms, 225000);
    in.outcome = PP_POLL_OK;
    set("stale_factor", "1");
    pp_schedule_next(&cfg, &in, &out);
    CHECK_INT(out.delay_ms, 1200000);
    CHECK(!pp_schedule_is_stale(&cfg, in.last_change_ms, in.now_ms));
    set("stale_factor", "2");

    /* Not-found grace: every interval_not_found_s for not_found_grace_s after entry, then
     * interval_not_found_late_s; still expires after expire_after_s without a change. */
    set("not_found_grace_s", "259200");
    set("interval_not_found_late_s", "21600");
    int64_t entered = 1000000;
    in = (pp_schedule_in_t){.status = PP_ST_INFO_RECEIVED,
                            .outcome = PP_POLL_NOT_FOUND,
                            .retry_after_s = -1,
                            .last_change_ms = entered,
                            .u = 0.5,
                            .not_found_since_ms = entered};
    in.now_ms = entered + 259200LL * 1000 - 1;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.not_found_late);
    CHECK_INT(out.delay_ms, 1800000);
    in.now_ms += 1;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(out.not_found_late);
    CHECK(out.poll_again);
    CHECK_INT(out.delay_ms, 21600000);
    CHECK(pp_schedule_not_found_late(&cfg, entered, in.now_ms));
    CHECK(!pp_schedule_not_found_late(&cfg, 0, in.now_ms)); /* unknown entry: no grace logic */
    /* Not applicable once the parcel was seen (since = 0), or to an error, or to a known status. */
    in.not_found_since_ms = 0;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.not_found_late);
    CHECK_INT(out.delay_ms, 1800000);
    in.not_found_since_ms = entered;
    in.status = PP_ST_IN_TRANSIT;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.not_found_late);
    CHECK_INT(out.delay_ms, 7200000);
    in.status = PP_ST_INFO_RECEIVED;
    in.outcome = PP_POLL_ERROR;
    in.consecutive_errors = 1;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.not_found_late);
    CHECK_INT(out.delay_ms, 225000);
    /* A number never found expires 30 days after its entry. */
    in.outcome = PP_POLL_NOT_FOUND;
    in.now_ms = entered + 2592000LL * 1000;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(out.expire);
    CHECK(!out.poll_again);
    /* Speed divides the grace and the late interval too. */
    set("speed", "1000");
    in.now_ms = entered + 259200;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(out.not_found_late);
    CHECK_INT(out.delay_ms, 21600);
    in.now_ms -= 1;
    pp_schedule_next(&cfg, &in, &out);
    CHECK(!out.not_found_late);
    CHECK_INT(out.delay_ms, 1800);
    set("speed", "1");

    pp_config_free(&cfg);
    return CHECK_DONE();
}
