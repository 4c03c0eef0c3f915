/* sim.c - the simulator's request path, shared by every carrier shape: numbers → credentials → faults → scenario → render → latency → answer, logged. */
#include "sim.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_OK, K_NOT_FOUND, K_UNAUTH, K_429, K_500, K_MALFORMED, K_HANG, K_BAD } kind_t;
static const char *const kind_names[] = {"ok",           "not_found",    "unauthorized",
                                         "rate_limited", "server_error", "malformed",
                                         "hang",         "bad_request"};

typedef struct route {
    pp_sim_t *sim;
    const pp_sim_shape_t *shape;
    int index;
} route_t;

typedef struct pending {
    pp_sim_t *sim;
    const pp_sim_shape_t *shape;
    kind_t kind;
    int status;
    int64_t recv_ms;
    char (*numbers)[64];
    size_t n_numbers;
    char *body;
    size_t len;
    char retry_after[40]; /* the Retry-After header sent, "" if none */
} pending_t;

static route_t routes[PP_SIM_MAX_SHAPES];

int pp_sim_shape_index(const char *carrier)
{
    for (int i = 0; pp_sim_shapes[i]; i++)
        if (strcmp(pp_sim_shapes[i]->carrier, carrier) == 0)
            return i;
    return -1;
}

/* ---- answering --------------------------------------------------------------------------- */

static void log_request(const pending_t *p, int status)
{
    pp_sim_t *s = p->sim;
    if (!s->log)
        return;
    int64_t now = pp_now_ms();
    for (size_t i = 0; i < (p->n_numbers ? p->n_numbers : 1); i++) {
        const char *num = p->n_numbers ? p->numbers[i] : "";
        fprintf(s->log, "{\"carrier\":\"%s\",\"number\":\"", p->shape->carrier);
        for (const char *c = num; *c; c++) /* the log line stays valid JSON */
            fputc((*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) ? '?' : *c, s->log);
        fprintf(s->log,
                "\",\"batch\":%zu,\"recv_ms\":%lld,\"sent_ms\":%lld,\"status\":%d,\"kind\":\"%s\"",
                p->n_numbers, (long long)p->recv_ms, (long long)now, status, kind_names[p->kind]);
        if (p->retry_after[0])
            fprintf(s->log, ",\"retry_after\":\"%s\"", p->retry_after);
        fputs("}\n", s->log);
    }
    fflush(s->log);
}

static void pending_free(pending_t *p)
{
    free(p->numbers);
    free(p->body);
    free(p);
}

/*
 * Retry-After of the rate-limit fault, taken when the answer goes out: delta-seconds, or an
 * IMF-fixdate (RFC 9110) of the first whole second at least retry_after seconds from now.
 */
