/*
 * fuzz_carrier.c - one carrier adapter's response parser (built once per carrier with
 * -DFUZZ_CARRIER="dhl"), through pp_carrier_parse. Input: one byte
 * choosing the HTTP status, then the body.
 * Beyond "no crash": the results' strings, statuses, times and order (check.c).
 */
#include "fuzz.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_CARRIER
#error FUZZ_CARRIER must name the carrier
#endif

/* The statuses carriers answer with; the first byte of an input picks one. */
static const int statuses[] = {200, 404, 401, 400, 429, 500, 502, 503, 403, 206, 204, 301};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pp_carrier_t *c;
    if (!c) {
        c = pp_carrier_find(FUZZ_CARRIER);
        if (!c)
            abort();
        xmlInitParser();
    }
    if (size < 1)
        return 0;
    int status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
    /* The body as libcurl hands it over: NUL-terminated, length given. */
    char *body = fuzz_strdup(data + 1, size - 1);
    pp_track_result_t *r = NULL;
    size_t n = 0;
    char err[256];
    /* what the poller, the bot and ppctl call: the adapter's parse_raw, then the cleaning */
    int rc = pp_carrier_parse(c, status, body, size - 1, &r, &n, err, sizeof err);
    if (rc == 0) {
        fuzz_check_results(r, n);
    } else {
        if (r || n)
            fuzz_fail("parse failed (%d) but left %zu results", rc, n);
        if (strnlen(err, sizeof err) == sizeof err)
            fuzz_fail("error text not terminated");
    }
    pp_track_results_free(r, n);
    free(body);
    return 0;
}
