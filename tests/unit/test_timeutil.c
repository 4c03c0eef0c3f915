/* test_timeutil.c - ISO 8601 parsing with zones, fractions and rejects. */
#include "check.h"
#include "timeutil.h"

int main(void)
{
    time_t t;
    int zone;
    CHECK_INT(pp_time_parse_iso("2026-03-29T03:15:00+02:00", &t, &zone), 0);
    CHECK_INT(t, 1774746900);
    CHECK_INT(zone, 1);
    CHECK_INT(pp_time_parse_iso("2026-03-29T01:15:00Z", &t, &zone), 0);
    CHECK_INT(t, 1774746900);
    CHECK_INT(pp_time_parse_iso("2026-03-29T01:15:00.123456Z", &t, &zone), 0);
    CHECK_INT(t, 1774746900);
    CHECK_INT(pp_time_parse_iso("2026-03-29 02:15:00+0100", &t, &zone), 0);
    CHECK_INT(t, 1774746900);
    CHECK_INT(pp_time_parse_iso("2026-03-29T01:15:00", &t, &zone), 0);
    CHECK_INT(zone, 0);
    CHECK(pp_time_parse_iso("2026-13-01T00:00:00Z", &t, &zone) != 0);
    CHECK(pp_time_parse_iso("2026-01-01", &t, &zone) != 0);
    CHECK(pp_time_parse_iso("2026-01-01T00:00:00Zjunk", &t, &zone) != 0);
    /* A calendar day that does not exist is refused (timegm made 2026-02-31 into March 3);
     * leap days are real ones; the second before the epoch is -1, not an error. */
    CHECK(pp_time_parse_iso("2026-02-31T00:00:00Z", &t, &zone) != 0);
    CHECK(pp_time_parse_iso("2026-02-29T00:00:00Z", &t, &zone) != 0);
    CHECK(pp_time_parse_iso("2026-04-31T00:00:00Z", &t, &zone) != 0);
    CHECK(pp_time_parse_iso("1900-02-29T00:00:00Z", &t, &zone) != 0);
    CHECK_INT(pp_time_parse_iso("2028-02-29T12:00:00Z", &t, &zone), 0);
    CHECK_INT(t, 1835438400);
    CHECK_INT(pp_time_parse_iso("2000-02-29T00:00:00Z", &t, &zone), 0);
    CHECK_INT(t, 951782400);
    CHECK_INT(pp_time_parse_iso("1969-12-31T23:59:59Z", &t, &zone), 0);
    CHECK_INT(t, -1);
    CHECK_INT(pp_time_parse_iso("1970-01-01T00:59:59+01:00", &t, &zone), 0);
    CHECK_INT(t, -1);
    CHECK_INT(pp_time_parse_iso("2026-12-31T23:59:60Z", &t, &zone), 0);
    CHECK_INT(t, 1798761600);
    CHECK(pp_time_parse_iso("", &t, &zone) != 0);
    char buf[PP_TIME_ISO_LEN];
    pp_time_format(1774746900, buf);
    CHECK_STR(buf, "2026-03-29T01:15:00Z");
    /* Always four year digits, and what parses formats back (found by tests/fuzz). */
    CHECK_INT(pp_time_parse_iso("0226-11-28T18:30:01Z", &t, &zone), 0);
    pp_time_format(t, buf);
    CHECK_STR(buf, "0226-11-28T18:30:01Z");
    pp_time_format(-62167219200, buf);
    CHECK_STR(buf, "0000-01-01T00:00:00Z");
    pp_time_format(253402300800, buf); /* 10000-01-01: clamped, never five digits */
    CHECK_STR(buf, "9999-12-31T23:59:59Z");
    pp_time_format(-62167219201, buf);
    CHECK_STR(buf, "0000-01-01T00:00:00Z");
    CHECK(pp_time_parse_iso("9999-12-31T23:30:00-01:00", &t, &zone) != 0);
    CHECK(pp_time_parse_iso("0000-01-01T00:30:00+01:00", &t, &zone) != 0);
    CHECK_INT(pp_time_parse_iso("9999-12-31T23:59:59Z", &t, &zone), 0);
    CHECK_INT(t, 253402300799);
    char day[16];
    pp_time_day_text(-719528 + 100, day);
    CHECK_STR(day, "0000-04-10");
    return CHECK_DONE();
}
