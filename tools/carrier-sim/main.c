/* main.c - pp-carrier-sim: options, fault injection, request log and the HTTP routes of the simulator. */
#include "err.h"
#include "httpd.h"
#include "inpost.h"
#include "log.h"
#include "scenario.h"
#include "timeutil.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim {
    uv_loop_t *loop;
    pp_httpd_t *srv;
    uv_signal_t sigterm, sigint;
    pp_sim_clock_t *clock;
    /* options */
    const char *listen;
    double speed;
    double not_found_min;
    double p429, p500, pmalformed, phang;
    long lat_min, lat_max;
    long retry_after;
    const char *token;
    const char *log_path;
    FILE *log;
    uint64_t seed;
    time_t epoch; /* 0 = per-number first request time */
    /* state */
    uint64_t rng;
    int64_t started_ms;
    struct {
        uint64_t requests, ok, not_found, unauthorized, rate_limited, server_error, malformed, hung,
            abandoned, bad_method;
    } n;
} sim_t;

typedef enum { K_OK, K_NOT_FOUND, K_UNAUTH, K_429, K_500, K_MALFORMED, K_HANG, K_METHOD } kind_t;
static const char *const kind_names[] = {"ok", "not_found", "unauthorized", "rate_limited",
                                         "server_error", "malformed", "hang", "bad_method"};

typedef struct pending {
    sim_t *sim;
    kind_t kind;
    int status;
    char number[64]; /* sanitized for the log */
    int64_t recv_ms;
    char *body;
    size_t len;
} pending_t;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double uniform(sim_t *s)
{
    return (double)(xorshift(&s->rng) >> 11) / 9007199254740992.0;
}

static void log_request(sim_t *s, const pending_t *p, int status)
{
    if (!s->log)
        return;
    fprintf(s->log, "{\"number\":\"%s\",\"recv_ms\":%lld,\"sent_ms\":%lld,\"status\":%d,\"kind\":\"%s\"}\n",
            p->number, (long long)p->recv_ms, (long long)pp_now_ms(), status, kind_names[p->kind]);
    fflush(s->log);
}

static void pending_free(pending_t *p)
{
    free(p->body);
    free(p);
}

static void respond(h2o_req_t *req, pending_t *p)
{
    if (p->kind == K_429) {
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", p->sim->retry_after);
        pp_httpd_header(req, "retry-after", ra);
    }
    pp_httpd_send(req, p->status, "application/json; charset=utf-8", p->body, p->len);
    log_request(p->sim, p, p->status);
    pending_free(p);
}

static void respond_later_cb(h2o_req_t *req, void *arg)
{
    respond(req, arg);
}

static void abandoned_cb(void *arg)
{
    pending_t *p = arg;
    p->sim->n.abandoned++;
    log_request(p->sim, p, 0);
    pending_free(p);
}

static int set_error(pending_t *p, int status, const char *error, const char *desc)
{
    char buf[512];
    size_t n = pp_sim_inpost_error(status, error, desc, buf, sizeof buf);
    p->status = status;
    p->body = strndup(buf, n);
    p->len = n;
    return p->body ? PP_OK : PP_ENOMEM;
}

/* The tracking answer itself (no faults): 200 with the visible steps or 404 not found yet. */
static int build_answer(sim_t *s, pending_t *p, const char *number)
{
    int64_t first_ms, first_wall_ms;
    pp_sim_scenario_t sc;
    int rc = pp_sim_clock_first_seen(s->clock, number, pp_mono_ms(), &first_ms, &first_wall_ms,
                                     pp_now_ms());
    if (rc)
        return rc;
    int64_t elapsed_s = (int64_t)((double)(pp_mono_ms() - first_ms) * s->speed / 1000.0);
    pp_sim_scenario_build(number, (int64_t)(s->not_found_min * 60.0), &sc);
    int visible = pp_sim_scenario_visible(&sc, elapsed_s);
    if (visible == 0)
        return set_error(p, 404, "resource_not_found", "Tracking number not found.");
    time_t origin = s->epoch ? s->epoch : (time_t)(first_wall_ms / 1000);
    p->status = 200;
    return pp_sim_inpost_body(number, &sc, visible, origin, &p->body, &p->len);
}

