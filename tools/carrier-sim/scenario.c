/* scenario.c - deterministic parcel journeys (hash of the number), Warsaw local time, first-seen map. */
#include "scenario.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t pp_sim_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform integer in [lo, hi]. */
static int64_t rnd(uint64_t *x, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(splitmix(x) % (uint64_t)(hi - lo + 1));
}

static const char *const branches[] = {"KRA", "WAW", "GDA", "POZ", "WRO", "LOD",
                                       "KAT", "LUB", "SZC", "BYD", "RZE", "OLS"};
#define N_BRANCHES (sizeof(branches) / sizeof(branches[0]))

const char *pp_sim_step_place(const pp_sim_scenario_t *sc, const pp_sim_step_t *s)
{
    if (s->place[0])
        return s->place;
    switch (s->kind) {
    case PP_SIM_DROPPED_AT_LOCKER: return sc->dropoff_id;
    case PP_SIM_READY_AT_LOCKER:
    case PP_SIM_PICKUP_REMINDER:
    case PP_SIM_DELIVERED: return sc->locker_id;
    default: return "";
    }
}

static void add(pp_sim_scenario_t *sc, pp_sim_step_kind_t k, int64_t at, const char *place)
{
    if (sc->n_steps >= PP_SIM_MAX_STEPS)
        return;
    pp_sim_step_t *s = &sc->steps[sc->n_steps++];
    s->kind = k;
    s->at_s = at;
    snprintf(s->place, sizeof(s->place), "%s", place ? place : "");
}

void pp_sim_scenario_build(const char *number, int64_t not_found_s, pp_sim_scenario_t *sc)
{
    const int64_t M = 60, H = 3600;
    memset(sc, 0, sizeof(*sc));
    sc->hash = pp_sim_hash(number);
    uint64_t x = sc->hash;
    sc->not_found_s = not_found_s;
    int pick = (int)rnd(&x, 0, 99);
    sc->to_locker = pick < 40;                        /* ~40 % to a locker */
    sc->failed_attempt = !sc->to_locker && pick < 55; /* ~15 % courier with a failed attempt */
    sc->from_locker = rnd(&x, 0, 1) == 1;
    sc->size = (char)('A' + rnd(&x, 0, 2));
    const char *src = branches[rnd(&x, 0, N_BRANCHES - 1)];
    const char *dst = branches[rnd(&x, 0, N_BRANCHES - 1)];
    snprintf(sc->locker_id, sizeof(sc->locker_id), "%s%02d%c", dst, (int)rnd(&x, 1, 99),
             "MANP"[rnd(&x, 0, 3)]);
    snprintf(sc->dropoff_id, sizeof(sc->dropoff_id), "%s%02d%c", src, (int)rnd(&x, 1, 99),
             "MANP"[rnd(&x, 0, 3)]);

    int64_t t = not_found_s;
    add(sc, PP_SIM_LABEL_CREATED, t, NULL);
    if (sc->from_locker) {
        add(sc, PP_SIM_DROPPED_AT_LOCKER, t += rnd(&x, 20 * M, 4 * H), NULL);
        add(sc, PP_SIM_TAKEN_FROM_LOCKER, t += rnd(&x, 1 * H, 3 * H), src);
    } else {
        add(sc, PP_SIM_COLLECTED, t += rnd(&x, 1 * H, 6 * H), src);
    }
    add(sc, PP_SIM_SOURCE_BRANCH_IN, t += rnd(&x, 30 * M, 2 * H), src);
    add(sc, PP_SIM_SOURCE_BRANCH_OUT, t += rnd(&x, 1 * H, 3 * H), src);
    add(sc, PP_SIM_SORTING_IN, t += rnd(&x, 2 * H, 5 * H), "SOR");
    add(sc, PP_SIM_SORTING_OUT, t += rnd(&x, 1 * H, 3 * H), "SOR");
    add(sc, PP_SIM_TARGET_BRANCH_IN, t += rnd(&x, 2 * H, 5 * H), dst);
    add(sc, PP_SIM_OUT_FOR_DELIVERY, t += rnd(&x, 2 * H, 6 * H), dst);
    if (sc->to_locker) {
        add(sc, PP_SIM_READY_AT_LOCKER, t += rnd(&x, 1 * H, 4 * H), NULL);
        int64_t wait = rnd(&x, 2 * H, 22 * H);
        if (wait > 16 * H)
            add(sc, PP_SIM_PICKUP_REMINDER, t + 12 * H, NULL);
        add(sc, PP_SIM_DELIVERED, t += wait, NULL);
    } else if (sc->failed_attempt) {
        add(sc, rnd(&x, 0, 1) ? PP_SIM_NOTICE_LEFT : PP_SIM_UNDELIVERED, t += rnd(&x, 2 * H, 6 * H),
            dst);
        add(sc, PP_SIM_OUT_FOR_DELIVERY, t += rnd(&x, 14 * H, 18 * H), dst);
        add(sc, PP_SIM_DELIVERED, t += rnd(&x, 1 * H, 6 * H), dst);
    } else {
        add(sc, PP_SIM_DELIVERED, t += rnd(&x, 1 * H, 6 * H), dst);
    }
}

