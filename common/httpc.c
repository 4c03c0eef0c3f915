/* httpc.c - libcurl multi on libuv: uv_poll_t per socket, one uv_timer_t, completion callbacks. */
#include "httpc.h"
#include "curl_mem.h"
#include "err.h"
#include "log.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (4u << 20)

/*
 * libcurl's buffers, one set per request in flight (the poller keeps up to poll_concurrency
 * in flight; docs/benchmarks.md's inflight stage runs 5,000). The receive buffer
 * (CURLOPT_BUFFERSIZE, 16 KiB by default) only bounds how much one read takes: the answer is
 * gathered in transfer_t.buf up to MAX_BODY whatever its size; 1 KiB is libcurl's minimum
 * and one or two reads of a carrier's usual answer (InPost's is ~1.3 KiB). The upload buffer
 * (64 KiB by default; HTTPS copies each request through it) is cut to its minimum, 16 KiB.
 * Measured: 5 KiB less RSS per request in flight over HTTP, 4 KiB over HTTPS.
 * Not over HTTP/2: libcurl 7.88.1 (Debian 12) corrupts answers there when a stream's DATA does
 * not fit the receive buffer (seen: an InPost answer of 1,341 bytes with a 1 KiB buffer, 256
 * streams in flight, read as invalid JSON, then the heap corrupted and the poller killed);
 * HTTP/2 transfers keep libcurl's default, 16 KiB: HTTP/2's largest DATA frame unless the
 * client raises SETTINGS_MAX_FRAME_SIZE, which libcurl 7.88 does not, so every frame fits
 * (fleet-bench --stage poller --transport https2 ran clean with it, with answers of 1.3 KB
 * and of 40 KB). Both sizes of buffer come from curl_mem.c's slots, resident only once an
 * answer is written into them: from malloc the 16 KiB ones cost ~5 KiB of RSS per HTTP/2
 * request in flight while empty (fleet-bench --stage inflight --transport https2: 93 -> 72-73
 * MiB), the 1 KiB ones 1,280 B. All this is libcurl 7's (-Dcurl=system on Debian 12): the
 * bundled libcurl 8 (meson -Dcurl=bundled, the default) reads into one buffer per multi
 * handle, so no slot is taken there (tests/unit/test_curl_mem.c says which holds).
 */
#define RECV_BUFFER 1024L
#define RECV_BUFFER_H2 16384L
#define UPLOAD_BUFFER 16384L

/*
 * Two lanes, each a curl multi handle: plain http (HTTP/1.1, one connection per request in
 * flight, no cap: as before HTTPS came in) and https. On the https lane, with http2 on
 * (carrier_http2), HTTP/2 is negotiated with ALPN: at most H2_STREAMS streams a connection (or the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS when lower), and CURLOPT_PIPEWAIT makes a request wait for
 * the first connection to a host to say whether it multiplexes instead of opening its own.
 * libcurl 7.88 waits only for that first one: once a host's connections are full, every
 * request added while a new connection is in its handshake opens yet another (400 requests:
 * 300 connections). So the https lane has a cap per host (carrier_max_connections, 64 by
 * default: 6,400 requests in flight over HTTP/2), and requests beyond wait in libcurl for a
 * stream. A carrier that answers HTTP/1.1 over TLS gets at most that many requests in flight
 * (the carriers' own rate limits keep far fewer in flight).
 */
#define H2_STREAMS 100L
enum { LANE_HTTP, LANE_HTTPS, N_LANES };

typedef struct lane {
    pp_httpc_t *h;
    CURLM *multi;
    uv_timer_t timer;
} lane_t;

/* Easy handles kept for reuse: a new transfer takes one (curl_easy_reset) instead of
 * allocating and initialising ~5 KiB (curl_easy_init) and freeing it at its end. */
#define IDLE_MAX 128

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    pp_httpc_t *h;
    lane_t *lane;
    struct sock_ctx *prev, *next;
} sock_ctx_t;

typedef struct transfer {
    pp_httpc_t *h;
    lane_t *lane;
    CURL *easy;
    struct curl_slist *hdrs;
    char *buf;
    size_t len, cap;
    int too_big;
    long retry_after_s;
    char errbuf[CURL_ERROR_SIZE];
    pp_httpc_done_cb done;
    void *arg;
    struct transfer *prev, *next;
} transfer_t;

struct pp_httpc {
    uv_loop_t *loop;
    lane_t lanes[N_LANES];
    int open_handles; /* timers + socket polls not yet closed */
    int inflight;
    int closing;
    transfer_t *transfers;
    sock_ctx_t *socks;
    CURL *idle[IDLE_MAX]; /* easy handles of finished transfers, reset, for the next ones */
    int n_idle;
    char *ca_file; /* NULL = the system's */
    int http2;
};

static int curl_global_done;

static void maybe_free(pp_httpc_t *h)
{
    if (h->closing && h->open_handles == 0) {
        free(h->ca_file);
        free(h);
    }
}

