/* gls.c - renders simulator scenarios in the GLS Track And Trace V1 shape, with its OAuth2 token endpoint. */
#include "gls.h"
#include "carriers/numbers.h"
#include "err.h"
#include "httpd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Shape: research/carriers.md §4. Batch GET of up to 10 numbers, 200 {"parcels":[...]} with
 * E_404_01 entries for numbers GLS does not know, events newest first, times with a "+0200"
 * offset; Apigee fault documents for 401/429, problem+json for 400/404/405/500. The token
 * endpoint (POST /oauth2/v1/token) takes HTTP Basic or form client credentials.
 * Event codes other than INTIAL.*, DELIVD.PARCELSHOP (the spec's examples) are made up for
 * the simulator; the parcel-level status values are the spec's enum.
 */

#define GLS_ROUTE "/track-and-trace-v1/tracking/simple/trackids/"
#define GLS_TOKEN_ROUTE "/oauth2/v1/token"

typedef struct {
    const char *code, *status, *desc;
} gls_step_t;

static gls_step_t step_name(pp_sim_step_kind_t k, int to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED:
        return (gls_step_t){"INTIAL.PREADVICE", "PREADVICE",
                            "The parcel data was entered into the GLS IT system; the parcel was not yet handed over to GLS."};
    case PP_SIM_DROPPED_AT_LOCKER:
        return (gls_step_t){"INTIAL.PARCELSHOP", "INTRANSIT",
                            "The parcel was dropped off at a GLS ParcelShop."};
    case PP_SIM_COLLECTED:
        return (gls_step_t){"INTIAL.NORMAL", "INTRANSIT", "The parcel was handed over to GLS."};
    case PP_SIM_TAKEN_FROM_LOCKER:
        return (gls_step_t){"INTIAL.NORMAL", "INTRANSIT", "The parcel was handed over to GLS."};
    case PP_SIM_SOURCE_BRANCH_IN:
        return (gls_step_t){"INBOUND.DEPOT", "INTRANSIT", "The parcel has reached the parcel center."};
    case PP_SIM_SOURCE_BRANCH_OUT:
        return (gls_step_t){"OUTBOUND.DEPOT", "INTRANSIT", "The parcel has left the parcel center."};
    case PP_SIM_SORTING_IN:
        return (gls_step_t){"INBOUND.HUB", "INTRANSIT", "The parcel has reached the GLS hub."};
    case PP_SIM_SORTING_OUT:
        return (gls_step_t){"OUTBOUND.HUB", "INTRANSIT", "The parcel has left the GLS hub."};
    case PP_SIM_TARGET_BRANCH_IN:
        return (gls_step_t){"INWARE.DEPOT", "INWAREHOUSE",
                            "The parcel has reached the delivery depot."};
    case PP_SIM_OUT_FOR_DELIVERY:
        return (gls_step_t){"INDELV.NORMAL", "INDELIVERY",
                            "The parcel is expected to be delivered during the day."};
    case PP_SIM_NOTICE_LEFT:
        return (gls_step_t){"NOTDEL.NOTATHOME", "NOTDELIVERED",
                            "The parcel could not be delivered as the consignee was absent. A notification card was left."};
    case PP_SIM_UNDELIVERED:
        return (gls_step_t){"NOTDEL.OTHER", "NOTDELIVERED", "The parcel could not be delivered."};
    case PP_SIM_READY_AT_LOCKER:
        return (gls_step_t){"DELIVD.PARCELSHOP", "DELIVEREDPS",
                            "The parcel has been delivered at the ParcelShop (see ParcelShop information)."};
    case PP_SIM_PICKUP_REMINDER:
        return (gls_step_t){"INFORM.PARCELSHOP", "DELIVEREDPS",
                            "The consignee was reminded to pick up the parcel."};
    case PP_SIM_DELIVERED:
        return to_locker
                   ? (gls_step_t){"DELIVD.PICKEDUP", "DELIVERED",
                                  "The parcel has been picked up by the consignee from the ParcelShop."}
                   : (gls_step_t){"DELIVD.NORMAL", "DELIVERED", "The parcel has been delivered."};
    }
    return (gls_step_t){"OTHER.OTHER", "INTRANSIT", ""};
}

static const struct {
    const char *code, *city, *postal;
} places[] = {
    {"KRA", "Kraków", "30-001"},    {"WAW", "Warszawa", "02-001"}, {"GDA", "Gdańsk", "80-001"},
    {"POZ", "Poznań", "60-001"},    {"WRO", "Wrocław", "50-001"},  {"LOD", "Łódź", "90-001"},
    {"KAT", "Katowice", "40-001"},  {"LUB", "Lublin", "20-001"},   {"SZC", "Szczecin", "70-001"},
    {"BYD", "Bydgoszcz", "85-001"}, {"RZE", "Rzeszów", "35-001"},  {"OLS", "Olsztyn", "10-001"},
    {"SOR", "Głuchów", "95-001"},
};