static int on_tracking(h2o_req_t *req, void *arg)
{
    sim_t *s = arg;
    char number[64];
    int rc;
    s->n.requests++;
    h2o_iovec_t path = pp_httpd_path(req);
    size_t plen = strlen("/v1/tracking/");
    size_t nlen = path.len - plen;
    pending_t *p = calloc(1, sizeof(*p));
    if (!p)
        return PP_ENOMEM;
    p->sim = s;
    p->recv_ms = pp_now_ms();
    if (nlen >= sizeof number)
        nlen = sizeof number - 1;
    memcpy(number, path.base + plen, nlen);
    number[nlen] = '\0';
    for (size_t i = 0; i <= nlen; i++) /* the log line stays valid JSON */
        p->number[i] = (number[i] == '"' || number[i] == '\\' || (number[i] && (unsigned char)number[i] < 0x20)) ? '?' : number[i];

    h2o_iovec_t auth = pp_httpd_req_header(req, "authorization");
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        p->kind = K_METHOD;
        s->n.bad_method++;
        rc = set_error(p, 405, "method_not_allowed", "Only GET is supported.");
    } else if (s->token && (auth.len != strlen(s->token) + 7 || memcmp(auth.base, "Bearer ", 7) != 0 ||
                            memcmp(auth.base + 7, s->token, strlen(s->token)) != 0)) {
        p->kind = K_UNAUTH;
        s->n.unauthorized++;
        rc = set_error(p, 401, "token_invalid", "Token is missing or invalid.");
    } else if (!pp_sim_inpost_number_ok(number)) {
        p->kind = K_NOT_FOUND;
        s->n.not_found++;
        rc = set_error(p, 404, "resource_not_found", "Tracking number not found.");
    } else {
        double u = uniform(s);
        if (u < s->p429) {
            p->kind = K_429;
            s->n.rate_limited++;
            rc = set_error(p, 429, "too_many_requests", "Too many requests, slow down.");
        } else if (u < s->p429 + s->p500) {
            p->kind = K_500;
            s->n.server_error++;
            rc = set_error(p, 500, "internal_server_error", "Something went wrong.");
        } else if (u < s->p429 + s->p500 + s->pmalformed) {
            p->kind = K_MALFORMED;
            s->n.malformed++;
            if ((rc = build_answer(s, p, number)) == 0) {
                p->status = 200;
                if (p->len > 2) /* cut the document short: never valid JSON */
                    p->len = 1 + (size_t)(uniform(s) * (double)(p->len - 2));
            }
        } else if (u < s->p429 + s->p500 + s->pmalformed + s->phang) {
            p->kind = K_HANG;
            s->n.hung++;
            rc = pp_httpd_defer(req, -1, respond_later_cb, abandoned_cb, p);
            if (rc)
                pending_free(p);
            return rc;
        } else {
            rc = build_answer(s, p, number);
            p->kind = p->status == 200 ? K_OK : K_NOT_FOUND;
            if (p->status == 200)
                s->n.ok++;
            else
                s->n.not_found++;
        }
    }
    if (rc) {
        pending_free(p);
        return rc;
    }
    long lat = s->lat_min;
    if (s->lat_max > s->lat_min)
        lat += (long)(uniform(s) * (double)(s->lat_max - s->lat_min + 1));
    if (lat > 0) {
        if ((rc = pp_httpd_defer(req, lat, respond_later_cb, abandoned_cb, p)) != 0)
            pending_free(p);
        return rc;
    }
    respond(req, p);
    return PP_OK;
}

