/* cc_rig.h - pp-cc-check's harness: fake clocks, the carrier simulator and its request log, the carrier client on its own loop with recorded calls and metrics. */
#ifndef PP_CC_RIG_H
#define PP_CC_RIG_H

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

#define MAXC 16
#define WAIT_MS 60000 /* longest wait for something that must happen */

extern const char *sim_bin, *db_url, *tmp;
extern const char *scen, *mode_name;
extern pid_t sims[4];
extern int64_t mono_off, wall_off, frozen_at;
extern bool frozen;

typedef struct sim {
    pid_t pid;
    int port;
    char url[64], log[512];
} sim_t;

typedef struct req {
    char number[64], retry_after[64];
    int status;
    long long recv_ms, sent_ms;
} req_t;

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

/* Each is described where it is defined (cc_rig.c). */
int64_t fake_mono(void);
int64_t fake_wall(void);
void stop_sims(void);
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
void sim_start(sim_t *s, const char *name, int port, const char *const *opts);
void sim_stop(sim_t *s);
int sim_requests(const sim_t *s, req_t *out, int cap);
long long sim_token_requests(const sim_t *s);
void set(rig_t *r, const char *key, const char *value);
void rig_open(rig_t *r, pp_cc_day_mode_t m, const char *const *kv);
void setup(sim_t *s, rig_t *r, pp_cc_day_mode_t m, const char *name, const char *const *opts,
           const char *carrier, const char *const *kv);
bool run_until(rig_t *r, bool (*done)(rig_t *, void *), void *arg, int64_t max_ms);
bool never(rig_t *r, void *arg);
bool flag_set(rig_t *r, void *arg);
bool all_done(rig_t *r, void *arg);
bool idle(rig_t *r, void *arg);
void finished_cb(void *arg);
void rig_close(rig_t *r);
void call_cb(pp_cc_call_t *c, const pp_cc_result_t *res, void *arg);
call_t *submit(rig_t *r, const char *carrier, int64_t deadline_ms);
int count(const rig_t *r, int from, pp_cc_outcome_t o, const char *why);
double metric(rig_t *r, const char *family, const char *labels);
bool metric_at_least(rig_t *r, void *arg);

/* die() unless cond: exit 1 with "FAIL: <scenario> <mode>: ..." */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            die(__VA_ARGS__);                                                                      \
    } while (0)
/* metric_at_least's argument: wait until <prefix>_family labels >= value */
typedef struct mwait {
    const char *family, *labels;
    double value;
} mwait_t;

#endif
