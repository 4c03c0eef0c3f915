/* carrier_client.h - the one way to call a carrier: per-carrier gates (Retry-After pause, circuit breaker, per-second share, day quota, access token) in front of each adapter, for the poller and the bot. */
#ifndef PP_CARRIER_CLIENT_H
#define PP_CARRIER_CLIENT_H

#include "carriers/carrier.h"
#include "config.h"
#include "db.h"
#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

/*
 * A caller submits a call (a carrier, a deadline, a completion callback), adds tracking
 * numbers to it while it waits (up to pp_cc_batch_max), and gets exactly one completion,
 * on the loop, never from inside pp_cc_submit. Before a call goes out it passes, per carrier:
 *   1. the Retry-After pause: a 429, or a 503 with Retry-After (seconds or HTTP date), pauses
 *      the carrier until then (a 429 without the header: 1 s); divided by `speed`, capped at
 *      error_backoff_max_s;
 *   2. the circuit breaker (breaker.c with the breaker_* keys): transport errors, timeouts,
 *      5xx, unparseable answers and failed token requests count as failures; open, nothing
 *      goes and waiting calls are refused at once; half-open, one probe goes;
 *   3. the day quota (<carrier>_per_day, kept in carrier_usage, carrier_usage.c): a poller
 *      holds grants of the fleet row, split among the live pollers and synced every
 *      budget_sync_ms; a bot takes each request from the bots' share (bot_day_share_pct) under
 *      a row lock before it is sent and gives back one it did not send;
 *   4. the access token (carriers with build_auth_request): fetched one at a time, refreshed in
 *      the background at 90 % of its lifetime, dropped after a 401 (the call is sent once
 *      more with the new one); a failed token request is retried after 1 s, 2 s, ... 60 s;
 *   5. the per-second share of <carrier>_rps: a token bucket at rps / (live pollers + bots).
 * A call that a gate would hold past its deadline (or that meets an open breaker, or a stop)
 * is refused with the gate's name and the expected wait: what to do then (defer the
 * shipments, answer "try later") is the caller's policy.
 * Metrics are `<prefix>_...` families: requests_total{carrier,result}, request_seconds,
 * errors_total{carrier,kind}, breaker_state, carrier_paused_total, token_refreshes_total,
 * budget_limit / budget_used / budget_fleet_used {carrier,window}, live_pollers, rate_sharers.
 */
typedef struct pp_cc pp_cc_t;
typedef struct pp_cc_call pp_cc_call_t;

typedef enum {
    PP_CC_DAY_FLEET = 0, /* pp-poller: grants held from the fleet row */
    PP_CC_DAY_BOT        /* pp-bot: one request at a time from the bots' share */
} pp_cc_day_mode_t;

typedef struct pp_cc_opts {
    const pp_config_t *cfg; /* not owned; lives as long as the client */
    uv_loop_t *loop;
    pp_metrics_t *metrics;
    pp_db_t *db;        /* carrier_usage, workers (live counts) */
    const char *who;    /* log prefix: "worker poller-a", "bot" */
    const char *prefix; /* metric families: "pp_poller", "pp_bot" */
    long timeout_ms;    /* one HTTP request, token requests included */
    pp_cc_day_mode_t day_mode;
    int64_t (*now_ms)(void);  /* monotonic clock; NULL = pp_mono_ms (tests pass a fake) */
    int64_t (*wall_ms)(void); /* wall clock for UTC days; NULL = pp_now_ms */
} pp_cc_opts_t;

typedef enum {
    PP_CC_ANSWERED = 0, /* the carrier answered and the body parsed: results */
    PP_CC_FAILED,       /* sent (or tried), no usable answer: why, detail */
    PP_CC_REFUSED       /* not sent: a gate would hold it past its deadline: why, wait_ms */
} pp_cc_outcome_t;

typedef struct pp_cc_result {
    pp_cc_outcome_t outcome;
    /*
     * ANSWERED "ok". FAILED: timeout, transport_error, aborted (the client was closed),
     * request_error (could not start), http_5xx, http_4xx, rate_limited, malformed,
     * unauthorized (401 again with a new token). REFUSED: paused, breaker, budget_day,
     * budget_second, quota (the bots' share), token, database, stopping.
     */
    const char *why;
    const char *detail;               /* FAILED: for logs and last_error ("HTTP 500: ...") */
    int http_status;                  /* 0 when none */
    long retry_after_s;               /* the carrier's Retry-After, -1 if none */
    int64_t wait_ms;                  /* REFUSED: expected wait before it could go, -1 unknown */
    time_t quota_resets_at;           /* REFUSED quota / budget_day: the next UTC midnight */
    const pp_track_result_t *results; /* ANSWERED: valid during the callback only */
    size_t n_results;
} pp_cc_result_t;

