/* metrics.c - Prometheus text-format registry with hashed series lookup, served by httpd.c. */
#include "metrics.h"
#include "text.h"
#include "err.h"
#include "httpd.h"
#include "log.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PP_METRICS_BUCKETS 15
static const double bucket_le[PP_METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,  0.1,    0.25,  0.5,  1,
                                                     2.5,   5,      10,    20,   30};
/* pp_metrics_slow_buckets: ages and delays that may reach hours (a poll's lateness). */
static const double slow_le[PP_METRICS_BUCKETS] = {0.1, 0.5, 1,   2.5,  5,    10,   30,   60,
                                                   120, 300, 600, 1800, 3600, 7200, 21600};

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

static const char *kind_name[] = {"counter", "gauge", "histogram"};

typedef struct family {
    char *name;
    char *type; /* from help(), or NULL: inferred from the first series */
    char *help;
    const double *le; /* histogram bucket bounds: bucket_le or slow_le */
    struct series *first, *last;
    struct family *next;
} family_t;

typedef struct series {
    char *key;    /* full series text (histogram: name + '{' + labels + '}' or name) */
    char *labels; /* histogram only: label text without braces, or NULL */
    kind_t kind;
    double value;
    uint64_t buckets[PP_METRICS_BUCKETS]; /* non-cumulative counts per bucket */
    uint64_t count;
    double sum;
    family_t *fam;
    struct series *fam_next;
    struct series *hash_next;
} series_t;

struct pp_metrics {
    series_t **table;
    size_t cap, n;
    family_t *families, *families_last;
    pp_httpd_t *srv;
    pp_health_fn health;
    void *health_arg;
    void (*before_render)(pp_metrics_t *m);
    bool warned_kind;
};

pp_metrics_t *pp_metrics_new(void)
{
    pp_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cap = 256;
    m->table = calloc(m->cap, sizeof(*m->table));
    if (!m->table) {
        free(m);
        return NULL;
    }
    return m;
}

void pp_metrics_free(pp_metrics_t *m)
{
    if (!m)
        return;
    pp_metrics_stop(m);
    for (size_t i = 0; i < m->cap; i++) {
        series_t *s = m->table[i], *n;
        for (; s; s = n) {
            n = s->hash_next;
            free(s->key);
            free(s->labels);
            free(s);
        }
    }
    family_t *f = m->families, *fn;
    for (; f; f = fn) {
        fn = f->next;
        free(f->name);
        free(f->type);
        free(f->help);
        free(f);
    }
    free(m->table);
    free(m);
}

static family_t *family_get(pp_metrics_t *m, const char *name, size_t len)
{
    for (family_t *f = m->families; f; f = f->next)
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    family_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->name = strndup(name, len);
    if (!f->name) {
        free(f);
        return NULL;
    }
    f->le = bucket_le;
    if (m->families_last)
        m->families_last->next = f;
    else
        m->families = f;
    m->families_last = f;
    return f;
}

static int grow(pp_metrics_t *m)
{
    size_t ncap = m->cap * 2;
    series_t **nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return PP_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        series_t *s = m->table[i], *n;
        for (; s; s = n) {
            n = s->hash_next;
            size_t b = pp_text_hash(s->key) & (ncap - 1);
            s->hash_next = nt[b];
            nt[b] = s;
        }
    }
    free(m->table);
    m->table = nt;
    m->cap = ncap;
    return PP_OK;
}

/* Find or create the series `key` (family name = key up to '{'). NULL on OOM/bad name. */
static series_t *series_get(pp_metrics_t *m, const char *key, kind_t kind, const char *labels)
{
    uint64_t h = pp_text_hash(key);
    for (series_t *s = m->table[h & (m->cap - 1)]; s; s = s->hash_next)
        if (strcmp(s->key, key) == 0) {
            if (s->kind != kind) {
                if (!m->warned_kind)
                    pp_warn("metrics: %s used as %s and %s; ignoring", key, kind_name[s->kind],
                            kind_name[kind]);
                m->warned_kind = true;
                return NULL;
            }
            return s;
        }
    size_t nlen = strcspn(key, "{");
    if (nlen == 0)
        return NULL;
    if (m->n + 1 > m->cap * 3 / 4 && grow(m) != 0)
        return NULL;
    family_t *f = family_get(m, key, nlen);
    series_t *s = f ? calloc(1, sizeof(*s)) : NULL;
    if (!s)
        return NULL;
    s->key = strdup(key);
    s->labels = labels && *labels ? strdup(labels) : NULL;
    if (!s->key || (labels && *labels && !s->labels)) {
        free(s->key);
        free(s->labels);
        free(s);
        return NULL;
    }
    s->kind = kind;
    s->fam = f;
    if (f->last)
        f->last->fam_next = s;
    else
        f->first = s;
    f->last = s;
    size_t b = h & (m->cap - 1);
    s->hash_next = m->table[b];
    m->table[b] = s;
    m->n++;
    return s;
}

