/*
 * xmpp.c - the XMPP IM channel on libstrophe: one long-lived bot connection, reconnect with
 * back-off, messages queued by send() and confirmed by an iq ping barrier in flush(), and
 * was_sent() answered from the bot's own XEP-0313 message archive (MAM), and in_doubt()
 * from per-message markers and the server's start time (unconfirmed.h).
 *
 * Why the archive can answer: the server (Prosody's mod_mam) archives a local user's
 * outgoing chat message in that user's archive while routing it, in stream order, and a
 * bounce (<message type='error'>) coming back to the bot's full JID as well. So after a
 * crash the bot's archive lists exactly the messages the server got. Each message carries
 * its stable id twice: the id attribute and an XEP-0359 <origin-id> (the server adds its
 * own <stanza-id>, which we ignore). At each login we set the bot's archiving preference
 * to 'always', so the answer does not depend on a client having changed it.
 *
 * What the archive cannot answer: the server archives the bot's copy before it stores the
 * recipient's, so a server killed in between leaves a message "routed" that nobody got.
 * With the archive check on, every message is followed by a marker iq (a ping, answered in
 * stream order) and each login asks the server's uptime (XEP-0012 jabber:iq:last on the
 * domain; Prosody: mod_uptime); unconfirmed.h says how the two find such a message.
 */
#include "channel.h"
#include "err.h"
#include "log.h"
#include "text.h"
#include "timeutil.h"
#include "unconfirmed.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <strophe.h>
#include <sys/socket.h>

#define XMPP_BACKOFF_MIN_MS 200
#define MAM_PAGE 250 /* results asked per page; the server may cap it (Prosody: 50) */
#define UNCONFIRMED_MAX 4096 /* sent messages remembered until the server confirms them */
#define MARK_PREFIX "pp-mk-"

#define NS_MAM "urn:xmpp:mam:2"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_DELAY "urn:xmpp:delay"
#define NS_SID "urn:xmpp:sid:0"
#define NS_DATA "jabber:x:data"
#define NS_LAST "jabber:iq:last"

typedef enum { X_DOWN = 0, X_CONNECTING, X_UP } xstate_t;

struct pp_channel {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    xmpp_log_t logger;
    char *host, *jid, *pass;
    char *domain; /* the part of jid after '@', without a resource */
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
    bool archive;      /* notifier_archive_check: set prefs at login, answer was_sent */
    int archive_state; /* -1 the server refused the archive prefs, 0 unknown, 1 accepted */
    int archive_logged; /* archive_state last logged (log on change only) */
    unsigned long mam_seq;
    unsigned long conn_seq;     /* connections made so far: the current one's number */
    unsigned long mark_seq;     /* markers sent (MARK_PREFIX<n>), rising across connections */
    long long server_start;     /* the server's start (monotonic s) on this connection, 0 unknown */
    int64_t uptime_sent_ms;     /* monotonic time the uptime query of this connection left */
    int uptime_state;           /* this connection: 0 no answer yet, 1 start known, -1 cannot tell */
    int uptime_logged;          /* -1 "cannot tell its start time" logged, 1 known; log on change */
    pp_unconfirmed_t *unconf;   /* sent, not yet confirmed by a marker or a barrier */
    struct {           /* the archive query in progress (was_sent) */
        char qid[32];
        int done;      /* 0 waiting, 1 <fin> came, -1 error reply */
        bool complete; /* <fin complete='true'>: no later page */
        char first[128]; /* RSM <first> of this page (the oldest): the next page ends there */
        char err[256];
        const char *to;
        pp_channel_lookup_t *q; /* sorted by id */
        size_t n, results, found;
    } mam;
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

/* "condition: text" of a stanza's <error/> ("unknown error" without one). */
static void error_reason(pp_channel_t *ch, xmpp_stanza_t *st, char *reason, size_t len)
{
    snprintf(reason, len, "unknown error");
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    if (!err)
        return;
    const char *cond = NULL;
    char *text = NULL;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(err); c; c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (!name)
            continue;
        if (strcmp(name, "text") == 0) {
            if (!text)
                text = xmpp_stanza_get_text(c);
        } else if (!cond) {
            cond = name;
        }
    }
    snprintf(reason, len, "%s%s%s", cond ? cond : "error", text ? ": " : "", text ? text : "");
    if (text)
        xmpp_free(ch->ctx, text);
}

