/* ups.c - UPS Track API v1 adapter: GET /api/track/v1/details/{n}, map activity status (the OAuth token: ups_oauth.c). */
#include "ups.h"
#include "../checkdigit.h"
#include "numbers.h"
#include "../err.h"
#include "../timeutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "ups", (k))

/*
 * Tracking-number formats (numbers.c detects over every carrier's; sources: research/
 * carriers.md §8, jkeen/tracking_number_data). Confidence: how surely a number of this shape,
 * check digit right, is this carrier's; a shape other carriers share gets less.
 */
static const pp_number_format_t formats[] = {
    {"ups", "ups_1z", "^1Z[0-9A-Z]{15}[0-9]$", "UPS mod 10 over chars 3-17",
     pp_checkdigit_ups_1z_valid, 98, "observed"},
    {"ups", "ups_waybill", "^[AHJKTV][0-9]{10}$", "UPS mod 10 over the 9 serial digits",
     pp_checkdigit_ups_waybill_valid, 60, "observed"},
};

/* Configuration keys: ups_<name> (PP_UPS_<NAME>), docs/config.md. */
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] = {"rps", PP_CFG_INT, "10", 0, 100000, true, false,
                            "fleet-wide UPS Track API requests/s (0 = unlimited; no published limit)"},
    [PP_CARRIER_KEY_PER_DAY] = {"per_day", PP_CFG_INT, "0", 0, 100000000, true, false,
                                "fleet-wide UPS requests per UTC day (0 = unlimited; no published quota)"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://onlinetools.ups.com", 0, 0, true, false,
                    "UPS API base URL (OAuth at /security/v1/oauth/token, tracking at /api/track/v1/details; test: https://wwwcie.ups.com)"},
    [K_CLIENT_ID] = {"client_id", PP_CFG_STR, "", 0, 0, true, false,
                     "UPS OAuth2 client id (developer portal app)"},
    [K_CLIENT_SECRET] = {"client_secret", PP_CFG_STR, "", 0, 0, true, true, "UPS OAuth2 client secret"},
    [K_MERCHANT_ID] = {"merchant_id", PP_CFG_STR, "", 0, 0, true, false,
                       "UPS account number sent as x-merchant-id on token requests (empty = not sent)"},
};

extern const pp_carrier_t pp_carrier_ups;

/*
 * Mapping (research/carriers.md §2.3), most specific first:
 *  1. status.statusCode, UPS's customer-facing status/description code ("021" = Out for
 *     Delivery); the full 0-169 list is in the research; codes absent here fall through;
 *  2. status.code, the two-letter scan code, as karrio maps it;
 *  3. status.type, the activity type (D, I, M, MV, X, DO, DD, W, NA, U; plus P and RS of
 *     the older XML Track API, which the v1 JSON appendix does not list).
 * Requests and updates (delivery change requested, updated delivery date, photo...) are
 * not listed in 1: they fall to the type (I -> in_transit, a repeat; U -> unknown).
 */
