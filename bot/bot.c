/*
 * bot.c - the bot engine, all on the libuv loop thread (see xmpp.c for the XMPP thread).
 *
 * One ask: parse (command.c) -> one database job on the pool (the writer's linked user and
 * locale; stop/start update; for paczka the freshest shipment with that carrier and number
 * polled within bot_fresh_s) -> reply, or a live lookup. Live lookups are keyed by carrier +
 * number: a second ask for a number already being looked up waits for the same answer
 * (coalescing). Each carrier has a token bucket at <carrier>_rps (the same keys as the poller)
 * and, for OAuth carriers (UPS, GLS), a cached access token fetched once at a time and
 * refreshed at 90 % of its life or after a 401. A lookup that cannot get a budget token within
 * bot_max_wait_ms is answered "try later". Each request sent is added to carrier_usage.
 */
#include "bot.h"
#include "budget.h"
#include "carriers/carrier.h"
#include "command.h"
#include "db.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "texts.h"
#include "timeutil.h"
#include "xmpp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_GRACE_MS 3000
#define MAX_CARRIERS 16

typedef struct ask ask_t;
typedef struct lookup lookup_t;
typedef struct crt crt_t;

struct ask {
    pp_bot_t *b;
    ask_t *next_waiter;
    char from[512], bare[512];
    int64_t recv_ms;
    pp_bot_cmd_t cmd;
    /* filled by the db job */
    bool linked, fresh;
    pp_bot_lang_t lang;
    char status[32], place[128];
    long long at;
};

struct lookup {
    lookup_t *next;   /* in b->lookups */
    lookup_t *qnext;  /* in the carrier's queue */
    crt_t *rt;
    char number[PP_NUMBER_MAX];
    ask_t *waiters;
    int64_t started_ms;
    bool retried;
};

struct crt {
    pp_bot_t *b;
    const pp_carrier_t *carrier;
    pp_bucket_t bucket;
    uv_timer_t timer;
    bool timer_armed;
    lookup_t *qhead, *qtail;
    char *token;
    int64_t token_expires_ms, token_refresh_ms, token_retry_ms;
    bool token_busy;
};

typedef struct usage_job {
    char carrier[32];
} usage_job_t;

struct pp_bot {
    const pp_config_t *cfg;
    uv_loop_t *loop;
    pp_metrics_t *m;
    pp_db_t *db;
    pp_httpc_t *http;
    pp_bot_xmpp_t *xmpp;
    crt_t rt[MAX_CARRIERS];
    size_t n_rt;
    lookup_t *lookups;
    long asks;    /* in flight */
    int usage_jobs;
    bool stopping, finished;
    uv_timer_t grace;
    void (*done)(void *);
    void *done_arg;
};

static void pump(crt_t *rt);
static void check_stopped(pp_bot_t *b);

/* ---- metrics ---------------------------------------------------------------------------- */

