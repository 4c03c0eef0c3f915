/* inpost.c - renders simulator scenarios in the InPost ShipX tracking shape (field names as the real API). */
#include "inpost.h"
#include "err.h"
#include "httpd.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *status;
    const char *origin;
} shipx_name_t;

static shipx_name_t step_name(pp_sim_step_kind_t k, int to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED: return (shipx_name_t){"confirmed", "PWW"};
    case PP_SIM_DROPPED_AT_LOCKER: return (shipx_name_t){"dispatched_by_sender", "NAD"};
    case PP_SIM_COLLECTED: return (shipx_name_t){"collected_from_sender", "ODK"};
    case PP_SIM_TAKEN_FROM_LOCKER: return (shipx_name_t){"taken_by_courier", "OKN"};
    case PP_SIM_SOURCE_BRANCH_IN: return (shipx_name_t){"adopted_at_source_branch", "PNO"};
    case PP_SIM_SOURCE_BRANCH_OUT: return (shipx_name_t){"sent_from_source_branch", "WOD"};
    case PP_SIM_SORTING_IN: return (shipx_name_t){"adopted_at_sorting_center", "PSO"};
    case PP_SIM_SORTING_OUT: return (shipx_name_t){"sent_from_sorting_center", "WSO"};
    case PP_SIM_TARGET_BRANCH_IN: return (shipx_name_t){"adopted_at_target_branch", "PDD"};
    case PP_SIM_OUT_FOR_DELIVERY: return (shipx_name_t){"out_for_delivery", "WDR"};
    case PP_SIM_NOTICE_LEFT: return (shipx_name_t){"avizo", "AWI"};
    case PP_SIM_UNDELIVERED: return (shipx_name_t){"undelivered", "NDR"};
    case PP_SIM_READY_AT_LOCKER: return (shipx_name_t){"ready_to_pickup", "UMP"};
    case PP_SIM_PICKUP_REMINDER: return (shipx_name_t){"pickup_reminder_sent", "PRZ"};
    case PP_SIM_DELIVERED: return (shipx_name_t){"delivered", to_locker ? "ODB" : "DOR"};
    }
    return (shipx_name_t){"other", "INN"};
}

static bool inpost_number_ok(const char *number)
{
    size_t n = strlen(number);
    if (n != 24)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)number[i]))
            return 0;
    return 1;
}

static void machine_json(pp_sim_buf_t *b, const char *id)
{
    pp_sim_put(b,
               "{\"name\":\"%s\",\"opening_hours\":\"24/7\",\"location_description\":\"Przy wejściu do "
               "sklepu\",\"address\":{\"line1\":\"ul. Testowa %d\",\"line2\":\"00-%03d %.3s\"},"
               "\"type\":[\"parcel_locker\"]}",
               id, (id[3] - '0') * 10 + (id[4] - '0'), (int)(pp_sim_hash(id) % 1000), id);
}

