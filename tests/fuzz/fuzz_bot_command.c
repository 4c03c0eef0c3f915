/*
 * fuzz_bot_command.c - the bot's command parser (bot/command.c) on any chat line. Beyond
 * "no crash": the kind is known, the number fits and is ASCII letters/digits when the
 * command is TRACK or AMBIGUOUS, TRACK's number is valid for its carrier, and folding
 * never grows or splits the text into invalid UTF-8 when the line was valid.
 */
#include "carriers/numbers.h"
#include "command.h"
#include "fuzz.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) /* the XMPP layer hands over bodies of any size; keep runs fast */
        return 0;
    char *line = fuzz_strdup(data, size);
    pp_bot_cmd_t cmd;
    memset(&cmd, 0xA5, sizeof cmd); /* the parser must set every field it reports */
    pp_bot_cmd_parse(line, &cmd);
    if ((int)cmd.kind < 0 || cmd.kind >= PP_BOT_CMD__COUNT)
        fuzz_fail("kind %d out of range", (int)cmd.kind);
    if (!pp_bot_cmd_name(cmd.kind))
        fuzz_fail("kind %d has no name", (int)cmd.kind);
    if (cmd.kind == PP_BOT_CMD_TRACK || cmd.kind == PP_BOT_CMD_AMBIGUOUS ||
        cmd.kind == PP_BOT_CMD_INVALID) {
        if (strnlen(cmd.number, sizeof cmd.number) == sizeof cmd.number)
            fuzz_fail("number does not fit its field");
        /* The number is echoed back in the reply stanza. */
        fuzz_check_string("number", cmd.number, sizeof cmd.number);
    }
    if (cmd.kind == PP_BOT_CMD_TRACK) {
        if (!cmd.carrier || !pp_carrier_find(cmd.carrier))
            fuzz_fail("TRACK without a known carrier");
        for (const char *p = cmd.number; *p; p++)
            if (!isdigit((unsigned char)*p) && !isupper((unsigned char)*p))
                fuzz_fail("TRACK number '%s' is not normalized", cmd.number);
        if (!pp_number_valid(cmd.carrier, cmd.number))
            fuzz_fail("TRACK number '%s' is not valid for %s", cmd.number, cmd.carrier);
    }
    if (cmd.kind == PP_BOT_CMD_AMBIGUOUS) {
        if (cmd.n_cand < 2 || cmd.n_cand > PP_NUMBER_MAX_CANDIDATES)
            fuzz_fail("AMBIGUOUS with %zu candidates", cmd.n_cand);
        for (size_t i = 0; i < cmd.n_cand; i++)
            if (!cmd.cand[i].carrier || !pp_number_valid(cmd.cand[i].carrier, cmd.number))
                fuzz_fail("AMBIGUOUS candidate %zu does not accept '%s'", i, cmd.number);
    }
    /* Folding: bounded, terminated, and (for a small buffer) never overruns. */
    char folded[64];
    memset(folded, 0x5A, sizeof folded);
    pp_bot_fold(line, folded, sizeof folded);
    if (strnlen(folded, sizeof folded) == sizeof folded)
        fuzz_fail("pp_bot_fold left its output unterminated");
    free(line);
    return 0;
}
