/*
 * xmpp.c - the bot's XMPP connection. libstrophe has its own event loop, so it runs on one
 * thread that only does XMPP I/O: xmpp_run_once with a 5 ms timeout, then the reply queue is
 * drained. Inbound chat lines are queued and handed to the libuv loop through a uv_async_t;
 * every decision (database, carrier calls, budgets, metrics) happens on the loop thread. The
 * two queues are the only shared state (one mutex).
 *
 * The bot logs in with the notifier's account but its own resource and a positive presence
 * priority: the notifier sends plain presence (priority 0), so the server routes chats
 * addressed to the bare JID to the bot (RFC 6121 8.5.2.1: the highest-priority resource).
 */
#include "xmpp.h"
#include "err.h"
#include "log.h"
#include "text.h"
#include "timeutil.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <sys/socket.h>

#define RUN_MS 5
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000

typedef struct line {
    struct line *next;
    char *peer, *body;
    int64_t recv_ms;
} line_t;

struct pp_bot_xmpp {
    const pp_config_t *cfg;
    pp_bot_line_cb cb;
    void *arg;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t lock;
    line_t *in_head, *in_tail, *out_head, *out_tail; /* under lock */
    atomic_bool stop, up;
    /* thread only */
    xmpp_ctx_t *ctx;
    xmpp_log_t log; /* libstrophe keeps the pointer */
    xmpp_conn_t *conn;
    char jid[512];
    int failures;
    int64_t backoff_ms, next_connect_ms;
    bool connected;
};

static void push(line_t **head, line_t **tail, line_t *l)
{
    l->next = NULL;
    if (*tail)
        (*tail)->next = l;
    else
        *head = l;
    *tail = l;
}

/* A malloc'd clean copy of s (pp_text_clean: valid UTF-8, no control characters). */
static char *clean_dup(const char *s)
{
    size_t n = s ? strlen(s) : 0, cap = 3 * n + 1; /* U+FFFD is 3 bytes for each bad byte */
    char *d = malloc(cap);
    if (d)
        pp_text_clean(d, cap, s, n);
    return d;
}

/* A line in either direction: peer address and body, both cleaned (a raw control character
 * in a reply stanza makes the server close the bot's stream). libstrophe escapes the rest. */
static line_t *line_new(const char *peer, const char *body)
{
    line_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->peer = clean_dup(peer);
    l->body = clean_dup(body);
    if (!l->peer || !l->body) {
        free(l->peer);
        free(l->body);
        free(l);
        return NULL;
    }
    return l;
}

static void line_free(line_t *l)
{
    free(l->peer);
    free(l->body);
    free(l);
}

static void log_cb(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
    if (level >= XMPP_LEVEL_ERROR)
        pp_warn("xmpp: libstrophe %s: %s", area, msg);
}

static int sockopt_cb(xmpp_conn_t *conn, void *sock)
{
    int fd = *(int *)sock, one = 1;
    /* small replies must not wait for Nagle + delayed ACK (research/im.md) */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return -1;
    return xmpp_sockopt_cb_keepalive(conn, sock);
}

static int message_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_bot_xmpp_t *x = ud;
    const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);
    if (!from || (type && strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0))
        return 1; /* errors (bounces), groupchat, headline: not for the bot */
    char *body = xmpp_message_get_body(st);
    if (!body)
        return 1; /* chat states, receipts */
    line_t *l = line_new(from, body);
    xmpp_free(x->ctx, body);
    if (!l) {
        pp_warn("xmpp: out of memory, dropped a line from %s", from);
        return 1;
    }
    l->recv_ms = pp_mono_ms();
    pthread_mutex_lock(&x->lock);
    push(&x->in_head, &x->in_tail, l);
    pthread_mutex_unlock(&x->lock);
    uv_async_send(&x->async);
    return 1;
}

