/* httpd.c - h2o-on-libuv HTTP/1.1 (and, with TLS, HTTP/2) server plumbing shared by /metrics and the carrier simulator (a handler's helpers: httpd_req.c). */
#include "httpd.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PP_HTTPD_MAX_ROUTES 16
#define PP_HTTPD_REAP_MS 250
#define PP_HTTPD_FORCE_CLOSE_MS 2000

typedef struct pp_httpd_conn {
    uv_tcp_t tcp; /* first: the close callback gets &tcp; h2o owns tcp.data */
    struct pp_httpd *srv;
    struct pp_httpd_conn *prev, *next;
} pp_httpd_conn_t;

typedef struct pp_httpd_defer {
    uv_timer_t timer;
    struct pp_httpd *srv;
    h2o_req_t *req; /* NULL once the request is disposed */
    pp_httpd_defer_cb cb;
    void (*abandoned_cb)(void *arg);
    void *arg;
    bool fired; /* cb ran (or is running) */
    int fd;
    bool linked; /* on srv->defers (waiting) */
    struct pp_httpd_defer *prev, *next;
} pp_httpd_defer_t;

typedef struct pp_httpd_route {
    char *prefix;
    size_t len;
    bool subtree;
    pp_httpd_route_cb cb;
    void *arg;
} pp_httpd_route_t;

typedef struct pp_httpd_handler {
    h2o_handler_t super;
    struct pp_httpd *srv;
} pp_httpd_handler_t;

typedef struct pp_httpd_filter {
    h2o_filter_t super;
    struct pp_httpd *srv;
} pp_httpd_filter_t;

/* The body limit's own answer (pp_httpd_body_limit), replacing h2o's plain-text 413. */
typedef struct pp_httpd_toolarge {
    char *content_type;
    char *body;
    size_t len;
    void (*cb)(h2o_req_t *req, void *arg);
    void *arg;
} pp_httpd_toolarge_t;

struct pp_httpd {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t reaper;
    uv_idle_t final_a, final_b; /* two-phase free after h2o closed its own timers */
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    bool ctx_ready;
    bool stopping;
    int open_handles; /* listener + reaper + connections */
    int64_t stop_at;
    pp_httpd_route_t routes[PP_HTTPD_MAX_ROUTES];
    int n_routes;
    pp_httpd_conn_t *conns;
    pp_httpd_defer_t *defers;
    pp_httpd_stats_t stats;
    pp_httpd_toolarge_t toolarge;
};

static void defer_unlink(pp_httpd_defer_t *d)
{
    if (!d->linked)
        return;
    if (d->prev)
        d->prev->next = d->next;
    else
        d->srv->defers = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->linked = false;
    d->srv->stats.deferred--;
}

static void free_srv_cb(uv_handle_t *h)
{
    pp_httpd_t *srv = h->data;
    if (srv->accept_ctx.ssl_ctx)
        SSL_CTX_free(srv->accept_ctx.ssl_ctx);
    free(srv->toolarge.content_type);
    free(srv->toolarge.body);
    for (int i = 0; i < srv->n_routes; i++)
        free(srv->routes[i].prefix);
    free(srv);
}

static void final_a_closed_cb(uv_handle_t *h)
{
    pp_httpd_t *srv = h->data;
    /* Closed in a later closing phase than every handle h2o_context_dispose closed. */
    uv_close((uv_handle_t *)&srv->final_b, free_srv_cb);
}

static void maybe_finish(pp_httpd_t *srv)
{
    if (!srv->stopping || srv->open_handles > 0)
        return;
    if (srv->ctx_ready) {
        h2o_context_dispose(&srv->ctx);
        srv->ctx_ready = false;
    }
    h2o_config_dispose(&srv->globalconf);
    uv_close((uv_handle_t *)&srv->final_a, final_a_closed_cb);
}

static void handle_closed_cb(uv_handle_t *h)
{
    pp_httpd_t *srv = h->data;
    srv->open_handles--;
    maybe_finish(srv);
}

static void conn_closed_cb(uv_handle_t *h)
{
    pp_httpd_conn_t *c = (pp_httpd_conn_t *)h;
    pp_httpd_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    srv->stats.open--;
    srv->open_handles--;
    if (srv->stopping && !srv->conns && !uv_is_closing((uv_handle_t *)&srv->reaper))
        uv_close((uv_handle_t *)&srv->reaper, handle_closed_cb);
    maybe_finish(srv);
}

