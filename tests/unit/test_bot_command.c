/* test_bot_command.c - the bot's command parsing (aliases, diacritics, case, spacing, garbage), its limit texts and day share. */
#include "check.h"
#include "command.h"
#include "carrier_usage.h"
#include "timeutil.h"
#include "texts.h"
#include "text.h"

#include <stdio.h>

static void expect(const char *line, pp_bot_cmd_kind_t kind, const char *carrier, const char *number)
{
    pp_bot_cmd_t c;
    pp_bot_cmd_parse(line, &c);
    if (c.kind != kind)
        fprintf(stderr, "line [%s]\n", line ? line : "(null)");
    CHECK_INT(c.kind, kind);
    if (carrier)
        CHECK_STR(c.carrier, carrier);
    if (number)
        CHECK_STR(c.number, number);
}

int main(void)
{
    char dhl[PP_NUMBER_MAX], ups[PP_NUMBER_MAX], inpost[PP_NUMBER_MAX], dpd[PP_NUMBER_MAX],
        pp[PP_NUMBER_MAX], orlen[PP_NUMBER_MAX], gls[PP_NUMBER_MAX], line[256];
    CHECK_INT(pp_number_example("dhl", 7, dhl, sizeof dhl), 0);
    CHECK_INT(pp_number_example("ups", 7, ups, sizeof ups), 0);
    CHECK_INT(pp_number_example("inpost", 7, inpost, sizeof inpost), 0);
    CHECK_INT(pp_number_example("dpd", 7, dpd, sizeof dpd), 0);
    CHECK_INT(pp_number_example("pocztapolska", 7, pp, sizeof pp), 0);
    CHECK_INT(pp_number_example("orlen", 7, orlen, sizeof orlen), 0);
    CHECK_INT(pp_number_example("gls", 7, gls, sizeof gls), 0);

    /* names and aliases, case, diacritics, spacing */
    static const struct {
        const char *fmt, *carrier, *num_of;
    } named[] = {
        {"paczka DHL ", "dhl", "dhl"},
        {"PACZKA dhl ", "dhl", "dhl"},
        {"  Paczka\t  Ups   ", "ups", "ups"},
        {"paczka InPost ", "inpost", "inpost"},
        {"paczka paczkomat ", "inpost", "inpost"},
        {"paczka DPD ", "dpd", "dpd"},
        {"paczka Siódemka ", "dpd", "dpd"},
        {"paczka SIÓDEMKA ", "dpd", "dpd"},
        {"paczka siodemka ", "dpd", "dpd"},
        {"paczka Poczta Polska ", "pocztapolska", "pocztapolska"},
        {"paczka poczta   polska ", "pocztapolska", "pocztapolska"},
        {"paczka PP ", "pocztapolska", "pocztapolska"},
        {"paczka ORLEN ", "orlen", "orlen"},
        {"paczka Orlen Paczka ", "orlen", "orlen"},
        {"paczka RUCH ", "orlen", "orlen"},
        {"paczka gls ", "gls", "gls"},
        {"PĄCZKA dhl ", NULL, NULL}, /* "paczka" folded from Ą: still paczka */
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        const char *num = !named[i].num_of                                         ? dhl
                          : named[i].num_of[0] == 'd' && named[i].num_of[1] == 'h' ? dhl
                          : named[i].num_of[0] == 'u'                              ? ups
                          : named[i].num_of[0] == 'i'                              ? inpost
                          : named[i].num_of[0] == 'd'                              ? dpd
                          : named[i].num_of[0] == 'p'                              ? pp
                          : named[i].num_of[0] == 'o'                              ? orlen
                                                                                   : gls;
        snprintf(line, sizeof line, "%s%s  ", named[i].fmt, num);
        expect(line, PP_BOT_CMD_TRACK, named[i].carrier ? named[i].carrier : "dhl", num);
    }
    snprintf(line, sizeof line, "paczka inpost %.6s %s", inpost, inpost + 6);
    expect(line, PP_BOT_CMD_TRACK, "inpost", inpost);

    /* detection */
    snprintf(line, sizeof line, "paczka %s", inpost);
    expect(line, PP_BOT_CMD_TRACK, "inpost", inpost);
    snprintf(line, sizeof line, "Paczka   %s", ups);
    expect(line, PP_BOT_CMD_TRACK, "ups", ups);
    pp_bot_cmd_t c;
    pp_bot_cmd_parse("paczka 3318810025", &c);
    CHECK_INT(c.kind, PP_BOT_CMD_AMBIGUOUS);
    CHECK_INT(c.n_cand, 2);
    CHECK_STR(c.cand[0].carrier, "dhl");
    CHECK_STR(c.cand[1].carrier, "orlen");
    expect("paczka lx123456785pl", PP_BOT_CMD_AMBIGUOUS, NULL, "LX123456785PL");
    expect("paczka dhl 3318810025", PP_BOT_CMD_TRACK, "dhl", "3318810025");

    /* invalid numbers */
    expect("paczka 123", PP_BOT_CMD_INVALID, NULL, "123");
    expect("paczka hello!", PP_BOT_CMD_INVALID, NULL, NULL);
    snprintf(line, sizeof line, "paczka inpost %s", dhl);
    expect(line, PP_BOT_CMD_INVALID, "inpost", NULL);
    expect("paczka dhl", PP_BOT_CMD_INVALID, NULL, NULL); /* "dhl" is the number here */

    /* help, stop, start */
    expect("pomoc", PP_BOT_CMD_HELP, NULL, NULL);
    expect("  POMOC ", PP_BOT_CMD_HELP, NULL, NULL);
    expect("Help", PP_BOT_CMD_HELP, NULL, NULL);
    expect("paczka", PP_BOT_CMD_HELP, NULL, NULL);
    expect("paczka   ", PP_BOT_CMD_HELP, NULL, NULL);
    expect("STOP", PP_BOT_CMD_STOP, NULL, NULL);
    expect(" start\n", PP_BOT_CMD_START, NULL, NULL);

    /* garbage */
    expect(NULL, PP_BOT_CMD_OTHER, NULL, NULL);
    expect("", PP_BOT_CMD_OTHER, NULL, NULL);
    expect("cześć", PP_BOT_CMD_OTHER, NULL, NULL);
    expect("stop now", PP_BOT_CMD_OTHER, NULL, NULL);
    expect("paczkadhl 123", PP_BOT_CMD_OTHER, NULL, NULL);
    expect("\xff\xfe\x01 paczka", PP_BOT_CMD_OTHER, NULL, NULL);
    expect("paczka \xc5\x82\xff 12", PP_BOT_CMD_INVALID, NULL, NULL);
    /* an invalid number is echoed in the reply: clean, whole characters, within the field */
    static const char *const hostile[] = {
        "paczka \xc5\x82\xff 12",
        "paczka 12\x01\x1b[31m34",
        "paczka 12\xc2\x85x\xc2\x9b",
        "paczka \xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82"
        "\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82\xc5\x82",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        pp_bot_cmd_t hc;
        char reply[512];
        pp_bot_cmd_parse(hostile[i], &hc);
        CHECK_INT(hc.kind, PP_BOT_CMD_INVALID);
        CHECK(pp_text_is_clean(hc.number, strlen(hc.number)));
        CHECK(strlen(hc.number) < sizeof hc.number);
        pp_bot_text_simple(PP_BOT_PL, &hc, true, reply, sizeof reply);
        CHECK(pp_text_is_clean(reply, strlen(reply)));
    }
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect(big, PP_BOT_CMD_OTHER, NULL, NULL);
    memcpy(big, "paczka ", 7);
    expect(big, PP_BOT_CMD_INVALID, NULL, NULL);

    /* the bot's day share: per_day * pct / 100 rounded down; no quota, no share */
    CHECK_INT(pp_carrier_usage_bot_share(50000, 5), 2500);
    CHECK_INT(pp_carrier_usage_bot_share(40, 10), 4);
    CHECK_INT(pp_carrier_usage_bot_share(25, 5), 1);
    CHECK_INT(pp_carrier_usage_bot_share(19, 5), 0);
    CHECK_INT(pp_carrier_usage_bot_share(100, 100), 100);
    CHECK_INT(pp_carrier_usage_bot_share(100, 0), 0);
    CHECK_INT(pp_carrier_usage_bot_share(0, 5), 0);
    CHECK_INT(pp_carrier_usage_bot_share(100000000, 99), 99000000);
    char day[16];
    pp_time_day_text(20420, day);
    CHECK_STR(day, "2025-11-28");

    /* limit texts: quota (reset at 00:00 UTC = 01:00 in Warsaw in winter), breaker, stale */
    char t[1024];
    time_t midnight = 1795910400; /* 2026-11-29T00:00:00Z */
    pp_bot_text_quota(PP_BOT_PL, "dhl", "3318810025", midnight, t, sizeof t);
    CHECK_STR(t, "Paczka DHL 3318810025: wyczerpałem dzisiejszy limit zapytań do przewoźnika, "
                 "spróbuj po 29.11.2026 01:00.");
    pp_bot_text_quota(PP_BOT_EN, "dhl", "3318810025", midnight, t, sizeof t);
    CHECK_STR(t, "Parcel DHL 3318810025: I have used up today's limit of questions to the "
                 "carrier, try again after 29.11.2026 01:00.");
    pp_bot_text_not_answering(PP_BOT_PL, "inpost", "620000000000000000000123", t, sizeof t);
    CHECK_STR(t, "Paczka InPost 620000000000000000000123: przewoźnik nie odpowiada, spróbuj później.");
    pp_bot_text_not_answering(PP_BOT_EN, "inpost", "620000000000000000000123", t, sizeof t);
    CHECK_STR(t, "Parcel InPost 620000000000000000000123: the carrier is not answering, try again later.");
    pp_bot_text_stale(PP_BOT_PL, "dhl", "3318810025", PP_ST_IN_TRANSIT, "Kraków", 1768471200,
                      1768476600, PP_BOT_WHY_BREAKER, t, sizeof t);
    CHECK_STR(t, "Paczka DHL 3318810025: w drodze (Kraków, 15.01.2026 11:00). Stan z 15.01.2026 "
                 "12:30: przewoźnik nie odpowiada.");
    pp_bot_text_stale(PP_BOT_EN, "dhl", "3318810025", PP_ST_IN_TRANSIT, "", 0, 1768476600,
                      PP_BOT_WHY_QUOTA, t, sizeof t);
    CHECK_STR(t, "Parcel DHL 3318810025: in transit. As of 15.01.2026 12:30: today's limit of "
                 "questions to the carrier is used up.");
    pp_bot_text_stale(PP_BOT_PL, "dhl", "3318810025", PP_ST_INFO_RECEIVED, "", 0, 0,
                      PP_BOT_WHY_UNAVAILABLE, t, sizeof t);
    CHECK_STR(t, "Paczka DHL 3318810025: przewoźnik otrzymał dane przesyłki. Stan z naszej bazy: "
                 "nie mogę teraz zapytać przewoźnika.");

    /* folding */
    char f[64];
    pp_bot_fold("  Zażółć\tGĘŚLĄ  jaźń ", f, sizeof f);
    CHECK_STR(f, "zazolc gesla jazn");
    pp_bot_fold("abcdef", f, 4);
    CHECK_STR(f, "abc");
    return CHECK_DONE();
}
