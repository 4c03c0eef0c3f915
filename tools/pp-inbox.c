/*
 * pp-inbox.c - reads buyers' XMPP inboxes: logs in to each `jid password` line from stdin
 * (several at once), collects the messages the server pushes (offline store first), and
 * prints one JSON line per message with a body. Note: fetching empties the offline queue.
 *
 *   pp-inbox [-H host] [-p port] [-j parallel] [-t timeout_ms] [-l linger_ms] < accounts
 *   {"jid":"u1@parcelpush.test","from":"bot@parcelpush.test/x","id":"<event>:<user>",
 *    "body":"Paczka ...","stamp":"2026-11-28T19:29:35Z","delayed":true}
 * Exit 0 if every account logged in and reached the barrier, 1 otherwise, 2 on usage.
 */
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { A_WAITING = 0, A_ACTIVE, A_OK, A_FAILED };

typedef struct acct {
    char *jid, *pass;
    xmpp_conn_t *conn;
    int state;
    int barrier; /* ping result came back: every stored message was pushed before it */
    int disconnecting;
    int64_t deadline, linger_until;
    long messages;
    char err[160];
} acct_t;

static xmpp_ctx_t *ctx;
static long total_messages;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void now_iso(char out[64])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
}

static int sockopt_cb(xmpp_conn_t *conn, void *sock)
{
    int one = 1;
    return setsockopt(*(int *)sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int message_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    acct_t *a = ud;
    const char *type = xmpp_stanza_get_type(st);
    if (type && strcmp(type, "error") == 0)
        return 1;
    char *body = xmpp_message_get_body(st);
    if (!body)
        return 1;
    char stamp[64];
    const char *from = xmpp_stanza_get_from(st), *id = xmpp_stanza_get_id(st);
    xmpp_stanza_t *delay = xmpp_stanza_get_child_by_ns(st, "urn:xmpp:delay");
    const char *dstamp = delay ? xmpp_stanza_get_attribute(delay, "stamp") : NULL;
    if (dstamp)
        snprintf(stamp, sizeof stamp, "%s", dstamp);
    else
        now_iso(stamp);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jid", a->jid);
    cJSON_AddStringToObject(o, "from", from ? from : "");
    cJSON_AddStringToObject(o, "id", id ? id : "");
    cJSON_AddStringToObject(o, "body", body);
    cJSON_AddStringToObject(o, "stamp", stamp);
    cJSON_AddBoolToObject(o, "delayed", dstamp != NULL);
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        fputs(line, stdout);
        fputc('\n', stdout);
        free(line);
    }
    cJSON_Delete(o);
    xmpp_free(ctx, body);
    a->messages++;
    total_messages++;
    return 1;
}

static int barrier_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    acct_t *a = ud;
    a->barrier = 1;
    return 0;
}

static int64_t g_linger_ms;

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error, xmpp_stream_error_t *se,
                    void *ud)
{
    acct_t *a = ud;
    if (ev == XMPP_CONN_CONNECT) {
        xmpp_handler_add(conn, message_cb, NULL, "message", NULL, a);
        xmpp_stanza_t *pres = xmpp_presence_new(ctx); /* makes Prosody push stored messages */
        xmpp_send(conn, pres);
        xmpp_stanza_release(pres);
        xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", "inbox-barrier");
        xmpp_stanza_t *ping = xmpp_stanza_new(ctx);
        xmpp_stanza_set_name(ping, "ping");
        xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
        xmpp_stanza_add_child(iq, ping);
        xmpp_stanza_release(ping);
        xmpp_id_handler_add(conn, barrier_cb, "inbox-barrier", a);
        xmpp_send(conn, iq);
        xmpp_stanza_release(iq);
        return;
    }
    if (!a->barrier && !a->err[0])
        snprintf(a->err, sizeof a->err, "%s (error %d%s%s)",
                 ev == XMPP_CONN_FAIL ? "cannot connect" : "login failed or connection closed",
                 error, se && se->text ? ": " : "", se && se->text ? se->text : "");
}