static int on_stats(h2o_req_t *req, void *arg)
{
    sim_t *s = arg;
    pp_httpd_stats_t hs;
    char buf[1024];
    pp_httpd_get_stats(s->srv, &hs);
    int n = snprintf(buf, sizeof buf,
                     "{\"requests\":%llu,\"ok\":%llu,\"not_found\":%llu,\"unauthorized\":%llu,"
                     "\"rate_limited\":%llu,\"server_error\":%llu,\"malformed\":%llu,\"hung\":%llu,"
                     "\"abandoned\":%llu,\"bad_method\":%llu,\"numbers\":%zu,\"connections_open\":%llu,"
                     "\"connections_accepted\":%llu,\"deferred_now\":%llu,\"speed\":%g,\"uptime_ms\":%lld}\n",
                     (unsigned long long)s->n.requests, (unsigned long long)s->n.ok,
                     (unsigned long long)s->n.not_found, (unsigned long long)s->n.unauthorized,
                     (unsigned long long)s->n.rate_limited, (unsigned long long)s->n.server_error,
                     (unsigned long long)s->n.malformed, (unsigned long long)s->n.hung,
                     (unsigned long long)s->n.abandoned, (unsigned long long)s->n.bad_method,
                     pp_sim_clock_count(s->clock), (unsigned long long)hs.open,
                     (unsigned long long)hs.accepted, (unsigned long long)hs.deferred, s->speed,
                     (long long)(pp_mono_ms() - s->started_ms));
    pp_httpd_send(req, 200, "application/json", buf, (size_t)n);
    return PP_OK;
}

static void on_signal(uv_signal_t *h, int signum)
{
    sim_t *s = h->data;
    pp_info("signal %d: stopping", signum);
    pp_httpd_stop(s->srv);
    s->srv = NULL;
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "pp-carrier-sim: %s wants a number in [%g, %g], got '%s'\n", opt, lo, hi, v);
        return PP_EINVAL;
    }
    *out = d;
    return PP_OK;
}

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out, char **rest)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || (!rest && *end) || n < lo || n > hi) {
        fprintf(stderr, "pp-carrier-sim: %s wants an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, v);
        return PP_EINVAL;
    }
    *out = n;
    if (rest)
        *rest = end;
    return PP_OK;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pp-carrier-sim [options]\n"
            "  --listen HOST:PORT       listen address (default 127.0.0.1:0 = any free port)\n"
            "  --speed N                sim time = real time x N (default 1)\n"
            "  --not-found-minutes M    404 for the first M sim-minutes of a number (default 10)\n"
            "  --p429 F --p500 F        fraction of tracking requests answered 429 / 500\n"
            "  --pmalformed F           fraction answered 200 with a truncated JSON body\n"
            "  --phang F                fraction never answered (until the client gives up)\n"
            "  --latency-ms MIN[-MAX]   answer delay, uniform in [MIN, MAX] ms\n"
            "  --retry-after S          Retry-After seconds on 429 (default 2)\n"
            "  --token T                require 'Authorization: Bearer T' (else 401)\n"
            "  --log-requests FILE      one JSON line per request (number, recv_ms, sent_ms, status)\n"
            "  --seed S                 fault-injection PRNG seed (default 1)\n"
            "  --epoch ISO8601          fixed time origin of every scenario (default: first request)\n"
            "Routes: GET /v1/tracking/{number} (InPost ShipX shape), GET /sim/stats.\n");
}