/* clang-format off */
static const struct {
    int code;
    pp_status_t status;
} status_codes[] = {
    /* label exists / order processed, parcel not with UPS yet; pickup attempts at the shipper */
    {3, PP_ST_INFO_RECEIVED}, {65, PP_ST_INFO_RECEIVED}, {77, PP_ST_INFO_RECEIVED},
    {79, PP_ST_INFO_RECEIVED}, {80, PP_ST_INFO_RECEIVED}, {131, PP_ST_INFO_RECEIVED},
    {135, PP_ST_INFO_RECEIVED}, {157, PP_ST_INFO_RECEIVED}, {166, PP_ST_INFO_RECEIVED},
    /* on the way: picked up, dropped off, scans, clearance, delivery partner */
    {5, PP_ST_IN_TRANSIT}, {10, PP_ST_IN_TRANSIT}, {12, PP_ST_IN_TRANSIT}, {14, PP_ST_IN_TRANSIT},
    {16, PP_ST_IN_TRANSIT}, {25, PP_ST_IN_TRANSIT}, {38, PP_ST_IN_TRANSIT}, {39, PP_ST_IN_TRANSIT},
    {44, PP_ST_IN_TRANSIT}, {45, PP_ST_IN_TRANSIT}, {47, PP_ST_IN_TRANSIT}, {57, PP_ST_IN_TRANSIT},
    {70, PP_ST_IN_TRANSIT}, {71, PP_ST_IN_TRANSIT}, {73, PP_ST_IN_TRANSIT}, {74, PP_ST_IN_TRANSIT},
    {75, PP_ST_IN_TRANSIT}, {84, PP_ST_IN_TRANSIT}, {87, PP_ST_IN_TRANSIT}, {92, PP_ST_IN_TRANSIT},
    {134, PP_ST_IN_TRANSIT}, {137, PP_ST_IN_TRANSIT}, {138, PP_ST_IN_TRANSIT},
    {158, PP_ST_IN_TRANSIT}, {159, PP_ST_IN_TRANSIT}, {160, PP_ST_IN_TRANSIT},
    {164, PP_ST_IN_TRANSIT}, {165, PP_ST_IN_TRANSIT}, {167, PP_ST_IN_TRANSIT},
    {168, PP_ST_IN_TRANSIT}, {169, PP_ST_IN_TRANSIT},
    /* last mile */
    {6, PP_ST_OUT_FOR_DELIVERY}, {21, PP_ST_OUT_FOR_DELIVERY}, {37, PP_ST_OUT_FOR_DELIVERY},
    {72, PP_ST_OUT_FOR_DELIVERY}, {78, PP_ST_OUT_FOR_DELIVERY}, {89, PP_ST_OUT_FOR_DELIVERY},
    {91, PP_ST_OUT_FOR_DELIVERY}, {146, PP_ST_OUT_FOR_DELIVERY}, {162, PP_ST_OUT_FOR_DELIVERY},
    /* waiting for the recipient (access point, counter, post office) */
    {17, PP_ST_AVAILABLE_FOR_PICKUP}, {40, PP_ST_AVAILABLE_FOR_PICKUP},
    {144, PP_ST_AVAILABLE_FOR_PICKUP}, {161, PP_ST_AVAILABLE_FOR_PICKUP},
    /* done */
    {11, PP_ST_DELIVERED}, {26, PP_ST_DELIVERED}, {143, PP_ST_DELIVERED},
    /* attempts */
    {22, PP_ST_DELIVERY_FAILED}, {23, PP_ST_DELIVERY_FAILED}, {24, PP_ST_DELIVERY_FAILED},
    {60, PP_ST_DELIVERY_FAILED}, {64, PP_ST_DELIVERY_FAILED}, {66, PP_ST_DELIVERY_FAILED},
    {69, PP_ST_DELIVERY_FAILED}, {145, PP_ST_DELIVERY_FAILED},
    /* held, delayed, damaged, voided, seized... */
    {7, PP_ST_EXCEPTION}, {13, PP_ST_EXCEPTION}, {29, PP_ST_EXCEPTION}, {30, PP_ST_EXCEPTION},
    {32, PP_ST_EXCEPTION}, {46, PP_ST_EXCEPTION}, {48, PP_ST_EXCEPTION}, {49, PP_ST_EXCEPTION},
    {50, PP_ST_EXCEPTION}, {51, PP_ST_EXCEPTION}, {52, PP_ST_EXCEPTION}, {53, PP_ST_EXCEPTION},
    {58, PP_ST_EXCEPTION}, {59, PP_ST_EXCEPTION}, {68, PP_ST_EXCEPTION}, {76, PP_ST_EXCEPTION},
    {83, PP_ST_EXCEPTION}, {85, PP_ST_EXCEPTION}, {86, PP_ST_EXCEPTION}, {90, PP_ST_EXCEPTION},
    {123, PP_ST_EXCEPTION}, {124, PP_ST_EXCEPTION}, {125, PP_ST_EXCEPTION},
    {126, PP_ST_EXCEPTION}, {132, PP_ST_EXCEPTION}, {139, PP_ST_EXCEPTION},
    {141, PP_ST_EXCEPTION}, {147, PP_ST_EXCEPTION}, {148, PP_ST_EXCEPTION},
    {149, PP_ST_EXCEPTION}, {163, PP_ST_EXCEPTION},
    /* going back */
    {33, PP_ST_RETURNING}, {35, PP_ST_RETURNING}, {36, PP_ST_RETURNING}, {118, PP_ST_RETURNING},
    {34, PP_ST_RETURNED}, {67, PP_ST_RETURNED}, {81, PP_ST_RETURNED},
};
/* clang-format on */

