/*
 * pp-xmpp-flood.c - the IM server's ceiling for tools/bench/fleet-bench: one XMPP connection
 * logs in and sends M chat messages round-robin to the JIDs read from stdin (one a line), in
 * windows of W messages each closed by a ping (urn:xmpp:ping) to the server: the next window
 * starts when the server answered the ping, so every message of the window was taken (stored
 * or delivered) before it. W = 0: one ping after the last message. Prints one JSON line:
 * {"sent":M,"ms":...,"msg_per_s":...}; exit 0 when every window was acknowledged.
 *
 * To take the IM server's cost apart (docs/benchmarks.md, the latency at 1,000 changes/s):
 * -o shapes each message as pp-notifier does (an id and an XEP-0359 origin-id), -M N follows
 * every Nth message with a marker (an iq ping to the account itself, not waited for; the
 * notifier's crash bookkeeping, notifier/channels/unconfirmed.h). Default: neither.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct flood {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    int up, failed, pong, closing;
} flood_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error, xmpp_stream_error_t *se,
                    void *ud)
{
    flood_t *f = ud;
    if (ev != XMPP_CONN_CONNECT) {
        if (f->closing)
            return;
        fprintf(stderr, "pp-xmpp-flood: %s (error %d)\n", f->up ? "disconnected" : "cannot log in",
                error);
        f->failed = 1;
        return;
    }
    f->up = 1;
    xmpp_stanza_t *pres = xmpp_presence_new(f->ctx);
    xmpp_send(conn, pres);
    xmpp_stanza_release(pres);
}

/* As pp-notifier (notifier/channels/xmpp.c): without TCP_NODELAY the tail of each window
 * waits for the server's delayed ACK (~40 ms) and the client, not the server, sets the rate. */
static int sockopt_cb(xmpp_conn_t *conn, void *sock)
{
    int fd = *(int *)sock, one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int pong_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    flood_t *f = ud;
    f->pong = 1;
    return 0;
}

