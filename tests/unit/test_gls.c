/* test_gls.c - GLS Track And Trace adapter on fixture bodies: batch with not-found, mapping, token, requests, errors. */
#include "fixture.h"
#include "config.h"
#include "err.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

static const pp_carrier_t *c;

typedef struct {
    const char *number;
    int found;
    int n_events;
    pp_status_t last;
    const char *last_code;
    const char *last_utc;
    const char *last_loc;
} parcel_check_t;

/*
 * batch10.json: ten numbers in one answer, two unknown to GLS (E_404_01 inside the 200).
 * Event codes other than the spec's examples (INTIAL.*, DELIVD.PARCELSHOP, CANCEL.NORMAL) are
 * made up for the fixture: they stay unmapped and the parcel-level status becomes the newest
 * entry. Times carry +0100 before and +0200 after the 2026-03-29 change.
 */
static const parcel_check_t batch[] = {
    {"51234567801", 1, 1, PP_ST_INFO_RECEIVED, "INTIAL.PREADVICE", "2026-03-27T17:02:11Z", "PL"},
    {"51234567802", 0, 0, 0, NULL, NULL, NULL},
    {"51234567803", 1, 4, PP_ST_IN_TRANSIT, "INTRANSIT", "2026-03-29T01:30:00Z", "02-001 Warszawa, PL"},
    {"51234567804", 1, 5, PP_ST_OUT_FOR_DELIVERY, "INDELIVERY", "2026-03-30T05:40:00Z",
     "02-001 Warszawa, PL"},
    {"51234567805", 1, 4, PP_ST_AVAILABLE_FOR_PICKUP, "DELIVD.PARCELSHOP", "2026-03-30T11:05:00Z",
     "02-495 Warszawa, PL"},
    {"51234567806", 1, 6, PP_ST_DELIVERED, "DELIVERED", "2026-03-30T12:31:09Z", "30-001 Kraków, PL"},
    {"51234567807", 0, 0, 0, NULL, NULL, NULL},
    {"51234567808", 1, 5, PP_ST_DELIVERY_FAILED, "NOTDELIVERED", "2026-03-30T13:00:00Z",
     "60-001 Poznań, PL"},
    {"51234567809", 1, 2, PP_ST_EXCEPTION, "CANCEL.NORMAL", "2026-03-28T09:00:00Z", "PL"},
    /* FINAL after a ParcelShop delivery and pick-up: delivered */
    {"51234567810", 1, 6, PP_ST_DELIVERED, "FINAL", "2026-04-02T06:00:00Z", "90-001 Łódź, PL"},
};

static void test_batch(void)
{
    pp_track_result_t *r = NULL;
    size_t n = 0;
    char err[256] = "";
    CHECK_INT(fixture_parse(c, "batch10.json", 200, &r, &n, err, sizeof err), 0);
    CHECK_INT(n, 10);
    for (size_t i = 0; i < n && i < 10; i++) {
        const parcel_check_t *e = &batch[i];
        CHECK_STR(r[i].tracking_number, e->number);
        CHECK_INT(r[i].found, e->found);
        CHECK_INT(r[i].n_events, e->n_events);
        for (size_t k = 1; k < r[i].n_events; k++)
            CHECK(r[i].events[k - 1].occurred_at <= r[i].events[k].occurred_at);
        if (!e->found || r[i].n_events == 0)
            continue;
        const pp_track_event_t *last = &r[i].events[r[i].n_events - 1];
        CHECK_INT(last->status, e->last);
        CHECK_STR(last->carrier_code, e->last_code);
        CHECK_STR(fixture_utc(last->occurred_at), e->last_utc);
        CHECK_STR(last->location, e->last_loc);
    }
    if (n == 10) {
        /* oldest first, raw code and UTC kept on the way */
        CHECK_STR(r[2].events[0].carrier_code, "INTIAL.PREADVICE");
        CHECK_INT(r[2].events[0].status, PP_ST_INFO_RECEIVED);
        CHECK_STR(fixture_utc(r[2].events[0].occurred_at), "2026-03-27T17:02:11Z");
        CHECK_STR(r[2].events[1].carrier_code, "INTIAL.NORMAL");
        CHECK_INT(r[2].events[1].status, PP_ST_IN_TRANSIT);
        CHECK_STR(r[2].events[2].carrier_code, "INBOUND.DEPOT");
        CHECK_INT(r[2].events[2].status, PP_ST_UNKNOWN);
        CHECK_STR(r[2].events[2].description, "The parcel has reached the parcel center.");
        CHECK_STR(r[5].events[5].description, "Doręczona");
    }
    pp_track_results_free(r, n);
}

