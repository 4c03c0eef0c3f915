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
    CHECK(pp_time_parse_iso("", &t, &zone) != 0);
    char buf[PP_TIME_ISO_LEN];
    pp_time_format(1774746900, buf);
    CHECK_STR(buf, "2026-03-29T01:15:00Z");
    return CHECK_DONE();
}
