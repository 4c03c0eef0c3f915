/*
 * daemon.h - the one process shape every parcelpush daemon runs in.
 *
 * main() is one call: pp_daemon_main(argc, argv, &hooks). The frame owns everything that is
 * the same in every process: the options and the configuration (pp_launch), the libuv loop,
 * the metrics registry and the ops listener (ops_addr: /livez, /readyz = /healthz, /metrics;
 * empty = 127.0.0.1 on the kind's ops_port), the database pool, the process's row in
 * the workers table (registered at start, a heartbeat with the process's counters, marked
 * stopped at the end), and the signals: SIGTERM or SIGINT starts a graceful stop, a second
 * one exits at once, SIGHUP reloads the configuration. Outside env = dev it refuses to start on
 * a development default (production.h: the database, and what `uses` names).
 *
 * The process brings its work as hooks. The stop runs in named phases (pp_daemon_phase_t):
 * the frame calls drain(), the process stops taking work, finishes what it holds and calls
 * pp_daemon_drained(); the frame writes the final counters and the stopped mark, waits for
 * the database, calls close() for the process's handles, closes its own and the loop ends.
 */
#ifndef PP_DAEMON_H
#define PP_DAEMON_H

#include "config.h"
#include "db.h"
#include "metrics.h"
#include "production.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct pp_daemon pp_daemon_t;

/* The stop, in order. Each phase waits for what it names. */
typedef enum {
    PP_DAEMON_RUNNING = 0,
    PP_DAEMON_DRAINING, /* the process's drain: no new work, what it holds finished or handed back */
    PP_DAEMON_MARKING,  /* the final counters and the stopped mark in the workers row */
    PP_DAEMON_CLOSING,  /* the database pool finishes its jobs; the process closes its handles */
    PP_DAEMON_CLOSED    /* every handle closed: the loop ends */
} pp_daemon_phase_t;

typedef struct pp_daemon_hooks {
    const char *prog;    /* "pp-poller": log prefix, --version, usage */
    const char *kind;    /* "poller": the workers row's kind and the default worker id */
    const char *summary; /* one line for --help */
    /* true: the process runs its database jobs on the pool (db_pool_size connections);
     * false: one connection, for the workers row only. */
    bool uses_db_pool;
    /* The ops listener's port when ops_addr is empty (127.0.0.1:ops_port): one fixed port per
     * kind, so one scrape configuration fits every host (docs/operations.md). */
    int ops_port;
    /* PP_USES_* bits (production.h): the development defaults production mode refuses. */
    unsigned uses;
    /*
     * On the loop thread, after the metrics server, the pool and the workers row's
     * registration are under way: declare metrics, start the work, log the start line.
     * *self is handed to every other hook. A non-zero return (PP_E*) ends the process (exit 1).
     */
    int (*start)(pp_daemon_t *d, void **self);
    /* The stop begins: take no new work; call pp_daemon_drained(d) once everything taken
     * is finished or handed back (it may be called from inside drain). */
    void (*drain)(void *self);
    /* Close the process's handles (the loop still runs their close callbacks). */
    void (*close)(void *self);
    /* After the loop has ended: free what start allocated. Optional. */
    void (*free)(void *self);
    /* The counters for the workers row as one JSON object. Called on the loop thread. */
    void (*counters)(void *self, char *json, size_t cap);
    /* Optional: 0 when ready, else 1 and a one-line reason in msg (/readyz answers 503). */
    int (*health)(void *self, char *msg, size_t cap);
    /* Optional: SIGHUP changed reloadable keys; re-apply what is kept outside cfg. Not
     * called once the stop has begun. */
    void (*reload)(void *self);
} pp_daemon_hooks_t;

/* The whole of a daemon's main(): returns the process's exit code. */
int pp_daemon_main(int argc, char **argv, const pp_daemon_hooks_t *hooks);

uv_loop_t *pp_daemon_loop(pp_daemon_t *d);
pp_config_t *pp_daemon_config(pp_daemon_t *d);
pp_metrics_t *pp_daemon_metrics(pp_daemon_t *d);
pp_db_t *pp_daemon_db(pp_daemon_t *d);
const char *pp_daemon_worker_id(pp_daemon_t *d);
const char *pp_daemon_ops_addr(pp_daemon_t *d); /* the ops listener's host:port actually served */
const char *pp_daemon_who(pp_daemon_t *d);      /* "worker <id>": the log prefix */

/* The process has drained (see drain). Only the first call counts. */
void pp_daemon_drained(pp_daemon_t *d);
/* Ask for a graceful stop from inside the process (as SIGTERM does). */
void pp_daemon_stop(pp_daemon_t *d);
/* The exit code pp_daemon_main returns (default 0): a process that ended on an error. */
void pp_daemon_set_exit_code(pp_daemon_t *d, int code);
/* /readyz's verdict: 0 ready, else 1 + reason. */
int pp_daemon_health(pp_daemon_t *d, char *msg, size_t cap);

#endif
