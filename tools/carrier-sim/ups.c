/* ups.c - renders simulator scenarios in the UPS Track API v1 shape, with its OAuth client-credentials token endpoint. */
#include "ups.h"
#include "err.h"
#include "httpd.h"
#include "timeutil.h"
#include "carriers/numbers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *type;   /* activity type: M, I, X, D */
    const char *code;   /* scan code */
    const char *status; /* statusCode (status/description code, zero-padded as in the spec) */
    const char *desc;
} ups_text_t;

/*
 * Activity status per scenario step: type and statusCode from UPS's appendix (research
 * §2.3: 003 Shipment Ready for UPS, 038 Picked Up by UPS, 169 Dropped off at a UPS Access
 * Point, 005 On the Way, 021 Out for Delivery, 022 First Attempt Made, 060 Delivery
 * Attempted, 161 Delivered to UPS Access Point, 040 Ready for Customer Pickup, 011
 * Delivered); the two-letter scan codes are those karrio maps the same way. The pairing of
 * scan code and statusCode is the simulator's choice (no public source pairs them).
 */
static ups_text_t step_text(pp_sim_step_kind_t k, int to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED:
        return (ups_text_t){"M", "MP", "003",
                            "Shipper created a label, UPS has not received the package yet."};
    case PP_SIM_DROPPED_AT_LOCKER:
        return (ups_text_t){"I", "OC", "169", "Dropped off at a UPS Access Point"};
    case PP_SIM_COLLECTED: return (ups_text_t){"I", "PU", "038", "Picked up by UPS"};
    case PP_SIM_TAKEN_FROM_LOCKER: return (ups_text_t){"I", "OR", "038", "Origin Scan"};
    case PP_SIM_SOURCE_BRANCH_IN:
    case PP_SIM_SORTING_IN:
    case PP_SIM_TARGET_BRANCH_IN: return (ups_text_t){"I", "AR", "005", "Arrived at Facility"};
    case PP_SIM_SOURCE_BRANCH_OUT:
    case PP_SIM_SORTING_OUT: return (ups_text_t){"I", "DP", "005", "Departed from Facility"};
    case PP_SIM_OUT_FOR_DELIVERY: return (ups_text_t){"I", "OT", "021", "Out For Delivery Today"};
    case PP_SIM_NOTICE_LEFT:
        return (ups_text_t){"X", "UR", "022",
                            "The receiver was not available for delivery. We'll make a second attempt the next business day."};
    case PP_SIM_UNDELIVERED: return (ups_text_t){"X", "UF", "060", "Delivery Attempted"};
    case PP_SIM_READY_AT_LOCKER:
        return (ups_text_t){"X", "AC", "161",
                            "Delivered to UPS Access Point and awaiting customer pickup"};
    case PP_SIM_PICKUP_REMINDER: return (ups_text_t){"X", "RP", "040", "Ready for Customer Pickup"};
    case PP_SIM_DELIVERED:
        return to_locker ? (ups_text_t){"D", "KB", "011", "Picked up at UPS Access Point"}
                         : (ups_text_t){"D", "FS", "011", "DELIVERED"};
    }
    return (ups_text_t){"NA", "", "000", "Status Not Available"};
}

