/* test_inpost.c - InPost ShipX adapter on fixture bodies: mapping, order, UTC times, pickup point, errors. */
#include "fixture.h"
#include "config.h"
#include "err.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

/* bodies that parse to one result; the pickup point is checked */
static const fixture_case_t cases[] = {
    {"locker_delivered.json",
     200,
     1,
     15,
     "520000011395200025754311",
     "KRA01M",
     PP_ST_DELIVERED,
     {{0, "created", PP_ST_INFO_RECEIVED, "2026-03-27T17:02:11Z", "", "Przesyłka utworzona"},
      {4, "dispatched_by_sender", PP_ST_IN_TRANSIT, "2026-03-28T07:31:17Z", "WAW22A", NULL},
      {9, "sent_from_sorting_center", PP_ST_IN_TRANSIT, "2026-03-29T00:30:00Z", "", NULL},
      /* 01:30+01:00 and 03:30+02:00 straddle the spring-forward gap: one hour apart */
      {10, "adopted_at_target_branch", PP_ST_IN_TRANSIT, "2026-03-29T01:30:00Z", "", NULL},
      {11, "out_for_delivery", PP_ST_OUT_FOR_DELIVERY, "2026-03-29T04:20:31Z", "", NULL},
      {12, "ready_to_pickup", PP_ST_AVAILABLE_FOR_PICKUP, "2026-03-29T08:14:55Z", "KRA01M",
       "Umieszczona w automacie Paczkomat"},
      {14, "delivered", PP_ST_DELIVERED, "2026-03-30T15:45:03Z", "", "Dostarczona"},
      EV_END}},
    {"courier_failed_attempt.json",
     200,
     1,
     12,
     "690000123456789012345678",
     "",
     PP_ST_DELIVERED,
     {{0, "confirmed", PP_ST_INFO_RECEIVED, "2026-10-23T09:00:30Z", "", NULL},
      /* the repeated 02:30 local hour on 2026-10-25: +02:00 first, then +01:00 */
      {3, "sent_from_sorting_center", PP_ST_IN_TRANSIT, "2026-10-25T00:30:00Z", "", NULL},
      {4, "adopted_at_target_branch", PP_ST_IN_TRANSIT, "2026-10-25T01:30:00Z", "", NULL},
      {6, "undelivered", PP_ST_DELIVERY_FAILED, "2026-10-25T12:58:00Z", "", NULL},
      {7, "avizo", PP_ST_DELIVERY_FAILED, "2026-10-25T13:00:00Z", "", NULL},
      {9, "undelivered_no_mailbox", PP_ST_DELIVERY_FAILED, "2026-10-26T14:10:00Z", "", NULL},
      {10, "out_for_delivery_to_address", PP_ST_OUT_FOR_DELIVERY, "2026-10-27T06:45:00Z", "", NULL},
      {11, "delivered", PP_ST_DELIVERED, "2026-10-27T11:31:09Z", "", NULL}}},
    {"returned.json",
     200,
     1,
     10,
     "520000011395200025754333",
     "LOD05M",
     PP_ST_RETURNED,
     {{4, "ready_to_pickup", PP_ST_AVAILABLE_FOR_PICKUP, "2026-05-04T09:00:00Z", "LOD05M", NULL},
      {5, "pickup_reminder_sent", PP_ST_AVAILABLE_FOR_PICKUP, "2026-05-06T07:00:00Z", "LOD05M", NULL},
      {6, "pickup_time_expired", PP_ST_EXCEPTION, "2026-05-07T08:00:00Z", "", NULL},
      {7, "rejected_by_receiver", PP_ST_RETURNING, "2026-05-08T07:00:00Z", "", NULL},
      {8, "returned_to_sender", PP_ST_RETURNED, "2026-05-11T14:00:00Z", "", NULL},
      EV_END}},
    {"unknown_status.json",
     200,
     1,
     2,
     "520000011395200025754322",
     "WAW01A",
     PP_ST_UNKNOWN,
     {{1, "teleported_by_drone", PP_ST_UNKNOWN, "2026-06-01T10:00:00Z", "Warszawa", "teleported_by_drone"},
      EV_END}},
    {"empty_details.json", 200, 1, 0, "520000011395200025754399", "POZ08A", PP_ST_UNKNOWN, {EV_END}},
    {"not_found_404.json", 404, 0, 0, "", "", PP_ST_UNKNOWN, {EV_END}},
};

