/*
 * xmpp.c - the XMPP IM channel on libstrophe: one long-lived bot connection, reconnect with
 * back-off, messages queued by send() and confirmed by an iq ping barrier in flush(). What
 * the server's record says after a crash (was_sent, in_doubt) is xmpp_archive.c.
 *
 * With the archive check on (notifier_archive_check), each login sets the bot's archiving
 * preference to 'always' (so the archive's answer does not depend on a client having
 * changed it), every MARK_EVERY-th message is followed by a marker iq (a ping, answered in
 * stream order; the barrier closes each batch), and each login asks the server's uptime
 * (XEP-0012 jabber:iq:last on the domain; Prosody: mod_uptime): unconfirmed.h says how
 * markers and start times find a message a server crash may have cut in half.
 */
#include "err.h"
#include "log.h"
#include "text.h"
#include "timeutil.h"
#include "xmpp_internal.h"
#include "xmpp_stanza.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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

static long jitter(long ms) { return ms / 2 + (ms > 1 ? random() % (ms / 2 + 1) : 0); }

static void schedule_reconnect(pp_channel_t *ch)
{
    ch->backoff_ms = ch->backoff_ms ? ch->backoff_ms * 2 : XMPP_BACKOFF_MIN_MS;
    if (ch->backoff_ms > ch->retry_max_ms)
        ch->backoff_ms = ch->retry_max_ms;
    ch->next_connect_ms = pp_mono_ms() + jitter(ch->backoff_ms);
}

/* <message type='error'>: report the id and "condition: text" to the owner. Archive query
 * results (XEP-0313 <result/>) go to the query in progress. */
static int message_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st);
    const char *id = xmpp_stanza_get_id(st);
    xmpp_stanza_t *result = xmpp_stanza_get_child_by_name_and_ns(st, "result", NS_MAM);
    if (result) {
        const char *qid = xmpp_stanza_get_attribute(result, "queryid");
        const char *from = xmpp_stanza_get_from(st);
        /* Only our own archive may answer (from = our bare JID, or none). */
        if (qid && ch->mam.qid[0] && strcmp(qid, ch->mam.qid) == 0 && ch->mam.done == 0 &&
            (!from || pp_xmpp_same_bare(from, ch->jid)))
            pp_xmpp_archive_result(ch, result);
        return 1;
    }
    if (!type || strcmp(type, "error") != 0)
        return 1; /* ordinary incoming chat: not handled here (yet) */
    char reason[256];
    pp_xmpp_error_reason(ch->ctx, st, reason, sizeof reason);
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

/* A marker's reply (result or error alike): the server handled every message before it. */
static int marker_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *id = xmpp_stanza_get_id(st), *type = xmpp_stanza_get_type(st);
    const char *from = xmpp_stanza_get_from(st);
    if (!id || !type || (strcmp(type, "result") != 0 && strcmp(type, "error") != 0) ||
        strncmp(id, MARK_PREFIX, strlen(MARK_PREFIX)) != 0)
        return 1;
    /* Only the server's own answer (no from, or our own JID) confirms anything. */
    if (from && !pp_xmpp_same_bare(from, ch->jid) && strcasecmp(from, ch->domain) != 0)
        return 1;
    char *end = NULL;
    const char *num = id + strlen(MARK_PREFIX);
    unsigned long mark = strtoul(num, &end, 10);
    if (end != num && *end == '\0' && mark <= ch->mark_seq)
        pp_unconfirmed_confirm(ch->unconf, mark);
    return 1;
}

/* The server's uptime (XEP-0012 on the domain): its start time, compared across logins. */
static int uptime_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);
    if (from && strcasecmp(from, ch->domain) != 0)
        return 1; /* not the server's answer: keep waiting */
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(st, "query", NS_LAST);
    const char *secs = q ? xmpp_stanza_get_attribute(q, "seconds") : NULL;
    char *end = NULL;
    long long up = secs ? strtoll(secs, &end, 10) : -1;
    if (type && strcmp(type, "result") == 0 && end && end != secs && *end == '\0' && up >= 0) {
        /* From when the query left (monotonic), not when its answer is read: a reply read
         * late (the thread was busy) must not look like a later start. */
        ch->server_start = ch->uptime_sent_ms / 1000 - up;
        if (ch->server_start <= 0)
            ch->server_start = 1;
        ch->uptime_state = 1;
        pp_unconfirmed_server_start(ch->unconf, ch->conn_seq, ch->server_start);
        if (ch->uptime_logged != 1)
            pp_info("xmpp: %s tells its start time (up %lld s): a message cut by a crash of "
                    "the server is sent again",
                    ch->domain, up);
        ch->uptime_logged = 1;
        return 0;
    }
    if (ch->uptime_logged != -1) {
        char reason[256] = "no seconds in the answer";
        if (type && strcmp(type, "error") == 0)
            pp_xmpp_error_reason(ch->ctx, st, reason, sizeof reason);
        pp_warn("xmpp: %s does not tell its start time (XEP-0012 jabber:iq:last: %s; Prosody: "
                "enable mod_uptime): a message the server archived but had not stored for the "
                "recipient when it crashed is taken as delivered",
                ch->domain, reason);
    }
    ch->uptime_logged = -1;
    ch->uptime_state = -1;
    return 0;
}

