/* dhl.c - renders simulator scenarios in the DHL Shipment Tracking - Unified shape (GET /track/shipments?trackingNumber=, problem+json errors). */
#include "dhl.h"
#include "err.h"
#include "httpd.h"
#include "carriers/numbers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *code;   /* statusCode: pre-transit, transit, delivered, failure, unknown */
    const char *status; /* short text */
    const char *desc;   /* description */
} dhl_text_t;

/*
 * DHL Parcel wording (English, as the Unified API answers with language=en, its default);
 * "out for delivery" and "ready for pick-up" come as statusCode transit with the meaning in
 * the text only (research/carriers.md §1.3), exactly what the adapter has to cope with.
 */
static dhl_text_t step_text(pp_sim_step_kind_t k, int to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED:
        return (dhl_text_t){"pre-transit", "Shipment information received",
                            "The instruction data for this shipment have been provided by the sender to DHL electronically"};
    case PP_SIM_DROPPED_AT_LOCKER:
        return (dhl_text_t){"transit", "Shipment posted",
                            "The shipment has been posted by the sender at the DHL POP Parcelshop"};
    case PP_SIM_COLLECTED:
        return (dhl_text_t){"transit", "Picked up", "The shipment has been picked up"};
    case PP_SIM_TAKEN_FROM_LOCKER:
        return (dhl_text_t){"transit", "Picked up",
                            "The shipment has been picked up from the drop-off point"};
    case PP_SIM_SOURCE_BRANCH_IN:
        return (dhl_text_t){"transit", "In transit",
                            "The shipment has arrived at the origin parcel center"};
    case PP_SIM_SOURCE_BRANCH_OUT:
        return (dhl_text_t){"transit", "In transit",
                            "The shipment has been processed in the origin parcel center"};
    case PP_SIM_SORTING_IN:
        return (dhl_text_t){"transit", "In transit", "The shipment has arrived at the hub"};
    case PP_SIM_SORTING_OUT:
        return (dhl_text_t){"transit", "In transit", "The shipment has departed from the hub"};
    case PP_SIM_TARGET_BRANCH_IN:
        return (dhl_text_t){"transit", "In transit", "The shipment has arrived at the delivery depot"};
    case PP_SIM_OUT_FOR_DELIVERY:
        return (dhl_text_t){"transit", "Out for delivery",
                            "The shipment has been loaded onto the delivery vehicle"};
    case PP_SIM_NOTICE_LEFT:
        return (dhl_text_t){"failure", "Delivery unsuccessful",
                            "The recipient was not found at the delivery address. A notification card has been left"};
    case PP_SIM_UNDELIVERED:
        return (dhl_text_t){"failure", "Delivery unsuccessful",
                            "The shipment could not be delivered. A new delivery attempt will be made"};
    case PP_SIM_READY_AT_LOCKER:
        return (dhl_text_t){"transit", "Ready for pickup",
                            "The shipment is ready for pickup at the DHL POP parcel locker"};
    case PP_SIM_PICKUP_REMINDER:
        return (dhl_text_t){"transit", "Ready for pickup",
                            "Reminder: the shipment is waiting for pickup at the DHL POP parcel locker"};
    case PP_SIM_DELIVERED:
        return to_locker
                   ? (dhl_text_t){"delivered", "Delivered",
                                  "The shipment has been picked up by the recipient from the DHL POP parcel locker"}
                   : (dhl_text_t){"delivered", "Delivered", "The shipment has been delivered"};
    }
    return (dhl_text_t){"unknown", "Information", "Shipment information updated"};
}

