/* timeutil.c - UTC formatting and strict ISO 8601 parsing without touching TZ. */
#include "timeutil.h"
#include "err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void pp_time_format(time_t t, char out[PP_TIME_ISO_LEN])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, PP_TIME_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char **p, int n, int *out)
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

int pp_time_parse_iso(const char *s, time_t *out, int *had_zone)
{
    int Y, M, D, h, m, sec = 0;
    const char *p = s;
    if (!s)
        return PP_EPARSE;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D))
        return PP_EPARSE;
    if (*p != 'T' && *p != ' ' && *p != 't')
        return PP_EPARSE;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m))
        return PP_EPARSE;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec))
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
        if (digits(&p, 2, &oh))
            return PP_EPARSE;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && digits(&p, 2, &om))
            return PP_EPARSE;
        if (oh > 14 || om > 59)
            return PP_EPARSE;
        offset = sign * (oh * 3600L + om * 60L);
        zone = 1;
    }
    if (*p != '\0')
        return PP_EPARSE;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return PP_EPARSE;
    *out = t - offset;
    if (had_zone)
        *had_zone = zone;
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