static void send_presence(pp_bot_xmpp_t *x, xmpp_conn_t *conn)
{
    char prio[16];
    snprintf(prio, sizeof prio, "%ld", x->cfg->bot_priority);
    xmpp_stanza_t *pres = xmpp_presence_new(x->ctx), *p = xmpp_stanza_new(x->ctx),
                  *t = xmpp_stanza_new(x->ctx);
    if (pres && p && t) {
        xmpp_stanza_set_name(p, "priority");
        xmpp_stanza_set_text(t, prio);
        xmpp_stanza_add_child(p, t);
        xmpp_stanza_add_child(pres, p);
        xmpp_send(conn, pres);
    }
    if (t)
        xmpp_stanza_release(t);
    if (p)
        xmpp_stanza_release(p);
    if (pres)
        xmpp_stanza_release(pres);
}

static void schedule_reconnect(pp_bot_xmpp_t *x)
{
    x->backoff_ms = x->backoff_ms ? x->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (x->backoff_ms > BACKOFF_MAX_MS)
        x->backoff_ms = BACKOFF_MAX_MS;
    x->next_connect_ms = pp_mono_ms() + x->backoff_ms / 2 + random() % (x->backoff_ms / 2 + 1);
}

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error, xmpp_stream_error_t *se,
                    void *ud)
{
    pp_bot_xmpp_t *x = ud;
    if (ev == XMPP_CONN_CONNECT) {
        const char *bound = xmpp_conn_get_bound_jid(conn);
        pp_info("xmpp: connected to %s:%ld as %s (priority %ld)", x->cfg->xmpp_host,
                x->cfg->xmpp_port, bound ? bound : x->jid, x->cfg->bot_priority);
        send_presence(x, conn);
        x->connected = true;
        x->backoff_ms = 0;
        x->failures = 0;
        atomic_store(&x->up, true);
        return;
    }
    if (x->connected && atomic_load(&x->stop))
        pp_info("xmpp: disconnected from %s:%ld", x->cfg->xmpp_host, x->cfg->xmpp_port);
    else if (x->connected)
        pp_warn("xmpp: connection to %s:%ld lost (error %d); reconnecting", x->cfg->xmpp_host,
                x->cfg->xmpp_port, error);
    else if (x->failures++ == 0)
        pp_warn("xmpp: cannot log in to %s:%ld as %s (error %d%s%s); retrying with back-off",
                x->cfg->xmpp_host, x->cfg->xmpp_port, x->jid, error, se && se->text ? ": " : "",
                se && se->text ? se->text : "");
    x->connected = false;
    atomic_store(&x->up, false);
    schedule_reconnect(x);
}

