/* timeutil.c - UTC formatting and strict ISO 8601 parsing without touching TZ. */
#include "timeutil.h"
#include "err.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times RFC 3339 can write. */
#define PP_TIME_MIN (-62167219200LL)
#define PP_TIME_MAX 253402300799LL

/* t clamped to [PP_TIME_MIN, PP_TIME_MAX], broken down (gmtime_r cannot fail on it). */
static void utc_tm(time_t t, struct tm *tm)
{
    time_t c = (long long)t < PP_TIME_MIN   ? (time_t)PP_TIME_MIN
               : (long long)t > PP_TIME_MAX ? (time_t)PP_TIME_MAX
                                            : t;
    if (!gmtime_r(&c, tm))
        memset(tm, 0, sizeof *tm);
}

void pp_time_format(time_t t, char out[PP_TIME_ISO_LEN])
{
    /* Not strftime's %Y: it writes "226" for the year 226 and "10000" after 9999, which
     * no RFC 3339 reader (ours included) takes back. */
    struct tm tm;
    utc_tm(t, &tm);
    /* "%04u-%02u-%02uT%02u:%02u:%02uZ" written digit by digit: two per event written, and
     * snprintf's formatting was most of an event's time text */
    unsigned v[6] = {(unsigned)(tm.tm_year + 1900) % 10000u,
                     (unsigned)(tm.tm_mon + 1) % 100u,
                     (unsigned)tm.tm_mday % 100u,
                     (unsigned)tm.tm_hour % 100u,
                     (unsigned)tm.tm_min % 100u,
                     (unsigned)tm.tm_sec % 100u};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
    char *o = out;
    for (int i = 0; i < 6; i++) {
        if (i == 0) {
            *o++ = (char)('0' + v[0] / 1000);
            *o++ = (char)('0' + v[0] / 100 % 10);
        }
        *o++ = (char)('0' + v[i] / 10 % 10);
        *o++ = (char)('0' + v[i] % 10);
        *o++ = sep[i];
    }
    *o = '\0';
}

int pp_time_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return PP_EPARSE;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return PP_OK;
}

void pp_time_day_text(long long day, char out[16])
{
    struct tm tm;
    utc_tm(day < PP_TIME_MIN / 86400   ? (time_t)PP_TIME_MIN
           : day > PP_TIME_MAX / 86400 ? (time_t)PP_TIME_MAX
                                       : (time_t)(day * 86400),
           &tm);
    snprintf(out, 16, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

static int64_t days_from_civil(int64_t y, int m, int d);

static int days_in_month(int Y, int M)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    return M == 2 && leap ? 29 : days[M - 1];
}

/* A real calendar time (no normalising: 2026-02-31 is refused, not March 3), computed
 * directly (timegm's -1 error would refuse 1969-12-31T23:59:59Z). A leap second (60) is
 * the next minute's first. */
int pp_time_utc(int Y, int M, int D, int h, int m, int s, time_t *out)
{
    if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h < 0 || h > 23 || m < 0 || m > 59 ||
        s < 0 || s > 60)
        return PP_EPARSE;
    *out = (time_t)(days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + s);
    return PP_OK;
}

int pp_time_parse_iso(const char *s, time_t *out, int *had_zone)
{
    int Y, M, D, h, m, sec = 0;
    const char *p = s;
    if (!s)
        return PP_EPARSE;
    if (pp_time_digits(&p, 4, &Y) || *p++ != '-' || pp_time_digits(&p, 2, &M) || *p++ != '-' ||
        pp_time_digits(&p, 2, &D))
        return PP_EPARSE;
    if (*p != 'T' && *p != ' ' && *p != 't')
        return PP_EPARSE;
    p++;
    if (pp_time_digits(&p, 2, &h) || *p++ != ':' || pp_time_digits(&p, 2, &m))
        return PP_EPARSE;
    if (*p == ':') {
        p++;
        if (pp_time_digits(&p, 2, &sec))
            return PP_EPARSE;
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return PP_EPARSE;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return PP_EPARSE;
    long offset = 0;
    int zone = 0;
    if (*p == 'Z' || *p == 'z') {
        zone = 1;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (pp_time_digits(&p, 2, &oh))
            return PP_EPARSE;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && pp_time_digits(&p, 2, &om))
            return PP_EPARSE;
        if (oh > 14 || om > 59)
            return PP_EPARSE;
        offset = sign * (oh * 3600L + om * 60L);
        zone = 1;
    }
    if (*p != '\0')
        return PP_EPARSE;
    time_t t;
    if (pp_time_utc(Y, M, D, h, m, sec, &t))
        return PP_EPARSE;
    /* An offset can carry 9999-12-31T23:30-01:00 past what pp_time_format writes back. */
    if ((long long)t - offset < PP_TIME_MIN || (long long)t - offset > PP_TIME_MAX)
        return PP_EPARSE;
    *out = t - offset;
    if (had_zone)
        *had_zone = zone;
    return PP_OK;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* 01:00 UTC on the last Sunday of month m (March or October, 31 days) of year y. */
static int64_t eu_change_utc(int64_t y, int m)
{
    int64_t d31 = days_from_civil(y, m, 31);
    int64_t dow = ((d31 % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday; Sunday = 0 */
    return (d31 - dow) * 86400 + 3600;
}

int pp_time_warsaw_to_utc(int Y, int M, int D, int h, int m, int s, time_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!out || Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h < 0 ||
        h > 23 || m < 0 || m > 59 || s < 0 || s > 60)
        return PP_EPARSE;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
        return PP_EPARSE;
    int64_t local = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + s;
    int64_t start = eu_change_utc(Y, 3), end = eu_change_utc(Y, 10);
    int64_t summer = local - 7200, winter = local - 3600;
    /*
     * Summer time when the CEST reading lands inside the summer period. In the repeated
     * October hour both readings are valid and this takes the first (CEST); in the skipped
     * March hour neither is, and the CET reading is used.
     */
    bool summer_ok = summer >= start && summer < end;
    *out = (time_t)(summer_ok ? summer : winter);
    return PP_OK;
}

int64_t pp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pp_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
