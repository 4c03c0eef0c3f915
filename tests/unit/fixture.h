/*
 * fixture.h - the carrier parser tests' shared part (header-only): read a fixture file whole,
 * parse it with a carrier adapter and check the outcome against a table row.
 *
 *   fixture_case_t   a body that parses to one result: found/events/number/pickup/last status,
 *                    spot checks of single events (fixture_run_case)
 *   fixture_error_t  a body that must fail: return code, reason substring, no results
 *                    (fixture_run_errors)
 *   fixture_check_truncations  every proper prefix of a valid body is PP_EPARSE, never a crash
 *
 * Multi-result carriers build on fixture_parse_ok / fixture_check_result / fixture_check_events.
 * A test sets fixture_dir (its FIXTURE_DIR argument) before reading anything. Define
 * FIXTURE_ERRLEN before including this header for a larger reason buffer.
 */
#ifndef PP_FIXTURE_H
#define PP_FIXTURE_H

#include "carriers/carrier.h"
#include "check.h"
#include "err.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_ERRLEN
#define FIXTURE_ERRLEN 256
#endif

static const char *fixture_dir;

/* dir/name into a malloc'd, NUL-terminated buffer; NULL (and a message) if unreadable. */
static inline char *fixture_read(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        return NULL;
    }
    char *b = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n + 1)) != NULL) {
        *len = fread(b, 1, (size_t)n, f);
        b[*len] = '\0';
    } else {
        fprintf(stderr, "cannot read fixture %s\n", path);
    }
    fclose(f);
    return b;
}

/* fixture_dir/name, see fixture_read. */
static inline char *fixture_slurp(const char *name, size_t *len)
{
    return fixture_read(fixture_dir, name, len);
}

/* t as ISO 8601 UTC, in a static buffer (one call per expression). */
static inline const char *fixture_utc(time_t t)
{
    static char buf[PP_TIME_ISO_LEN];
    pp_time_format(t, buf);
    return buf;
}

/* Parse fixture `name` answered with HTTP `http`; CHECKs that it is readable (-999 if not). */
static inline int fixture_parse(const pp_carrier_t *c, const char *name, int http,
                                pp_track_result_t **r, size_t *n, char *err, size_t errlen)
{
    size_t len;
    char *body = fixture_slurp(name, &len);
    CHECK(body != NULL);
    if (!body)
        return -999;
    int rc = c->parse(http, body, len, r, n, err, errlen);
    free(body);
    return rc;
}

/* Parse a body that must succeed: 1 with *r and *n to check and free, 0 (CHECK failed) if not. */
static inline int fixture_parse_ok(const pp_carrier_t *c, const char *file, int http,
                                   pp_track_result_t **r, size_t *n)
{
    char err[FIXTURE_ERRLEN] = "";
    *r = NULL;
    *n = 0;
    fprintf(stderr, "-- %s (HTTP %d)\n", file, http);
    int rc = fixture_parse(c, file, http, r, n, err, sizeof err);
    if (rc == -999)
        return 0;
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "   reason: %s\n", err);
        return 0;
    }
    return 1;
}

/* A body that must fail. */
typedef struct {
    const char *file;
    int http;
    int rc;             /* PP_EHTTP / PP_EPARSE */
    const char *reason; /* a substring err must contain (the problem is named), NULL = any */
} fixture_error_t;

/* The failure, a non-empty reason (containing t->reason) and no results (*r, *n reset). */
static inline void fixture_expect_error(const pp_carrier_t *c, const fixture_error_t *t)
{
    pp_track_result_t *r = (pp_track_result_t *)1; /* the adapter must reset both */
    size_t n = 99;
    char err[FIXTURE_ERRLEN] = "";
    fprintf(stderr, "-- %s (HTTP %d)\n", t->file, t->http);
    int rc = fixture_parse(c, t->file, t->http, &r, &n, err, sizeof err);
    if (rc == -999)
        return;
    CHECK_INT(rc, t->rc);
    CHECK(err[0] != '\0');
    CHECK(r == NULL);
    CHECK_INT(n, 0);
    if (t->reason) {
        CHECK(strstr(err, t->reason) != NULL);
        if (!strstr(err, t->reason))
            fprintf(stderr, "   want '%s' in: %s\n", t->reason, err);
    }
    fprintf(stderr, "   reason: %s\n", err);
    if (rc == 0)
        pp_track_results_free(r, n);
}

static inline void fixture_run_errors(const pp_carrier_t *c, const fixture_error_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fixture_expect_error(c, &t[i]);
}

