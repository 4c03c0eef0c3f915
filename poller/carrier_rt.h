/* carrier_rt.h - the poller's per-carrier runtime state (shared by carrier_rt.c and usage.c). */
#ifndef PP_POLLER_CARRIER_RT_H
#define PP_POLLER_CARRIER_RT_H

#include "breaker.h"
#include "budget.h"
#include "poller.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct pp_item {
    pp_claimed_t c;
    struct pp_item *next;
} pp_item_t;

struct pp_crt {
    pp_poller_t *p;
    const pp_carrier_t *carrier;
    int max_batch;
    long rps, per_day;         /* fleet-wide limits from config (0 = unlimited) */
    pp_bucket_t bucket;        /* this poller's share of rps */
    pp_breaker_t breaker;
    uv_timer_t timer;          /* wakes the pump */
    int64_t timer_due_ms;      /* 0 = not armed */

    pp_item_t *head, *tail;    /* claimed, waiting for a request */
    long queued;
    int requests_inflight;

    int64_t paused_until_ms;   /* Retry-After for the carrier as a whole (monotonic) */

    /* token (carriers with build_auth_request) */
    char *token;               /* malloc'd; NULL = none */
    unsigned token_gen;        /* bumped on every new token */
    int64_t token_expires_ms, token_refresh_ms;
    bool token_busy;
    int token_failures;
    int64_t token_retry_ms;    /* no refresh before this (after a failure) */

    /* per-day budget (per_day > 0) */
    long long day;             /* UTC day the holding belongs to */
    long day_held;             /* granted by the fleet counter, not used yet */
    long day_unsynced;         /* sent since the last sync (to add to carrier_usage.requests) */
    long long day_used_local;  /* sent by this poller today */
    long long fleet_day_requests, fleet_day_reserved; /* as of the last sync */
    bool day_synced;           /* a sync for `day` completed */
    bool day_spent;            /* the fleet's counter reached per_day for `day` */

    /* per-second gauge */
    long long sec;             /* wall-clock second of sec_count */
    long sec_count;
};

#endif
