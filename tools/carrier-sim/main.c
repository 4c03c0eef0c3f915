/* main.c - pp-carrier-sim: options, start-up and shutdown of the carrier API simulator. */
#include "err.h"
#include "httpd.h"
#include "log.h"
#include "scenario.h"
#include "sim.h"
#include "timeutil.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

typedef struct main_state {
    pp_sim_t sim;
    uv_signal_t sigterm, sigint;
    const char *listen;
    const char *log_path;
    const char *tls_cert, *tls_key;
    bool tls_http2;
    uint64_t seed;
} main_state_t;

static void on_signal(uv_signal_t *h, int signum)
{
    main_state_t *s = h->data;
    pp_info("signal %d: stopping", signum);
    pp_httpd_stop(s->sim.srv);
    s->sim.srv = NULL;
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
        fprintf(stderr, "pp-carrier-sim: %s wants an integer in [%ld, %ld], got '%s'\n", opt, lo,
                hi, v);
        return PP_EINVAL;
    }
    *out = n;
    if (rest)
        *rest = end;
    return PP_OK;
}

/* --p500 0.1 (every carrier) or --p500 dhl:0.5 (one carrier; repeatable). */
static int parse_fault(pp_sim_t *s, const char *opt, const char *v, size_t field)
{
    const char *colon = strchr(v, ':');
    pp_sim_faults_t *f = &s->faults;
    if (colon) {
        char carrier[32];
        snprintf(carrier, sizeof carrier, "%.*s", (int)(colon - v), v);
        int i = pp_sim_shape_index(carrier);
        if (i < 0) {
            fprintf(stderr, "pp-carrier-sim: %s: unknown carrier '%s'\n", opt, carrier);
            return PP_EINVAL;
        }
        if (!s->has_carrier_faults[i]) {
            s->carrier_faults[i] = s->faults;
            s->has_carrier_faults[i] = true;
        }
        f = &s->carrier_faults[i];
        v = colon + 1;
    }
    return parse_double(opt, v, 0, 1, (double *)((char *)f + field));
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pp-carrier-sim [options]\n"
            "  --listen HOST:PORT       listen address (default 127.0.0.1:0 = any free port)\n"
            "  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM certificate (chain) and key\n"
            "  --tls-alpn h2|http/1.1   HTTPS: offer HTTP/2 then HTTP/1.1 in ALPN (h2, the default)\n"
            "                           or HTTP/1.1 only (a server without HTTP/2)\n"
            "  --speed N                sim time = real time x N (default 1)\n"
            "  --clock real|manual      real (default: real time x --speed) or manual: sim time\n"
            "                           stands still but for POST /sim/clock?advance=SECONDS or\n"
            "                           ?step=next (to the next moment any known number changes)\n"
            "  --not-found-minutes M    404 for the first M sim-minutes of a number (default 10)\n"
            "  --age-minutes M          every number is M sim-minutes old at its first request\n"
            "                           (default 0: its journey starts then; benchmarks use it so\n"
            "                           that a first poll already sees a parcel on its way)\n"
            "  --p429 [C:]F --p500 [C:]F  fraction of tracking requests answered 429 / 500\n"
            "  --pmalformed [C:]F       fraction answered 200 with a truncated body\n"
            "  --phang [C:]F            fraction never answered (until the client gives up)\n"
            "                           (C: = only for carrier C, e.g. --p500 dhl:0.5; repeatable)\n"
            "  --latency-ms MIN[-MAX]   answer delay, uniform in [MIN, MAX] ms\n"
            "  --retry-after S          Retry-After seconds on 429 (default 2)\n"
            "  --retry-after-form F     seconds (default), date (an HTTP-date S seconds ahead,\n"
            "                           rounded up to the second) or none (no header)\n"
            "  --rate-limit-status N    status of the --p429 answers: 429 (default) or 503\n"
            "  --hostile NUMBER=KIND    that number's answers name every place as KIND: control\n"
            "                           (a control character), utf8 (invalid UTF-8), long (a long\n"
            "                           Polish name) or quote (quotes, a backslash, braces, a comma\n"
            "                           and NULL: what SQL and array literals must escape); huge: the\n"
            "                           answer padded with 5 MiB of white space (over the carrier\n"
            "                           client's 4 MiB limit); repeatable\n"
            "  --token T                require this static bearer token / API key (else 401)\n"
            "  --client-id ID --client-secret S   OAuth client credentials the token endpoints want\n"
            "  --token-ttl S            lifetime of issued OAuth tokens (default 3600)\n"
            "  --log-requests FILE      one JSON line per request (number, recv_ms, sent_ms, status,\n"
            "                           retry_after: the header sent, if any)\n"
            "  --seed S                 fault-injection PRNG seed (default 1)\n"
            "  --epoch ISO8601          fixed time origin of every scenario (default: first request)\n"
            "Routes: each carrier's tracking endpoint (see shapes.c), GET /sim/stats, GET/POST /sim/clock.\n");
}

