/*
 * bot.c - the bot engine, all on the libuv loop thread (see xmpp.c for the XMPP thread).
 *
 * One ask: parse (command.c) -> one database job on the pool (the writer's linked user and
 * locale; stop/start update; for paczka the newest shipment with that carrier and number,
 * and whether it was polled within bot_fresh_s) -> a fresh status is answered from Postgres,
 * anything else goes to a live lookup (live.c): one carrier call per carrier + number at a
 * time, shared by every ask for it (coalescing), and only when the carrier is not paused by
 * a Retry-After, its circuit breaker is closed and the bot's day share of the carrier's quota
 * (bot_day_share_pct of <carrier>_per_day, counted in carrier_usage by every pp-bot) is not
 * used up. A lookup answered without a call, or whose call failed, is answered from Postgres
 * when the parcel is known there (its status, when it was last checked, why not now); else
 * "limit used up, try after ...", "the carrier is not answering, try later" or "try again in
 * a moment".
 *
 * The bot runs in the daemon frame like every process (common/daemon.h): its workers-table row
 * (kind 'bot') carries its counters (asks, answers by source, live calls, coalesced, refused by
 * quota / breaker / pause, reply latency p50 / p99 over the last LAT_RING replies); a graceful
 * stop answers the asks in flight and gives the unused day share back before the frame marks
 * the row stopped.
 */
#include "bot.h"
#include "command.h"
#include "daemon.h"
#include "db.h"
#include "err.h"
#include "live.h"
#include "log.h"
#include "senders.h"
#include "texts.h"
#include "budget.h"
#include "timeutil.h"
#include "xmpp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_GRACE_MS 3000
#define STOP_POLL_MS 20
#define LAT_RING 1024

typedef struct ask ask_t;

struct ask {
    pp_bot_t *b;
    char from[512], bare[512];
    int64_t recv_ms;
    pp_bot_cmd_t cmd;
    /* filled by the db job */
    bool linked, known, fresh;
    pp_bot_lang_t lang;
    char status[32], place[128];
    long long at, checked;
};

typedef enum {
    SRC_DB,
    SRC_LIVE,
    SRC_STALE,
    SRC_QUOTA,
    SRC_BREAKER,
    SRC_UNAVAILABLE,
    SRC_SIMPLE,
    SRC_ERROR,
    SRC_SENDER_LIMIT,
    SRC__COUNT
} source_t;
static const char *const source_names[SRC__COUNT] = {
    "db", "live", "stale", "quota", "breaker", "unavailable", "simple", "error", "sender_limit",
};

/* The bot's drain, in order (the frame's phases follow: common/daemon.h). */
typedef enum {
    BOT_RUNNING = 0,
    BOT_ANSWERING, /* no new asks; those in flight answered (live calls cut after the grace) */
    BOT_DRAINED    /* the unused day share given back: handed to the frame */
} bot_phase_t;

struct pp_bot {
    pp_daemon_t *daemon; /* the process frame: loop, metrics, pool, workers row, signals */
    const pp_config_t *cfg;
    uv_loop_t *loop;
    pp_metrics_t *m;
    pp_db_t *db;
    pp_bot_live_t *live;
    pp_bot_senders_t *senders; /* per-writer limits (senders.c) */
    pp_bot_xmpp_t *xmpp;
    const char *worker_id; /* the frame's (pp_daemon_worker_id) */
    long asks;             /* in flight */
    bot_phase_t phase;
    uv_timer_t grace, stop_poll, gauge;
    long long n_asks, n_replies[SRC__COUNT];
    long long n_limited_msgs, n_limited_live, n_dropped; /* per-sender limits */
    float lat_ms[LAT_RING];                              /* the last replies' latencies, a ring */
    size_t lat_n, lat_pos;
};

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

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, c = *(const float *)y;
    return a < c ? -1 : a > c;
}

/* p50 and p99 of the latency ring (0 when empty). */
static void latency_pcts(const pp_bot_t *b, double *p50, double *p99)
{
    float s[LAT_RING];
    size_t n = b->lat_n;
    *p50 = *p99 = 0;
    if (!n)
        return;
    memcpy(s, b->lat_ms, n * sizeof s[0]);
    qsort(s, n, sizeof s[0], cmp_float);
    *p50 = s[(n - 1) / 2];
    size_t i99 = (n * 99 + 99) / 100; /* nearest rank */
    *p99 = s[(i99 ? i99 : 1) - 1];
}

/* ---- replies ---------------------------------------------------------------------------- */

