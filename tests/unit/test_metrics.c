/* test_metrics.c - registry rendering, and the /metrics, /healthz and deferred-response server over real TCP. */
#include "check.h"
#include "err.h"
#include "httpd.h"
#include "metrics.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Handles: the same series as the text calls, still valid after the table grew. */
static void test_handles(void)
{
    pp_metrics_t *m = pp_metrics_new();
    char *out = NULL;
    size_t len = 0;
    pp_metric_t *c = pp_metrics_counter(m, "pp_h_total{carrier=\"inpost\"}");
    pp_metric_t *g = pp_metrics_gauge(m, "pp_h_gauge");
    pp_metric_t *h = pp_metrics_histogram(m, "pp_h_seconds", "carrier=\"inpost\"");
    CHECK(c && g && h);
    CHECK(pp_metrics_gauge(m, "pp_h_total{carrier=\"inpost\"}") == NULL); /* a counter */
    pp_metric_set(NULL, 1);                                               /* does nothing */
    pp_metric_add(c, 2);
    for (int i = 0; i < 1000; i++) { /* the table grows under the handles */
        char s[64];
        snprintf(s, sizeof s, "pp_h_many{i=\"%d\"}", i);
        pp_metrics_add(m, s, 1);
    }
    pp_metric_add(c, 1);
    pp_metrics_add(m, "pp_h_total{carrier=\"inpost\"}", 0.5);
    CHECK(pp_metrics_counter(m, "pp_h_total{carrier=\"inpost\"}") == c);
    pp_metric_set(g, 4);
    pp_metric_observe(h, 0.003);
    pp_metrics_observe(m, "pp_h_seconds", "carrier=\"inpost\"", 0.5);
    CHECK_INT(pp_metrics_render(m, &out, &len), 0);
    CHECK(strstr(out, "pp_h_total{carrier=\"inpost\"} 3.5\n") != NULL);
    CHECK(strstr(out, "pp_h_gauge 4\n") != NULL);
    CHECK(strstr(out, "pp_h_seconds_bucket{carrier=\"inpost\",le=\"0.005\"} 1\n") != NULL);
    CHECK(strstr(out, "pp_h_seconds_count{carrier=\"inpost\"} 2\n") != NULL);
    free(out);
    pp_metrics_free(m);
}