/* --clock real|manual. */
static int parse_clock(pp_sim_t *s, const char *v)
{
    if (strcmp(v, "manual") && strcmp(v, "real")) {
        fprintf(stderr, "pp-carrier-sim: --clock wants real or manual, got '%s'\n", v);
        return PP_EINVAL;
    }
    s->manual_clock = !strcmp(v, "manual");
    return PP_OK;
}

/* --retry-after-form seconds|date|none. */
static int parse_retry_after_form(pp_sim_t *s, const char *v)
{
    if (!strcmp(v, "seconds"))
        s->retry_after_form = PP_SIM_RA_SECONDS;
    else if (!strcmp(v, "date"))
        s->retry_after_form = PP_SIM_RA_DATE;
    else if (!strcmp(v, "none"))
        s->retry_after_form = PP_SIM_RA_NONE;
    else {
        fprintf(stderr,
                "pp-carrier-sim: --retry-after-form wants seconds, date or none, got '%s'\n", v);
        return PP_EINVAL;
    }
    return PP_OK;
}

/* --rate-limit-status 429|503. */
static int parse_rate_limit_status(pp_sim_t *s, const char *o, const char *v)
{
    long l = 0;
    int rc = parse_long(o, v, 429, 503, &l, NULL);
    if (rc == 0 && l != 429 && l != 503) {
        fprintf(stderr, "pp-carrier-sim: --rate-limit-status wants 429 or 503, got '%s'\n", v);
        rc = PP_EINVAL;
    }
    s->rate_limit_status = (int)l;
    return rc;
}

/* --latency-ms MIN[-MAX]. */
static int parse_latency(pp_sim_t *s, const char *o, const char *v)
{
    char *rest;
    int rc = parse_long(o, v, 0, 600000, &s->lat_min, &rest);
    s->lat_max = s->lat_min;
    if (rc == 0 && *rest == '-')
        rc = parse_long(o, rest + 1, s->lat_min, 600000, &s->lat_max, NULL);
    else if (rc == 0 && *rest)
        rc = parse_long(o, v, 0, 600000, &s->lat_min, NULL);
    return rc;
}

/* The fault fractions, overall and per carrier, add up to at most 1. */
static int check_fault_sums(const pp_sim_t *s)
{
    for (int i = -1; i < PP_SIM_MAX_SHAPES; i++) {
        const pp_sim_faults_t *f = i < 0 ? &s->faults : &s->carrier_faults[i];
        if (f->p429 + f->p500 + f->pmalformed + f->phang > 1.0 + 1e-9) {
            fprintf(stderr, "pp-carrier-sim: --p429 + --p500 + --pmalformed + --phang must be <= 1\n");
            return PP_EINVAL;
        }
    }
    return PP_OK;
}

