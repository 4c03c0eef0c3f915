/* api.h - pp-api's server context and the route/request helpers every route file uses. */
#ifndef PP_API_H
#define PP_API_H

#include "budget.h"
#include "config.h"
#include "db.h"
#include "httpd.h"
#include "metrics.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <uv.h>

#define PP_API_MAX_ROUTES 64
#define PP_API_MAX_PARAMS 4
#define PP_API_PARAM_MAX 64 /* a path parameter is at most 63 bytes */

typedef struct pp_api pp_api_t;
typedef struct pp_api_req pp_api_req_t;
typedef struct pp_api_ratelimit pp_api_ratelimit_t;

/* Who may call a route; the server checks it before the handler runs. */
typedef enum {
    PP_API_AUTH_NONE = 0,    /* anyone (web pages); the handler may check itself */
    PP_API_AUTH_SERVICE = 1, /* Authorization: Bearer <api_service_key> (the marketplace) */
    PP_API_AUTH_SELLER = 2,  /* Authorization: Bearer <a seller's API key> (sellers.api_key_hash) */
    PP_API_AUTH_BUYER = 4,   /* Authorization: Bearer <buyer token> (verified by api->buyer_auth) */
} pp_api_auth_kind_t;

/* The authenticated caller, filled in before the handler runs. */
typedef struct pp_api_auth {
    pp_api_auth_kind_t kind; /* the one that matched (NONE for public routes) */
    long long seller_id;     /* kind == SELLER */
    long long user_id;       /* kind == BUYER */
} pp_api_auth_t;

/*
 * A route handler: answer now (pp_api_reply_*) or start database work (pp_api_db) whose
 * done callback answers. Return 0, or a negative PP_E*: the server then answers 500.
 */
typedef int (*pp_api_handler_fn)(pp_api_req_t *r);

/* Runs on a threadpool thread with a connection (parameterized SQL only). Return 0 or PP_E*. */
typedef int (*pp_api_work_fn)(PGconn *conn, pp_api_req_t *r);
/* Runs on the loop with the work's result; must answer (pp_api_reply_*), or chain pp_api_db. */
typedef void (*pp_api_done_fn)(pp_api_req_t *r, int rc);

/*
 * Buyer-token verifier (set by the settings code; NULL = buyer tokens are refused). Runs
 * on the loop, must not block: verify token (HMAC) and set *user_id. 0 = valid.
 */
typedef int (*pp_api_buyer_auth_fn)(pp_api_t *a, const char *token, size_t len, long long *user_id);

struct pp_api {
    struct pp_daemon *daemon; /* the process frame (common/daemon.h) */
    pp_config_t *cfg;         /* not owned */
    uv_loop_t *loop;
    pp_db_t *db;
    pp_metrics_t *metrics;
    pp_httpd_t *httpd;
    int port;              /* bound API port */
    const char *worker_id; /* the frame's (pp_daemon_worker_id) */
    pp_api_buyer_auth_fn buyer_auth;
    void *buyer_auth_arg;            /* for buyer_auth, not owned */
    pp_api_ratelimit_t *rl;          /* auth.c: buckets of verified keys */
    pp_api_ratelimit_t *rl_fail;     /* auth.c: failed authentications per client address */
    pp_api_ratelimit_t *rl_fail_net; /* auth.c: ... per network (IPv4 /24, IPv6 /48) */
    pp_bucket_t auth_fail_all;       /* auth.c: ... of all clients (set on first use) */
    bool auth_fail_all_set;
    struct pp_api_key_slot *key_cache; /* request.c: seller keys found valid lately */
    int stopping;                      /* 0 serving; >0 graceful stop in progress */
    long long n_requests, n_errors_4xx, n_errors_5xx;
    /* internals of server.c */
    struct pp_api_route *routes;
    int n_routes;
};

/* What a request's access-log line says (access.h), gathered when it starts: nothing that
 * can hold a secret. */
typedef struct pp_api_access {
    bool on;              /* api_access_log when the request came */
    const char *method;   /* a known method's name, or "OTHER" (static) */
    char path[256];       /* route.h pp_api_route_log_path */
    char client[64];      /* the peer's address ("" unknown) */
    char request_id[65];  /* X-Request-Id when it is 1-64 of [A-Za-z0-9._:-], else "" */
    struct timeval begin; /* h2o's request_begin_at (wall clock) */
} pp_api_access_t;

