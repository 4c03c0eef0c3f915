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

/* carrier_rt.c */
void pp_crt_pump(pp_crt_t *rt); /* send what the gates allow; wait, or release the rest */
void pp_crt_metric(pp_poller_t *p, bool counter, const char *family, const char *carrier,
                   const char *l2, const char *v2, double v); /* family{carrier=..,l2=v2} */
void pp_crt_count_error(pp_crt_t *rt, const char *kind);
void pp_crt_breaker_gauge(pp_crt_t *rt, int64_t now_ms);

/* defer.c: queue the item's release (frees it); pp_crt_flush_defers sends the batch. */
void pp_crt_defer(pp_crt_t *rt, pp_item_t *it, int64_t delay_ms, const char *reason);
int64_t pp_crt_spread(int64_t wait_ms); /* wait + up to 10 % jitter (50 ms .. 10 min) */
void pp_crt_defers_free(pp_poller_t *p);

/* token.c: start a token request unless one is in flight or a failure back-off runs. */
void pp_crt_token_refresh(pp_crt_t *rt, int64_t now_ms);

#endif
