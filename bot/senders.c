/* senders.c - pp-bot's per-sender limits: an LRU table of writers with message and live-lookup token buckets, and day counts that survive eviction. */
#include "senders.h"
#include "text.h"
#include "budget.h"
#include "err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One refusal per sender and limit at most this often, however long the wait is. */
#define REFUSAL_WINDOW_MS 60000

/*
 * The day cap is not kept in the LRU entries: a writer evicted by many others (or who makes
 * the table churn on purpose) would come back with a count of 0. Live lookups per writer and
 * day are counted in a count-min sketch instead: DAY_ROWS rows of `day_w` 32-bit counters
 * (day_w the power of two >= 4 x bot_senders_max, so 16 x max counters, 640 KB for the
 * default 10,000), each row indexed by its own mix of the bare JID's hash. Nothing is ever
 * evicted from it; it is cleared when the UTC day changes. A writer's count is the smallest
 * of its DAY_ROWS counters, so it is never below the truth (the cap cannot be beaten) and is
 * above it only if all DAY_ROWS counters collide with heavier writers (conservative update:
 * only counters below the new count are raised), which stays rare while the day's writers
 * number about the table size. Memory is fixed at start-up, whatever the number of writers.
 */
#define DAY_ROWS 4

typedef struct entry {
    char *key; /* lower-cased bare JID, owned; NULL = free */
    uint64_t hash;
    int32_t hnext;      /* next entry in this hash chain, -1 = end */
    int32_t prev, next; /* LRU list, most recent first */
    pp_bucket_t msgs, live;
    int64_t msgs_told_until; /* refusal window of the message limit */
    int64_t live_told_until; /* refusal window of the live limit */
    long long day;           /* UTC day of day_told */
    bool day_told; /* the day cap's refusal was sent (an evicted writer may be told again) */
} entry_t;

struct pp_bot_senders {
    pp_bot_senders_limits_t lim;
    entry_t *e;
    int32_t *heads;        /* hash buckets: entry index or -1 */
    uint64_t mask;         /* buckets - 1 */
    int32_t n, head, tail; /* entries in use; LRU ends (-1 = empty) */
    uint32_t *day_cnt;     /* DAY_ROWS x day_w live lookups today (count-min sketch, above) */
    uint64_t day_w;        /* a power of two */
    long long day;         /* UTC day the sketch counts (-1 = none yet) */
};

int pp_bot_senders_new(pp_bot_senders_t **out, const pp_bot_senders_limits_t *lim)
{
    if (!lim || lim->max < 1 || lim->max > INT32_MAX / 4)
        return PP_EINVAL;
    pp_bot_senders_t *s = calloc(1, sizeof *s);
    if (!s)
        return PP_ENOMEM;
    s->lim = *lim;
    uint64_t nb = 16;
    while (nb < (uint64_t)lim->max * 2)
        nb *= 2;
    s->e = calloc((size_t)lim->max, sizeof *s->e);
    s->heads = malloc(nb * sizeof *s->heads);
    s->day_w = 1024;
    while (s->day_w < (uint64_t)lim->max * 4)
        s->day_w *= 2;
    s->day_cnt = calloc(DAY_ROWS * s->day_w, sizeof *s->day_cnt);
    s->day = -1;
    if (!s->e || !s->heads || !s->day_cnt) {
        pp_bot_senders_free(s);
        return PP_ENOMEM;
    }
    for (uint64_t i = 0; i < nb; i++)
        s->heads[i] = -1;
    s->mask = nb - 1;
    s->head = s->tail = -1;
    *out = s;
    return PP_OK;
}

void pp_bot_senders_free(pp_bot_senders_t *s)
{
    if (!s)
        return;
    if (s->e)
        for (long i = 0; i < s->lim.max; i++)
            free(s->e[i].key);
    free(s->e);
    free(s->heads);
    free(s->day_cnt);
    free(s);
}

void pp_bot_senders_retune(pp_bot_senders_t *s, const pp_bot_senders_limits_t *lim)
{
    long max = s->lim.max;
    s->lim = *lim;
    s->lim.max = max;
}

long pp_bot_senders_count(const pp_bot_senders_t *s) { return s->n; }

static void lru_unlink(pp_bot_senders_t *s, int32_t i)
{
    entry_t *e = &s->e[i];
    if (e->prev >= 0)
        s->e[e->prev].next = e->next;
    else
        s->head = e->next;
    if (e->next >= 0)
        s->e[e->next].prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = -1;
}

static void lru_push_front(pp_bot_senders_t *s, int32_t i)
{
    entry_t *e = &s->e[i];
    e->prev = -1;
    e->next = s->head;
    if (s->head >= 0)
        s->e[s->head].prev = i;
    s->head = i;
    if (s->tail < 0)
        s->tail = i;
}

static void hash_unlink(pp_bot_senders_t *s, int32_t i)
{
    int32_t *p = &s->heads[s->e[i].hash & s->mask];
    while (*p >= 0 && *p != i)
        p = &s->e[*p].hnext;
    if (*p == i)
        *p = s->e[i].hnext;
}

