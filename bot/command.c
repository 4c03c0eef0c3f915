/* command.c - the bot's command language: folding, carrier names and aliases (the registry's), number detection. */
#include "command.h"
#include "carriers/carrier.h"
#include "text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Polish letters in UTF-8 (two bytes each) and their ASCII base letters. */
/* clang-format off */
static const struct {
    const char *utf8;
    char ascii;
} folds[] = {
    {"ą", 'a'}, {"ć", 'c'}, {"ę", 'e'}, {"ł", 'l'}, {"ń", 'n'}, {"ó", 'o'}, {"ś", 's'},
    {"ź", 'z'}, {"ż", 'z'}, {"Ą", 'a'}, {"Ć", 'c'}, {"Ę", 'e'}, {"Ł", 'l'}, {"Ń", 'n'},
    {"Ó", 'o'}, {"Ś", 's'}, {"Ź", 'z'}, {"Ż", 'z'},
};
/* clang-format on */

void pp_bot_fold(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    bool space = false;
    if (!cap)
        return;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o + 1 < cap;) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' || *p == '\f') {
            space = o > 0;
            p++;
            continue;
        }
        /* U+00A0 no-break space counts as a space too */
        if (p[0] == 0xC2 && p[1] == 0xA0) {
            space = o > 0;
            p += 2;
            continue;
        }
        if (space) {
            out[o++] = ' ';
            space = false;
            if (o + 1 >= cap)
                break;
        }
        char c = 0;
        if (*p >= 0x80) {
            for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++)
                if (strncmp((const char *)p, folds[i].utf8, 2) == 0) {
                    c = folds[i].ascii;
                    p += 2;
                    break;
                }
            if (!c)
                c = (char)*p++;
        } else {
            c = (char)*p++;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* Does `s` start with the word(s) `w` followed by a space or the end? Returns the rest. */
static const char *word_prefix(const char *s, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(s, w, n) != 0 || (s[n] != '\0' && s[n] != ' '))
        return NULL;
    return s[n] ? s + n + 1 : s + n;
}

const char *pp_bot_cmd_name(pp_bot_cmd_kind_t k)
{
    static const char *const names[PP_BOT_CMD__COUNT] = {
        "other", "help", "track", "ambiguous", "invalid", "stop", "start",
    };
    return (unsigned)k < PP_BOT_CMD__COUNT ? names[k] : "other";
}

/* The longest of `alias` so far that starts rest (followed by more): its carrier and the rest. */
static void try_alias(const char *rest, const char *alias, const char *carrier, size_t *best,
                      const char **found, const char **num)
{
    const char *r = word_prefix(rest, alias);
    if (r && *r && strlen(alias) > *best) { /* "orlen paczka" before "orlen" */
        *best = strlen(alias);
        *found = carrier;
        *num = r;
    }
}

static void parse_track(const char *rest, pp_bot_cmd_t *out)
{
    const char *carrier = NULL, *num = rest;
    size_t best = 0, nc;
    /* A carrier's name and its aliases (its descriptor's, folded: words separated by one space). */
    const pp_carrier_t *const *all = pp_carrier_all(&nc);
    for (size_t i = 0; i < nc; i++) {
        try_alias(rest, all[i]->name, all[i]->name, &best, &carrier, &num);
        for (size_t a = 0; all[i]->aliases && all[i]->aliases[a]; a++)
            try_alias(rest, all[i]->aliases[a], all[i]->name, &best, &carrier, &num);
    }
    if (!*num) {
        out->kind = PP_BOT_CMD_HELP;
        return;
    }
    out->carrier = carrier;
    if (pp_number_normalize(num, out->number, sizeof out->number) != 0) {
        /* echoed in the reply only: clean (no control characters, whole characters) */
        pp_text_clean_str(out->number, sizeof out->number, num);
        out->kind = PP_BOT_CMD_INVALID;
        return;
    }
    if (carrier) {
        out->kind = pp_number_valid(carrier, out->number) ? PP_BOT_CMD_TRACK : PP_BOT_CMD_INVALID;
        return;
    }
    size_t n = 0;
    if (pp_number_detect(out->number, out->cand, PP_NUMBER_MAX_CANDIDATES, &n) != 0 || n == 0) {
        out->kind = PP_BOT_CMD_INVALID;
        return;
    }
    out->n_cand = n < PP_NUMBER_MAX_CANDIDATES ? n : PP_NUMBER_MAX_CANDIDATES;
    if (n == 1) {
        out->kind = PP_BOT_CMD_TRACK;
        out->carrier = out->cand[0].carrier;
    } else {
        out->kind = PP_BOT_CMD_AMBIGUOUS;
    }
}

void pp_bot_cmd_parse(const char *line, pp_bot_cmd_t *out)
{
    char f[512];
    const char *r;
    memset(out, 0, sizeof *out);
    pp_bot_fold(line, f, sizeof f);
    if (strcmp(f, "pomoc") == 0 || strcmp(f, "help") == 0 || strcmp(f, "?") == 0)
        out->kind = PP_BOT_CMD_HELP;
    else if (strcmp(f, "stop") == 0)
        out->kind = PP_BOT_CMD_STOP;
    else if (strcmp(f, "start") == 0)
        out->kind = PP_BOT_CMD_START;
    else if ((r = word_prefix(f, "paczka")) != NULL)
        parse_track(r, out);
    else
        out->kind = PP_BOT_CMD_OTHER;
}