static const char *city_of(const char *code)
{
    static const char *const map[][2] = {
        {"KRA", "Kraków"},   {"WAW", "Warszawa"},  {"GDA", "Gdańsk"},   {"POZ", "Poznań"},
        {"WRO", "Wrocław"},  {"LOD", "Łódź"},      {"KAT", "Katowice"}, {"LUB", "Lublin"},
        {"SZC", "Szczecin"}, {"BYD", "Bydgoszcz"}, {"RZE", "Rzeszów"},  {"OLS", "Olsztyn"},
        {"SOR", "Stryków"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(code, map[i][0], 3) == 0)
            return map[i][1];
    return "";
}

/* The town of a step's place (pp_sim_step_place), "" if none. */
static const char *step_city(const pp_sim_scenario_t *sc, const pp_sim_step_t *s)
{
    return city_of(pp_sim_step_place(sc, s));
}

static void event_json(pp_sim_buf_t *b, const pp_sim_scenario_t *sc, const pp_sim_step_t *s,
                       time_t origin, int with_zone)
{
    char ts[40];
    dhl_text_t t = step_text(s->kind, sc->to_locker);
    const char *city = step_city(sc, s);
    pp_sim_format_warsaw(origin + (time_t)s->at_s, ts);
    if (!with_zone)
        ts[19] = '\0'; /* "2026-03-29T03:30:00": Warsaw local time without an offset */
    pp_sim_put(b, "{\"timestamp\":\"%s\",", ts);
    if (city[0])
        pp_sim_put(b, "\"location\":{\"address\":{\"countryCode\":\"PL\",\"addressLocality\":\"%s\"}},",
                   city);
    pp_sim_put(b, "\"statusCode\":\"%s\",\"status\":\"%s\",\"description\":\"%s\"}", t.code,
               t.status, t.desc);
}

static int dhl_body(const char *number, const pp_sim_scenario_t *sc, int visible, time_t origin,
                    char **out, size_t *len)
{
    pp_sim_buf_t b = {0};
    if (visible < 1 || visible > sc->n_steps)
        return PP_EINVAL;
    pp_sim_put(&b, "{\"url\":\"/shipments?trackingNumber=");
    pp_sim_put_escaped_json(&b, number);
    pp_sim_put(&b, "&offset=0&limit=5\",\"shipments\":[{\"id\":\"");
    pp_sim_put_escaped_json(&b, number);
    pp_sim_put(&b,
               "\",\"service\":\"parcel-pl\",\"origin\":{\"address\":{\"countryCode\":\"PL\","
               "\"addressLocality\":\"%s\"}},\"destination\":{\"address\":{\"countryCode\":\"PL\","
               "\"addressLocality\":\"%s\"}},\"status\":",
               city_of(sc->dropoff_id), city_of(sc->locker_id));
    /* the current status carries its offset; the history does not (as DHL's own example) */
    event_json(&b, sc, &sc->steps[visible - 1], origin, 1);
    pp_sim_put(&b, ",\"details\":{\"carrier\":{\"@type\":\"Organization\",\"organizationName\":"
                   "\"DHL Parcel Polska\"},\"product\":{\"productName\":\"DHL Parcel Connect\"},"
                   "\"totalNumberOfPieces\":1,\"pieceIds\":[\"");
    pp_sim_put_escaped_json(&b, number);
    pp_sim_put(&b, "\"]},\"events\":[");
    for (int i = visible - 1; i >= 0; i--) {
        if (i != visible - 1)
            pp_sim_put(&b, ",");
        event_json(&b, sc, &sc->steps[i], origin, 0);
    }
    pp_sim_put(&b, "]}]}");
    return pp_sim_buf_finish(&b, out, len);
}

/* application/problem+json bodies as DHL sends them (research §1.4). */
static int dhl_error(int status, char **body, size_t *len)
{
    const char *title = "Internal Server Error", *detail = "An unexpected error occurred.";
    switch (status) {
    case 400:
        title = "Bad Request";
        detail = "Parameter trackingNumber is required.";
        break;
    case 401:
        title = "Unauthorized";
        detail = "Unauthorized for given resource.";
        break;
    case 404:
        title = "No result found";
        detail = "No shipment with given tracking number found.";
        break;
    case 405:
        title = "Method Not Allowed";
        detail = "Only GET is supported.";
        break;
    case 429:
        title = "Too Many Requests";
        detail = "Too many requests within defined time period, please try again later.";
        break;
    }
    pp_sim_buf_t b = {0};
    pp_sim_put(&b, "{\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}", title, status, detail);
    return pp_sim_buf_finish(&b, body, len);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* GET /track/shipments?trackingNumber=N[&service=...]: one number, in the query. */
static int dhl_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    if (req->query_at == SIZE_MAX || req->query_at + 1 >= req->path.len) {
        call->error_status = 400;
        return PP_EINVAL;
    }
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if (stop - q > 15 && memcmp(q, "trackingNumber=", 15) == 0) {
            char num[64];
            size_t k = 0;
            for (const char *p = q + 15; p < stop && k < sizeof num - 1; p++) {
                if (*p == '%' && p + 2 < stop && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                    num[k++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
                    p += 2;
                } else {
                    num[k++] = *p == '+' ? ' ' : *p;
                }
            }
            if (k == 0)
                break;
            return pp_sim_call_add(call, num, k);
        }
        q = stop + 1;
    }
    call->error_status = 400;
    return PP_EINVAL;
}

/* DHL-API-Key must equal --token when one is set (else 401 problem+json). */
static int dhl_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    if (!s->token)
        return 0;
    h2o_iovec_t key = pp_httpd_req_header(req, "dhl-api-key");
    size_t tl = strlen(s->token);
    return !(key.base && key.len == tl && memcmp(key.base, s->token, tl) == 0);
}

static bool dhl_number_ok(const char *number) { return pp_number_valid("dhl", number); }

static int dhl_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    if (n != 1 || !parcels[0].valid || parcels[0].visible == 0) {
        *status = 404;
        return dhl_error(404, body, len);
    }
    *status = 200;
    return dhl_body(parcels[0].number, &parcels[0].sc, parcels[0].visible, parcels[0].origin, body,
                    len);
}

const pp_sim_shape_t pp_sim_shape_dhl = {
    .carrier = "dhl",
    .route = "/track/shipments",
    .content_type = "application/json",
    .parse_request = dhl_parse_request,
    .check_auth = dhl_check_auth,
    .number_ok = dhl_number_ok,
    .render = dhl_render,
    .render_error = dhl_error,
};
