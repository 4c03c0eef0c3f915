/* texts.c - the bot's reply texts (Polish default, English for locale "en") and Warsaw time. */
#include "texts.h"
#include "carriers/carrier.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The help around the list of carriers (every carrier's help_names, in registry order). */
static const char *const help_head[2] = {
    "Jestem botem paczka. Napisz:\n"
    "paczka <PRZEWOŹNIK> <NUMER> - status przesyłki (",
    "I am the paczka bot. Write:\n"
    "paczka <CARRIER> <NUMBER> - shipment status (",
};
static const char *const help_tail[2] = {
    ")\n"
    "paczka <NUMER> - rozpoznam przewoźnika sam\n"
    "stop / start - wyłącz / włącz powiadomienia o statusie przesyłki\n"
    "pomoc - ta wiadomość",
    ")\n"
    "paczka <NUMBER> - I will recognize the carrier\n"
    "stop / start - turn shipment status notifications off / on\n"
    "help - this message",
};
static char help[2][1024];
static pthread_once_t help_once = PTHREAD_ONCE_INIT;

static void help_build(void)
{
    char list[512] = "";
    size_t n, o = 0;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    for (size_t i = 0; i < n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                              all[i]->help_names ? all[i]->help_names : all[i]->display);
    for (int l = 0; l < 2; l++)
        snprintf(help[l], sizeof help[l], "%s%s%s", help_head[l], list, help_tail[l]);
}

static const char *display(const char *carrier)
{
    const pp_carrier_t *c = carrier ? pp_carrier_find(carrier) : NULL;
    return c ? c->display : (carrier ? carrier : "?");
}

static const char *word(pp_bot_lang_t lang) { return lang == PP_BOT_EN ? "Parcel" : "Paczka"; }

void pp_bot_text_simple(pp_bot_lang_t lang, const pp_bot_cmd_t *cmd, bool linked, char *out, size_t cap)
{
    bool en = lang == PP_BOT_EN;
    switch (cmd->kind) {
    case PP_BOT_CMD_AMBIGUOUS: {
        size_t o = (size_t)snprintf(out, cap,
                                    en ? "Number %s fits several carriers: "
                                       : "Numer %s pasuje do kilku przewoźników: ",
                                    cmd->number);
        for (size_t i = 0; i < cmd->n_cand && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "",
                                  display(cmd->cand[i].carrier));
        if (o < cap)
            snprintf(out + o, cap - o,
                     en ? ". Which one? Write: paczka <CARRIER> %s"
                        : ". Który? Napisz: paczka <PRZEWOŹNIK> %s",
                     cmd->number);
        return;
    }
    case PP_BOT_CMD_INVALID:
        if (cmd->carrier)
            snprintf(out, cap,
                     en ? "%s is not a valid %s tracking number."
                        : "%s to nie jest poprawny numer przesyłki %s.",
                     cmd->number, display(cmd->carrier));
        else
            snprintf(out, cap,
                     en ? "%s is not a valid tracking number of any carrier I know."
                        : "%s to nie jest poprawny numer przesyłki żadnego "
                          "znanego mi przewoźnika.",
                     cmd->number);
        return;
    case PP_BOT_CMD_STOP:
    case PP_BOT_CMD_START:
        if (!linked)
            snprintf(out, cap,
                     en ? "This address is not linked to any account (link it in "
                          "the account settings)."
                        : "Ten adres nie jest powiązany z żadnym kontem (powiąż go w "
                          "ustawieniach konta).");
        else if (cmd->kind == PP_BOT_CMD_STOP)
            snprintf(out, cap,
                     en ? "Shipment status notifications are off."
                        : "Powiadomienia o statusie przesyłki wyłączone.");
        else
            snprintf(out, cap,
                     en ? "Shipment status notifications are on."
                        : "Powiadomienia o statusie przesyłki włączone.");
        return;
    default:
        pthread_once(&help_once, help_build);
        snprintf(out, cap, "%s", help[lang == PP_BOT_EN]);
        return;
    }
}

void pp_bot_text_status(pp_bot_lang_t lang, const char *carrier, const char *number, bool found,
                        pp_status_t st, const char *place, time_t at, char *out, size_t cap)
{
    int l = lang == PP_BOT_EN;
    if (!found || st == PP_ST_NOT_FOUND_YET) {
        snprintf(out, cap, "%s %s %s: %s", word(lang), display(carrier), number,
                 pp_status_label(PP_ST_NOT_FOUND_YET, l));
        return;
    }
    const char *label = pp_status_label(st, l); /* the card's words (common/status.c) */
    char when[32] = "";
    if (at > 0)
        pp_bot_warsaw_format(at, when, sizeof when);
    bool p = place && place[0];
    if (p || when[0])
        snprintf(out, cap, "%s %s %s: %s (%s%s%s)", word(lang), display(carrier), number, label,
                 p ? place : "", p && when[0] ? ", " : "", when);
    else
        snprintf(out, cap, "%s %s %s: %s", word(lang), display(carrier), number, label);
}