/* Same bare JID (the part before '/'), ignoring case (both come prepped from the server). */
static bool same_bare(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
    return la == lb && strncasecmp(a, b, la) == 0;
}

static int lookup_cmp(const void *a, const void *b)
{
    return strcmp(((const pp_channel_lookup_t *)a)->id, ((const pp_channel_lookup_t *)b)->id);
}

/* One archived message of the query in progress: match it against the wanted ids. */
static void mam_result(pp_channel_t *ch, xmpp_stanza_t *result)
{
    xmpp_stanza_t *fwd = xmpp_stanza_get_child_by_name_and_ns(result, "forwarded", NS_FORWARD);
    xmpp_stanza_t *m = fwd ? xmpp_stanza_get_child_by_name(fwd, "message") : NULL;
    if (!m)
        return;
    ch->mam.results++;
    const char *type = xmpp_stanza_get_type(m), *from = xmpp_stanza_get_from(m);
    bool bounce = type && strcmp(type, "error") == 0;
    xmpp_stanza_t *oid = xmpp_stanza_get_child_by_name_and_ns(m, "origin-id", NS_SID);
    const char *key = oid ? xmpp_stanza_get_attribute(oid, "id") : NULL;
    if (!key)
        key = xmpp_stanza_get_id(m); /* bounces carry only the id attribute */
    if (!key)
        return;
    pp_channel_lookup_t want = {.id = key};
    pp_channel_lookup_t *hit = bsearch(&want, ch->mam.q, ch->mam.n, sizeof want, lookup_cmp);
    if (!hit)
        return;
    /* Ours going out, or the buyer's server refusing ours; anything else (e.g. a buyer
     * writing to the bot with a forged id) proves nothing. */
    if (bounce ? !same_bare(from, ch->mam.to ? ch->mam.to : hit->to) : !same_bare(from, ch->jid))
        return;
    xmpp_stanza_t *delay = xmpp_stanza_get_child_by_name_and_ns(fwd, "delay", NS_DELAY);
    const char *stamp = delay ? xmpp_stanza_get_attribute(delay, "stamp") : NULL;
    time_t when = 0;
    if (!stamp || pp_time_parse_iso(stamp, &when, NULL) != 0)
        when = (time_t)(pp_now_ms() / 1000);
    if (hit->fate == PP_CHANNEL_UNSEEN)
        ch->mam.found++;
    if (bounce) {
        hit->fate = PP_CHANNEL_BOUNCED; /* a bounce outranks the routing before it */
        hit->when = (long long)when;
        error_reason(ch, m, hit->reason, sizeof hit->reason);
    } else if (hit->fate == PP_CHANNEL_UNSEEN) {
        hit->fate = PP_CHANNEL_ROUTED;
        hit->when = (long long)when;
    }
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
            (!from || same_bare(from, ch->jid)))
            mam_result(ch, result);
        return 1;
    }
    if (!type || strcmp(type, "error") != 0)
        return 1; /* ordinary incoming chat: not handled here (yet) */
    char reason[256];
    error_reason(ch, st, reason, sizeof reason);
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
    if (from && !same_bare(from, ch->jid) && strcasecmp(from, ch->domain) != 0)
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
                    "the server is sent again", ch->domain, up);
        ch->uptime_logged = 1;
        return 0;
    }
    if (ch->uptime_logged != -1) {
        char reason[256] = "no seconds in the answer";
        if (type && strcmp(type, "error") == 0)
            error_reason(ch, st, reason, sizeof reason);
        pp_warn("xmpp: %s does not tell its start time (XEP-0012 jabber:iq:last: %s; Prosody: "
                "enable mod_uptime): a message the server archived but had not stored for the "
                "recipient when it crashed is taken as delivered", ch->domain, reason);
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
        error_reason(ch, st, reason, sizeof reason);
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
                    "are looked up there before any re-send", ch->jid);
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
        ch->conn_seq++;
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
    xmpp_conn_set_flags(ch->conn, ch->tls ? XMPP_CONN_FLAG_MANDATORY_TLS
                                          : XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(ch->conn, sockopt_cb);
    xmpp_conn_set_jid(ch->conn, ch->jid);
    xmpp_conn_set_pass(ch->conn, ch->pass);
    xmpp_handler_add(ch->conn, message_cb, NULL, "message", NULL, ch);
    xmpp_handler_add(ch->conn, marker_cb, NULL, "iq", NULL, ch);
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

/* <iq type='get' id='pp-mk-N'><ping/></iq> after message id: its reply confirms it. */
/* <iq type='get' id=id><ping xmlns='urn:xmpp:ping'/></iq>, or NULL without memory. The
 * server answers it after everything sent before it: the barrier and the markers. */
static xmpp_stanza_t *ping_iq(pp_channel_t *ch, const char *id)
{
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "get", id);
    xmpp_stanza_t *ping = iq ? xmpp_stanza_new(ch->ctx) : NULL;
    bool ok = ping && xmpp_stanza_set_name(ping, "ping") == XMPP_EOK &&
              xmpp_stanza_set_ns(ping, "urn:xmpp:ping") == XMPP_EOK &&
              xmpp_stanza_add_child(iq, ping) == XMPP_EOK;
    if (ping)
        xmpp_stanza_release(ping);
    if (!ok && iq) {
        xmpp_stanza_release(iq);
        iq = NULL;
    }
    return iq;
}