static int parse_args(sim_t *s, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "pp-carrier-sim: unknown option or missing value: %s\n", o);
            return PP_EINVAL;
        }
        const char *v = argv[++i];
        long l;
        int rc = PP_OK;
        if (!strcmp(o, "--listen"))
            s->listen = v;
        else if (!strcmp(o, "--speed"))
            rc = parse_double(o, v, 0.001, 1e7, &s->speed);
        else if (!strcmp(o, "--not-found-minutes"))
            rc = parse_double(o, v, 0, 1e6, &s->not_found_min);
        else if (!strcmp(o, "--p429"))
            rc = parse_double(o, v, 0, 1, &s->p429);
        else if (!strcmp(o, "--p500"))
            rc = parse_double(o, v, 0, 1, &s->p500);
        else if (!strcmp(o, "--pmalformed"))
            rc = parse_double(o, v, 0, 1, &s->pmalformed);
        else if (!strcmp(o, "--phang"))
            rc = parse_double(o, v, 0, 1, &s->phang);
        else if (!strcmp(o, "--retry-after"))
            rc = parse_long(o, v, 0, 86400, &s->retry_after, NULL);
        else if (!strcmp(o, "--token"))
            s->token = v;
        else if (!strcmp(o, "--log-requests"))
            s->log_path = v;
        else if (!strcmp(o, "--seed")) {
            rc = parse_long(o, v, 0, 0x7fffffffL, &l, NULL);
            s->seed = (uint64_t)l;
        } else if (!strcmp(o, "--epoch")) {
            if (pp_time_parse_iso(v, &s->epoch, NULL) != 0 || s->epoch <= 0) {
                fprintf(stderr, "pp-carrier-sim: --epoch wants ISO 8601, got '%s'\n", v);
                rc = PP_EINVAL;
            }
        } else if (!strcmp(o, "--latency-ms")) {
            char *rest;
            rc = parse_long(o, v, 0, 600000, &s->lat_min, &rest);
            s->lat_max = s->lat_min;
            if (rc == 0 && *rest == '-')
                rc = parse_long(o, rest + 1, s->lat_min, 600000, &s->lat_max, NULL);
            else if (rc == 0 && *rest)
                rc = parse_long(o, v, 0, 600000, &s->lat_min, NULL);
        } else {
            fprintf(stderr, "pp-carrier-sim: unknown option %s\n", o);
            usage(stderr);
            return PP_EINVAL;
        }
        if (rc)
            return rc;
    }
    if (s->p429 + s->p500 + s->pmalformed + s->phang > 1.0 + 1e-9) {
        fprintf(stderr, "pp-carrier-sim: --p429 + --p500 + --pmalformed + --phang must be <= 1\n");
        return PP_EINVAL;
    }
    return PP_OK;
}

int main(int argc, char **argv)
{
    static sim_t s;
    uv_loop_t loop;
    int port = 0, rc;
    pp_log_init("pp-carrier-sim", PP_LOG_INFO);
    s.listen = "127.0.0.1:0";
    s.speed = 1;
    s.not_found_min = 10;
    s.retry_after = 2;
    s.seed = 1;
    if (parse_args(&s, argc, argv) != 0)
        return 2;
    s.rng = 0x9E3779B97F4A7C15ULL ^ (s.seed * 0x2545F4914F6CDD1DULL);
    if (!s.rng)
        s.rng = 1;
    signal(SIGPIPE, SIG_IGN);
    if (s.log_path && !(s.log = fopen(s.log_path, "a")))
        pp_die("cannot open --log-requests %s: %s", s.log_path, strerror(errno));
    if (!(s.clock = pp_sim_clock_new()))
        pp_die("out of memory");
    uv_loop_init(&loop);
    s.loop = &loop;
    s.started_ms = pp_mono_ms();
    if ((rc = pp_httpd_start(&loop, s.listen, &s.srv, &port)) != 0)
        pp_die("cannot listen on %s: %s", s.listen, pp_strerror(rc));
    if ((rc = pp_httpd_route(s.srv, "/v1/tracking/", on_tracking, &s)) != 0 ||
        (rc = pp_httpd_route(s.srv, "/sim/stats", on_stats, &s)) != 0)
        pp_die("routes: %s", pp_strerror(rc));
    uv_signal_init(&loop, &s.sigterm);
    uv_signal_init(&loop, &s.sigint);
    s.sigterm.data = s.sigint.data = &s;
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sigint, on_signal, SIGINT);

    char host[256];
    const char *colon = strrchr(s.listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - s.listen), s.listen);
    printf("listening on %s:%d\n", host, port);
    fflush(stdout);
    pp_info("InPost ShipX simulator on %s:%d, speed x%g, not found for %g sim-min, "
            "faults 429=%g 500=%g malformed=%g hang=%g, latency %ld-%ld ms%s",
            host, port, s.speed, s.not_found_min, s.p429, s.p500, s.pmalformed, s.phang, s.lat_min,
            s.lat_max, s.token ? ", token required" : "");

    uv_run(&loop, UV_RUN_DEFAULT);
    uv_walk(&loop, close_walk_cb, NULL); /* nothing should be left; close it if there is */
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    if (rc)
        pp_warn("loop close: %s", uv_strerror(rc));
    pp_info("stopped after %llu requests", (unsigned long long)s.n.requests);
    pp_sim_clock_free(s.clock);
    if (s.log)
        fclose(s.log);
    return 0;
}
