/*
 * pp-chat.c - a tiny XMPP chat client for bot tests: logs in, sends each line to the bot one
 * at a time, waits for the reply (with a timeout) and prints one JSON line per ask:
 * {"ask":..., "reply":..., "rtt_ms":...}. Exit 0 when every line got a reply, 1 otherwise.
 * With -f STOP_FILE (flood): sends every line at once, then prints {"reply":...} for each
 * message from the bot until STOP_FILE exists (exit 0) or -T passes (exit 1).
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <strophe.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct chat {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    const char *to, *barrier, *stop_file;
    char **lines;
    int n, next;
    double sent_ms, deadline_ms, timeout_ms;
    int up, failed, waiting;
} chat_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int sockopt_cb(xmpp_conn_t *conn, void *sock)
{
    int one = 1;
    setsockopt(*(int *)sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return xmpp_sockopt_cb_keepalive(conn, sock);
}

static void send_next(chat_t *c)
{
    if (c->next >= c->n)
        return;
    xmpp_stanza_t *m = xmpp_message_new(c->ctx, "chat", c->to, NULL);
    xmpp_message_set_body(m, c->lines[c->next]);
    c->sent_ms = now_ms();
    c->deadline_ms = c->sent_ms + c->timeout_ms;
    c->waiting = 1;
    xmpp_send(c->conn, m);
    xmpp_stanza_release(m);
}

static int message_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    chat_t *c = ud;
    const char *from = xmpp_stanza_get_from(st);
    char *body = xmpp_message_get_body(st);
    size_t lt = strcspn(c->to, "/");
    if (!body || !from || (!c->waiting && !c->stop_file) || strncasecmp(from, c->to, lt) != 0 ||
        (from[lt] != '/' && from[lt] != '\0')) {
        if (body)
            xmpp_free(c->ctx, body);
        return 1;
    }
    cJSON *o = cJSON_CreateObject();
    if (c->stop_file) { /* flood: every message from the bot, in order */
        cJSON_AddStringToObject(o, "reply", body);
        char *fs = cJSON_PrintUnformatted(o);
        printf("%s\n", fs);
        fflush(stdout);
        free(fs);
        cJSON_Delete(o);
        xmpp_free(c->ctx, body);
        return 1;
    }
    cJSON_AddStringToObject(o, "ask", c->lines[c->next]);
    cJSON_AddStringToObject(o, "reply", body);
    cJSON_AddNumberToObject(o, "rtt_ms", now_ms() - c->sent_ms);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    cJSON_Delete(o);
    xmpp_free(c->ctx, body);
    c->waiting = 0;
    c->next++;
    send_next(c);
    return 1;
}

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error, xmpp_stream_error_t *se,
                    void *ud)
{
    chat_t *c = ud;
    if (ev != XMPP_CONN_CONNECT) {
        if (!c->up)
            fprintf(stderr, "pp-chat: cannot log in (error %d)\n", error);
        else if (c->next < c->n)
            fprintf(stderr, "pp-chat: disconnected (error %d)\n", error);
        if (c->next < c->n)
            c->failed = 1;
        return;
    }
    c->up = 1;
    xmpp_stanza_t *pres = xmpp_presence_new(c->ctx);
    xmpp_send(conn, pres);
    xmpp_stanza_release(pres);
}

/* "Logged in": create BARRIER.up.<pid>; the test releases the barrier once all are there. */
static int announce_up(const chat_t *c)
{
    char up[4096];
    snprintf(up, sizeof up, "%s.up.%ld", c->barrier, (long)getpid());
    FILE *f = fopen(up, "w");
    if (!f) {
        fprintf(stderr, "pp-chat: cannot create %s\n", up);
        return -1;
    }
    fclose(f);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: pp-chat -j JID -w PASSWORD -t BOT_JID [-H HOST] [-p PORT] [-T TIMEOUT_S] "
                    "[-b BARRIER_FILE] [-f STOP_FILE] LINE...\n"
                    "  without LINEs, lines are read from stdin; -b: once logged in, create\n"
                    "  BARRIER_FILE.up.<pid> (tests wait for those), then wait until BARRIER_FILE\n"
                    "  exists before the first line; -f: send every line at once, print every reply\n"
                    "  until STOP_FILE exists; -T: reply and login timeout (default 60 s)\n");
}

