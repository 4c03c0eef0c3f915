/* command.h - the bot's command language: parse one chat line into a command (pure, no I/O). */
#ifndef PP_BOT_COMMAND_H
#define PP_BOT_COMMAND_H

#include "carriers/numbers.h"

#include <stddef.h>

typedef enum {
    PP_BOT_CMD_OTHER = 0, /* not understood: answer with the help text */
    PP_BOT_CMD_HELP,      /* pomoc / help */
    PP_BOT_CMD_TRACK,     /* paczka [CARRIER] NUMBER: carrier known, number valid */
    PP_BOT_CMD_AMBIGUOUS, /* paczka NUMBER fitting several carriers: ask which */
    PP_BOT_CMD_INVALID,   /* paczka with a number no (or not the named) carrier accepts */
    PP_BOT_CMD_STOP,      /* notifications off */
    PP_BOT_CMD_START,     /* notifications on */
    PP_BOT_CMD__COUNT
} pp_bot_cmd_kind_t;

typedef struct pp_bot_cmd {
    pp_bot_cmd_kind_t kind;
    const char *carrier;        /* TRACK (and INVALID when named): wire name, static */
    char number[PP_NUMBER_MAX]; /* TRACK / AMBIGUOUS / INVALID: normalized, or as typed if invalid */
    pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES]; /* AMBIGUOUS: best first */
    size_t n_cand;
} pp_bot_cmd_t;

/*
 * Parse a chat line (UTF-8): case- and Polish-diacritics-insensitive, any whitespace between
 * words. Never fails: anything not understood is PP_BOT_CMD_OTHER. line may be NULL.
 */
void pp_bot_cmd_parse(const char *line, pp_bot_cmd_t *out);

/* Metric label of a kind: "track", "help", "stop", ... */
const char *pp_bot_cmd_name(pp_bot_cmd_kind_t k);

/* Fold to lower-case ASCII (Polish letters to their base letter) with single spaces, trimmed;
 * other non-ASCII bytes are kept. Exposed for the unit test. */
void pp_bot_fold(const char *in, char *out, size_t cap);

#endif
