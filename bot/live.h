/* live.h - the bot's live carrier calls: coalesced per number, each a carrier-client call with the bot's max wait. */
#ifndef PP_BOT_LIVE_H
#define PP_BOT_LIVE_H

#include "carriers/carrier.h"
#include "config.h"
#include "db.h"
#include "metrics.h"

#include <stdbool.h>
#include <time.h>
#include <uv.h>

typedef struct pp_bot_live pp_bot_live_t;

typedef enum {
    PP_BOT_LIVE_ANSWERED = 0, /* the carrier answered: r (found or not) */
    PP_BOT_LIVE_QUOTA,        /* the bot's day share of this carrier's quota is used up: no call */
    PP_BOT_LIVE_BREAKER,      /* the carrier's circuit breaker is open: no call */
    PP_BOT_LIVE_UNAVAILABLE   /* anything else: Retry-After pause, rate wait, error, timeout, ... */
} pp_bot_live_outcome_t;

typedef struct pp_bot_live_answer {
    pp_bot_live_outcome_t outcome;
    const char *why; /* metric label: ok, not_found, quota, breaker, paused, budget, ... */
    const pp_track_result_t *r; /* ANSWERED only; valid during the callback */
    time_t quota_resets_at;     /* QUOTA: the next UTC midnight */
} pp_bot_live_answer_t;

/* Called exactly once per ask, on the loop thread; possibly from inside pp_bot_live_ask. */
typedef void (*pp_bot_live_cb)(void *arg, const pp_bot_live_answer_t *a);

/* Counters for the workers-table heartbeat (since start). */
typedef struct pp_bot_live_stats {
    long long lookups;         /* asks that needed the carrier */
    long long calls;           /* requests sent to carriers */
    long long coalesced;       /* asks that joined a lookup already under way */
    long long refused_quota;   /* lookups refused: day share used up (or no room in the fleet's) */
    long long refused_breaker; /* lookups refused: breaker open */
    long long refused_paused;  /* lookups refused: Retry-After pause longer than bot_max_wait_ms */
    long long refused_other;   /* rate wait too long, token, database, stopping */
    long long failed;          /* calls without a usable answer (5xx, 429, timeout, malformed) */
} pp_bot_live_stats_t;

/* Starts the HTTP client; db is the bot's pool (not owned). Returns 0 or PP_E*. */
int pp_bot_live_init(pp_bot_live_t **out, const pp_config_t *cfg, uv_loop_t *loop, pp_metrics_t *m,
                     pp_db_t *db) __attribute__((warn_unused_result));
/* Look up carrier + number (a valid number of a known carrier); cb(arg, answer) once. */
void pp_bot_live_ask(pp_bot_live_t *lv, const char *carrier, const char *number, pp_bot_live_cb cb,
                     void *arg);
/* After a reload: the carrier client reads its keys again (bot_carrier_timeout_ms, ...). */
void pp_bot_live_reconfigure(pp_bot_live_t *lv);
/* Stop grace over: abort the calls in flight and answer every queued lookup "unavailable". */
void pp_bot_live_abort(pp_bot_live_t *lv);
/* Lookups not answered yet. */
long pp_bot_live_pending(const pp_bot_live_t *lv);
/* Graceful stop, once nothing is pending: give the unused reservation back (database job). */
void pp_bot_live_release(pp_bot_live_t *lv);
/* Close the carrier client (it frees itself in its close callbacks). */
void pp_bot_live_close(pp_bot_live_t *lv);
void pp_bot_live_stats(const pp_bot_live_t *lv, pp_bot_live_stats_t *out);
/* Each carrier's breaker and recent counts for the workers row (pp_cc_carriers_json); 0 or PP_E*. */
int pp_bot_live_carriers_json(const pp_bot_live_t *lv, char *buf, size_t cap);
/* After the loop has ended. */
void pp_bot_live_free(pp_bot_live_t *lv);

#endif