/* The sender's entry (moved to the front), created (evicting the least recent) if new; NULL
 * when out of memory. */
static entry_t *get(pp_bot_senders_t *s, const char *sender, int64_t now)
{
    char key[512];
    size_t n = 0;
    for (; sender[n] && sender[n] != '/' && n < sizeof key - 1; n++)
        key[n] = (char)tolower((unsigned char)sender[n]);
    key[n] = '\0';
    uint64_t h = pp_text_hash(key);
    for (int32_t i = s->heads[h & s->mask]; i >= 0; i = s->e[i].hnext) {
        if (s->e[i].hash == h && strcmp(s->e[i].key, key) == 0) {
            lru_unlink(s, i);
            lru_push_front(s, i);
            pp_bucket_retune(&s->e[i].msgs, s->lim.msgs_per_min / 60.0, s->lim.msgs_burst, now);
            pp_bucket_retune(&s->e[i].live, s->lim.live_per_min / 60.0, s->lim.live_burst, now);
            return &s->e[i];
        }
    }
    char *dup = strdup(key);
    if (!dup)
        return NULL;
    int32_t i;
    if (s->n < s->lim.max) {
        i = s->n++;
    } else { /* evict the least recently seen sender */
        i = s->tail;
        lru_unlink(s, i);
        hash_unlink(s, i);
        free(s->e[i].key);
    }
    entry_t *e = &s->e[i];
    memset(e, 0, sizeof *e);
    e->key = dup;
    e->hash = h;
    e->hnext = s->heads[h & s->mask];
    s->heads[h & s->mask] = i;
    pp_bucket_init(&e->msgs, s->lim.msgs_per_min / 60.0, s->lim.msgs_burst, now);
    pp_bucket_init(&e->live, s->lim.live_per_min / 60.0, s->lim.live_burst, now);
    e->day = -1;
    lru_push_front(s, i);
    return e;
}

/* The sketch counter of row r for a sender's hash (splitmix64 of the hash and the row). */
static uint32_t *day_counter(pp_bot_senders_t *s, uint64_t h, int r)
{
    uint64_t z = h + (uint64_t)(r + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return &s->day_cnt[(uint64_t)r * s->day_w + (z & (s->day_w - 1))];
}

/* Live lookups counted for hash h today (never below the truth). */
static uint32_t day_count(pp_bot_senders_t *s, uint64_t h)
{
    uint32_t m = UINT32_MAX;
    for (int r = 0; r < DAY_ROWS; r++) {
        uint32_t c = *day_counter(s, h, r);
        if (c < m)
            m = c;
    }
    return m;
}

/* Over a limit: refuse once per window, then drop. */
static pp_bot_sender_verdict_t over(int64_t *told_until, int64_t now, int64_t wait)
{
    if (now >= *told_until) {
        *told_until = now + (wait > REFUSAL_WINDOW_MS ? wait : REFUSAL_WINDOW_MS);
        return PP_BOT_SENDER_REFUSE;
    }
    return PP_BOT_SENDER_DROP;
}

pp_bot_sender_verdict_t pp_bot_senders_message(pp_bot_senders_t *s, const char *sender,
                                               int64_t now_ms, int64_t *retry_ms)
{
    *retry_ms = 0;
    entry_t *e = get(s, sender, now_ms);
    if (!e)
        return PP_BOT_SENDER_OK;
    int64_t w = pp_bucket_take(&e->msgs, now_ms);
    if (w == 0)
        return PP_BOT_SENDER_OK;
    *retry_ms = w;
    return over(&e->msgs_told_until, now_ms, w);
}

pp_bot_sender_verdict_t pp_bot_senders_live(pp_bot_senders_t *s, const char *sender, int64_t now_ms,
                                            long long day, int64_t *retry_ms, bool *day_cap)
{
    *retry_ms = 0;
    *day_cap = false;
    entry_t *e = get(s, sender, now_ms);
    if (!e)
        return PP_BOT_SENDER_OK;
    if (s->day != day) { /* a new UTC day: every count starts at 0 */
        memset(s->day_cnt, 0, DAY_ROWS * s->day_w * sizeof *s->day_cnt);
        s->day = day;
    }
    if (e->day != day) {
        e->day = day;
        e->day_told = false;
    }
    uint32_t today = day_count(s, e->hash);
    if (s->lim.live_per_day > 0 && today >= (uint64_t)s->lim.live_per_day) {
        *day_cap = true;
        if (e->day_told)
            return PP_BOT_SENDER_DROP;
        e->day_told = true;
        return PP_BOT_SENDER_REFUSE;
    }
    int64_t w = pp_bucket_take(&e->live, now_ms);
    if (w) {
        *retry_ms = w;
        return over(&e->live_told_until, now_ms, w);
    }
    for (int r = 0; r < DAY_ROWS && today < UINT32_MAX; r++) { /* conservative update */
        uint32_t *c = day_counter(s, e->hash, r);
        if (*c < today + 1)
            *c = today + 1;
    }
    return PP_BOT_SENDER_OK;
}
