/* test_bot_senders.c - pp-bot's per-sender limits (bot/senders.c): message and live buckets, one refusal per window, day cap (also after eviction), LRU eviction. */
#include "check.h"
#include "err.h"
#include "senders.h"

#include <stdint.h>
#include <stdio.h>

#define O PP_BOT_SENDER_OK
#define R PP_BOT_SENDER_REFUSE
#define D PP_BOT_SENDER_DROP

int main(void)
{
    pp_bot_senders_t *s = NULL;
    int64_t retry = 0;
    bool cap = false;

    /* messages: burst 3, 1 per minute; the first over the limit refused, the rest dropped */
    pp_bot_senders_limits_t lim = {.max = 100,
                                   .msgs_per_min = 1,
                                   .msgs_burst = 3,
                                   .live_per_min = 1,
                                   .live_burst = 2,
                                   .live_per_day = 5};
    CHECK_INT(pp_bot_senders_new(&s, &lim), 0);
    static const struct {
        const char *who;
        int64_t t;
        int want;
    } msgs[] = {
        {"a@x", 0, O},      {"a@x", 1, O}, {"A@X/phone", 2, O}, /* one writer, any resource */
        {"a@x", 3, R},      {"a@x", 4, D}, {"a@x/laptop", 5, D},
        {"b@x", 6, O},      /* another writer is served */
        {"a@x", 60003, O},  /* a token back after a minute */
        {"a@x", 60004, R},  /* over again, the first window (60 s from t=3) is over */
        {"a@x", 90000, D},  /* inside the second window, no token yet */
        {"a@x", 130000, O}, /* the next token */
        {"a@x", 130001, R}, /* over again after the window */
        {"a@x", 130002, D},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        pp_bot_sender_verdict_t v = pp_bot_senders_message(s, msgs[i].who, msgs[i].t, &retry);
        if ((int)v != msgs[i].want)
            fprintf(stderr, "message %zu (%s at %lld)\n", i, msgs[i].who, (long long)msgs[i].t);
        CHECK_INT(v, msgs[i].want);
        if (v != O)
            CHECK(retry > 0 && retry <= 60000);
    }
    CHECK_INT(pp_bot_senders_count(s), 2);

    /* 200 messages in one second from one writer: burst answered + one refusal */
    int ok = 0, refused = 0, dropped = 0;
    for (int i = 0; i < 200; i++) {
        pp_bot_sender_verdict_t v = pp_bot_senders_message(s, "flood@x", 200000 + i * 5, &retry);
        ok += v == O, refused += v == R, dropped += v == D;
    }
    CHECK_INT(ok, 3);
    CHECK_INT(refused, 1);
    CHECK_INT(dropped, 196);

    /* live lookups: burst 2; then refused once, dropped; a day cap of 5 */
    CHECK_INT(pp_bot_senders_live(s, "c@x", 0, 100, &retry, &cap), O);
    CHECK_INT(pp_bot_senders_live(s, "c@x", 1, 100, &retry, &cap), O);
    CHECK_INT(pp_bot_senders_live(s, "c@x", 2, 100, &retry, &cap), R);
    CHECK(!cap && retry > 0);
    CHECK_INT(pp_bot_senders_live(s, "c@x", 3, 100, &retry, &cap), D);
    int64_t t = 10 * 60000; /* refilled (capped at the burst of 2) */
    CHECK_INT(pp_bot_senders_live(s, "c@x", t, 100, &retry, &cap), O);
    CHECK_INT(pp_bot_senders_live(s, "c@x", t + 1, 100, &retry, &cap), O);
    t += 10 * 60000;
    CHECK_INT(pp_bot_senders_live(s, "c@x", t, 100, &retry, &cap), O); /* the 5th today */
    t += 10 * 60000;
    CHECK_INT(pp_bot_senders_live(s, "c@x", t, 100, &retry, &cap), R); /* the day cap */
    CHECK(cap);
    CHECK_INT(pp_bot_senders_live(s, "c@x", t + 60000, 100, &retry, &cap), D);
    CHECK(cap);
    CHECK_INT(pp_bot_senders_live(s, "c@x", t + 2 * 60000, 101, &retry, &cap), O); /* next day */
    CHECK(!cap);
    CHECK_INT(pp_bot_senders_live(s, "d@x", t, 100, &retry, &cap), O); /* others unaffected */
    pp_bot_senders_free(s);

    /* LRU: a table of 2; the least recently seen writer is forgotten (and starts afresh) */
    lim = (pp_bot_senders_limits_t){.max = 2,
                                    .msgs_per_min = 1,
                                    .msgs_burst = 1,
                                    .live_per_min = 1,
                                    .live_burst = 1,
                                    .live_per_day = 0};
    CHECK_INT(pp_bot_senders_new(&s, &lim), 0);
    CHECK_INT(pp_bot_senders_message(s, "a@x", 0, &retry), O);
    CHECK_INT(pp_bot_senders_message(s, "b@x", 1, &retry), O);
    CHECK_INT(pp_bot_senders_message(s, "a@x", 2, &retry), R); /* a is the most recent now */
    CHECK_INT(pp_bot_senders_message(s, "c@x", 3, &retry), O); /* evicts b */
    CHECK_INT(pp_bot_senders_count(s), 2);
    CHECK_INT(pp_bot_senders_message(s, "a@x", 4, &retry), D); /* a was kept */
    CHECK_INT(pp_bot_senders_message(s, "b@x", 5, &retry), O); /* b forgotten: a fresh bucket */
    for (int i = 0; i < 1000; i++) { /* many writers: the table stays at 2 */
        char who[32];
        snprintf(who, sizeof who, "w%d@x", i);
        CHECK_INT(pp_bot_senders_message(s, who, 10 + i, &retry), O);
    }
    CHECK_INT(pp_bot_senders_count(s), 2);
    pp_bot_senders_free(s);

    /* The day cap survives eviction: a table of 16, a cap of 3 a day; the capped writer is
     * evicted by 100 others and comes back still capped (then dropped), until the next day. */
    lim = (pp_bot_senders_limits_t){.max = 16,
                                    .msgs_per_min = 1,
                                    .msgs_burst = 1,
                                    .live_per_min = 6000,
                                    .live_burst = 100,
                                    .live_per_day = 3};
    CHECK_INT(pp_bot_senders_new(&s, &lim), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(pp_bot_senders_live(s, "churn@x", i, 200, &retry, &cap), O);
    CHECK_INT(pp_bot_senders_live(s, "churn@x", 3, 200, &retry, &cap), R);
    CHECK(cap);
    int served_after = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 100; i++) { /* others churn the table: churn@x is evicted */
            char who[32];
            snprintf(who, sizeof who, "w%d.%d@x", round, i);
            CHECK_INT(pp_bot_senders_live(s, who, 1000 + round * 1000 + i, 200, &retry, &cap), O);
        }
        CHECK_INT(pp_bot_senders_count(s), 16);
        pp_bot_sender_verdict_t v =
            pp_bot_senders_live(s, "Churn@X/other", 1500 + round * 1000, 200, &retry, &cap);
        served_after += v == O;
        CHECK(v != O);
        CHECK(cap);
    }
    CHECK_INT(served_after, 0);
    CHECK_INT(pp_bot_senders_live(s, "churn@x", 10000, 201, &retry, &cap), O); /* the next day */
    CHECK(!cap);
    /* 500 writers with one lookup each and 3 with 3: nobody else is capped by a collision */
    int capped = 0;
    for (int i = 0; i < 500; i++) {
        char who[32];
        snprintf(who, sizeof who, "one%d@x", i);
        capped += pp_bot_senders_live(s, who, 20000 + i, 201, &retry, &cap) != O;
    }
    CHECK_INT(capped, 0);
    pp_bot_senders_free(s);

    CHECK_INT(pp_bot_senders_new(&s, &(pp_bot_senders_limits_t){.max = 0}), PP_EINVAL);
    return CHECK_DONE();
}
