/* test_breaker.c - circuit breaker: window, threshold, cool-down, one probe, doubling, reset. */
#include "breaker.h"
#include "check.h"

static void feed(pp_breaker_t *b, int n, bool ok, int64_t now)
{
    for (int i = 0; i < n; i++) {
        bool probe;
        int64_t w;
        if (pp_breaker_allow(b, now, &probe, &w))
            pp_breaker_record(b, probe, ok, now);
    }
}

int main(void)
{
    pp_breaker_t b;
    bool probe;
    int64_t wait;
    /* window 10, at least 4 requests, opens at 50 %, cool-down 1 s doubling to 3 s. */
    pp_breaker_init(&b, 10, 4, 50, 1000, 3000);
    CHECK_INT(pp_breaker_state(&b, 0), PP_BREAKER_CLOSED);

    /* Too few requests: 3 failures out of 3 do not open it. */
    feed(&b, 3, false, 0);
    CHECK_INT(pp_breaker_state(&b, 0), PP_BREAKER_CLOSED);
    /* The 4th failure does. */
    CHECK(pp_breaker_allow(&b, 0, &probe, &wait));
    CHECK(!probe);
    CHECK(pp_breaker_record(&b, false, false, 100));
    CHECK_INT(pp_breaker_state(&b, 100), PP_BREAKER_OPEN);
    CHECK_INT(b.opened, 1);

    /* Open: nothing goes; the wait is the rest of the cool-down. */
    CHECK(!pp_breaker_allow(&b, 600, &probe, &wait));
    CHECK_INT(wait, 500);
    /* A late answer of a request sent before it opened does not count. */
    CHECK(!pp_breaker_record(&b, false, true, 700));
    CHECK_INT(pp_breaker_state(&b, 700), PP_BREAKER_OPEN);

    /* Cool-down over: half-open, exactly one probe. */
    CHECK_INT(pp_breaker_state(&b, 1100), PP_BREAKER_HALF_OPEN);
    CHECK(pp_breaker_allow(&b, 1100, &probe, &wait));
    CHECK(probe);
    CHECK(!pp_breaker_allow(&b, 1100, &probe, &wait));
    CHECK_INT(wait, -1);
    CHECK(!pp_breaker_allow(&b, 5000, &probe, &wait));
    /* The probe fails: open again for twice as long. */
    CHECK(pp_breaker_record(&b, true, false, 1200));
    CHECK_INT(pp_breaker_state(&b, 1200), PP_BREAKER_OPEN);
    CHECK_INT(b.open_until_ms, 3200);
    CHECK(!pp_breaker_allow(&b, 3199, &probe, &wait));
    CHECK_INT(wait, 1);
    /* And again: capped at 3 s. */
    CHECK(pp_breaker_allow(&b, 3200, &probe, &wait));
    CHECK(probe);
    CHECK(pp_breaker_record(&b, true, false, 3200));
    CHECK_INT(b.open_until_ms, 6200);
    CHECK(pp_breaker_allow(&b, 6200, &probe, &wait));
    CHECK(pp_breaker_record(&b, true, false, 6200));
    CHECK_INT(b.open_until_ms, 9200);
    CHECK_INT(b.opened, 4);

    /* A successful probe closes it with a clean window and the base cool-down. */
    CHECK(pp_breaker_allow(&b, 9200, &probe, &wait));
    CHECK(probe);
    CHECK(pp_breaker_record(&b, true, true, 9300));
    CHECK_INT(pp_breaker_state(&b, 9300), PP_BREAKER_CLOSED);
    CHECK_INT(b.ring_n, 0);
    CHECK(pp_breaker_allow(&b, 9300, &probe, &wait));
    CHECK(!probe);
    feed(&b, 3, false, 9300);
    CHECK_INT(pp_breaker_state(&b, 9300), PP_BREAKER_CLOSED); /* window restarted */
    feed(&b, 1, false, 9300);
    CHECK_INT(pp_breaker_state(&b, 9300), PP_BREAKER_OPEN);
    CHECK_INT(b.open_until_ms, 10300); /* base cool-down again */

    /* Sliding window: 4 of 10 failing (40 %) stays closed; old failures slide out. */
    pp_breaker_init(&b, 10, 4, 50, 1000, 3000);
    feed(&b, 6, true, 0);
    feed(&b, 4, false, 0);
    CHECK_INT(pp_breaker_state(&b, 0), PP_BREAKER_CLOSED);
    CHECK_INT(b.failures, 4);
    feed(&b, 4, true, 0); /* 4 oks push 4 oks out: still 4 failures of 10 */
    CHECK_INT(b.failures, 4);
    feed(&b, 4, true, 0); /* now the failures slide out */
    CHECK_INT(b.failures, 2);
    feed(&b, 5, false, 0); /* 2 slide in over failures, 3 over oks: 5 of 10 = 50 % */
    CHECK_INT(pp_breaker_state(&b, 0), PP_BREAKER_OPEN);

    /* Parameters are clamped (window <= 256, min <= window). */
    pp_breaker_init(&b, 1000, 5000, 0, 0, 0);
    CHECK_INT(b.window, PP_BREAKER_MAX_WINDOW);
    CHECK_INT(b.min_requests, PP_BREAKER_MAX_WINDOW);
    CHECK_INT(b.failure_pct, 1);
    return CHECK_DONE();
}
