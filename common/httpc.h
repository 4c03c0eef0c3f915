/* httpc.h - asynchronous HTTP client: libcurl multi driven by the libuv loop (never blocks). */
#ifndef PP_HTTPC_H
#define PP_HTTPC_H

#include "carriers/carrier.h"

#include <stddef.h>
#include <uv.h>

typedef struct pp_httpc pp_httpc_t;

/* Completion of one request. Valid only during the callback (the client frees it). */
typedef struct pp_http_response {
    int err; /* 0 = a response arrived (any status); PP_ETIMEOUT, PP_EHTTP (transport), PP_EAGAIN (client closing) */
    int status;       /* HTTP status, 0 when no response */
    const char *body; /* NUL-terminated, body_len bytes ("" if none) */
    size_t body_len;
    long retry_after_s; /* Retry-After header in seconds (delta or HTTP-date), -1 if absent */
    double total_s;     /* total transfer time */
    const char *errmsg; /* "" when err == 0; else CURLcode text + curl's error buffer */
} pp_http_response_t;

typedef void (*pp_httpc_done_cb)(const pp_http_response_t *resp, void *arg);

/*
 * How the client talks to servers. HTTPS is HTTP/2 (with http2) when the server offers it in ALPN (many
 * requests as streams of a few connections), HTTP/1.1 otherwise (one request per connection
 * at a time), with at most max_host_connections connections to one host: requests beyond
 * wait for a free stream or connection. Plain http is HTTP/1.1, one connection per request in
 * flight, without a cap.
 */
typedef struct pp_httpc_opts {
    const char *ca_file;       /* PEM bundle of CAs to trust (instead of the system's bundle file;
                            the system's CA directory stays); NULL or "" = the system's */
    int http2;                 /* 1 = HTTP/2 where an HTTPS server offers h2; 0 = HTTP/1.1 */
    long max_host_connections; /* HTTPS: connections to one host at most; 0 = 64 */
} pp_httpc_opts_t;

/*
 * One client per loop; connections are kept alive and shared by all requests. o may be NULL
 * (the defaults: system CAs, HTTP/2 where offered, 64 connections); the client copies what
 * it needs.
 */
int pp_httpc_init(pp_httpc_t **out, uv_loop_t *loop, const pp_httpc_opts_t *o)
    __attribute__((warn_unused_result));
/*
 * Start a request (the client copies what it needs from req; the caller still frees req).
 * done is called exactly once, on the loop, never from inside pp_httpc_send.
 * timeout_ms bounds the whole transfer (connect + response).
 */
int pp_httpc_send(pp_httpc_t *h, const pp_http_request_t *req, long timeout_ms,
                  pp_httpc_done_cb done, void *arg) __attribute__((warn_unused_result));
/* Requests started and not yet completed. */
int pp_httpc_inflight(const pp_httpc_t *h);
/*
 * Abort what is in flight (each done gets err = PP_EAGAIN), close every handle; the
 * client is freed by the last close callback (run the loop).
 */
void pp_httpc_close(pp_httpc_t *h);

#endif
