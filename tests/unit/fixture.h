/*
 * fixture.h - the carrier parser tests' shared part (header-only): read a fixture file whole,
 * parse it with a carrier adapter and check the outcome against a table row.
 *
 *   fixture_case_t   a body that parses to one result: found/events/number/pickup/last status,
 *                    spot checks of single events (fixture_run_case)
 *   fixture_error_t  a body that must fail: return code, reason substring, no results
 *                    (fixture_run_errors)
 *   fixture_check_truncations  every proper prefix of a valid body is PP_EPARSE, never a crash
 *   fixture_check_hostile  a text of a valid body replaced by control characters, invalid
 *                    UTF-8 and long Polish text: every string of every result is valid UTF-8,
 *                    without control characters and within its field
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
#include "text.h"
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
    int rc = pp_carrier_parse(c, http, body, len, r, n, err, errlen);
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
#define EV_END                                                                                     \
    {                                                                                              \
        -1, NULL, 0, NULL, NULL, NULL, 0                                                           \
    }

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
        int rc = pp_carrier_parse(c, 200, copy, k, &r, &n, err, sizeof err);
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

/* One string field: valid UTF-8, no control characters, NUL inside its size. 1 if not. */
static inline int fixture_bad_field(const char *what, const char *f, size_t size)
{
    size_t len = strnlen(f, size);
    if (len < size && pp_text_is_clean(f, len))
        return 0;
    fprintf(stderr, "   unclean %s: \"%.*s\"\n", what, (int)len, f);
    return 1;
}

/* Every string of every result through fixture_bad_field; returns how many failed. */
static inline int fixture_bad_strings(const pp_track_result_t *r, size_t n)
{
#define FIXTURE_FIELD(what, arr) fixture_bad_field(what, (arr), sizeof(arr))
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += FIXTURE_FIELD("tracking_number", r[i].tracking_number);
        bad += FIXTURE_FIELD("pickup_point", r[i].pickup_point);
        bad += FIXTURE_FIELD("pickup_address", r[i].pickup_address);
        for (size_t k = 0; k < r[i].n_events; k++) {
            bad += FIXTURE_FIELD("carrier_code", r[i].events[k].carrier_code);
            bad += FIXTURE_FIELD("description", r[i].events[k].description);
            bad += FIXTURE_FIELD("location", r[i].events[k].location);
        }
    }
    return bad;
#undef FIXTURE_FIELD
}

/* Some string of some result contains want. */
static inline int fixture_has_text(const pp_track_result_t *r, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++) {
        if (strstr(r[i].pickup_point, want) || strstr(r[i].pickup_address, want))
            return 1;
        for (size_t k = 0; k < r[i].n_events; k++)
            if (strstr(r[i].events[k].description, want) || strstr(r[i].events[k].location, want))
                return 1;
    }
    return 0;
}

/* A hostile text put where a fixture has a carrier's text. */
typedef struct {
    const char *text; /* as written in the body (JSON or XML escapes) */
    int must_parse;   /* 1: the body stays well-formed, so it must parse */
    const char *want; /* a substring some string of the result must hold, NULL = none */
} fixture_hostile_t;

#define FIXTURE_LONG_PL                                                                                       \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń " \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń " \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń " \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń "
#define FIXTURE_LONG_3B                                                                            \
    "€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€—€"

/* JSON bodies: escapes cJSON turns into raw control bytes, raw bytes, long text. */
static const fixture_hostile_t fixture_hostile_json[] = {
    {"KRA\\u0001X", 1, "KRAX"},
    {"KRA\\u001bX\\u007f", 1, "KRAX"},
    {"KRA\\u0085\\u009bX", 1, "KRA X"},
    {"Kraków\\n\\tRynek\\r", 1, "Kraków  Rynek"},
    {"KRA\\uFFFFX", 1, "KRAX"},
    {"KRA\x01X", 0, NULL},                /* a raw control byte inside the string */
    {"bad \xff\xfe utf-8 \xc3", 0, NULL}, /* raw invalid UTF-8 */
    {"cut \xc5", 0, NULL},
    {"x\\u0000y", 0, NULL}, /* NUL: cut there or refused */
    {FIXTURE_LONG_PL, 1, "Źdźbło żółtej"},
    {"a" FIXTURE_LONG_PL, 1, "Źdźbło żółtej"},
    {"ab" FIXTURE_LONG_PL, 1, "Źdźbło żółtej"},
    {FIXTURE_LONG_3B, 1, "€—€"},
    {"a" FIXTURE_LONG_3B, 1, "€—€"},
    {"ab" FIXTURE_LONG_3B, 1, "€—€"},
};

