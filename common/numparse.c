/* numparse.c - strict decimal parsing (see numparse.h). */
#include "numparse.h"
#include "err.h"

#include <stdlib.h>

int pp_parse_ll(const char *s, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return PP_EPARSE;
    *out = v;
    return PP_OK;
}
