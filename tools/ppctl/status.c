/* status.c - `ppctl status`: one snapshot of the fleet (workers, carriers, relay, lag, dead letters, rates, totals) as text or JSON, once or refreshed in place (--watch). */
#include "status.h"

#include "db.h"
#include "err.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: ppctl status [--json|--line] [--exact] [--watch [SECONDS]]\n"

typedef struct {
    int json, line;
    bool exact; /* whole-table counts even on a large database */
} opts_t;

static volatile sig_atomic_t stop_watch;
static void on_stop(int sig)
{
    (void)sig;
    stop_watch = 1;
}

/* Everything into st (a new object; the caller deletes it); 0 or PP_EDB (printed). */
static int snapshot(PGconn *c, rd_kafka_t *rk, const ppctl_t *ctl, bool exact, ppctl_counts_t *s,
                    cJSON **st)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    *st = cJSON_CreateObject();
    cJSON_AddStringToObject(*st, "time", now);
    if (ppctl_counts_take(c, rk, ctl, exact, s))
        return PP_EDB;
    ppctl_counts_json(s, *st);
    if (ppctl_status_db(c, ctl, *st))
        return PP_EDB;
    ppctl_status_kafka(rk, ctl, *st);
    return PP_OK;
}

/* One snapshot printed in the chosen form; 0 or 1. */
static int show(PGconn *c, rd_kafka_t *rk, const ppctl_t *ctl, const opts_t *o)
{
    ppctl_counts_t s;
    cJSON *st = NULL;
    int rc = snapshot(c, rk, ctl, o->exact, &s, &st);
    if (rc == PP_OK) {
        if (o->json) {
            char *text = cJSON_PrintUnformatted(st);
            if (text)
                puts(text);
            free(text);
        } else if (o->line) {
            ppctl_counts_line(stdout, &s);
            putchar('\n');
        } else {
            ppctl_status_print(stdout, ctl, &s, st);
        }
    }
    cJSON_Delete(st);
    fflush(stdout);
    return rc ? 1 : 0;
}

/* A connection whose connect and each query give up after a few seconds, so that neither a
 * database gone away nor a stuck query holds a watch (or its SIGTERM) for long; NULL: printed. */
static PGconn *connect_bounded(ppctl_t *ctl)
{
    setenv("PGCONNECT_TIMEOUT", "5", 0); /* unless the URL or the environment says otherwise */
    PGconn *c = ppctl_connect(ctl);
    PGresult *r;
    if (c && pp_db_exec(c, "statement timeout", "SET statement_timeout = '10s'", 0, NULL, &r) == PP_OK)
        PQclear(r);
    return c;
}

/* Like watch(1): the screen cleared (on a terminal) and the snapshot printed every `secs`
 * seconds, until SIGINT or SIGTERM: exit status 0. A snapshot that fails (the database went
 * away) is reported and the next one tried on a new connection. */
static int watch(PGconn *c, rd_kafka_t *rk, ppctl_t *ctl, const opts_t *o, long long secs)
{
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: the sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(STDOUT_FILENO);
    while (!stop_watch) {
        if (tty)
            fputs("\033[H\033[2J", stdout);
        if (!o->json)
            printf("Every %llds: ppctl status (Ctrl-C ends)\n", secs);
        if (!c || show(c, rk, ctl, o)) {
            fprintf(stderr, "ppctl status: snapshot failed (above); trying again\n");
            if (c)
                PQfinish(c);
            c = connect_bounded(ctl);
        }
        for (long long t = 0; t < secs * 10 && !stop_watch; t++)
            usleep(100000);
    }
    if (c)
        PQfinish(c);
    return 0;
}

int ppctl_status(ppctl_t *ctl, int argc, char **argv)
{
    opts_t o = {0};
    long long secs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            o.json = 1;
        else if (!strcmp(argv[i], "--line"))
            o.line = 1;
        else if (!strcmp(argv[i], "--exact"))
            o.exact = true;
        else if (!strcmp(argv[i], "--watch")) {
            secs = 2;
            if (i + 1 < argc && argv[i + 1][0] != '-' &&
                ppctl_parse_ll("--watch", argv[++i], 1, 86400, &secs))
                return 2;
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    PGconn *c = connect_bounded(ctl);
    if (!c)
        return 1;
    rd_kafka_t *rk = ppctl_kafka_client(ctl);
    int rc = 0;
    if (secs) {
        rc = watch(c, rk, ctl, &o, secs); /* closes c */
    } else {
        rc = show(c, rk, ctl, &o);
        PQfinish(c);
    }
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}