/* Ping the server and wait (up to timeout_ms) for its answer. */
static int ping_wait(flood_t *f, const char *domain, long n, double timeout_ms)
{
    char id[32];
    snprintf(id, sizeof id, "flood-ping-%ld", n);
    xmpp_stanza_t *iq = xmpp_iq_new(f->ctx, "get", id);
    xmpp_stanza_set_to(iq, domain);
    xmpp_stanza_t *ping = xmpp_stanza_new(f->ctx);
    xmpp_stanza_set_name(ping, "ping");
    xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
    xmpp_stanza_add_child(iq, ping);
    xmpp_stanza_release(ping);
    f->pong = 0;
    xmpp_id_handler_add(f->conn, pong_cb, id, f);
    xmpp_send(f->conn, iq);
    xmpp_stanza_release(iq);
    double end = now_ms() + timeout_ms;
    while (!f->pong && !f->failed && now_ms() < end)
        xmpp_run_once(f->ctx, 1);
    return f->pong ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *jid = NULL, *pass = NULL;
    long port = 5222, m = 1000, w = 200, marker_every = 0;
    int opt, origin_id = 0;
    while ((opt = getopt(argc, argv, "H:p:j:w:n:W:M:oh")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = strtol(optarg, NULL, 10); break;
        case 'j': jid = optarg; break;
        case 'w': pass = optarg; break;
        case 'n': m = strtol(optarg, NULL, 10); break;
        case 'W': w = strtol(optarg, NULL, 10); break;
        case 'M': marker_every = strtol(optarg, NULL, 10); break;
        case 'o': origin_id = 1; break;
        default:
            fprintf(stderr, "usage: pp-xmpp-flood -j JID -w PASSWORD [-H HOST] [-p PORT] [-n MESSAGES] "
                            "[-W WINDOW] [-M MARKER_EVERY] [-o] < JIDS\n");
            return 2;
        }
    }
    if (!jid || !pass || port <= 0 || port > 65535 || m <= 0 || w < 0 || marker_every < 0)
        return 2;
    char **to = NULL, *line = NULL;
    size_t cap = 0, k = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0])
            continue;
        to = realloc(to, (k + 1) * sizeof *to);
        if (!to)
            return 1;
        to[k++] = strdup(line);
    }
    free(line);
    if (!k) {
        fprintf(stderr, "pp-xmpp-flood: no JIDs on stdin\n");
        return 2;
    }
    const char *domain = strchr(jid, '@') ? strchr(jid, '@') + 1 : jid;
    flood_t f = {0};
    xmpp_initialize();
    f.ctx = xmpp_ctx_new(NULL, NULL);
    f.conn = xmpp_conn_new(f.ctx);
    xmpp_conn_set_flags(f.conn, XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(f.conn, sockopt_cb);
    xmpp_conn_set_jid(f.conn, jid);
    xmpp_conn_set_pass(f.conn, pass);
    if (xmpp_connect_client(f.conn, host, (unsigned short)port, conn_cb, &f) != XMPP_EOK) {
        fprintf(stderr, "pp-xmpp-flood: cannot connect to %s:%ld\n", host, port);
        return 1;
    }
    for (double end = now_ms() + 60000; !f.up && !f.failed && now_ms() < end;)
        xmpp_run_once(f.ctx, 5);
    if (!f.up || ping_wait(&f, domain, 0, 60000) != 0) {
        fprintf(stderr, "pp-xmpp-flood: not logged in\n");
        return 1;
    }
    char body[256];
    double t0 = now_ms();
    long sent = 0;
    while (sent < m && !f.failed) {
        long upto = w > 0 && sent + w < m ? sent + w : m;
        for (; sent < upto; sent++) {
            snprintf(body, sizeof body,
                     "Przesyłka 6%023ld: w drodze (sortownia SOR). Flood %ld: the same length as a "
                     "parcelpush status message.",
                     sent, sent);
            char id[64];
            snprintf(id, sizeof id, "flood-%ld:%ld", t0 > 0 ? (long)t0 : 0L, sent);
            xmpp_stanza_t *msg =
                xmpp_message_new(f.ctx, "chat", to[sent % (long)k], origin_id ? id : NULL);
            xmpp_message_set_body(msg, body);
            if (origin_id) {
                xmpp_stanza_t *oid = xmpp_stanza_new(f.ctx);
                xmpp_stanza_set_name(oid, "origin-id");
                xmpp_stanza_set_ns(oid, "urn:xmpp:sid:0");
                xmpp_stanza_set_attribute(oid, "id", id);
                xmpp_stanza_add_child(msg, oid);
                xmpp_stanza_release(oid);
            }
            xmpp_send(f.conn, msg);
            xmpp_stanza_release(msg);
            if (marker_every > 0 && (sent + 1) % marker_every == 0) {
                snprintf(id, sizeof id, "flood-mk-%ld", sent);
                xmpp_stanza_t *iq = xmpp_iq_new(f.ctx, "get", id);
                xmpp_stanza_t *ping = xmpp_stanza_new(f.ctx);
                xmpp_stanza_set_name(ping, "ping");
                xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
                xmpp_stanza_add_child(iq, ping);
                xmpp_stanza_release(ping);
                xmpp_send(f.conn, iq);
                xmpp_stanza_release(iq);
            }
        }
        if (ping_wait(&f, domain, sent, 120000) != 0) {
            fprintf(stderr, "pp-xmpp-flood: no answer to the ping after %ld messages\n", sent);
            f.failed = 1;
        }
    }
    double ms = now_ms() - t0;
    printf("{\"sent\":%ld,\"ms\":%.0f,\"msg_per_s\":%.1f}\n", sent, ms,
           ms > 0 ? sent / (ms / 1000) : 0);
    f.closing = 1;
    xmpp_disconnect(f.conn);
    for (double end = now_ms() + 1000; !xmpp_conn_is_disconnected(f.conn) && now_ms() < end;)
        xmpp_run_once(f.ctx, 5);
    xmpp_conn_release(f.conn);
    xmpp_ctx_free(f.ctx);
    xmpp_shutdown();
    for (size_t i = 0; i < k; i++)
        free(to[i]);
    free(to);
    return f.failed ? 1 : 0;
}