static void on_accept_cb(uv_stream_t *listener, int status)
{
    pp_httpd_t *srv = listener->data;
    if (status != 0) {
        pp_warn("httpd: accept: %s", uv_strerror(status));
        return;
    }
    pp_httpd_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        pp_warn("httpd: accept: out of memory");
        return;
    }
    c->srv = srv;
    if (uv_tcp_init(srv->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->open_handles++;
    srv->stats.open++;
    int rc = uv_accept(listener, (uv_stream_t *)&c->tcp);
    if (rc != 0) {
        pp_warn("httpd: accept: %s", uv_strerror(rc));
        uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
        return;
    }
    srv->stats.accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, conn_closed_cb);
    if (!sock) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
        return;
    }
    h2o_accept(&srv->accept_ctx, sock);
}

static const pp_httpd_route_t *route_find(pp_httpd_t *srv, h2o_iovec_t path)
{
    const pp_httpd_route_t *best = NULL;
    for (int i = 0; i < srv->n_routes; i++) {
        const pp_httpd_route_t *r = &srv->routes[i];
        bool match = r->subtree ? (path.len >= r->len && memcmp(path.base, r->prefix, r->len) == 0)
                                : (path.len == r->len && memcmp(path.base, r->prefix, r->len) == 0);
        if (match && (!best || r->len > best->len))
            best = r;
    }
    return best;
}

static int on_req_cb(h2o_handler_t *self, h2o_req_t *req)
{
    pp_httpd_t *srv = ((pp_httpd_handler_t *)self)->srv;
    srv->stats.requests++;
    if (req->version >= 0x200)
        srv->stats.http2++;
    if (srv->stopping) {
        static const char msg[] = "shutting down\n";
        pp_httpd_send(req, 503, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
        return 0;
    }
    const pp_httpd_route_t *r = route_find(srv, pp_httpd_path(req));
    if (!r) {
        static const char msg[] = "not found\n";
        pp_httpd_send(req, 404, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
        return 0;
    }
    int rc = r->cb(req, r->arg);
    if (rc < 0) {
        static const char msg[] = "internal error\n";
        pp_warn("httpd: %s: handler failed: %s", r->prefix, pp_strerror(rc));
        pp_httpd_send(req, 500, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    }
    return 0;
}

/* ---- h2o's 413 (body over max_request_entity_size, refused while reading) in our format ---- */

typedef struct toolarge_ostream {
    h2o_ostream_t super;
    pp_httpd_t *srv;
    bool sent;
} toolarge_ostream_t;

static void toolarge_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                             h2o_send_state_t state)
{
    toolarge_ostream_t *o = (toolarge_ostream_t *)self;
    (void)bufs;
    (void)bufcnt;
    if (o->sent) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    o->sent = true;
    h2o_iovec_t b = h2o_strdup(&req->pool, o->srv->toolarge.body, o->srv->toolarge.len);
    h2o_ostream_send_next(self, req, &b, 1, state);
}

static void toolarge_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    pp_httpd_t *srv = ((pp_httpd_filter_t *)self)->srv;
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    /* h2o's own answer is text/plain; a 413 a route sent itself is left alone */
    if (req->res.status == 413 && srv->toolarge.body &&
        (ct < 0 ||
         !h2o_memis(req->res.headers.entries[ct].value.base, req->res.headers.entries[ct].value.len,
                    srv->toolarge.content_type, strlen(srv->toolarge.content_type)))) {
        srv->stats.too_large++;
        if (ct >= 0)
            h2o_delete_header(&req->res.headers, ct);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       srv->toolarge.content_type, strlen(srv->toolarge.content_type));
        req->res.content_length = srv->toolarge.len;
        if (srv->toolarge.cb)
            srv->toolarge.cb(req, srv->toolarge.arg);
        toolarge_ostream_t *o = (toolarge_ostream_t *)h2o_add_ostream(req, sizeof(*o), slot);
        o->super.do_send = toolarge_do_send;
        o->srv = srv;
        o->sent = false;
        slot = &o->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return PP_EINVAL;
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (addr[0] == '[') {
        if (hl < 3 || addr[hl - 1] != ']')
            return PP_EINVAL;
        h = addr + 1;
        hl -= 2;
    }
    if (hl >= sizeof(host))
        return PP_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return PP_EINVAL;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return PP_OK;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return PP_OK;
    return PP_EINVAL;
}

static int peer_gone(int fd)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return 1;
    return 0;
}