pp_metric_t *pp_metrics_counter(pp_metrics_t *m, const char *series)
{
    return m && series ? series_get(m, series, KIND_COUNTER, NULL) : NULL;
}

pp_metric_t *pp_metrics_gauge(pp_metrics_t *m, const char *series)
{
    return m && series ? series_get(m, series, KIND_GAUGE, NULL) : NULL;
}

pp_metric_t *pp_metrics_histogram(pp_metrics_t *m, const char *name, const char *labels)
{
    char key[512];
    if (!m || !name)
        return NULL;
    int n = labels && *labels ? snprintf(key, sizeof(key), "%s{%s}", name, labels)
                              : snprintf(key, sizeof(key), "%s", name);
    if (n < 0 || (size_t)n >= sizeof(key) || strchr(name, '{'))
        return NULL;
    return series_get(m, key, KIND_HISTOGRAM, labels);
}

void pp_metric_add(pp_metric_t *s, double v)
{
    if (s)
        s->value += v;
}

void pp_metric_set(pp_metric_t *s, double v)
{
    if (s)
        s->value = v;
}

void pp_metric_observe(pp_metric_t *s, double seconds)
{
    if (!s || isnan(seconds))
        return;
    int i = 0;
    while (i < PP_METRICS_BUCKETS && seconds > s->fam->le[i])
        i++;
    if (i < PP_METRICS_BUCKETS)
        s->buckets[i]++;
    s->count++;
    s->sum += seconds;
}

void pp_metrics_add(pp_metrics_t *m, const char *series, double v)
{
    pp_metric_add(pp_metrics_counter(m, series), v);
}

void pp_metrics_set(pp_metrics_t *m, const char *series, double v)
{
    pp_metric_set(pp_metrics_gauge(m, series), v);
}

void pp_metrics_observe(pp_metrics_t *m, const char *name, const char *labels, double seconds)
{
    pp_metric_observe(pp_metrics_histogram(m, name, labels), seconds);
}

void pp_metrics_slow_buckets(pp_metrics_t *m, const char *name)
{
    family_t *f = m && name ? family_get(m, name, strlen(name)) : NULL;
    if (f && !f->first)
        f->le = slow_le;
}

void pp_metrics_help(pp_metrics_t *m, const char *name, const char *type, const char *help)
{
    if (!m || !name)
        return;
    family_t *f = family_get(m, name, strlen(name));
    if (!f)
        return;
    if (type) {
        free(f->type);
        f->type = strdup(type);
    }
    if (help) {
        free(f->help);
        f->help = strdup(help);
    }
}

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf_t;

static void bprintf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* Prometheus float text: integers without exponent noise, +Inf/-Inf/NaN spelled out. */
static void fmt_value(char out[40], double v)
{
    if (isnan(v))
        strcpy(out, "NaN");
    else if (isinf(v))
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, 40, "%.0f", v);
    else
        snprintf(out, 40, "%.17g", v);
}

/* HELP text escaping: backslash and newline. */
static void put_help(buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            bprintf(b, "\\\\");
        else if (*s == '\n')
            bprintf(b, "\\n");
        else
            bprintf(b, "%c", *s);
    }
}