static int send_marker(pp_channel_t *ch, const char *id)
{
    char mid[32];
    unsigned long mark = ++ch->mark_seq;
    snprintf(mid, sizeof mid, MARK_PREFIX "%lu", mark);
    xmpp_stanza_t *iq = ping_iq(ch, mid);
    if (!iq)
        return PP_ENOMEM;
    pp_unconfirmed_sent(ch->unconf, id, mark, ch->conn_seq, ch->server_start);
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
        rc = send_marker(ch, id);
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
    xmpp_stanza_t *iq = ping_iq(ch, ch->flush_id);
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

/* ------------------------------------------------------------------ archive (XEP-0313) */

/* New child element of parent (borrowed: parent holds it), NULL on allocation failure. */
static xmpp_stanza_t *add_elem(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
                               const char *ns)
{
    xmpp_stanza_t *e = xmpp_stanza_new(ctx);
    if (!e)
        return NULL;
    if (xmpp_stanza_set_name(e, name) != XMPP_EOK || (ns && xmpp_stanza_set_ns(e, ns)) ||
        xmpp_stanza_add_child(parent, e) != XMPP_EOK) {
        xmpp_stanza_release(e);
        return NULL;
    }
    xmpp_stanza_release(e);
    return e;
}

/* <name>text</name> under parent. */
static int add_text_elem(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
                         const char *text)
{
    xmpp_stanza_t *e = add_elem(ctx, parent, name, NULL);
    xmpp_stanza_t *t = e ? xmpp_stanza_new(ctx) : NULL;
    if (!t)
        return PP_ENOMEM;
    int rc = xmpp_stanza_set_text(t, text) == XMPP_EOK && xmpp_stanza_add_child(e, t) == XMPP_EOK
                 ? PP_OK
                 : PP_ENOMEM;
    xmpp_stanza_release(t);
    return rc;
}

/* <field var=var [type=hidden]><value>v</value></field> under the form. */
static int add_field(xmpp_ctx_t *ctx, xmpp_stanza_t *form, const char *var, const char *v,
                     bool hidden)
{
    xmpp_stanza_t *f = add_elem(ctx, form, "field", NULL);
    if (!f || xmpp_stanza_set_attribute(f, "var", var) != XMPP_EOK ||
        (hidden && xmpp_stanza_set_attribute(f, "type", "hidden") != XMPP_EOK))
        return PP_ENOMEM;
    return add_text_elem(ctx, f, "value", v);
}

/* <fin/> (or an error) for the page in progress. */
static int mam_fin_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    pp_channel_t *ch = ud;
    const char *type = xmpp_stanza_get_type(st);
    if (type && strcmp(type, "error") == 0) {
        error_reason(ch, st, ch->mam.err, sizeof ch->mam.err);
        ch->mam.done = -1;
        return 0;
    }
    xmpp_stanza_t *fin = xmpp_stanza_get_child_by_name_and_ns(st, "fin", NS_MAM);
    const char *complete = fin ? xmpp_stanza_get_attribute(fin, "complete") : NULL;
    xmpp_stanza_t *set = fin ? xmpp_stanza_get_child_by_name_and_ns(fin, "set", NS_RSM) : NULL;
    xmpp_stanza_t *first = set ? xmpp_stanza_get_child_by_name(set, "first") : NULL;
    char *text = first ? xmpp_stanza_get_text(first) : NULL;
    ch->mam.complete = complete && strcmp(complete, "true") == 0;
    snprintf(ch->mam.first, sizeof ch->mam.first, "%s", text ? text : "");
    if (text)
        xmpp_free(ch->ctx, text);
    ch->mam.done = 1;
    return 0;
}