/* bodies that must fail (any non-empty reason) */
static const fixture_error_t errors[] = {
    {"error_404_html.html", 404, PP_EHTTP, NULL},
    {"error_401.json", 401, PP_EHTTP, NULL},
    {"error_401.json", 403, PP_EHTTP, NULL},
    {"error_429.json", 429, PP_EHTTP, NULL},
    {"error_500.html", 500, PP_EHTTP, NULL},
    {"error_500.html", 200, PP_EPARSE, NULL},
    {"truncated.json", 200, PP_EPARSE, NULL},
    {"wrong_types_details.json", 200, PP_EPARSE, NULL},
    {"wrong_types_datetime.json", 200, PP_EPARSE, NULL},
    {"wrong_types_number.json", 200, PP_EPARSE, NULL},
    {"missing_status.json", 200, PP_EPARSE, NULL},
    {"no_offset.json", 200, PP_EPARSE, NULL},
    {"not_object.json", 200, PP_EPARSE, NULL},
};

/* The specification of the mapping (research/carriers.md §3.3), written independently of inpost.c. */
static const struct {
    pp_status_t st;
    const char *names;
} spec[] = {
    {PP_ST_INFO_RECEIVED, "created offers_prepared offer_selected confirmed"},
    {PP_ST_IN_TRANSIT,
     "dispatched_by_sender dispatched_by_sender_to_pok collected_from_sender taken_by_courier "
     "taken_by_courier_from_pok adopted_at_source_branch sent_from_source_branch "
     "adopted_at_sorting_center sent_from_sorting_center adopted_at_target_branch readdressed "
     "redirect_to_box canceled_redirect_to_box permanently_redirected_to_box_machine "
     "permanently_redirected_to_customer_service_point unstack_from_box_machine "
     "unstack_from_customer_service_point taken_by_courier_from_customer_service_point"},
    {PP_ST_OUT_FOR_DELIVERY, "out_for_delivery out_for_delivery_to_address"},
    {PP_ST_AVAILABLE_FOR_PICKUP,
     "ready_to_pickup ready_to_pickup_from_branch ready_to_pickup_from_pok "
     "ready_to_pickup_from_pok_registered stack_in_box_machine stack_in_customer_service_point "
     "pickup_reminder_sent pickup_reminder_sent_address courier_avizo_in_customer_service_point "
     "ready_for_collection"},
    {PP_ST_DELIVERED, "delivered collected_by_customer avizo_completed cod_completed"},
    {PP_ST_DELIVERY_FAILED,
     "avizo undelivered undelivered_wrong_address undelivered_incomplete_address "
     "undelivered_unknown_receiver undelivered_cod_cash_receiver undelivered_no_mailbox "
     "undelivered_not_live_address undelivered_lack_of_access_letterbox delivery_attempt_failed"},
    {PP_ST_EXCEPTION,
     "oversized delay_in_delivery pickup_time_expired stack_parcel_pickup_time_expired "
     "stack_parcel_in_box_machine_pickup_time_expired missing claimed avizo_rejected cod_rejected "
     "canceled cancelled"},
    {PP_ST_RETURNING, "rejected_by_receiver not_collected"},
    {PP_ST_RETURNED, "returned_to_sender return_pickup_confirmation_to_sender"},
};

static void test_all_statuses(const pp_carrier_t *c)
{
    size_t len, n = 0, seen = 0, total = 0;
    pp_track_result_t *r = NULL;
    char err[256] = "";
    char *body = fixture_slurp("all_statuses.json", &len);
    CHECK(body != NULL);
    if (!body)
        return;
    CHECK_INT(pp_carrier_parse(c, 200, body, len, &r, &n, err, sizeof err), 0);
    free(body);
    if (n != 1)
        return;
    for (size_t s = 0; s < sizeof spec / sizeof spec[0]; s++) {
        char names[2048], *save = NULL;
        snprintf(names, sizeof names, "%s", spec[s].names);
        for (char *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            total++;
            const pp_track_event_t *ev = NULL;
            for (size_t i = 0; i < r->n_events; i++)
                if (strcmp(r->events[i].carrier_code, w) == 0)
                    ev = &r->events[i];
            if (!ev) {
                fprintf(stderr, "status %s not in all_statuses.json\n", w);
                CHECK(ev != NULL);
                continue;
            }
            seen++;
            if (ev->status != spec[s].st)
                fprintf(stderr, "status %s: got %s, want %s\n", w, pp_status_name(ev->status),
                        pp_status_name(spec[s].st));
            CHECK_INT(ev->status, spec[s].st);
            CHECK(strcmp(ev->description, w) != 0); /* a Polish title, not the raw code */
            if (spec[s].st == PP_ST_AVAILABLE_FOR_PICKUP)
                CHECK_STR(ev->location, "GDA12M");
        }
    }
    CHECK_INT(seen, total);
    CHECK_INT(r->n_events, total); /* nothing in the fixture that the spec does not list */
    pp_track_results_free(r, n);
}

