/* simclock.c - the simulator's clock: real time x --speed, or manual (moved only through /sim/clock). */
#include "err.h"
#include "log.h"
#include "sim.h"
#include "timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/*
 * A test that samples a fast real clock races it: at x20,000 a parcel's last-mile step lasts
 * a few real milliseconds, and a loaded machine samples past it. With --clock manual the
 * scenarios stand still until the test says "advance N seconds" or "step to the next event",
 * so every step is seen, however slow the machine.
 */

int64_t pp_sim_now_ms(const pp_sim_t *s)
{
    if (s->manual_clock)
        return s->manual_ms;
    return (int64_t)((double)(pp_mono_ms() - s->started_ms) * s->speed);
}

typedef struct next_event {
    const pp_sim_t *sim;
    int64_t now_ms;
    int64_t best_ms; /* earliest sim ms > now_ms at which some number changes; -1 = none */
} next_event_t;

/* The first moment after now at which number's answer changes: its not-found window ends or
 * a step becomes visible (pp_sim_scenario_visible: at_s <= elapsed whole seconds). */
static void next_of(const char *number, int64_t first_ms, void *arg)
{
    next_event_t *ne = arg;
    pp_sim_scenario_t sc;
    pp_sim_scenario_build(number, (int64_t)(ne->sim->not_found_min * 60.0), &sc);
    for (int i = -1; i < sc.n_steps; i++) {
        int64_t at_s = i < 0 ? sc.not_found_s : sc.steps[i].at_s;
        if (i >= 0 && at_s < sc.not_found_s)
            continue; /* shown when the not-found window ends */
        int64_t t = first_ms + at_s * 1000;
        if (t > ne->now_ms && (ne->best_ms < 0 || t < ne->best_ms))
            ne->best_ms = t;
    }
}

static int64_t next_event_ms(const pp_sim_t *s)
{
    next_event_t ne = {s, pp_sim_now_ms(s), -1};
    pp_sim_clock_each(s->clock, next_of, &ne);
    return ne.best_ms;
}

/* Value of key in the query string ("advance=30&x=1"), or NULL; *len its length. */
static const char *query_value(const h2o_req_t *req, const char *key, size_t *len)
{
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t klen = strlen(key);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
            *len = (size_t)(stop - p) - klen - 1;
            return p + klen + 1;
        }
        p = stop + 1;
    }
    return NULL;
}

static void answer(h2o_req_t *req, int status, const char *body)
{
    pp_httpd_send(req, status, "application/json", body, strlen(body));
}

static void answer_state(h2o_req_t *req, const pp_sim_t *s, int64_t advanced_ms)
{
    char buf[256], next[32] = "null";
    int64_t now = pp_sim_now_ms(s), nx = next_event_ms(s);
    if (nx >= 0)
        snprintf(next, sizeof next, "%.3f", (double)(nx - now) / 1000.0);
    snprintf(buf, sizeof buf,
             "{\"clock\":\"%s\",\"now_s\":%.3f,\"advanced_s\":%.3f,\"next_event_in_s\":%s,\"numbers\":%zu}\n",
             s->manual_clock ? "manual" : "real", (double)now / 1000.0,
             (double)advanced_ms / 1000.0, next, pp_sim_clock_count(s->clock));
    answer(req, 200, buf);
}

/*
 * GET /sim/clock: {"clock","now_s","advanced_s":0,"next_event_in_s" (null = nothing left to
 * happen),"numbers"}. POST /sim/clock?advance=SECONDS or ?step=next (manual clock only; 409
 * on the real one): move the clock, then the same document with what it moved.
 */
static int on_clock(h2o_req_t *req, void *arg)
{
    pp_sim_t *s = arg;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        answer_state(req, s, 0);
        return PP_OK;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        answer(req, 405, "{\"error\":\"GET or POST\"}\n");
        return PP_OK;
    }
    if (!s->manual_clock) {
        answer(req, 409, "{\"error\":\"the clock is real time x speed; start with --clock manual\"}\n");
        return PP_OK;
    }
    size_t len = 0;
    const char *v;
    int64_t before = s->manual_ms;
    if ((v = query_value(req, "advance", &len)) != NULL) {
        char num[32], *end;
        if (len == 0 || len >= sizeof num)
            goto bad;
        memcpy(num, v, len);
        num[len] = '\0';
        errno = 0;
        double sec = strtod(num, &end);
        if (errno || *end || !(sec >= 0 && sec <= 1e9))
            goto bad;
        s->manual_ms += (int64_t)(sec * 1000.0 + 0.5);
    } else if ((v = query_value(req, "step", &len)) != NULL && len == 4 && !memcmp(v, "next", 4)) {
        int64_t nx = next_event_ms(s);
        if (nx > s->manual_ms)
            s->manual_ms = nx;
    } else {
        goto bad;
    }
    pp_debug("sim clock: %.3f s -> %.3f s", (double)before / 1000.0, (double)s->manual_ms / 1000.0);
    answer_state(req, s, s->manual_ms - before);
    return PP_OK;
bad:
    answer(req, 400, "{\"error\":\"want ?advance=SECONDS (0..1e9) or ?step=next\"}\n");
    return PP_OK;
}

int pp_sim_clock_register(pp_sim_t *s) { return pp_httpd_route(s->srv, "/sim/clock", on_clock, s); }
