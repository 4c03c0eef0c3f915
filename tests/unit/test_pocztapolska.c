/* test_pocztapolska.c - Poczta Polska adapter: fixture bodies (single, batch, not found, finished delivery/return, faults, DST), the WS-Security envelope. */
#define FIXTURE_ERRLEN 512
#include "fixture.h"
#include "config.h"
#include "err.h"
#include "timeutil.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>

/* a body that parses to n results */
typedef struct {
    const char *file;
    int http;
    int n;
    fixture_result_t r[3];
    fixture_ev_t ev[8]; /* .res picks the result; ends at EV_END */
} case_t;

static const case_t cases[] = {
    {"single_in_transit.xml",
     200,
     1,
     {{"00159007730000123451", 1, 3, PP_ST_IN_TRANSIT, ""}},
     {{0, "P_NAD", PP_ST_IN_TRANSIT, "2026-06-02T12:05:00Z", "UP Kraków 1", "Nadanie", 0},
      {1, "P_WYPL", PP_ST_IN_TRANSIT, "2026-06-02T16:40:00Z", "UP Kraków 1", NULL, 0},
      {2, "P_WEOC", PP_ST_IN_TRANSIT, "2026-06-03T00:12:00Z", "WER Kraków", "Przyjęcie w sortowni", 0},
      EV_END}},
    {"not_found.xml", 200, 1, {{"00159007730000543211", 0, 0, 0, ""}}, {EV_END}},
    {"finished_delivery.xml",
     200,
     1,
     {{"RR410342249PL", 1, 4, PP_ST_DELIVERED, "UP Warszawa 12"}},
     {{1, "P_WD", PP_ST_OUT_FOR_DELIVERY, "2026-07-02T05:30:00Z", "UP Warszawa 12", NULL, 0},
      {2, "P_A", PP_ST_AVAILABLE_FOR_PICKUP, "2026-07-02T10:45:00Z", "UP Warszawa 12",
       "Awizo - przesyłka do odbioru w placówce (Adresat nieobecny)", 0},
      {3, "P_OWU", PP_ST_DELIVERED, "2026-07-03T14:20:00Z", "UP Warszawa 12", "Odebrano w placówce", 0},
      EV_END}},
    /* a finished return: the final "Doręczenie" is the parcel back at the sender */
    {"finished_return.xml",
     200,
     1,
     {{"00159007730000999995", 1, 5, PP_ST_RETURNED, "UP Lublin 3"}},
     {{1, "P_A", PP_ST_AVAILABLE_FOR_PICKUP, "2026-08-04T09:30:00Z", "UP Lublin 3", NULL, 0},
      {2, "P_NDZ", PP_ST_RETURNING, "2026-08-18T13:00:00Z", "UP Lublin 3", NULL, 0},
      {3, "P_WD", PP_ST_RETURNING, "2026-08-20T06:10:00Z", "UP Łódź 1", NULL, 0},
      {4, "P_D", PP_ST_RETURNED, "2026-08-20T11:05:00Z", "UP Łódź 1", "Doręczenie", 0},
      EV_END}},
    {"batch.xml",
     200,
     3,
     {{"00159007730000123451", 1, 2, PP_ST_OUT_FOR_DELIVERY, ""},
      {"00159007730000543211", 0, 0, 0, ""},
      {"CP123456785PL", 1, 0, 0, ""}},
     {{1, "P_WD", PP_ST_OUT_FOR_DELIVERY, "2026-06-04T05:55:00Z", "UP Gdańsk 50", NULL, 0}, EV_END}},
    /* 2026-03-29 01:59 CET / 03:01 CEST; 2026-10-25 02:30 = first (CEST) occurrence */
    {"dst_days.xml",
     200,
     2,
     {{"00159007730000123451", 1, 2, PP_ST_IN_TRANSIT, ""}, {"RR410342249PL", 1, 3, PP_ST_UNKNOWN, ""}},
     {{0, "P_WEOC", PP_ST_IN_TRANSIT, "2026-03-29T00:59:00Z", "WER Kraków", NULL, 0},
      {1, "P_WYOC", PP_ST_IN_TRANSIT, "2026-03-29T01:01:00Z", "WER Kraków", NULL, 0},
      {0, "P_WEOC", PP_ST_IN_TRANSIT, "2026-10-24T23:59:30Z", "WER Gdańsk", NULL, 1},
      /* unknown code, mapped by its name */
      {1, "P_XYZ", PP_ST_OUT_FOR_DELIVERY, "2026-10-25T00:30:00Z", "WER Gdańsk", NULL, 1},
      {2, "P_QQQ", PP_ST_UNKNOWN, "2026-10-25T02:00:00Z", "UP Gdańsk 50", NULL, 1},
      EV_END}},
};

/* bodies that must fail, with a substring of the reason that names the problem */
static const fixture_error_t errors[] = {
    {"fault_auth.xml", 500, PP_EHTTP, "wsse:FailedAuthentication: The security token could not be"},
    {"fault_auth.xml", 401, PP_EHTTP, "HTTP 401: SOAP fault"},
    {"batch_no_access.xml", 200, PP_EHTTP, "batch status -2"},
    {"unknown_error.xml", 200, PP_EHTTP, "-99"},
    {"html_502.html", 502, PP_EHTTP, "HTTP 502"},
    {"html_502.html", 200, PP_EPARSE, "not a SOAP Envelope"},
    {"truncated.xml", 200, PP_EPARSE, "not well-formed"},
    {"wrong_types_czas.xml", 200, PP_EPARSE, "czas"},
    {"wrong_types_status.xml", 200, PP_EPARSE, "status"},
};

