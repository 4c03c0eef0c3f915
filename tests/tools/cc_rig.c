/* cc_rig.c - pp-cc-check's harness (cc_rig.h): fake clocks, the simulator, the client rig. */
#include "cc_rig.h"

const char *sim_bin, *db_url, *tmp;
const char *scen, *mode_name; /* for messages */
pid_t sims[4];                /* running simulators (0 = free slot) */

/* ---- clocks: monotonic = real + offset (or frozen); wall = real + offset ---------------- */
int64_t mono_off, wall_off, frozen_at;
bool frozen;
int64_t fake_mono(void) { return frozen ? frozen_at : pp_mono_ms() + mono_off; }
int64_t fake_wall(void) { return pp_now_ms() + wall_off; }

static void stop_sim_pid(pid_t pid)
{
    for (int i = 0; i < 4; i++)
        if (pid > 0 && sims[i] == pid) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
            sims[i] = 0;
        }
}
void stop_sims(void)
{
    for (int i = 0; i < 4; i++)
        stop_sim_pid(sims[i]);
}

__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: %s %s: ", scen ? scen : "setup", mode_name ? mode_name : "");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    stop_sims();
    _exit(1); /* not exit(): libuv's destructor would join pool threads that may wait on a lock */
}

/* ---- the simulator --------------------------------------------------------------------- */

/* Start pp-carrier-sim on port (0 = any) with the options (NULL-terminated); log in TMP/name.requests. */
void sim_start(sim_t *s, const char *name, int port, const char *const *opts)
{
    char out[512], listen[64], line[256];
    snprintf(s->log, sizeof s->log, "%s/%s.requests", tmp, name);
    snprintf(out, sizeof out, "%s/%s.out", tmp, name);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    unlink(s->log);
    unlink(out);
    const char *argv[32] = {sim_bin, "--listen", listen, "--log-requests", s->log};
    int n = 5;
    for (; opts && *opts && n < 31; opts++)
        argv[n++] = *opts;
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        char err[512];
        snprintf(err, sizeof err, "%s/%s.log", tmp, name);
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
            _exit(127);
        execv(sim_bin, (char *const *)argv);
        _exit(127);
    }
    int slot = 0;
    while (slot < 3 && sims[slot] > 0)
        slot++;
    s->pid = sims[slot] = pid;
    for (int64_t end = pp_mono_ms() + WAIT_MS; pp_mono_ms() < end; usleep(10000)) {
        FILE *f = fopen(out, "r");
        bool got = f && fgets(line, sizeof line, f) &&
                   sscanf(line, "listening on 127.0.0.1:%d", &s->port) == 1;
        if (f)
            fclose(f);
        if (got) {
            snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
            return;
        }
    }
    die("simulator %s did not start (see %s/%s.log)", name, tmp, name);
}

void sim_stop(sim_t *s) { stop_sim_pid(s->pid); }

