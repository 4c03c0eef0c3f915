/* dhl.c - DHL Shipment Tracking - Unified adapter: GET /track/shipments?trackingNumber=, parse shipments[].events[], map statusCode + text rules. */
#include "carrier.h"
#include "../checkdigit.h"
#include "numbers.h"
#include "../err.h"
#include "../timeutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "dhl", (k))

/*
 * Tracking-number formats (numbers.c detects over every carrier's; sources: research/
 * carriers.md §8, jkeen/tracking_number_data). Confidence: how surely a number of this shape,
 * check digit right, is this carrier's; a shape other carriers share gets less.
 * DHL Parcel PL: no check-digit rule was found (research §8 "[not found]"): shape only. DHL
 * eCommerce prefixes overlap S10 items (LX/RX/CN/…): lower confidence, shown as ambiguous.
 */
static const pp_number_format_t formats[] = {
    {"dhl", "dhl_parcel_de", "^00340434[0-9]{12}$", "GS1 mod 10", pp_checkdigit_gs1_valid, 95,
     "observed"},
    {"dhl", "dhl_express", "^[0-9]{10}$", "mod 7 of the first 9 digits", pp_checkdigit_mod7_valid,
     50, "observed"},
    {"dhl", "dhl_express_11", "^[0-9]{11}$", "mod 7 of the first 10 digits",
     pp_checkdigit_mod7_valid, 30, "observed"},
    {"dhl", "dhl_piece_id", "^J[A-Z]{2,3}[0-9]{9,10}$", "none", NULL, 70, "observed"},
    {"dhl", "dhl_ecommerce", "^(GM|LX|RX|UV|CN|SG|TH|IN|HK|MY)[0-9A-Z]{10,39}$",
     "none; a digit after the prefix", pp_carrier_tail_has_digit, 40, "observed"},
    {"dhl", "dhl_ecommerce_14", "^[0-9]{14}$", "none", NULL, 20, "observed"},
    {"dhl", "dhl_parcel_pl", "^[0-9]{11}$", "none (not found)", NULL, 40, "observed"},
};

/* Configuration keys: dhl_<name> (PP_DHL_<NAME>), docs/config.md. */
enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_API_KEY, K_SERVICE };
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] =
        {"rps", PP_CFG_INT, "5", 0, 100000, true, false,
         "fleet-wide DHL requests/s (0 = unlimited); DHL's published tiers: 1/s Starter, 2/s Standard; set your contract"},
    [PP_CARRIER_KEY_PER_DAY] =
        {"per_day", PP_CFG_INT, "50000", 0, 100000000, true, false,
         "fleet-wide DHL requests per UTC day (0 = unlimited); DHL's initial quota is 250/day (Standard 1000), raised on request"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://api-eu.dhl.com", 0, 0, true, false,
                    "DHL Shipment Tracking - Unified API base URL (tracking at /track/shipments)"},
    [K_API_KEY] = {"api_key", PP_CFG_STR, "", 0, 0, true, true,
                   "DHL API key, sent as DHL-API-Key (portal Consumer Key; empty = none)"},
    [K_SERVICE] = {"service", PP_CFG_STR, "", 0, 0, true, false,
                   "DHL service filter sent as &service= (empty = none; parcel-pl for DHL Parcel Polska, express, ...)"},
};

extern const pp_carrier_t pp_carrier_dhl;

/*
 * Status model (research/carriers.md §1.3): statusCode is one of pre-transit, transit,
 * delivered, failure, unknown. DHL says "out for delivery", "ready for pick-up" and
 * "return to origin" are planned but not available, so those can only be read from the
 * free text (`status` short text + `description`). The raw statusCode is kept as the
 * event's carrier_code, the text as its description.
 */
enum { C_PRE = 1, C_TRANSIT = 2, C_DELIVERED = 4, C_FAILURE = 8, C_UNKNOWN = 16 };

static const struct {
    const char *code;
    unsigned bit;
    pp_status_t status; /* when no text rule applies */
} codes[] = {
    {"pre-transit", C_PRE, PP_ST_INFO_RECEIVED}, {"transit", C_TRANSIT, PP_ST_IN_TRANSIT},
    {"delivered", C_DELIVERED, PP_ST_DELIVERED}, {"failure", C_FAILURE, PP_ST_DELIVERY_FAILED},
    {"unknown", C_UNKNOWN, PP_ST_UNKNOWN}, /* "no simplified code": only the text can say */
};