/* XML bodies: C1 and whitespace controls are legal XML 1.0 character references; C0 ones
 * and invalid UTF-8 make the document malformed (refused or recovered, never passed on). */
static const fixture_hostile_t fixture_hostile_xml[] = {
    {"KRA&#x85;&#x9b;X", 1, "KRA X"},
    {"KRA&#x9;&#xA;&#xD;X", 1, "KRA   X"},
    {"KRA&#x7f;X", 1, "KRAX"},
    {"KRA&#x1;X", 0, NULL},
    {"KRA\x01X", 0, NULL},
    {"bad \xff\xfe utf-8 \xc3", 0, NULL},
    {"KRA&#xFFFE;X", 0, NULL},
    {FIXTURE_LONG_PL, 1, "Źdźbło żółtej"},
    {"a" FIXTURE_LONG_PL, 1, "Źdźbło żółtej"},
    {"ab" FIXTURE_LONG_PL, 1, "Źdźbło żółtej"},
    {FIXTURE_LONG_3B, 1, "€—€"},
    {"a" FIXTURE_LONG_3B, 1, "€—€"},
    {"ab" FIXTURE_LONG_3B, 1, "€—€"},
};

/* Every `needle` of fixture `file` replaced by each hostile text (JSON or XML escapes). */
static inline void fixture_check_hostile(const pp_carrier_t *c, const char *file, int http,
                                         const char *needle, int xml)
{
    const fixture_hostile_t *h = xml ? fixture_hostile_xml : fixture_hostile_json;
    size_t nh = xml ? sizeof fixture_hostile_xml / sizeof fixture_hostile_xml[0]
                    : sizeof fixture_hostile_json / sizeof fixture_hostile_json[0];
    size_t len;
    char *body = fixture_slurp(file, &len);
    CHECK(body != NULL);
    if (!body)
        return;
    CHECK(strstr(body, needle) != NULL);
    for (size_t i = 0; strstr(body, needle) && i < nh; i++) {
        size_t nl = strlen(needle), tl = strlen(h[i].text), blen = 0, cap = len + 1;
        for (const char *p = body; (p = strstr(p, needle)) != NULL; p += nl)
            cap += tl;
        char *b = malloc(cap);
        for (const char *p = body, *at; p < body + len; p = at + nl) {
            at = strstr(p, needle);
            if (!at) { /* the rest, NULs and all */
                memcpy(b + blen, p, (size_t)(body + len - p));
                blen += (size_t)(body + len - p);
                break;
            }
            memcpy(b + blen, p, (size_t)(at - p));
            blen += (size_t)(at - p);
            memcpy(b + blen, h[i].text, tl);
            blen += tl;
        }
        b[blen] = '\0';
        pp_track_result_t *r = NULL;
        size_t n = 0;
        char err[FIXTURE_ERRLEN] = "";
        int rc = pp_carrier_parse(c, http, b, blen, &r, &n, err, sizeof err);
        fprintf(stderr, "-- %s, \"%s\" as \"%.20s%s\": %s\n", file, needle, h[i].text,
                tl > 20 ? "..." : "", rc ? err : "parsed");
        if (h[i].must_parse)
            CHECK_INT(rc, 0);
        else
            CHECK(rc == 0 || rc == PP_EPARSE);
        CHECK(pp_text_is_clean(err, strnlen(err, sizeof err)));
        if (rc == 0) {
            CHECK(n >= 1);
            CHECK_INT(fixture_bad_strings(r, n), 0);
            if (h[i].want) {
                CHECK(fixture_has_text(r, n, h[i].want));
                if (!fixture_has_text(r, n, h[i].want))
                    fprintf(stderr, "   want \"%s\" in some string of the result\n", h[i].want);
            }
            pp_track_results_free(r, n);
        }
        free(b);
    }
    free(body);
}