/* One request in flight. Owned by the server: valid until the handler answered AND no
 * pp_api_db work is pending; never free it. */
struct pp_api_req {
    pp_api_t *api;
    h2o_req_t *req;      /* NULL once the client went away (replies become no-ops) */
    const char *pattern; /* the route's pattern, e.g. "/v1/transactions/{id}" */
    const char *method;  /* "GET", "PUT", ... (the route's) */
    int nparams;
    char param_names[PP_API_MAX_PARAMS][32];
    char params[PP_API_MAX_PARAMS][PP_API_PARAM_MAX];
    pp_api_auth_t auth;
    pp_api_access_t access;
    char key_hash[65]; /* hex SHA-256 of the presented bearer key ("" if none) */
    char peer[64];     /* client address (IPv6: its /64), set when a key is presented */
    /* The handler's own state: freed with data_free(data) when the request is released. */
    void *data;
    void (*data_free)(void *data);
    /* internals */
    uint64_t start_ns;
    pp_api_work_fn work;
    pp_api_done_fn done;
    pp_api_handler_fn handler;
    bool answered, db_busy, req_gone;
};

/*
 * Register a route: method "GET"|"PUT"|"POST"|"DELETE"; pattern of literal segments and
 * {name} parameters ("/v1/transactions/{id}/shipment"); auth = OR of pp_api_auth_kind_t
 * (0 = public). The strings must be static. PP_ENOMEM when the table is full.
 */
int pp_api_route(pp_api_t *a, const char *method, const char *pattern, int auth, pp_api_handler_fn fn)
    __attribute__((warn_unused_result));

/* Route-registration table (api/routes.c): one row per route file. */
typedef int (*pp_api_register_fn)(pp_api_t *a);
extern const pp_api_register_fn pp_api_route_files[];

/* Path parameter by name ("id"), NULL if none. */
const char *pp_api_param(const pp_api_req_t *r, const char *name);
/* Path parameter as a positive 64-bit id in canonical form (no sign, no leading zero: 0100 is
 * refused, not taken as 100): 0, or PP_EINVAL (caller answers 400 / 404). */
int pp_api_param_id(const pp_api_req_t *r, const char *name, long long *out)
    __attribute__((warn_unused_result));
/* Header value (case-insensitive) or {NULL, 0}. */
h2o_iovec_t pp_api_header(const pp_api_req_t *r, const char *name);

/* The handler's job: size zeroed bytes as r->data, released with data_free; NULL (the handler
 * returns PP_ENOMEM) when out of memory. */
void *pp_api_job_new(pp_api_req_t *r, size_t size, void (*data_free)(void *));

/*
 * body.c: parse the request body as a JSON object, strictly. On failure answers the request
 * itself and returns NULL (the handler then just returns 0): 415 unless Content-Type is
 * application/json (optionally ; charset=utf-8); 400 invalid_json for anything but one object
 * of RFC 8259 tokens (data after it, a key twice in one object, a control byte between tokens,
 * a number such as 0100, +1, .5, 5., 0x1f or NaN); 400 invalid_text
 * with "field" when a string holds a control character or invalid UTF-8 (escapes included).
 * (Bodies over api_max_body never get here: 413 while reading.) Caller cJSON_Delete()s.
 */
cJSON *pp_api_body_json(pp_api_req_t *r);

/* body.c: the parts of pp_api_body_json, without a request. */
typedef struct pp_api_json_err {
    const char *code; /* "invalid_json" or "invalid_text" (static) */
    char field[64];   /* the field concerned, "" if none or unknown */
    char message[160];
} pp_api_json_err_t;
bool pp_api_json_media_type(const char *content_type, size_t len);
/* One JSON object in buf[0..len) under the rules above: 0 and *out (caller deletes), or
 * PP_EINVAL and *err. */
int pp_api_json_strict(const char *buf, size_t len, cJSON **out, pp_api_json_err_t *err)
    __attribute__((warn_unused_result));

