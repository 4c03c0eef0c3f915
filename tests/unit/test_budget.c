/* test_budget.c - token bucket pacing, fleet shares, the per-day split, UTC days, config limits. */
#include "budget.h"
#include "check.h"
#include "config.h"

/* Simulate `n_pollers` pollers each sending as fast as its bucket allows for `ms`; return
 * the most requests seen in any [t, t+1000) window of the fleet. */
static long max_window(int n_pollers, long fleet_rps, int64_t ms)
{
    static int64_t sent[100000];
    long n = 0;
    pp_bucket_t b[8];
    for (int i = 0; i < n_pollers; i++)
        pp_bucket_init(&b[i], pp_budget_share(fleet_rps, n_pollers), 1, i * 7);
    for (int64_t t = 0; t < ms && n < 100000; t++)
        for (int i = 0; i < n_pollers; i++)
            while (pp_bucket_take(&b[i], t) == 0 && n < 100000)
                sent[n++] = t;
    long best = 0;
    for (long i = 0, j = 0; i < n; i++) { /* sent[] is sorted */
        while (sent[i] - sent[j] >= 1000)
            j++;
        if (i - j + 1 > best)
            best = i - j + 1;
    }
    return best;
}

int main(void)
{
    pp_bucket_t b;
    /* 4 tokens/s, capacity 1: one now, the next 250 ms later, never two at once. */
    pp_bucket_init(&b, 4, 1, 1000);
    CHECK_INT(pp_bucket_take(&b, 1000), 0);
    CHECK_INT(pp_bucket_take(&b, 1000), 250);
    CHECK_INT(pp_bucket_take(&b, 1100), 150);
    CHECK_INT(pp_bucket_take(&b, 1250), 0);
    CHECK_INT(pp_bucket_wait_ms(&b, 1250), 250);
    /* Idle for long: still only one token (capacity 1). */
    CHECK_INT(pp_bucket_take(&b, 9000), 0);
    CHECK(pp_bucket_take(&b, 9000) > 0);
    /* Capacity 3: a burst of 3, then the rate. */
    pp_bucket_init(&b, 2, 3, 0);
    CHECK_INT(pp_bucket_take(&b, 0), 0);
    CHECK_INT(pp_bucket_take(&b, 0), 0);
    CHECK_INT(pp_bucket_take(&b, 0), 0);
    CHECK_INT(pp_bucket_take(&b, 0), 500);
    /* Unlimited. */
    pp_bucket_init(&b, 0, 1, 0);
    for (int i = 0; i < 1000; i++)
        CHECK_INT(pp_bucket_take(&b, 0), 0);
    CHECK_INT(pp_bucket_queue_ms(&b, 50), 0);
    /* Re-rating keeps accrued tokens and changes the pace. */
    pp_bucket_init(&b, 1, 1, 0);
    CHECK_INT(pp_bucket_take(&b, 0), 0);
    pp_bucket_set_rate(&b, 10, 50); /* 0.05 token accrued at 1/s */
    CHECK_INT(pp_bucket_wait_ms(&b, 50), 95);
    CHECK_INT(pp_bucket_queue_ms(&b, 20), 2000);
    pp_bucket_set_rate(&b, 0.5, 100); /* 0.55 now */
    CHECK_INT(pp_bucket_wait_ms(&b, 100), 900);

    /* Fleet pacing: in any 1-second window at most ceil(share) per poller. */
    CHECK(max_window(1, 10, 20000) <= 10);
    CHECK(max_window(1, 10, 20000) >= 10);
    CHECK(max_window(2, 10, 20000) <= 10);
    CHECK(max_window(3, 10, 20000) <= 12); /* 3.33/s each: ceil = 4 per poller */
    /* DHL starter, 1/s over 2 pollers: 0.5/s each, but both may send in the same second:
     * the fleet bound per 1-second window is the sum of ceil(share), i.e. < rps + live. */
    CHECK_INT(max_window(2, 1, 20000), 2);

    /* Shares. */
    CHECK(pp_budget_share(0, 3) == 0);
    CHECK(pp_budget_share(10, 4) == 2.5);
    CHECK(pp_budget_share(10, 0) == 10);

    /* Day split: take (left / live), at least 1 while something is left, at most cap held. */
    CHECK_INT(pp_budget_day_grant(0, 0, 1, 0, 10), 0); /* unlimited */
    CHECK_INT(pp_budget_day_grant(100, 0, 2, 0, 1000), 50);
    CHECK_INT(pp_budget_day_grant(100, 50, 2, 0, 1000), 25);
    CHECK_INT(pp_budget_day_grant(100, 0, 2, 0, 10), 10);  /* cap */
    CHECK_INT(pp_budget_day_grant(100, 10, 2, 4, 10), 6);  /* top up to the cap */
    CHECK_INT(pp_budget_day_grant(100, 10, 2, 10, 10), 0); /* already at it */
    CHECK_INT(pp_budget_day_grant(100, 99, 4, 0, 10), 1);  /* the tail is not wasted */
    CHECK_INT(pp_budget_day_grant(100, 100, 4, 0, 10), 0); /* spent */
    CHECK_INT(pp_budget_day_grant(100, 130, 4, 0, 10), 0); /* over (never negative) */
    CHECK_INT(pp_budget_day_grant(250, 0, 0, 0, 0), 250);  /* live 0 = 1; cap 0 = none */
    /* However the fleet interleaves its syncs, the counter never passes per_day. */
    for (int live = 1; live <= 5; live++) {
        long reserved = 0, held[5] = {0}, used = 0;
        for (int round = 0; round < 1000; round++) {
            int who = (round * 7 + live) % live;
            long g = pp_budget_day_grant(97, reserved, live, held[who], 6);
            reserved += g;
            held[who] += g;
            long spend = held[who] > 2 ? held[who] - 2 : held[who];
            held[who] -= spend;
            used += spend;
            CHECK(reserved <= 97);
            if (reserved > 97)
                break;
        }
        CHECK(used <= 97);
        CHECK(reserved == 97); /* and all of it gets handed out */
    }
    /* Cap: 2 sync periods at the rate share, or 1 % of the day share. */
    CHECK_INT(pp_budget_day_cap(50000, 2, 2.5, 1000), 5);
    CHECK_INT(pp_budget_day_cap(50000, 2, 0, 1000), 250);
    CHECK_INT(pp_budget_day_cap(20, 2, 0, 1000), 1);

    /* UTC days. 2026-11-28T23:59:59.999Z and the next midnight. */
    int64_t t = 1795910399999LL;
    CHECK_INT(pp_budget_utc_day(t), 20785);
    CHECK_INT(pp_budget_utc_day(t + 1), 20786);
    CHECK_INT(pp_budget_ms_to_next_day(t), 1);
    CHECK_INT(pp_budget_ms_to_next_day(t + 1), 86400000);
    CHECK_INT(pp_budget_utc_day(-1), -1);

    /* Limits per carrier from config; unknown carrier = unlimited. */
    pp_config_t cfg;
    char err[256];
    CHECK_INT(pp_config_init(&cfg), 0);
    CHECK_INT(pp_config_set(&cfg, "dhl_rps", "1", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&cfg, "dhl_per_day", "250", err, sizeof err), 0);
    CHECK_INT(pp_config_set(&cfg, "orlen_per_day", "7", err, sizeof err), 0);
    long rps, day;
    pp_budget_limits(&cfg, "dhl", &rps, &day);
    CHECK_INT(rps, 1);
    CHECK_INT(day, 250);
    pp_budget_limits(&cfg, "orlen", &rps, &day);
    CHECK_INT(rps, 5); /* orlen_rps's default */
    CHECK_INT(day, 7);
    static const char *const names[] = {"dhl", "ups",          "inpost", "gls",
                                        "dpd", "pocztapolska", "orlen"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pp_budget_limits(&cfg, names[i], &rps, &day);
        CHECK(rps > 0); /* every carrier has a polite default */
    }
    pp_budget_limits(&cfg, "nosuch", &rps, &day);
    CHECK_INT(rps, 0);
    CHECK_INT(day, 0);
    pp_config_free(&cfg);
    return CHECK_DONE();
}