/* status.code (scan code) as karrio maps it (research §2.3). */
static const struct {
    const char *code;
    pp_status_t status;
} scan_codes[] = {
    {"MP", PP_ST_INFO_RECEIVED},
    {"XD", PP_ST_INFO_RECEIVED},
    {"OA", PP_ST_INFO_RECEIVED},
    {"OR", PP_ST_IN_TRANSIT},
    {"PU", PP_ST_IN_TRANSIT},
    {"OC", PP_ST_IN_TRANSIT},
    {"OG", PP_ST_IN_TRANSIT},
    {"DP", PP_ST_IN_TRANSIT},
    {"AA", PP_ST_IN_TRANSIT},
    {"AR", PP_ST_IN_TRANSIT},
    {"AF", PP_ST_IN_TRANSIT},
    {"AL", PP_ST_IN_TRANSIT},
    {"DS", PP_ST_IN_TRANSIT},
    {"IH", PP_ST_IN_TRANSIT},
    {"AP", PP_ST_IN_TRANSIT},
    {"OT", PP_ST_OUT_FOR_DELIVERY},
    {"OD", PP_ST_OUT_FOR_DELIVERY},
    {"OF", PP_ST_OUT_FOR_DELIVERY},
    {"DL", PP_ST_OUT_FOR_DELIVERY},
    {"RP", PP_ST_AVAILABLE_FOR_PICKUP},
    {"UU", PP_ST_AVAILABLE_FOR_PICKUP},
    {"AC", PP_ST_AVAILABLE_FOR_PICKUP},
    {"WC", PP_ST_AVAILABLE_FOR_PICKUP},
    {"FS", PP_ST_DELIVERED},
    {"KB", PP_ST_DELIVERED},
    {"F4", PP_ST_DELIVERED},
    {"RF", PP_ST_DELIVERY_FAILED},
    {"UR", PP_ST_DELIVERY_FAILED},
    {"UF", PP_ST_DELIVERY_FAILED},
    {"CC", PP_ST_DELIVERY_FAILED},
    {"EX", PP_ST_EXCEPTION},
    {"HX", PP_ST_EXCEPTION},
    {"HD", PP_ST_EXCEPTION},
    {"HI", PP_ST_EXCEPTION},
    {"HS", PP_ST_EXCEPTION},
    {"HU", PP_ST_EXCEPTION},
    {"NH", PP_ST_EXCEPTION},
    {"VD", PP_ST_EXCEPTION},
    {"CA", PP_ST_EXCEPTION},
    {"CN", PP_ST_EXCEPTION},
    {"CV", PP_ST_EXCEPTION},
};