static const char *city_of(const char *code)
{
    static const char *const map[][2] = {
        {"KRA", "Krakow"},   {"WAW", "Warsaw"},    {"GDA", "Gdansk"},   {"POZ", "Poznan"},
        {"WRO", "Wroclaw"},  {"LOD", "Lodz"},      {"KAT", "Katowice"}, {"LUB", "Lublin"},
        {"SZC", "Szczecin"}, {"BYD", "Bydgoszcz"}, {"RZE", "Rzeszow"},  {"OLS", "Olsztyn"},
        {"SOR", "Strykow"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(code, map[i][0], 3) == 0)
            return map[i][1];
    return "";
}

static const char *step_city(const pp_sim_scenario_t *sc, const pp_sim_step_t *s)
{
    return city_of(pp_sim_step_place(sc, s));
}

static void activity_json(pp_sim_buf_t *b, const pp_sim_scenario_t *sc, const pp_sim_step_t *s,
                          time_t origin)
{
    char w[40];
    struct tm g;
    time_t t = origin + (time_t)s->at_s;
    ups_text_t x = step_text(s->kind, sc->to_locker);
    const char *city = step_city(sc, s);
    pp_sim_format_warsaw(t, w); /* "2026-03-29T03:30:00.000+02:00" */
    gmtime_r(&t, &g);
    pp_sim_put(b, "{\"location\":");
    if (city[0])
        pp_sim_put(b,
                   "{\"address\":{\"city\":\"%s\",\"stateProvince\":\"\",\"countryCode\":\"PL\","
                   "\"country\":\"PL\"},\"slic\":\"%04u\"}",
                   city, (unsigned)(pp_sim_hash(city) % 10000));
    else
        pp_sim_put(b, "{\"address\":{\"countryCode\":\"PL\",\"country\":\"PL\"}}");
    /* local date/time, GMT date/time (gmtTime without the leading zero, as the spec's
       example "74700") and the offset */
    pp_sim_put(b,
               ",\"status\":{\"type\":\"%s\",\"description\":\"%s\",\"code\":\"%s\","
               "\"statusCode\":\"%s\"},\"date\":\"%.4s%.2s%.2s\",\"time\":\"%.2s%.2s%.2s\","
               "\"gmtDate\":\"%04d%02d%02d\",\"gmtOffset\":\"%.6s\",\"gmtTime\":\"%d%02d%02d\"}",
               x.type, x.desc, x.code, x.status, w, w + 5, w + 8, w + 11, w + 14, w + 17,
               g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, w + 23, g.tm_hour, g.tm_min, g.tm_sec);
}

static int ups_body(const char *number, const pp_sim_scenario_t *sc, int visible, time_t origin,
                    char **out, size_t *len)
{
    pp_sim_buf_t b = {0};
    if (visible > sc->n_steps)
        return PP_EINVAL;
    pp_sim_put(&b, "{\"trackResponse\":{\"shipment\":[{\"inquiryNumber\":\"");
    pp_sim_put_escaped_json(&b, number);
    if (visible == 0) { /* not known yet: 200 with a warning and no package (research §2.4) */
        pp_sim_put(&b, "\",\"userRelation\":[],\"warnings\":[{\"code\":\"TW0001\","
                       "\"message\":\"Tracking Information Not Found\"}]}]}}");
    } else {
        const pp_sim_step_t *newest = &sc->steps[visible - 1];
        ups_text_t cur = step_text(newest->kind, sc->to_locker);
        pp_sim_put(&b, "\",\"userRelation\":[],\"package\":[{\"trackingNumber\":\"");
        pp_sim_put_escaped_json(&b, number);
        pp_sim_put(&b,
                   "\",\"currentStatus\":{\"description\":\"%s\",\"code\":\"%s\",\"type\":\"%s\","
                   "\"statusCode\":\"%s\"},\"service\":{\"code\":\"011\",\"description\":\"UPS Standard\"},"
                   "\"packageCount\":1,\"weight\":{\"unitOfMeasurement\":\"KGS\",\"weight\":\"%d.%02d\"},"
                   "\"activity\":[",
                   cur.desc, cur.code, cur.type, cur.status, 1 + (int)(sc->hash % 20),
                   (int)(sc->hash % 100));
        for (int i = visible - 1; i >= 0; i--) {
            if (i != visible - 1)
                pp_sim_put(&b, ",");
            activity_json(&b, sc, &sc->steps[i], origin);
        }
        pp_sim_put(&b, "]}]}]}}");
    }
    return pp_sim_buf_finish(&b, out, len);
}

/*
 * UPS's error document {"response":{"errors":[{code,message}]}} (research §2.4). TV1002
 * and 250003 are documented; 250002 (bad bearer) and the 429/5xx codes are the
 * simulator's choice of plausible values.
 */
static int ups_error_doc(int status, const char *code, const char *msg, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    (void)status;
    pp_sim_put(&b, "{\"response\":{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}}", code, msg);
    return pp_sim_buf_finish(&b, body, len);
}

static int ups_error(int status, char **body, size_t *len)
{
    switch (status) {
    case 400: return ups_error_doc(status, "TV1002", "Invalid inquiry number", body, len);
    case 401:
        return ups_error_doc(status, "250002", "Invalid Authentication Information.", body, len);
    case 403: return ups_error_doc(status, "250003", "Invalid Access License number", body, len);
    case 404: return ups_error_doc(status, "TW0001", "Tracking Information Not Found", body, len);
    case 405: return ups_error_doc(status, "TV1001", "Method not allowed", body, len);
    case 429: return ups_error_doc(status, "429", "Too Many Requests", body, len);
    }
    return ups_error_doc(status, "9999", "General System Failure", body, len);
}

/* GET /api/track/v1/details/{inquiryNumber}: one number, in the path. */
static int ups_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    h2o_iovec_t path = pp_httpd_path(req);
    size_t plen = strlen("/api/track/v1/details/");
    if (path.len <= plen) {
        call->error_status = 400;
        return PP_EINVAL;
    }
    return pp_sim_call_add(call, path.base + plen, path.len - plen);
}