/* <iq type='get' to='domain'><query xmlns='jabber:iq:last'/></iq> */
static void send_uptime(pp_channel_t *ch, xmpp_conn_t *conn)
{
    char id[32];
    snprintf(id, sizeof id, "pp-uptime-%lu", ch->conn_seq);
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "get", id);
    xmpp_stanza_t *q = xmpp_stanza_new(ch->ctx);
    if (iq && q && xmpp_stanza_set_to(iq, ch->domain) == XMPP_EOK) {
        xmpp_stanza_set_name(q, "query");
        xmpp_stanza_set_ns(q, NS_LAST);
        xmpp_stanza_add_child(iq, q);
        xmpp_id_handler_add(conn, uptime_cb, id, ch);
        ch->uptime_sent_ms = pp_mono_ms();
        xmpp_send(conn, iq);
    }
    if (q)
        xmpp_stanza_release(q);
    if (iq)
        xmpp_stanza_release(iq);
}

/* Reply to the archiving preferences set at login: tells whether the archive exists. */
static int prefs_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st);
    char reason[256] = "";
    xmpp_stanza_t *prefs = xmpp_stanza_get_child_by_name_and_ns(st, "prefs", NS_MAM);
    const char *def = prefs ? xmpp_stanza_get_attribute(prefs, "default") : NULL;
    if (type && strcmp(type, "error") == 0) {
        pp_xmpp_error_reason(ch->ctx, st, reason, sizeof reason);
        ch->archive_state = -1;
    } else if (!def || strcmp(def, "always") != 0) {
        snprintf(reason, sizeof reason, "archiving default is '%s', not 'always'",
                 def ? def : "(none)");
        ch->archive_state = -1;
    } else {
        ch->archive_state = 1;
    }
    if (ch->archive_state != ch->archive_logged) {
        if (ch->archive_state > 0)
            pp_info("xmpp: message archive (XEP-0313) on for %s: messages in flight at a crash "
                    "are looked up there before any re-send",
                    ch->jid);
        else
            pp_warn("xmpp: %s:%u keeps no usable message archive for %s (XEP-0313: %s); messages "
                    "in flight at a crash will be sent again (at least once)",
                    ch->host, ch->port, ch->jid, reason);
        ch->archive_logged = ch->archive_state;
    }
    return 0;
}

/* <iq type='set'><prefs xmlns='urn:xmpp:mam:2' default='always'/></iq> */
static void send_prefs(pp_channel_t *ch, xmpp_conn_t *conn)
{
    char id[32];
    snprintf(id, sizeof id, "mamprefs-%lu", ++ch->mam_seq);
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "set", id);
    xmpp_stanza_t *prefs = xmpp_stanza_new(ch->ctx);
    if (iq && prefs) {
        xmpp_stanza_set_name(prefs, "prefs");
        xmpp_stanza_set_ns(prefs, NS_MAM);
        xmpp_stanza_set_attribute(prefs, "default", "always");
        xmpp_stanza_add_child(iq, prefs);
        xmpp_id_handler_add(conn, prefs_cb, id, ch);
        xmpp_send(conn, iq);
    }
    if (prefs)
        xmpp_stanza_release(prefs);
    if (iq)
        xmpp_stanza_release(iq);
}

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error, xmpp_stream_error_t *se,
                    void *ud)
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
        ch->conn_seq++;
        /* The marker the old connection's last messages wait for was never sent there: its
         * number is skipped, so a marker of this connection cannot confirm them. */
        if (ch->since_mark) {
            ch->mark_seq++;
            ch->since_mark = 0;
        }
        ch->server_start = 0;
        ch->uptime_state = 0;
        xmpp_stanza_t *pres = xmpp_presence_new(ch->ctx);
        if (pres) {
            xmpp_send(conn, pres);
            xmpp_stanza_release(pres);
        }
        if (ch->archive) {
            send_prefs(ch, conn);
            send_uptime(ch, conn);
        }
        return;
    }
    if (ch->state == X_UP) {
        pp_warn("xmpp: connection to %s:%u lost (error %d%s%s)", ch->host, ch->port, error,
                se && se->text ? ": " : "", se && se->text ? se->text : "");
        /* A stream error is a deliberate goodbye (e.g. system-shutdown): the server handled
         * all it had read from this connection. An abrupt end (a crash) leaves them in doubt. */
        if (se)
            pp_unconfirmed_confirm_conn(ch->unconf, ch->conn_seq);
    } else if (ch->failures++ == 0)
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
    xmpp_conn_set_flags(ch->conn, ch->tls ? XMPP_CONN_FLAG_MANDATORY_TLS : XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(ch->conn, sockopt_cb);
    xmpp_conn_set_jid(ch->conn, ch->jid);
    xmpp_conn_set_pass(ch->conn, ch->pass);
    xmpp_handler_add(ch->conn, message_cb, NULL, "message", NULL, ch);
    xmpp_handler_add(ch->conn, marker_cb, NULL, "iq", NULL, ch);
    ch->state = X_CONNECTING;
    if (xmpp_connect_client(ch->conn, ch->host, ch->port, conn_cb, ch) != XMPP_EOK) {
        if (ch->failures++ == 0)
            pp_warn("xmpp: cannot start a connection to %s:%u; retrying with back-off", ch->host,
                    ch->port);
        ch->state = X_DOWN;
        schedule_reconnect(ch);
    }
}