/* status.type, the activity type. */
static const struct {
    const char *type;
    pp_status_t status;
} types[] = {
    {"M", PP_ST_INFO_RECEIVED}, /* billing information received: label only */
    {"I", PP_ST_IN_TRANSIT},    /* in transit / out for delivery (statusCode tells which) */
    {"P", PP_ST_IN_TRANSIT},    /* pickup (XML Track API) */
    {"W", PP_ST_IN_TRANSIT},    /* warehousing (freight) */
    {"DO", PP_ST_IN_TRANSIT},   /* delivered origin CFS (freight): not to the recipient */
    {"DD", PP_ST_IN_TRANSIT},   /* delivered destination CFS (freight) */
    {"D", PP_ST_DELIVERED},     {"X", PP_ST_EXCEPTION},
    {"MV", PP_ST_EXCEPTION},                          /* billing information voided */
    {"RS", PP_ST_RETURNED},                           /* returned to shipper (XML Track API) */
    {"NA", PP_ST_UNKNOWN},      {"U", PP_ST_UNKNOWN}, /* Track Alert updates */
};

static pp_status_t ups_map(const char *type, const char *code, const char *status_code)
{
    if (status_code[0]) {
        char *end;
        errno = 0;
        long n = strtol(status_code, &end, 10);
        if (!errno && *end == '\0' && isdigit((unsigned char)status_code[0]))
            for (size_t i = 0; i < sizeof(status_codes) / sizeof(status_codes[0]); i++)
                if (status_codes[i].code == n)
                    return status_codes[i].status;
    }
    for (size_t i = 0; i < sizeof(scan_codes) / sizeof(scan_codes[0]); i++)
        if (strcmp(scan_codes[i].code, code) == 0)
            return scan_codes[i].status;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].type, type) == 0)
            return types[i].status;
    return PP_ST_UNKNOWN;
}

static bool has_ups_errors(const cJSON *root)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
    return cJSON_IsObject(resp) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(resp, "errors"));
}

/*
 * GET {ups_base_url}/api/track/v1/details/{inquiryNumber}?locale=en_US&returnSignature=false
 * with the bearer token, transId (unique per request: a random UUID, as karrio sends) and
 * transactionSrc. One number per request (research §2.1).
 */
static int ups_build_request(const pp_config_t *cfg, const char *token, const char *const *numbers,
                             size_t n, pp_http_request_t *req)
{
    char num[3 * 64 + 1], tid[37];
    uuid_t u;
    int rc, bl;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n != 1 || !numbers[0] || !numbers[0][0] || strlen(numbers[0]) > 64 ||
        !CFG(K_BASE_URL)[0] || !token || !token[0])
        return PP_EINVAL;
    if (pp_carrier_url_escape(numbers[0], num, sizeof num))
        return PP_EINVAL;
    const char *base = pp_ups_base_url(cfg, &bl);
    uuid_generate_random(u);
    uuid_unparse_lower(u, tid);
    req->method = "GET";
    if (asprintf(&req->url, "%.*s/api/track/v1/details/%s?locale=en_US&returnSignature=false", bl,
                 base, num) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_http_request_add_header(req, "Accept: application/json")) ||
        (rc = pp_http_request_add_header(req, "Authorization: Bearer %s", token)) ||
        (rc = pp_http_request_add_header(req, "transId: %s", tid)) ||
        (rc = pp_http_request_add_header(req, "transactionSrc: parcelpush")))
        goto fail;
    return PP_OK;
fail:
    pp_http_request_free(req);
    return rc;
}

/* "20210210" or "2021-02-10". */
static int ups_date(const char *s, int *Y, int *M, int *D)
{
    char d[9];
    size_t k = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p) && k < 8)
            d[k++] = *p;
        else if (*p != '-' || k == 8)
            return PP_EPARSE;
    }
    if (k != 8 || !(strlen(s) == 8 || (strlen(s) == 10 && s[4] == '-' && s[7] == '-')))
        return PP_EPARSE;
    d[8] = '\0';
    *Y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    *M = (d[4] - '0') * 10 + (d[5] - '0');
    *D = (d[6] - '0') * 10 + (d[7] - '0');
    return (*M >= 1 && *M <= 12 && *D >= 1 && *D <= 31) ? PP_OK : PP_EPARSE;
}