/* One event to check: results[res].events[idx] (oldest first). */
typedef struct {
    int idx;
    const char *code;
    pp_status_t st;
    const char *utc;
    const char *loc;
    const char *desc; /* NULL = not checked */
    int res;          /* result index, for answers with several parcels */
} fixture_ev_t;

/* ends an fixture_ev_t list (so does an entry without a code) */
#define EV_END {-1, NULL, 0, NULL, NULL, NULL, 0}

static inline void fixture_check_events(const pp_track_result_t *r, size_t n, const fixture_ev_t *ev)
{
    char ts[PP_TIME_ISO_LEN];
    for (const fixture_ev_t *e = ev; e->idx >= 0 && e->code; e++) {
        if (e->res < 0 || (size_t)e->res >= n || (size_t)e->idx >= r[e->res].n_events) {
            CHECK(!"event index out of range");
            continue;
        }
        const pp_track_event_t *x = &r[e->res].events[e->idx];
        pp_time_format(x->occurred_at, ts);
        CHECK_STR(x->carrier_code, e->code);
        CHECK_INT(x->status, e->st);
        CHECK_STR(ts, e->utc);
        CHECK_STR(x->location, e->loc);
        if (e->desc)
            CHECK_STR(x->description, e->desc);
    }
}

/* What one result must hold. */
typedef struct {
    const char *number;
    int found;
    int n_events;
    pp_status_t last;   /* of the newest event, when n_events > 0 */
    const char *pickup; /* NULL = not checked */
} fixture_result_t;

/* Number, found, event count, pickup point, newest status; events oldest first. */
static inline void fixture_check_result(const pp_track_result_t *x, const fixture_result_t *w)
{
    CHECK_STR(x->tracking_number, w->number);
    CHECK_INT(x->found, w->found);
    CHECK_INT(x->n_events, w->n_events);
    if (w->pickup)
        CHECK_STR(x->pickup_point, w->pickup);
    if (x->n_events > 0)
        CHECK_INT(x->events[x->n_events - 1].status, w->last);
    for (size_t k = 1; k < x->n_events; k++)
        CHECK(x->events[k - 1].occurred_at <= x->events[k].occurred_at); /* oldest first */
}

/* A body that parses to exactly one result. */
typedef struct {
    const char *file;
    int http;
    int found;
    int n_events;
    const char *number;
    const char *pickup; /* NULL = not checked */
    pp_status_t last;
    fixture_ev_t ev[10]; /* ends at EV_END or the first entry without a code */
} fixture_case_t;

static inline void fixture_run_case(const pp_carrier_t *c, const fixture_case_t *t)
{
    pp_track_result_t *r;
    size_t n;
    if (!fixture_parse_ok(c, t->file, t->http, &r, &n))
        return;
    CHECK_INT(n, 1);
    if (n == 1) {
        const fixture_result_t want = {t->number, t->found, t->n_events, t->last, t->pickup};
        fixture_check_result(r, &want);
        fixture_check_events(r, n, t->ev);
    }
    pp_track_results_free(r, n);
}

static inline void fixture_run_cases(const pp_carrier_t *c, const fixture_case_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fixture_run_case(c, &t[i]);
}

/*
 * Called on each prefix too (the same exact-size copy); returns how many of its checks failed.
 * For a carrier's other parsers (UPS: the token answer).
 */
typedef int (*fixture_prefix_fn)(const pp_carrier_t *c, const char *file, const char *prefix,
                                 size_t k, size_t len);

/* Every proper prefix of a valid body is malformed: PP_EPARSE, never a crash. */
static inline void fixture_check_truncations(const pp_carrier_t *c, const char *file,
                                             fixture_prefix_fn also)
{
    size_t len, n;
    pp_track_result_t *r;
    char err[FIXTURE_ERRLEN];
    char *body = fixture_slurp(file, &len);
    int bad = 0;
    if (!body)
        return;
    for (size_t k = 0; k < len; k++) {
        char *copy = malloc(k + 1); /* exact-size copy so ASan sees over-reads */
        memcpy(copy, body, k);
        copy[k] = '\0';
        int rc = c->parse(200, copy, k, &r, &n, err, sizeof err);
        if (rc != PP_EPARSE && !(rc == 0 && k >= len - 2)) /* trailing newline */
            bad++;
        if (rc == 0)
            pp_track_results_free(r, n);
        if (also)
            bad += also(c, file, copy, k, len);
        free(copy);
    }
    CHECK_INT(bad, 0);
    free(body);
}

#endif
