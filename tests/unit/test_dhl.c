/* test_dhl.c - DHL Unified adapter on fixture bodies: statusCode + text mapping, order, Warsaw times across DST, not found, errors. */
#include "fixture.h"
#include "config.h"
#include "err.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* bodies that parse to one result (pickup point not checked) */
static const fixture_case_t cases[] = {
    /* parcel-pl, zone-less local times across the spring-forward night of 2026-03-29 */
    {"parcel_pl_delivered.json",
     200,
     1,
     8,
     "24333892874",
     NULL,
     PP_ST_DELIVERED,
     {{0, "pre-transit", PP_ST_INFO_RECEIVED, "2026-03-27T15:02:11Z", "", NULL},
      {1, "transit", PP_ST_IN_TRANSIT, "2026-03-28T08:15:00Z", "Kraków",
       "Shipment posted: The shipment has been posted by the sender at the DHL POP Parcelshop"},
      /* 01:30 CET and 03:30 CEST local are one hour apart */
      {3, "transit", PP_ST_IN_TRANSIT, "2026-03-29T00:30:00Z", "Stryków", NULL},
      {4, "transit", PP_ST_IN_TRANSIT, "2026-03-29T01:30:00Z", "Stryków", NULL},
      {5, "transit", PP_ST_IN_TRANSIT, "2026-03-29T05:05:00Z", "Warszawa", NULL},
      {6, "transit", PP_ST_OUT_FOR_DELIVERY, "2026-03-30T04:45:00Z", "Warszawa", NULL},
      {7, "delivered", PP_ST_DELIVERED, "2026-03-30T11:20:00Z", "Warszawa",
       "Delivered: The shipment has been delivered"},
      EV_END}},
    /* fall-back night of 2026-10-25: the repeated 02:30 is read as its first (CEST) occurrence */
    {"pickup_pl.json",
     200,
     1,
     7,
     "24333892885",
     NULL,
     PP_ST_DELIVERED,
     {{0, "pre-transit", PP_ST_INFO_RECEIVED, "2026-10-23T08:00:00Z", "", NULL},
      {1, "transit", PP_ST_IN_TRANSIT, "2026-10-24T06:00:00Z", "Poznań", NULL},
      {2, "transit", PP_ST_IN_TRANSIT, "2026-10-24T23:30:00Z", "Stryków", NULL},
      {3, "transit", PP_ST_IN_TRANSIT, "2026-10-25T00:30:00Z", "Stryków", NULL},
      {4, "transit", PP_ST_IN_TRANSIT, "2026-10-25T02:30:00Z", "Gdańsk", NULL},
      {5, "transit", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-26T10:00:00Z", "Gdańsk", NULL},
      {6, "delivered", PP_ST_DELIVERED, "2026-10-27T16:30:00Z", "Gdańsk", NULL},
      EV_END}},
    {"failed_returned.json",
     200,
     1,
     7,
     "24333892896",
     NULL,
     PP_ST_RETURNED,
     {{2, "transit", PP_ST_OUT_FOR_DELIVERY, "2026-05-05T07:30:00Z", "Lublin", NULL},
      {3, "failure", PP_ST_DELIVERY_FAILED, "2026-05-05T12:10:00Z", "Lublin", NULL},
      {4, "failure", PP_ST_EXCEPTION, "2026-05-06T08:00:00Z", "Lublin", NULL},
      {5, "transit", PP_ST_RETURNING, "2026-05-13T06:00:00Z", "Lublin", NULL},
      {6, "delivered", PP_ST_RETURNED, "2026-05-15T10:00:00Z", "Łódź", NULL},
      EV_END}},
    /* numeric id, Z / +01:00 / +0100 / fractions, unknown code, code outside the enum */
    {"express_mixed.json",
     200,
     1,
     6,
     "7777777770",
     NULL,
     PP_ST_UNKNOWN,
     {{0, "pre-transit", PP_ST_INFO_RECEIVED, "2026-01-10T08:00:00Z", "", "Shipment information received"},
      {1, "transit", PP_ST_IN_TRANSIT, "2026-01-10T13:00:00Z", "", NULL},
      {2, "unknown", PP_ST_EXCEPTION, "2026-01-11T09:00:00Z", "LEIPZIG - GERMANY", NULL},
      {3, "unknown", PP_ST_UNKNOWN, "2026-01-11T12:00:00Z", "", NULL},
      {4, "transit", PP_ST_OUT_FOR_DELIVERY, "2026-01-12T07:00:00Z", "WARSAW - POLAND", NULL},
      {5, "in-space", PP_ST_UNKNOWN, "2026-01-12T07:00:00Z", "", NULL},
      EV_END}},
    {"status_only.json",
     200,
     1,
     1,
     "24333892911",
     NULL,
     PP_ST_INFO_RECEIVED,
     {{0, "pre-transit", PP_ST_INFO_RECEIVED, "2026-07-01T10:00:00Z", "", NULL}, EV_END}},
    {"no_events.json", 200, 1, 0, "24333892922", NULL, PP_ST_UNKNOWN, {EV_END}},
    {"empty_shipments.json", 200, 0, 0, "", NULL, PP_ST_UNKNOWN, {EV_END}},
    {"not_found_404.json", 404, 0, 0, "", NULL, PP_ST_UNKNOWN, {EV_END}},
};

/* bodies that must fail; the reason passes the problem detail on */
static const fixture_error_t errors[] = {
    {"error_html.html", 404, PP_EHTTP, NULL},
    {"error_401.json", 401, PP_EHTTP, "Unauthorized for given resource"},
    {"error_401.json", 403, PP_EHTTP, "Unauthorized for given resource"},
    {"error_429.json", 429, PP_EHTTP, "Too many requests within defined time period"},
    {"error_400.json", 400, PP_EHTTP, "Parameter trackingNumber is required"},
    {"error_html.html", 502, PP_EHTTP, NULL},
    {"error_html.html", 200, PP_EPARSE, NULL},
    {"parcel_pl_delivered.json", 500, PP_EHTTP, NULL},
    {"truncated.json", 200, PP_EPARSE, NULL},
    {"not_object.json", 200, PP_EPARSE, NULL},
    {"not_found_404.json", 200, PP_EPARSE, NULL},
    {"wrong_types_events.json", 200, PP_EPARSE, NULL},
    {"wrong_types_timestamp.json", 200, PP_EPARSE, NULL},
    {"bad_timestamp.json", 200, PP_EPARSE, NULL},
    {"wrong_types_location.json", 200, PP_EPARSE, NULL},
    {"wrong_types_status.json", 200, PP_EPARSE, NULL},
    {"missing_id.json", 200, PP_EPARSE, NULL},
    {"empty_event.json", 200, PP_EPARSE, NULL},
};

/*
 * all_texts.json: one event per statusCode and per text rule, each with the expected
 * normalized status written in its `remark` (which the adapter ignores): the spec lives in
 * the fixture, independently of dhl.c's tables.
 */
static void test_all_texts(const pp_carrier_t *c)
{
    size_t len, n = 0;
    pp_track_result_t *r = NULL;
    char err[256] = "";
    char *body = fixture_slurp("all_texts.json", &len);
    CHECK(body != NULL);
    if (!body)
        return;
    CHECK_INT(pp_carrier_parse(c, 200, body, len, &r, &n, err, sizeof err), 0);
    cJSON *root = cJSON_Parse(body);
    const cJSON *evs =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "shipments"), 0), "events");
    int total = cJSON_GetArraySize(evs), i = 0;
    CHECK(total >= 60);
    CHECK_INT(n, 1);
    if (n == 1 && (int)r->n_events == total) {
        const cJSON *e;
        cJSON_ArrayForEach(e, evs)
        {
            /* wire newest first, times strictly decreasing: result index total-1-i */
            const pp_track_event_t *ev = &r->events[total - 1 - i];
            const char *want = cJSON_GetObjectItem(e, "remark")->valuestring;
            if (strcmp(pp_status_name(ev->status), want) != 0)
                fprintf(stderr, "'%s' / '%s' (%s): got %s, want %s\n",
                        cJSON_GetObjectItem(e, "status")->valuestring,
                        cJSON_GetObjectItem(e, "description")->valuestring,
                        cJSON_GetObjectItem(e, "statusCode")->valuestring,
                        pp_status_name(ev->status), want);
            CHECK_STR(pp_status_name(ev->status), want);
            i++;
        }
    } else {
        CHECK_INT(r ? r->n_events : 0, total);
    }
    cJSON_Delete(root);
    pp_track_results_free(r, n);
    free(body);
}