static void test_request_and_validate(const pp_carrier_t *c)
{
    pp_config_t cfg;
    pp_http_request_t req;
    char e[128];
    CHECK_INT(pp_config_init(&cfg), 0);
    CHECK_INT(pp_config_set(&cfg, "inpost_base_url", "http://127.0.0.1:8099/", e, sizeof e), 0);
    const char *num[] = {"520000011395200025754311"};
    CHECK_INT(c->build_request(&cfg, NULL, num, 1, &req), 0);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.url, "http://127.0.0.1:8099/v1/tracking/520000011395200025754311");
    CHECK_INT(req.n_headers, 2);
    CHECK_STR(req.headers[0], "Accept: application/json");
    CHECK_STR(req.headers[1], "X-User-Agent: parcelpush");
    pp_http_request_free(&req);
    CHECK_INT(pp_config_set(&cfg, "inpost_token", "s3cr3t", e, sizeof e), 0);
    const char *odd[] = {"52 00/1?x"};
    CHECK_INT(c->build_request(&cfg, NULL, odd, 1, &req), 0);
    CHECK_STR(req.url, "http://127.0.0.1:8099/v1/tracking/52%2000%2F1%3Fx");
    CHECK_INT(req.n_headers, 3);
    CHECK_STR(req.headers[2], "Authorization: Bearer s3cr3t");
    pp_http_request_free(&req);
    const char *two[] = {"1", "2"};
    CHECK_INT(c->build_request(&cfg, NULL, two, 2, &req), PP_EINVAL);
    pp_config_free(&cfg);

    CHECK(pp_number_valid(c->name, "520000011395200025754311"));
    CHECK(pp_number_valid(c->name, "6340012345678901234"));
    CHECK(!pp_number_valid(c->name, "52000001139520002575431"));
    CHECK(!pp_number_valid(c->name, "5200000113952000257543111"));
    CHECK(!pp_number_valid(c->name, "52000001139520002575431a"));
    CHECK(!pp_number_valid(c->name, ""));
    CHECK(!pp_number_valid(c->name, NULL));
}

/* Pickup point address and deadline (ready_to_pickup at 2026-03-29T10:14:55+02:00 + 72 h). */
static void check_pickup(const pp_carrier_t *c)
{
    static const struct {
        const char *file;
        const char *address;
        const char *deadline; /* "" = none */
    } rows[] = {
        {"locker_waiting.json", "ul. Kalwaryjska 12, 30-504 Kraków", "2026-04-01T08:14:55Z"},
        {"locker_delivered.json", "ul. Kalwaryjska 12, 30-504 Kraków", ""},
        {"courier_failed_attempt.json", "", ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t len, n = 0;
        pp_track_result_t *r = NULL;
        char err[256] = "", ts[PP_TIME_ISO_LEN] = "";
        char *body = fixture_slurp(rows[i].file, &len);
        CHECK(body != NULL);
        if (!body)
            continue;
        CHECK_INT(pp_carrier_parse(c, 200, body, len, &r, &n, err, sizeof err), 0);
        if (n == 1) {
            CHECK_STR(r->pickup_address, rows[i].address);
            if (r->pickup_deadline)
                pp_time_format(r->pickup_deadline, ts);
            CHECK_STR(ts, rows[i].deadline);
        }
        pp_track_results_free(r, n);
        free(body);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test-inpost FIXTURE_DIR\n");
        return 2;
    }
    fixture_dir = argv[1];
    const pp_carrier_t *c = pp_carrier_find("inpost");
    CHECK(c != NULL);
    if (!c)
        return CHECK_DONE();
    CHECK(pp_carrier_find("InPost") == c);
    CHECK(pp_carrier_find("nope") == NULL);
    check_pickup(c);
    size_t nall = 0;
    CHECK(pp_carrier_all(&nall) != NULL && nall >= 1);
    CHECK_INT(c->max_batch, 1);
    fixture_run_cases(c, cases, sizeof cases / sizeof cases[0]);
    fixture_run_errors(c, errors, sizeof errors / sizeof errors[0]);
    test_all_statuses(c);
    fixture_check_truncations(c, "locker_delivered.json", NULL);
    test_request_and_validate(c);
    /* carrier text with control characters, invalid UTF-8, long Polish text */
    fixture_check_hostile(c, "locker_delivered.json", 200, "KRA01M", 0);
    fixture_check_hostile_number(c, "locker_delivered.json", 200, "520000011395200025754311", 0);
    return CHECK_DONE();
}