/* research §4.3: the twelve statuses, written independently of gls.c. */
static const struct {
    const char *name;
    pp_status_t st;
    const char *utc;
} spec[] = {
    {"PLANNEDPICKUP", PP_ST_INFO_RECEIVED, "2026-10-25T00:00:00Z"},
    {"INPICKUP", PP_ST_INFO_RECEIVED, "2026-10-25T00:01:00Z"},
    {"NOTPICKEDUP", PP_ST_EXCEPTION, "2026-10-25T00:02:00Z"},
    {"PREADVICE", PP_ST_INFO_RECEIVED, "2026-10-25T00:03:00Z"},
    {"INTRANSIT", PP_ST_IN_TRANSIT, "2026-10-25T00:04:00Z"},
    {"INDELIVERY", PP_ST_OUT_FOR_DELIVERY, "2026-10-25T00:05:00Z"},
    {"DELIVEREDPS", PP_ST_AVAILABLE_FOR_PICKUP, "2026-10-25T01:06:00Z"},
    {"DELIVERED", PP_ST_DELIVERED, "2026-10-25T01:07:00Z"},
    {"INWAREHOUSE", PP_ST_IN_TRANSIT, "2026-10-25T01:08:00Z"},
    {"NOTDELIVERED", PP_ST_DELIVERY_FAILED, "2026-10-25T01:09:00Z"},
    {"CANCELED", PP_ST_EXCEPTION, "2026-10-25T01:10:00Z"},
    /* FINAL with no delivery in the history: closed, not delivered */
    {"FINAL", PP_ST_EXPIRED, "2026-10-25T01:11:00Z"},
};

static void test_all_statuses(void)
{
    pp_track_result_t *r = NULL;
    size_t n = 0;
    char err[256] = "";
    CHECK_INT(fixture_parse(c, "all_statuses.json", 200, &r, &n, err, sizeof err), 0);
    CHECK_INT(n, 12);
    for (size_t i = 0; i < n && i < 12; i++) {
        CHECK_INT(r[i].found, 1);
        CHECK_INT(r[i].n_events, 1);
        if (r[i].n_events != 1)
            continue;
        CHECK_STR(r[i].events[0].carrier_code, spec[i].name);
        CHECK_INT(r[i].events[0].status, spec[i].st);
        CHECK_STR(fixture_utc(r[i].events[0].occurred_at), spec[i].utc);
    }
    pp_track_results_free(r, n);
}

static const fixture_error_t errors[] = {
    {"error_401.json", 401, PP_EHTTP, NULL},
    {"error_429.json", 429, PP_EHTTP, NULL},
    {"error_400.json", 400, PP_EHTTP, NULL},
    {"error_404_wrong_call.json", 404, PP_EHTTP, NULL},
    {"error_500.html", 502, PP_EHTTP, NULL},
    {"error_500.html", 200, PP_EPARSE, NULL},
    {"parcel_error_500.json", 200, PP_EHTTP, NULL},
    {"truncated.json", 200, PP_EPARSE, NULL},
    {"not_object.json", 200, PP_EPARSE, NULL},
    {"empty_parcels.json", 200, PP_EPARSE, NULL},
    {"wrong_types_events.json", 200, PP_EPARSE, NULL},
    {"wrong_types_status.json", 200, PP_EPARSE, NULL},
    {"wrong_types_parcel.json", 200, PP_EPARSE, NULL},
    {"no_offset.json", 200, PP_EPARSE, NULL},
};

static void test_errors(void)
{
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    char err[256] = "";
    pp_track_result_t *r = NULL;
    size_t n = 0;
    CHECK_INT(fixture_parse(c, "error_401.json", 401, &r, &n, err, sizeof err), PP_EHTTP);
    CHECK(strstr(err, "steps.jwt.TokenExpired") != NULL);
    CHECK_INT(fixture_parse(c, "parcel_error_500.json", 200, &r, &n, err, sizeof err), PP_EHTTP);
    CHECK(strstr(err, "E_500_01") != NULL);
    /* alone in its answer, an unknown number is still a result, not an error */
    CHECK_INT(fixture_parse(c, "not_found_only.json", 200, &r, &n, err, sizeof err), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(r[0].tracking_number, "51234567899");
        CHECK_INT(r[0].found, 0);
    }
    pp_track_results_free(r, n);
    CHECK_INT(fixture_parse(c, "unknown_status.json", 200, &r, &n, err, sizeof err), 0);
    CHECK_INT(n, 1);
    if (n == 1 && r[0].n_events == 2) {
        CHECK_STR(r[0].events[1].carrier_code, "TELEPORTED");
        CHECK_INT(r[0].events[1].status, PP_ST_UNKNOWN);
    }
    pp_track_results_free(r, n);
}