/* "2026-03-29T03:30:00+0200" (GLS: offset without a colon). */
static void gls_time(time_t t, char out[40])
{
    char w[40];
    pp_sim_format_warsaw(t, w); /* 2026-03-29T03:30:00.000+02:00 */
    snprintf(out, 40, "%.19s%.3s%.2s", w, w + 23, w + 27);
}

static bool gls_number_ok(const char *number) { return pp_number_valid("gls", number); }

static void parcel_json(pp_sim_buf_t *b, const pp_sim_parcel_t *p)
{
    char t[40];
    const pp_sim_scenario_t *sc = &p->sc;
    const pp_sim_step_t *newest = &sc->steps[p->visible - 1];
    gls_time(p->origin + (time_t)newest->at_s, t);
    pp_sim_put(b, "{\"requested\":\"%s\",\"unitno\":\"%s\",\"status\":\"%s\",\"statusDateTime\":\"%s\",\"events\":[",
               p->number, p->number, step_name(newest->kind, sc->to_locker).status, t);
    for (int i = p->visible - 1; i >= 0; i--) {
        const pp_sim_step_t *s = &sc->steps[i];
        gls_step_t g = step_name(s->kind, sc->to_locker);
        const char *city = "", *postal = "";
        for (size_t k = 0; k < sizeof places / sizeof places[0]; k++)
            if (strcmp(places[k].code, s->place) == 0)
                city = places[k].city, postal = places[k].postal;
        gls_time(p->origin + (time_t)s->at_s, t);
        pp_sim_put(b, "%s{\"code\":\"%s\",\"city\":\"%s\",\"postalCode\":\"%s\",\"country\":\"PL\",\"description\":\"",
                   i == p->visible - 1 ? "" : ",", g.code, city, postal);
        pp_sim_put_escaped_json(b, g.desc);
        pp_sim_put(b, "\",\"eventDateTime\":\"%s\"}", t);
    }
    pp_sim_put(b, "]}");
}

static int gls_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    pp_sim_put(&b, "{\"parcels\":[");
    for (size_t i = 0; i < n; i++) {
        const pp_sim_parcel_t *p = &parcels[i];
        if (i)
            pp_sim_put(&b, ",");
        if (!p->valid || p->visible == 0) {
            pp_sim_put(&b, "{\"requested\":\"");
            pp_sim_put_escaped_json(&b, p->number);
            pp_sim_put(&b, "\",\"errorCode\":\"E_404_01\",\"errorMessage\":\"Resource Not Found\"}");
        } else {
            parcel_json(&b, p);
        }
    }
    pp_sim_put(&b, "]}");
    *status = 200;
    return pp_sim_buf_finish(&b, body, len);
}

static int gls_error(int status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    switch (status) {
    case 401:
        pp_sim_put(&b, "{\"fault\":{\"faultstring\":\"The Token has expired: policy(Verify-JWT)\","
                       "\"detail\":{\"errorcode\":\"steps.jwt.TokenExpired\"}}}");
        break;
    case 429:
        pp_sim_put(&b,
                   "{\"fault\":{\"faultstring\":\"Rate limit quota violation. Quota limit  exceeded. "
                   "Identifier : pp-carrier-sim\",\"detail\":{\"errorcode\":\"policies.ratelimit.QuotaViolation\"}}}");
        break;
    default: {
        const char *title = status == 400   ? "Bad Request"
                            : status == 404 ? "Not Found"
                            : status == 405 ? "Method Not Allowed"
                                            : "Internal Server Error";
        const char *detail = status == 400 ? "Provided references are more than allowed limit of 10"
                             : status == 404 ? "No static resource."
                             : status == 405 ? "Request method is not supported."
                                             : "Internal Server Error";
        pp_sim_put(&b,
                   "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\","
                   "\"instance\":\"/tracking/simple/trackids\"}",
                   title, status, detail);
    }
    }
    return pp_sim_buf_finish(&b, body, len);
}

static int hexval(int c)
{
    return isdigit(c)               ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* Percent-decode src[0..n) into out (cap); '+' as space when form. */
static void pct_decode(const char *src, size_t n, char *out, size_t cap, bool form)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        if (src[i] == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
            out[k++] = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
        } else {
            out[k++] = form && src[i] == '+' ? ' ' : src[i];
        }
    }
    out[k] = '\0';
}