/* --tls-cert FILE, --tls-key FILE, --tls-alpn h2|http/1.1. */
static int parse_tls(main_state_t *m, const char *o, const char *v)
{
    if (!strcmp(o, "--tls-cert"))
        m->tls_cert = v;
    else if (!strcmp(o, "--tls-key"))
        m->tls_key = v;
    else if (!strcmp(o, "--tls-alpn") && (!strcmp(v, "h2") || !strcmp(v, "http/1.1")))
        m->tls_http2 = !strcmp(v, "h2");
    else if (!strcmp(o, "--tls-alpn")) {
        fprintf(stderr, "pp-carrier-sim: --tls-alpn wants h2 or http/1.1, got '%s'\n", v);
        return PP_EINVAL;
    } else {
        fprintf(stderr, "pp-carrier-sim: unknown option %s\n", o);
        return PP_EINVAL;
    }
    return PP_OK;
}

static int parse_args(main_state_t *m, int argc, char **argv)
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
        pp_sim_t *s = &m->sim;
        if (!strcmp(o, "--listen"))
            m->listen = v;
        else if (!strncmp(o, "--tls-", 6))
            rc = parse_tls(m, o, v);
        else if (!strcmp(o, "--speed"))
            rc = parse_double(o, v, 0.001, 1e7, &s->speed);
        else if (!strcmp(o, "--clock"))
            rc = parse_clock(s, v);
        else if (!strcmp(o, "--not-found-minutes"))
            rc = parse_double(o, v, 0, 1e6, &s->not_found_min);
        else if (!strcmp(o, "--age-minutes"))
            rc = parse_double(o, v, 0, 1e7, &s->age_min);
        else if (!strcmp(o, "--p429"))
            rc = parse_fault(s, o, v, offsetof(pp_sim_faults_t, p429));
        else if (!strcmp(o, "--p500"))
            rc = parse_fault(s, o, v, offsetof(pp_sim_faults_t, p500));
        else if (!strcmp(o, "--pmalformed"))
            rc = parse_fault(s, o, v, offsetof(pp_sim_faults_t, pmalformed));
        else if (!strcmp(o, "--phang"))
            rc = parse_fault(s, o, v, offsetof(pp_sim_faults_t, phang));
        else if (!strcmp(o, "--client-id"))
            s->client_id = v;
        else if (!strcmp(o, "--client-secret"))
            s->client_secret = v;
        else if (!strcmp(o, "--token-ttl"))
            rc = parse_long(o, v, 1, 86400 * 30, &s->token_ttl_s, NULL);
        else if (!strcmp(o, "--retry-after"))
            rc = parse_long(o, v, 0, 86400, &s->retry_after, NULL);
        else if (!strcmp(o, "--retry-after-form"))
            rc = parse_retry_after_form(s, v);
        else if (!strcmp(o, "--rate-limit-status"))
            rc = parse_rate_limit_status(s, o, v);
        else if (!strcmp(o, "--hostile"))
            rc = pp_sim_hostile_add(s, v);
        else if (!strcmp(o, "--token"))
            s->token = v;
        else if (!strcmp(o, "--log-requests"))
            m->log_path = v;
        else if (!strcmp(o, "--seed")) {
            rc = parse_long(o, v, 0, 0x7fffffffL, &l, NULL);
            m->seed = (uint64_t)l;
        } else if (!strcmp(o, "--epoch")) {
            if (pp_time_parse_iso(v, &s->epoch, NULL) != 0 || s->epoch <= 0) {
                fprintf(stderr, "pp-carrier-sim: --epoch wants ISO 8601, got '%s'\n", v);
                rc = PP_EINVAL;
            }
        } else if (!strcmp(o, "--latency-ms")) {
            rc = parse_latency(s, o, v);
        } else {
            fprintf(stderr, "pp-carrier-sim: unknown option %s\n", o);
            usage(stderr);
            return PP_EINVAL;
        }
        if (rc)
            return rc;
    }
    if (!m->tls_cert != !m->tls_key) {
        fprintf(stderr, "pp-carrier-sim: --tls-cert and --tls-key go together\n");
        return PP_EINVAL;
    }
    return check_fault_sums(&m->sim);
}