/*
 * Send one page query: with = to, start = start, newest first (RSM <before/>: the last page,
 * then <before>first-of-previous</before>), as what was in flight is the newest.
 */
static int mam_query(pp_channel_t *ch, const char *start, const char *before, size_t page)
{
    int rc = PP_ENOMEM;
    char max[24];
    snprintf(ch->mam.qid, sizeof ch->mam.qid, "mam-%lu", ++ch->mam_seq);
    snprintf(max, sizeof max, "%zu", page);
    xmpp_stanza_t *iq = xmpp_iq_new(ch->ctx, "set", ch->mam.qid);
    if (!iq)
        return PP_ENOMEM;
    xmpp_stanza_t *q = add_elem(ch->ctx, iq, "query", NS_MAM);
    xmpp_stanza_t *x = q ? add_elem(ch->ctx, q, "x", NS_DATA) : NULL;
    xmpp_stanza_t *set = x ? add_elem(ch->ctx, q, "set", NS_RSM) : NULL;
    if (!set || xmpp_stanza_set_attribute(q, "queryid", ch->mam.qid) != XMPP_EOK ||
        xmpp_stanza_set_attribute(x, "type", "submit") != XMPP_EOK ||
        add_field(ch->ctx, x, "FORM_TYPE", NS_MAM, true) ||
        (ch->mam.to && add_field(ch->ctx, x, "with", ch->mam.to, false)) ||
        add_field(ch->ctx, x, "start", start, false) || add_text_elem(ch->ctx, set, "max", max) ||
        (before[0] ? add_text_elem(ch->ctx, set, "before", before)
                   : !add_elem(ch->ctx, set, "before", NULL)))
        goto out;
    ch->mam.done = 0;
    ch->mam.complete = false;
    ch->mam.first[0] = ch->mam.err[0] = '\0';
    xmpp_id_handler_add(ch->conn, mam_fin_cb, ch->mam.qid, ch);
    xmpp_send(ch->conn, iq);
    rc = PP_OK;
out:
    xmpp_stanza_release(iq);
    return rc;
}

