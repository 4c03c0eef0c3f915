/*
 * carrier_throwaway.c - a made-up carrier, "testpost", compiled into test-carrier-row only: one
 * adapter file whose descriptor is the whole of what a new carrier needs (its row joins the
 * registry through pp_carrier_extra, the test build's stand-in for a line in registry.c).
 * tests/unit/test_carrier_row.c checks that every reader of the registry sees it.
 */
#include "carriers/carrier.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>

static const pp_number_format_t formats[] = {
    {"testpost", "testpost_12", "^TP[0-9]{9}X$", "none", NULL, 90, "inferred"},
};

enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_API_KEY };
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] = {"rps", PP_CFG_INT, "3", 0, 1000, true, false,
                            "fleet-wide TestPost requests/s (0 = unlimited)"},
    [PP_CARRIER_KEY_PER_DAY] = {"per_day", PP_CFG_INT, "1000", 0, 100000, true, false,
                                "fleet-wide TestPost requests per UTC day (0 = unlimited)"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://api.testpost.invalid", 0, 0, true, false,
                    "TestPost API base URL"},
    [K_API_KEY] = {"api_key", PP_CFG_STR, "", 0, 0, true, true, "TestPost API key (secret)"},
};

static int testpost_build_request(const pp_config_t *cfg, const char *token,
                                  const char *const *numbers, size_t n, pp_http_request_t *req)
{
    const char *base = pp_carrier_cfg_str(cfg, "testpost", K_BASE_URL);
    *req = (pp_http_request_t){.method = "GET"};
    if (n != 1 ||
        asprintf(&req->url, "%.*s/track/%s", (int)pp_carrier_base_len(base), base, numbers[0]) < 0)
        return PP_EINVAL;
    return PP_OK;
}

static int testpost_parse(int http_status, const char *body, size_t len,
                          pp_track_result_t **results, size_t *n_results, char *err, size_t errlen)
{
    *results = NULL;
    *n_results = 0;
    pp_carrier_err(err, errlen, "testpost: no parser (HTTP %d, %zu bytes)", http_status, len);
    return PP_EPARSE;
}

const pp_carrier_t pp_carrier_testpost = {
    .name = "testpost",
    .display = "Test Post",
    .aliases = (const char *const[]){"testowa", "poczta testowa", NULL},
    .help_names = "TestPost / Testowa",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"TP#########X", NULL},
    .locker = {"czeka w automacie TestPost", "is waiting in the TestPost locker"},
    .auth = PP_CARRIER_AUTH_KEY,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = 1,
    .build_request = testpost_build_request,
    .parse_raw = testpost_parse,
};

/* The row: what a line in registry.c's rows[] does for a carrier of the product. */
const pp_carrier_t *const pp_carrier_extra[] = {&pp_carrier_testpost, NULL};
