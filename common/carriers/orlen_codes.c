/* orlen_codes.c - ORLEN Paczka's Trans codes (research/carriers.md §7.2) and their statuses, for both answers' parsers. */
#include "orlen.h"
#include "../err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct orlen_code {
    int code;
    pp_status_t status;
} orlen_code_t;

/* Trans codes §7.2 (Polish names there and in Trans_Des). 888 (archiving) is dropped. */
/* clang-format off */
static const orlen_code_t codes[] = {
    {200, PP_ST_INFO_RECEIVED}, /* Zaawizowana do PwR: announced, no scan yet */
    {201, PP_ST_EXCEPTION},     /* Anulowane awizo */
    /* on the way */
    {100, PP_ST_IN_TRANSIT}, {110, PP_ST_IN_TRANSIT}, {120, PP_ST_IN_TRANSIT},
    {193, PP_ST_IN_TRANSIT}, {195, PP_ST_IN_TRANSIT}, {210, PP_ST_IN_TRANSIT},
    {230, PP_ST_IN_TRANSIT}, {240, PP_ST_IN_TRANSIT}, {241, PP_ST_IN_TRANSIT},
    {300, PP_ST_IN_TRANSIT}, {400, PP_ST_IN_TRANSIT}, {401, PP_ST_IN_TRANSIT},
    {450, PP_ST_IN_TRANSIT}, {653, PP_ST_IN_TRANSIT}, {681, PP_ST_IN_TRANSIT},
    /* last leg to the point ("released for delivery" in the research's plugin) */
    {610, PP_ST_OUT_FOR_DELIVERY}, {660, PP_ST_OUT_FOR_DELIVERY}, {665, PP_ST_OUT_FOR_DELIVERY},
    {670, PP_ST_OUT_FOR_DELIVERY}, {680, PP_ST_OUT_FOR_DELIVERY}, {685, PP_ST_OUT_FOR_DELIVERY},
    /* waiting at the point */
    {620, PP_ST_AVAILABLE_FOR_PICKUP}, {690, PP_ST_AVAILABLE_FOR_PICKUP},
    {691, PP_ST_AVAILABLE_FOR_PICKUP}, {695, PP_ST_AVAILABLE_FOR_PICKUP},
    {696, PP_ST_AVAILABLE_FOR_PICKUP},
    /* problems ("issue" in the plugin; 700 is uncertain: its name reads like transit) */
    {677, PP_ST_EXCEPTION}, {679, PP_ST_EXCEPTION}, {700, PP_ST_EXCEPTION},
    {708, PP_ST_EXCEPTION}, {710, PP_ST_EXCEPTION}, {711, PP_ST_EXCEPTION},
    {712, PP_ST_EXCEPTION}, {714, PP_ST_EXCEPTION}, {729, PP_ST_EXCEPTION},
    {739, PP_ST_EXCEPTION}, {749, PP_ST_EXCEPTION}, {780, PP_ST_EXCEPTION},
    {790, PP_ST_EXCEPTION}, {800, PP_ST_EXCEPTION}, {999, PP_ST_EXCEPTION},
    {2000, PP_ST_EXCEPTION},
    /* going back to the sender: Powrót - nieodebrana w terminie, Zwrot do nadawcy */
    {709, PP_ST_RETURNING}, {750, PP_ST_RETURNING}, {900, PP_ST_RETURNING},
    /* done. 1100 "Odebrana" = delivered per research §10 (the §7.2 plugin says returned). */
    {1000, PP_ST_DELIVERED}, {1100, PP_ST_DELIVERED},
    {1200, PP_ST_RETURNED}, /* Odebrana - zwrot */
    {1220, PP_ST_RETURNED}, /* Zwrot do nadawcy (picked up by the sender) */
};
/* clang-format on */

/*
 * Code + attribute -> status. POWROT / 2_POWROT (parcel going back to the sender):
 * 1000/1100/1220 = returned, anything else = returning. ZWROT (a consumer return) keeps
 * the plain mapping. 690 in the public tracker also means "in another country" (§7.3).
 */
pp_status_t pp_orlen_map_code(int code, const char *attribute, const char *label)
{
    pp_status_t st = PP_ST_UNKNOWN;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            st = codes[i].status;
    if (attribute && (strcmp(attribute, "POWROT") == 0 || strcmp(attribute, "2_POWROT") == 0) &&
        st != PP_ST_UNKNOWN)
        return code == 1000 || code == 1100 || code == 1200 || code == 1220 ? PP_ST_RETURNED
                                                                            : PP_ST_RETURNING;
    if (code == 690 && label && strstr(label, "innym kraju"))
        return PP_ST_IN_TRANSIT;
    return st;
}

/* Strict non-negative integer (leading zeros allowed: Err "006"). */
int pp_orlen_parse_int(const char *s, long *out)
{
    char *end;
    while (*s == ' ')
        s++;
    if (!isdigit((unsigned char)*s))
        return PP_EPARSE;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || *end || v > 1000000)
        return PP_EPARSE;
    *out = v;
    return PP_OK;
}