/* "071356", "71356" (the spec's own example drops the leading zero), "07:13:56", "0713". */
static int ups_clock(const char *s, int *h, int *m, int *sec)
{
    char d[7];
    size_t k = 0, colons = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p) && k < 6)
            d[k++] = *p;
        else if (*p == ':' && colons < 2)
            colons++;
        else
            return PP_EPARSE;
    }
    if (colons && k != 6 && k != 4)
        return PP_EPARSE;
    if (k == 5) { /* HMMSS */
        memmove(d + 1, d, 5);
        d[0] = '0';
        k = 6;
    }
    if (k == 4) {
        d[4] = d[5] = '0';
        k = 6;
    }
    if (k != 6)
        return PP_EPARSE;
    *h = (d[0] - '0') * 10 + (d[1] - '0');
    *m = (d[2] - '0') * 10 + (d[3] - '0');
    *sec = (d[4] - '0') * 10 + (d[5] - '0');
    return (*h <= 23 && *m <= 59 && *sec <= 60) ? PP_OK : PP_EPARSE;
}

/* "-05:00", "+0100", "+01". Seconds east of UTC. */
static int ups_offset(const char *s, long *off)
{
    int hh, mm = 0;
    if ((s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
        return PP_EPARSE;
    hh = (s[1] - '0') * 10 + (s[2] - '0');
    const char *p = s + 3;
    if (*p == ':')
        p++;
    if (*p) {
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
            return PP_EPARSE;
        mm = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (hh > 14 || mm > 59)
        return PP_EPARSE;
    *off = (s[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return PP_OK;
}

/*
 * Event time in UTC: gmtDate + gmtTime when present; else local date + time minus
 * gmtOffset; else (neither, as in some vendor examples) local date + time read as
 * Europe/Warsaw. ASSUMPTION for that last case: a parcel of a Polish marketplace, scanned
 * in Poland; a scan abroad would be off by its offset difference.
 */
static int activity_time(const cJSON *a, time_t *out)
{
    const char *gd, *gt, *go, *d, *t;
    int Y, M, D, h, m, s;
    if (pp_carrier_json_opt_string(a, "gmtDate", &gd) || pp_carrier_json_opt_string(a, "gmtTime", &gt) ||
        pp_carrier_json_opt_string(a, "gmtOffset", &go) ||
        pp_carrier_json_opt_string(a, "date", &d) || pp_carrier_json_opt_string(a, "time", &t))
        return PP_EPARSE;
    if (gd[0] && gt[0]) {
        if (ups_date(gd, &Y, &M, &D) || ups_clock(gt, &h, &m, &s))
            return PP_EPARSE;
        return pp_time_utc(Y, M, D, h, m, s, out);
    }
    if (!d[0] || !t[0] || ups_date(d, &Y, &M, &D) || ups_clock(t, &h, &m, &s))
        return PP_EPARSE;
    if (go[0]) {
        long off;
        if (ups_offset(go, &off) || pp_time_utc(Y, M, D, h, m, s, out))
            return PP_EPARSE;
        *out -= off;
        return PP_OK;
    }
    return pp_time_warsaw_to_utc(Y, M, D, h, m, s, out) == 0 ? PP_OK : PP_EPARSE;
}

static int parse_activity(const cJSON *a, size_t idx, pp_track_event_t *ev, char *err, size_t errlen)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "status");
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(a, "location"), *addr = NULL;
    const char *type, *code, *scode, *desc, *city = "", *cc = "";
    if (!cJSON_IsObject(a)) {
        pp_carrier_err(err, errlen, "activity[%zu] is not an object", idx);
        return PP_EPARSE;
    }
    if (!cJSON_IsObject(st)) {
        pp_carrier_err(err, errlen, "activity[%zu].status missing or not an object", idx);
        return PP_EPARSE;
    }
    if (pp_carrier_json_opt_string(st, "type", &type) || pp_carrier_json_opt_string(st, "code", &code) ||
        pp_carrier_json_opt_string(st, "statusCode", &scode) ||
        pp_carrier_json_opt_string(st, "description", &desc)) {
        pp_carrier_err(err, errlen,
                       "activity[%zu].status: type/code/statusCode/description not a string", idx);
        return PP_EPARSE;
    }
    if (!type[0] && !code[0] && !scode[0]) {
        pp_carrier_err(err, errlen, "activity[%zu].status has no type, code or statusCode", idx);
        return PP_EPARSE;
    }
    if (activity_time(a, &ev->occurred_at) != 0) {
        pp_carrier_err(err, errlen,
                       "activity[%zu]: date/time (gmtDate, gmtTime, gmtOffset) missing or malformed",
                       idx);
        return PP_EPARSE;
    }
    if (loc && !cJSON_IsNull(loc)) {
        if (!cJSON_IsObject(loc)) {
            pp_carrier_err(err, errlen, "activity[%zu].location is not an object", idx);
            return PP_EPARSE;
        }
        addr = cJSON_GetObjectItemCaseSensitive(loc, "address");
        if (addr && !cJSON_IsNull(addr) &&
            (!cJSON_IsObject(addr) || pp_carrier_json_opt_string(addr, "city", &city) ||
             pp_carrier_json_opt_string(addr, "countryCode", &cc))) {
            pp_carrier_err(err, errlen, "activity[%zu].location.address has the wrong type", idx);
            return PP_EPARSE;
        }
    }
    ev->status = ups_map(type, code, scode);
    snprintf(ev->carrier_code, sizeof(ev->carrier_code), "%s/%s/%s", type, code, scode);
    snprintf(ev->description, sizeof(ev->description), "%s", desc);
    snprintf(ev->location, sizeof(ev->location), "%s", city[0] ? city : cc);
    return PP_OK;
}

/* One shipment: the package whose trackingNumber is the inquiry number, else the first. */
static int parse_shipment(const cJSON *s, size_t idx, pp_track_result_t *r, char *err, size_t errlen)
{
    const cJSON *pkgs = cJSON_GetObjectItemCaseSensitive(s, "package");
    const cJSON *warns = cJSON_GetObjectItemCaseSensitive(s, "warnings");
    const cJSON *pkg = NULL, *p;
    const char *inquiry;
    int rc;
    if (!cJSON_IsObject(s)) {
        pp_carrier_err(err, errlen, "trackResponse.shipment[%zu] is not an object", idx);
        return PP_EPARSE;
    }
    if (pp_carrier_json_opt_string(s, "inquiryNumber", &inquiry)) {
        pp_carrier_err(err, errlen, "shipment[%zu].inquiryNumber is not a string", idx);
        return PP_EPARSE;
    }
    snprintf(r->tracking_number, sizeof(r->tracking_number), "%s", inquiry);
    if (warns && !cJSON_IsNull(warns) && !cJSON_IsArray(warns)) {
        pp_carrier_err(err, errlen, "shipment[%zu].warnings is not an array", idx);
        return PP_EPARSE;
    }
    if (!pkgs || cJSON_IsNull(pkgs) || (cJSON_IsArray(pkgs) && cJSON_GetArraySize(pkgs) == 0)) {
        /* 200 + warning TW0001 "Tracking Information Not Found" (research §2.4) */
        if (cJSON_IsArray(warns) && cJSON_GetArraySize(warns) > 0) {
            r->found = false;
            return PP_OK;
        }
        pp_carrier_err(err, errlen, "shipment[%zu] has neither package nor warnings", idx);
        return PP_EPARSE;
    }
    if (!cJSON_IsArray(pkgs)) {
        pp_carrier_err(err, errlen, "shipment[%zu].package is not an array", idx);
        return PP_EPARSE;
    }
    cJSON_ArrayForEach(p, pkgs)
    {
        const char *tn;
        if (!cJSON_IsObject(p) || pp_carrier_json_opt_string(p, "trackingNumber", &tn)) {
            pp_carrier_err(err, errlen,
                           "shipment[%zu].package[] is not an object with a string trackingNumber",
                           idx);
            return PP_EPARSE;
        }
        if (!pkg || (inquiry[0] && strcmp(tn, inquiry) == 0))
            pkg = p;
    }
    if (!r->tracking_number[0]) {
        const char *tn;
        (void)pp_carrier_json_opt_string(pkg, "trackingNumber", &tn);
        snprintf(r->tracking_number, sizeof(r->tracking_number), "%s", tn);
    }
    r->found = true;
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(pkg, "activity");
    if (!acts || cJSON_IsNull(acts))
        return PP_OK;
    if (!cJSON_IsArray(acts)) {
        pp_carrier_err(err, errlen, "package.activity is not an array");
        return PP_EPARSE;
    }
    int n = cJSON_GetArraySize(acts);
    if (n == 0)
        return PP_OK;
    if (!(r->events = calloc((size_t)n, sizeof(*r->events))))
        return PP_ENOMEM;
    /* most recent first on the wire: fill from the back, then a stable sort by time */
    int i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, acts)
    {
        if ((rc = parse_activity(a, (size_t)i, &r->events[n - 1 - i], err, errlen)))
            return rc;
        i++;
    }
    r->n_events = (size_t)n;
    pp_track_events_sort(r->events, r->n_events);
    return PP_OK;
}

static int ups_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
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
            pp_ups_error_reason(root, reason, sizeof(reason));
        /* 404 in UPS's error shape = not found (yet) (research §2.4) */
        if (http_status == 404 && cJSON_IsObject(root) && has_ups_errors(root)) {
            if (!(r = calloc(1, sizeof(*r)))) {
                rc = PP_ENOMEM;
                goto fail;
            }
            n = 1;
            goto done;
        }
        if (http_status == 404)
            pp_carrier_err(err, errlen, "HTTP 404 without a UPS error body (wrong ups_base_url?)");
        else if (http_status == 401)
            pp_carrier_err(err, errlen, "HTTP 401: token rejected or expired (refresh it)%s%s",
                           reason[0] ? ": " : "", reason);
        else if (http_status == 403)
            pp_carrier_err(err, errlen, "HTTP 403: blocked merchant or no access%s%s",
                           reason[0] ? ": " : "", reason);
        else if (http_status == 429)
            pp_carrier_err(err, errlen, "HTTP 429: rate limited%s%s", reason[0] ? ": " : "", reason);
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
    const cJSON *tr =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "trackResponse") : NULL;
    const cJSON *ships = cJSON_IsObject(tr) ? cJSON_GetObjectItemCaseSensitive(tr, "shipment") : NULL;
    if (!cJSON_IsArray(ships) || cJSON_GetArraySize(ships) == 0) {
        pp_carrier_err(err, errlen, "body has no trackResponse.shipment array");
        rc = PP_EPARSE;
        goto fail;
    }
    int ns = cJSON_GetArraySize(ships);
    if (!(r = calloc((size_t)ns, sizeof(*r)))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, ships)
    {
        n++;
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

const pp_carrier_t pp_carrier_ups = {
    .name = "ups",
    .display = "UPS",
    .help_names = "UPS",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"1ZPP####68#######?", pp_checkdigit_ups_1z_finish}, /* UPS 1Z (shipper "PP…", service 68) */
    .auth = PP_CARRIER_AUTH_OAUTH,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = 1,
    .build_auth_request = pp_ups_build_auth_request,
    .parse_auth = pp_ups_parse_auth,
    .build_request = ups_build_request,
    .parse_raw = ups_parse,
};
