/*
 * main.c - pp-bot launcher: config, logging, the libuv loop (bot engine, /metrics, /healthz,
 * signals); XMPP I/O runs on its own thread (see xmpp.c), everything else on the loop (bot.c,
 * live carrier calls in live.c).
 */
#include "bot.h"
#include "config.h"
#include "err.h"
#include "launch.h"
#include "log.h"
#include "metrics.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

typedef struct app {
    pp_config_t *cfg;
    pp_metrics_t *metrics;
    pp_bot_t *bot;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t gauge;
    int signals;
} app_t;

static void close_cb(uv_handle_t *h) { (void)h; }

static void walk_close_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, close_cb);
}

static int health_cb(void *arg, char *msg, size_t msglen)
{
    app_t *a = arg;
    if (!a->bot || !pp_bot_is_up(a->bot)) {
        snprintf(msg, msglen, "xmpp connection down or stopping\n");
        return 1;
    }
    return 0;
}

static void gauge_cb(uv_timer_t *t)
{
    app_t *a = t->data;
    pp_metrics_set(a->metrics, "pp_bot_xmpp_up", a->bot && pp_bot_is_up(a->bot) ? 1 : 0);
}

static void stopped(void *arg)
{
    app_t *a = arg;
    pp_metrics_stop(a->metrics);
    uv_close((uv_handle_t *)&a->sigterm, close_cb);
    uv_close((uv_handle_t *)&a->sigint, close_cb);
    uv_close((uv_handle_t *)&a->sighup, close_cb);
    uv_close((uv_handle_t *)&a->gauge, close_cb);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    app_t *a = h->data;
    if (signum == SIGHUP) {
        if (pp_launch_reload(a->cfg, "bot") > 0)
            pp_bot_reconfigure(a->bot);
        return;
    }
    if (a->signals++ > 0) {
        pp_warn("second signal %d: exiting now", signum);
        _exit(1);
    }
    pp_info("signal %d: answering the asks in flight (signal again to exit now)", signum);
    pp_bot_stop(a->bot, stopped, a);
}

static int run(pp_config_t *cfg)
{
    static app_t a;
    int port = 0;
    signal(SIGPIPE, SIG_IGN);
    a.cfg = cfg;
    uv_loop_t *loop = uv_default_loop();
    a.metrics = pp_metrics_new();
    if (!a.metrics)
        pp_die("out of memory");
    pp_metrics_help(a.metrics, "pp_bot_asks_total", "counter", "chat lines received, by command");
    pp_metrics_help(a.metrics, "pp_bot_replies_total", "counter",
                    "replies sent, by source (db, live, stale, quota, breaker, unavailable, "
                    "simple, error)");
    pp_metrics_help(a.metrics, "pp_bot_reply_latency_seconds", "histogram",
                    "chat line received until the reply was queued for sending");
    pp_metrics_help(a.metrics, "pp_bot_xmpp_up", "gauge", "1 while the XMPP session is up");
    if (pp_metrics_serve(a.metrics, loop, a.cfg->metrics_addr, health_cb, &a, &port))
        pp_die("cannot serve metrics on %s", a.cfg->metrics_addr);
    pp_info("bot: metrics on http://%.*s:%d/metrics", (int)strcspn(a.cfg->metrics_addr, ":"),
            a.cfg->metrics_addr, port);
    char maddr[128];
    snprintf(maddr, sizeof maddr, "%.*s:%d", (int)strcspn(a.cfg->metrics_addr, ":"),
             a.cfg->metrics_addr, port);
    if (pp_bot_start(&a.bot, a.cfg, loop, a.metrics, maddr))
        pp_die("bot: start-up failed");
    uv_signal_init(loop, &a.sigterm);
    uv_signal_init(loop, &a.sigint);
    uv_signal_init(loop, &a.sighup);
    a.sigterm.data = a.sigint.data = a.sighup.data = &a;
    uv_signal_start(&a.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&a.sigint, signal_cb, SIGINT);
    uv_signal_start(&a.sighup, signal_cb, SIGHUP);
    uv_timer_init(loop, &a.gauge);
    a.gauge.data = &a;
    uv_timer_start(&a.gauge, gauge_cb, 500, 500);

    uv_run(loop, UV_RUN_DEFAULT);
    uv_walk(loop, walk_close_cb, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop))
        pp_warn("libuv loop still has handles at exit");
    pp_bot_free(a.bot);
    pp_metrics_free(a.metrics);
    return 0;
}

int main(int argc, char **argv)
{
    return pp_launch(argc, argv, "pp-bot",
                     "The \"paczka\" bot on XMPP (bot_*, xmpp_*, <carrier>_* keys).", run);
}