static void x_poll(pp_channel_t *ch, int timeout_ms)
{
    if (ch->state == X_DOWN) {
        if (ch->conn && (xmpp_conn_is_disconnected(ch->conn) || pp_mono_ms() >= ch->next_connect_ms)) {
            xmpp_conn_release(ch->conn);
            ch->conn = NULL;
        }
        if (!ch->conn && pp_mono_ms() >= ch->next_connect_ms)
            start_connect(ch);
    }
    xmpp_run_once(ch->ctx, (unsigned long)(timeout_ms < 0 ? 0 : timeout_ms));
}

static bool x_is_up(pp_channel_t *ch) { return ch->state == X_UP; }

/*
 * Message id went out: remember it under the marker that will follow it (mark_seq + 1), and
 * send that marker after every MARK_EVERY-th message; the batch's barrier confirms the rest.
 * Why not after each: every marker is a stanza the server handles (~8 % of Prosody's CPU per
 * message, pp-xmpp-flood -M 1 against none), and it decides nothing a crash leaves open: of
 * the unconfirmed messages the archive lists, the newest is the one in doubt whether the
 * older ones were confirmed or not (unconfirmed.h). Markers keep a long batch's records few.
 */
static int sent_one(pp_channel_t *ch, const char *id)
{
    pp_unconfirmed_sent(ch->unconf, id, ch->mark_seq + 1, ch->conn_seq, ch->server_start);
    if (++ch->since_mark < MARK_EVERY)
        return PP_OK;
    char mid[32];
    snprintf(mid, sizeof mid, MARK_PREFIX "%lu", ch->mark_seq + 1);
    xmpp_stanza_t *iq = pp_xmpp_ping_iq(ch->ctx, mid);
    if (!iq)
        return PP_ENOMEM;
    ch->mark_seq++;
    ch->since_mark = 0;
    xmpp_send(ch->conn, iq);
    xmpp_stanza_release(iq);
    return PP_OK;
}

/*
 * The stanza's to, id and body are cleaned here once more (valid UTF-8, no control
 * characters: one raw control byte makes the server close the stream as invalid XML);
 * libstrophe escapes &, <, >, quotes. The callers pass clean text already.
 */
static int x_send(pp_channel_t *ch, const char *id_in, const char *to_in, const char *body_in)
{
    char id[128], to[512];
    if (ch->state != X_UP)
        return PP_EAGAIN;
    size_t blen = strlen(body_in);
    char *body = malloc(3 * blen + 1); /* U+FFFD is 3 bytes for each bad byte */
    if (!body)
        return PP_ENOMEM;
    pp_text_clean(body, 3 * blen + 1, body_in, blen);
    pp_text_clean_str(id, sizeof id, id_in);
    pp_text_clean_str(to, sizeof to, to_in);
    xmpp_stanza_t *msg = xmpp_message_new(ch->ctx, "chat", to, id);
    if (!msg) {
        free(body);
        return PP_ENOMEM;
    }
    int rc = xmpp_message_set_body(msg, body) == XMPP_EOK ? PP_OK : PP_ENOMEM;
    free(body);
    /* XEP-0359: the id survives in the archive and in clients that rewrite the attribute. */
    xmpp_stanza_t *oid = rc == PP_OK ? xmpp_stanza_new(ch->ctx) : NULL;
    if (rc == PP_OK && (!oid || xmpp_stanza_set_name(oid, "origin-id") != XMPP_EOK ||
                        xmpp_stanza_set_ns(oid, NS_SID) != XMPP_EOK ||
                        xmpp_stanza_set_attribute(oid, "id", id) != XMPP_EOK ||
                        xmpp_stanza_add_child(msg, oid) != XMPP_EOK))
        rc = PP_ENOMEM;
    if (oid)
        xmpp_stanza_release(oid);
    if (rc == PP_OK)
        xmpp_send(ch->conn, msg);
    xmpp_stanza_release(msg);
    if (rc == PP_OK && ch->archive)
        rc = sent_one(ch, id);
    return rc;
}