static void test_render(void)
{
    pp_metrics_t *m = pp_metrics_new();
    char *out = NULL;
    size_t len = 0;
    pp_metrics_help(m, "pp_req_total", "counter", "Requests\nsent");
    pp_metrics_add(m, "pp_req_total{carrier=\"inpost\",result=\"ok\"}", 1);
    pp_metrics_add(m, "pp_req_total{carrier=\"inpost\",result=\"ok\"}", 2.5);
    pp_metrics_add(m, "pp_req_total{carrier=\"inpost\",result=\"error\"}", 1);
    pp_metrics_set(m, "pp_backlog", 7);
    pp_metrics_set(m, "pp_backlog", 3);
    pp_metrics_set(m, "pp_req_total{carrier=\"inpost\",result=\"ok\"}", 99); /* wrong kind: ignored */
    pp_metrics_observe(m, "pp_latency_seconds", "carrier=\"inpost\"", 0.003);
    pp_metrics_observe(m, "pp_latency_seconds", "carrier=\"inpost\"", 0.5);
    pp_metrics_observe(m, "pp_latency_seconds", "carrier=\"inpost\"", 100);
    pp_metrics_observe(m, "pp_plain_seconds", NULL, 0.001);
    pp_metrics_slow_buckets(m, "pp_late_seconds");
    pp_metrics_observe(m, "pp_late_seconds", "carrier=\"dhl\"", 100);
    /* many series: forces the hash table to grow */
    for (int i = 0; i < 1000; i++) {
        char s[64];
        snprintf(s, sizeof s, "pp_many{i=\"%d\"}", i);
        pp_metrics_add(m, s, i);
    }
    CHECK_INT(pp_metrics_render(m, &out, &len), 0);
    CHECK_INT(strlen(out), len);
    CHECK(strstr(out, "# HELP pp_req_total Requests\\nsent\n# TYPE pp_req_total counter\n"
                      "pp_req_total{carrier=\"inpost\",result=\"ok\"} 3.5\n"
                      "pp_req_total{carrier=\"inpost\",result=\"error\"} 1\n") != NULL);
    CHECK(strstr(out, "# TYPE pp_backlog gauge\npp_backlog 3\n") != NULL);
    CHECK(strstr(out, "# TYPE pp_latency_seconds histogram\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_bucket{carrier=\"inpost\",le=\"0.0025\"} 0\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_bucket{carrier=\"inpost\",le=\"0.005\"} 1\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_bucket{carrier=\"inpost\",le=\"0.5\"} 2\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_bucket{carrier=\"inpost\",le=\"30\"} 2\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_bucket{carrier=\"inpost\",le=\"+Inf\"} 3\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_sum{carrier=\"inpost\"} 100.503\n") != NULL);
    CHECK(strstr(out, "pp_latency_seconds_count{carrier=\"inpost\"} 3\n") != NULL);
    CHECK(strstr(out, "pp_plain_seconds_bucket{le=\"0.001\"} 1\n") != NULL);
    CHECK(strstr(out, "pp_plain_seconds_count 1\n") != NULL);
    CHECK(strstr(out, "pp_late_seconds_bucket{carrier=\"dhl\",le=\"60\"} 0\n") != NULL);
    CHECK(strstr(out, "pp_late_seconds_bucket{carrier=\"dhl\",le=\"120\"} 1\n") != NULL);
    CHECK(strstr(out, "pp_late_seconds_bucket{carrier=\"dhl\",le=\"21600\"} 1\n") != NULL);
    CHECK(strstr(out, "pp_many{i=\"999\"} 999\n") != NULL);
    CHECK(strstr(out, "# TYPE pp_many counter\n") == strstr(out, "# TYPE pp_many")); /* once */
    free(out);
    pp_metrics_free(m);
}

/* --- server test: the loop runs here, a client thread uses libcurl --- */

typedef struct {
    int port, hport;
    int healthy;
    long st_metrics, st_health_ok, st_health_bad, st_404, st_later, st_hang;
    char body_metrics[8192], body_health_bad[256], body_later[64];
    CURLcode hang_rc;
    CURL *keepalive; /* left open across the stop on purpose */
    uv_async_t done;
    uv_timer_t poll;
    pp_metrics_t *m;
    pp_httpd_t *srv;
    int waited;
} ctx_t;

typedef struct {
    char *p;
    size_t n, cap;
} sink_t;

static size_t write_cb(char *d, size_t sz, size_t nm, void *u)
{
    sink_t *s = u;
    size_t n = sz * nm;
    if (s->n + n + 1 <= s->cap) {
        memcpy(s->p + s->n, d, n);
        s->n += n;
        s->p[s->n] = '\0';
    }
    return n;
}