/* GET /track-and-trace-v1/tracking/simple/trackids/{n1,n2,...}: at most 10. */
static int gls_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    h2o_iovec_t path = pp_httpd_path(req);
    size_t plen = strlen(GLS_ROUTE);
    if (path.len <= plen) {
        call->error_status = 404;
        return PP_EINVAL;
    }
    const char *p = path.base + plen, *end = path.base + path.len;
    size_t count = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        char num[64];
        pct_decode(p, (size_t)(e - p), num, sizeof num, false);
        if (++count > 10) {
            call->error_status = 400;
            return PP_EINVAL;
        }
        int rc = pp_sim_call_add(call, num, strlen(num));
        if (rc)
            return rc;
        p = e + 1;
    }
    return PP_OK;
}

/* With --client-id: a bearer token from our token endpoint; else --token if set; else anything. */
static int gls_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    h2o_iovec_t auth = pp_httpd_req_header(req, "authorization");
    if (s->client_id)
        return !(auth.len > 7 && memcmp(auth.base, "Bearer ", 7) == 0 &&
                 pp_sim_token_valid(s, auth.base + 7, auth.len - 7));
    if (s->token) {
        size_t tl = strlen(s->token);
        return !(auth.len == tl + 7 && memcmp(auth.base, "Bearer ", 7) == 0 &&
                 memcmp(auth.base + 7, s->token, tl) == 0);
    }
    return 0;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (isdigit(c))
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static size_t b64decode(const char *in, size_t n, char *out, size_t cap)
{
    unsigned v = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        int d = b64val((unsigned char)in[i]);
        if (d < 0)
            return 0;
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k + 1 >= cap)
                return 0;
            out[k++] = (char)((v >> bits) & 0xFF);
        }
    }
    out[k] = '\0';
    return k;
}

/* Value of key in an x-www-form-urlencoded body, decoded into out; false if absent. */
static bool form_value(h2o_iovec_t body, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = body.base, *end = body.base + body.len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            pct_decode(p + kl + 1, (size_t)(e - p - (ptrdiff_t)kl - 1), out, cap, true);
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

static void send_json(h2o_req_t *req, int status, const char *json)
{
    pp_httpd_header(req, "cache-control", "no-store");
    pp_httpd_send(req, status, "application/json", json, strlen(json));
}

/* POST /oauth2/v1/token: grant_type=client_credentials; Basic or form client credentials. */
static int on_token(h2o_req_t *req, void *arg)
{
    pp_sim_t *s = arg;
    char id[300] = "", secret[300] = "", grant[64] = "", basic[300];
    s->n.token_requests++;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        send_json(req, 405, "{\"error\":\"invalid_request\",\"error_description\":\"POST required\"}");
        return PP_OK;
    }
    h2o_iovec_t auth = pp_httpd_req_header(req, "authorization");
    if (auth.len > 6 && strncasecmp(auth.base, "Basic ", 6) == 0 &&
        b64decode(auth.base + 6, auth.len - 6, basic, sizeof basic) > 0) {
        char *colon = strchr(basic, ':');
        if (colon) {
            *colon = '\0';
            snprintf(id, sizeof id, "%s", basic);
            snprintf(secret, sizeof secret, "%s", colon + 1);
        }
    } else {
        form_value(req->entity, "client_id", id, sizeof id);
        form_value(req->entity, "client_secret", secret, sizeof secret);
    }
    if (!form_value(req->entity, "grant_type", grant, sizeof grant) ||
        strcmp(grant, "client_credentials") != 0) {
        send_json(req, 400,
                  "{\"error\":\"unsupported_grant_type\",\"error_description\":\"grant_type must be client_credentials\"}");
        return PP_OK;
    }
    if (s->client_id && (strcmp(id, s->client_id) != 0 ||
                         strcmp(secret, s->client_secret ? s->client_secret : "") != 0)) {
        s->n.unauthorized++;
        send_json(req, 401,
                  "{\"error\":\"invalid_client\",\"error_description\":\"Client authentication failed\"}");
        return PP_OK;
    }
    char tok[128], json[400];
    pp_sim_issue_token(s, tok, sizeof tok);
    snprintf(json, sizeof json,
             "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%ld}", tok,
             s->token_ttl_s);
    send_json(req, 200, json);
    return PP_OK;
}

static int gls_register_routes(pp_sim_t *s)
{
    return pp_httpd_route(s->srv, GLS_TOKEN_ROUTE, on_token, s);
}

const pp_sim_shape_t pp_sim_shape_gls = {
    .carrier = "gls",
    .route = GLS_ROUTE,
    .content_type = "application/json",
    .parse_request = gls_parse_request,
    .check_auth = gls_check_auth,
    .number_ok = gls_number_ok,
    .render = gls_render,
    .render_error = gls_error,
    .register_routes = gls_register_routes,
};