static void reaper_cb(uv_timer_t *t)
{
    pp_httpd_t *srv = t->data;
    pp_httpd_defer_t *d = srv->defers, *next;
    for (; d; d = next) {
        next = d->next;
        if (d->fd < 0 || !peer_gone(d->fd))
            continue;
        /* The client gave up: answer into the void so h2o tears the connection down. */
        defer_unlink(d);
        uv_timer_stop(&d->timer);
        srv->stats.abandoned++;
        h2o_req_t *req = d->req;
        static const char msg[] = "client went away\n";
        pp_httpd_send(req, 503, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    }
    if (srv->stopping && srv->conns && uv_now(srv->loop) >= (uint64_t)srv->stop_at) {
        for (pp_httpd_conn_t *c = srv->conns; c; c = c->next) {
            uv_os_fd_t fd;
            if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
                shutdown(fd, SHUT_RDWR);
        }
    }
    if (!srv->defers && !srv->stopping)
        uv_timer_stop(t);
}

static void reaper_kick(pp_httpd_t *srv)
{
    if (!uv_is_active((uv_handle_t *)&srv->reaper) && !uv_is_closing((uv_handle_t *)&srv->reaper))
        uv_timer_start(&srv->reaper, reaper_cb, PP_HTTPD_REAP_MS, PP_HTTPD_REAP_MS);
}

int pp_httpd_start(uv_loop_t *loop, const char *addr, pp_httpd_t **out, int *bound_port)
{
    struct sockaddr_storage ss;
    int rc;
    if (!loop || !addr || !out)
        return PP_EINVAL;
    if (parse_addr(addr, &ss) != 0) {
        pp_error("httpd: bad listen address '%s' (want host:port)", addr);
        return PP_EINVAL;
    }
    pp_httpd_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return PP_ENOMEM;
    srv->loop = loop;
    h2o_config_init(&srv->globalconf);
    srv->globalconf.http1.upgrade_to_http2 = 0;
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("parcelpush"));
    h2o_hostconf_t *host =
        h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    pp_httpd_handler_t *hd = (pp_httpd_handler_t *)h2o_create_handler(pc, sizeof(*hd));
    hd->super.on_req = on_req_cb;
    hd->srv = srv;
    /* h2o answers a body over the limit before any handler runs, through the host's fallback
     * path when the request was not routed yet: the filter sits on both. */
    h2o_pathconf_t *fpcs[] = {pc, &host->fallback_path};
    for (size_t i = 0; i < 2; i++) {
        pp_httpd_filter_t *f = (pp_httpd_filter_t *)h2o_create_filter(fpcs[i], sizeof(*f));
        f->super.on_setup_ostream = toolarge_setup_ostream;
        f->srv = srv;
    }
    h2o_context_init(&srv->ctx, loop, &srv->globalconf);
    srv->ctx_ready = true;
    srv->accept_ctx.ctx = &srv->ctx;
    srv->accept_ctx.hosts = srv->globalconf.hosts;

    uv_idle_init(loop, &srv->final_a);
    uv_idle_init(loop, &srv->final_b);
    srv->final_a.data = srv->final_b.data = srv;
    uv_timer_init(loop, &srv->reaper);
    srv->reaper.data = srv;
    uv_unref((uv_handle_t *)&srv->reaper);
    srv->open_handles++;
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    srv->open_handles++;

    if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->listener, 1024, on_accept_cb)) != 0) {
        pp_error("httpd: listen on %s: %s", addr, uv_strerror(rc));
        rc = PP_EIO;
        goto fail;
    }
    struct sockaddr_storage name;
    int namelen = sizeof(name);
    if ((rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&name, &namelen)) != 0) {
        pp_error("httpd: getsockname on %s: %s", addr, uv_strerror(rc));
        rc = PP_EIO;
        goto fail;
    }
    if (bound_port)
        *bound_port = name.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&name)->sin6_port)
                                                 : ntohs(((struct sockaddr_in *)&name)->sin_port);
    *out = srv;
    return PP_OK;
fail:
    pp_httpd_stop(srv); /* frees srv from the close callbacks */
    return rc;
}

int pp_httpd_route(pp_httpd_t *srv, const char *prefix, pp_httpd_route_cb cb, void *arg)
{
    if (!srv || !prefix || prefix[0] != '/' || !cb)
        return PP_EINVAL;
    if (srv->n_routes >= PP_HTTPD_MAX_ROUTES)
        return PP_EINVAL;
    pp_httpd_route_t *r = &srv->routes[srv->n_routes];
    r->prefix = strdup(prefix);
    if (!r->prefix)
        return PP_ENOMEM;
    r->len = strlen(prefix);
    r->subtree = prefix[r->len - 1] == '/';
    r->cb = cb;
    r->arg = arg;
    srv->n_routes++;
    return PP_OK;
}

