/* detect.c - `ppctl detect NUMBER`: which carriers a tracking number can belong to, as JSON. */
#include "ppctl.h"

#include "carriers/numbers.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Prints {"number", "valid", "candidates": [{"carrier", "confidence", "format"}],
 * "ambiguous"}; exit 0 when some carrier's format fits, 1 when none does, 2 on usage.
 * Several arguments are joined with spaces, so `ppctl detect 1Z 999 AA1 …` works unquoted.
 */
int ppctl_detect(ppctl_t *ctl, int argc, char **argv)
{
    char input[4 * PP_NUMBER_MAX], number[PP_NUMBER_MAX];
    pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
    size_t n = 0, k = 0;
    (void)ctl;
    if (argc < 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(stderr, "usage: ppctl detect NUMBER\n");
        return 2;
    }
    input[0] = '\0';
    for (int i = 1; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (k + len + 2 > sizeof input) {
            fprintf(stderr, "ppctl detect: number too long\n");
            return 2;
        }
        if (i > 1)
            input[k++] = ' ';
        memcpy(input + k, argv[i], len + 1);
        k += len;
    }
    /* Not normalizable (stray characters, too long): shown as entered, with no candidate. */
    if (pp_number_normalize(input, number, sizeof number))
        snprintf(number, sizeof number, "%.*s", (int)sizeof number - 1, input);
    if (pp_number_detect(input, cand, PP_NUMBER_MAX_CANDIDATES, &n)) {
        fprintf(stderr, "ppctl detect: detection failed\n");
        return 1;
    }
    cJSON *o = cJSON_CreateObject(), *list = NULL;
    char *text = NULL;
    if (!o || !cJSON_AddStringToObject(o, "number", number) ||
        !cJSON_AddBoolToObject(o, "valid", n > 0) || !(list = cJSON_AddArrayToObject(o, "candidates")))
        goto fail;
    for (size_t i = 0; i < n && i < PP_NUMBER_MAX_CANDIDATES; i++) {
        cJSON *c = cJSON_CreateObject();
        if (!c)
            goto fail;
        cJSON_AddItemToArray(list, c);
        if (!cJSON_AddStringToObject(c, "carrier", cand[i].carrier) ||
            !cJSON_AddNumberToObject(c, "confidence", cand[i].confidence) ||
            !cJSON_AddStringToObject(c, "format", cand[i].format))
            goto fail;
    }
    if (!cJSON_AddBoolToObject(o, "ambiguous", n > 1) || !(text = cJSON_PrintUnformatted(o)))
        goto fail;
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
    return n > 0 ? 0 : 1;
fail:
    fprintf(stderr, "ppctl detect: out of memory\n");
    cJSON_Delete(o);
    return 1;
}
