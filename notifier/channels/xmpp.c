/*
 * xmpp.c - the XMPP IM channel on libstrophe: one long-lived bot connection, reconnect with
 * back-off, messages queued by send() and confirmed by an iq ping barrier in flush().
 */
#include "channel.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <sys/socket.h>

#define XMPP_BACKOFF_MIN_MS 200

typedef enum { X_DOWN = 0, X_CONNECTING, X_UP } xstate_t;

struct pp_channel {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    xmpp_log_t logger;
    char *host, *jid, *pass;
    unsigned short port;
    bool tls;
    long retry_max_ms;
    xstate_t state;
    int64_t next_connect_ms; /* monotonic */
    long backoff_ms;
    int failures; /* consecutive failed connects, for logging once per streak */
    int dropped;  /* we gave up on this connection ourselves; ignore its close event */
    unsigned long flush_seq;
    char flush_id[32];
    int flush_done; /* 1 when the barrier for flush_id came back */
    pp_channel_bounce_cb bounce;
    void *bounce_arg;
};

static void log_cb(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
    if (level >= XMPP_LEVEL_ERROR)
        pp_warn("xmpp: libstrophe %s: %s", area, msg);
}

static int sockopt_cb(xmpp_conn_t *conn, void *sock)
{
    int fd = *(int *)sock, one = 1;
    /* Nagle + delayed ACK would hold the small barrier iq ~40 ms (research/im.md). */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return -1;
    return xmpp_sockopt_cb_keepalive(conn, sock);
}

static long jitter(long ms)
{
    return ms / 2 + (ms > 1 ? random() % (ms / 2 + 1) : 0);
}

static void schedule_reconnect(pp_channel_t *ch)
{
    ch->backoff_ms = ch->backoff_ms ? ch->backoff_ms * 2 : XMPP_BACKOFF_MIN_MS;
    if (ch->backoff_ms > ch->retry_max_ms)
        ch->backoff_ms = ch->retry_max_ms;
    ch->next_connect_ms = pp_mono_ms() + jitter(ch->backoff_ms);
}

/* <message type='error'>: report the id and "condition: text" to the owner. */
static int message_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st);
    const char *id = xmpp_stanza_get_id(st);
    if (!type || strcmp(type, "error") != 0)
        return 1; /* ordinary incoming chat: not handled here (yet) */
    char reason[256] = "unknown error";
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    if (err) {
        const char *cond = NULL;
        char *text = NULL;
        for (xmpp_stanza_t *c = xmpp_stanza_get_children(err); c; c = xmpp_stanza_get_next(c)) {
            const char *name = xmpp_stanza_get_name(c);
            if (!name)
                continue;
            if (strcmp(name, "text") == 0)
                text = xmpp_stanza_get_text(c);
            else if (!cond)
                cond = name;
        }
        snprintf(reason, sizeof reason, "%s%s%s", cond ? cond : "error", text ? ": " : "",
                 text ? text : "");
        if (text)
            xmpp_free(ch->ctx, text);
    }
    if (ch->bounce)
        ch->bounce(ch->bounce_arg, id ? id : "", reason);
    return 1;
}

static int flush_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *id = xmpp_stanza_get_id(st);
    /* A result or an error reply both prove the server handled everything before it. */
    if (id && strcmp(id, ch->flush_id) == 0)
        ch->flush_done = 1;
    return 0;
}

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
                    xmpp_stream_error_t *se, void *ud)
{
    pp_channel_t *ch = ud;
    if (ch->dropped)
        return;
    if (ev == XMPP_CONN_CONNECT) {
        pp_info("xmpp: connected to %s:%u as %s", ch->host, ch->port,
                xmpp_conn_get_bound_jid(conn) ? xmpp_conn_get_bound_jid(conn) : ch->jid);
        ch->state = X_UP;
        ch->backoff_ms = 0;
        ch->failures = 0;
        xmpp_stanza_t *pres = xmpp_presence_new(ch->ctx);
        if (pres) {
            xmpp_send(conn, pres);
            xmpp_stanza_release(pres);
        }
        return;
    }
    if (ch->state == X_UP)
        pp_warn("xmpp: connection to %s:%u lost (error %d%s%s)", ch->host, ch->port, error,
                se && se->text ? ": " : "", se && se->text ? se->text : "");
    else if (ch->failures++ == 0)
        pp_warn("xmpp: cannot connect/log in to %s:%u as %s (error %d%s%s); retrying with back-off",
                ch->host, ch->port, ch->jid, error, se && se->text ? ": " : "",
                se && se->text ? se->text : "");
    ch->state = X_DOWN;
    schedule_reconnect(ch);
}