/* A bearer token this simulator issued and that has not expired (else 401). */
static int ups_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    h2o_iovec_t auth = pp_httpd_req_header(req, "authorization");
    if (!auth.base || auth.len <= 7 || strncasecmp(auth.base, "Bearer ", 7) != 0)
        return 1;
    return !pp_sim_token_valid(s, auth.base + 7, auth.len - 7);
}

static bool ups_number_ok(const char *number) { return pp_number_valid("ups", number); }

static int ups_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    if (n != 1 || !parcels[0].valid) {
        *status = 400; /* malformed inquiry number */
        return ups_error(400, body, len);
    }
    *status = 200; /* also while not found: 200 + TW0001 */
    return ups_body(parcels[0].number, &parcels[0].sc, parcels[0].visible, parcels[0].origin, body,
                    len);
}

/* ---- POST /security/v1/oauth/token ------------------------------------------------------ */

static void b64(const char *in, char *out, size_t cap)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), k = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[k++] = t[(v >> 18) & 63];
        out[k++] = t[(v >> 12) & 63];
        out[k++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[k++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[k] = '\0';
}

static void send_json(h2o_req_t *req, int status, const char *body, size_t len)
{
    pp_httpd_send(req, status, "application/json", body, len);
}

static void send_error(h2o_req_t *req, int status, const char *code, const char *msg)
{
    char *body;
    size_t len;
    if (ups_error_doc(status, code, msg, &body, &len) != 0) {
        pp_httpd_send(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    send_json(req, status, body, len);
    free(body);
}

/*
 * client_secret_basic (research §2.1): Authorization: Basic base64(id:secret) must match
 * --client-id/--client-secret when those are set (any Basic credentials otherwise), and the
 * form body must ask for grant_type=client_credentials. The answer has UPS's field set, with
 * issued_at and expires_in as strings as UPS sends them.
 */
static int on_token(h2o_req_t *req, void *arg)
{
    pp_sim_t *s = arg;
    char want[512], cred[400], tok[128];
    s->n.token_requests++;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        send_error(req, 405, "10405", "Method not allowed");
        return PP_OK;
    }
    h2o_iovec_t auth = pp_httpd_req_header(req, "authorization");
    if (!auth.base || auth.len <= 6 || strncasecmp(auth.base, "Basic ", 6) != 0) {
        send_error(req, 401, "10401", "ClientId is Invalid");
        return PP_OK;
    }
    if (s->client_id) {
        snprintf(cred, sizeof cred, "%s:%s", s->client_id, s->client_secret ? s->client_secret : "");
        b64(cred, want, sizeof want);
        if (auth.len - 6 != strlen(want) || memcmp(auth.base + 6, want, auth.len - 6) != 0) {
            send_error(req, 401, "10401", "ClientId is Invalid");
            return PP_OK;
        }
    }
    h2o_iovec_t e = req->entity;
    const char *gt = "grant_type=client_credentials";
    bool grant = false;
    for (size_t i = 0; e.base && i + strlen(gt) <= e.len; i++)
        if (memcmp(e.base + i, gt, strlen(gt)) == 0 && (i == 0 || e.base[i - 1] == '&') &&
            (i + strlen(gt) == e.len || e.base[i + strlen(gt)] == '&'))
            grant = true;
    if (!grant) {
        send_error(req, 400, "10400", "Invalid/Missing grant_type");
        return PP_OK;
    }
    pp_sim_issue_token(s, tok, sizeof tok);
    pp_sim_buf_t b = {0};
    pp_sim_put(&b, "{\"token_type\":\"Bearer\",\"issued_at\":\"%lld\",\"client_id\":\"",
               (long long)pp_now_ms());
    pp_sim_put_escaped_json(&b, s->client_id ? s->client_id : "sim");
    pp_sim_put(&b,
               "\",\"access_token\":\"%s\",\"scope\":\"\",\"expires_in\":\"%ld\","
               "\"refresh_count\":\"0\",\"status\":\"approved\"}",
               tok, s->token_ttl_s);
    if (b.oom) {
        free(b.p);
        send_error(req, 500, "9999", "General System Failure");
        return PP_OK;
    }
    send_json(req, 200, b.p, b.len);
    free(b.p);
    return PP_OK;
}

static int ups_register_routes(pp_sim_t *s)
{
    return pp_httpd_route(s->srv, "/security/v1/oauth/token", on_token, s);
}

const pp_sim_shape_t pp_sim_shape_ups = {
    .carrier = "ups",
    .route = "/api/track/v1/details/",
    .content_type = "application/json",
    .parse_request = ups_parse_request,
    .check_auth = ups_check_auth,
    .number_ok = ups_number_ok,
    .render = ups_render,
    .render_error = ups_error,
    .register_routes = ups_register_routes,
};