/*
 * Text rules, first match wins, each only for the statusCodes in `when` (lower-cased
 * substring match over "status | description"). English phrases follow DHL's published
 * texts (e.g. "The shipment has been loaded onto the delivery vehicle", research §1.3) and
 * DHL Parcel DE/Express wording; the Polish phrases are our reading of DHL Parcel Polska's
 * wording and are NOT confirmed by the research (it has no Polish DHL texts): unverified.
 * pre-transit is never overridden (the parcel is not with DHL yet), delivered only by a
 * return that reached the sender.
 */
static const struct {
    const char *phrase;
    unsigned when;
    pp_status_t status;
} rules[] = {
    /* on its way back (checked first: "being returned to the sender" is not there yet) */
    {"being returned", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    {"will be returned", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    {"return to sender", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    {"return to shipper", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    {"return to origin", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    {"zwrot do nadawcy", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    {"zwracana do nadawcy", C_TRANSIT | C_FAILURE | C_UNKNOWN, PP_ST_RETURNING},
    /* a return that arrived back (may come as statusCode delivered) */
    {"returned to sender", C_TRANSIT | C_DELIVERED | C_FAILURE | C_UNKNOWN, PP_ST_RETURNED},
    {"returned to shipper", C_TRANSIT | C_DELIVERED | C_FAILURE | C_UNKNOWN, PP_ST_RETURNED},
    {"returned to the sender", C_TRANSIT | C_DELIVERED | C_FAILURE | C_UNKNOWN, PP_ST_RETURNED},
    {"delivered back to the sender", C_TRANSIT | C_DELIVERED | C_FAILURE | C_UNKNOWN, PP_ST_RETURNED},
    {"zwrócona do nadawcy", C_TRANSIT | C_DELIVERED | C_FAILURE | C_UNKNOWN, PP_ST_RETURNED},
    {"zwrot doręczony", C_TRANSIT | C_DELIVERED | C_FAILURE | C_UNKNOWN, PP_ST_RETURNED},
    /* the SENDER handing it in at a shop/locker is not "ready for pickup": guard first */
    {"posted by the sender", C_TRANSIT | C_UNKNOWN, PP_ST_IN_TRANSIT},
    {"handed in at", C_TRANSIT | C_UNKNOWN, PP_ST_IN_TRANSIT},
    {"dropped off", C_TRANSIT | C_UNKNOWN, PP_ST_IN_TRANSIT},
    {"drop-off", C_TRANSIT | C_UNKNOWN, PP_ST_IN_TRANSIT},
    {"nadana w", C_TRANSIT | C_UNKNOWN, PP_ST_IN_TRANSIT},
    {"nadana przez nadawcę", C_TRANSIT | C_UNKNOWN, PP_ST_IN_TRANSIT},
    /* waiting for the recipient at a point or locker */
    {"ready for pickup", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"ready for pick-up", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"ready for pick up", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"ready for collection", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"available for pickup", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"available for collection", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"awaiting collection", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"parcelshop", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"parcel shop", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"packstation", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"servicepoint", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"service point", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"parcel locker", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"czeka na odbiór", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"gotowa do odbioru", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    {"do odbioru w", C_TRANSIT | C_UNKNOWN, PP_ST_AVAILABLE_FOR_PICKUP},
    /* last mile */
    {"out for delivery", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    {"loaded onto the delivery vehicle", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    {"with delivery courier", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    {"with courier for delivery", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    {"wydana do doręczenia", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    {"przekazana kurierowi do doręczenia", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    {"w doręczeniu", C_TRANSIT | C_UNKNOWN, PP_ST_OUT_FOR_DELIVERY},
    /* failure that is not a plain failed attempt (research §1.3: customs, expired at point) */
    {"customs", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"damaged", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"lost", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"not collected", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"not picked up", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"storage period", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"delay", C_UNKNOWN, PP_ST_EXCEPTION},
    {"nieodebrana", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"uszkodzon", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
    {"odprawy celnej", C_FAILURE | C_UNKNOWN, PP_ST_EXCEPTION},
};

/* Normalized status of one event from its statusCode and texts (both already validated). */
static pp_status_t dhl_map(const char *code, const char *status, const char *desc)
{
    unsigned bit = 0;
    pp_status_t st = PP_ST_UNKNOWN;
    char text[768];
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i].code, code) == 0) {
            bit = codes[i].bit;
            st = codes[i].status;
        }
    if (!bit)
        return PP_ST_UNKNOWN; /* a statusCode outside DHL's enum: do not guess */
    snprintf(text, sizeof text, "%s | %s", status, desc);
    for (char *p = text; *p; p++) /* ASCII only; Polish capitals stay as they are */
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if ((rules[i].when & bit) && strstr(text, rules[i].phrase))
            return rules[i].status;
    return st;
}

/*
 * GET {dhl_base_url}/track/shipments?trackingNumber=N[&service=S]; one number per request
 * (research §1.1: the spec models a single trackingNumber). Sending service when known
 * matters: without it DHL may answer with another division's shipment (§1.1 FAQ).
 */
static int dhl_build_request(const pp_config_t *cfg, const char *token, const char *const *numbers,
                             size_t n, pp_http_request_t *req)
{
    char num[3 * 64 + 1], svc[3 * 32 + 1] = "";
    int rc;
    (void)token;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n != 1 || !numbers[0] || !numbers[0][0] || strlen(numbers[0]) > 64 ||
        !CFG(K_BASE_URL)[0])
        return PP_EINVAL;
    if (pp_carrier_url_escape(numbers[0], num, sizeof num) ||
        (CFG(K_SERVICE) && pp_carrier_url_escape(CFG(K_SERVICE), svc, sizeof svc)))
        return PP_EINVAL;
    req->method = "GET";
    if (asprintf(&req->url, "%.*s/track/shipments?trackingNumber=%s%s%s",
                 (int)pp_carrier_base_len(CFG(K_BASE_URL)), CFG(K_BASE_URL), num,
                 svc[0] ? "&service=" : "", svc) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_http_request_add_header(req, "Accept: application/json")))
        goto fail;
    if (CFG(K_API_KEY)[0] && (rc = pp_http_request_add_header(req, "DHL-API-Key: %s", CFG(K_API_KEY))))
        goto fail;
    return PP_OK;
fail:
    pp_http_request_free(req);
    return rc;
}

/* location.address.addressLocality, every level optional; wrong type -> PP_EPARSE. */
static int locality(const cJSON *ev, const char **out)
{
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(ev, "location"), *addr;
    *out = "";
    if (!loc || cJSON_IsNull(loc))
        return PP_OK;
    if (!cJSON_IsObject(loc))
        return PP_EPARSE;
    addr = cJSON_GetObjectItemCaseSensitive(loc, "address");
    if (!addr || cJSON_IsNull(addr))
        return PP_OK;
    if (!cJSON_IsObject(addr))
        return PP_EPARSE;
    return pp_carrier_json_opt_string(addr, "addressLocality", out);
}

/*
 * An ISO 8601 timestamp. DHL sometimes omits the zone ("2018-03-02T07:53:47", research
 * §1.2): that is carrier-local time. For a Polish marketplace (service parcel-pl, and
 * domestic Express) that is Europe/Warsaw, with the DST rule applied (the repeated October
 * hour is read as its first, CEST, occurrence). ASSUMPTION: a zone-less event abroad would
 * be off by the difference between its local offset and Warsaw's.
 */
static int dhl_time(const char *s, time_t *out)
{
    int had_zone = 0, Y, M, D, h, m, sec = 0;
    if (pp_time_parse_iso(s, out, &had_zone) != 0)
        return PP_EPARSE;
    if (had_zone)
        return PP_OK;
    /* pp_time_parse_iso accepted it, so the fields are where we expect them */
    if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d", &Y, &M, &D, &h, &m) != 5)
        return PP_EPARSE;
    if (s[16] == ':' && sscanf(s + 17, "%2d", &sec) != 1)
        return PP_EPARSE;
    return pp_time_warsaw_to_utc(Y, M, D, h, m, sec, out) == 0 ? PP_OK : PP_EPARSE;
}

static int parse_event(const cJSON *e, const char *where, size_t idx, pp_track_event_t *ev,
                       char *err, size_t errlen)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(e, "timestamp");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "statusCode");
    const char *status, *desc, *place;
    if (!cJSON_IsObject(e)) {
        pp_carrier_err(err, errlen, "%s[%zu] is not an object", where, idx);
        return PP_EPARSE;
    }
    if (!cJSON_IsString(ts)) {
        pp_carrier_err(err, errlen, "%s[%zu].timestamp missing or not a string", where, idx);
        return PP_EPARSE;
    }
    if (dhl_time(ts->valuestring, &ev->occurred_at) != 0) {
        pp_carrier_err(err, errlen, "%s[%zu].timestamp '%.40s' is not ISO 8601", where, idx,
                       ts->valuestring);
        return PP_EPARSE;
    }
    if (code && !cJSON_IsNull(code) && !cJSON_IsString(code)) {
        pp_carrier_err(err, errlen, "%s[%zu].statusCode is not a string", where, idx);
        return PP_EPARSE;
    }
    if (pp_carrier_json_opt_string(e, "status", &status) ||
        pp_carrier_json_opt_string(e, "description", &desc)) {
        pp_carrier_err(err, errlen, "%s[%zu].status/description is not a string", where, idx);
        return PP_EPARSE;
    }
    if (locality(e, &place) != 0) {
        pp_carrier_err(err, errlen, "%s[%zu].location(.address.addressLocality) has the wrong type",
                       where, idx);
        return PP_EPARSE;
    }
    const char *c = cJSON_IsString(code) ? code->valuestring : "";
    if (!c[0] && !status[0] && !desc[0]) {
        pp_carrier_err(err, errlen, "%s[%zu] has no statusCode, status or description", where, idx);
        return PP_EPARSE;
    }
    ev->status = dhl_map(c[0] ? c : "unknown", status, desc);
    snprintf(ev->carrier_code, sizeof(ev->carrier_code), "%s", c[0] ? c : "unknown");
    if (desc[0] && status[0] && strcasecmp(desc, status) != 0)
        snprintf(ev->description, sizeof(ev->description), "%s: %s", status, desc);
    else
        snprintf(ev->description, sizeof(ev->description), "%s", desc[0] ? desc : status);
    snprintf(ev->location, sizeof(ev->location), "%s", place);
    return PP_OK;
}

static int parse_shipment(const cJSON *s, size_t idx, pp_track_result_t *r, char *err, size_t errlen)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(s, "events");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(s, "status");
    int rc;
    if (!cJSON_IsObject(s)) {
        pp_carrier_err(err, errlen, "shipments[%zu] is not an object", idx);
        return PP_EPARSE;
    }
    /* the spec says string; DHL's own example has a number (7777777770) */
    if (cJSON_IsString(id) && id->valuestring[0]) {
        snprintf(r->tracking_number, sizeof(r->tracking_number), "%s", id->valuestring);
    } else if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0 &&
               floor(id->valuedouble) == id->valuedouble) {
        snprintf(r->tracking_number, sizeof(r->tracking_number), "%.0f", id->valuedouble);
    } else {
        pp_carrier_err(err, errlen, "shipments[%zu].id missing or not a string", idx);
        return PP_EPARSE;
    }
    r->found = true;
    if (events && !cJSON_IsNull(events) && !cJSON_IsArray(events)) {
        pp_carrier_err(err, errlen, "shipments[%zu].events is not an array", idx);
        return PP_EPARSE;
    }
    if (status && !cJSON_IsNull(status) && !cJSON_IsObject(status)) {
        pp_carrier_err(err, errlen, "shipments[%zu].status is not an object", idx);
        return PP_EPARSE;
    }
    int n = cJSON_IsArray(events) ? cJSON_GetArraySize(events) : 0;
    if (n == 0) {
        /* no history (yet), but the current status is an event of the same schema */
        if (!cJSON_IsObject(status))
            return PP_OK;
        if (!(r->events = calloc(1, sizeof(*r->events))))
            return PP_ENOMEM;
        if ((rc = parse_event(status, "shipments[].status", 0, &r->events[0], err, errlen)))
            return rc;
        r->n_events = 1;
        return PP_OK;
    }
    if (!(r->events = calloc((size_t)n, sizeof(*r->events))))
        return PP_ENOMEM;
    /* newest first on the wire: fill from the back so the array ends up oldest first */
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, events)
    {
        if ((rc = parse_event(e, "events", (size_t)i, &r->events[n - 1 - i], err, errlen)))
            return rc;
        i++;
    }
    r->n_events = (size_t)n;
    /* do not trust the wire order blindly: stable insertion sort by time */
    pp_track_events_sort(r->events, r->n_events);
    return PP_OK;
}

/* "title: detail" of an application/problem+json body. */
static void problem_reason(const cJSON *root, char *out, size_t outlen)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "title");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "detail");
    snprintf(out, outlen, "%s%s%s", cJSON_IsString(t) ? t->valuestring : "",
             cJSON_IsString(t) && cJSON_IsString(d) ? ": " : "",
             cJSON_IsString(d) ? d->valuestring : "");
}

static int dhl_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
                     size_t *n_results, char *err, size_t errlen)
{
    cJSON *root = NULL;
    pp_track_result_t *r = NULL;
    size_t n = 0;
    char reason[256];
    int rc;
    *results = NULL;
    *n_results = 0;
    if (err && errlen)
        err[0] = '\0';
    if (body && len > 0)
        root = cJSON_ParseWithLength(body, len);
    if (http_status != 200) {
        reason[0] = '\0';
        if (cJSON_IsObject(root))
            problem_reason(root, reason, sizeof(reason));
        /* 404 problem+json = not known (yet): new labels appear after 10-30 min (§1.4) */
        if (http_status == 404 && cJSON_IsObject(root) &&
            (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "title")) ||
             cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "detail")))) {
            if (!(r = calloc(1, sizeof(*r)))) {
                rc = PP_ENOMEM;
                goto fail;
            }
            n = 1;
            goto done;
        }
        if (http_status == 404)
            pp_carrier_err(err, errlen, "HTTP 404 without a DHL problem body (wrong dhl_base_url?)");
        else if (http_status == 401 || http_status == 403)
            pp_carrier_err(err, errlen, "HTTP %d: not authorized (check dhl_api_key)%s%s",
                           http_status, reason[0] ? ": " : "", reason);
        else if (http_status == 429)
            pp_carrier_err(err, errlen, "HTTP 429: rate limited (DHL quota)%s%s",
                           reason[0] ? ": " : "", reason);
        else
            pp_carrier_err(err, errlen, "HTTP %d%s%s", http_status, reason[0] ? ": " : "", reason);
        rc = PP_EHTTP;
        goto fail;
    }
    if (!root) {
        pp_carrier_err(err, errlen, "body is not valid JSON (%zu bytes, truncated?)", len);
        rc = PP_EPARSE;
        goto fail;
    }
    const cJSON *ships = cJSON_GetObjectItemCaseSensitive(root, "shipments");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(ships)) {
        pp_carrier_err(err, errlen, "body is not an object with a shipments array");
        rc = PP_EPARSE;
        goto fail;
    }
    int ns = cJSON_GetArraySize(ships);
    if (!(r = calloc(ns > 0 ? (size_t)ns : 1, sizeof(*r)))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if (ns == 0) { /* not seen in practice (404 instead), but unambiguous */
        n = 1;
        goto done;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, ships)
    {
        n++; /* counted before parsing so a failure frees this one's events too */
        if ((rc = parse_shipment(s, n - 1, &r[n - 1], err, errlen)) != 0)
            goto fail;
    }
done:
    cJSON_Delete(root);
    *results = r;
    *n_results = n;
    return PP_OK;
fail:
    pp_track_results_free(r, n);
    cJSON_Delete(root);
    return rc;
}

const pp_carrier_t pp_carrier_dhl = {
    .name = "dhl",
    .display = "DHL",
    .help_names = "DHL",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"00340434###########?",
                pp_checkdigit_gs1_finish}, /* DHL Parcel DE SSCC (DHL's company prefix 340434) */
    .auth = PP_CARRIER_AUTH_KEY,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = 1,
    .build_request = dhl_build_request,
    .parse_raw = dhl_parse,
};
