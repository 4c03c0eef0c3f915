/* httpd.h - a small HTTP/1.1 server on the libuv loop (h2o 2.2.x): listener, routes, responses, clean stop. */
#ifndef PP_HTTPD_H
#define PP_HTTPD_H

#ifndef H2O_USE_LIBUV
#define H2O_USE_LIBUV 1
#endif
#include <h2o.h>
#include <uv.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Lifetime: pp_httpd_start() allocates the server; pp_httpd_stop() closes the listener,
 * answers deferred requests with 503, half-closes every connection and frees the server
 * from the close callbacks once every handle it owns has closed. So after stop, let the
 * loop run (uv_run returns when nothing else is alive) BEFORE a uv_walk that closes the
 * remaining handles; never uv_close() a handle owned by the server yourself.
 * Loop-thread only.
 */
typedef struct pp_httpd pp_httpd_t;

/*
 * A route callback answers the request now (pp_httpd_send) or later (pp_httpd_defer).
 * Return 0, or a negative PP_E* code: the server then answers 500 and logs it.
 */
typedef int (*pp_httpd_route_cb)(h2o_req_t *req, void *arg);

/* Called when a deferred request is due; must answer it (pp_httpd_send). */
typedef void (*pp_httpd_defer_cb)(h2o_req_t *req, void *arg);

/*
 * Listen on addr "host:port" ("127.0.0.1:8080", "[::1]:0", "localhost:0"; port 0 = any free
 * port). *bound_port (if not NULL) gets the port actually bound. Returns 0, PP_EINVAL for a
 * bad address, PP_EIO if bind/listen fails, PP_ENOMEM.
 */
int pp_httpd_start(uv_loop_t *loop, const char *addr, pp_httpd_t **out, int *bound_port)
    __attribute__((warn_unused_result));

/*
 * Register a route. A prefix ending in '/' matches every path under it ("/v1/tracking/");
 * any other prefix matches that exact path ("/metrics"). Longest match wins; no match = 404.
 * The prefix is copied; arg must outlive the server (or the stop call). At most 16 routes.
 */
int pp_httpd_route(pp_httpd_t *srv, const char *prefix, pp_httpd_route_cb cb, void *arg)
    __attribute__((warn_unused_result));

/*
 * Refuse request bodies over max bytes while reading them (h2o's max_request_entity_size,
 * default 1 GiB): a Content-Length over it is answered 413 before any of the body is read
 * (a chunked body once it passes max), before any route runs, and the connection is closed.
 * The answer carries content_type and body (copied) instead of h2o's plain text; cb(arg) (may
 * be NULL) runs for each such refusal (metrics, the access log; req's answer is set: status,
 * content_length). A route's own 413 is left alone. 0, PP_EINVAL,
 * PP_ENOMEM.
 */
int pp_httpd_body_limit(pp_httpd_t *srv, size_t max, const char *content_type, const char *body,
                        void (*cb)(h2o_req_t *req, void *arg), void *arg)
    __attribute__((warn_unused_result));

/*
 * The client's address as text into out (cap bytes): "192.0.2.7" (an IPv4-mapped IPv6 peer
 * too), "2001:db8::1"; with v6_prefix64 an IPv6 client as its /64 ("2001:db8:0:1::/64"), the
 * block one subscriber usually holds. 0, PP_EINVAL or PP_EIO.
 */
int pp_httpd_peer(const h2o_req_t *req, bool v6_prefix64, char *out, size_t cap)
    __attribute__((warn_unused_result));

/*
 * Serve HTTPS on the listener (before any connection comes): cert_file is a PEM chain (the
 * server's certificate first), key_file its PEM key. http2: ALPN offers h2 (HTTP/2, up to
 * 100 streams a connection) before http/1.1; false: http/1.1 only. The server keeps the
 * context until it is freed. 0, PP_EINVAL, PP_EIO (a file unreadable or not a matching pair).
 */
int pp_httpd_tls(pp_httpd_t *srv, const char *cert_file, const char *key_file, bool http2)
    __attribute__((warn_unused_result));
/* httpd_tls.c: the OpenSSL context pp_httpd_tls uses; NULL (logged) on failure. */
SSL_CTX *pp_httpd_tls_ctx(const char *cert_file, const char *key_file, bool http2);

/* Begin a clean stop (see above). NULL is allowed; idempotent via the caller dropping srv. */
void pp_httpd_stop(pp_httpd_t *srv);

/* Add a response header (copied into the request pool). Call before pp_httpd_send. */
void pp_httpd_header(h2o_req_t *req, const char *name, const char *value);

/* Send a complete response; body is copied. content_type may be NULL. */
void pp_httpd_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);

/*
 * Answer later: cb(req, arg) runs after delay_ms. delay_ms < 0 means never: the request
 * stays open until the client gives up (detected within ~250 ms, then torn down) or the
 * server stops. Exactly one of cb or abandoned_cb (if not NULL) runs: abandoned_cb(arg)
 * when the client disconnected or the server stopped first (the request is then disposed
 * safely; do not touch it). Use it to free arg. Returns 0, PP_EINVAL or PP_ENOMEM (then
 * neither runs).
 */
int pp_httpd_defer(h2o_req_t *req, int64_t delay_ms, pp_httpd_defer_cb cb,
                   void (*abandoned_cb)(void *arg), void *arg) __attribute__((warn_unused_result));

/* Request helpers: the path without the query (not NUL-terminated) and a header value. */
h2o_iovec_t pp_httpd_path(const h2o_req_t *req);
/* Value of request header name (case-insensitive), or {NULL,0}. */
h2o_iovec_t pp_httpd_req_header(const h2o_req_t *req, const char *name);

/* Counters for /sim/stats and tests. */
typedef struct pp_httpd_stats {
    uint64_t accepted;  /* connections accepted */
    uint64_t open;      /* connections open now */
    uint64_t requests;  /* requests dispatched */
    uint64_t http2;     /* of which over HTTP/2 */
    uint64_t deferred;  /* requests waiting on pp_httpd_defer now */
    uint64_t abandoned; /* deferred requests whose client went away */
    uint64_t too_large; /* bodies refused while reading (pp_httpd_body_limit) */
} pp_httpd_stats_t;
void pp_httpd_get_stats(const pp_httpd_t *srv, pp_httpd_stats_t *st);

#endif
