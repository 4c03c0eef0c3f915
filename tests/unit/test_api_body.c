/* test_api_body.c - pp-api's strict JSON bodies (api/body.c: pp_api_json_strict, pp_api_json_media_type). */
#include "api.h"
#include "check.h"
#include "err.h"

#include <stdarg.h>

/* body.c's answering half (pp_api_body_json) is not tested here: stubs for what it calls. */
h2o_iovec_t pp_api_header(const pp_api_req_t *r, const char *name)
{
    return h2o_iovec_init(NULL, 0);
}
void pp_api_reply_json(pp_api_req_t *r, int status, const cJSON *body) {}
void pp_api_reply_error(pp_api_req_t *r, int status, const char *code, const char *fmt, ...) {}

typedef struct body_case {
    const char *body;
    size_t len;        /* 0: strlen(body) */
    const char *code;  /* NULL: accepted */
    const char *field; /* refused: the field named ("" none; NULL: not checked) */
} body_case_t;

static const body_case_t cases[] = {
    /* accepted: RFC 8259 whitespace and numbers */
    {"{\"a\":1}", 0, NULL, NULL},
    {" \t\r\n{ \"a\" :\t-0.5e-07 ,\r\n\"b\": [0, 10, 1E+2, -3], \"c\": true, \"d\": false, \"e\": null}\n",
     0, NULL, NULL},
    {"{\"a\":0}", 0, NULL, NULL},
    {"{\"a\":-0}", 0, NULL, NULL},
    {"{\"a\":{\"b\":[{}]}}", 0, NULL, NULL},
    {"{\"note\":\"0.5e-07 \\u00e9 \\ud83d\\ude00 +1 .5\"}", 0, NULL, NULL},
    /* control bytes between tokens (cJSON skips any byte <= 0x20) */
    {"{\x01\"a\":1}", 0, "invalid_json", ""},
    {"{\"a\":\x0c"
     "1}",
     0, "invalid_json", "a"},
    {"{\"a\":1\x0b}", 0, "invalid_json", "a"},
    {"\x0c{\"a\":1}", 0, "invalid_json", ""},
    {"{\"a\":1}\x01", 0, "invalid_json", ""},
    {"{\"a\":1,\x1f\"b\":2}", 0, "invalid_json", "a"},
    {"{\"a\":1\x00}", 8, "invalid_json", "a"},
    /* loose numbers (NULL field: cJSON refuses these itself) */
    {"{\"a\":+1}", 0, "invalid_json", NULL},
    {"{\"a\":01}", 0, "invalid_json", "a"},
    {"{\"a\":-01}", 0, "invalid_json", "a"},
    {"{\"a\":0100}", 0, "invalid_json", "a"},
    {"{\"a\":.5}", 0, "invalid_json", NULL},
    {"{\"a\":5.}", 0, "invalid_json", "a"},
    {"{\"a\":5.e3}", 0, "invalid_json", "a"},
    {"{\"a\":1e}", 0, "invalid_json", NULL},
    {"{\"a\":0x1f}", 0, "invalid_json", NULL},
    {"{\"a\":NaN}", 0, "invalid_json", NULL},
    {"{\"a\":Infinity}", 0, "invalid_json", NULL},
    {"{\"a\":-Infinity}", 0, "invalid_json", NULL},
    {"{\"a\":[1,+2]}", 0, "invalid_json", NULL},
    {"{\"a\":1,\"b\":-.5}", 0, "invalid_json", "b"},
    /* what was refused before */
    {"{\"a\":1} x", 0, "invalid_json", ""},
    {"{\"a\":1,\"a\":2}", 0, "invalid_json", "a"},
    {"{\"a\":\"p\\u0001\"}", 0, "invalid_text", "a"},
    /* lone surrogates: JSON's grammar allows them, they are not text (cJSON refuses some) */
    {"{\"a\":\"x\\ud800\"}", 0, "invalid_text", "a"},
    {"{\"a\":\"\\ud800y\"}", 0, "invalid_text", "a"},
    {"{\"a\":\"\\udc00\"}", 0, "invalid_text", "a"},
    {"{\"a\":1,\"b\":\"\\ud83d\\u0041\"}", 0, "invalid_text", "b"},
    {"{\"a\\ud800\":1}", 0, "invalid_text", ""},
    /* an escape JSON does not have (cJSON refuses it): no key taken from it (fuzz find) */
    {"{\"t\\\x9b"
     "d\":\"\x01\"}",
     0, "invalid_json", ""},
    {"{\"a\":1,\"b\":\"\\x\"}", 0, "invalid_json", NULL},
    {"{\"a\":\"\\u12g4\"}", 0, "invalid_json", NULL},
    {"[1]", 0, "invalid_json", ""},
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const body_case_t *c = &cases[i];
        cJSON *j = NULL;
        pp_api_json_err_t e;
        int rc = pp_api_json_strict(c->body, c->len ? c->len : strlen(c->body), &j, &e);
        int failed_before = check_failures;
        if (!c->code) {
            if (rc != PP_OK)
                fprintf(stderr, "case %zu: refused: %s %s\n", i, e.code, e.message);
            CHECK_INT(rc, PP_OK);
            CHECK(j != NULL);
        } else {
            if (rc == PP_OK)
                fprintf(stderr, "case %zu: accepted\n", i);
            CHECK_INT(rc, PP_EINVAL);
            CHECK(j == NULL);
            CHECK_STR(rc == PP_OK ? "(accepted)" : e.code, c->code);
            if (c->field) /* NULL: cJSON itself refuses it, no field known */
                CHECK_STR(rc == PP_OK ? "(accepted)" : e.field, c->field);
            CHECK(rc == PP_OK || e.message[0] != '\0');
        }
        if (check_failures > failed_before)
            fprintf(stderr, "  (case %zu: %s)\n", i, c->body);
        cJSON_Delete(j);
    }
    CHECK(pp_api_json_media_type("application/json; charset=utf-8", 31));
    CHECK(!pp_api_json_media_type("application/jsonx", 17));
    return CHECK_DONE();
}
