/* test_orlen.c - ORLEN Paczka adapter: SOAP list and JSONP fixtures, POWROT, not found, errors, Warsaw time across DST. */
#include "fixture.h"
#include "config.h"
#include "err.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

static const pp_carrier_t *c;

typedef struct {
    const char *code;
    pp_status_t st;
    const char *utc;
} ev_t;

typedef struct {
    const char *number;
    int found;
    int n_events;
    ev_t ev[8];
} parcel_t;

typedef struct {
    const char *file;
    int http;
    int n_results;
    parcel_t p[3];
} case_t;

static const case_t cases[] = {
    /* three parcels interleaved in one list; 888 (archiving) dropped; 'Z' = Warsaw time */
    {"soap_list.xml",
     200,
     3,
     {{"2100012345678",
       1,
       6,
       {{"200", PP_ST_INFO_RECEIVED, "2026-10-07T11:18:49Z"},
        {"240", PP_ST_IN_TRANSIT, "2026-10-07T16:30:00Z"},
        {"300", PP_ST_IN_TRANSIT, "2026-10-08T00:10:11Z"},
        {"680", PP_ST_OUT_FOR_DELIVERY, "2026-10-08T04:45:00Z"},
        {"690", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-08T07:45:23Z"},
        {"1000", PP_ST_DELIVERED, "2026-10-09T15:02:03Z"}}},
      {"2100012345685",
       1,
       6,
       {{"200", PP_ST_INFO_RECEIVED, "2026-10-07T12:00:00Z"},
        {"210", PP_ST_IN_TRANSIT, "2026-10-08T08:00:00Z"},
        {"695", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-10T06:00:00Z"},
        {"709", PP_ST_RETURNING, "2026-10-13T06:00:00Z"},
        {"100_POWROT", PP_ST_RETURNING, "2026-10-14T05:00:00Z"},
        {"1220_2_POWROT", PP_ST_RETURNED, "2026-10-16T10:00:00Z"}}},
      /* spring forward 2026-03-29: 01:30 is CET, 03:30 CEST; rows out of order on the wire */
      {"3000000000012",
       1,
       4,
       {{"200", PP_ST_INFO_RECEIVED, "2026-03-28T20:00:00Z"},
        {"240", PP_ST_IN_TRANSIT, "2026-03-29T00:30:00Z"},
        {"300", PP_ST_IN_TRANSIT, "2026-03-29T01:30:00Z"},
        {"4321", PP_ST_UNKNOWN, "2026-03-29T03:00:00Z"}}}}},
    /* fall back 2026-10-25: 01:30 CEST, 02:30 the first (CEST) of two, 03:30 CET; a real offset kept */
    {"soap_dst_october.xml",
     200,
     1,
     {{"3000000000029",
       1,
       5,
       {{"200", PP_ST_INFO_RECEIVED, "2026-10-24T21:59:59Z"},
        {"240", PP_ST_IN_TRANSIT, "2026-10-24T23:30:00Z"},
        {"300", PP_ST_IN_TRANSIT, "2026-10-25T00:30:00Z"},
        {"450", PP_ST_IN_TRANSIT, "2026-10-25T02:30:00Z"},
        {"620", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-25T11:00:00Z"}}}}},
    /* 02:30 does not exist on 2026-03-29: read as CET (= 03:30 CEST) */
    {"soap_dst_march_gap.xml",
     200,
     1,
     {{"3000000000036", 1, 1, {{"100", PP_ST_IN_TRANSIT, "2026-03-29T01:30:00Z"}}}}},
    {"soap_err_006.xml",
     200,
     1,
     {{"2100012345678", 1, 1, {{"200", PP_ST_INFO_RECEIVED, "2026-07-01T10:00:00Z"}}}}},
    {"soap_dataset.xml",
     200,
     1,
     {{"2100012345678",
       1,
       2,
       {{"200", PP_ST_INFO_RECEIVED, "2026-07-01T10:00:00Z"},
        {"620", PP_ST_AVAILABLE_FOR_PICKUP, "2026-07-02T07:00:00Z"}}}}},
    /* nothing known: no rows, so no results (the poller counts absent numbers as not found) */
    {"soap_empty.xml", 200, 0, {{NULL, 0, 0, {{NULL, 0, NULL}}}}},
    {"jsonp_delivered.js",
     200,
     1,
     {{"2100012345678",
       1,
       5,
       {{"200", PP_ST_INFO_RECEIVED, "2026-10-07T11:18:00Z"},
        {"240", PP_ST_IN_TRANSIT, "2026-10-07T16:30:00Z"},
        {"680", PP_ST_OUT_FOR_DELIVERY, "2026-10-08T04:45:00Z"},
        {"690", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-08T07:45:00Z"},
        {"1000", PP_ST_DELIVERED, "2026-10-09T15:02:00Z"}}}}},
    {"jsonp_not_found.js", 200, 1, {{"2100099999990", 0, 0, {{NULL, 0, NULL}}}}},
    {"jsonp_allegro_ad.js", 200, 1, {{"AD0012345678", 0, 0, {{NULL, 0, NULL}}}}},
    /* 690 "paczka w innym kraju" is transit, not the pickup point */
    {"jsonp_abroad.js",
     200,
     1,
     {{"3000000000012",
       1,
       2,
       {{"200", PP_ST_INFO_RECEIVED, "2026-03-29T00:30:00Z"},
        {"690", PP_ST_IN_TRANSIT, "2026-03-29T01:30:00Z"}}}}},
    {"jsonp_dst_october.js",
     200,
     1,
     {{"3000000000029",
       1,
       2,
       {{"100", PP_ST_IN_TRANSIT, "2026-10-25T00:30:00Z"},
        {"300", PP_ST_IN_TRANSIT, "2026-10-25T02:30:00Z"}}}}},
};

static const fixture_error_t errors[] = {
    {"soap_fault.xml", 500, PP_EHTTP, "Błędny PartnerID"},
    {"soap_fault.xml", 401, PP_EHTTP, "SOAP fault"},
    {"soap_fault.xml", 200, PP_EHTTP, "soap:Server"},
    {"soap_err_auth.xml", 200, PP_EHTTP, "error 002"},
    {"soap_err_bad.xml", 200, PP_EPARSE, "Err"},
    {"soap_truncated.xml", 200, PP_EPARSE, "well-formed"},
    {"soap_bad_trans.xml", 200, PP_EPARSE, "Trans"},
    {"soap_bad_data.xml", 200, PP_EPARSE, "Data"},
    {"soap_not_envelope.xml", 200, PP_EPARSE, "envelope"},
    {"soap_not_envelope.xml", 503, PP_EHTTP, "503"},
    {"soap_no_response.xml", 200, PP_EPARSE, "Response"},
    {"jsonp_truncated.js", 200, PP_EPARSE, NULL},
    {"jsonp_bad_date.js", 200, PP_EPARSE, "date"},
    {"jsonp_wrong_types.js", 200, PP_EPARSE, "history[0]"},
    {"jsonp_history_not_array.js", 200, PP_EPARSE, "history"},
    {"jsonp_garbage.js", 200, PP_EPARSE, NULL},
    {"jsonp_not_object.js", 200, PP_EPARSE, NULL},
    {"jsonp_delivered.js", 502, PP_EHTTP, "502"},
};

static void run_case(const case_t *t)
{
    pp_track_result_t *r;
    size_t n;
    if (!fixture_parse_ok(c, t->file, t->http, &r, &n))
        return;
    CHECK_INT(n, t->n_results);
    for (size_t i = 0; i < n && (int)i < t->n_results; i++) {
        const parcel_t *p = &t->p[i];
        CHECK_STR(r[i].tracking_number, p->number);
        CHECK_INT(r[i].found, p->found);
        CHECK_INT(r[i].n_events, p->n_events);
        for (size_t k = 0; k < r[i].n_events && (int)k < p->n_events; k++) {
            CHECK_STR(r[i].events[k].carrier_code, p->ev[k].code);
            CHECK_INT(r[i].events[k].status, p->ev[k].st);
            CHECK_STR(fixture_utc(r[i].events[k].occurred_at), p->ev[k].utc);
        }
    }
    pp_track_results_free(r, n);
}

static void test_errors(void)
{
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    pp_track_result_t *r = NULL;
    size_t n = 9;
    char err[64];
    CHECK_INT(pp_carrier_parse(c, 200, "", 0, &r, &n, err, sizeof err), PP_EPARSE);
    CHECK_INT(pp_carrier_parse(c, 200, "  \n", 3, &r, &n, err, sizeof err), PP_EPARSE);
}

/* Mapping spot checks written from research §7.2, independently of orlen.c's table. */
static void test_mapping(void)
{
    static const struct {
        const char *code, *attr;
        pp_status_t st;
    } m[] = {
        {"200", "", PP_ST_INFO_RECEIVED},
        {"201", "", PP_ST_EXCEPTION},
        {"110", "", PP_ST_IN_TRANSIT},
        {"653", "", PP_ST_IN_TRANSIT},
        {"610", "", PP_ST_OUT_FOR_DELIVERY},
        {"685", "", PP_ST_OUT_FOR_DELIVERY},
        {"620", "", PP_ST_AVAILABLE_FOR_PICKUP},
        {"696", "", PP_ST_AVAILABLE_FOR_PICKUP},
        {"710", "", PP_ST_EXCEPTION},
        {"999", "", PP_ST_EXCEPTION},
        {"750", "", PP_ST_RETURNING},
        {"900", "", PP_ST_RETURNING},
        {"1000", "", PP_ST_DELIVERED},
        {"1100", "", PP_ST_DELIVERED},
        {"1200", "", PP_ST_RETURNED},
        {"1220", "", PP_ST_RETURNED},
        {"1000", "POWROT", PP_ST_RETURNED},
        {"1100", "2_POWROT", PP_ST_RETURNED},
        {"690", "POWROT", PP_ST_RETURNING},
        {"1000", "ZWROT", PP_ST_DELIVERED},
        {"5555", "", PP_ST_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char body[1024];
        int len =
            snprintf(body, sizeof body,
                     "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                     "<s:Body><GiveMePackStatusFullHistoryListResponse xmlns=\"x\"><GiveMePackStatusFullHistoryListResult>"
                     "<PackStatus><PackCode>2100012345678</PackCode><Trans>%s</Trans><Trans_Des>t</Trans_Des>"
                     "<Data>2026-05-05T10:00:00Z</Data><Attribute>%s</Attribute></PackStatus>"
                     "</GiveMePackStatusFullHistoryListResult></GiveMePackStatusFullHistoryListResponse></s:Body></s:Envelope>",
                     m[i].code, m[i].attr);
        pp_track_result_t *r = NULL;
        size_t n = 0;
        char err[128] = "";
        CHECK_INT(pp_carrier_parse(c, 200, body, (size_t)len, &r, &n, err, sizeof err), 0);
        if (n == 1 && r[0].n_events == 1) {
            if (r[0].events[0].status != m[i].st)
                fprintf(stderr, "   code %s attr '%s'\n", m[i].code, m[i].attr);
            CHECK_INT(r[0].events[0].status, m[i].st);
        } else {
            CHECK(!"one parcel with one event");
        }
        pp_track_results_free(r, n);
    }
}

static void test_warsaw(void)
{
    static const struct {
        int Y, M, D, h, m, s;
        const char *utc;
    } t[] = {
        {2026, 1, 15, 12, 0, 0, "2026-01-15T11:00:00Z"},
        {2026, 7, 15, 12, 0, 0, "2026-07-15T10:00:00Z"},
        {2026, 3, 29, 1, 59, 59, "2026-03-29T00:59:59Z"}, /* last CET second */
        {2026, 3, 29, 2, 30, 0, "2026-03-29T01:30:00Z"},  /* the skipped hour, read as CET */
        {2026, 3, 29, 3, 0, 0, "2026-03-29T01:00:00Z"},   /* first CEST second */
        {2026, 10, 25, 1, 59, 59, "2026-10-24T23:59:59Z"},
        {2026, 10, 25, 2, 30, 0, "2026-10-25T00:30:00Z"}, /* repeated hour: the first one */
        {2026, 10, 25, 3, 0, 0, "2026-10-25T02:00:00Z"},
        {2027, 3, 28, 3, 0, 0, "2027-03-28T01:00:00Z"}, /* 2027: last Sunday is the 28th */
        {2024, 2, 29, 0, 0, 0, "2024-02-28T23:00:00Z"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        time_t out = 0;
        CHECK_INT(pp_time_warsaw_to_utc(t[i].Y, t[i].M, t[i].D, t[i].h, t[i].m, t[i].s, &out), 0);
        CHECK_STR(fixture_utc(out), t[i].utc);
    }
    time_t out;
    CHECK_INT(pp_time_warsaw_to_utc(2026, 2, 29, 0, 0, 0, &out), PP_EPARSE);
    CHECK_INT(pp_time_warsaw_to_utc(2026, 13, 1, 0, 0, 0, &out), PP_EPARSE);
    CHECK_INT(pp_time_warsaw_to_utc(2026, 4, 31, 0, 0, 0, &out), PP_EPARSE);
    CHECK_INT(pp_time_warsaw_to_utc(2026, 4, 1, 24, 0, 0, &out), PP_EPARSE);
}

static void test_requests(void)
{
    pp_config_t cfg;
    pp_http_request_t req;
    const char *nums[3] = {"2100012345678", "3000000000012", "12<&>34"};
    CHECK_INT(pp_config_init(&cfg), 0);
    CHECK_INT(c->max_batch, 1000);
    /* no partner credentials: the public tracker, one number per request */
    CHECK_INT(pp_config_set(&cfg, "orlen_public_url", "http://127.0.0.1:9/", NULL, 0), 0);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 1, &req), 0);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.url, "http://127.0.0.1:9/parcel/api-status?id=2100012345678&jsonp=callback");
    CHECK(req.body == NULL);
    pp_http_request_free(&req);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 2, &req), PP_EINVAL);
    /* partner credentials: SOAP, the whole batch in one envelope, values escaped */
    CHECK_INT(pp_config_set(&cfg, "orlen_partner_id", "1234", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "orlen_partner_key", "k<&>ey", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "orlen_base_url", "http://127.0.0.1:9", NULL, 0), 0);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 3, &req), 0);
    CHECK_STR(req.method, "POST");
    CHECK_STR(req.url, "http://127.0.0.1:9/WebServicePwRProd/WebServicePwR.asmx");
    CHECK(req.body &&
          strstr(req.body,
                 "<GiveMePackStatusFullHistoryList xmlns=\"https://91.242.220.103/WebServicePwR\">"));
    CHECK(req.body &&
          strstr(req.body, "<PartnerID>1234</PartnerID><PartnerKey>k&lt;&amp;&gt;ey</PartnerKey>"));
    CHECK(req.body && strstr(req.body, "<PackCodes><string>2100012345678</string><string>3000000000012</string>"
                                       "<string>12&lt;&amp;&gt;34</string></PackCodes>"));
    CHECK_INT(req.body_len, req.body ? strlen(req.body) : 0);
    int action = 0, ctype = 0;
    for (int i = 0; i < req.n_headers; i++) {
        action += strcmp(req.headers[i], "SOAPAction: \"https://91.242.220.103/WebServicePwR/"
                                         "GiveMePackStatusFullHistoryList\"") == 0;
        ctype += strcmp(req.headers[i], "Content-Type: text/xml; charset=utf-8") == 0;
    }
    CHECK_INT(action, 1);
    CHECK_INT(ctype, 1);
    /* our own envelope is parsed back by the same SOAP parser: no rows, no error */
    pp_track_result_t *r = NULL;
    size_t n = 7;
    char err[128];
    CHECK_INT(pp_carrier_parse(c, 200, req.body, req.body_len, &r, &n, err, sizeof err),
              PP_EPARSE); /* a request, not a response */
    pp_http_request_free(&req);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 0, &req), PP_EINVAL);
    CHECK_INT(c->build_request(&cfg, NULL, nums, 1001, &req), PP_EINVAL);
    pp_config_free(&cfg);

    CHECK(pp_number_valid(c->name, "2100012345678"));
    CHECK(pp_number_valid(c->name, "3000000000012"));
    CHECK(pp_number_valid(c->name, "1234567"));
    CHECK(pp_number_valid(c->name, "1234567890"));
    CHECK(!pp_number_valid(c->name, "1100012345678"));
    CHECK(!pp_number_valid(c->name, "AD0012345678"));
    CHECK(!pp_number_valid(c->name, NULL));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-orlen FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    c = pp_carrier_find("orlen");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    test_errors();
    test_mapping();
    test_warsaw();
    test_requests();
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "soap_list.xml", 200, "W sortowni centralnej", 1);
    fixture_check_hostile(c, "jsonp_delivered.js", 200, "Paczka w drodze", 0);
    fixture_check_hostile_number(c, "soap_list.xml", 200, "2100012345678", 1);
    fixture_check_hostile_number(c, "jsonp_delivered.js", 200, "2100012345678", 0);
    return CHECK_DONE();
}