static void start(acct_t *a, const char *host, unsigned short port, int64_t timeout_ms)
{
    a->conn = xmpp_conn_new(ctx);
    xmpp_conn_set_flags(a->conn, XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(a->conn, sockopt_cb);
    xmpp_conn_set_jid(a->conn, a->jid);
    xmpp_conn_set_pass(a->conn, a->pass);
    a->state = A_ACTIVE;
    a->deadline = mono_ms() + timeout_ms;
    if (xmpp_connect_client(a->conn, host, port, conn_cb, a) != XMPP_EOK)
        snprintf(a->err, sizeof a->err, "cannot start a connection to %s:%u", host, port);
}

/* One step for an active account; returns 1 when it has finished. */
static int step(acct_t *a)
{
    int64_t now = mono_ms();
    if (a->barrier && !a->linger_until)
        a->linger_until = now + g_linger_ms;
    if (!a->err[0] && !a->barrier && now > a->deadline)
        snprintf(a->err, sizeof a->err, "timed out before the inbox barrier");
    bool finished_ok = a->barrier && now >= a->linger_until;
    if ((finished_ok || a->err[0]) && !a->disconnecting && !xmpp_conn_is_disconnected(a->conn)) {
        a->disconnecting = 1;
        a->deadline = now + 2000;
        xmpp_disconnect(a->conn);
    }
    if ((finished_ok || a->err[0]) && (xmpp_conn_is_disconnected(a->conn) || now > a->deadline + 2000)) {
        xmpp_conn_release(a->conn);
        a->conn = NULL;
        a->state = a->barrier ? A_OK : A_FAILED;
        if (a->state == A_FAILED)
            fprintf(stderr, "pp-inbox: %s: %s\n", a->jid, a->err);
        return 1;
    }
    return 0;
}

/* Reads the 'jid password' lines of stdin (exits 1 when out of memory). */
static acct_t *read_accounts(size_t *np)
{
    acct_t *accts = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, stdin) > 0) {
        char jid[512], pass[512];
        if (sscanf(line, "%511s %511s", jid, pass) != 2)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            acct_t *g = realloc(accts, cap * sizeof *g);
            if (!g) {
                fprintf(stderr, "pp-inbox: out of memory\n");
                exit(1);
            }
            accts = g;
        }
        memset(&accts[n], 0, sizeof accts[n]);
        accts[n].jid = strdup(jid);
        accts[n].pass = strdup(pass);
        n++;
    }
    free(line);
    *np = n;
    return accts;
}

int main(int argc, char **argv)
{
    const char *host = getenv("PP_XMPP_HOST") ? getenv("PP_XMPP_HOST") : "127.0.0.1";
    long port = getenv("PP_XMPP_PORT") ? strtol(getenv("PP_XMPP_PORT"), NULL, 10) : 55222;
    long parallel = 16, timeout_ms = 10000, linger = 0;
    int opt;
    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt(argc, argv, "H:p:j:t:l:")) != -1) {
        char *end;
        long v = optarg ? strtol(optarg, &end, 10) : 0;
        if (opt != 'H' && (*end || v < 0))
            opt = '?';
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = v; break;
        case 'j': parallel = v > 0 ? v : 1; break;
        case 't': timeout_ms = v; break;
        case 'l': linger = v; break;
        default:
            fprintf(stderr, "usage: pp-inbox [-H host] [-p port] [-j parallel] [-t timeout_ms] "
                            "[-l linger_ms] < 'jid password' lines\n");
            return 2;
        }
    }
    if (port < 1 || port > 65535) {
        fprintf(stderr, "pp-inbox: bad port %ld\n", port);
        return 2;
    }
    g_linger_ms = linger;
    size_t n = 0;
    acct_t *accts = read_accounts(&n);
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    size_t next = 0, done = 0, active = 0, failed = 0;
    int64_t t0 = mono_ms();
    while (done < n) {
        while (active < (size_t)parallel && next < n) {
            start(&accts[next++], host, (unsigned short)port, timeout_ms);
            active++;
        }
        xmpp_run_once(ctx, 5);
        for (size_t i = 0; i < next; i++) {
            if (accts[i].state != A_ACTIVE || !step(&accts[i]))
                continue;
            active--;
            done++;
            failed += accts[i].state == A_FAILED;
        }
    }
    fflush(stdout);
    fprintf(stderr, "pp-inbox: %zu account(s), %zu failed, %ld message(s) in %lld ms\n", n, failed,
            total_messages, (long long)(mono_ms() - t0));
    for (size_t i = 0; i < n; i++) {
        free(accts[i].jid);
        free(accts[i].pass);
    }
    free(accts);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return failed ? 1 : 0;
}