static int inpost_body(const char *number, const pp_sim_scenario_t *sc, int visible, time_t origin,
                       char **out, size_t *len)
{
    char created[40], updated[40], dt[40];
    pp_sim_buf_t b = {0};
    if (visible < 1 || visible > sc->n_steps)
        return PP_EINVAL;
    b.cap = 4096;
    if (!(b.p = malloc(b.cap)))
        return PP_ENOMEM;
    const pp_sim_step_t *newest = &sc->steps[visible - 1];
    const char *service = sc->to_locker ? "inpost_locker_standard" : "inpost_courier_standard";
    pp_sim_format_warsaw(origin + (time_t)sc->steps[0].at_s, created);
    pp_sim_format_warsaw(origin + (time_t)newest->at_s, updated);
    pp_sim_put(&b,
               "{\"href\":\"https://api-shipx-pl.easypack24.net/v1/tracking/%s\",\"tracking_number\":\"%s\","
               "\"service\":\"%s\",\"type\":\"%s\",\"status\":\"%s\",\"custom_attributes\":{",
               number, number, service, service, step_name(newest->kind, sc->to_locker).status);
    if (sc->to_locker) {
        pp_sim_put(&b, "\"size\":\"%c\",\"target_machine_id\":\"%s\",\"target_machine_detail\":",
                   sc->size, sc->locker_id);
        machine_json(&b, sc->locker_id);
        pp_sim_put(&b, ",");
    } else {
        pp_sim_put(&b, "\"target_machine_id\":null,\"target_machine_detail\":null,");
    }
    if (sc->from_locker) {
        pp_sim_put(&b, "\"dropoff_machine_id\":\"%s\",\"dropoff_machine_detail\":", sc->dropoff_id);
        machine_json(&b, sc->dropoff_id);
    } else {
        pp_sim_put(&b, "\"dropoff_machine_id\":null,\"dropoff_machine_detail\":null");
    }
    pp_sim_put(&b,
               ",\"end_of_week_collection\":false},\"created_at\":\"%s\",\"updated_at\":\"%s\","
               "\"tracking_details\":[",
               created, updated);
    for (int i = visible - 1; i >= 0; i--) {
        const pp_sim_step_t *s = &sc->steps[i];
        shipx_name_t nm = step_name(s->kind, sc->to_locker);
        pp_sim_format_warsaw(origin + (time_t)s->at_s, dt);
        pp_sim_put(&b, "%s{\"status\":\"%s\",\"origin_status\":\"%s\",",
                   i == visible - 1 ? "" : ",", nm.status, nm.origin);
        if (s->place[0])
            pp_sim_put(&b, "\"agency\":\"%s\",", s->place);
        else
            pp_sim_put(&b, "\"agency\":null,");
        if (s->kind == PP_SIM_DROPPED_AT_LOCKER)
            pp_sim_put(&b, "\"location\":\"%s\",", sc->dropoff_id);
        else
            pp_sim_put(&b, "\"location\":null,");
        pp_sim_put(&b, "\"datetime\":\"%s\"}", dt);
    }
    pp_sim_put(&b, "],\"expected_flow\":[]}");
    return pp_sim_buf_finish(&b, out, len);
}

static int inpost_error(int status, char **body, size_t *len)
{
    const char *error = "internal_server_error", *desc = "Something went wrong.";
    switch (status) {
    case 400:
        error = "invalid_parameter";
        desc = "Invalid parameter.";
        break;
    case 401:
        error = "token_invalid";
        desc = "Token is missing or invalid.";
        break;
    case 404:
        error = "resource_not_found";
        desc = "Tracking number not found.";
        break;
    case 405:
        error = "method_not_allowed";
        desc = "Only GET is supported.";
        break;
    case 429:
        error = "too_many_requests";
        desc = "Too many requests, slow down.";
        break;
    }
    pp_sim_buf_t b = {0};
    pp_sim_put(&b, "{\"status\":%d,\"error\":\"%s\",\"description\":\"%s\",\"details\":null}",
               status, error, desc);
    return pp_sim_buf_finish(&b, body, len);
}

/* GET /v1/tracking/{number}: one number per request, in the path. */
static int inpost_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    h2o_iovec_t path = pp_httpd_path(req);
    size_t plen = strlen("/v1/tracking/");
    if (path.len <= plen) {
        call->error_status = 404;
        return PP_EINVAL;
    }
    return pp_sim_call_add(call, path.base + plen, path.len - plen);
}

static int inpost_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    if (!s->token)
        return 0;
    h2o_iovec_t auth = pp_httpd_req_header(req, "authorization");
    size_t tl = strlen(s->token);
    return !(auth.len == tl + 7 && memcmp(auth.base, "Bearer ", 7) == 0 &&
             memcmp(auth.base + 7, s->token, tl) == 0);
}

static int inpost_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    if (n != 1 || !parcels[0].valid || parcels[0].visible == 0) {
        *status = 404;
        return inpost_error(404, body, len);
    }
    *status = 200;
    return inpost_body(parcels[0].number, &parcels[0].sc, parcels[0].visible, parcels[0].origin,
                       body, len);
}

const pp_sim_shape_t pp_sim_shape_inpost = {
    .carrier = "inpost",
    .route = "/v1/tracking/",
    .content_type = "application/json; charset=utf-8",
    .parse_request = inpost_parse_request,
    .check_auth = inpost_check_auth,
    .number_ok = inpost_number_ok,
    .render = inpost_render,
    .render_error = inpost_error,
};
