/* hostile.c - --hostile NUMBER=control|utf8|long|quote|huge: that number's answers carry hostile place text, or (huge) are padded past the carrier client's size limit. */
#include "sim.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the shapes write a place: the towns of their tables and the branch codes (InPost's
 * "agency", locker ids). Every occurrence in the answer is replaced. */
static const char *const places[] = {
    "Kraków", "Warszawa", "Gdańsk",    "Poznań",  "Wrocław", "Łódź",    "Katowice",
    "Lublin", "Szczecin", "Bydgoszcz", "Rzeszów", "Olsztyn", "Stryków", "KRA",
    "WAW",    "GDA",      "POZ",       "WRO",     "LOD",     "KAT",     "LUB",
    "SZC",    "BYD",      "RZE",       "OLS",
};

#define LONG_PL                                                                                               \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń " \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń " \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń " \
    "Źdźbło żółtej gęśli w Szczebrzeszynie, Łódź Bałuty, ul. Świętokrzyska ąęółśżźćń"

int pp_sim_hostile_add(pp_sim_t *s, const char *spec)
{
    const char *eq = strchr(spec, '=');
    int kind = 0;
    if (eq && strcmp(eq + 1, "control") == 0)
        kind = PP_SIM_HOSTILE_CONTROL;
    else if (eq && strcmp(eq + 1, "utf8") == 0)
        kind = PP_SIM_HOSTILE_UTF8;
    else if (eq && strcmp(eq + 1, "long") == 0)
        kind = PP_SIM_HOSTILE_LONG;
    else if (eq && strcmp(eq + 1, "quote") == 0)
        kind = PP_SIM_HOSTILE_QUOTE;
    else if (eq && strcmp(eq + 1, "huge") == 0)
        kind = PP_SIM_HOSTILE_HUGE;
    if (!kind || eq == spec || (size_t)(eq - spec) >= sizeof s->hostile[0].number ||
        s->n_hostile >= PP_SIM_MAX_HOSTILE) {
        fprintf(stderr,
                "pp-carrier-sim: --hostile wants NUMBER=control|utf8|long|quote|huge (at most %d), got '%s'\n",
                PP_SIM_MAX_HOSTILE, spec);
        return PP_EINVAL;
    }
    snprintf(s->hostile[s->n_hostile].number, sizeof s->hostile[0].number, "%.*s", (int)(eq - spec),
             spec);
    s->hostile[s->n_hostile++].kind = kind;
    return PP_OK;
}

/* The text a place becomes, as written into a JSON string or XML text. */
static const char *hostile_text(int kind, int xml)
{
    switch (kind) {
    case PP_SIM_HOSTILE_CONTROL: /* JSON: cJSON turns \u0001 into a raw byte; XML allows C1 only */
        return xml ? "KRA&#x85;&#x9b;X" : "KRA\\u0001X";
    case PP_SIM_HOSTILE_UTF8: return "KRA\xff\xfe\xc3X";
    case PP_SIM_HOSTILE_QUOTE: /* the text K"R'A\{x},NULL */
        return xml ? "K&quot;R&apos;A\\{x},NULL" : "K\\\"R'A\\\\{x},NULL";
    default: return LONG_PL;
    }
}

/* huge: the answer, still a valid document, then HUGE_PAD bytes of white space: more than
 * the carrier client reads (common/httpc.c: 4 MiB). */
#define HUGE_PAD ((size_t)5 << 20)

static int pad(char **body, size_t *len)
{
    char *out = realloc(*body, *len + HUGE_PAD + 1);
    if (!out)
        return PP_ENOMEM;
    memset(out + *len, ' ', HUGE_PAD);
    *len += HUGE_PAD;
    out[*len] = '\0';
    *body = out;
    return PP_OK;
}

int pp_sim_hostile_apply(const pp_sim_t *s, const char (*numbers)[64], size_t n, char **body,
                         size_t *len)
{
    int kind = 0;
    for (size_t i = 0; i < n && !kind; i++)
        for (int h = 0; h < s->n_hostile && !kind; h++)
            if (strcmp(numbers[i], s->hostile[h].number) == 0)
                kind = s->hostile[h].kind;
    if (!kind || !*body)
        return PP_OK;
    if (kind == PP_SIM_HOSTILE_HUGE)
        return pad(body, len);
    const char *b = *body;
    size_t k = 0;
    while (k < *len && (b[k] == ' ' || b[k] == '\n' || b[k] == '\r' || b[k] == '\t'))
        k++;
    const char *text = hostile_text(kind, k < *len && b[k] == '<');
    size_t tl = strlen(text), cap = *len + 1, o = 0;
    for (size_t i = 0; i < *len; i++)
        cap += tl; /* at most one replacement per input byte */
    char *out = malloc(cap);
    if (!out)
        return PP_ENOMEM;
    for (size_t i = 0; i < *len;) {
        size_t m = 0;
        for (size_t p = 0; p < sizeof places / sizeof places[0] && !m; p++) {
            size_t pl = strlen(places[p]);
            if (pl <= *len - i && memcmp(b + i, places[p], pl) == 0)
                m = pl;
        }
        if (m) {
            memcpy(out + o, text, tl);
            o += tl;
            i += m;
        } else {
            out[o++] = b[i++];
        }
    }
    out[o] = '\0';
    free(*body);
    *body = out;
    *len = o;
    return PP_OK;
}