/* The stream is unusable (no reply in time): drop it so a late reply cannot confuse us. */
static void drop(pp_channel_t *ch)
{
    xmpp_disconnect(ch->conn);
    ch->dropped = 1;
    ch->state = X_DOWN;
    schedule_reconnect(ch);
}

static int x_flush(pp_channel_t *ch, int timeout_ms)
{
    if (ch->state != X_UP)
        return PP_EAGAIN;
    snprintf(ch->flush_id, sizeof ch->flush_id, "flush-%lu", ++ch->flush_seq);
    ch->flush_done = 0;
    xmpp_stanza_t *iq = pp_xmpp_ping_iq(ch->ctx, ch->flush_id);
    if (!iq)
        return PP_ENOMEM;
    xmpp_id_handler_add(ch->conn, flush_cb, ch->flush_id, ch);
    xmpp_send(ch->conn, iq);
    xmpp_stanza_release(iq);
    int64_t deadline = pp_mono_ms() + timeout_ms;
    while (!ch->flush_done && ch->state == X_UP && pp_mono_ms() < deadline)
        xmpp_run_once(ch->ctx, 5);
    if (ch->flush_done) {
        pp_unconfirmed_clear(ch->unconf);
        return PP_OK;
    }
    if (ch->state != X_UP)
        return PP_EAGAIN;
    pp_warn("xmpp: no reply to barrier %s within %d ms; reconnecting", ch->flush_id, timeout_ms);
    xmpp_id_handler_delete(ch->conn, flush_cb, ch->flush_id);
    drop(ch);
    return PP_ETIMEOUT;
}

/* Write what send() queued, so the server works on it while the caller does other things. */
static int x_push(pp_channel_t *ch, int timeout_ms)
{
    int64_t deadline = pp_mono_ms() + timeout_ms;
    while (ch->state == X_UP && xmpp_conn_send_queue_len(ch->conn) > 0 && pp_mono_ms() < deadline)
        xmpp_run_once(ch->ctx, 1);
    return ch->state == X_UP ? PP_OK : PP_EAGAIN;
}

static int x_was_sent(pp_channel_t *ch, const char *to, long long since, pp_channel_lookup_t *q,
                      size_t n, int timeout_ms)
{
    int rc = pp_xmpp_was_sent(ch, to, since, q, n, timeout_ms);
    if (rc == PP_ETIMEOUT)
        drop(ch);
    return rc;
}

static int x_in_doubt(pp_channel_t *ch, pp_channel_lookup_t *q, size_t n, int timeout_ms)
{
    int rc = pp_xmpp_in_doubt(ch, q, n, timeout_ms);
    if (rc == PP_ETIMEOUT)
        drop(ch);
    return rc;
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
    free(ch->domain);
    pp_unconfirmed_free(ch->unconf);
    free(ch);
}

static int x_open(pp_channel_t **out, const pp_config_t *cfg, pp_channel_bounce_cb bounce, void *arg)
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
    ch->unconf = pp_unconfirmed_new(UNCONFIRMED_MAX);
    if (!ch->ctx || !ch->host || !ch->jid || !ch->pass || !ch->unconf)
        goto fail;
    const char *at = strchr(ch->jid, '@') ? strchr(ch->jid, '@') + 1 : ch->jid;
    if (!(ch->domain = strndup(at, strcspn(at, "/"))))
        goto fail;
    ch->port = (unsigned short)cfg->xmpp_port;
    ch->tls = cfg->xmpp_tls;
    ch->retry_max_ms = cfg->send_retry_max_ms;
    ch->bounce = bounce;
    ch->bounce_arg = arg;
    ch->archive = cfg->notifier_archive_check;
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
    .im_channel = "xmpp",
    .open = x_open,
    .poll = x_poll,
    .is_up = x_is_up,
    .send = x_send,
    .flush = x_flush,
    .push = x_push,
    .was_sent = x_was_sent,
    .in_doubt = x_in_doubt,
    .close = x_close,
};