int pp_metrics_render(pp_metrics_t *m, char **out, size_t *len)
{
    buf_t b = {0};
    char v[40];
    if (m && m->before_render)
        m->before_render(m);
    if (!m || !out)
        return PP_EINVAL;
    b.cap = 4096;
    b.p = malloc(b.cap);
    if (!b.p)
        return PP_ENOMEM;
    b.p[0] = '\0';
    for (family_t *f = m->families; f; f = f->next) {
        if (!f->first && !f->type)
            continue;
        const char *type = f->type ? f->type : kind_name[f->first->kind];
        if (f->help) {
            bprintf(&b, "# HELP %s ", f->name);
            put_help(&b, f->help);
            bprintf(&b, "\n");
        }
        bprintf(&b, "# TYPE %s %s\n", f->name, type);
        for (series_t *s = f->first; s; s = s->fam_next) {
            if (s->kind != KIND_HISTOGRAM) {
                fmt_value(v, s->value);
                bprintf(&b, "%s %s\n", s->key, v);
                continue;
            }
            const char *lb = s->labels ? s->labels : "";
            const char *sep = s->labels ? "," : "";
            uint64_t cum = 0;
            for (int i = 0; i < PP_METRICS_BUCKETS; i++) {
                cum += s->buckets[i];
                bprintf(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, lb, sep, f->le[i],
                        (unsigned long long)cum);
            }
            bprintf(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, lb, sep,
                    (unsigned long long)s->count);
            fmt_value(v, s->sum);
            if (s->labels) {
                bprintf(&b, "%s_sum{%s} %s\n", f->name, lb, v);
                bprintf(&b, "%s_count{%s} %llu\n", f->name, lb, (unsigned long long)s->count);
            } else {
                bprintf(&b, "%s_sum %s\n", f->name, v);
                bprintf(&b, "%s_count %llu\n", f->name, (unsigned long long)s->count);
            }
        }
    }
    if (b.oom) {
        free(b.p);
        return PP_ENOMEM;
    }
    *out = b.p;
    if (len)
        *len = b.len;
    return PP_OK;
}

static int on_metrics(h2o_req_t *req, void *arg)
{
    pp_metrics_t *m = arg;
    char *text;
    size_t len;
    int rc = pp_metrics_render(m, &text, &len);
    if (rc != 0)
        return rc;
    pp_httpd_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return PP_OK;
}

static int on_healthz(h2o_req_t *req, void *arg)
{
    pp_metrics_t *m = arg;
    char msg[256] = "";
    if (m->health && m->health(m->health_arg, msg, sizeof(msg)) != 0) {
        size_t n = strnlen(msg, sizeof(msg) - 2);
        if (n == 0) {
            strcpy(msg, "unhealthy");
            n = strlen(msg);
        }
        if (msg[n - 1] != '\n')
            msg[n++] = '\n';
        pp_httpd_send(req, 503, "text/plain; charset=utf-8", msg, n);
        return PP_OK;
    }
    pp_httpd_send(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
    return PP_OK;
}

/* The loop answered: the process is alive (a liveness probe restarts it only when it is stuck). */
static int on_livez(h2o_req_t *req, void *arg)
{
    (void)arg;
    pp_httpd_send(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
    return PP_OK;
}

int pp_metrics_serve(pp_metrics_t *m, uv_loop_t *loop, const char *addr, pp_health_fn health,
                     void *health_arg, int *bound_port)
{
    int rc;
    if (!m || !loop || !addr)
        return PP_EINVAL;
    if (m->srv)
        return PP_EINVAL;
    m->health = health;
    m->health_arg = health_arg;
    if ((rc = pp_httpd_start(loop, addr, &m->srv, bound_port)) != 0)
        return rc;
    if ((rc = pp_httpd_route(m->srv, "/metrics", on_metrics, m)) != 0 ||
        (rc = pp_httpd_route(m->srv, "/healthz", on_healthz, m)) != 0 ||
        (rc = pp_httpd_route(m->srv, "/readyz", on_healthz, m)) != 0 ||
        (rc = pp_httpd_route(m->srv, "/livez", on_livez, m)) != 0)
        goto fail;
    return PP_OK;
fail:
    pp_httpd_stop(m->srv);
    m->srv = NULL;
    return rc;
}

void pp_metrics_before_render(pp_metrics_t *m, void (*fn)(pp_metrics_t *m))
{
    m->before_render = fn;
}

void pp_metrics_stop(pp_metrics_t *m)
{
    if (!m || !m->srv)
        return;
    pp_httpd_stop(m->srv);
    m->srv = NULL;
}
