/* metrics.h - Prometheus registry (counters, gauges, histograms) served with /livez, /readyz (= /healthz); loop-thread only. */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <stddef.h>
#include <uv.h>

typedef struct pp_metrics pp_metrics_t;

/* NULL on allocation failure. */
pp_metrics_t *pp_metrics_new(void);
/* Stops serving (if still serving) and frees the registry. NULL is allowed. */
void pp_metrics_free(pp_metrics_t *m);

/*
 * series = full name with labels, e.g. "pp_poller_requests_total{carrier=\"inpost\",result=\"ok\"}".
 * The text is copied on first use; the family name is the part before '{'. A series keeps
 * the kind it was first used with (a set() on a counter series is ignored with a warning).
 */
void pp_metrics_add(pp_metrics_t *m, const char *series, double v); /* counter += v */
void pp_metrics_set(pp_metrics_t *m, const char *series, double v); /* gauge = v */
/* Histogram with latency buckets 1ms..30s; emits name_bucket{...,le=".."}, name_sum, name_count. */
void pp_metrics_observe(pp_metrics_t *m, const char *name, const char *labels /* or NULL */,
                        double seconds);

/*
 * The same series as handles, for code that updates them per request: looked up (created) by
 * their text once, then updated without building, hashing or comparing the text again. A
 * handle stays valid until pp_metrics_free; NULL (out of memory, or the series is already
 * of another kind) is a handle whose updates do nothing. Look one up where it is first
 * updated: a series is shown from its creation on.
 */
typedef struct series pp_metric_t;
pp_metric_t *pp_metrics_counter(pp_metrics_t *m, const char *series);
pp_metric_t *pp_metrics_gauge(pp_metrics_t *m, const char *series);
pp_metric_t *pp_metrics_histogram(pp_metrics_t *m, const char *name, const char *labels /* or NULL */);
void pp_metric_add(pp_metric_t *s, double v);           /* counter += v */
void pp_metric_set(pp_metric_t *s, double v);           /* gauge = v */
void pp_metric_observe(pp_metric_t *s, double seconds); /* histogram */
/* The histogram `name` gets buckets 0.1 s..6 h instead (before its first observation). */
void pp_metrics_slow_buckets(pp_metrics_t *m, const char *name);
/* # HELP and # TYPE for a family (type: counter|gauge|histogram). May precede or follow use. */
void pp_metrics_help(pp_metrics_t *m, const char *name, const char *type, const char *help);

/* Prometheus text format 0.0.4, after pp_metrics_before_render's hook (every scrape, on any
 * port, sees fresh process_* values); *out is malloc'd (caller frees), *len its length. */
int pp_metrics_render(pp_metrics_t *m, char **out, size_t *len) __attribute__((warn_unused_result));

/* 0 = healthy; otherwise write a short reason into msg (served with 503). */
typedef int (*pp_health_fn)(void *arg, char *msg, size_t msglen);

/*
 * Serve GET /metrics (the registry, after pp_metrics_before_render's hook), GET /readyz
 * and its older name /healthz (200 "ok\n" or 503 + msg: ready for work), and GET /livez
 * (200 while the loop answers: alive, even when not ready) on addr "host:port"
 * (port 0 = any free port; the bound port is written to *bound_port). health may be NULL
 * (always healthy). One server per registry. Returns 0, PP_EINVAL, PP_EIO or PP_ENOMEM.
 */
int pp_metrics_serve(pp_metrics_t *m, uv_loop_t *loop, const char *addr, pp_health_fn health,
                     void *health_arg, int *bound_port) __attribute__((warn_unused_result));
/* fn(m) runs before each render (pp_metrics_render; e.g. pp_procmetrics_update). */
void pp_metrics_before_render(pp_metrics_t *m, void (*fn)(pp_metrics_t *m));
/*
 * Close the listener and the connections. The handles are freed in their close callbacks,
 * so let the loop run afterwards (before any uv_walk that closes leftover handles).
 */
void pp_metrics_stop(pp_metrics_t *m);

#endif
