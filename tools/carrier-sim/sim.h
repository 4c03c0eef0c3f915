/*
 * sim.h - the carrier simulator's framework: shared state (options, scenario clock, fault
 * injection, request log) and the shape interface. A carrier shape (inpost.c, dhl.c, ...)
 * says how its real API names numbers in a request, checks credentials, and renders the
 * answer and its errors; the framework does everything else identically for all carriers.
 * Adding a carrier = one shape file + one row in shapes.c.
 */
#ifndef PP_SIM_H
#define PP_SIM_H

#include "httpd.h"
#include "scenario.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define PP_SIM_MAX_BATCH 1000
#define PP_SIM_MAX_SHAPES 16

typedef struct pp_sim_faults {
    double p429, p500, pmalformed, phang;
} pp_sim_faults_t;

typedef struct pp_sim pp_sim_t;

/* Growable output buffer for rendering bodies. */
typedef struct pp_sim_buf {
    char *p;
    size_t len, cap;
    int oom;
} pp_sim_buf_t;
void pp_sim_put(pp_sim_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the buffer over as a finished body (PP_ENOMEM, and freed, if a put ran out of memory). */
int pp_sim_buf_finish(pp_sim_buf_t *b, char **body, size_t *len);
/* Append s as JSON string contents / XML text (escaped). */
void pp_sim_put_escaped_json(pp_sim_buf_t *b, const char *s);
void pp_sim_put_escaped_xml(pp_sim_buf_t *b, const char *s);

/* One parcel of a request, as the scenario engine sees it now. */
typedef struct pp_sim_parcel {
    const char *number;
    bool valid;    /* the shape's number_ok() accepted it */
    int visible;   /* steps of sc that happened; 0 = carrier does not know it yet */
    time_t origin; /* wall time of step offsets 0 */
    pp_sim_scenario_t sc;
} pp_sim_parcel_t;

/* The numbers a request asks about (filled by the shape's parse_request). */
typedef struct pp_sim_call {
    char (*numbers)[64];
    size_t n;
    size_t cap;
    int error_status; /* parse_request may set e.g. 400/405 (with PP_EINVAL) */
} pp_sim_call_t;
int pp_sim_call_add(pp_sim_call_t *call, const char *number, size_t len);

typedef struct pp_sim_shape {
    const char *carrier;      /* "inpost" */
    const char *route;        /* path prefix of the tracking endpoint, e.g. "/v1/tracking/" */
    const char *content_type; /* of the answers, e.g. "application/json; charset=utf-8" */
    /* Numbers from the path, query or body. PP_EINVAL + call->error_status for a bad request. */
    int (*parse_request)(h2o_req_t *req, pp_sim_call_t *call);
    /* Credentials: 0 = accepted; else refused with render_error(401)'s document and this
     * HTTP status (401, or 500 for a SOAP fault; any other nonzero = 401). NULL = no check. */
    int (*check_auth)(pp_sim_t *s, h2o_req_t *req);
    bool (*number_ok)(const char *number);
    /* The whole answer for parcels[0..n): status and body (malloc'd into *body). */
    int (*render)(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len);
    /* The carrier's own error document for an HTTP status (401, 404, 429, 500, 405...). */
    int (*render_error)(int status, char **body, size_t *len);
    /* Optional: more routes (e.g. the OAuth token endpoint). */
    int (*register_routes)(pp_sim_t *s);
} pp_sim_shape_t;

/* shapes.c: every carrier shape, NULL-terminated. */
extern const pp_sim_shape_t *const pp_sim_shapes[];

/* How the rate-limit fault sends Retry-After: delta-seconds, an HTTP-date, or not at all. */
enum { PP_SIM_RA_SECONDS = 0, PP_SIM_RA_DATE = 1, PP_SIM_RA_NONE = 2 };

#define PP_SIM_MAX_HOSTILE 16
enum {
    PP_SIM_HOSTILE_CONTROL = 1,
    PP_SIM_HOSTILE_UTF8 = 2,
    PP_SIM_HOSTILE_LONG = 3,
    PP_SIM_HOSTILE_QUOTE = 4,
    PP_SIM_HOSTILE_HUGE = 5
};

struct pp_sim {
    uv_loop_t *loop;
    pp_httpd_t *srv;
    pp_sim_clock_t *clock;
    /* options */
    double speed;
    double not_found_min;
    double age_min;         /* --age-minutes: a number's age at its first request */
    pp_sim_faults_t faults; /* for every carrier ... */
    pp_sim_faults_t carrier_faults[PP_SIM_MAX_SHAPES]; /* ... or per carrier (index in pp_sim_shapes) */
    bool has_carrier_faults[PP_SIM_MAX_SHAPES];
    long lat_min, lat_max;
    long retry_after;
    int retry_after_form;  /* PP_SIM_RA_SECONDS, PP_SIM_RA_DATE or PP_SIM_RA_NONE */
    int rate_limit_status; /* status of the rate-limit fault: 429, or 503 */
    const char *token;     /* static bearer / API key the shapes require, or NULL */
    const char *client_id; /* OAuth client credentials the token endpoints require */
    const char *client_secret;
    long token_ttl_s; /* lifetime of issued OAuth tokens */
    struct {
        char number[64];
        int kind;                  /* PP_SIM_HOSTILE_* */
    } hostile[PP_SIM_MAX_HOSTILE]; /* --hostile: these numbers' answers carry hostile places */
    int n_hostile;
    FILE *log;
    time_t epoch;
    bool manual_clock; /* --clock manual: sim time moves only through /sim/clock */
    int64_t manual_ms; /* ... and stands here (sim ms since start) */
    uint64_t rng;
    int64_t started_ms;
    uint64_t issued_tokens;
    struct {
        uint64_t requests, ok, not_found, unauthorized, rate_limited, server_error, malformed, hung,
            abandoned, bad_request, token_requests;
    } n;
};

/* Register every shape's routes and /sim/stats. */
int pp_sim_register(pp_sim_t *s);
double pp_sim_uniform(pp_sim_t *s);
/* OAuth helpers for shapes: issue a token valid token_ttl_s, and check a bearer header. */
void pp_sim_issue_token(pp_sim_t *s, char *out, size_t cap);
bool pp_sim_token_valid(pp_sim_t *s, const char *token, size_t len);
/* hostile.c: --hostile NUMBER=control|utf8|long (PP_EINVAL and a message if malformed), and
 * the rewrite of an answer naming such a number: every place (towns, branch codes) becomes a
 * control character (JSON "KRA\\u0001X", XML "KRA&#x85;&#x9b;X"), invalid UTF-8 or a long Polish
 * name (in a batch answer, the whole answer). *body is replaced (malloc'd). */
int pp_sim_hostile_add(pp_sim_t *s, const char *spec);
int pp_sim_hostile_apply(const pp_sim_t *s, const char (*numbers)[64], size_t n, char **body,
                         size_t *len);
/* Index of a carrier in pp_sim_shapes, or -1. */
int pp_sim_shape_index(const char *carrier);

/* simclock.c: sim ms since start: real time x speed, or the manual clock's reading. */
int64_t pp_sim_now_ms(const pp_sim_t *s);
/* Register GET/POST /sim/clock (read; advance=N seconds or step=next in manual mode). */
int pp_sim_clock_register(pp_sim_t *s);

#endif