static void start_connect(pp_bot_xmpp_t *x)
{
    x->conn = xmpp_conn_new(x->ctx);
    if (!x->conn) {
        schedule_reconnect(x);
        return;
    }
    xmpp_conn_set_flags(x->conn, x->cfg->xmpp_tls ? XMPP_CONN_FLAG_MANDATORY_TLS
                                                  : XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(x->conn, sockopt_cb);
    xmpp_conn_set_jid(x->conn, x->jid);
    xmpp_conn_set_pass(x->conn, x->cfg->xmpp_password);
    xmpp_handler_add(x->conn, message_cb, NULL, "message", NULL, x);
    if (xmpp_connect_client(x->conn, x->cfg->xmpp_host, (unsigned short)x->cfg->xmpp_port, conn_cb,
                            x) != XMPP_EOK) {
        if (x->failures++ == 0)
            pp_warn("xmpp: cannot start a connection to %s:%ld; retrying with back-off",
                    x->cfg->xmpp_host, x->cfg->xmpp_port);
        xmpp_conn_release(x->conn);
        x->conn = NULL;
        schedule_reconnect(x);
    }
}

/* Send queued replies; while disconnected they wait (dropped at stop). */
static void drain_out(pp_bot_xmpp_t *x)
{
    if (!x->connected)
        return;
    pthread_mutex_lock(&x->lock);
    line_t *l = x->out_head;
    x->out_head = x->out_tail = NULL;
    pthread_mutex_unlock(&x->lock);
    while (l) {
        line_t *next = l->next;
        xmpp_stanza_t *m = xmpp_message_new(x->ctx, "chat", l->peer, NULL);
        if (m) {
            xmpp_message_set_body(m, l->body);
            xmpp_send(x->conn, m);
            xmpp_stanza_release(m);
        }
        line_free(l);
        l = next;
    }
}

static void *thread_main(void *arg)
{
    pp_bot_xmpp_t *x = arg;
    while (!atomic_load(&x->stop)) {
        if (!x->connected && x->conn && xmpp_conn_is_disconnected(x->conn) &&
            pp_mono_ms() >= x->next_connect_ms) {
            xmpp_conn_release(x->conn);
            x->conn = NULL;
        }
        if (!x->conn && pp_mono_ms() >= x->next_connect_ms)
            start_connect(x);
        xmpp_run_once(x->ctx, RUN_MS);
        drain_out(x);
    }
    if (x->conn) {
        drain_out(x);
        if (x->connected) {
            xmpp_disconnect(x->conn);
            for (int64_t end = pp_mono_ms() + 2000;
                 !xmpp_conn_is_disconnected(x->conn) && pp_mono_ms() < end;)
                xmpp_run_once(x->ctx, RUN_MS);
        }
        xmpp_conn_release(x->conn);
        x->conn = NULL;
    }
    return NULL;
}

static void async_cb(uv_async_t *h)
{
    pp_bot_xmpp_t *x = h->data;
    pthread_mutex_lock(&x->lock);
    line_t *l = x->in_head;
    x->in_head = x->in_tail = NULL;
    pthread_mutex_unlock(&x->lock);
    while (l) {
        line_t *next = l->next;
        x->cb(x->arg, l->peer, l->body, l->recv_ms);
        line_free(l);
        l = next;
    }
}

int pp_bot_xmpp_start(pp_bot_xmpp_t **out, const pp_config_t *cfg, uv_loop_t *loop,
                      pp_bot_line_cb cb, void *arg)
{
    pp_bot_xmpp_t *x = calloc(1, sizeof *x);
    if (!x)
        return PP_ENOMEM;
    x->cfg = cfg;
    x->cb = cb;
    x->arg = arg;
    snprintf(x->jid, sizeof x->jid, "%.*s/%s", (int)strcspn(cfg->xmpp_jid, "/"), cfg->xmpp_jid,
             cfg->bot_resource);
    pthread_mutex_init(&x->lock, NULL);
    xmpp_initialize();
    x->log.handler = log_cb;
    x->ctx = xmpp_ctx_new(NULL, &x->log);
    if (!x->ctx)
        goto fail;
    if (uv_async_init(loop, &x->async, async_cb))
        goto fail;
    x->async.data = x;
    if (pthread_create(&x->thread, NULL, thread_main, x)) {
        pp_error("xmpp: cannot start the thread");
        uv_close((uv_handle_t *)&x->async, NULL);
        x->ctx = (xmpp_ctx_free(x->ctx), NULL);
        return PP_EXMPP; /* x is freed by nobody: start-up failure, the process exits */
    }
    *out = x;
    return PP_OK;
fail:
    if (x->ctx)
        xmpp_ctx_free(x->ctx);
    pthread_mutex_destroy(&x->lock);
    free(x);
    return PP_EXMPP;
}

void pp_bot_xmpp_send(pp_bot_xmpp_t *x, const char *to, const char *body)
{
    line_t *l = line_new(to, body);
    if (!l) {
        pp_warn("xmpp: out of memory, reply to %s dropped", to);
        return;
    }
    pthread_mutex_lock(&x->lock);
    push(&x->out_head, &x->out_tail, l);
    pthread_mutex_unlock(&x->lock);
}

bool pp_bot_xmpp_is_up(pp_bot_xmpp_t *x) { return atomic_load(&x->up); }

static void closed_cb(uv_handle_t *h)
{
    pp_bot_xmpp_t *x = h->data;
    for (line_t *l = x->in_head, *n; l; l = n) {
        n = l->next;
        line_free(l);
    }
    for (line_t *l = x->out_head, *n; l; l = n) {
        n = l->next;
        line_free(l);
    }
    pthread_mutex_destroy(&x->lock);
    free(x);
}

void pp_bot_xmpp_stop(pp_bot_xmpp_t *x)
{
    atomic_store(&x->stop, true);
    pthread_join(x->thread, NULL);
    xmpp_ctx_free(x->ctx);
    xmpp_shutdown();
    uv_close((uv_handle_t *)&x->async, closed_cb);
}