/* The one completion of a call; the call is freed after it returns. */
typedef void (*pp_cc_done_cb)(pp_cc_call_t *call, const pp_cc_result_t *r, void *arg);

typedef struct pp_cc_stats {
    long long requests; /* tracking requests sent */
    long long failures; /* of those: no usable answer */
    long long refused;  /* calls refused by a gate */
} pp_cc_stats_t;

/* Every carrier of the registry; starts the HTTP client and the sync timer. 0 or PP_E*. */
int pp_cc_init(pp_cc_t **out, const pp_cc_opts_t *opts) __attribute__((warn_unused_result));
/* Most numbers one request of this carrier may carry (>= 1). */
int pp_cc_batch_max(const pp_cc_t *cc, const char *carrier);
/*
 * A new call to `carrier` for `number` that must go before deadline_ms (monotonic). NULL when
 * the carrier is unknown, the client is closing or memory is short (nothing is called back).
 */
pp_cc_call_t *pp_cc_submit(pp_cc_t *cc, const char *carrier, const char *number,
                           int64_t deadline_ms, pp_cc_done_cb cb, void *arg);
/*
 * Add a number to a call that has not gone out yet. true: it is in the call (or was already);
 * false: the call is full or already sent - submit another.
 */
bool pp_cc_add(pp_cc_call_t *call, const char *number);
size_t pp_cc_call_size(const pp_cc_call_t *call);
/* The result for `number` in an answer: the one that names it (found preferred), or the
 * only result of a one-number call whose answer does not repeat the number; else NULL. */
const pp_track_result_t *pp_cc_result_for(const pp_cc_result_t *r, const char *number,
                                          size_t n_numbers);

/* The first day-quota and live-count sync a full budget_sync_ms after start has completed
 * (pollers take no work before: every poller started with them is counted by then). */
bool pp_cc_ready(const pp_cc_t *cc);
/* Calls submitted and not completed yet, and carrier_usage jobs in flight. */
long pp_cc_pending(const pp_cc_t *cc);
void pp_cc_stats(const pp_cc_t *cc, pp_cc_stats_t *out);
/*
 * Each carrier's state for the workers row's counters (`ppctl status`): a JSON object
 * {"dhl":{"breaker":"closed|half_open|open","requests_60s":N,"rate_limited_5m":N,
 * "errors_5m":N},...} naming only carriers with a breaker not closed or a request, 429 or
 * error in the last 5 minutes (requests_60s: the last six whole 10-second slots). 0, or
 * PP_EINVAL when it does not fit in cap.
 */
int pp_cc_carriers_json(const pp_cc_t *cc, char *buf, size_t cap) __attribute__((warn_unused_result));
/* Live pollers (>= 1) as of the last sync. */
int pp_cc_live_pollers(const pp_cc_t *cc);

/*
 * After a configuration reload (SIGHUP): read again each carrier's <carrier>_rps and
 * _per_day, the breaker_* keys (a changed breaker_window clears the breaker's history), the
 * batch size, budget_sync_ms and bot_day_share_pct; timeout_ms for the next requests; cached
 * access tokens are dropped (the credentials or the address may have changed).
 */
void pp_cc_reconfigure(pp_cc_t *cc, long timeout_ms);

/* Stop sending: every queued call is refused "stopping"; calls in flight complete. */
void pp_cc_drain(pp_cc_t *cc);
/* pp_cc_drain, and abort the calls in flight (they complete FAILED "aborted"). */
void pp_cc_abort(pp_cc_t *cc);
/*
 * Once nothing is pending: the last carrier_usage write (a poller flushes its count and
 * gives back unused grants; a bot gives back the unused part of its reservation), then
 * done(arg) on the loop.
 */
void pp_cc_finish(pp_cc_t *cc, void (*done)(void *arg), void *arg);
/*
 * Close every handle; the client frees itself in the close callbacks. Only once
 * pp_cc_pending() is 0 (after pp_cc_finish's callback): a database job still out would find
 * the client gone. Calls still queued then are answered "stopping"; calls in flight abort.
 */
void pp_cc_close(pp_cc_t *cc);

#endif
