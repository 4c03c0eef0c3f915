/* test_ups.c - UPS Track API v1 adapter: OAuth request/response, tracking request, status mapping, UTC times, not found, errors. */
#include "fixture.h"
#include "config.h"
#include "err.h"
#include "timeutil.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* bodies that parse to one result (pickup point not checked) */
static const fixture_case_t cases[] = {
    /* gmtDate/gmtTime authoritative ("81500" = 08:15:00, as the spec's own example style) */
    {"delivered.json",
     200,
     1,
     7,
     "1ZA82D672031716786",
     NULL,
     PP_ST_DELIVERED,
     {{0, "M/MP/003", PP_ST_INFO_RECEIVED, "2026-03-27T15:02:11Z", "", NULL},
      {1, "I/PU/038", PP_ST_IN_TRANSIT, "2026-03-28T08:15:00Z", "Kraków", "Picked up"},
      {3, "I/DP/005", PP_ST_IN_TRANSIT, "2026-03-29T00:30:00Z", "Stryków", NULL},
      {4, "I/AR/005", PP_ST_IN_TRANSIT, "2026-03-29T01:30:00Z", "Warszawa", NULL},
      {5, "I/OT/021", PP_ST_OUT_FOR_DELIVERY, "2026-03-30T04:45:00Z", "Warszawa", NULL},
      {6, "D/FS/011", PP_ST_DELIVERED, "2026-03-30T11:20:00Z", "Warszawa", "DELIVERED"},
      EV_END}},
    /* local date/time - gmtOffset; without any offset: Europe/Warsaw across 2026-10-25 */
    {"access_point.json",
     200,
     1,
     7,
     "1Z023E2X0214323462",
     NULL,
     PP_ST_DELIVERED,
     {{0, "M/MP/003", PP_ST_INFO_RECEIVED, "2026-10-23T08:00:00Z", "", NULL},
      {1, "I/OC/169", PP_ST_IN_TRANSIT, "2026-10-24T06:00:00Z", "Poznań", NULL},
      {2, "I/AR/005", PP_ST_IN_TRANSIT, "2026-10-24T23:30:00Z", "Stryków", NULL},
      {3, "I/DP/005", PP_ST_IN_TRANSIT, "2026-10-25T00:30:00Z", "Stryków", NULL},
      {4, "I/AR/005", PP_ST_IN_TRANSIT, "2026-10-25T02:30:00Z", "Gdańsk", NULL},
      {5, "I/AC/161", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-26T10:00:00Z", "Gdańsk", NULL},
      {6, "D/KB/011", PP_ST_DELIVERED, "2026-10-27T16:30:00Z", "Gdańsk", NULL},
      EV_END}},
    {"exception_returned.json",
     200,
     1,
     9,
     "1Z999AA10123456784",
     NULL,
     PP_ST_UNKNOWN,
     {{3, "X/UR/022", PP_ST_DELIVERY_FAILED, "2026-05-05T12:10:00Z", "Lublin", NULL},
      {4, "X/HX/013", PP_ST_EXCEPTION, "2026-05-06T08:00:00Z", "Lublin", NULL},
      {5, "U/UP/154", PP_ST_UNKNOWN, "2026-05-06T09:00:00Z", "Lublin", NULL},
      {6, "I/RS/035", PP_ST_RETURNING, "2026-05-07T06:00:00Z", "Lublin", NULL},
      {7, "RS/ZZ/", PP_ST_RETURNED, "2026-05-09T10:00:00Z", "Łódź", NULL},
      {8, "QQ/ZZ/999", PP_ST_UNKNOWN, "2026-05-09T11:00:00Z", "", NULL},
      EV_END}},
    /* the package matching the inquiry number, not the first one */
    {"multi_package.json",
     200,
     1,
     1,
     "1Z12345E0205271686",
     NULL,
     PP_ST_IN_TRANSIT,
     {{0, "I/AR/005", PP_ST_IN_TRANSIT, "2026-06-01T07:00:00Z", "Katowice", NULL}, EV_END}},
    {"no_activity.json", 200, 1, 0, "1ZA82D672031716786", NULL, PP_ST_UNKNOWN, {EV_END}},
    {"not_found_tw0001.json", 200, 0, 0, "1Z4W7F1E6800000011", NULL, PP_ST_UNKNOWN, {EV_END}},
    {"not_found_tw0001_bare.json", 200, 0, 0, "", NULL, PP_ST_UNKNOWN, {EV_END}},
    {"not_found_404.json", 404, 0, 0, "", NULL, PP_ST_UNKNOWN, {EV_END}},
};

/* bodies that must fail; a UPS error answer's code and message are passed on */
static const fixture_error_t errors[] = {
    {"error_503.html", 404, PP_EHTTP, NULL},
    {"error_401.json", 401, PP_EHTTP, "250002 Invalid Authentication Information."},
    {"error_403.json", 403, PP_EHTTP, NULL},
    {"error_400_tv1002.json", 400, PP_EHTTP, "TV1002 Invalid inquiry number"},
    {"error_503.html", 503, PP_EHTTP, NULL},
    {"error_401.json", 429, PP_EHTTP, "250002 Invalid Authentication Information."},
    {"error_503.html", 200, PP_EPARSE, NULL},
    {"truncated.json", 200, PP_EPARSE, NULL},
    {"not_object.json", 200, PP_EPARSE, NULL},
    {"no_track_response.json", 200, PP_EPARSE, NULL},
    {"error_401.json", 200, PP_EPARSE, NULL},
    {"wrong_types_activity.json", 200, PP_EPARSE, NULL},
    {"wrong_types_status.json", 200, PP_EPARSE, NULL},
    {"wrong_types_number.json", 200, PP_EPARSE, NULL},
    {"bad_gmt_date.json", 200, PP_EPARSE, NULL},
    {"bad_offset.json", 200, PP_EPARSE, NULL},
    {"no_time.json", 200, PP_EPARSE, NULL},
    {"empty_shipment.json", 200, PP_EPARSE, NULL},
};

/*
 * The mapping spec (research/carriers.md §2.3, status/description codes), written
 * independently of ups.c: statusCode -> normalized status, with type I and an unknown scan
 * code so only the statusCode decides.
 */
static const struct {
    pp_status_t st;
    const char *codes;
} spec[] = {
    {PP_ST_INFO_RECEIVED, "003 065 077 079 080 131 135 157 166"},
    {PP_ST_IN_TRANSIT, "005 010 012 014 016 025 038 039 044 045 047 057 070 071 073 074 075 084 "
                       "087 092 134 137 138 158 159 160 164 165 167 168 169"},
    {PP_ST_OUT_FOR_DELIVERY, "006 021 037 072 078 089 091 146 162"},
    {PP_ST_AVAILABLE_FOR_PICKUP, "017 040 144 161"},
    {PP_ST_DELIVERED, "011 026 143"},
    {PP_ST_DELIVERY_FAILED, "022 023 024 060 064 066 069 145"},
    {PP_ST_EXCEPTION, "007 013 029 030 032 046 048 049 050 051 052 053 058 059 068 076 083 085 "
                      "086 090 123 124 125 126 132 139 141 147 148 149 163"},
    {PP_ST_RETURNING, "033 035 036 118"},
    {PP_ST_RETURNED, "034 067 081"},
};

/* type (statusCode unknown to the table, scan code unknown) -> status */
static const struct {
    const char *type;
    pp_status_t st;
} type_spec[] = {
    {"D", PP_ST_DELIVERED},   {"I", PP_ST_IN_TRANSIT}, {"M", PP_ST_INFO_RECEIVED},
    {"MV", PP_ST_EXCEPTION},  {"X", PP_ST_EXCEPTION},  {"DO", PP_ST_IN_TRANSIT},
    {"DD", PP_ST_IN_TRANSIT}, {"W", PP_ST_IN_TRANSIT}, {"NA", PP_ST_UNKNOWN},
    {"U", PP_ST_UNKNOWN},     {"P", PP_ST_IN_TRANSIT}, {"RS", PP_ST_RETURNED},
    {"Q", PP_ST_UNKNOWN},
};

/* Parse one synthesized activity; returns its status or -1. */
static int map_one(const pp_carrier_t *c, const char *type, const char *code, const char *sc)
{
    char body[512], err[256];
    pp_track_result_t *r = NULL;
    size_t n = 0;
    int len = snprintf(body, sizeof body,
                       "{\"trackResponse\":{\"shipment\":[{\"inquiryNumber\":\"1ZA82D672031716786\","
                       "\"package\":[{\"trackingNumber\":\"1ZA82D672031716786\",\"activity\":[{"
                       "\"date\":\"20260601\",\"time\":\"120000\",\"gmtDate\":\"20260601\","
                       "\"gmtTime\":\"100000\",\"gmtOffset\":\"+02:00\",\"status\":{\"type\":\"%s\","
                       "\"code\":\"%s\",\"statusCode\":\"%s\",\"description\":\"x\"}}]}]}]}}",
                       type, code, sc);
    if (pp_carrier_parse(c, 200, body, (size_t)len, &r, &n, err, sizeof err) != 0 || n != 1 ||
        r[0].n_events != 1) {
        fprintf(stderr, "map_one %s/%s/%s: %s\n", type, code, sc, err);
        pp_track_results_free(r, n);
        return -1;
    }
    int st = (int)r[0].events[0].status;
    pp_track_results_free(r, n);
    return st;
}

static void test_mapping(const pp_carrier_t *c)
{
    int total = 0;
    for (size_t s = 0; s < sizeof spec / sizeof spec[0]; s++) {
        char codes[1024], *save = NULL;
        snprintf(codes, sizeof codes, "%s", spec[s].codes);
        for (char *w = strtok_r(codes, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            int got = map_one(c, "I", "ZZ", w);
            if (got != (int)spec[s].st)
                fprintf(stderr, "statusCode %s: got %s, want %s\n", w,
                        pp_status_name((pp_status_t)got), pp_status_name(spec[s].st));
            CHECK_INT(got, spec[s].st);
            /* the statusCode wins over the activity type */
            CHECK_INT(map_one(c, "X", "ZZ", w), spec[s].st);
            total++;
        }
    }
    CHECK_INT(total, 9 + 31 + 9 + 4 + 3 + 8 + 31 + 4 + 3);
    for (size_t i = 0; i < sizeof type_spec / sizeof type_spec[0]; i++)
        CHECK_INT(map_one(c, type_spec[i].type, "ZZ", "153"), type_spec[i].st);
    /* scan codes (karrio's table) when the statusCode is not decisive */
    CHECK_INT(map_one(c, "I", "OT", ""), PP_ST_OUT_FOR_DELIVERY);
    CHECK_INT(map_one(c, "X", "RP", "999"), PP_ST_AVAILABLE_FOR_PICKUP);
    CHECK_INT(map_one(c, "I", "KB", ""), PP_ST_DELIVERED);
    CHECK_INT(map_one(c, "I", "UR", ""), PP_ST_DELIVERY_FAILED);
    CHECK_INT(map_one(c, "I", "VD", ""), PP_ST_EXCEPTION);
    CHECK_INT(map_one(c, "M", "XD", ""), PP_ST_INFO_RECEIVED);
    /* "21" and "021" are the same code; junk codes fall through to the type */
    CHECK_INT(map_one(c, "I", "ZZ", "21"), PP_ST_OUT_FOR_DELIVERY);
    CHECK_INT(map_one(c, "D", "ZZ", "0x1"), PP_ST_DELIVERED);
}

/* Each prefix through parse_auth as well (ASan); token_numeric.json's must not make a token. */
static int auth_prefix(const pp_carrier_t *c, const char *file, const char *prefix, size_t k, size_t len)
{
    char tok[64], err[256];
    long exp;
    int rc = c->parse_auth(200, prefix, k, tok, sizeof tok, &exp, err, sizeof err);
    return rc == 0 && k < len - 2 && strcmp(file, "token_numeric.json") == 0;
}

static void test_auth(const pp_carrier_t *c)
{
    pp_config_t cfg;
    pp_http_request_t req;
    char e[128], tok[256], err[256];
    long exp = 0;
    size_t len;
    CHECK(c->build_auth_request != NULL && c->parse_auth != NULL);
    CHECK_INT(pp_config_init(&cfg), 0);
    CHECK_INT(c->build_auth_request(&cfg, &req), PP_ECONFIG); /* no client id configured */
    CHECK_INT(pp_config_set(&cfg, "ups_base_url", "http://127.0.0.1:8099//", e, sizeof e), 0);
    CHECK_INT(pp_config_set(&cfg, "ups_client_id", "Aladdin", e, sizeof e), 0);
    CHECK_INT(pp_config_set(&cfg, "ups_client_secret", "open sesame", e, sizeof e), 0);
    CHECK_INT(c->build_auth_request(&cfg, &req), 0);
    CHECK_STR(req.method, "POST");
    CHECK_STR(req.url, "http://127.0.0.1:8099/security/v1/oauth/token");
    CHECK_INT(req.n_headers, 3);
    CHECK_STR(req.headers[0], "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); /* RFC 7617 */
    CHECK_STR(req.headers[1], "Content-Type: application/x-www-form-urlencoded");
    CHECK_STR(req.body, "grant_type=client_credentials");
    CHECK_INT(req.body_len, strlen("grant_type=client_credentials"));
    pp_http_request_free(&req);
    CHECK_INT(pp_config_set(&cfg, "ups_client_id", "ab", e, sizeof e), 0);
    CHECK_INT(pp_config_set(&cfg, "ups_client_secret", "c", e, sizeof e), 0);
    CHECK_INT(pp_config_set(&cfg, "ups_merchant_id", "A1B2C3", e, sizeof e), 0);
    CHECK_INT(c->build_auth_request(&cfg, &req), 0);
    CHECK_STR(req.headers[0], "Authorization: Basic YWI6Yw=="); /* "ab:c", one '=' of padding */
    CHECK_INT(req.n_headers, 4);
    CHECK_STR(req.headers[3], "x-merchant-id: A1B2C3");
    pp_http_request_free(&req);
    pp_config_free(&cfg);

    char *body = fixture_slurp("token.json", &len);
    CHECK_INT(c->parse_auth(200, body, len, tok, sizeof tok, &exp, err, sizeof err), 0);
    CHECK_STR(tok, "eyJraWQiOiJ0ZXN0IiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJwYXJjZWxwdXNoIn0.c2lnbmF0dXJl");
    CHECK_INT(exp, 14399); /* a string in UPS's answer */
    CHECK_INT(c->parse_auth(200, body, len, tok, 16, &exp, err, sizeof err), PP_EPARSE); /* too long */
    CHECK_STR(tok, "");
    free(body);
    body = fixture_slurp("token_numeric.json", &len);
    CHECK_INT(c->parse_auth(200, body, len, tok, sizeof tok, &exp, err, sizeof err), 0);
    CHECK_STR(tok, "abc.def.ghi");
    CHECK_INT(exp, 3600); /* a number, as RFC 6749 has it */
    free(body);
    body = fixture_slurp("token_error_401.json", &len);
    CHECK_INT(c->parse_auth(401, body, len, tok, sizeof tok, &exp, err, sizeof err), PP_EHTTP);
    CHECK(strstr(err, "10401 ClientId is Invalid") != NULL);
    fprintf(stderr, "   token reason: %s\n", err);
    free(body);
    static const char *const bad[] = {"token_no_access_token.json",
                                      "token_bad_expiry.json",
                                      "token_negative_expiry.json",
                                      "truncated.json",
                                      "not_object.json",
                                      "error_503.html"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        body = fixture_slurp(bad[i], &len);
        err[0] = '\0';
        CHECK_INT(c->parse_auth(200, body, len, tok, sizeof tok, &exp, err, sizeof err), PP_EPARSE);
        CHECK(err[0] != '\0');
        free(body);
    }
    CHECK_INT(c->parse_auth(500, NULL, 0, tok, sizeof tok, &exp, err, sizeof err), PP_EHTTP);
    /* The reader the poller and the bot use refuses a token that would break the header line
     * (tests/fuzz/regressions/ups-token). */
    static const char *const unsafe[] = {"{\"access_token\":\"abc\\r\\nX-Injected: 1\",\"expires_in\":60}",
                                         "{\"access_token\":\"ab c\",\"expires_in\":60}",
                                         "{\"access_token\":\"ab\\u00e9\",\"expires_in\":60}",
                                         "{\"access_token\":\"ab\\u0001c\",\"expires_in\":60}",
                                         "{\"access_token\":\"abc\xff\",\"expires_in\":60}"};
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        char *t = (char *)"unset";
        long ttl = 0;
        CHECK_INT(pp_carrier_read_token(c, 200, unsafe[i], strlen(unsafe[i]), &t, &ttl, err, sizeof err),
                  PP_EPARSE);
        CHECK(t == NULL);
    }
    char *t = NULL;
    long ttl = 0;
    static const char safe[] = "{\"access_token\":\"a.b-c_d~e+f/g=\",\"expires_in\":60}";
    CHECK_INT(pp_carrier_read_token(c, 200, safe, sizeof safe - 1, &t, &ttl, err, sizeof err), 0);
    CHECK_STR(t, "a.b-c_d~e+f/g=");
    CHECK_INT(ttl, 60);
    free(t);
}

static void test_request_and_validate(const pp_carrier_t *c)
{
    pp_config_t cfg;
    pp_http_request_t req, req2;
    char e[128];
    CHECK_INT(pp_config_init(&cfg), 0);
    const char *num[] = {"1ZA82D672031716786"};
    CHECK_INT(c->build_request(&cfg, NULL, num, 1, &req), PP_EINVAL); /* UPS needs a token */
    CHECK_INT(c->build_request(&cfg, "tok", num, 1, &req), 0);
    CHECK_STR(req.url, "https://onlinetools.ups.com/api/track/v1/details/1ZA82D672031716786"
                       "?locale=en_US&returnSignature=false");
    pp_http_request_free(&req);
    CHECK_INT(pp_config_set(&cfg, "ups_base_url", "http://127.0.0.1:8099", e, sizeof e), 0);
    CHECK_INT(c->build_request(&cfg, "t0k.en", num, 1, &req), 0);
    CHECK_INT(c->build_request(&cfg, "t0k.en", num, 1, &req2), 0);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.url, "http://127.0.0.1:8099/api/track/v1/details/1ZA82D672031716786"
                       "?locale=en_US&returnSignature=false");
    CHECK_INT(req.n_headers, 4);
    CHECK_STR(req.headers[0], "Accept: application/json");
    CHECK_STR(req.headers[1], "Authorization: Bearer t0k.en");
    CHECK(strncmp(req.headers[2], "transId: ", 9) == 0 && strlen(req.headers[2]) == 9 + 36);
    CHECK(req.headers[2][9 + 8] == '-' && req.headers[2][9 + 14] == '4'); /* random UUID v4 */
    CHECK(strcmp(req.headers[2], req2.headers[2]) != 0);                  /* unique per request */
    CHECK_STR(req.headers[3], "transactionSrc: parcelpush");
    pp_http_request_free(&req);
    pp_http_request_free(&req2);
    const char *odd[] = {"1Z A/?"};
    CHECK_INT(c->build_request(&cfg, "t", odd, 1, &req), 0);
    CHECK_STR(req.url, "http://127.0.0.1:8099/api/track/v1/details/1Z%20A%2F%3F"
                       "?locale=en_US&returnSignature=false");
    pp_http_request_free(&req);
    const char *two[] = {"1ZA82D672031716786", "1Z023E2X0214323462"};
    CHECK_INT(c->build_request(&cfg, "t", two, 2, &req), PP_EINVAL);
    pp_config_free(&cfg);
    CHECK_INT(c->max_batch, 1);

    CHECK(pp_number_valid(c->name, "1ZA82D672031716786"));
    CHECK(pp_number_valid(c->name, "1Z023E2X0214323462"));
    CHECK(!pp_number_valid(c->name, "1ZA82D672031716787")); /* check digit */
    CHECK(!pp_number_valid(c->name, "1ZA82D67203171678"));
    CHECK(!pp_number_valid(c->name, "24333892874"));
    CHECK(!pp_number_valid(c->name, ""));
    CHECK(!pp_number_valid(c->name, NULL));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-ups FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    const pp_carrier_t *c = pp_carrier_find("ups");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    CHECK(pp_carrier_find("UPS") == c);
    fixture_run_cases(c, cases, sizeof cases / sizeof cases[0]);
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    test_mapping(c);
    fixture_check_truncations(c, "delivered.json", auth_prefix);
    fixture_check_truncations(c, "token_numeric.json", auth_prefix);
    test_auth(c);
    test_request_and_validate(c);
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "delivered.json", 200, "Out For Delivery Today", 0);
    fixture_check_hostile(c, "delivered.json", 200, "Warszawa", 0);
    fixture_check_hostile_number(c, "delivered.json", 200, "1ZA82D672031716786", 0);
    return CHECK_DONE();
}