int pp_sim_scenario_visible(const pp_sim_scenario_t *sc, int64_t elapsed_s)
{
    int n = 0;
    if (elapsed_s < sc->not_found_s)
        return 0;
    while (n < sc->n_steps && sc->steps[n].at_s <= elapsed_s)
        n++;
    return n;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* 01:00 UTC on the last Sunday of month m (March or October: 31 days) of year y. */
static int64_t last_sunday_0100utc(int64_t y, unsigned m)
{
    int64_t d31 = days_from_civil(y, m, 31);
    int dow = (int)(((d31 % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4); Sunday = 0 */
    return (d31 - dow) * 86400 + 3600;
}

void pp_sim_format_warsaw(time_t t, char out[40])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    int64_t y = tm.tm_year + 1900;
    int64_t start = last_sunday_0100utc(y, 3), end = last_sunday_0100utc(y, 10);
    int off = ((int64_t)t >= start && (int64_t)t < end) ? 2 : 1;
    time_t local = t + off * 3600;
    gmtime_r(&local, &tm);
    char tmp[128];
    int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.000+%02d:00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off);
    if (n < 0 || n > 39)
        n = 0;
    memcpy(out, tmp, (size_t)n);
    out[n] = '\0';
}

/* --- first-seen map: open addressing, linear probing --- */

typedef struct slot {
    char key[64]; /* "" = empty */
    int64_t first_ms, first_wall_ms;
} slot_t;

struct pp_sim_clock {
    slot_t *slots;
    size_t cap, n;
};

pp_sim_clock_t *pp_sim_clock_new(void)
{
    pp_sim_clock_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void pp_sim_clock_free(pp_sim_clock_t *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}

static slot_t *probe(slot_t *slots, size_t cap, const char *key)
{
    size_t i = pp_sim_hash(key) & (cap - 1);
    while (slots[i].key[0] && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

int pp_sim_clock_first_seen(pp_sim_clock_t *c, const char *number, int64_t now_ms,
                            int64_t *first_ms, int64_t *first_wall_ms, int64_t wall_ms)
{
    if (!number[0] || strlen(number) >= sizeof(c->slots[0].key))
        return PP_EINVAL;
    slot_t *s = probe(c->slots, c->cap, number);
    if (!s->key[0]) {
        if ((c->n + 1) * 2 > c->cap) {
            size_t ncap = c->cap * 2;
            slot_t *ns = calloc(ncap, sizeof(*ns));
            if (!ns)
                return PP_ENOMEM;
            for (size_t i = 0; i < c->cap; i++)
                if (c->slots[i].key[0])
                    *probe(ns, ncap, c->slots[i].key) = c->slots[i];
            free(c->slots);
            c->slots = ns;
            c->cap = ncap;
            s = probe(c->slots, c->cap, number);
        }
        snprintf(s->key, sizeof(s->key), "%s", number);
        s->first_ms = now_ms;
        s->first_wall_ms = wall_ms;
        c->n++;
    }
    *first_ms = s->first_ms;
    *first_wall_ms = s->first_wall_ms;
    return PP_OK;
}

size_t pp_sim_clock_count(const pp_sim_clock_t *c) { return c->n; }

void pp_sim_clock_each(const pp_sim_clock_t *c,
                       void (*cb)(const char *number, int64_t first_ms, void *arg), void *arg)
{
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].key[0])
            cb(c->slots[i].key, c->slots[i].first_ms, arg);
}
