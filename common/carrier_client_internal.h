/* carrier_client_internal.h - the carrier client's state: carrier_client.c (public face) calls carrier_lane.c (gates, sending, answers), which calls carrier_day.c (day quota, live counts, syncs); carrier_day.c reports back only through the hooks in pp_cc_t. */
#ifndef PP_CARRIER_CLIENT_INTERNAL_H
#define PP_CARRIER_CLIENT_INTERNAL_H

#include "breaker.h"
#include "budget.h"
#include "carrier_client.h"
#include "carrier_token.h"
#include "httpc.h"

typedef struct pp_cc_lane pp_cc_lane_t;

#define PP_CC_RECENT_SLOT_MS 10000
#define PP_CC_RECENT_SLOTS 30 /* 5 minutes */
typedef struct pp_cc_recent {
    long long slot; /* wall-clock ms / PP_CC_RECENT_SLOT_MS */
    long requests, rate_limited, errors;
} pp_cc_recent_t;

typedef enum { PP_CC_UNPAID = 0, PP_CC_TAKING, PP_CC_PAID } pp_cc_paid_t;

struct pp_cc_call {
    pp_cc_call_t *next; /* in the lane's queue */
    pp_cc_lane_t *lane;
    pp_cc_done_cb cb;
    void *arg;
    int64_t deadline_ms, sent_ms;
    char **numbers;
    size_t n, cap;
    bool sent, probe, auth_retried;
    unsigned token_gen;
    pp_cc_paid_t paid;  /* PP_CC_DAY_BOT with a day quota: one request taken from the share */
    long long paid_day; /* the UTC day it was taken for */
    const char *why;    /* being refused (triage) */
    int64_t why_wait;
};

/* One carrier. */
struct pp_cc_lane {
    pp_cc_t *cc;
    const pp_carrier_t *carrier;
    int max_batch;
    long rps, per_day;  /* fleet-wide limits from config (0 = unlimited) */
    long share;         /* PP_CC_DAY_BOT: the bots' day share */
    pp_bucket_t bucket; /* this process's share of rps */
    pp_breaker_t breaker;
    pp_ctoken_t *token;        /* NULL: the carrier needs none */
    int64_t paused_until_ms;   /* Retry-After (monotonic) */
    uv_timer_t timer;          /* wakes the pump */
    int64_t timer_due_ms;      /* 0 = not armed */
    pp_cc_call_t *head, *tail; /* waiting to go */
    long queued;
    int inflight;

    /* PP_CC_DAY_FLEET (carrier_day.c) */
    long long day;                            /* UTC day the holding belongs to */
    long day_held;                            /* granted by the fleet row, not used yet */
    long day_unsynced;                        /* sent since the last sync */
    long long day_used_local;                 /* sent by this process today */
    long long fleet_requests, fleet_reserved; /* as of the last sync */
    bool day_synced, day_spent;
    /* PP_CC_DAY_BOT */
    long long spent_day;  /* the share was found used up that day; -1 = not known */
    long long logged_day; /* the "no share left" line was logged that day */

    long long sec; /* wall-clock second of sec_count (per-second gauge) */
    long sec_count;

    /* The series every request updates, kept from their first update (pp_cc_metric_kept):
     * no series text built and hashed per request. */
    pp_metric_t *m_seconds, *m_ok, *m_numbers, *m_breaker, *m_budget[5];

    /* The last minutes in 10-second slots (wall clock), for the workers row's counters
     * (`ppctl status`: requests a second, 429s and errors lately): slot i holds the slot
     * number recent[i].slot % PP_CC_RECENT_SLOTS == i. */
    pp_cc_recent_t recent[PP_CC_RECENT_SLOTS];
};

struct pp_cc {
    pp_cc_opts_t o;
    int64_t (*now)(void);
    int64_t (*wall)(void);
    pp_httpc_t *http; /* NULL once aborted or closed */
    pp_cc_lane_t *lanes;
    size_t n_lanes;
    long pending; /* calls submitted and not completed */
    bool draining, closing;
    int closes; /* handles still closing */
    pp_cc_stats_t stats;

