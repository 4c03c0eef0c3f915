/* test_dpd.c - DPD Polska adapter: fixture bodies (mapping, sorting, Warsaw times, faults), the request envelope, every §5.3 code. */
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

/* bodies that parse to one result (pickup point not checked) */
static const fixture_case_t cases[] = {
    /* wire order shuffled (newest first, then not); 2026-03-29 spring-forward in the middle */
    {"courier_delivered.xml",
     200,
     1,
     9,
     "1000123456780U",
     NULL,
     PP_ST_DELIVERED,
     {{0, "030103", PP_ST_INFO_RECEIVED, "2026-03-27T15:00:00Z", "Warszawa",
       "Zarejestrowano dane przesyłki, przesyłka jeszcze nienadana"},
      {1, "040101", PP_ST_IN_TRANSIT, "2026-03-28T10:15:30Z", "Warszawa", NULL},
      {2, "050101", PP_ST_IN_TRANSIT, "2026-03-29T00:50:00Z", "Sortownia Stryków", NULL}, /* 01:50 CET */
      {3, "050102", PP_ST_IN_TRANSIT, "2026-03-29T01:10:00Z", "Sortownia Stryków", NULL}, /* 03:10 CEST */
      {4, "120101", PP_ST_IN_TRANSIT, "2026-03-29T03:30:00Z", "Kraków", NULL},
      {5, "170102", PP_ST_OUT_FOR_DELIVERY, "2026-03-29T06:05:00Z", "Kraków", NULL},
      {6, "200201", PP_ST_DELIVERY_FAILED, "2026-03-29T13:10:00Z", "Kraków",
       "Nieudana próba doręczenia - odbiorca nieobecny"},
      {7, "170102", PP_ST_OUT_FOR_DELIVERY, "2026-03-30T05:40:00Z", "Kraków", NULL},
      {8, "190101", PP_ST_DELIVERED, "2026-03-30T11:02:45Z", "Kraków", "Przesyłka doręczona"},
      EV_END}},
    /* 2026-10-25: 02:30 is the repeated hour, taken as the first (CEST) one */
    {"pickup_point_dst_autumn.xml",
     200,
     1,
     4,
     "1000987654321U",
     NULL,
     PP_ST_DELIVERED,
     {{0, "120100", PP_ST_IN_TRANSIT, "2026-10-24T23:45:00Z", "Kraków", NULL},
      {1, "511901", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-25T00:30:00Z",
       "DPD Pickup Żabka Kraków Długa 5", NULL},
      {2, "511701", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-25T02:15:00Z", "1318", NULL},
      {3, "701901", PP_ST_DELIVERED, "2026-10-26T09:00:00Z", "DPD Pickup Żabka Kraków Długa 5", NULL},
      EV_END}},
    {"returned.xml",
     200,
     1,
     3,
     "1000555555555U",
     NULL,
     PP_ST_RETURNED,
     {{0, "170101", PP_ST_OUT_FOR_DELIVERY, "2026-05-08T05:00:00Z", "Kraków", NULL},
      {1, "200401", PP_ST_DELIVERY_FAILED, "2026-05-08T10:00:00Z", "Kraków", NULL},
      {2, "230403", PP_ST_RETURNED, "2026-05-12T07:00:00Z", "Warszawa", "Zwrot przesyłki do nadawcy"},
      EV_END}},
    {"unknown_code.xml",
     200,
     1,
     1,
     "1000666666666U",
     NULL,
     PP_ST_UNKNOWN,
     {{0, "999001", PP_ST_UNKNOWN, "2026-06-01T10:00:00Z", "1302", "999001"}, EV_END}},
    {"not_found.xml", 200, 0, 0, "", NULL, 0, {EV_END}},
    {"not_found_null_return.xml", 200, 0, 0, "", NULL, 0, {EV_END}},
};

/* bodies that must fail, with a substring of the reason that names the problem */
static const fixture_error_t errors[] = {
    {"fault_login.xml", 500, PP_EHTTP, "SOAP fault: S:Server: Login failed"},
    {"fault_login.xml", 200, PP_EHTTP, "Login failed"},
    {"html_502.html", 502, PP_EHTTP, "HTTP 502"},
    {"html_502.html", 200, PP_EPARSE, "not a SOAP Envelope"},
    {"courier_delivered.xml", 429, PP_EHTTP, "HTTP 429"},
    {"truncated.xml", 200, PP_EPARSE, "not well-formed"},
    {"wrong_types_code.xml", 200, PP_EPARSE, "businessCode"},
    {"wrong_types_time.xml", 200, PP_EPARSE, "eventTime"},
    {"xxe.xml", 200, PP_EPARSE, "DTD"},
    {"wrong_operation.xml", 200, PP_EPARSE, "getEventsForWaybillV1Response"},
};

/* research/carriers.md §5.3 and the brief, written independently of dpd.c's table. */
static const struct {
    pp_status_t st;
    const char *codes;
} spec[] = {
    {PP_ST_INFO_RECEIVED, "030103 040501 040505"},
    {PP_ST_IN_TRANSIT, "040101 040102 050101 050102 110302 150301 120100 120104 160101 160103 "
                       "160501 160503 220101 330135 330137 370101 502300 600106 700401 230402 "
                       "230405"},
    {PP_ST_OUT_FOR_DELIVERY, "170101 170102"},
    {PP_ST_AVAILABLE_FOR_PICKUP, "511901 600103 703201 511701 511704"},
    {PP_ST_DELIVERED, "190101 190103 190105 190201 190205 501300 501304 501340 701901"},
    {PP_ST_DELIVERY_FAILED, "200201 200206 200300 200310 210109 500011 500411 500811 200400 200416 "
                            "200700 200716 200500 200505 200801"},
    {PP_ST_EXCEPTION, "040601 040605 230101 320201 230310 230506 370201 370206"},
    {PP_ST_RETURNED, "230403 500610 500650 500685"},
    {PP_ST_UNKNOWN, "000000 190106 500686 999999"},
};

static void test_spec(const pp_carrier_t *c)
{
    char *body = NULL;
    size_t blen = 0, n_codes = 0;
    FILE *f = open_memstream(&body, &blen);
    fputs("<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>"
          "<ns2:getEventsForWaybillV1Response xmlns:ns2=\"http://events.dpdinfoservices.dpd.com.pl/\"><return>",
          f);
    for (size_t s = 0; s < sizeof spec / sizeof spec[0]; s++) {
        char list[512], *save = NULL;
        snprintf(list, sizeof list, "%s", spec[s].codes);
        for (char *code = strtok_r(list, " ", &save); code; code = strtok_r(NULL, " ", &save)) {
            /* one minute apart, in spec order, so the sorted result keeps the spec order */
            fprintf(f,
                    "<eventsList><businessCode>%s</businessCode><eventTime>2026-01-01 %02zu:%02zu:00"
                    "</eventTime><waybill>1000000000001U</waybill></eventsList>",
                    code, n_codes / 60, n_codes % 60);
            n_codes++;
        }
    }
    fputs("</return></ns2:getEventsForWaybillV1Response></S:Body></S:Envelope>", f);
    fclose(f);
    pp_track_result_t *r = NULL;
    size_t n = 0, k = 0;
    char err[256] = "";
    CHECK_INT(pp_carrier_parse(c, 200, body, blen, &r, &n, err, sizeof err), 0);
    free(body);
    if (n != 1 || r->n_events != n_codes) {
        CHECK(!"spec body not parsed whole");
        pp_track_results_free(r, n);
        return;
    }
    for (size_t s = 0; s < sizeof spec / sizeof spec[0]; s++) {
        char list[512], *save = NULL;
        snprintf(list, sizeof list, "%s", spec[s].codes);
        for (char *code = strtok_r(list, " ", &save); code; code = strtok_r(NULL, " ", &save), k++) {
            CHECK_STR(r->events[k].carrier_code, code);
            if (r->events[k].status != spec[s].st)
                fprintf(stderr, "   code %s: got %s, want %s\n", code,
                        pp_status_name(r->events[k].status), pp_status_name(spec[s].st));
            CHECK_INT(r->events[k].status, spec[s].st);
        }
    }
    pp_track_results_free(r, n);
}

static char *xpath_str(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(x, BAD_CAST "s", BAD_CAST "http://schemas.xmlsoap.org/soap/envelope/");
    xmlXPathRegisterNs(x, BAD_CAST "e", BAD_CAST "http://events.dpdinfoservices.dpd.com.pl/");
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
    char *out = o ? (char *)xmlXPathCastToString(o) : NULL;
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return out;
}

static void test_request(const pp_carrier_t *c)
{
    pp_config_t cfg;
    pp_http_request_t req;
    CHECK_INT(pp_config_init(&cfg), 0);
    CHECK_STR(pp_carrier_cfg_str(&cfg, "dpd", PP_CARRIER_KEY_OWN),
              "https://dpdinfoservices.dpd.com.pl");
    CHECK_INT(pp_config_set(&cfg, "dpd_base_url", "http://127.0.0.1:5555/", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "dpd_login", "12345", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "dpd_password", "p<a&s\"s'>", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "dpd_channel", "1495", NULL, 0), 0);
    const char *one[] = {"1000123456780U"}, *two[] = {"1000123456780U", "1000123456781U"};
    CHECK_INT(c->build_request(&cfg, NULL, two, 2, &req), PP_EINVAL); /* max_batch 1 */
    CHECK_INT(c->build_request(&cfg, NULL, one, 1, &req), 0);
    CHECK_STR(req.method, "POST");
    CHECK_STR(req.url,
              "http://127.0.0.1:5555/DPDInfoServicesObjEventsService/DPDInfoServicesObjEvents");
    int ct = 0;
    for (int i = 0; i < req.n_headers; i++)
        ct += strncmp(req.headers[i], "Content-Type: text/xml", 22) == 0;
    CHECK_INT(ct, 1);
    xmlDocPtr doc = xmlReadMemory(req.body, (int)req.body_len, "req.xml", NULL, XML_PARSE_NONET);
    CHECK(doc != NULL);
    if (doc) {
        static const struct {
            const char *xp, *want;
        } w[] = {
            {"string(/s:Envelope/s:Body/e:getEventsForWaybillV1/waybill)", "1000123456780U"},
            {"string(/s:Envelope/s:Body/e:getEventsForWaybillV1/eventsSelectType)", "ALL"},
            {"string(/s:Envelope/s:Body/e:getEventsForWaybillV1/language)", "PL"},
            {"string(//e:getEventsForWaybillV1/authDataV1/login)", "12345"},
            {"string(//e:getEventsForWaybillV1/authDataV1/password)", "p<a&s\"s'>"},
            {"string(//e:getEventsForWaybillV1/authDataV1/channel)", "1495"},
        };
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
            char *v = xpath_str(doc, w[i].xp);
            CHECK_STR(v, w[i].want);
            xmlFree(v);
        }
        xmlFreeDoc(doc);
    }
    pp_http_request_free(&req);
    pp_config_free(&cfg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-dpd FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    const pp_carrier_t *c = pp_carrier_find("dpd");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    CHECK_INT(c->max_batch, 1);
    fixture_run_cases(c, cases, sizeof cases / sizeof cases[0]);
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    test_spec(c);
    test_request(c);
    CHECK(pp_number_valid(c->name, "1000123456780U"));
    CHECK(!pp_number_valid(c->name, "1000123456780X"));
    CHECK(!pp_number_valid(c->name, ""));
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "courier_delivered.xml", 200, "Przesyłka doręczona", 1);
    fixture_check_hostile(c, "courier_delivered.xml", 200, "Kraków", 1);
    fixture_check_hostile_number(c, "courier_delivered.xml", 200, "1000123456780U", 1);
    return CHECK_DONE();
}