int pp_httpd_body_limit(pp_httpd_t *srv, size_t max, const char *content_type, const char *body,
                        void (*cb)(h2o_req_t *req, void *arg), void *arg)
{
    if (!srv || !content_type || !body || max == 0)
        return PP_EINVAL;
    char *ct = strdup(content_type), *b = strdup(body);
    if (!ct || !b) {
        free(ct);
        free(b);
        return PP_ENOMEM;
    }
    free(srv->toolarge.content_type);
    free(srv->toolarge.body);
    srv->toolarge.content_type = ct;
    srv->toolarge.body = b;
    srv->toolarge.len = strlen(b);
    srv->toolarge.cb = cb;
    srv->toolarge.arg = arg;
    srv->globalconf.max_request_entity_size = max;
    return PP_OK;
}

int pp_httpd_tls(pp_httpd_t *srv, const char *cert_file, const char *key_file, bool http2)
{
    if (!srv || !cert_file || !key_file || srv->accept_ctx.ssl_ctx)
        return PP_EINVAL;
    if (!(srv->accept_ctx.ssl_ctx = pp_httpd_tls_ctx(cert_file, key_file, http2)))
        return PP_EIO;
    return PP_OK;
}

void pp_httpd_stop(pp_httpd_t *srv)
{
    if (!srv || srv->stopping)
        return;
    srv->stopping = true;
    srv->stop_at = (int64_t)uv_now(srv->loop) + PP_HTTPD_FORCE_CLOSE_MS;
    uv_close((uv_handle_t *)&srv->listener, handle_closed_cb);
    /* Answer every deferred request; their timers close when h2o disposes the requests. */
    while (srv->defers) {
        pp_httpd_defer_t *d = srv->defers;
        defer_unlink(d);
        uv_timer_stop(&d->timer);
        static const char msg[] = "shutting down\n";
        pp_httpd_send(d->req, 503, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    }
    /* Half-close: idle keep-alive connections read EOF and close; writes in flight finish. */
    for (pp_httpd_conn_t *c = srv->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RD);
    }
    /* The reaper forces a full close of stragglers after PP_HTTPD_FORCE_CLOSE_MS and is
     * closed with the last connection (conn_closed_cb). */
    uv_timer_stop(&srv->reaper);
    if (srv->conns)
        uv_timer_start(&srv->reaper, reaper_cb, PP_HTTPD_REAP_MS, PP_HTTPD_REAP_MS);
    else
        uv_close((uv_handle_t *)&srv->reaper, handle_closed_cb);
}

static void defer_timer_closed_cb(uv_handle_t *h) { free(h->data); }

/* Disposer of the request-pool slot: runs when h2o frees the request, for any reason. */
static void defer_dispose(void *p)
{
    pp_httpd_defer_t *d = *(pp_httpd_defer_t **)p;
    d->req = NULL;
    if (!d->fired && d->abandoned_cb)
        d->abandoned_cb(d->arg);
    defer_unlink(d);
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, defer_timer_closed_cb);
}

static void defer_fire_cb(uv_timer_t *t)
{
    pp_httpd_defer_t *d = t->data;
    defer_unlink(d);
    if (d->req) {
        d->fired = true;
        d->cb(d->req, d->arg);
    } /* may dispose the request (and close this timer) synchronously */
}

int pp_httpd_defer(h2o_req_t *req, int64_t delay_ms, pp_httpd_defer_cb cb,
                   void (*abandoned_cb)(void *arg), void *arg)
{
    /* Every request we see came through our context, embedded in pp_httpd_t. */
    pp_httpd_t *srv = (pp_httpd_t *)(void *)((char *)req->conn->ctx - offsetof(pp_httpd_t, ctx));
    if (!cb)
        return PP_EINVAL;
    pp_httpd_defer_t *d = calloc(1, sizeof(*d));
    if (!d)
        return PP_ENOMEM;
    pp_httpd_defer_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), defer_dispose);
    *slot = d;
    d->srv = srv;
    d->req = req;
    d->cb = cb;
    d->abandoned_cb = abandoned_cb;
    d->arg = arg;
    d->fd = -1;
    h2o_socket_t *sock =
        req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    if (sock)
        d->fd = h2o_socket_get_fd(sock);
    uv_timer_init(srv->loop, &d->timer);
    d->timer.data = d;
    if (delay_ms >= 0)
        uv_timer_start(&d->timer, defer_fire_cb, (uint64_t)delay_ms, 0);
    d->next = srv->defers;
    if (srv->defers)
        srv->defers->prev = d;
    srv->defers = d;
    d->linked = true;
    srv->stats.deferred++;
    reaper_kick(srv);
    return PP_OK;
}

void pp_httpd_get_stats(const pp_httpd_t *srv, pp_httpd_stats_t *st) { *st = srv->stats; }
