/* pp-cc-check.c - test driver: runs the carrier client against pp-carrier-sim and Postgres and proves each gate (pause, breaker, day quota, token, per-second) for the poller's and the bot's day mode. */
#include "carrier_client.h"
#include "carriers/numbers.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * usage: pp-cc-check SIMULATOR DB_URL TMPDIR [SCENARIO...]   (pause breaker quota token rate)
 * Each scenario runs once per day mode (FLEET = pp-poller, BOT = pp-bot), prints one line of
 * figures, and exits 1 with "FAIL: ..." when a gate does not hold. Waits are for conditions
 * (generous limits); the only timing claims are lower bounds the client must guarantee.
 */

#define MAXC 16
#define WAIT_MS 60000 /* longest wait for something that must happen */

static const char *sim_bin, *db_url, *tmp;
static const char *scen, *mode_name; /* for messages */
static pid_t sims[4]; /* running simulators (0 = free slot) */

/* ---- clocks: monotonic = real + offset (or frozen); wall = real + offset ---------------- */
static int64_t mono_off, wall_off, frozen_at;
static bool frozen;
static int64_t fake_mono(void) { return frozen ? frozen_at : pp_mono_ms() + mono_off; }
static int64_t fake_wall(void) { return pp_now_ms() + wall_off; }

static void stop_sim_pid(pid_t pid)
{
    for (int i = 0; i < 4; i++)
        if (pid > 0 && sims[i] == pid) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
            sims[i] = 0;
        }
}
static void stop_sims(void) { for (int i = 0; i < 4; i++) stop_sim_pid(sims[i]); }

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
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
#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

/* ---- the simulator --------------------------------------------------------------------- */

typedef struct sim {
    pid_t pid;
    int port;
    char url[64], log[512];
} sim_t;

/* Start pp-carrier-sim on port (0 = any) with the options (NULL-terminated); log in TMP/name.requests. */
static void sim_start(sim_t *s, const char *name, int port, const char *const *opts)
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
        bool got = f && fgets(line, sizeof line, f) && sscanf(line, "listening on 127.0.0.1:%d", &s->port) == 1;
        if (f)
            fclose(f);
        if (got) {
            snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
            return;
        }
    }
    die("simulator %s did not start (see %s/%s.log)", name, tmp, name);
}

static void sim_stop(sim_t *s) { stop_sim_pid(s->pid); }

typedef struct req {
    char number[64], retry_after[64];
    int status;
    long long recv_ms, sent_ms;
} req_t;

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
static int sim_requests(const sim_t *s, req_t *out, int cap)
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
static long long sim_token_requests(const sim_t *s)
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

typedef struct call {
    bool done;
    pp_cc_outcome_t outcome;
    char why[32], number[64];
    time_t resets_at;
    int64_t wait_ms, done_at; /* fake monotonic */
} call_t;

typedef struct rig {
    uv_loop_t loop;
    uv_timer_t tick;
    pp_config_t cfg;
    pp_metrics_t *metrics;
    pp_db_t *db;
    pp_cc_t *cc;
    const char *prefix;
    call_t calls[MAXC];
    int n_calls;
} rig_t;

static void tick_cb(uv_timer_t *t) { (void)t; }

static void set(rig_t *r, const char *key, const char *value)
{
    char err[256];
    CHECK(pp_config_set(&r->cfg, key, value, err, sizeof err) == 0, "config %s = %s: %s", key, value, err);
}