int main(int argc, char **argv)
{
    chat_t c = {.timeout_ms = 60000};
    const char *host = "127.0.0.1", *jid = NULL, *pass = NULL;
    long port = 5222;
    int opt;
    while ((opt = getopt(argc, argv, "H:p:j:w:t:T:b:f:h")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = strtol(optarg, NULL, 10); break;
        case 'j': jid = optarg; break;
        case 'w': pass = optarg; break;
        case 't': c.to = optarg; break;
        case 'T': c.timeout_ms = strtod(optarg, NULL) * 1000; break;
        case 'b': c.barrier = optarg; break;
        case 'f': c.stop_file = optarg; break;
        default: usage(); return 2;
        }
    }
    if (!jid || !pass || !c.to || port <= 0 || port > 65535 || c.timeout_ms <= 0) {
        usage();
        return 2;
    }
    static char *buf[4096];
    if (optind < argc) {
        c.lines = argv + optind;
        c.n = argc - optind;
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while (c.n < 4096 && (len = getline(&line, &cap, stdin)) > 0) {
            line[strcspn(line, "\n")] = '\0';
            buf[c.n++] = strdup(line);
        }
        free(line);
        c.lines = buf;
    }
    xmpp_initialize();
    c.ctx = xmpp_ctx_new(NULL, NULL);
    c.conn = xmpp_conn_new(c.ctx);
    xmpp_conn_set_flags(c.conn, XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_sockopt_callback(c.conn, sockopt_cb);
    xmpp_conn_set_jid(c.conn, jid);
    xmpp_conn_set_pass(c.conn, pass);
    xmpp_handler_add(c.conn, message_cb, NULL, "message", NULL, &c);
    if (xmpp_connect_client(c.conn, host, (unsigned short)port, conn_cb, &c) != XMPP_EOK) {
        fprintf(stderr, "pp-chat: cannot connect to %s:%ld\n", host, port);
        return 1;
    }
    double login_deadline = now_ms() + c.timeout_ms;
    int started = 0, announced = 0;
    if (c.stop_file) { /* flood */
        double end = now_ms() + 10000 + 2 * c.timeout_ms;
        while (!c.failed && !c.up && now_ms() < end)
            xmpp_run_once(c.ctx, 5);
        if (c.up && c.barrier && announce_up(&c) != 0)
            c.failed = 1;
        while (!c.failed && c.up && c.barrier && access(c.barrier, F_OK) != 0 && now_ms() < end)
            xmpp_run_once(c.ctx, 5);
        for (int i = 0; c.up && i < c.n; i++) {
            xmpp_stanza_t *m = xmpp_message_new(c.ctx, "chat", c.to, NULL);
            xmpp_message_set_body(m, c.lines[i]);
            xmpp_send(c.conn, m);
            xmpp_stanza_release(m);
        }
        c.next = c.n;
        while (!c.failed && c.up && access(c.stop_file, F_OK) != 0 && now_ms() < end)
            xmpp_run_once(c.ctx, 5);
        if (!c.up || access(c.stop_file, F_OK) != 0) {
            fprintf(stderr, "pp-chat: %s\n",
                    c.up ? "the stop file did not appear in time" : "not logged in");
            c.failed = 1;
        }
    }
    while (!c.failed && c.next < c.n) {
        xmpp_run_once(c.ctx, 5);
        if (!c.up) {
            if (now_ms() > login_deadline) {
                fprintf(stderr, "pp-chat: login timed out\n");
                c.failed = 1;
            }
            continue;
        }
        if (!started) {
            if (c.barrier && !announced) {
                if (announce_up(&c) != 0) {
                    c.failed = 1;
                    continue;
                }
                announced = 1;
            }
            if (c.barrier && access(c.barrier, F_OK) != 0)
                continue;
            started = 1;
            send_next(&c);
        }
        if (c.waiting && now_ms() > c.deadline_ms) {
            fprintf(stderr, "pp-chat: no reply to [%s] within %.0f ms\n", c.lines[c.next],
                    c.timeout_ms);
            c.failed = 1;
        }
    }
    if (c.up) {
        xmpp_disconnect(c.conn);
        for (double end = now_ms() + 1000; !xmpp_conn_is_disconnected(c.conn) && now_ms() < end;)
            xmpp_run_once(c.ctx, 5);
    }
    xmpp_conn_release(c.conn);
    xmpp_ctx_free(c.ctx);
    xmpp_shutdown();
    return c.failed || c.next < c.n ? 1 : 0;
}
