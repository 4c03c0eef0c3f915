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

/* One client per loop; connections are kept alive and shared by all requests. */
int pp_httpc_init(pp_httpc_t **out, uv_loop_t *loop) __attribute__((warn_unused_result));
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