int main(int argc, char **argv)
{
    static main_state_t m;
    pp_sim_t *s = &m.sim;
    uv_loop_t loop;
    int port = 0, rc;
    pp_log_init("pp-carrier-sim", PP_LOG_INFO);
    m.listen = "127.0.0.1:0";
    m.seed = 1;
    m.tls_http2 = true;
    s->speed = 1;
    s->not_found_min = 10;
    s->retry_after = 2;
    s->rate_limit_status = 429;
    s->token_ttl_s = 3600;
    if (parse_args(&m, argc, argv) != 0)
        return 2;
    s->rng = 0x9E3779B97F4A7C15ULL ^ (m.seed * 0x2545F4914F6CDD1DULL);
    if (!s->rng)
        s->rng = 1;
    signal(SIGPIPE, SIG_IGN);
    if (m.log_path && !(s->log = fopen(m.log_path, "a")))
        pp_die("cannot open --log-requests %s: %s", m.log_path, strerror(errno));
    if (!(s->clock = pp_sim_clock_new()))
        pp_die("out of memory");
    uv_loop_init(&loop);
    s->loop = &loop;
    s->started_ms = pp_mono_ms();
    if ((rc = pp_httpd_start(&loop, m.listen, &s->srv, &port)) != 0)
        pp_die("cannot listen on %s: %s", m.listen, pp_strerror(rc));
    if (m.tls_cert && (rc = pp_httpd_tls(s->srv, m.tls_cert, m.tls_key, m.tls_http2)) != 0)
        pp_die("cannot serve HTTPS with %s and %s: %s", m.tls_cert, m.tls_key, pp_strerror(rc));
    if ((rc = pp_sim_register(s)) != 0)
        pp_die("routes: %s", pp_strerror(rc));
    uv_signal_init(&loop, &m.sigterm);
    uv_signal_init(&loop, &m.sigint);
    m.sigterm.data = m.sigint.data = &m;
    uv_signal_start(&m.sigterm, on_signal, SIGTERM);
    uv_signal_start(&m.sigint, on_signal, SIGINT);

    char host[256], carriers[256] = "";
    const char *colon = strrchr(m.listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - m.listen), m.listen);
    for (int i = 0; pp_sim_shapes[i]; i++)
        snprintf(carriers + strlen(carriers), sizeof carriers - strlen(carriers), "%s%s",
                 i ? "," : "", pp_sim_shapes[i]->carrier);
    printf("listening on %s:%d\n", host, port);
    fflush(stdout);
    pp_info("carrier simulator (%s) on %s:%d, %s clock, speed x%g, not found for %g sim-min, "
            "faults 429=%g 500=%g malformed=%g hang=%g, latency %ld-%ld ms%s%s",
            carriers, host, port, s->manual_clock ? "manual" : "real", s->speed, s->not_found_min,
            s->faults.p429, s->faults.p500, s->faults.pmalformed, s->faults.phang, s->lat_min,
            s->lat_max, s->token ? ", token required" : "",
            !m.tls_cert   ? ""
            : m.tls_http2 ? ", HTTPS (h2, http/1.1)"
                          : ", HTTPS (http/1.1)");

    uv_run(&loop, UV_RUN_DEFAULT);
    uv_walk(&loop, close_walk_cb, NULL); /* nothing should be left; close it if there is */
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    if (rc)
        pp_warn("loop close: %s", uv_strerror(rc));
    pp_info("stopped after %llu requests", (unsigned long long)s->n.requests);
    pp_sim_clock_free(s->clock);
    if (s->log)
        fclose(s->log);
    return 0;
}
