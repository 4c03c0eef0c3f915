/*
 * check.c - the fuzz targets' property checker: UTF-8 validity, control characters and field
 * sizes of every string a parser emits, and RFC 3339 round trips of its times. Written
 * independently of common/ on purpose (a checker sharing the code it checks proves nothing).
 */
#include "fuzz.h"
#include "status.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PP_FUZZ_PROPERTY
#define PP_FUZZ_PROPERTY 1
#endif
#ifndef PP_FUZZ_TARGET
#define PP_FUZZ_TARGET "?"
#endif

bool fuzz_property_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("PP_FUZZ_PROPERTY");
        on = e && (e[0] == '0' || e[0] == '1') ? e[0] == '1' : PP_FUZZ_PROPERTY;
    }
    return on == 1;
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n==fuzz== property failed in target %s: ", PP_FUZZ_TARGET);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static void dump(const char *what, const unsigned char *s, size_t n, size_t at, const char *why)
{
    fprintf(stderr, "\n==fuzz== %s: %s at byte %zu of %zu:", what, why, at, n);
    for (size_t i = 0; i < n && i < 96; i++)
        fprintf(stderr, " %02x", s[i]);
    fprintf(stderr, n > 96 ? " ...\n" : "\n");
}

/* Length of one valid UTF-8 sequence at s (n bytes left) and its code point; 0 if invalid. */
static size_t utf8_one(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned long v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 lead (overlong) or F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

void fuzz_check_string(const char *what, const char *s, size_t cap)
{
    if (!fuzz_property_on())
        return;
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    while (n < cap && u[n])
        n++;
    if (n == cap) {
        dump(what, u, cap, cap, "no NUL inside its field");
        fuzz_fail("%s does not fit its %zu-byte field", what, cap);
    }
    for (size_t i = 0; i < n;) {
        unsigned long cp = 0;
        size_t l = utf8_one(u + i, n - i, &cp);
        if (l == 0) {
            dump(what, u, n, i, "invalid UTF-8");
            fuzz_fail("%s is not valid UTF-8", what);
        }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            dump(what, u, n, i, "control character");
            fuzz_fail("%s holds control character U+%04lX", what, cp);
        }
        i += l;
    }
}

void fuzz_check_time(const char *what, time_t t)
{
    char buf[PP_TIME_ISO_LEN];
    time_t back = 0;
    int zone = 0;
    memset(buf, 0, sizeof buf);
    pp_time_format(t, buf);
    if (strnlen(buf, sizeof buf) != 20 || buf[4] != '-' || buf[10] != 'T' || buf[19] != 'Z')
        fuzz_fail("%s: %lld formats as \"%.31s\", not YYYY-MM-DDTHH:MM:SSZ", what, (long long)t, buf);
    if (pp_time_parse_iso(buf, &back, &zone) != 0 || !zone || back != t)
        fuzz_fail("%s: %lld formats as \"%s\", which reads back as %lld", what, (long long)t, buf,
                  (long long)back);
}

void fuzz_check_results(const pp_track_result_t *r, size_t n)
{
    char what[96];
    if (n > 0 && !r)
        fuzz_fail("%zu results but no array", n);
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "result %zu tracking_number", i);
        fuzz_check_string(what, r[i].tracking_number, sizeof r[i].tracking_number);
        snprintf(what, sizeof what, "result %zu pickup_point", i);
        fuzz_check_string(what, r[i].pickup_point, sizeof r[i].pickup_point);
        snprintf(what, sizeof what, "result %zu pickup_address", i);
        fuzz_check_string(what, r[i].pickup_address, sizeof r[i].pickup_address);
        if (r[i].pickup_deadline)
            fuzz_check_time("pickup_deadline", r[i].pickup_deadline);
        if (r[i].n_events > 0 && !r[i].events)
            fuzz_fail("result %zu: %zu events but no array", i, r[i].n_events);
        for (size_t k = 0; k < r[i].n_events; k++) {
            const pp_track_event_t *e = &r[i].events[k];
            if ((int)e->status < 0 || (int)e->status >= PP_ST__COUNT)
                fuzz_fail("result %zu event %zu: status %d out of range", i, k, (int)e->status);
            snprintf(what, sizeof what, "result %zu event %zu carrier_code", i, k);
            fuzz_check_string(what, e->carrier_code, sizeof e->carrier_code);
            snprintf(what, sizeof what, "result %zu event %zu description", i, k);
            fuzz_check_string(what, e->description, sizeof e->description);
            snprintf(what, sizeof what, "result %zu event %zu location", i, k);
            fuzz_check_string(what, e->location, sizeof e->location);
            if (e->occurred_at)
                fuzz_check_time("occurred_at", e->occurred_at);
            if (k > 0 && e->occurred_at < e[-1].occurred_at)
                fuzz_fail("result %zu: event %zu is older than event %zu (not oldest first)", i, k,
                          k - 1);
        }
    }
}

char *fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