static void run_case(const pp_carrier_t *c, const case_t *t)
{
    pp_track_result_t *r;
    size_t n;
    if (!fixture_parse_ok(c, t->file, t->http, &r, &n))
        return;
    CHECK_INT(n, t->n);
    if (n == (size_t)t->n) {
        for (int i = 0; i < t->n; i++)
            fixture_check_result(&r[i], &t->r[i]);
        fixture_check_events(r, n, t->ev);
    }
    pp_track_results_free(r, n);
}

static char *xpath_str(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(x, BAD_CAST "s", BAD_CAST "http://schemas.xmlsoap.org/soap/envelope/");
    xmlXPathRegisterNs(x, BAD_CAST "p", BAD_CAST "http://sledzenie.pocztapolska.pl");
    xmlXPathRegisterNs(x, BAD_CAST "w",
                       BAD_CAST
                       "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd");
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
    char *out = o ? (char *)xmlXPathCastToString(o) : NULL;
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return out;
}

static void check_envelope(const pp_http_request_t *req, const char *const *want, size_t n)
{
    const char *op = n == 1 ? "sprawdzPrzesylke" : "sprawdzPrzesylki";
    char xp[256], action[64];
    xmlDocPtr doc = xmlReadMemory(req->body, (int)req->body_len, "req.xml", NULL, XML_PARSE_NONET);
    CHECK(doc != NULL);
    if (!doc)
        return;
    char *v = xpath_str(doc, "string(/s:Envelope/s:Header/w:Security/w:UsernameToken/w:Username)");
    CHECK_STR(v, "user<&>");
    xmlFree(v);
    v = xpath_str(doc, "string(//w:UsernameToken/w:Password)");
    CHECK_STR(v, "pa\"ss");
    xmlFree(v);
    v = xpath_str(doc, "string(//w:UsernameToken/w:Password/@Type)");
    CHECK(v && strstr(v, "#PasswordText"));
    xmlFree(v);
    snprintf(xp, sizeof xp, "string(count(/s:Envelope/s:Body/p:%s/p:numer))", op);
    v = xpath_str(doc, xp);
    char cnt[8];
    snprintf(cnt, sizeof cnt, "%zu", n);
    CHECK_STR(v, cnt);
    xmlFree(v);
    for (size_t i = 0; i < n; i++) {
        snprintf(xp, sizeof xp, "string(/s:Envelope/s:Body/p:%s/p:numer[%zu])", op, i + 1);
        v = xpath_str(doc, xp);
        CHECK_STR(v, want[i]);
        xmlFree(v);
    }
    xmlFreeDoc(doc);
    snprintf(action, sizeof action, "SOAPAction: \"urn:%s\"", op);
    int found = 0;
    for (int i = 0; i < req->n_headers; i++)
        found += strcmp(req->headers[i], action) == 0;
    CHECK_INT(found, 1);
}

static void test_request(const pp_carrier_t *c)
{
    pp_config_t cfg;
    pp_http_request_t req;
    CHECK_INT(pp_config_init(&cfg), 0);
    /* the published public account is the default */
    CHECK_STR(pp_carrier_cfg_str(&cfg, "pocztapolska", PP_CARRIER_KEY_OWN + 1), "sledzeniepp"); /* username */
    CHECK_STR(pp_carrier_cfg_str(&cfg, "pocztapolska", PP_CARRIER_KEY_OWN + 2), "PPSA"); /* password */
    CHECK_STR(pp_carrier_cfg_str(&cfg, "pocztapolska", PP_CARRIER_KEY_OWN),
              "https://tt.poczta-polska.pl");
    CHECK_INT(pp_config_set(&cfg, "pocztapolska_base_url", "http://127.0.0.1:1", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "pocztapolska_username", "user<&>", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "pocztapolska_password", "pa\"ss", NULL, 0), 0);
    const char *nums[21] = {"00159007730000123451", "RR410342249PL", "CP123456785PL"};
    for (int i = 3; i < 21; i++)
        nums[i] = "RR410342249PL";
    CHECK_INT(c->build_request(&cfg, NULL, nums, 1, &req), 0);
    CHECK_STR(req.url, "http://127.0.0.1:1/Sledzenie/services/Sledzenie");
    check_envelope(&req, nums, 1);
    pp_http_request_free(&req);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 3, &req), 0);
    check_envelope(&req, nums, 3);
    pp_http_request_free(&req);
    CHECK_INT(c->max_batch, 20);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 21, &req), PP_EINVAL);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 0, &req), PP_EINVAL);
    pp_config_free(&cfg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-pocztapolska FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    const pp_carrier_t *c = pp_carrier_find("pocztapolska");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(c, &cases[i]);
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    test_request(c);
    CHECK(pp_number_valid(c->name, "00159007730000123451"));
    CHECK(!pp_number_valid(c->name, "00159007730000123452")); /* GS1 check digit */
    CHECK(pp_number_valid(c->name, "RR410342249PL"));
    CHECK(!pp_number_valid(c->name, "RR410342248PL")); /* S10 check digit */
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "single_in_transit.xml", 200, "WER Kraków", 1);
    fixture_check_hostile(c, "single_in_transit.xml", 200, "Przyjęcie w sortowni", 1);
    fixture_check_hostile_number(c, "single_in_transit.xml", 200, "00159007730000123451", 1);
    return CHECK_DONE();
}
