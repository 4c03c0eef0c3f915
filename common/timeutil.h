/* timeutil.h - UTC time formatting and ISO 8601 / RFC 3339 parsing. */
#ifndef PP_TIMEUTIL_H
#define PP_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PP_TIME_ISO_LEN 32

/* "2026-11-28T19:29:35Z" (or with ".123" when ms != 0 and with_ms). */
void pp_time_format(time_t t, char out[PP_TIME_ISO_LEN]);
/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm|+hhmm)" (also ' ' for 'T').
 * Without a zone the time is taken as UTC unless *had_zone is checked by the caller.
 * Returns 0, or PP_EPARSE.
 */
int pp_time_parse_iso(const char *s, time_t *out, int *had_zone);
/* Wall-clock now in milliseconds (CLOCK_REALTIME) and monotonic milliseconds. */
int64_t pp_now_ms(void);
int64_t pp_mono_ms(void);

#endif