static void retry_after_value(const pp_sim_t *s, char *out, size_t cap)
{
    if (s->retry_after_form == PP_SIM_RA_SECONDS) {
        snprintf(out, cap, "%ld", s->retry_after);
    } else if (s->retry_after_form == PP_SIM_RA_DATE) {
        int64_t at_ms = pp_now_ms() + s->retry_after * 1000;
        time_t t = (time_t)((at_ms + 999) / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    } else {
        out[0] = '\0';
    }
}

static void respond(h2o_req_t *req, pending_t *p)
{
    if (p->kind == K_429) {
        retry_after_value(p->sim, p->retry_after, sizeof p->retry_after);
        if (p->retry_after[0])
            pp_httpd_header(req, "retry-after", p->retry_after);
    }
    pp_httpd_send(req, p->status, p->shape->content_type, p->body, p->len);
    log_request(p, p->status);
    pending_free(p);
}

static void respond_later_cb(h2o_req_t *req, void *arg) { respond(req, arg); }

static void abandoned_cb(void *arg)
{
    pending_t *p = arg;
    p->sim->n.abandoned++;
    log_request(p, 0);
    pending_free(p);
}

static int set_error(pending_t *p, int status)
{
    p->status = status;
    return p->shape->render_error(status, &p->body, &p->len);
}

/* The carrier's answer itself (no faults) for every number of the call. */
static int build_answer(pp_sim_t *s, pending_t *p)
{
    pp_sim_parcel_t *parcels = calloc(p->n_numbers ? p->n_numbers : 1, sizeof *parcels);
    int rc = PP_OK;
    if (!parcels)
        return PP_ENOMEM;
    for (size_t i = 0; i < p->n_numbers && rc == PP_OK; i++) {
        pp_sim_parcel_t *pa = &parcels[i];
        pa->number = p->numbers[i];
        pa->valid = p->shape->number_ok(pa->number);
        if (!pa->valid)
            continue;
        int64_t first_ms, first_wall_ms;
        int64_t now = pp_sim_now_ms(s);
        rc = pp_sim_clock_first_seen(s->clock, pa->number, now, &first_ms, &first_wall_ms, pp_now_ms());
        if (rc)
            break;
        int64_t elapsed_s = (now - first_ms) / 1000 + (int64_t)(s->age_min * 60.0);
        pp_sim_scenario_build(pa->number, (int64_t)(s->not_found_min * 60.0), &pa->sc);
        pa->visible = pp_sim_scenario_visible(&pa->sc, elapsed_s);
        pa->origin = s->epoch ? s->epoch : (time_t)(first_wall_ms / 1000);
    }
    if (rc == PP_OK)
        rc = p->shape->render(parcels, p->n_numbers, &p->status, &p->body, &p->len);
    free(parcels);
    return rc;
}

static int on_tracking(h2o_req_t *req, void *arg)
{
    route_t *r = arg;
    pp_sim_t *s = r->sim;
    const pp_sim_faults_t *f =
        s->has_carrier_faults[r->index] ? &s->carrier_faults[r->index] : &s->faults;
    pp_sim_call_t call = {0};
    int rc;
    s->n.requests++;
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return PP_ENOMEM;
    p->sim = s;
    p->shape = r->shape;
    p->recv_ms = pp_now_ms();
    rc = r->shape->parse_request(req, &call);
    p->numbers = call.numbers;
    p->n_numbers = call.n;
    if (rc) {
        p->kind = K_BAD;
        s->n.bad_request++;
        rc = set_error(p, call.error_status ? call.error_status : 400);
    } else if (r->shape->check_auth && (rc = r->shape->check_auth(s, req)) != 0) {
        p->kind = K_UNAUTH;
        s->n.unauthorized++;
        /* The credentials error document (render_error(401)), sent with the status the
         * shape chose: SOAP services answer their authentication faults with 500. */
        int status = rc >= 400 ? rc : 401;
        rc = set_error(p, 401);
        p->status = status;
    } else {
        double u = pp_sim_uniform(s);
        if (u < f->p429) {
            p->kind = K_429;
            s->n.rate_limited++;
            rc = set_error(p, s->rate_limit_status);
        } else if (u < f->p429 + f->p500) {
            p->kind = K_500;
            s->n.server_error++;
            rc = set_error(p, 500);
        } else if (u < f->p429 + f->p500 + f->pmalformed) {
            p->kind = K_MALFORMED;
            s->n.malformed++;
            if ((rc = build_answer(s, p)) == 0 && p->len > 2) {
                p->status = 200; /* cut the document short: never well-formed */
                p->len = 1 + (size_t)(pp_sim_uniform(s) * (double)(p->len - 2));
            }
        } else if (u < f->p429 + f->p500 + f->pmalformed + f->phang) {
            p->kind = K_HANG;
            s->n.hung++;
            rc = pp_httpd_defer(req, -1, respond_later_cb, abandoned_cb, p);
            if (rc)
                pending_free(p);
            return rc;
        } else {
            rc = build_answer(s, p);
            if (rc == PP_OK && p->status == 200)
                rc = pp_sim_hostile_apply(s, p->numbers, p->n_numbers, &p->body, &p->len);
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
        lat += (long)(pp_sim_uniform(s) * (double)(s->lat_max - s->lat_min + 1));
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
    pp_sim_t *s = arg;
    pp_httpd_stats_t hs;
    char buf[1024];
    pp_httpd_get_stats(s->srv, &hs);
    int n = snprintf(buf, sizeof buf,
                     "{\"requests\":%llu,\"ok\":%llu,\"not_found\":%llu,\"unauthorized\":%llu,"
                     "\"rate_limited\":%llu,\"server_error\":%llu,\"malformed\":%llu,\"hung\":%llu,"
                     "\"abandoned\":%llu,\"bad_request\":%llu,\"token_requests\":%llu,\"numbers\":%zu,"
                     "\"connections_open\":%llu,\"connections_accepted\":%llu,\"deferred_now\":%llu,"
                     "\"http2_requests\":%llu,"
                     "\"speed\":%g,\"clock\":\"%s\",\"uptime_ms\":%lld}\n",
                     (unsigned long long)s->n.requests, (unsigned long long)s->n.ok,
                     (unsigned long long)s->n.not_found, (unsigned long long)s->n.unauthorized,
                     (unsigned long long)s->n.rate_limited, (unsigned long long)s->n.server_error,
                     (unsigned long long)s->n.malformed, (unsigned long long)s->n.hung,
                     (unsigned long long)s->n.abandoned, (unsigned long long)s->n.bad_request,
                     (unsigned long long)s->n.token_requests, pp_sim_clock_count(s->clock),
                     (unsigned long long)hs.open, (unsigned long long)hs.accepted,
                     (unsigned long long)hs.deferred, (unsigned long long)hs.http2, s->speed,
                     s->manual_clock ? "manual" : "real", (long long)(pp_mono_ms() - s->started_ms));
    pp_httpd_send(req, 200, "application/json", buf, (size_t)n);
    return PP_OK;
}

int pp_sim_register(pp_sim_t *s)
{
    int rc;
    for (int i = 0; pp_sim_shapes[i] && i < PP_SIM_MAX_SHAPES; i++) {
        routes[i] = (route_t){s, pp_sim_shapes[i], i};
        if ((rc = pp_httpd_route(s->srv, pp_sim_shapes[i]->route, on_tracking, &routes[i])) != 0)
            return rc;
        if (pp_sim_shapes[i]->register_routes && (rc = pp_sim_shapes[i]->register_routes(s)) != 0)
            return rc;
    }
    if ((rc = pp_sim_clock_register(s)) != 0)
        return rc;
    return pp_httpd_route(s->srv, "/sim/stats", on_stats, s);
}