/* A client in day mode m; kv: "key=value" config settings over the test defaults, NULL-terminated. */
static void rig_open(rig_t *r, pp_cc_day_mode_t m, const char *const *kv)
{
    memset(r, 0, sizeof *r);
    r->prefix = m == PP_CC_DAY_BOT ? "pp_bot" : "pp_poller";
    CHECK(pp_config_init(&r->cfg) == 0, "config defaults");
    static const char *const base[] = {
        "speed=1", "heartbeat_interval_ms=60000", "budget_sync_ms=100", "breaker_window=20",
        "breaker_min_requests=20", "inpost_rps=0", "inpost_per_day=0", "gls_rps=0", "gls_per_day=0",
        "dhl_per_day=0", NULL};
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
    pp_cc_opts_t o = {.cfg = &r->cfg, .loop = &r->loop, .metrics = r->metrics, .db = r->db,
                      .who = m == PP_CC_DAY_BOT ? "bot" : "worker cc-check", .prefix = r->prefix,
                      .timeout_ms = 10000, .day_mode = m, .now_ms = fake_mono, .wall_ms = fake_wall};
    CHECK(pp_cc_init(&r->cc, &o) == 0, "pp_cc_init");
}

/* A simulator NAME-fleet / NAME-bot with opts, and a client with <carrier>_base_url at it and kv. */
static void setup(sim_t *s, rig_t *r, pp_cc_day_mode_t m, const char *name, const char *const *opts,
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
static bool run_until(rig_t *r, bool (*done)(rig_t *, void *), void *arg, int64_t max_ms)
{
    for (int64_t end = pp_mono_ms() + max_ms; !done(r, arg);) {
        if (pp_mono_ms() >= end)
            return false;
        uv_run(&r->loop, UV_RUN_ONCE);
    }
    return true;
}

static bool never(rig_t *r, void *arg) { (void)r, (void)arg; return false; }
static bool flag_set(rig_t *r, void *arg) { (void)r; return *(bool *)arg; }
static bool all_done(rig_t *r, void *arg)
{
    (void)arg;
    for (int i = 0; i < r->n_calls; i++)
        if (!r->calls[i].done)
            return false;
    return true;
}
static bool idle(rig_t *r, void *arg) { (void)arg; return pp_db_pending(r->db) == 0; }
static void finished_cb(void *arg) { *(bool *)arg = true; }
static void walk_close(uv_handle_t *h, void *arg) { (void)arg; if (!uv_is_closing(h)) uv_close(h, NULL); }

/* Drain, the last carrier_usage write, close everything. */
static void rig_close(rig_t *r)
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

static void call_cb(pp_cc_call_t *c, const pp_cc_result_t *res, void *arg)
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
static call_t *submit(rig_t *r, const char *carrier, int64_t deadline_ms)
{
    static uint64_t seed = 1000;
    CHECK(r->n_calls < MAXC, "too many calls");
    call_t *x = &r->calls[r->n_calls++];
    CHECK(pp_number_example(carrier, seed++, x->number, sizeof x->number) == 0, "no %s example", carrier);
    CHECK(pp_cc_submit(r->cc, carrier, x->number, fake_mono() + deadline_ms, call_cb, x) != NULL,
          "pp_cc_submit %s", carrier);
    return x;
}

static int count(const rig_t *r, int from, pp_cc_outcome_t o, const char *why)
{
    int n = 0;
    for (int i = from; i < r->n_calls; i++)
        n += r->calls[i].done && r->calls[i].outcome == o && (!why || strcmp(r->calls[i].why, why) == 0);
    return n;
}

/* A metric series' value: family without the prefix, labels as rendered ("" for none). */
static double metric(rig_t *r, const char *family, const char *labels)
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

typedef struct mwait { const char *family, *labels; double value; } mwait_t;
static bool metric_at_least(rig_t *r, void *arg)
{
    mwait_t *w = arg;
    return metric(r, w->family, w->labels) >= w->value;
}

/* ---- 1. pause: 429 + Retry-After seconds, 503 + Retry-After as an HTTP date ------------ */

static time_t http_date(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return end ? timegm(&tm) : (time_t)-1;
}

static void pause_one(pp_cc_day_mode_t m, const char *name, const char *const *opts, int status)
{
    sim_t s;
    rig_t r;
    setup(&s, &r, m, name, opts, "inpost", NULL);
    submit(&r, "inpost", 30000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "first call not completed");
    CHECK(r.calls[0].outcome == PP_CC_FAILED, "first call: want FAILED (HTTP %d), got %s", status, r.calls[0].why);
    call_t *early = submit(&r, "inpost", 300);  /* due before the pause ends */
    call_t *late = submit(&r, "inpost", 30000); /* waits for it */
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls not completed");
    CHECK(early->outcome == PP_CC_REFUSED && strcmp(early->why, "paused") == 0,
          "a call due before the pause ends: want REFUSED paused, got %d %s", early->outcome, early->why);
    CHECK(late->outcome == PP_CC_FAILED, "the call after the pause: want FAILED (HTTP %d again), got %s", status, late->why);
    double paused = metric(&r, "carrier_paused_total", "{carrier=\"inpost\"}");
    rig_close(&r);
    sim_stop(&s);
    req_t q[8];
    int n = sim_requests(&s, q, 8);
    CHECK(n == 2, "want 2 requests at the simulator, got %d", n);
    CHECK(q[0].status == status && q[0].retry_after[0], "first answer: want %d with Retry-After, got %d '%s'",
          status, q[0].status, q[0].retry_after);
    long long moment;
    if (q[0].retry_after[0] >= '0' && q[0].retry_after[0] <= '9')
        moment = q[0].sent_ms + atoll(q[0].retry_after) * 1000;
    else
        moment = (long long)http_date(q[0].retry_after) * 1000;
    CHECK(moment > 0, "cannot read Retry-After '%s'", q[0].retry_after);
    CHECK(q[1].recv_ms >= moment, "a request reached the simulator %lld ms before the Retry-After moment (%s)",
          moment - q[1].recv_ms, q[0].retry_after);
    CHECK(paused == 2, "carrier_paused_total: want 2, got %g", paused);
    printf("pause %-5s HTTP %d Retry-After '%s': next request %lld ms after the moment named, "
           "early call REFUSED paused (wait %lld ms), carrier_paused_total %g\n",
           mode_name, status, q[0].retry_after, q[1].recv_ms - moment, (long long)early->wait_ms, paused);
}

static void sc_pause(pp_cc_day_mode_t m)
{
    static const char *const s429[] = {"--p429", "inpost:1", "--retry-after", "1", NULL};
    static const char *const s503[] = {"--p429", "inpost:1", "--retry-after", "1", "--rate-limit-status", "503",
                                       "--retry-after-form", "date", NULL};
    pause_one(m, "pause429", s429, 429);
    pause_one(m, "pause503", s503, 503);
}

/* ---- 2. breaker: 500s open it; refused without a request; one probe after the cool-down --- */

static void sc_breaker(pp_cc_day_mode_t m)
{
    static const char *const opts[] = {"--p500", "inpost:1", NULL};
    static const char *const kv[] = {"breaker_window=4", "breaker_min_requests=4", "breaker_failure_pct=50",
                                     "breaker_cooldown_ms=60000", "breaker_cooldown_max_ms=120000", NULL};
    sim_t s;
    rig_t r;
    req_t q[16];
    setup(&s, &r, m, "breaker", opts, "inpost", kv);
    for (int i = 0; i < 4; i++)
        submit(&r, "inpost", 30000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "the first 4 calls did not complete");
    CHECK(count(&r, 0, PP_CC_FAILED, "http_5xx") == 4, "want 4 FAILED http_5xx");
    double state = metric(&r, "breaker_state", "{carrier=\"inpost\"}");
    CHECK(state == 2, "breaker_state after 4 failures of 4: want 2 (open), got %g", state);
    for (int i = 0; i < 3; i++)
        submit(&r, "inpost", 30000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls to an open breaker did not complete");
    CHECK(count(&r, 4, PP_CC_REFUSED, "breaker") == 3, "calls while open: want 3 REFUSED breaker");
    int open_n = sim_requests(&s, q, 16);
    CHECK(open_n == 4, "want 4 requests at the simulator while open, got %d", open_n);
    mono_off += 60000; /* the cool-down passes */
    for (int i = 0; i < 3; i++)
        submit(&r, "inpost", 30000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls after the cool-down did not complete");
    int probes = count(&r, 7, PP_CC_FAILED, "http_5xx"), refused = count(&r, 7, PP_CC_REFUSED, "breaker");
    state = metric(&r, "breaker_state", "{carrier=\"inpost\"}");
    rig_close(&r);
    sim_stop(&s);
    int n = sim_requests(&s, q, 16);
    CHECK(probes == 1 && refused == 2, "after the cool-down: want 1 probe FAILED and 2 REFUSED breaker, got %d and %d",
          probes, refused);
    CHECK(n == 5, "want exactly one probe at the simulator after the cool-down, got %d requests", n - 4);
    CHECK(state == 2, "breaker_state after the failed probe: want 2, got %g", state);
    printf("breaker %-5s 4 x 500 -> open; 3 calls REFUSED breaker with %d requests; after the cool-down "
           "%d probe, %d REFUSED breaker, open again\n", mode_name, open_n - 4, n - 4, refused);
}

/* ---- 3. day quota: the fleet's per_day, the bots' share --------------------------------- */

/* The first column of the first row of sql ($1 = arg, if any) as a number; -1 when no row. */
static long long sql_num(const char *sql, const char *arg)
{
    char err[256];
    PGconn *c = pp_db_connect(db_url, err, sizeof err);
    CHECK(c, "connect: %s", err);
    PGresult *pr = NULL;
    const char *p[] = {arg};
    CHECK(pp_db_exec(c, "check", sql, arg ? 1 : 0, p, &pr) == 0, "query failed: %s", sql);
    long long v = PQresultStatus(pr) == PGRES_TUPLES_OK && PQntuples(pr) ? atoll(PQgetvalue(pr, 0, 0)) : -1;
    PQclear(pr);
    PQfinish(c);
    return v;
}

static void usage_row(const char *carrier, const char *day, long long *req, long long *res)
{
    char q[160];
    snprintf(q, sizeof q, "SELECT requests FROM carrier_usage WHERE carrier = $1 AND day = '%s'", day);
    *req = sql_num(q, carrier);
    snprintf(q, sizeof q, "SELECT reserved FROM carrier_usage WHERE carrier = $1 AND day = '%s'", day);
    *res = sql_num(q, carrier);
}

/*
 * A bot's call stopped while its take from the share waits on the row lock: it is answered
 * only once the take ends, and the request taken is given back (nothing was sent).
 */
static bool lock_waiters(rig_t *r, void *arg)
{
    (void)r;
    return sql_num("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND datname = current_database()", NULL) >= *(int *)arg;
}

static void take_then_stop(rig_t *r, const char *day)
{
    char err[256];
    PGconn *lk = pp_db_connect(db_url, err, sizeof err);
    const char *p[] = {day};
    int two = 2;
    CHECK(lk && pp_db_exec(lk, "begin", "BEGIN", 0, NULL, NULL) == 0 &&
          pp_db_exec(lk, "lock", "SELECT 1 FROM carrier_usage WHERE carrier IN ('dpd', 'bot:dpd') AND day = $1::date "
                     "FOR UPDATE", 1, p, NULL) == 0, "cannot lock the dpd rows");
    call_t *c = submit(r, "dpd", 20000);
    /* the periodic reserve (one at a time) and the call's take both wait for the lock */
    CHECK(run_until(r, lock_waiters, &two, WAIT_MS), "the take from the share did not reach the row lock");
    pp_cc_drain(r->cc);
    run_until(r, never, NULL, 200);
    CHECK(!c->done, "a call was answered (%s) while its take from the share was still out", c->why);
    CHECK(pp_db_exec(lk, "commit", "COMMIT", 0, NULL, NULL) == 0, "commit");
    PQfinish(lk);
    CHECK(run_until(r, all_done, NULL, WAIT_MS), "the stopped call was not answered");
    CHECK(c->outcome == PP_CC_REFUSED && strcmp(c->why, "stopping") == 0, "stopped call: %d %s", c->outcome, c->why);
}

static void sc_quota(pp_cc_day_mode_t m)
{
    sim_t s;
    rig_t r;
    char day[16];
    bool bot = m == PP_CC_DAY_BOT;
    long long dayno = 22000 + (bot ? 1 : 0); /* a UTC day of its own (2030-03-27/28), 10:00 */
    wall_off = dayno * 86400000LL + 36000000LL - pp_now_ms();
    pp_time_day_text(dayno, day);
    const char *kv[] = {bot ? "inpost_per_day=10" : "inpost_per_day=5", "bot_day_share_pct=30", "dpd_per_day=10",
                        NULL};
    int allowed = bot ? 3 : 5; /* 10 * 30 % for the bots; 5 for the fleet */
    const char *why = bot ? "quota" : "budget_day";
    setup(&s, &r, m, "quota", NULL, "inpost", kv);
    for (int i = 0; i < 8; i++)
        submit(&r, "inpost", 20000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls did not complete");
    int answered = count(&r, 0, PP_CC_ANSWERED, NULL), refused = count(&r, 0, PP_CC_REFUSED, why);
    for (int i = 0; i < r.n_calls; i++)
        if (r.calls[i].outcome == PP_CC_REFUSED)
            CHECK(r.calls[i].resets_at == (time_t)((dayno + 1) * 86400), "REFUSED %s: quota_resets_at %lld, want %lld",
                  r.calls[i].why, (long long)r.calls[i].resets_at, (dayno + 1) * 86400);
    if (bot)
        take_then_stop(&r, day);
    rig_close(&r);
    sim_stop(&s);
    wall_off = 0;
    req_t q[16];
    int n = sim_requests(&s, q, 16);
    long long freq, fres, breq = 0, bres = 0;
    usage_row("inpost", day, &freq, &fres);
    if (bot) {
        long long dreq, dres;
        usage_row("bot:inpost", day, &breq, &bres);
        usage_row("bot:dpd", day, &dreq, &dres);
        CHECK(dreq == 0, "carrier_usage bot:dpd: %lld requests for a call stopped before it was sent", dreq);
    }
    CHECK(n == allowed, "want %d requests at the simulator, got %d", allowed, n);
    CHECK(answered == allowed && refused == 8 - allowed, "want %d ANSWERED and %d REFUSED %s, got %d and %d", allowed,
          8 - allowed, why, answered, refused);
    CHECK(freq == allowed, "carrier_usage inpost %s: requests %lld, want %d", day, freq, allowed);
    CHECK(!bot || (breq == allowed && bres == allowed && fres == allowed),
          "carrier_usage %s: bot:inpost %lld/%lld, inpost reserved %lld; want %d each", day, breq, bres, fres, allowed);
    CHECK(fres <= (bot ? 10 : 5), "carrier_usage inpost reserved %lld over per_day", fres);
    printf("quota %-5s %d of 8 calls reached the simulator, %d REFUSED %s (resets %s+1 00:00 UTC); carrier_usage "
           "%s: inpost %lld requests/%lld reserved%s", mode_name, n, refused, why, day, day, freq, fres,
           bot ? "" : "\n");
    if (bot)
        printf(", bot:inpost %lld/%lld; a call stopped while its take waited: answered after it, 0 left taken\n",
               breq, bres);
}

/* ---- 4. token: one fetch for many calls; 401 after a restart; back-off on failure ------- */

static void sc_token(pp_cc_day_mode_t m)
{
    static const char *const opts[] = {"--client-id", "cc", "--client-secret", "right", NULL};
    static const char *const kv[] = {"gls_client_id=cc", "gls_client_secret=right", NULL};
    sim_t s;
    rig_t r;
    char url[96];
    req_t q[32];
    setup(&s, &r, m, "token", opts, "gls", kv);
    snprintf(url, sizeof url, "gls_base_url=%s", s.url);
    for (int i = 0; i < 10; i++)
        submit(&r, "gls", 30000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls did not complete");
    CHECK(count(&r, 0, PP_CC_ANSWERED, NULL) == 10, "10 calls: want 10 ANSWERED, got %d", count(&r, 0, PP_CC_ANSWERED, NULL));
    long long first = sim_token_requests(&s);
    CHECK(first == 1, "10 calls: want 1 token request, got %lld", first);

    /* a restarted simulator: every token it issued before is void */
    sim_stop(&s);
    sim_start(&s, m == PP_CC_DAY_BOT ? "token-bot2" : "token-fleet2", s.port, opts);
    for (int i = 0; i < 5; i++)
        submit(&r, "gls", 30000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls after the restart did not complete");
    int ok = count(&r, 10, PP_CC_ANSWERED, NULL);
    long long second = sim_token_requests(&s);
    int n = sim_requests(&s, q, 32), n401 = 0;
    for (int i = 0; i < n; i++)
        n401 += q[i].status == 401;
    for (int i = 10; i < 15; i++) {
        int sent = 0;
        for (int j = 0; j < n; j++)
            sent += strcmp(q[j].number, r.calls[i].number) == 0;
        CHECK(sent == 2, "call %s after the restart: sent %d times, want 2 (401, then once more)", r.calls[i].number, sent);
    }
    CHECK(ok == 5, "after the restart: want 5 ANSWERED, got %d (FAILED %d)", ok, count(&r, 10, PP_CC_FAILED, NULL));
    CHECK(second == 1 && n401 == 5, "after the restart: want 1 token request and 5 x 401, got %lld and %d", second, n401);
    rig_close(&r);

    /* a wrong secret: token requests back off 1 s, 2 s, 4 s. The fake clock stands still
     * but for our moves: 1 ms before each back-off ends no request, at its end one. */
    const char *bad[] = {url, "gls_client_id=cc", "gls_client_secret=wrong", NULL};
    rig_open(&r, m, bad);
    frozen_at = fake_mono();
    frozen = true;
    int64_t t0 = frozen_at, deadline = t0 + 8000, starts[8];
    long long base = sim_token_requests(&s);
    call_t *c = submit(&r, "gls", 8000);
    int seen = 0;
    for (;;) {
        mwait_t w = {"token_refreshes_total", "{carrier=\"gls\",result=\"error\"}", seen + 1};
        CHECK(run_until(&r, metric_at_least, &w, WAIT_MS), "token request %d did not fail", seen + 1);
        CHECK(sim_token_requests(&s) - base == seen + 1, "%lld token requests, want %d",
              sim_token_requests(&s) - base, seen + 1);
        starts[seen++] = frozen_at;
        int64_t next = frozen_at + (1000LL << (seen - 1));
        if (next > deadline || seen == 8)
            break; /* the next try would come after the deadline: refused now */
        frozen_at = next - 1;
        run_until(&r, never, NULL, 150); /* the client re-checks every 50 ms at most */
        CHECK(sim_token_requests(&s) - base == seen, "token request %d came before its back-off of %lld ms ended",
              seen + 1, 1000LL << (seen - 1));
        CHECK(!c->done, "the call completed (%s) before its deadline with a token try left", c->why);
        frozen_at = next;
    }
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "the call was not refused");
    frozen = false;
    mono_off = frozen_at - pp_mono_ms();
    CHECK(c->outcome == PP_CC_REFUSED && strcmp(c->why, "token") == 0, "want REFUSED token, got %d %s", c->outcome, c->why);
    CHECK(c->done_at <= deadline, "refused %lld ms after its deadline", (long long)(c->done_at - deadline));
    CHECK(seen == 4, "want 4 token requests before the deadline (0, 1, 3, 7 s), got %d", seen);
    char gaps[128] = "";
    for (int i = 1; i < seen; i++)
        snprintf(gaps + strlen(gaps), sizeof gaps - strlen(gaps), "%s%lld", i > 1 ? ", " : "",
                 (long long)(starts[i] - starts[i - 1]));
    rig_close(&r);
    sim_stop(&s);
    printf("token %-5s 10 calls 1 token request; restart: 5 x 401, 1 new token, 5 re-sent once, 0 FAILED; "
           "wrong secret: token requests %s ms apart (fake clock, none 1 ms earlier), call REFUSED token %lld ms "
           "before its deadline\n", mode_name, gaps, (long long)(deadline - c->done_at));
}

/* ---- 5. per-second: rps / live sharers, no 1-second window over ceil(share) -------------- */

static void sc_rate(pp_cc_day_mode_t m)
{
    static const char *const kv[] = {"inpost_rps=5", NULL};
    sim_t s;
    rig_t r;
    double share = 5.0 / 2; /* a live poller and a live bot share it */
    int cap = (int)ceil(share);
    sql_num("INSERT INTO workers (id, kind, host, pid) VALUES ('cc-poller', 'poller', 'cc', 1), "
            "('cc-bot', 'bot', 'cc', 2)", NULL);
    setup(&s, &r, m, "rate", NULL, "inpost", kv);
    mwait_t w = {"rate_sharers", "", 2};
    CHECK(run_until(&r, metric_at_least, &w, WAIT_MS), "the client did not count 2 sharers");
    for (int i = 0; i < 8; i++)
        submit(&r, "inpost", 60000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls did not complete");
    int ok = count(&r, 0, PP_CC_ANSWERED, NULL);
    rig_close(&r);
    sim_stop(&s);
    sql_num("DELETE FROM workers WHERE id LIKE 'cc-%'", NULL);
    req_t q[16];
    int n = sim_requests(&s, q, 16), worst = 0;
    long long span = -1; /* shortest time cap+1 requests took */
    CHECK(n == 8 && ok == 8, "want 8 requests and 8 ANSWERED, got %d and %d", n, ok);
    for (int i = 0; i < n; i++) {
        int in = 0;
        for (int j = 0; j < n; j++)
            in += q[j].recv_ms >= q[i].recv_ms && q[j].recv_ms < q[i].recv_ms + 1000;
        worst = in > worst ? in : worst;
        if (i + cap < n && (span < 0 || q[i + cap].recv_ms - q[i].recv_ms < span))
            span = q[i + cap].recv_ms - q[i].recv_ms;
    }
    CHECK(worst <= cap, "%d requests reached the simulator within one second; share %.1f/s allows %d", worst, share, cap);
    printf("rate  %-5s inpost_rps 5, 2 sharers: %d requests over %lld ms, at most %d in any 1 s window (allowed %d), "
           "%d in a row took >= %lld ms\n", mode_name, n, q[n - 1].recv_ms - q[0].recv_ms, worst, cap, cap + 1, span);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: pp-cc-check SIMULATOR DB_URL TMPDIR [pause|breaker|quota|token|rate...]\n");
        return 2;
    }
    sim_bin = argv[1], db_url = argv[2], tmp = argv[3];
    pp_log_init("pp-cc-check", PP_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static const struct { const char *name; void (*fn)(pp_cc_day_mode_t); } all[] = {
        {"pause", sc_pause}, {"breaker", sc_breaker}, {"quota", sc_quota}, {"token", sc_token}, {"rate", sc_rate}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        bool want = argc == 4;
        for (int a = 4; a < argc; a++)
            want |= strcmp(argv[a], all[i].name) == 0;
        if (!want)
            continue;
        scen = all[i].name;
        for (int mode = PP_CC_DAY_FLEET; mode <= PP_CC_DAY_BOT; mode++) {
            mode_name = mode == PP_CC_DAY_BOT ? "BOT" : "FLEET";
            all[i].fn((pp_cc_day_mode_t)mode);
            fflush(stdout);
        }
    }
    stop_sims();
    curl_global_cleanup();
    return 0;
}