static long get(CURL *c, int port, const char *path, char *body, size_t cap, long timeout_ms,
                CURLcode *rcp)
{
    char url[128];
    sink_t s = {body, 0, cap};
    long code = 0;
    if (body && cap)
        body[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    CURLcode rc = curl_easy_perform(c);
    if (rcp)
        *rcp = rc;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static int health(void *arg, char *msg, size_t len)
{
    ctx_t *x = arg;
    if (__atomic_load_n(&x->healthy, __ATOMIC_SEQ_CST))
        return 0;
    snprintf(msg, len, "kafka down");
    return PP_EAGAIN;
}

static void *client(void *arg)
{
    ctx_t *x = arg;
    char scratch[256];
    CURL *c = curl_easy_init();
    x->st_metrics = get(c, x->port, "/metrics", x->body_metrics, sizeof x->body_metrics, 2000, NULL);
    x->st_health_ok = get(c, x->port, "/healthz", scratch, sizeof scratch, 2000, NULL);
    __atomic_store_n(&x->healthy, 0, __ATOMIC_SEQ_CST);
    x->st_health_bad =
        get(c, x->port, "/healthz", x->body_health_bad, sizeof x->body_health_bad, 2000, NULL);
    x->st_404 = get(c, x->port, "/metricsX", scratch, sizeof scratch, 2000, NULL);
    x->st_later = get(c, x->hport, "/later", x->body_later, sizeof x->body_later, 2000, NULL);
    x->st_hang = get(c, x->hport, "/hang", scratch, sizeof scratch, 300, &x->hang_rc);
    curl_easy_cleanup(c);
    /* one keep-alive connection that stays open while the server stops */
    x->keepalive = curl_easy_init();
    get(x->keepalive, x->port, "/healthz", scratch, sizeof scratch, 2000, NULL);
    uv_async_send(&x->done);
    return NULL;
}

static void later_cb(h2o_req_t *req, void *arg)
{
    pp_httpd_send(req, 200, "text/plain", "later\n", 6);
}

static int route_later(h2o_req_t *req, void *arg)
{
    return pp_httpd_defer(req, 50, later_cb, NULL, NULL);
}

static int n_abandoned;
static void count_abandoned(void *arg) { (*(int *)arg)++; }

static int route_hang(h2o_req_t *req, void *arg)
{
    return pp_httpd_defer(req, -1, later_cb, count_abandoned, &n_abandoned);
}

static void poll_cb(uv_timer_t *t)
{
    ctx_t *x = t->data;
    pp_httpd_stats_t st;
    pp_httpd_get_stats(x->srv, &st);
    if ((st.abandoned < 1 || st.deferred != 0) && ++x->waited < 40)
        return; /* wait up to 2 s for the reaper to notice the client left */
    CHECK_INT(st.abandoned, 1);
    CHECK_INT(st.deferred, 0);
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&x->done, NULL);
    pp_metrics_stop(x->m);
    pp_httpd_stop(x->srv);
}

static void done_cb(uv_async_t *a)
{
    ctx_t *x = a->data;
    uv_timer_start(&x->poll, poll_cb, 50, 50);
}

static void test_serve(void)
{
    uv_loop_t loop;
    ctx_t x = {0};
    pthread_t th;
    uv_loop_init(&loop);
    x.healthy = 1;
    x.m = pp_metrics_new();
    pp_metrics_add(x.m, "pp_test_total", 42);
    CHECK_INT(pp_metrics_serve(x.m, &loop, "nonsense", health, &x, &x.port), PP_EINVAL);
    CHECK_INT(pp_metrics_serve(x.m, &loop, "127.0.0.1:0", health, &x, &x.port), 0);
    CHECK(x.port > 0);
    CHECK_INT(pp_httpd_start(&loop, "127.0.0.1:0", &x.srv, &x.hport), 0);
    CHECK_INT(pp_httpd_route(x.srv, "/later", route_later, NULL), 0);
    CHECK_INT(pp_httpd_route(x.srv, "/hang", route_hang, NULL), 0);
    uv_async_init(&loop, &x.done, done_cb);
    x.done.data = &x;
    uv_timer_init(&loop, &x.poll);
    x.poll.data = &x;
    pthread_create(&th, NULL, client, &x);
    uv_run(&loop, UV_RUN_DEFAULT); /* returns only once every server handle has closed */
    pthread_join(th, NULL);
    CHECK_INT(uv_loop_close(&loop), 0);
    curl_easy_cleanup(x.keepalive);
    pp_metrics_free(x.m);

    CHECK_INT(x.st_metrics, 200);
    CHECK(strstr(x.body_metrics, "# TYPE pp_test_total counter\npp_test_total 42\n") != NULL);
    CHECK_INT(x.st_health_ok, 200);
    CHECK_INT(x.st_health_bad, 503);
    CHECK_STR(x.body_health_bad, "kafka down\n");
    CHECK_INT(x.st_404, 404);
    CHECK_INT(x.st_later, 200);
    CHECK_STR(x.body_later, "later\n");
    CHECK_INT(x.hang_rc, CURLE_OPERATION_TIMEDOUT);
    CHECK_INT(n_abandoned, 1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_render();
    test_handles();
    test_serve();
    curl_global_cleanup();
    return CHECK_DONE();
}
