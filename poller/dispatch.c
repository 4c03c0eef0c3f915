/* dispatch.c - the poller's carrier policy: claimed shipments batched into carrier calls (common/carrier_client), each call's answer written back per shipment, refused calls deferred. */
#include "poller.h"
#include "daemon.h"
#include "carrier_client.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A shipment waits for its carrier at most this share of its lease (then it is deferred). */
#define LEASE_WAIT_NUM 1
#define LEASE_WAIT_DEN 2

typedef struct item {
    pp_claimed_t c;
    struct item *next;
} item_t;

/* The shipments riding one carrier call. */
typedef struct batch {
    pp_poller_t *p;
    pp_cc_call_t *call;
    item_t *items, **tail;
    struct batch **open; /* the carrier's slot while more may be added */
} batch_t;

typedef struct slot {
    const pp_carrier_t *carrier;
    batch_t *open;
} slot_t;

static pp_track_result_t *copy_result(const pp_track_result_t *r)
{
    pp_track_result_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    *c = *r;
    c->events = NULL;
    if (r->n_events) {
        c->events = malloc(r->n_events * sizeof *c->events);
        if (!c->events) {
            free(c);
            return NULL;
        }
        memcpy(c->events, r->events, r->n_events * sizeof *c->events);
    }
    return c;
}

/* The poller's labels for last_error and pp_poller_polls_total. */
static const char *failed_label(const char *why)
{
    if (strcmp(why, "http_5xx") == 0 || strcmp(why, "http_4xx") == 0 || strcmp(why, "rate_limited") == 0)
        return "http_error";
    if (strcmp(why, "malformed") == 0)
        return "parse_error";
    return why;
}

static void answered(pp_poller_t *p, item_t *it, const pp_cc_result_t *r, size_t n_numbers)
{
    const pp_track_result_t *tr = pp_cc_result_for(r, it->c.tracking_number, n_numbers);
    if (!tr) {
        char msg[160], m[128];
        snprintf(m, sizeof m, "pp_poller_errors_total{carrier=\"%s\",kind=\"missing_in_batch\"}",
                 it->c.carrier);
        pp_metrics_add(p->metrics, m, 1);
        snprintf(msg, sizeof msg,
                 "HTTP %d: number missing from the carrier's answer to a %zu-number request",
                 r->http_status, n_numbers);
        pp_poll_finish(p, &it->c, PP_POLL_ERROR, NULL, -1, "missing", msg);
    } else if (!tr->found) {
        pp_poll_finish(p, &it->c, PP_POLL_NOT_FOUND, NULL, -1, "not_found", NULL);
    } else {
        pp_track_result_t *mine = copy_result(tr);
        if (mine)
            pp_poll_finish(p, &it->c, PP_POLL_OK, mine, -1, "ok", NULL);
        else
            pp_poll_finish(p, &it->c, PP_POLL_ERROR, NULL, -1, "request_error", "out of memory");
    }
}

static void call_done(pp_cc_call_t *call, const pp_cc_result_t *r, void *arg)
{
    batch_t *b = arg;
    pp_poller_t *p = b->p;
    size_t n_numbers = pp_cc_call_size(call);
    if (b->open && *b->open == b)
        *b->open = NULL;
    for (item_t *it = b->items, *next; it; it = next) {
        next = it->next;
        if (r->outcome == PP_CC_ANSWERED) {
            answered(p, it, r, n_numbers);
        } else if (r->outcome == PP_CC_FAILED) {
            pp_poll_finish(p, &it->c, PP_POLL_ERROR, NULL, r->retry_after_s, failed_label(r->why),
                           r->detail);
        } else {
            int64_t wait =
                p->phase != PP_POLLER_RUNNING || strcmp(r->why, "stopping") == 0 ? 0
                : r->wait_ms >= 0
                    ? pp_defer_spread(r->wait_ms)
                    : pp_defer_spread(p->cfg->budget_sync_ms > 1000 ? p->cfg->budget_sync_ms : 1000);
            pp_defer(p, &it->c, wait, r->why);
        }
        free(it);
    }
    free(b);
}

static int64_t lease_wait_ms(const pp_poller_t *p)
{
    return (int64_t)p->cfg->lease_s * 1000 * LEASE_WAIT_NUM / LEASE_WAIT_DEN;
}

static slot_t *slot_of(pp_poller_t *p, const char *carrier)
{
    slot_t *s = p->slots;
    for (size_t i = 0; i < p->n_slots; i++)
        if (strcasecmp(s[i].carrier->name, carrier) == 0)
            return &s[i];
    return NULL;
}

void pp_dispatch(pp_poller_t *p, const pp_claimed_t *c)
{
    pp_leases_taken(p, 1);
    slot_t *s = slot_of(p, c->carrier);
    if (!s) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown carrier \"%s\"", c->carrier);
        pp_poll_finish(p, c, PP_POLL_ERROR, NULL, -1, "unknown_carrier", msg);
        return;
    }
    item_t *it = calloc(1, sizeof *it);
    if (!it)
        goto oom;
    it->c = *c;
    if (!it->c.claimed_ms)
        it->c.claimed_ms = pp_mono_ms();
    batch_t *b = s->open;
    if (!b || !pp_cc_add(b->call, c->tracking_number)) {
        if (b) {
            b->open = NULL; /* full or gone out */
            s->open = NULL;
        }
        if (!(b = calloc(1, sizeof *b)))
            goto oom;
        b->p = p;
        b->tail = &b->items;
        b->call = pp_cc_submit(p->cc, s->carrier->name, c->tracking_number,
                               it->c.claimed_ms + lease_wait_ms(p), call_done, b);
        if (!b->call) {
            free(b);
            goto oom;
        }
        b->open = &s->open;
        s->open = b;
    }
    *b->tail = it;
    b->tail = &it->next;
    return;
oom:
    free(it);
    pp_errork(PP_LOG_FIELDS(PP_LF_CLAIMED(c)),
              "worker %s: shipment %lld: out of memory; left to lease expiry", p->worker_id, c->id);
    pp_leases_done(p, 1);
}

int pp_dispatch_init(pp_poller_t *p)
{
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    if (!(p->slots = calloc(n ? n : 1, sizeof *p->slots)))
        return PP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        p->slots[p->n_slots++].carrier = all[i];
    pp_cc_opts_t o = {.cfg = p->cfg,
                      .loop = p->loop,
                      .metrics = p->metrics,
                      .db = p->db,
                      .who = pp_daemon_who(p->daemon),
                      .prefix = "pp_poller",
                      .timeout_ms = p->cfg->http_timeout_ms,
                      .day_mode = PP_CC_DAY_FLEET};
    return pp_cc_init(&p->cc, &o);
}

void pp_dispatch_close(pp_poller_t *p)
{
    pp_cc_close(p->cc);
    p->cc = NULL;
    free(p->slots);
    p->slots = NULL;
    p->n_slots = 0;
}
