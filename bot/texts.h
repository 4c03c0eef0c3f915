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
/* The carrier could not be asked now (error, budget, timeout). */
void pp_bot_text_unavailable(pp_bot_lang_t lang, const char *carrier, const char *number,
                             char *out, size_t cap);
/* "28.11.2026 22:10" in Europe/Warsaw (CET/CEST by the EU rule). */
void pp_bot_warsaw_format(time_t t, char *out, size_t cap);

#endif