static void count(pp_bot_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void count(pp_bot_t *b, const char *fmt, ...)
{
    char s[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    pp_metrics_add(b->m, s, 1);
}

/* ---- replies ---------------------------------------------------------------------------- */

static void ask_finish(ask_t *a, const char *text, const char *source)
{
    pp_bot_t *b = a->b;
    pp_bot_xmpp_send(b->xmpp, a->from, text);
    double s = (double)(pp_mono_ms() - a->recv_ms) / 1000.0;
    pp_metrics_observe(b->m, "pp_bot_reply_latency_seconds", NULL, s);
    count(b, "pp_bot_replies_total{source=\"%s\"}", source);
    free(a);
    b->asks--;
    check_stopped(b);
}

static void ask_reply_status(ask_t *a, bool found, pp_status_t st, const char *place, time_t at,
                             const char *source)
{
    char text[1024];
    pp_bot_text_status(a->lang, a->cmd.carrier, a->cmd.number, found, st, place, at, text,
                       sizeof text);
    ask_finish(a, text, source);
}

/* ---- live lookups ----------------------------------------------------------------------- */

static void lookup_unlink(pp_bot_t *b, lookup_t *l)
{
    for (lookup_t **p = &b->lookups; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            return;
        }
}

/* Answer every waiter (result NULL: unavailable) and free the lookup. */
static void lookup_finish(lookup_t *l, const pp_track_result_t *r, const char *result)
{
    pp_bot_t *b = l->rt->b;
    lookup_unlink(b, l);
    count(b, "pp_bot_live_calls_total{carrier=\"%s\",result=\"%s\"}", l->rt->carrier->name,
          result);
    pp_status_t st = PP_ST_UNKNOWN;
    const char *place = "";
    time_t at = 0;
    if (r && r->found) {
        for (size_t i = r->n_events; i-- > 0;)
            if (r->events[i].status != PP_ST_UNKNOWN) {
                st = r->events[i].status;
                place = r->events[i].location;
                at = r->events[i].occurred_at;
                break;
            }
        if (!place[0] && st == PP_ST_AVAILABLE_FOR_PICKUP)
            place = r->pickup_point;
        if (st == PP_ST_UNKNOWN && r->n_events) { /* unmapped codes only: say so */
            place = r->events[r->n_events - 1].location;
            at = r->events[r->n_events - 1].occurred_at;
        }
    }
    for (ask_t *a = l->waiters, *n; a; a = n) {
        n = a->next_waiter;
        if (r) {
            ask_reply_status(a, r->found, st, place, at, "live");
        } else {
            char text[512];
            pp_bot_text_unavailable(a->lang, a->cmd.carrier, a->cmd.number, text, sizeof text);
            ask_finish(a, text, "unavailable");
        }
    }
    free(l);
}

static int usage_work(PGconn *conn, void *arg)
{
    usage_job_t *j = arg;
    const char *p[] = {j->carrier};
    return pp_db_exec(conn, "record carrier usage",
                      "INSERT INTO carrier_usage (carrier, day, requests, reserved) "
                      "VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1, 1) "
                      "ON CONFLICT (carrier, day) DO UPDATE SET "
                      " requests = carrier_usage.requests + 1, "
                      " reserved = carrier_usage.reserved + 1, updated_at = now()",
                      1, p, NULL);
}

static void usage_done(int rc, void *arg)
{
    usage_job_t *j = arg;
    pp_bot_t *b = NULL;
    memcpy(&b, j + 1, sizeof b);
    free(j);
    b->usage_jobs--;
    check_stopped(b);
}

static void record_usage(pp_bot_t *b, const char *carrier)
{
    usage_job_t *j = malloc(sizeof *j + sizeof b);
    if (!j)
        return;
    snprintf(j->carrier, sizeof j->carrier, "%s", carrier);
    memcpy(j + 1, &b, sizeof b);
    if (pp_db_submit(b->db, usage_work, usage_done, j)) {
        free(j);
        return;
    }
    b->usage_jobs++;
}

static void track_done(const pp_http_response_t *resp, void *arg)
{
    lookup_t *l = arg;
    crt_t *rt = l->rt;
    const pp_carrier_t *c = rt->carrier;
    if (resp->err) {
        if (resp->err != PP_EAGAIN)
            pp_warn("bot: carrier %s number %s: %s", c->name, l->number, resp->errmsg);
        lookup_finish(l, NULL, resp->err == PP_ETIMEOUT ? "timeout" : "error");
        return;
    }
    if (resp->status == 401 && c->build_auth_request && !l->retried) {
        /* token revoked or expired early: fetch a new one and try once more */
        free(rt->token);
        rt->token = NULL;
        l->retried = true;
        l->qnext = rt->qhead;
        rt->qhead = l;
        if (!rt->qtail)
            rt->qtail = l;
        pump(rt);
        return;
    }
    pp_track_result_t *res = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = c->parse(resp->status, resp->body, resp->body_len, &res, &n, err, sizeof err);
    if (rc) {
        pp_warn("bot: carrier %s number %s: HTTP %d: %s: %s", c->name, l->number, resp->status,
                pp_strerror(rc), err);
        lookup_finish(l, NULL, rc == PP_EPARSE ? "malformed" : "error");
        return;
    }
    const pp_track_result_t *r = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(res[i].tracking_number, l->number) == 0 || n == 1)
            r = &res[i];
    pp_track_result_t none = {.found = false};
    if (!r)
        r = &none;
    lookup_finish(l, r, r->found ? "ok" : "not_found");
    pp_track_results_free(res, n);
}

static void token_done(const pp_http_response_t *resp, void *arg)
{
    crt_t *rt = arg;
    rt->token_busy = false;
    if (resp->err == PP_EAGAIN)
        return;
    char err[256] = "", *tok = malloc(8192);
    long ttl = 0;
    int rc = !tok ? PP_ENOMEM
             : resp->err ? resp->err
                         : rt->carrier->parse_auth(resp->status, resp->body, resp->body_len, tok,
                                                   8192, &ttl, err, sizeof err);
    int64_t now = pp_mono_ms();
    if (rc || !tok[0]) {
        pp_warn("bot: carrier %s: token request failed: HTTP %d: %s %s", rt->carrier->name,
                resp->status, resp->err ? resp->errmsg : pp_strerror(rc ? rc : PP_EPARSE), err);
        count(rt->b, "pp_bot_token_refreshes_total{carrier=\"%s\",result=\"%s\"}",
              rt->carrier->name, "error");
        free(tok);
        rt->token_retry_ms = now + 1000;
        /* the queued lookups cannot go without a token */
        while (rt->qhead) {
            lookup_t *l = rt->qhead;
            rt->qhead = l->qnext;
            lookup_finish(l, NULL, "token");
        }
        rt->qtail = NULL;
        return;
    }
    if (ttl <= 0)
        ttl = 3600;
    free(rt->token);
    rt->token = tok;
    rt->token_expires_ms = now + ttl * 1000;
    rt->token_refresh_ms = now + ttl * 900;
    count(rt->b, "pp_bot_token_refreshes_total{carrier=\"%s\",result=\"%s\"}", rt->carrier->name,
          "ok");
    pump(rt);
}

static void token_fetch(crt_t *rt)
{
    pp_bot_t *b = rt->b;
    if (rt->token_busy || !b->http)
        return;
    pp_http_request_t req = {0};
    int rc = rt->carrier->build_auth_request(b->cfg, &req);
    if (rc == 0)
        rc = pp_httpc_send(b->http, &req, b->cfg->bot_carrier_timeout_ms, token_done, rt);
    pp_http_request_free(&req);
    if (rc) {
        pp_warn("bot: carrier %s: cannot start the token request: %s", rt->carrier->name,
                pp_strerror(rc));
        rt->token_retry_ms = pp_mono_ms() + 1000;
        return;
    }
    rt->token_busy = true;
}

static void rt_timer_cb(uv_timer_t *t)
{
    crt_t *rt = t->data;
    rt->timer_armed = false;
    pump(rt);
}

static void arm(crt_t *rt, int64_t ms)
{
    if (rt->timer_armed)
        return;
    rt->timer_armed = true;
    uv_timer_start(&rt->timer, rt_timer_cb, (uint64_t)(ms < 1 ? 1 : ms), 0);
}

/* Send queued lookups as the token and the bucket allow. */
static void pump(crt_t *rt)
{
    pp_bot_t *b = rt->b;
    while (rt->qhead) {
        lookup_t *l = rt->qhead;
        int64_t now = pp_mono_ms();
        if (!b->http) {
            rt->qhead = l->qnext;
            lookup_finish(l, NULL, "stopping");
            continue;
        }
        if (now - l->started_ms > b->cfg->bot_max_wait_ms) {
            rt->qhead = l->qnext;
            lookup_finish(l, NULL, "budget");
            continue;
        }
        if (rt->carrier->build_auth_request) {
            if (!rt->token || now >= rt->token_expires_ms) {
                if (now < rt->token_retry_ms)
                    arm(rt, rt->token_retry_ms - now);
                else
                    token_fetch(rt);
                break;
            }
            if (now >= rt->token_refresh_ms)
                token_fetch(rt); /* the current token is still valid meanwhile */
        }
        int64_t w = pp_bucket_take(&rt->bucket, now);
        if (w > 0) {
            arm(rt, w);
            break;
        }
        rt->qhead = l->qnext;
        const char *nums[1] = {l->number};
        pp_http_request_t req = {0};
        int rc = rt->carrier->build_request(b->cfg, rt->token, nums, 1, &req);
        if (rc == 0)
            rc = pp_httpc_send(b->http, &req, b->cfg->bot_carrier_timeout_ms, track_done, l);
        pp_http_request_free(&req);
        if (rc) {
            pp_warn("bot: carrier %s number %s: cannot start the request: %s",
                    rt->carrier->name, l->number, pp_strerror(rc));
            lookup_finish(l, NULL, "error");
            continue;
        }
        record_usage(b, rt->carrier->name);
    }
    if (!rt->qhead)
        rt->qtail = NULL;
}

static void live_ask(ask_t *a)
{
    pp_bot_t *b = a->b;
    crt_t *rt = NULL;
    for (size_t i = 0; i < b->n_rt; i++)
        if (strcmp(b->rt[i].carrier->name, a->cmd.carrier) == 0)
            rt = &b->rt[i];
    if (!rt) {
        char text[512];
        pp_bot_text_unavailable(a->lang, a->cmd.carrier, a->cmd.number, text, sizeof text);
        ask_finish(a, text, "unavailable");
        return;
    }
    for (lookup_t *l = b->lookups; l; l = l->next)
        if (l->rt == rt && strcmp(l->number, a->cmd.number) == 0) {
            a->next_waiter = l->waiters;
            l->waiters = a;
            count(b, "pp_bot_live_coalesced_total{carrier=\"%s\"}", rt->carrier->name);
            return;
        }
    lookup_t *l = calloc(1, sizeof *l);
    if (!l) {
        char text[512];
        pp_bot_text_unavailable(a->lang, a->cmd.carrier, a->cmd.number, text, sizeof text);
        ask_finish(a, text, "unavailable");
        return;
    }
    l->rt = rt;
    snprintf(l->number, sizeof l->number, "%s", a->cmd.number);
    l->waiters = a;
    l->started_ms = pp_mono_ms();
    l->next = b->lookups;
    b->lookups = l;
    if (rt->qtail)
        rt->qtail->qnext = l;
    else
        rt->qhead = l;
    rt->qtail = l;
    pump(rt);
}

/* ---- the database step ------------------------------------------------------------------ */

static int ask_work(PGconn *conn, void *arg)
{
    ask_t *a = arg;
    PGresult *r = NULL;
    const char *p[3] = {a->bare, NULL, NULL};
    int rc;
    if (a->cmd.kind == PP_BOT_CMD_STOP || a->cmd.kind == PP_BOT_CMD_START) {
        p[1] = a->cmd.kind == PP_BOT_CMD_START ? "true" : "false";
        rc = pp_db_exec(conn, "bot stop/start",
                        "UPDATE users SET notify_shipment_status = $2::boolean, "
                        " notify_changed_at = now() "
                        "WHERE im_channel = 'xmpp' AND im_verified "
                        " AND lower(im_address) = lower($1) RETURNING locale",
                        2, p, &r);
    } else {
        rc = pp_db_exec(conn, "bot user",
                        "SELECT locale FROM users WHERE im_channel = 'xmpp' AND im_verified "
                        " AND lower(im_address) = lower($1) ORDER BY id LIMIT 1",
                        1, p, &r);
    }
    if (rc)
        return rc;
    a->linked = PQntuples(r) > 0;
    a->lang = a->linked && strcmp(PQgetvalue(r, 0, 0), "en") == 0 ? PP_BOT_EN : PP_BOT_PL;
    PQclear(r);
    if (a->cmd.kind != PP_BOT_CMD_TRACK)
        return 0;
    char fresh[32];
    snprintf(fresh, sizeof fresh, "%ld", a->b->cfg->bot_fresh_s);
    const char *q[] = {a->cmd.carrier, a->cmd.number, fresh};
    rc = pp_db_exec(conn, "bot fresh status",
                    "SELECT status, coalesce(last_location, pickup_point, ''), "
                    " coalesce(extract(epoch FROM last_event_at)::bigint, 0) "
                    "FROM shipments WHERE carrier = $1 AND tracking_number = $2 "
                    " AND last_polled_at > now() - make_interval(secs => $3::int) "
                    "ORDER BY last_polled_at DESC LIMIT 1",
                    3, q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        a->fresh = true;
        snprintf(a->status, sizeof a->status, "%s", PQgetvalue(r, 0, 0));
        snprintf(a->place, sizeof a->place, "%s", PQgetvalue(r, 0, 1));
        a->at = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    }
    PQclear(r);
    return 0;
}

static void ask_db_done(int rc, void *arg)
{
    ask_t *a = arg;
    char text[2048];
    if (rc && a->cmd.kind != PP_BOT_CMD_TRACK) {
        pp_bot_text_unavailable(a->lang, "", "", text, sizeof text);
        if (a->cmd.kind == PP_BOT_CMD_STOP || a->cmd.kind == PP_BOT_CMD_START) {
            snprintf(text, sizeof text, "%s",
                     a->lang == PP_BOT_EN ? "Sorry, I cannot change the setting right now, "
                                            "try again in a moment."
                                          : "Przepraszam, nie mogę teraz zmienić ustawienia, "
                                            "spróbuj za chwilę.");
            ask_finish(a, text, "error");
            return;
        }
    }
    if (a->cmd.kind != PP_BOT_CMD_TRACK) {
        pp_bot_text_simple(a->lang, &a->cmd, a->linked, text, sizeof text);
        ask_finish(a, text, "simple");
        return;
    }
    pp_status_t st;
    if (!rc && a->fresh && pp_status_parse(a->status, &st) == 0) {
        ask_reply_status(a, true, st, a->place, (time_t)a->at, "db");
        return;
    }
    live_ask(a); /* not fresh, unknown to the marketplace, or the database failed */
}

static void line_cb(void *arg, const char *from, const char *body, int64_t recv_ms)
{
    pp_bot_t *b = arg;
    if (b->stopping)
        return; /* intake stopped: the writer gets no answer from this process */
    ask_t *a = calloc(1, sizeof *a);
    if (!a) {
        pp_warn("bot: out of memory, ask from %s dropped", from);
        return;
    }
    a->b = b;
    a->recv_ms = recv_ms;
    snprintf(a->from, sizeof a->from, "%s", from);
    snprintf(a->bare, sizeof a->bare, "%.*s", (int)strcspn(from, "/"), from);
    pp_bot_cmd_parse(body, &a->cmd);
    count(b, "pp_bot_asks_total{command=\"%s\"}", pp_bot_cmd_name(a->cmd.kind));
    b->asks++;
    if (pp_db_submit(b->db, ask_work, ask_db_done, a))
        ask_db_done(PP_EDB, a);
}

/* ---- life cycle ------------------------------------------------------------------------- */

int pp_bot_start(pp_bot_t **out, const pp_config_t *cfg, uv_loop_t *loop, pp_metrics_t *m)
{
    pp_bot_t *b = calloc(1, sizeof *b);
    int rc;
    if (!b)
        return PP_ENOMEM;
    b->cfg = cfg;
    b->loop = loop;
    b->m = m;
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    int64_t now = pp_mono_ms();
    for (size_t i = 0; i < n && i < MAX_CARRIERS; i++) {
        crt_t *rt = &b->rt[b->n_rt++];
        long rps, per_day;
        rt->b = b;
        rt->carrier = all[i];
        pp_budget_limits(cfg, all[i]->name, &rps, &per_day);
        pp_bucket_init(&rt->bucket, (double)rps, 1, now);
        uv_timer_init(loop, &rt->timer);
        rt->timer.data = rt;
    }
    uv_timer_init(loop, &b->grace);
    b->grace.data = b;
    if ((rc = pp_db_open(&b->db, loop, cfg->db_url, (int)cfg->db_pool_size)) != 0) {
        pp_error("bot: cannot open the database pool: %s", pp_strerror(rc));
        return rc;
    }
    if ((rc = pp_httpc_init(&b->http, loop)) != 0) {
        pp_error("bot: cannot start the HTTP client: %s", pp_strerror(rc));
        return rc;
    }
    if ((rc = pp_bot_xmpp_start(&b->xmpp, cfg, loop, line_cb, b)) != 0) {
        pp_error("bot: cannot start XMPP: %s", pp_strerror(rc));
        return rc;
    }
    *out = b;
    return 0;
}

bool pp_bot_is_up(pp_bot_t *b) { return b->xmpp && pp_bot_xmpp_is_up(b->xmpp) && !b->stopping; }

static void check_stopped(pp_bot_t *b)
{
    if (!b->stopping || b->finished || b->asks > 0 || b->usage_jobs > 0)
        return;
    b->finished = true;
    uv_timer_stop(&b->grace);
    if (b->http) {
        pp_httpc_close(b->http);
        b->http = NULL;
    }
    pp_bot_xmpp_stop(b->xmpp); /* sends the last replies */
    b->xmpp = NULL;
    for (size_t i = 0; i < b->n_rt; i++)
        uv_timer_stop(&b->rt[i].timer);
    pp_info("bot: stopped");
    b->done(b->done_arg);
}

static void grace_cb(uv_timer_t *t)
{
    pp_bot_t *b = t->data;
    pp_warn("bot: %ld asks still waiting on carriers after %d ms: answering them now", b->asks,
            STOP_GRACE_MS);
    if (b->http) {
        pp_httpc_t *h = b->http;
        b->http = NULL; /* pump() answers queued lookups "unavailable" */
        pp_httpc_close(h); /* in-flight requests complete with PP_EAGAIN */
        for (size_t i = 0; i < b->n_rt; i++)
            pump(&b->rt[i]);
    }
}

void pp_bot_stop(pp_bot_t *b, void (*done)(void *), void *arg)
{
    if (b->stopping)
        return;
    b->stopping = true;
    b->done = done;
    b->done_arg = arg;
    pp_info("bot: stopping: %ld asks in flight", b->asks);
    uv_timer_start(&b->grace, grace_cb, STOP_GRACE_MS, 0);
    check_stopped(b);
}

void pp_bot_free(pp_bot_t *b)
{
    if (!b)
        return;
    if (b->db)
        pp_db_close(b->db);
    for (size_t i = 0; i < b->n_rt; i++)
        free(b->rt[i].token);
    free(b);
}
