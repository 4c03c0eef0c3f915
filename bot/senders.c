/* senders.c - pp-bot's per-sender limits: an LRU table of writers with message and live-lookup token buckets and a day cap. */
#include "senders.h"
#include "text.h"
#include "budget.h"
#include "err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One refusal per sender and limit at most this often, however long the wait is. */
#define REFUSAL_WINDOW_MS 60000

typedef struct entry {
    char *key;                 /* lower-cased bare JID, owned; NULL = free */
    uint64_t hash;
    int32_t hnext;             /* next entry in this hash chain, -1 = end */
    int32_t prev, next;        /* LRU list, most recent first */
    pp_bucket_t msgs, live;
    int64_t msgs_told_until;   /* refusal window of the message limit */
    int64_t live_told_until;   /* refusal window of the live limit */
    long long day;             /* UTC day of day_live */
    long day_live;             /* live lookups on that day */
    bool day_told;             /* the day cap's refusal was sent */
} entry_t;

struct pp_bot_senders {
    pp_bot_senders_limits_t lim;
    entry_t *e;
    int32_t *heads;            /* hash buckets: entry index or -1 */
    uint64_t mask;             /* buckets - 1 */
    int32_t n, head, tail;     /* entries in use; LRU ends (-1 = empty) */
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
    if (!s->e || !s->heads) {
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
    free(s);
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

/* Over a limit: refuse once per window, then drop. */
static pp_bot_sender_verdict_t over(int64_t *told_until, int64_t now, int64_t wait)
{
    if (now >= *told_until) {
        *told_until = now + (wait > REFUSAL_WINDOW_MS ? wait : REFUSAL_WINDOW_MS);
        return PP_BOT_SENDER_REFUSE;
    }
    return PP_BOT_SENDER_DROP;
}

pp_bot_sender_verdict_t pp_bot_senders_message(pp_bot_senders_t *s, const char *sender, int64_t now_ms,
                                               int64_t *retry_ms)
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
    if (e->day != day) {
        e->day = day;
        e->day_live = 0;
        e->day_told = false;
    }
    if (s->lim.live_per_day > 0 && e->day_live >= s->lim.live_per_day) {
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
    e->day_live++;
    return PP_BOT_SENDER_OK;
}