static long long json_ll(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void json_str(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    out[0] = '\0';
    if (p)
        snprintf(out, cap, "%.*s", (int)strcspn(p + strlen(key), "\""), p + strlen(key));
}

/* The simulator's request log (one line per number: our calls carry one number each). */
int sim_requests(const sim_t *s, req_t *out, int cap)
{
    FILE *f = fopen(s->log, "r");
    char line[1024];
    int n = 0;
    while (f && n < cap && fgets(line, sizeof line, f)) {
        req_t *r = &out[n++];
        json_str(line, "\"number\":\"", r->number, sizeof r->number);
        json_str(line, "\"retry_after\":\"", r->retry_after, sizeof r->retry_after);
        r->status = (int)json_ll(line, "\"status\":");
        r->recv_ms = json_ll(line, "\"recv_ms\":");
        r->sent_ms = json_ll(line, "\"sent_ms\":");
    }
    if (f)
        fclose(f);
    return n;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
    char *b = arg;
    size_t have = strlen(b), add = sz * n;
    if (have + add < 2048)
        memcpy(b + have, p, add), b[have + add] = '\0';
    return sz * n;
}

/* GET /sim/stats: the token endpoint's request count (not in the request log). */
long long sim_token_requests(const sim_t *s)
{
    char url[128], body[2048] = "";
    snprintf(url, sizeof url, "%s/sim/stats", s->url);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    CHECK(rc == CURLE_OK, "GET %s: %s", url, curl_easy_strerror(rc));
    return json_ll(body, "\"token_requests\":");
}

/* ---- the client on its own loop -------------------------------------------------------- */

static void tick_cb(uv_timer_t *t) { (void)t; }

void set(rig_t *r, const char *key, const char *value)
{
    char err[256];
    CHECK(pp_config_set(&r->cfg, key, value, err, sizeof err) == 0, "config %s = %s: %s", key,
          value, err);
}

/* A client in day mode m; kv: "key=value" config settings over the test defaults, NULL-terminated. */
void rig_open(rig_t *r, pp_cc_day_mode_t m, const char *const *kv)
{
    memset(r, 0, sizeof *r);
    r->prefix = m == PP_CC_DAY_BOT ? "pp_bot" : "pp_poller";
    CHECK(pp_config_init(&r->cfg) == 0, "config defaults");
    static const char *const base[] = {"speed=1",
                                       "heartbeat_interval_ms=60000",
                                       "budget_sync_ms=100",
                                       "breaker_window=20",
                                       "breaker_min_requests=20",
                                       "inpost_rps=0",
                                       "inpost_per_day=0",
                                       "gls_rps=0",
                                       "gls_per_day=0",
                                       "dhl_per_day=0",
                                       NULL};
    for (int pass = 0; pass < 2; pass++)
        for (const char *const *p = pass ? kv : base; p && *p; p++) {
            char k[64];
            const char *eq = strchr(*p, '=');
            snprintf(k, sizeof k, "%.*s", (int)(eq - *p), *p);
            set(r, k, eq + 1);
        }
    uv_loop_init(&r->loop);
    uv_timer_init(&r->loop, &r->tick);
    uv_timer_start(&r->tick, tick_cb, 5, 5); /* uv_run(ONCE) returns at least every 5 ms */
    CHECK((r->metrics = pp_metrics_new()) != NULL, "metrics");
    CHECK(pp_db_open(&r->db, &r->loop, db_url, 2) == 0, "cannot open %s", db_url);
    pp_cc_opts_t o = {.cfg = &r->cfg,
                      .loop = &r->loop,
                      .metrics = r->metrics,
                      .db = r->db,
                      .who = m == PP_CC_DAY_BOT ? "bot" : "worker cc-check",
                      .prefix = r->prefix,
                      .timeout_ms = 10000,
                      .day_mode = m,
                      .now_ms = fake_mono,
                      .wall_ms = fake_wall};
    CHECK(pp_cc_init(&r->cc, &o) == 0, "pp_cc_init");
}

/* A simulator NAME-fleet / NAME-bot with opts, and a client with <carrier>_base_url at it and kv. */
void setup(sim_t *s, rig_t *r, pp_cc_day_mode_t m, const char *name, const char *const *opts,
           const char *carrier, const char *const *kv)
{
    char sname[64], url[128];
    const char *all[16] = {url};
    snprintf(sname, sizeof sname, "%s-%s", name, m == PP_CC_DAY_BOT ? "bot" : "fleet");
    sim_start(s, sname, 0, opts);
    snprintf(url, sizeof url, "%s_base_url=%s", carrier, s->url);
    for (int n = 1; kv && *kv && n < 15; kv++)
        all[n++] = *kv;
    rig_open(r, m, all);
}

/* Run the loop until done(arg) or WAIT_MS (false). */
bool run_until(rig_t *r, bool (*done)(rig_t *, void *), void *arg, int64_t max_ms)
{
    for (int64_t end = pp_mono_ms() + max_ms; !done(r, arg);) {
        if (pp_mono_ms() >= end)
            return false;
        uv_run(&r->loop, UV_RUN_ONCE);
    }
    return true;
}

bool never(rig_t *r, void *arg)
{
    (void)r, (void)arg;
    return false;
}
bool flag_set(rig_t *r, void *arg)
{
    (void)r;
    return *(bool *)arg;
}
bool all_done(rig_t *r, void *arg)
{
    (void)arg;
    for (int i = 0; i < r->n_calls; i++)
        if (!r->calls[i].done)
            return false;
    return true;
}
bool idle(rig_t *r, void *arg)
{
    (void)arg;
    return pp_db_pending(r->db) == 0;
}
void finished_cb(void *arg) { *(bool *)arg = true; }
static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Drain, the last carrier_usage write, close everything. */
void rig_close(rig_t *r)
{
    bool fin = false;
    CHECK(run_until(r, all_done, NULL, WAIT_MS), "calls still pending at the end");
    pp_cc_drain(r->cc);
    pp_cc_finish(r->cc, finished_cb, &fin);
    CHECK(run_until(r, flag_set, &fin, WAIT_MS), "pp_cc_finish did not finish");
    CHECK(run_until(r, idle, NULL, WAIT_MS), "database jobs still pending");
    pp_cc_close(r->cc);
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    pp_db_close(r->db);
    uv_walk(&r->loop, walk_close, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
    pp_metrics_free(r->metrics);
    pp_config_free(&r->cfg);
}

void call_cb(pp_cc_call_t *c, const pp_cc_result_t *res, void *arg)
{
    (void)c;
    call_t *x = arg;
    x->done = true;
    x->outcome = res->outcome;
    snprintf(x->why, sizeof x->why, "%s", res->why);
    x->resets_at = res->quota_resets_at;
    x->wait_ms = res->wait_ms;
    x->done_at = fake_mono();
}

/* A call with one (new) example number; deadline_ms from now on the fake monotonic clock. */
call_t *submit(rig_t *r, const char *carrier, int64_t deadline_ms)
{
    static uint64_t seed = 1000;
    CHECK(r->n_calls < MAXC, "too many calls");
    call_t *x = &r->calls[r->n_calls++];
    CHECK(pp_number_example(carrier, seed++, x->number, sizeof x->number) == 0, "no %s example",
          carrier);
    CHECK(pp_cc_submit(r->cc, carrier, x->number, fake_mono() + deadline_ms, call_cb, x) != NULL,
          "pp_cc_submit %s", carrier);
    return x;
}

int count(const rig_t *r, int from, pp_cc_outcome_t o, const char *why)
{
    int n = 0;
    for (int i = from; i < r->n_calls; i++)
        n += r->calls[i].done && r->calls[i].outcome == o &&
             (!why || strcmp(r->calls[i].why, why) == 0);
    return n;
}

/* A metric series' value: family without the prefix, labels as rendered ("" for none). */
double metric(rig_t *r, const char *family, const char *labels)
{
    char want[256], *text;
    size_t len;
    snprintf(want, sizeof want, "%s_%s%s ", r->prefix, family, labels);
    CHECK(pp_metrics_render(r->metrics, &text, &len) == 0, "metrics render");
    double v = 0;
    for (char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, want, strlen(want)) == 0)
            v = strtod(p + strlen(want), NULL);
    free(text);
    return v;
}

bool metric_at_least(rig_t *r, void *arg)
{
    mwait_t *w = arg;
    return metric(r, w->family, w->labels) >= w->value;
}