void pp_bot_text_unavailable(pp_bot_lang_t lang, const char *carrier, const char *number, char *out,
                             size_t cap)
{
    snprintf(out, cap,
             lang == PP_BOT_EN ? "Parcel %s %s: the carrier cannot be asked right now, try again "
                                 "in a moment."
                               : "Paczka %s %s: nie mogę teraz zapytać przewoźnika, spróbuj za "
                                 "chwilę.",
             display(carrier), number);
}

void pp_bot_text_quota(pp_bot_lang_t lang, const char *carrier, const char *number,
                       time_t resets_at, char *out, size_t cap)
{
    char when[32];
    pp_bot_warsaw_format(resets_at, when, sizeof when);
    snprintf(out, cap,
             lang == PP_BOT_EN ? "Parcel %s %s: I have used up today's limit of questions to the "
                                 "carrier, try again after %s."
                               : "Paczka %s %s: wyczerpałem dzisiejszy limit zapytań do "
                                 "przewoźnika, spróbuj po %s.",
             display(carrier), number, when);
}

void pp_bot_text_not_answering(pp_bot_lang_t lang, const char *carrier, const char *number,
                               char *out, size_t cap)
{
    snprintf(out, cap,
             lang == PP_BOT_EN ? "Parcel %s %s: the carrier is not answering, try again later."
                               : "Paczka %s %s: przewoźnik nie odpowiada, spróbuj później.",
             display(carrier), number);
}

void pp_bot_text_slow_down(long retry_s, char *out, size_t cap)
{
    if (retry_s < 1)
        retry_s = 1;
    snprintf(out, cap,
             "Piszesz do mnie za szybko: na kolejne wiadomości odpowiem za ok. %ld s. / "
             "You are writing too fast: I will answer further messages in about %ld s.",
             retry_s, retry_s);
}

void pp_bot_text_sender_live(pp_bot_lang_t lang, const char *carrier, const char *number,
                             long retry_s, long per_day, time_t day_resets_at, char *out, size_t cap)
{
    bool en = lang == PP_BOT_EN;
    if (per_day > 0) {
        char when[32];
        pp_bot_warsaw_format(day_resets_at, when, sizeof when);
        snprintf(out, cap,
                 en ? "Parcel %s %s: you have used up today's %ld questions to carriers, try again "
                      "after %s."
                    : "Paczka %s %s: wykorzystałeś dzisiejsze %ld zapytań do przewoźników, spróbuj "
                      "po %s.",
                 display(carrier), number, per_day, when);
        return;
    }
    if (retry_s < 1)
        retry_s = 1;
    snprintf(out, cap,
             en ? "Parcel %s %s: you have asked carriers about many parcels just now, try again in "
                  "about %ld s."
                : "Paczka %s %s: pytasz przewoźników o wiele przesyłek naraz, spróbuj za ok. %ld s.",
             display(carrier), number, retry_s);
}

void pp_bot_text_stale(pp_bot_lang_t lang, const char *carrier, const char *number, pp_status_t st,
                       const char *place, time_t at, time_t checked, pp_bot_why_t why, char *out,
                       size_t cap)
{
    static const char *const reasons[4][2] = {
        [PP_BOT_WHY_UNAVAILABLE] = {"nie mogę teraz zapytać przewoźnika",
                                    "I cannot ask the carrier right now"},
        [PP_BOT_WHY_QUOTA] = {"dzisiejszy limit zapytań do przewoźnika jest wyczerpany",
                              "today's limit of questions to the carrier is used up"},
        [PP_BOT_WHY_BREAKER] = {"przewoźnik nie odpowiada", "the carrier is not answering"},
        [PP_BOT_WHY_SENDER] = {"Twój limit zapytań do przewoźników jest na razie wyczerpany",
                               "your limit of questions to carriers is used up for now"},
    };
    int l = lang == PP_BOT_EN;
    const char *reason = reasons[(unsigned)why < 4 ? why : 0][l];
    char line[768], when[32] = "";
    pp_bot_text_status(lang, carrier, number, true, st, place, at, line, sizeof line);
    if (checked > 0) {
        pp_bot_warsaw_format(checked, when, sizeof when);
        snprintf(out, cap, l ? "%s. As of %s: %s." : "%s. Stan z %s: %s.", line, when, reason);
    } else {
        snprintf(out, cap, l ? "%s. From our records: %s." : "%s. Stan z naszej bazy: %s.", line,
                 reason);
    }
}

/* 01:00 UTC on the last Sunday of month m (1-based) of year y. */
static time_t last_sunday_1utc(int y, int m)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m, .tm_mday = 0, .tm_hour = 1};
    time_t t = timegm(&tm); /* day 0 of the next month = last day of month m */
    struct tm d;
    gmtime_r(&t, &d);
    return t - (time_t)d.tm_wday * 86400;
}

void pp_bot_warsaw_format(time_t t, char *out, size_t cap)
{
    struct tm u;
    gmtime_r(&t, &u);
    int y = u.tm_year + 1900;
    bool summer = t >= last_sunday_1utc(y, 3) && t < last_sunday_1utc(y, 10);
    time_t local = t + (summer ? 7200 : 3600);
    gmtime_r(&local, &u);
    snprintf(out, cap, "%02d.%02d.%04d %02d:%02d", u.tm_mday, u.tm_mon + 1, u.tm_year + 1900,
             u.tm_hour, u.tm_min);
}