/* Answers (each no-op if already answered or the client is gone). body: not consumed. */
void pp_api_reply_json(pp_api_req_t *r, int status, const cJSON *body);
/* {"error":{"code":code,"message":message}} */
void pp_api_reply_error(pp_api_req_t *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Raw answer (HTML pages, ...). */
void pp_api_reply(pp_api_req_t *r, int status, const char *content_type, const char *body, size_t len);
/* Add a response header before answering. */
void pp_api_header_set(pp_api_req_t *r, const char *name, const char *value);

/*
 * Run work(conn, r) on the DB pool, then done(r, rc) on the loop. Returns 0 or PP_E*
 * (then neither runs: answer 503 yourself, or return the code to get a 500).
 */
int pp_api_db(pp_api_req_t *r, pp_api_work_fn work, pp_api_done_fn done)
    __attribute__((warn_unused_result));
/* Standard answer for a failed DB job: PP_EDB -> 503 unavailable, other codes -> 500. */
void pp_api_reply_db_error(pp_api_req_t *r, int rc);

/* Rate limit one key (any string, e.g. a verified key's hash or "buyer:42"): true = allowed;
 * when refused, answers 429 with Retry-After itself (request.c). Call it only for keys already
 * verified: each new key takes a bucket (and may evict another key's). */
bool pp_api_rate_allow(pp_api_req_t *r, const char *key);
/* Answer 429 with Retry-After (whole seconds, at least 1): "too many <what>; retry after N s". */
void pp_api_reply_limited(pp_api_req_t *r, int64_t wait_ms, const char *code, const char *what);
/* auth.c (answers nothing itself): the key's bucket; 0 = one token taken, else the wait in ms
 * (nothing taken; pp_api_rate_limited_total counted). */
int64_t pp_api_rate_take(pp_api_t *a, const char *key);
/* Failed authentications per client address (api_auth_fail_per_min, _burst), per network
 * (IPv4 /24, IPv6 /48: api_auth_fail_net_*) and of all clients (api_auth_fail_global_*): take
 * one token of each before a key is checked the expensive way (or refused); 0 = taken, else the
 * wait in ms of the level that is over its limit (nothing taken; *what names it for the 429;
 * pp_api_auth_throttled_total, _network_total, _all_total). Give the tokens back with
 * pp_api_authfail_refund when the key turns out valid (or the check could not run). */
int64_t pp_api_authfail_take(pp_api_t *a, const char *peer, const char **what);
void pp_api_authfail_refund(pp_api_t *a, const char *peer);
/* The network of a client address as pp_httpd_peer writes it, into out: "a.b.c.0/24" for
 * IPv4, "x:y:z::/48" for IPv6 (given as "x:...::/64"); anything else as it is. */
void pp_api_peer_network(const char *peer, char *out, size_t cap);

/* Hex SHA-256 (OpenSSL EVP) of data into out[65]. 0 or PP_EIO. */
int pp_api_sha256_hex(const void *data, size_t len, char out[65]) __attribute__((warn_unused_result));
/* Constant-time comparison of two byte strings (length leaks, content does not). */
bool pp_api_consttime_eq(const void *a, size_t alen, const void *b, size_t blen);

/*
 * The payment card of transaction txn as JSON (see schema/openapi.json TransactionCard),
 * built in a DB work function; *seller_id / *buyer_id (may be NULL) get its parties so
 * the caller can authorize. PP_ENOTFOUND when there is no such transaction.
 */
int pp_api_card_query(PGconn *conn, long long txn, cJSON **out, long long *seller_id,
                      long long *buyer_id) __attribute__((warn_unused_result));

/* buyer.c: the buyer's NotificationSettings JSON (with the pending IM link) in a DB work
 * function; PP_ENOTFOUND when there is no such user. */
int pp_api_settings_query(PGconn *conn, long long user_id, cJSON **out)
    __attribute__((warn_unused_result));
/* buyer.c: the per-buyer rate limit (on top of the per-token one); answers 429 itself. */
bool pp_api_buyer_rate_allow(pp_api_req_t *r);
/* buyer.c: a bare XMPP address: local@domain, printable ASCII without spaces, '/' or a second '@'. */
bool pp_api_valid_xmpp_address(const char *s);

/* request.c: route every path of a->httpd through the pp_api_route table. */
int pp_api_dispatch_install(pp_api_t *a) __attribute__((warn_unused_result));

/* server.c: the process's hooks for the daemon frame (main.c). */
extern const struct pp_daemon_hooks pp_api_hooks;

#endif