static void test_token(void)
{
    char tok[64], err[256];
    long ttl = 0;
    size_t len;
    char *b = fixture_slurp("token.json", &len);
    CHECK_INT(c->parse_auth(200, b, len, tok, sizeof tok, &ttl, err, sizeof err), 0);
    CHECK_STR(tok, "eyJhbGciOiJSUzI1NiJ9.sim.sig");
    CHECK_INT(ttl, 14399);
    CHECK_INT(c->parse_auth(200, b, len, tok, 10, &ttl, err, sizeof err), PP_EPARSE); /* too long */
    free(b);
    b = fixture_slurp("token_apigee.json", &len);
    CHECK_INT(c->parse_auth(200, b, len, tok, sizeof tok, &ttl, err, sizeof err), 0);
    CHECK_STR(tok, "f5RyaNJ0cSzCk4jM");
    CHECK_INT(ttl, 3599);
    free(b);
    const char *bad[] = {"token_no_expiry.json", "token_bad_expiry.json", "error_500.html",
                         "truncated.json"};
    for (size_t i = 0; i < 4; i++) {
        b = fixture_slurp(bad[i], &len);
        err[0] = '\0';
        CHECK_INT(c->parse_auth(200, b, len, tok, sizeof tok, &ttl, err, sizeof err), PP_EPARSE);
        CHECK(err[0] != '\0');
        free(b);
    }
    b = fixture_slurp("token_error_401.json", &len);
    CHECK_INT(c->parse_auth(401, b, len, tok, sizeof tok, &ttl, err, sizeof err), PP_EHTTP);
    CHECK(strstr(err, "invalid_client") != NULL);
    free(b);
}

static void test_requests(void)
{
    pp_config_t cfg;
    pp_http_request_t req;
    CHECK_INT(pp_config_init(&cfg), 0);
    /* no credentials: no token request */
    CHECK_INT(c->build_auth_request(&cfg, &req), PP_EINVAL);
    CHECK_INT(pp_config_set(&cfg, "gls_client_id", "parcelpush", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "gls_client_secret", "s3cret", NULL, 0), 0);
    CHECK_INT(pp_config_set(&cfg, "gls_base_url", "http://127.0.0.1:8080/", NULL, 0), 0);
    CHECK_INT(c->build_auth_request(&cfg, &req), 0);
    CHECK_STR(req.method, "POST");
    CHECK_STR(req.url, "http://127.0.0.1:8080/oauth2/v1/token");
    CHECK_STR(req.body, "grant_type=client_credentials");
    CHECK_INT(req.body_len, strlen("grant_type=client_credentials"));
    int basic = 0, form = 0;
    for (int i = 0; i < req.n_headers; i++) {
        basic += strcmp(req.headers[i], "Authorization: Basic cGFyY2VscHVzaDpzM2NyZXQ=") == 0;
        form += strcmp(req.headers[i], "Content-Type: application/x-www-form-urlencoded") == 0;
    }
    CHECK_INT(basic, 1);
    CHECK_INT(form, 1);
    pp_http_request_free(&req);

    const char *nums[11] = {"51234567801", "51234567802", "QAS_0000003", "AB,CD",
                            "51234567805", "51234567806", "51234567807", "51234567808",
                            "51234567809", "51234567810", "51234567811"};
    CHECK_INT(c->build_request(&cfg, "tok.en", nums, 4, &req), 0);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.url, "http://127.0.0.1:8080/track-and-trace-v1/tracking/simple/trackids/"
                       "51234567801,51234567802,QAS_0000003,AB%2CCD");
    int bearer = 0;
    for (int i = 0; i < req.n_headers; i++)
        bearer += strcmp(req.headers[i], "Authorization: Bearer tok.en") == 0;
    CHECK_INT(bearer, 1);
    pp_http_request_free(&req);
    CHECK_INT(c->max_batch, 10);
    CHECK_INT(c->build_request(&cfg, "t", nums, 10, &req), 0);
    pp_http_request_free(&req);
    CHECK_INT(c->build_request(&cfg, "t", nums, 11, &req), PP_EINVAL);
    CHECK_INT(c->build_request(&cfg, "t", nums, 0, &req), PP_EINVAL);
    pp_config_free(&cfg);

    CHECK(pp_number_valid(c->name, "51234567801"));
    CHECK(pp_number_valid(c->name, "512345678012"));
    CHECK(pp_number_valid(c->name, "ZX61QJIX"));
    CHECK(!pp_number_valid(c->name, "5123456780"));
    CHECK(!pp_number_valid(c->name, "5123456780123"));
    CHECK(!pp_number_valid(c->name, "5123456780a"));
    CHECK(!pp_number_valid(c->name, ""));
    CHECK(!pp_number_valid(c->name, NULL));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-gls FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    c = pp_carrier_find("gls");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    test_batch();
    test_all_statuses();
    test_errors();
    test_token();
    test_requests();
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "batch10.json", 200, "Warszawa", 0);
    fixture_check_hostile(c, "batch10.json", 200, "The parcel data was entered", 0);
    fixture_check_hostile_number(c, "batch10.json", 200, "51234567801", 0);
    return CHECK_DONE();
}