static void sock_closed_cb(uv_handle_t *hd)
{
    sock_ctx_t *c = hd->data;
    pp_httpc_t *h = c->h;
    free(c);
    h->open_handles--;
    maybe_free(h);
}

static void sock_release(sock_ctx_t *c)
{
    pp_httpc_t *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->socks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, sock_closed_cb);
}

static void transfer_free(transfer_t *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->hdrs);
    free(t->buf);
    free(t);
}

static void transfer_unlink(transfer_t *t)
{
    pp_httpc_t *h = t->h;
    if (t->prev)
        t->prev->next = t->next;
    else
        h->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void finish(transfer_t *t, CURLcode rc, int forced_err)
{
    pp_httpc_t *h = t->h;
    char msg[CURL_ERROR_SIZE + 128];
    pp_http_response_t r = {0};
    long status = 0;
    double total = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total);
    msg[0] = '\0';
    if (forced_err) {
        r.err = forced_err;
        snprintf(msg, sizeof msg, "request aborted: HTTP client closing");
    } else if (rc != CURLE_OK) {
        r.err = rc == CURLE_OPERATION_TIMEDOUT ? PP_ETIMEOUT : PP_EHTTP;
        if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
            snprintf(msg, sizeof msg, "response body larger than %u bytes", MAX_BODY);
        else
            snprintf(msg, sizeof msg, "%s%s%s", curl_easy_strerror(rc), t->errbuf[0] ? ": " : "",
                     t->errbuf);
    }
    r.status = (int)status;
    r.body = t->buf ? t->buf : "";
    r.body_len = t->len;
    r.retry_after_s = t->retry_after_s;
    r.total_s = total;
    r.errmsg = msg;
    transfer_unlink(t);
    if (t->lane->multi)
        curl_multi_remove_handle(t->lane->multi, t->easy);
    h->inflight--;
    pp_httpc_done_cb done = t->done;
    void *arg = t->arg;
    done(&r, arg);
    if (!h->closing && h->n_idle < IDLE_MAX) {
        curl_easy_reset(t->easy);
        h->idle[h->n_idle++] = t->easy;
        t->easy = NULL;
    }
    transfer_free(t);
}

static void check_done(lane_t *l)
{
    CURLMsg *m;
    int left;
    while (l->multi && (m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        transfer_t *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode rc = m->data.result;
        if (t)
            finish(t, rc, 0);
    }
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    sock_ctx_t *c = p->data;
    lane_t *l = c->lane;
    int flags = 0, running = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    if (!l->multi)
        return;
    curl_multi_socket_action(l->multi, c->fd, flags, &running);
    check_done(l);
}

static int socket_cb(CURL *e, curl_socket_t s, int action, void *userp, void *socketp)
{
    lane_t *l = userp;
    pp_httpc_t *h = l->h;
    sock_ctx_t *c = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (c) {
            if (l->multi)
                curl_multi_assign(l->multi, s, NULL);
            sock_release(c);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        int rc = uv_poll_init_socket(h->loop, &c->poll, s);
        if (rc) {
            pp_warn("http: cannot watch socket %d: %s", (int)s, uv_strerror(rc));
            free(c);
            return -1;
        }
        c->fd = s;
        c->h = h;
        c->lane = l;
        c->poll.data = c;
        c->next = h->socks;
        if (h->socks)
            h->socks->prev = c;
        h->socks = c;
        h->open_handles++;
        curl_multi_assign(l->multi, s, c);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, poll_cb);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    lane_t *l = t->data;
    int running = 0;
    if (!l->multi)
        return;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(l);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    lane_t *l = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&l->timer);
    else
        uv_timer_start(&l->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    transfer_t *t = ud;
    size_t n = size * nmemb;
    if (t->len + n + 1 > MAX_BODY) {
        t->too_big = 1;
        return 0;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            return 0;
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, ptr, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return n;
}

/* Retry-After: delta-seconds or an HTTP-date. Returns -1 when absent or unparsable. */
static long parse_retry_after(const char *v, size_t n)
{
    char tmp[128];
    while (n && isspace((unsigned char)*v))
        v++, n--;
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    if (isdigit((unsigned char)tmp[0])) {
        char *end;
        errno = 0;
        long s = strtol(tmp, &end, 10);
        if (errno || *end || s < 0 || s > 7 * 86400)
            return -1;
        return s;
    }
    time_t when = curl_getdate(tmp, NULL);
    if (when < 0)
        return -1;
    long d = (long)(when - time(NULL));
    return d < 0 ? 0 : (d > 7 * 86400 ? 7 * 86400 : d);
}

static size_t header_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    transfer_t *t = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0)
        t->retry_after_s = -1; /* a new response (e.g. after 100-continue) */
    else if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0)
        t->retry_after_s = parse_retry_after(buf + sizeof name - 1, n - (sizeof name - 1));
    return n;
}