static void start_connect(pp_channel_t *ch)
{
    ch->dropped = 0;
    ch->conn = xmpp_conn_new(ch->ctx);
    if (!ch->conn) {
        schedule_reconnect(ch);
        return;
    }
    xmpp_conn_set_flags(ch->conn, ch->tls ? XMPP_CONN_FLAG_MANDATORY_TLS
                                          : XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(ch->conn, sockopt_cb);
    xmpp_conn_set_jid(ch->conn, ch->jid);
    xmpp_conn_set_pass(ch->conn, ch->pass);
    xmpp_handler_add(ch->conn, message_cb, NULL, "message", NULL, ch);
    ch->state = X_CONNECTING;
    if (xmpp_connect_client(ch->conn, ch->host, ch->port, conn_cb, ch) != XMPP_EOK) {
        if (ch->failures++ == 0)
            pp_warn("xmpp: cannot start a connection to %s:%u; retrying with back-off",
                    ch->host, ch->port);
        ch->state = X_DOWN;
        schedule_reconnect(ch);
    }
}

static void x_poll(pp_channel_t *ch, int timeout_ms)
{
    if (ch->state == X_DOWN) {
        if (ch->conn && (xmpp_conn_is_disconnected(ch->conn) ||
                         pp_mono_ms() >= ch->next_connect_ms)) {
            xmpp_conn_release(ch->conn);
            ch->conn = NULL;
        }
        if (!ch->conn && pp_mono_ms() >= ch->next_connect_ms)
            start_connect(ch);
    }
    xmpp_run_once(ch->ctx, (unsigned long)(timeout_ms < 0 ? 0 : timeout_ms));
}

static bool x_is_up(pp_channel_t *ch) { return ch->state == X_UP; }

static int x_send(pp_channel_t *ch, const char *id, const char *to, const char *body)
{
    if (ch->state != X_UP)
        return PP_EAGAIN;
    xmpp_stanza_t *msg = xmpp_message_new(ch->ctx, "chat", to, id);
    if (!msg)
        return PP_ENOMEM;
    int rc = xmpp_message_set_body(msg, body) == XMPP_EOK ? PP_OK : PP_ENOMEM;
    if (rc == PP_OK)
        xmpp_send(ch->conn, msg);
    xmpp_stanza_release(msg);
    return rc;
}

static int x_flush(pp_channel_t *ch, int timeout_ms)
{
    if (ch->state != X_UP)
        return PP_EAGAIN;
    snprintf(ch->flush_id, sizeof ch->flush_id, "flush-%lu", ++ch->flush_seq);
    ch->flush_done = 0;
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "get", ch->flush_id);
    xmpp_stanza_t *ping = xmpp_stanza_new(ch->ctx);
    if (!iq || !ping) {
        if (iq)
            xmpp_stanza_release(iq);
        if (ping)
            xmpp_stanza_release(ping);
        return PP_ENOMEM;
    }
    xmpp_stanza_set_name(ping, "ping");
    xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
    xmpp_stanza_add_child(iq, ping);
    xmpp_stanza_release(ping);
    xmpp_id_handler_add(ch->conn, flush_cb, ch->flush_id, ch);
    xmpp_send(ch->conn, iq);
    xmpp_stanza_release(iq);
    int64_t deadline = pp_mono_ms() + timeout_ms;
    while (!ch->flush_done && ch->state == X_UP && pp_mono_ms() < deadline)
        xmpp_run_once(ch->ctx, 5);
    if (ch->flush_done)
        return PP_OK;
    if (ch->state != X_UP)
        return PP_EAGAIN;
    /* No answer in time: the stream is unusable; drop it so a late reply cannot confuse us. */
    pp_warn("xmpp: no reply to barrier %s within %d ms; reconnecting", ch->flush_id, timeout_ms);
    xmpp_id_handler_delete(ch->conn, flush_cb, ch->flush_id);
    xmpp_disconnect(ch->conn);
    ch->dropped = 1;
    ch->state = X_DOWN;
    schedule_reconnect(ch);
    return PP_ETIMEOUT;
}

static void x_close(pp_channel_t *ch, int timeout_ms)
{
    if (!ch)
        return;
    if (ch->conn) {
        if (ch->state == X_UP) {
            ch->state = X_DOWN;
            ch->dropped = 1; /* our own close: no "connection lost" warning */
            xmpp_disconnect(ch->conn);
            int64_t deadline = pp_mono_ms() + timeout_ms;
            while (!xmpp_conn_is_disconnected(ch->conn) && pp_mono_ms() < deadline)
                xmpp_run_once(ch->ctx, 5);
        }
        xmpp_conn_release(ch->conn);
    }
    if (ch->ctx)
        xmpp_ctx_free(ch->ctx);
    xmpp_shutdown();
    free(ch->host);
    free(ch->jid);
    free(ch->pass);
    free(ch);
}

static int x_open(pp_channel_t **out, const pp_config_t *cfg, pp_channel_bounce_cb bounce,
                  void *arg)
{
    pp_channel_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return PP_ENOMEM;
    xmpp_initialize();
    ch->logger.handler = log_cb;
    ch->logger.userdata = ch;
    ch->ctx = xmpp_ctx_new(NULL, &ch->logger);
    ch->host = strdup(cfg->xmpp_host);
    ch->jid = strdup(cfg->xmpp_jid);
    ch->pass = strdup(cfg->xmpp_password);
    if (!ch->ctx || !ch->host || !ch->jid || !ch->pass)
        goto fail;
    ch->port = (unsigned short)cfg->xmpp_port;
    ch->tls = cfg->xmpp_tls;
    ch->retry_max_ms = cfg->send_retry_max_ms;
    ch->bounce = bounce;
    ch->bounce_arg = arg;
    ch->state = X_DOWN;
    ch->next_connect_ms = 0;
    *out = ch;
    return PP_OK;
fail:
    x_close(ch, 0);
    return PP_ENOMEM;
}

const pp_channel_ops_t pp_channel_xmpp = {
    .name = "xmpp",
    .open = x_open,
    .poll = x_poll,
    .is_up = x_is_up,
    .send = x_send,
    .flush = x_flush,
    .close = x_close,
};
