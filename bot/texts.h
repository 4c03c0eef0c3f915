/* texts.h - the bot's reply texts (Polish default, English for locale "en"). */
#ifndef PP_BOT_TEXTS_H
#define PP_BOT_TEXTS_H

#include "command.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum { PP_BOT_PL = 0, PP_BOT_EN = 1 } pp_bot_lang_t;

/* Answer to anything but TRACK (help, ambiguous, invalid, stop/start with `linked` = a user
 * was found for the writer's address). */
void pp_bot_text_simple(pp_bot_lang_t lang, const pp_bot_cmd_t *cmd, bool linked, char *out,
                        size_t cap);
/*
 * `Paczka <Carrier> <number>: <status label> (<place>, <time in Europe/Warsaw>)`; found =
 * false: "nie znaleziono jeszcze"; at = 0 and place "" leave the parentheses out.
 */
void pp_bot_text_status(pp_bot_lang_t lang, const char *carrier, const char *number, bool found,
                        pp_status_t st, const char *place, time_t at, char *out, size_t cap);
/* The carrier could not be asked now (error, Retry-After pause, rate wait, timeout). */
void pp_bot_text_unavailable(pp_bot_lang_t lang, const char *carrier, const char *number, char *out,
                             size_t cap);
/* The bot's day share of calls to this carrier is used up: "try after <resets_at, Warsaw>". */
void pp_bot_text_quota(pp_bot_lang_t lang, const char *carrier, const char *number,
                       time_t resets_at, char *out, size_t cap);
/* The carrier's circuit breaker is open: "the carrier is not answering, try later". */
void pp_bot_text_not_answering(pp_bot_lang_t lang, const char *carrier, const char *number,
                               char *out, size_t cap);

/* A writer over the per-sender message limit (their language is not looked up: both). */
void pp_bot_text_slow_down(long retry_s, char *out, size_t cap);
/* A writer over the per-sender live-lookup limit: "try again in about retry_s s", or with
 * per_day > 0 the day's cap of per_day lookups is used up: "try after day_resets_at". */
void pp_bot_text_sender_live(pp_bot_lang_t lang, const char *carrier, const char *number,
                             long retry_s, long per_day, time_t day_resets_at, char *out, size_t cap);

/* Why the carrier was not asked, for an answer from Postgres that is not fresh. */
typedef enum {
    PP_BOT_WHY_UNAVAILABLE = 0,
    PP_BOT_WHY_QUOTA,
    PP_BOT_WHY_BREAKER,
    PP_BOT_WHY_SENDER
} pp_bot_why_t;
/*
 * The status line of pp_bot_text_status (found), then when it was last checked with the
 * carrier (checked = 0: never) and why it was not checked now: `Paczka DHL 123: w drodze
 * (Kraków, 15.01.2026 11:00). Stan z 15.01.2026 12:30: przewoźnik nie odpowiada.`
 */
void pp_bot_text_stale(pp_bot_lang_t lang, const char *carrier, const char *number, pp_status_t st,
                       const char *place, time_t at, time_t checked, pp_bot_why_t why, char *out,
                       size_t cap);
/* "28.11.2026 22:10" in Europe/Warsaw (CET/CEST by the EU rule). */
void pp_bot_warsaw_format(time_t t, char *out, size_t cap);

#endif
