/* pp-cc-check.c - test driver: runs the carrier client against pp-carrier-sim and Postgres and proves each gate (pause, breaker, day quota, token, per-second) for the poller's and the bot's day mode; the harness is cc_rig.c. */
#include "cc_rig.h"

/*
 * usage: pp-cc-check SIMULATOR DB_URL TMPDIR [SCENARIO...]   (pause breaker quota token rate)
 * Each scenario runs once per day mode (FLEET = pp-poller, BOT = pp-bot), prints one line of
 * figures, and exits 1 with "FAIL: ..." when a gate does not hold. Waits are for conditions
 * (generous limits); the only timing claims are lower bounds the client must guarantee.
 */

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
    CHECK(r.calls[0].outcome == PP_CC_FAILED, "first call: want FAILED (HTTP %d), got %s", status,
          r.calls[0].why);
    call_t *early = submit(&r, "inpost", 300);  /* due before the pause ends */
    call_t *late = submit(&r, "inpost", 30000); /* waits for it */
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls not completed");
    CHECK(early->outcome == PP_CC_REFUSED && strcmp(early->why, "paused") == 0,
          "a call due before the pause ends: want REFUSED paused, got %d %s", early->outcome,
          early->why);
    CHECK(late->outcome == PP_CC_FAILED,
          "the call after the pause: want FAILED (HTTP %d again), got %s", status, late->why);
    double paused = metric(&r, "carrier_paused_total", "{carrier=\"inpost\"}");
    rig_close(&r);
    sim_stop(&s);
    req_t q[8];
    int n = sim_requests(&s, q, 8);
    CHECK(n == 2, "want 2 requests at the simulator, got %d", n);
    CHECK(q[0].status == status && q[0].retry_after[0],
          "first answer: want %d with Retry-After, got %d '%s'", status, q[0].status,
          q[0].retry_after);
    long long moment;
    if (q[0].retry_after[0] >= '0' && q[0].retry_after[0] <= '9')
        moment = q[0].sent_ms + atoll(q[0].retry_after) * 1000;
    else
        moment = (long long)http_date(q[0].retry_after) * 1000;
    CHECK(moment > 0, "cannot read Retry-After '%s'", q[0].retry_after);
    CHECK(q[1].recv_ms >= moment,
          "a request reached the simulator %lld ms before the Retry-After moment (%s)",
          moment - q[1].recv_ms, q[0].retry_after);
    CHECK(paused == 2, "carrier_paused_total: want 2, got %g", paused);
    printf("pause %-5s HTTP %d Retry-After '%s': next request %lld ms after the moment named, "
           "early call REFUSED paused (wait %lld ms), carrier_paused_total %g\n",
           mode_name, status, q[0].retry_after, q[1].recv_ms - moment, (long long)early->wait_ms,
           paused);
}

static void sc_pause(pp_cc_day_mode_t m)
{
    static const char *const s429[] = {"--p429", "inpost:1", "--retry-after", "1", NULL};
    static const char *const s503[] =
        {"--p429", "inpost:1",           "--retry-after", "1", "--rate-limit-status",
         "503",    "--retry-after-form", "date",          NULL};
    pause_one(m, "pause429", s429, 429);
    pause_one(m, "pause503", s503, 503);
}

/* ---- 2. breaker: 500s open it; refused without a request; one probe after the cool-down --- */