static void ask_finish(ask_t *a, const char *text, source_t src)
{
    pp_bot_t *b = a->b;
    pp_bot_xmpp_send(b->xmpp, a->from, text);
    int64_t ms = pp_mono_ms() - a->recv_ms;
    pp_debugk(PP_LOG_FIELDS(PP_LF_CARRIER(a->cmd.carrier), PP_LF_STR("source", source_names[src])),
              "bot: answered an ask (%s) in %lld ms: %s",
              a->cmd.carrier ? a->cmd.carrier : "no carrier", (long long)ms, source_names[src]);
    pp_metrics_observe(b->m, "pp_bot_reply_latency_seconds", NULL, (double)ms / 1000.0);
    count(b, "pp_bot_replies_total{source=\"%s\"}", source_names[src]);
    b->n_replies[src]++;
    b->lat_ms[b->lat_pos] = (float)ms;
    b->lat_pos = (b->lat_pos + 1) % LAT_RING;
    if (b->lat_n < LAT_RING)
        b->lat_n++;
    free(a);
    b->asks--;
    check_stopped(b);
}

/* An ask over its writer's live limit whose refusal was already sent: no answer. */
static void ask_drop(ask_t *a)
{
    pp_bot_t *b = a->b;
    b->n_dropped++;
    count(b, "pp_bot_sender_dropped_total{limit=\"live\"}");
    free(a);
    b->asks--;
    check_stopped(b);
}

static void ask_reply_status(ask_t *a, bool found, pp_status_t st, const char *place, time_t at,
                             source_t src)
{
    char text[1024];
    pp_bot_text_status(a->lang, a->cmd.carrier, a->cmd.number, found, st, place, at, text, sizeof text);
    ask_finish(a, text, src);
}

