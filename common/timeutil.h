/* timeutil.h - UTC time formatting and ISO 8601 / RFC 3339 parsing. */
#ifndef PP_TIMEUTIL_H
#define PP_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PP_TIME_ISO_LEN 32

/* "2026-11-28T19:29:35Z": always a 4-digit year; times before 0000-01-01T00:00:00Z or after
 * 9999-12-31T23:59:59Z are written as those bounds. */
void pp_time_format(time_t t, char out[PP_TIME_ISO_LEN]);
/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm|+hhmm)" (also ' ' for 'T').
 * Without a zone the time is taken as UTC unless *had_zone is checked by the caller.
 * Returns 0, or PP_EPARSE (also when the zone moves the time out of the years 0000-9999,
 * so that whatever parses, pp_time_format writes back).
 */
int pp_time_parse_iso(const char *s, time_t *out, int *had_zone);
/* Exactly n ASCII digits at *p: their value in *out and *p moved past them; else PP_EPARSE. */
int pp_time_digits(const char **p, int n, int *out);
/* Day number since the epoch (UTC) as "YYYY-MM-DD" (clamped like pp_time_format). */
void pp_time_day_text(long long day, char out[16]);
/* UTC civil time -> time_t; PP_EPARSE for a day, hour, minute or second that does not exist
 * (2026-02-31; second 60 is a leap second, the next minute's first). */
int pp_time_utc(int Y, int M, int D, int h, int m, int s, time_t *out);
/*
 * Europe/Warsaw local civil time -> UTC (EU rule: CEST from 01:00 UTC on the last Sunday of
 * March to 01:00 UTC on the last Sunday of October, CET otherwise; no tz database needed).
 * The repeated hour (02:00-02:59 on the October change day) is taken as the first one, CEST;
 * a time inside the skipped hour (02:00-02:59 on the March change day) as CET, i.e. the
 * clock that had not been moved yet (02:30 -> 01:30Z, the same instant as 03:30 CEST).
 * Returns 0, or PP_EPARSE for out-of-range fields.
 */
int pp_time_warsaw_to_utc(int Y, int M, int D, int h, int m, int s, time_t *out);
/* Wall-clock now in milliseconds (CLOCK_REALTIME) and monotonic milliseconds. */
int64_t pp_now_ms(void);
int64_t pp_mono_ms(void);

#endif