/*
 * The tracking number is the key a result is matched by: text that cleaning would change in
 * it (a control character, C1, invalid UTF-8 next to the real number) drops that result,
 * never a result for a silently changed number: an answer about that number alone is a parse
 * error, a batch answer keeps its other results. Every `number` of fixture `file` gets each
 * hostile neighbour; the untouched fixture must still parse.
 */
static inline void fixture_check_hostile_number(const pp_carrier_t *c, const char *file, int http,
                                                const char *number, int xml)
{
    static const char *const json_tails[] = {"\\u0001", "\\u0085", "\\u007f", "\\n",
                                             "\x01",    "\xff",    "\xc5"};
    static const char *const xml_tails[] = {"&#x85;", "&#x7f;"}; /* tab, LF: XML whitespace, trimmed */
    const char *const *tails = xml ? xml_tails : json_tails;
    size_t nt =
        xml ? sizeof xml_tails / sizeof xml_tails[0] : sizeof json_tails / sizeof json_tails[0];
    size_t len;
    char *body = fixture_slurp(file, &len);
    CHECK(body != NULL);
    if (!body)
        return;
    CHECK(strstr(body, number) != NULL);
    pp_track_result_t *r = NULL;
    size_t n = 0;
    char err[FIXTURE_ERRLEN] = "";
    CHECK_INT(pp_carrier_parse(c, http, body, len, &r, &n, err, sizeof err), 0);
    size_t n0 = n;
    pp_track_results_free(r, n);
    for (size_t i = 0; strstr(body, number) && i < 2 * nt; i++) {
        const char *tail = tails[i % nt];
        bool before = i >= nt; /* the hostile text after the number, then before it */
        size_t nl = strlen(number), tl = strlen(tail), blen = 0, cap = len + 1;
        for (const char *p = body; (p = strstr(p, number)) != NULL; p += nl)
            cap += tl;
        char *b = malloc(cap);
        for (const char *p = body, *at; p < body + len; p = at + nl) {
            at = strstr(p, number);
            if (!at) {
                memcpy(b + blen, p, (size_t)(body + len - p));
                blen += (size_t)(body + len - p);
                break;
            }
            memcpy(b + blen, p, (size_t)(at - p));
            blen += (size_t)(at - p);
            if (before) {
                memcpy(b + blen, tail, tl);
                blen += tl;
            }
            memcpy(b + blen, number, nl);
            blen += nl;
            if (!before) {
                memcpy(b + blen, tail, tl);
                blen += tl;
            }
        }
        b[blen] = '\0';
        r = NULL;
        n = 0;
        err[0] = '\0';
        int rc = pp_carrier_parse(c, http, b, blen, &r, &n, err, sizeof err);
        /* one result for that number: none left; a batch: the others, without it */
        bool none = true;
        for (size_t k = 0; rc == 0 && k < n; k++)
            none &= strstr(r[k].tracking_number, number) == NULL;
        bool ok = n0 == 1 ? rc == PP_EPARSE : rc == 0 && n == n0 - 1 && none;
        if (!ok) {
            fprintf(stderr, "-- %s, number %s with \"%s\" %s it: %s", file, number, tail,
                    before ? "before" : "after", rc ? err : "parsed:");
            for (size_t k = 0; rc == 0 && k < n; k++)
                fprintf(stderr, " \"%s\"", r[k].tracking_number);
            fprintf(stderr, "\n");
        }
        CHECK(ok);
        CHECK(pp_text_is_clean(err, strnlen(err, sizeof err)));
        if (rc == 0)
            pp_track_results_free(r, n);
        free(b);
    }
    free(body);
}

#endif