    /* carrier_day.c */
    int live_pollers, sharers; /* >= 1 */
    bool counted;              /* live_pollers and sharers were read once */
    bool ready, sync_busy;
    int64_t started_ms, sync_last_ms;
    int sync_failures;
    int jobs; /* carrier_usage jobs in flight */
    uv_timer_t sync_timer;
    int finish_state; /* 0 running, 1 final write submitted, 2 done */
    void (*finish_done)(void *arg);
    void *finish_arg;

    /* set by carrier_client.c: how carrier_day.c reports back up */
    void (*wake)(pp_cc_lane_t *l); /* gates changed: pump the lane soon */
    void (*take_done)(pp_cc_call_t *c, bool granted, const char *why); /* why: quota, database */
};

/* carrier_lane.c */
void pp_cc_lane_arm(pp_cc_lane_t *l, int64_t delay_ms); /* pump after delay (>= 1 ms) */
void pp_cc_lane_wake(pp_cc_lane_t *l);                  /* pump soon */
void pp_cc_lane_breaker_gauge(pp_cc_lane_t *l, int64_t now);
void pp_cc_lane_refuse(pp_cc_call_t *c, const char *why, int64_t wait_ms); /* c out of the queue */
void pp_cc_lane_take_done(pp_cc_call_t *c, bool granted, const char *why);
void pp_cc_lane_token_cb(void *arg, bool ok, const char *why, long ttl_s, int64_t retry_in_ms);
void pp_cc_call_free(pp_cc_call_t *c);

/* carrier_metrics.c */
void pp_cc_metric(pp_cc_t *cc, bool counter, const char *family, const char *carrier,
                  const char *l2, const char *v2, double v); /* <prefix>_family{carrier,l2=v2} */
/* The same, the series kept in *slot from the first call on (the same arguments every time). */
void pp_cc_metric_kept(pp_cc_t *cc, pp_metric_t **slot, bool counter, const char *family,
                       const char *carrier, const char *l2, const char *v2, double v);
void pp_cc_help(pp_cc_t *cc, const char *family, const char *type,
                const char *text);                           /* # HELP <prefix>_family */
void pp_cc_gauge(pp_cc_t *cc, const char *family, double v); /* <prefix>_family, no labels */

/* carrier_day.c */
void pp_cc_day_help(pp_cc_t *cc);
void pp_cc_day_lane_init(pp_cc_lane_t *l);
void pp_cc_day_reconfigure(pp_cc_lane_t *l); /* share and gauges after a reload */
void pp_cc_day_restart_timer(pp_cc_t *cc);   /* budget_sync_ms changed */
void pp_cc_day_start(pp_cc_t *cc);           /* first sync now, then every budget_sync_ms */
void pp_cc_budget_gauges(pp_cc_lane_t *l);
/* PP_CC_DAY_FLEET: may a request go (false: *wait_ms known, or -1 while a sync is due)? */
bool pp_cc_day_gate(pp_cc_lane_t *l, int64_t *wait_ms);
void pp_cc_day_spend(pp_cc_lane_t *l); /* a request went out */
/* PP_CC_DAY_BOT: the call needs a request from the share first (c->paid == PP_CC_UNPAID). */
bool pp_cc_day_needs_take(const pp_cc_lane_t *l);
bool pp_cc_day_refused(const pp_cc_lane_t *l); /* the share is known spent today */
bool pp_cc_day_take(pp_cc_call_t *c);          /* take_done follows; false: could not queue it */
void pp_cc_day_untake(pp_cc_lane_t *l, long long day);
void pp_cc_day_count(pp_cc_lane_t *l); /* no day quota: count the call */
void pp_cc_day_finish(pp_cc_t *cc);
void pp_cc_day_close(pp_cc_t *cc, uv_close_cb closed);

#endif