static void sc_breaker(pp_cc_day_mode_t m)
{
    static const char *const opts[] = {"--p500", "inpost:1", NULL};
    static const char *const kv[] = {"breaker_window=4",
                                     "breaker_min_requests=4",
                                     "breaker_failure_pct=50",
                                     "breaker_cooldown_ms=60000",
                                     "breaker_cooldown_max_ms=120000",
                                     NULL};
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
    int probes = count(&r, 7, PP_CC_FAILED, "http_5xx"),
        refused = count(&r, 7, PP_CC_REFUSED, "breaker");
    state = metric(&r, "breaker_state", "{carrier=\"inpost\"}");
    rig_close(&r);
    sim_stop(&s);
    int n = sim_requests(&s, q, 16);
    CHECK(probes == 1 && refused == 2,
          "after the cool-down: want 1 probe FAILED and 2 REFUSED breaker, got %d and %d", probes,
          refused);
    CHECK(n == 5, "want exactly one probe at the simulator after the cool-down, got %d requests",
          n - 4);
    CHECK(state == 2, "breaker_state after the failed probe: want 2, got %g", state);
    printf("breaker %-5s 4 x 500 -> open; 3 calls REFUSED breaker with %d requests; after the cool-down "
           "%d probe, %d REFUSED breaker, open again\n",
           mode_name, open_n - 4, n - 4, refused);
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
    long long v =
        PQresultStatus(pr) == PGRES_TUPLES_OK && PQntuples(pr) ? atoll(PQgetvalue(pr, 0, 0)) : -1;
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
                   "AND datname = current_database()",
                   NULL) >= *(int *)arg;
}

