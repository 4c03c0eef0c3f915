/* senders.h - pp-bot's per-sender limits: messages and live lookups per writer, a day cap, one polite refusal per window. */
#ifndef PP_BOT_SENDERS_H
#define PP_BOT_SENDERS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A table of at most `max` senders (bare JIDs, compared case-insensitively), the least
 * recently seen evicted first, each with two token buckets (messages; live carrier lookups)
 * and a count of live lookups per UTC day. Pure: times are passed in (monotonic ms, UTC day
 * number); loop thread only. An evicted sender starts again with full buckets, so `max`
 * should exceed the senders active within a few minutes; its live lookups of the day are
 * counted apart (a fixed-size count-min sketch, cleared at the UTC day change, senders.c), so
 * eviction never resets the day cap.
 */
typedef struct pp_bot_senders pp_bot_senders_t;

typedef struct pp_bot_senders_limits {
    long max;                        /* table size (bot_senders_max) */
    double msgs_per_min, msgs_burst; /* bot_sender_msgs_per_min / _burst */
    double live_per_min, live_burst; /* bot_sender_live_per_min / _burst */
    long live_per_day;               /* bot_sender_live_per_day; 0 = no day cap */
} pp_bot_senders_limits_t;

typedef enum {
    PP_BOT_SENDER_OK = 0, /* within the limit: serve it */
    PP_BOT_SENDER_REFUSE, /* over: answer with the polite refusal (the first of this window) */
    PP_BOT_SENDER_DROP,   /* over, and already told in this window: no answer */
} pp_bot_sender_verdict_t;

/* Returns 0, PP_EINVAL (max < 1) or PP_ENOMEM. */
int pp_bot_senders_new(pp_bot_senders_t **out, const pp_bot_senders_limits_t *lim)
    __attribute__((warn_unused_result));
void pp_bot_senders_free(pp_bot_senders_t *s);
/* A reload: every limit but max (the table's size) from lim; a writer's buckets take the new
 * rates and sizes at its next message (tokens kept, capped). */
void pp_bot_senders_retune(pp_bot_senders_t *s, const pp_bot_senders_limits_t *lim);

/*
 * One message from sender. Not OK: *retry_ms = when the sender may write again; the window
 * of one refusal lasts until then. Out of memory never refuses.
 */
pp_bot_sender_verdict_t pp_bot_senders_message(pp_bot_senders_t *s, const char *sender,
                                               int64_t now_ms, int64_t *retry_ms);
/*
 * One live carrier lookup for sender on UTC day `day`. Not OK: *retry_ms as above, and
 * *day_cap = the day's cap is what refused (then the window lasts until the day ends, and
 * *retry_ms is 0: the caller names the next midnight).
 */
pp_bot_sender_verdict_t pp_bot_senders_live(pp_bot_senders_t *s, const char *sender, int64_t now_ms,
                                            long long day, int64_t *retry_ms, bool *day_cap);

/* Senders in the table now. */
long pp_bot_senders_count(const pp_bot_senders_t *s);

#endif
