/* xmpp-probe: log in to an XMPP server, round-trip an iq ping, exit 0 (stack readiness check). */
/* Built on the fly by deploy/local/stack: cc -O2 xmpp-probe.c $(pkg-config --cflags --libs libstrophe) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strophe.h>

enum { PROBE_OK = 0, PROBE_FAIL = 1, PROBE_TIMEOUT = 2, PROBE_USAGE = 3 };

struct probe {
    int done;
    int rc;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pong_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    struct probe *p = ud;
    const char *type = xmpp_stanza_get_type(st);

    p->rc = (type && strcmp(type, "result") == 0) ? PROBE_OK : PROBE_FAIL;
    p->done = 1;
    xmpp_disconnect(conn);
    return 0;
}

static void conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int err, xmpp_stream_error_t *se, void *ud)
{
    struct probe *p = ud;
    xmpp_ctx_t *ctx = xmpp_conn_get_context(conn);

    (void)err;
    (void)se;
    if (ev == XMPP_CONN_CONNECT) {
        xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", "probe1");
        xmpp_stanza_t *ping = xmpp_stanza_new(ctx);

        xmpp_stanza_set_name(ping, "ping");
        xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
        xmpp_stanza_add_child(iq, ping);
        xmpp_stanza_release(ping);
        xmpp_id_handler_add(conn, pong_cb, "probe1", p);
        xmpp_send(conn, iq);
        xmpp_stanza_release(iq);
    } else if (!p->done) {
        p->rc = PROBE_FAIL; /* connect or auth failed */
        p->done = 1;
    }
}

int main(int argc, char **argv)
{
    struct probe p = {0, PROBE_TIMEOUT};
    long port, timeout_ms = 5000;
    char *end;

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: xmpp-probe HOST PORT JID PASSWORD [TIMEOUT_MS]\n"
                        "exit: 0 logged in and pinged, 1 connect/auth failed, 2 timeout\n");
        return PROBE_USAGE;
    }
    port = strtol(argv[2], &end, 10);
    if (*end || port < 1 || port > 65535) {
        fprintf(stderr, "xmpp-probe: bad port '%s'\n", argv[2]);
        return PROBE_USAGE;
    }
    if (argc == 6) {
        timeout_ms = strtol(argv[5], &end, 10);
        if (*end || timeout_ms < 1) {
            fprintf(stderr, "xmpp-probe: bad timeout '%s'\n", argv[5]);
            return PROBE_USAGE;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    xmpp_initialize();
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_conn_t *conn = xmpp_conn_new(ctx);

    xmpp_conn_set_flags(conn, XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_jid(conn, argv[3]);
    xmpp_conn_set_pass(conn, argv[4]);
    if (xmpp_connect_client(conn, argv[1], (unsigned short)port, conn_cb, &p) != XMPP_EOK) {
        p.rc = PROBE_FAIL;
        p.done = 1;
    }
    long long deadline = now_ms() + timeout_ms;
    while (!p.done && now_ms() < deadline)
        xmpp_run_once(ctx, 20);
    /* give the close handshake a moment, never more than 200 ms */
    deadline = now_ms() + 200;
    while (xmpp_conn_is_connected(conn) && now_ms() < deadline)
        xmpp_run_once(ctx, 10);
    xmpp_conn_release(conn);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    if (p.rc == PROBE_FAIL)
        fprintf(stderr, "xmpp-probe: login as %s on %s:%ld failed\n", argv[3], argv[1], port);
    else if (p.rc == PROBE_TIMEOUT)
        fprintf(stderr, "xmpp-probe: no answer from %s:%ld within %ld ms\n", argv[1], port, timeout_ms);
    return p.rc;
}