static void take_then_stop(rig_t *r, const char *day)
{
    char err[256];
    PGconn *lk = pp_db_connect(db_url, err, sizeof err);
    const char *p[] = {day};
    int two = 2;
    CHECK(lk && pp_db_exec(lk, "begin", "BEGIN", 0, NULL, NULL) == 0 &&
              pp_db_exec(lk, "lock",
                         "SELECT 1 FROM carrier_usage WHERE carrier IN ('dpd', 'bot:dpd') AND day = $1::date "
                         "FOR UPDATE",
                         1, p, NULL) == 0,
          "cannot lock the dpd rows");
    call_t *c = submit(r, "dpd", 20000);
    /* the periodic reserve (one at a time) and the call's take both wait for the lock */
    CHECK(run_until(r, lock_waiters, &two, WAIT_MS),
          "the take from the share did not reach the row lock");
    pp_cc_drain(r->cc);
    run_until(r, never, NULL, 200);
    CHECK(!c->done, "a call was answered (%s) while its take from the share was still out", c->why);
    CHECK(pp_db_exec(lk, "commit", "COMMIT", 0, NULL, NULL) == 0, "commit");
    PQfinish(lk);
    CHECK(run_until(r, all_done, NULL, WAIT_MS), "the stopped call was not answered");
    CHECK(c->outcome == PP_CC_REFUSED && strcmp(c->why, "stopping") == 0, "stopped call: %d %s",
          c->outcome, c->why);
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
    const char *kv[] = {bot ? "inpost_per_day=10" : "inpost_per_day=5", "bot_day_share_pct=30",
                        "dpd_per_day=10", NULL};
    int allowed = bot ? 3 : 5; /* 10 * 30 % for the bots; 5 for the fleet */
    const char *why = bot ? "quota" : "budget_day";
    setup(&s, &r, m, "quota", NULL, "inpost", kv);
    for (int i = 0; i < 8; i++)
        submit(&r, "inpost", 20000);
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "calls did not complete");
    int answered = count(&r, 0, PP_CC_ANSWERED, NULL), refused = count(&r, 0, PP_CC_REFUSED, why);
    for (int i = 0; i < r.n_calls; i++)
        if (r.calls[i].outcome == PP_CC_REFUSED)
            CHECK(r.calls[i].resets_at == (time_t)((dayno + 1) * 86400),
                  "REFUSED %s: quota_resets_at %lld, want %lld", r.calls[i].why,
                  (long long)r.calls[i].resets_at, (dayno + 1) * 86400);
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
        CHECK(dreq == 0,
              "carrier_usage bot:dpd: %lld requests for a call stopped before it was sent", dreq);
    }
    CHECK(n == allowed, "want %d requests at the simulator, got %d", allowed, n);
    CHECK(answered == allowed && refused == 8 - allowed,
          "want %d ANSWERED and %d REFUSED %s, got %d and %d", allowed, 8 - allowed, why, answered,
          refused);
    CHECK(freq == allowed, "carrier_usage inpost %s: requests %lld, want %d", day, freq, allowed);
    CHECK(!bot || (breq == allowed && bres == allowed && fres == allowed),
          "carrier_usage %s: bot:inpost %lld/%lld, inpost reserved %lld; want %d each", day, breq,
          bres, fres, allowed);
    CHECK(fres <= (bot ? 10 : 5), "carrier_usage inpost reserved %lld over per_day", fres);
    printf("quota %-5s %d of 8 calls reached the simulator, %d REFUSED %s (resets %s+1 00:00 UTC); carrier_usage "
           "%s: inpost %lld requests/%lld reserved%s",
           mode_name, n, refused, why, day, day, freq, fres, bot ? "" : "\n");
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
    CHECK(count(&r, 0, PP_CC_ANSWERED, NULL) == 10, "10 calls: want 10 ANSWERED, got %d",
          count(&r, 0, PP_CC_ANSWERED, NULL));
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
        CHECK(sent == 2, "call %s after the restart: sent %d times, want 2 (401, then once more)",
              r.calls[i].number, sent);
    }
    CHECK(ok == 5, "after the restart: want 5 ANSWERED, got %d (FAILED %d)", ok,
          count(&r, 10, PP_CC_FAILED, NULL));
    CHECK(second == 1 && n401 == 5,
          "after the restart: want 1 token request and 5 x 401, got %lld and %d", second, n401);
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
        CHECK(sim_token_requests(&s) - base == seen,
              "token request %d came before its back-off of %lld ms ended", seen + 1,
              1000LL << (seen - 1));
        CHECK(!c->done, "the call completed (%s) before its deadline with a token try left", c->why);
        frozen_at = next;
    }
    CHECK(run_until(&r, all_done, NULL, WAIT_MS), "the call was not refused");
    frozen = false;
    mono_off = frozen_at - pp_mono_ms();
    CHECK(c->outcome == PP_CC_REFUSED && strcmp(c->why, "token") == 0,
          "want REFUSED token, got %d %s", c->outcome, c->why);
    CHECK(c->done_at <= deadline, "refused %lld ms after its deadline",
          (long long)(c->done_at - deadline));
    CHECK(seen == 4, "want 4 token requests before the deadline (0, 1, 3, 7 s), got %d", seen);
    char gaps[128] = "";
    for (int i = 1; i < seen; i++)
        snprintf(gaps + strlen(gaps), sizeof gaps - strlen(gaps), "%s%lld", i > 1 ? ", " : "",
                 (long long)(starts[i] - starts[i - 1]));
    rig_close(&r);
    sim_stop(&s);
    printf("token %-5s 10 calls 1 token request; restart: 5 x 401, 1 new token, 5 re-sent once, 0 FAILED; "
           "wrong secret: token requests %s ms apart (fake clock, none 1 ms earlier), call REFUSED token %lld ms "
           "before its deadline\n",
           mode_name, gaps, (long long)(deadline - c->done_at));
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
            "('cc-bot', 'bot', 'cc', 2)",
            NULL);
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
    CHECK(worst <= cap, "%d requests reached the simulator within one second; share %.1f/s allows %d",
          worst, share, cap);
    printf("rate  %-5s inpost_rps 5, 2 sharers: %d requests over %lld ms, at most %d in any 1 s window (allowed %d), "
           "%d in a row took >= %lld ms\n",
           mode_name, n, q[n - 1].recv_ms - q[0].recv_ms, worst, cap, cap + 1, span);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: pp-cc-check SIMULATOR DB_URL TMPDIR [pause|breaker|quota|token|rate...]\n");
        return 2;
    }
    sim_bin = argv[1], db_url = argv[2], tmp = argv[3];
    pp_log_init("pp-cc-check", PP_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static const struct {
        const char *name;
        void (*fn)(pp_cc_day_mode_t);
    } all[] = {{"pause", sc_pause},
               {"breaker", sc_breaker},
               {"quota", sc_quota},
               {"token", sc_token},
               {"rate", sc_rate}};
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