/* The carrier's answer: its newest mapped status (or the newest event, if none is mapped). */
static void reply_live(ask_t *a, const pp_track_result_t *r)
{
    pp_status_t st = PP_ST_UNKNOWN;
    const char *place = "";
    time_t at = 0;
    if (r->found) {
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
    ask_reply_status(a, r->found, st, place, at, SRC_LIVE);
}

static void ask_live_cb(void *arg, const pp_bot_live_answer_t *ans)
{
    ask_t *a = arg;
    char text[1024];
    if (ans->outcome == PP_BOT_LIVE_ANSWERED) {
        reply_live(a, ans->r);
        return;
    }
    pp_status_t st;
    if (a->known && pp_status_parse(a->status, &st) == 0) {
        pp_bot_why_t why = ans->outcome == PP_BOT_LIVE_QUOTA     ? PP_BOT_WHY_QUOTA
                           : ans->outcome == PP_BOT_LIVE_BREAKER ? PP_BOT_WHY_BREAKER
                                                                 : PP_BOT_WHY_UNAVAILABLE;
        pp_bot_text_stale(a->lang, a->cmd.carrier, a->cmd.number, st, a->place, (time_t)a->at,
                          (time_t)a->checked, why, text, sizeof text);
        ask_finish(a, text, SRC_STALE);
        return;
    }
    switch (ans->outcome) {
    case PP_BOT_LIVE_QUOTA:
        pp_bot_text_quota(a->lang, a->cmd.carrier, a->cmd.number, ans->quota_resets_at, text,
                          sizeof text);
        ask_finish(a, text, SRC_QUOTA);
        return;
    case PP_BOT_LIVE_BREAKER:
        pp_bot_text_not_answering(a->lang, a->cmd.carrier, a->cmd.number, text, sizeof text);
        ask_finish(a, text, SRC_BREAKER);
        return;
    default:
        pp_bot_text_unavailable(a->lang, a->cmd.carrier, a->cmd.number, text, sizeof text);
        ask_finish(a, text, SRC_UNAVAILABLE);
        return;
    }
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
                        "UPDATE users SET notify_shipment_status = $2::boolean " /* changed_at: trigger */
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
    rc = pp_db_exec(conn, "bot status",
                    "SELECT status, coalesce(last_location, pickup_point, ''), "
                    " coalesce(extract(epoch FROM last_event_at)::bigint, 0), "
                    " coalesce(extract(epoch FROM last_polled_at)::bigint, 0), "
                    " coalesce(last_polled_at > now() - make_interval(secs => $3::int), false) "
                    "FROM shipments WHERE carrier = $1 AND tracking_number = $2 "
                    "ORDER BY last_polled_at DESC NULLS LAST, id DESC LIMIT 1",
                    3, q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        a->known = true;
        snprintf(a->status, sizeof a->status, "%s", PQgetvalue(r, 0, 0));
        snprintf(a->place, sizeof a->place, "%s", PQgetvalue(r, 0, 1));
        a->at = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        a->checked = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        a->fresh = PQgetvalue(r, 0, 4)[0] == 't';
    }
    PQclear(r);
    return 0;
}

static void ask_db_done(int rc, void *arg)
{
    ask_t *a = arg;
    char text[2048];
    if (rc && (a->cmd.kind == PP_BOT_CMD_STOP || a->cmd.kind == PP_BOT_CMD_START)) {
        snprintf(text, sizeof text, "%s",
                 a->lang == PP_BOT_EN ? "Sorry, I cannot change the setting right now, "
                                        "try again in a moment."
                                      : "Przepraszam, nie mogę teraz zmienić ustawienia, "
                                        "spróbuj za chwilę.");
        ask_finish(a, text, SRC_ERROR);
        return;
    }
    if (a->cmd.kind != PP_BOT_CMD_TRACK) {
        pp_bot_text_simple(a->lang, &a->cmd, a->linked, text, sizeof text);
        ask_finish(a, text, SRC_SIMPLE);
        return;
    }
    pp_status_t st;
    if (!rc && a->known && a->fresh && pp_status_parse(a->status, &st) == 0) {
        ask_reply_status(a, true, st, a->place, (time_t)a->at, SRC_DB);
        return;
    }
    if (rc)
        a->known = false; /* the database failed: nothing to fall back on */
    /* A live lookup: within the writer's own limits first, so one writer cannot spend the
     * bot's carrier budget and day share for everyone. */
    pp_bot_t *b = a->b;
    int64_t retry_ms = 0;
    bool day_cap = false;
    long long day = pp_budget_utc_day(pp_now_ms());
    pp_bot_sender_verdict_t v =
        pp_bot_senders_live(b->senders, a->bare, pp_mono_ms(), day, &retry_ms, &day_cap);
    if (v != PP_BOT_SENDER_OK) {
        b->n_limited_live++;
        count(b, "pp_bot_sender_limited_total{limit=\"%s\"}", day_cap ? "live_day" : "live");
        if (a->known && pp_status_parse(a->status, &st) == 0) { /* no call, but an answer */
            pp_bot_text_stale(a->lang, a->cmd.carrier, a->cmd.number, st, a->place, (time_t)a->at,
                              (time_t)a->checked, PP_BOT_WHY_SENDER, text, sizeof text);
            ask_finish(a, text, SRC_STALE);
        } else if (v == PP_BOT_SENDER_REFUSE) {
            time_t resets = (time_t)((day + 1) * 86400); /* the next UTC midnight */
            pp_bot_text_sender_live(a->lang, a->cmd.carrier, a->cmd.number,
                                    (long)((retry_ms + 999) / 1000),
                                    day_cap ? b->cfg->bot_sender_live_per_day : 0, resets, text,
                                    sizeof text);
            ask_finish(a, text, SRC_SENDER_LIMIT);
        } else {
            ask_drop(a);
        }
        return;
    }
    pp_bot_live_ask(b->live, a->cmd.carrier, a->cmd.number, ask_live_cb, a);
}

static void line_cb(void *arg, const char *from, const char *body, int64_t recv_ms)
{
    pp_bot_t *b = arg;
    if (b->phase != BOT_RUNNING)
        return; /* intake stopped: the writer gets no answer from this process */
    int64_t retry_ms = 0;
    pp_bot_sender_verdict_t v = pp_bot_senders_message(b->senders, from, pp_mono_ms(), &retry_ms);
    if (v != PP_BOT_SENDER_OK) { /* over the writer's message limit: no database job */
        b->n_limited_msgs++;
        count(b, "pp_bot_sender_limited_total{limit=\"messages\"}");
        if (v == PP_BOT_SENDER_REFUSE) {
            char text[512];
            pp_bot_text_slow_down((long)((retry_ms + 999) / 1000), text, sizeof text);
            pp_bot_xmpp_send(b->xmpp, from, text);
            count(b, "pp_bot_replies_total{source=\"%s\"}", source_names[SRC_SENDER_LIMIT]);
            b->n_replies[SRC_SENDER_LIMIT]++;
        } else {
            b->n_dropped++;
            count(b, "pp_bot_sender_dropped_total{limit=\"messages\"}");
        }
        return;
    }
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
    b->n_asks++;
    b->asks++;
    if (pp_db_submit(b->db, ask_work, ask_db_done, a))
        ask_db_done(PP_EDB, a);
}

/* ---- the process's hooks in the daemon frame ---------------------------------------------- */

/* The workers row's counters (the frame writes them with every heartbeat and at the stop). */
static void counters(void *self, char *json, size_t cap)
{
    pp_bot_t *b = self;
    pp_bot_live_stats_t ls;
    pp_bot_live_stats(b->live, &ls);
    double p50, p99;
    latency_pcts(b, &p50, &p99);
    const long long *n = b->n_replies;
    /* each carrier's breaker and recent counts (ppctl status); left out if they do not fit */
    char carriers[1024];
    if (pp_bot_live_carriers_json(b->live, carriers, sizeof carriers) != PP_OK)
        snprintf(carriers, sizeof carriers, "{}");
    int len =
        snprintf(json, cap,
                 "{\"asks\":%lld,\"answered_db\":%lld,\"answered_live\":%lld,\"answered_stale\":%lld,"
                 "\"answered_quota\":%lld,\"answered_breaker\":%lld,\"answered_unavailable\":%lld,"
                 "\"answered_other\":%lld,\"lookups\":%lld,\"live_calls\":%lld,\"coalesced\":%lld,"
                 "\"refused_quota\":%lld,\"refused_breaker\":%lld,\"refused_paused\":%lld,"
                 "\"refused_other\":%lld,\"live_failed\":%lld,\"latency_p50_ms\":%.1f,"
                 "\"latency_p99_ms\":%.1f,\"latency_window\":%zu,\"in_flight\":%ld,\"xmpp_up\":%s,"
                 "\"sender_limited_messages\":%lld,\"sender_limited_live\":%lld,\"sender_dropped\":%lld,"
                 "\"answered_sender_limit\":%lld,\"senders\":%ld,\"carriers\":%s}",
                 b->n_asks, n[SRC_DB], n[SRC_LIVE], n[SRC_STALE], n[SRC_QUOTA], n[SRC_BREAKER],
                 n[SRC_UNAVAILABLE], n[SRC_SIMPLE] + n[SRC_ERROR], ls.lookups, ls.calls,
                 ls.coalesced, ls.refused_quota, ls.refused_breaker, ls.refused_paused,
                 ls.refused_other, ls.failed, p50, p99, b->lat_n, b->asks,
                 b->xmpp && pp_bot_xmpp_is_up(b->xmpp) ? "true" : "false", b->n_limited_msgs,
                 b->n_limited_live, b->n_dropped, n[SRC_SENDER_LIMIT],
                 b->senders ? pp_bot_senders_count(b->senders) : 0L, carriers);
    if (len < 0 || (size_t)len >= cap) /* cut JSON would fail the heartbeat: the counters without */
        snprintf(json, cap, "{}");
}

static int health(void *self, char *msg, size_t cap)
{
    pp_bot_t *b = self;
    if (!b->xmpp || !pp_bot_xmpp_is_up(b->xmpp)) {
        snprintf(msg, cap, "xmpp connection down");
        return 1;
    }
    return 0;
}

static void gauge_cb(uv_timer_t *t)
{
    pp_bot_t *b = t->data;
    pp_metrics_set(b->m, "pp_bot_xmpp_up", b->xmpp && pp_bot_xmpp_is_up(b->xmpp) ? 1 : 0);
}

static void declare_metrics(pp_metrics_t *m)
{
    pp_metrics_help(m, "pp_bot_asks_total", "counter", "chat lines received, by command");
    pp_metrics_help(m, "pp_bot_replies_total", "counter",
                    "replies sent, by source (db, live, stale, quota, breaker, unavailable, "
                    "simple, error)");
    pp_metrics_help(m, "pp_bot_reply_latency_seconds", "histogram",
                    "chat line received until the reply was queued for sending");
    pp_metrics_help(m, "pp_bot_xmpp_up", "gauge", "1 while the XMPP session is up");
    pp_metrics_help(m, "pp_bot_sender_limited_total", "counter",
                    "chat lines over a writer's limit, by limit (messages, live, live_day)");
    pp_metrics_help(m, "pp_bot_sender_dropped_total", "counter",
                    "of those, dropped without an answer (a refusal was already sent), by limit");
}

static pp_bot_senders_limits_t sender_limits(const pp_config_t *cfg)
{
    return (pp_bot_senders_limits_t){
        .max = cfg->bot_senders_max,
        .msgs_per_min = (double)cfg->bot_sender_msgs_per_min,
        .msgs_burst = (double)cfg->bot_sender_msgs_burst,
        .live_per_min = (double)cfg->bot_sender_live_per_min,
        .live_burst = (double)cfg->bot_sender_live_burst,
        .live_per_day = cfg->bot_sender_live_per_day,
    };
}

static int start(pp_daemon_t *d, void **self)
{
    pp_bot_t *b = calloc(1, sizeof *b);
    int rc;
    if (!b)
        return PP_ENOMEM;
    *self = b;
    b->daemon = d;
    b->cfg = pp_daemon_config(d);
    b->loop = pp_daemon_loop(d);
    b->m = pp_daemon_metrics(d);
    b->db = pp_daemon_db(d);
    b->worker_id = pp_daemon_worker_id(d);
    declare_metrics(b->m);
    uv_timer_init(b->loop, &b->grace);
    uv_timer_init(b->loop, &b->stop_poll);
    uv_timer_init(b->loop, &b->gauge);
    b->grace.data = b->stop_poll.data = b->gauge.data = b;
    uv_timer_start(&b->gauge, gauge_cb, 500, 500);
    if ((rc = pp_bot_live_init(&b->live, b->cfg, b->loop, b->m, b->db)) != 0)
        return rc;
    pp_bot_senders_limits_t lim = sender_limits(b->cfg);
    if ((rc = pp_bot_senders_new(&b->senders, &lim)) != 0)
        return rc;
    if ((rc = pp_bot_xmpp_start(&b->xmpp, b->cfg, b->loop, line_cb, b)) != 0) {
        pp_error("bot: cannot start XMPP: %s", pp_strerror(rc));
        return rc;
    }
    pp_info("bot: metrics on http://%s/metrics", pp_daemon_ops_addr(d));
    return 0;
}

/* After a configuration reload (SIGHUP): the carrier client, the per-writer limits. */
static void reload(void *self)
{
    pp_bot_t *b = self;
    pp_bot_live_reconfigure(b->live);
    pp_bot_senders_limits_t lim = sender_limits(b->cfg);
    pp_bot_senders_retune(b->senders, &lim);
}

/* 1: asks and lookups answered, database idle -> 2: unused day share given back, drained (the
 * frame marks the row stopped). Called from anywhere, even from inside a carrier call's
 * callback. */
static void check_stopped(pp_bot_t *b)
{
    if (b->phase != BOT_ANSWERING || b->asks > 0 || pp_bot_live_pending(b->live) > 0 ||
        pp_db_pending(b->db) > 0)
        return;
    b->phase = BOT_DRAINED;
    uv_timer_stop(&b->grace);
    uv_timer_stop(&b->stop_poll);
    pp_bot_live_release(b->live);
    pp_daemon_drained(b->daemon);
}

static void stop_poll_cb(uv_timer_t *t) { check_stopped(t->data); }

static void grace_cb(uv_timer_t *t)
{
    pp_bot_t *b = t->data;
    pp_warn("bot: %ld asks still waiting on carriers after %d ms: answering them now", b->asks,
            STOP_GRACE_MS);
    pp_bot_live_abort(b->live);
}

/* SIGTERM (through the frame): no new asks, finish those in flight (live calls cut after a
 * grace period), give the unused day share back. */
static void drain(void *self)
{
    pp_bot_t *b = self;
    b->phase = BOT_ANSWERING;
    pp_info("bot: stopping: %ld asks in flight", b->asks);
    uv_timer_start(&b->grace, grace_cb, STOP_GRACE_MS, 0);
    uv_timer_start(&b->stop_poll, stop_poll_cb, STOP_POLL_MS, STOP_POLL_MS);
    check_stopped(b);
}

/* From the frame's stop tick, so nothing is closed under a callback of its own. */
static void close_handles(void *self)
{
    pp_bot_t *b = self;
    uv_close((uv_handle_t *)&b->grace, NULL);
    uv_close((uv_handle_t *)&b->stop_poll, NULL);
    uv_close((uv_handle_t *)&b->gauge, NULL);
    pp_bot_live_close(b->live);
    pp_bot_xmpp_stop(b->xmpp); /* sends the last replies */
    b->xmpp = NULL;
    pp_info("worker %s: stopped (%lld asks answered)", b->worker_id, b->n_asks);
}

static void free_bot(void *self)
{
    pp_bot_t *b = self;
    if (!b)
        return;
    pp_bot_live_free(b->live);
    pp_bot_senders_free(b->senders);
    free(b);
}

const pp_daemon_hooks_t pp_bot_hooks = {
    .prog = "pp-bot",
    .kind = "bot",
    .summary = "The \"paczka\" bot on XMPP (bot_*, xmpp_*, <carrier>_* keys).",
    .uses_db_pool = true,
    .ops_port = 9473, /* docs/operations.md: 9470 poller, 9471 notifier, 9472 api, 9473 bot */
    .uses = PP_USES_XMPP,
    .start = start,
    .drain = drain,
    .close = close_handles,
    .free = free_bot,
    .counters = counters,
    .health = health,
    .reload = reload,
};