/* The lane's multi handle and timer; the https lane with HTTP/2 and its cap per host. */
static int lane_init(pp_httpc_t *h, lane_t *l, int https, long max_host_connections)
{
    l->h = h;
    if (!(l->multi = curl_multi_init()))
        return PP_EHTTP;
    if (uv_timer_init(h->loop, &l->timer) != 0) {
        curl_multi_cleanup(l->multi);
        l->multi = NULL;
        return PP_EHTTP;
    }
    l->timer.data = l;
    h->open_handles++;
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, 1024L);
    if (https && h->http2) {
        curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        curl_multi_setopt(l->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, H2_STREAMS);
        curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
    } else {
        curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    }
    return PP_OK;
}

static void timer_closed_cb(uv_handle_t *hd)
{
    lane_t *l = hd->data;
    pp_httpc_t *h = l->h;
    h->open_handles--;
    maybe_free(h);
}

/* Close the lanes: curl first (it may call socket_cb(REMOVE) for cached connections). */
static void lanes_close(pp_httpc_t *h)
{
    for (int i = 0; i < N_LANES; i++) {
        lane_t *l = &h->lanes[i];
        if (!l->multi)
            continue;
        curl_multi_cleanup(l->multi);
        l->multi = NULL;
        uv_timer_stop(&l->timer);
        uv_close((uv_handle_t *)&l->timer, timer_closed_cb);
    }
}

int pp_httpc_init(pp_httpc_t **out, uv_loop_t *loop, const pp_httpc_opts_t *o)
{
    pp_httpc_t *h = NULL;
    int rc = PP_EHTTP;
    if (!curl_global_done) {
        /* the receive buffers resident only once an answer is written (curl_mem.c) */
        static const size_t bufs[] = {RECV_BUFFER + 1, RECV_BUFFER_H2 + 1};
        if (pp_curl_mem_init(CURL_GLOBAL_ALL, bufs, 2) != 0)
            return PP_EHTTP;
        curl_global_done = 1;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        return PP_ENOMEM;
    h->loop = loop;
    h->http2 = o ? o->http2 : 1;
    long max_conns = o && o->max_host_connections > 0 ? o->max_host_connections : 64;
    if (o && o->ca_file && o->ca_file[0] && !(h->ca_file = strdup(o->ca_file))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < N_LANES; i++)
        if ((rc = lane_init(h, &h->lanes[i], i == LANE_HTTPS, max_conns)) != 0)
            goto fail;
    *out = h;
    return PP_OK;
fail:
    /* freed by the last timer's close callback, or here when no timer was opened */
    h->closing = 1;
    lanes_close(h);
    if (h->open_handles == 0) {
        free(h->ca_file);
        free(h);
    }
    return rc;
}

int pp_httpc_send(pp_httpc_t *h, const pp_http_request_t *req, long timeout_ms,
                  pp_httpc_done_cb done, void *arg)
{
    if (!h || h->closing || !req || !req->url || !done)
        return PP_EINVAL;
    transfer_t *t = calloc(1, sizeof *t);
    if (!t)
        return PP_ENOMEM;
    t->h = h;
    t->lane = &h->lanes[strncasecmp(req->url, "https://", 8) == 0 ? LANE_HTTPS : LANE_HTTP];
    t->done = done;
    t->arg = arg;
    t->retry_after_s = -1;
    t->easy = h->n_idle ? h->idle[--h->n_idle] : curl_easy_init();
    if (!t->easy)
        goto fail;
    for (int i = 0; i < req->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(t->hdrs, req->headers[i]);
        if (!l)
            goto fail;
        t->hdrs = l;
    }
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "parcelpush/0.1");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    int h2 = h->http2 && t->lane == &h->lanes[LANE_HTTPS];
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, h2 ? RECV_BUFFER_H2 : RECV_BUFFER);
    /* an answer whose Content-Length is over the limit is refused before its body is read */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_BODY - 1);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     h->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    if (h2)
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (t->hdrs)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->hdrs);
    if (req->method && strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
    } else if (req->method && strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }
    CURLMcode mc = curl_multi_add_handle(t->lane->multi, e);
    if (mc != CURLM_OK) {
        pp_warn("http: cannot start request to %s: %s", req->url, curl_multi_strerror(mc));
        goto fail;
    }
    t->next = h->transfers;
    if (h->transfers)
        h->transfers->prev = t;
    h->transfers = t;
    h->inflight++;
    return PP_OK;
fail:
    transfer_free(t);
    return PP_EHTTP;
}

int pp_httpc_inflight(const pp_httpc_t *h) { return h ? h->inflight : 0; }

void pp_httpc_close(pp_httpc_t *h)
{
    if (!h || h->closing)
        return;
    h->closing = 1;
    while (h->transfers)
        finish(h->transfers, CURLE_OK, PP_EAGAIN);
    while (h->n_idle)
        curl_easy_cleanup(h->idle[--h->n_idle]);
    lanes_close(h);
    while (h->socks)
        sock_release(h->socks);
}