static void test_request_and_validate(const pp_carrier_t *c)
{
    pp_config_t cfg;
    pp_http_request_t req;
    char e[128];
    CHECK_INT(pp_config_init(&cfg), 0);
    /* production default */
    const char *num[] = {"24333892874"};
    CHECK_INT(c->build_request(&cfg, NULL, num, 1, &req), 0);
    CHECK_STR(req.url, "https://api-eu.dhl.com/track/shipments?trackingNumber=24333892874");
    CHECK_INT(req.n_headers, 1); /* no key configured: no DHL-API-Key header */
    pp_http_request_free(&req);
    CHECK_INT(pp_config_set(&cfg, "dhl_base_url", "http://127.0.0.1:8099/", e, sizeof e), 0);
    CHECK_INT(pp_config_set(&cfg, "dhl_api_key", "k3y", e, sizeof e), 0);
    CHECK_INT(pp_config_set(&cfg, "dhl_service", "parcel-pl", e, sizeof e), 0);
    CHECK_INT(c->build_request(&cfg, "ignored", num, 1, &req), 0);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.url,
              "http://127.0.0.1:8099/track/shipments?trackingNumber=24333892874&service=parcel-pl");
    CHECK_INT(req.n_headers, 2);
    CHECK_STR(req.headers[0], "Accept: application/json");
    CHECK_STR(req.headers[1], "DHL-API-Key: k3y");
    CHECK(req.body == NULL);
    pp_http_request_free(&req);
    const char *odd[] = {"JJD 00&x=1"};
    CHECK_INT(c->build_request(&cfg, NULL, odd, 1, &req), 0);
    CHECK_STR(req.url,
              "http://127.0.0.1:8099/track/shipments?trackingNumber=JJD%2000%26x%3D1&service=parcel-pl");
    pp_http_request_free(&req);
    const char *two[] = {"24333892874", "24333892885"};
    CHECK_INT(c->build_request(&cfg, NULL, two, 2, &req), PP_EINVAL);
    const char *empty[] = {""};
    CHECK_INT(c->build_request(&cfg, NULL, empty, 1, &req), PP_EINVAL);
    pp_config_free(&cfg);
    CHECK(c->build_auth_request == NULL);
    CHECK(c->parse_auth == NULL);
    CHECK_INT(c->max_batch, 1);

    CHECK(pp_number_valid(c->name, "24333892874"));          /* DHL Parcel Polska, 11 digits */
    CHECK(pp_number_valid(c->name, "00340434161094015902")); /* Parcel DE SSCC, GS1 check digit */
    CHECK(!pp_number_valid(c->name, "00340434161094015903"));
    CHECK(!pp_number_valid(c->name, "2433389287"));
    CHECK(!pp_number_valid(c->name, "1ZA82D672031716786"));
    CHECK(!pp_number_valid(c->name, ""));
    CHECK(!pp_number_valid(c->name, NULL));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-dhl FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    const pp_carrier_t *c = pp_carrier_find("dhl");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    CHECK(pp_carrier_find("DHL") == c);
    fixture_run_cases(c, cases, sizeof cases / sizeof cases[0]);
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    test_all_texts(c);
    fixture_check_truncations(c, "parcel_pl_delivered.json", NULL);
    fixture_check_truncations(c, "not_found_404.json", NULL);
    test_request_and_validate(c);
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "parcel_pl_delivered.json", 200, "Kraków", 0);
    fixture_check_hostile(c, "parcel_pl_delivered.json", 200, "The shipment has been delivered", 0);
    fixture_check_hostile_number(c, "parcel_pl_delivered.json", 200, "24333892874", 0);
    return CHECK_DONE();
}
