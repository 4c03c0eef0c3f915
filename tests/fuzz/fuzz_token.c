/*
 * fuzz_token.c - an OAuth token endpoint's answer (parse_auth of -DFUZZ_CARRIER="ups"/"gls"),
 * through pp_carrier_read_token as the poller and the bot read it. Input: one byte choosing
 * the HTTP status, then the body. The token goes into an HTTP header: it must be printable
 * ASCII without spaces; its lifetime positive.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_CARRIER
#error FUZZ_CARRIER must name the carrier
#endif

static const int statuses[] = {200, 401, 400, 403, 429, 500, 503, 201};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pp_carrier_t *c;
    if (!c && (!(c = pp_carrier_find(FUZZ_CARRIER)) || !c->parse_auth))
        abort();
    if (size < 1)
        return 0;
    int status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
    char *body = fuzz_strdup(data + 1, size - 1);
    char *token = NULL, err[256];
    long ttl = 0;
    int rc = pp_carrier_read_token(c, status, body, size - 1, &token, &ttl, err, sizeof err);
    if (rc == 0) {
        if (!token || !token[0] || ttl <= 0)
            fuzz_fail("token accepted but empty or with lifetime %ld", ttl);
        fuzz_check_string("token", token, 8192);
        if (fuzz_property_on())
            for (const char *p = token; *p; p++)
                if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
                    fuzz_fail("token byte 0x%02x is not a header-safe character", (unsigned char)*p);
    } else if (token) {
        fuzz_fail("token read failed (%d) but returned a token", rc);
    }
    free(token);
    free(body);
    return 0;
}