static int x_was_sent(pp_channel_t *ch, const char *to, long long since, pp_channel_lookup_t *q,
                      size_t n, int timeout_ms)
{
    char start[PP_TIME_ISO_LEN], before[sizeof ch->mam.first] = "";
    int rc = PP_OK;
    if (!ch->archive || ch->archive_state < 0)
        return PP_EXMPP;
    if (ch->state != X_UP)
        return PP_EAGAIN;
    for (size_t i = 0; i < n; i++) {
        q[i].fate = PP_CHANNEL_UNSEEN;
        q[i].when = 0;
        q[i].reason[0] = '\0';
    }
    if (n == 0)
        return PP_OK;
    qsort(q, n, sizeof *q, lookup_cmp);
    pp_time_format((time_t)(since > 0 ? since : 0), start);
    ch->mam.to = to;
    ch->mam.q = q;
    ch->mam.n = n;
    ch->mam.results = ch->mam.found = 0;
    int64_t t0 = pp_mono_ms(), deadline = t0 + timeout_ms;
    size_t pages = 0;
    for (;;) {
        /* After a crash the wanted messages are the buyer's newest: a first page just big
         * enough for them (and a few bounces) usually settles it. */
        size_t page = pages == 0 && n + 16 < MAM_PAGE ? n + 16 : MAM_PAGE;
        if ((rc = mam_query(ch, start, before, page)))
            break;
        pages++;
        while (!ch->mam.done && ch->state == X_UP && pp_mono_ms() < deadline)
            xmpp_run_once(ch->ctx, 5);
        if (ch->mam.done < 0) {
            /* No archive on this server (or not for us): the caller falls back. */
            bool absent = strncmp(ch->mam.err, "service-unavailable", 19) == 0 ||
                          strncmp(ch->mam.err, "feature-not-implemented", 23) == 0 ||
                          strncmp(ch->mam.err, "forbidden", 9) == 0;
            if (!absent)
                pp_warn("xmpp: archive query about %s since %s refused: %s", to ? to : "any address",
                        start, ch->mam.err);
            rc = absent ? PP_EXMPP : PP_EAGAIN;
            break;
        }
        if (!ch->mam.done) {
            rc = PP_EAGAIN;
            if (ch->state == X_UP) {
                pp_warn("xmpp: no answer to archive query %s within %d ms; reconnecting",
                        ch->mam.qid, timeout_ms);
                xmpp_id_handler_delete(ch->conn, mam_fin_cb, ch->mam.qid);
                drop(ch);
                rc = PP_ETIMEOUT;
            }
            break;
        }
        if (ch->mam.complete || ch->mam.found == n)
            break; /* the whole range was read, or every id was found */
        if (!ch->mam.first[0] || strcmp(ch->mam.first, before) == 0) {
            pp_warn("xmpp: archive query %s about %s: incomplete page without a way on (RSM "
                    "first '%s')", ch->mam.qid, to ? to : "any address", ch->mam.first);
            rc = PP_EAGAIN;
            break;
        }
        snprintf(before, sizeof before, "%s", ch->mam.first);
    }
    pp_info("xmpp: archive lookup of %zu id(s) sent to %s since %s: %zu page(s), %zu archived "
            "message(s) read, %lld ms (%s)",
            n, to ? to : "any address", start, pages, ch->mam.results,
            (long long)(pp_mono_ms() - t0), pp_strerror(rc));
    ch->mam.qid[0] = '\0';
    ch->mam.q = NULL;
    ch->mam.to = NULL;
    ch->mam.n = 0;
    return rc;
}

/* routed() for pp_unconfirmed_in_doubt: is id listed ROUTED in the lookups? */
typedef struct lookups {
    const pp_channel_lookup_t *q;
    size_t n;
} lookups_t;

static bool lookup_routed(void *arg, const char *id)
{
    const lookups_t *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (l->q[i].fate == PP_CHANNEL_ROUTED && strcmp(l->q[i].id, id) == 0)
            return true;
    return false;
}

static int x_in_doubt(pp_channel_t *ch, pp_channel_lookup_t *q, size_t n)
{
    const char *ids[64];
    lookups_t l = {q, n};
    if (ch->state != X_UP)
        return PP_EAGAIN;
    /* The start time of this connection's server is what everything is compared with: wait
     * for its answer (sent at login; the archive query was answered after it, so usually
     * it is here already). */
    int64_t deadline = pp_mono_ms() + 5000;
    while (ch->uptime_state == 0 && ch->state == X_UP && pp_mono_ms() < deadline)
        xmpp_run_once(ch->ctx, 5);
    if (ch->state != X_UP || ch->uptime_state == 0)
        return PP_EAGAIN;
    size_t k = pp_unconfirmed_in_doubt(ch->unconf, ch->conn_seq, ch->server_start, lookup_routed,
                                       &l, ids, sizeof ids / sizeof ids[0]);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++)
            if (q[i].fate == PP_CHANNEL_ROUTED && strcmp(q[i].id, ids[j]) == 0)
                q[i].fate = PP_CHANNEL_IN_DOUBT;
    return (int)k;
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
    .open = x_open,
    .poll = x_poll,
    .is_up = x_is_up,
    .send = x_send,
    .flush = x_flush,
    .was_sent = x_was_sent,
    .in_doubt = x_in_doubt,
    .close = x_close,
};
