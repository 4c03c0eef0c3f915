/* orlen.c - ORLEN Paczka adapter: partner SOAP GiveMePackStatusFullHistoryList (answer read in orlen_soap.c) or the public JSONP tracker. */
#include "orlen.h"
#include "../err.h"
#include "../timeutil.h"
#include "numbers.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "orlen", (k))

/*
 * Tracking-number formats (numbers.c detects over every carrier's; sources: research/
 * carriers.md §8, jkeen/tracking_number_data). Confidence: how surely a number of this shape,
 * check digit right, is this carrier's; a shape other carriers share gets less.
 * No check-digit rule was found (research §8 "[not found]"): shape only, any digits.
 */
static const pp_number_format_t formats[] = {
    {"orlen", "orlen_13", "^[23][0-9]{12}$", "none (not found)", NULL, 70, "observed"},
    {"orlen", "orlen_10", "^[0-9]{10}$", "none (not found)", NULL, 30, "observed"},
    {"orlen", "orlen_7", "^[0-9]{7}$", "none (not found)", NULL, 30, "observed"},
};

/* Configuration keys: orlen_<name> (PP_ORLEN_<NAME>), docs/config.md. */
enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_PUBLIC_URL, K_PARTNER_ID, K_PARTNER_KEY, K_SOAP_NS };
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] = {"rps", PP_CFG_INT, "5", 0, 100000, true, false,
                            "fleet-wide ORLEN Paczka requests/s (0 = unlimited; none published)"},
    [PP_CARRIER_KEY_PER_DAY] = {"per_day", PP_CFG_INT, "0", 0, 100000000, true, false,
                                "fleet-wide ORLEN Paczka requests per UTC day (0 = unlimited; none published)"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://api.orlenpaczka.pl", 0, 0, true, false,
                    "ORLEN Paczka partner SOAP API base URL (service at /WebServicePwRProd/WebServicePwR.asmx)"},
    [K_PUBLIC_URL] = {"public_url", PP_CFG_STR, "https://nadaj.orlenpaczka.pl", 0, 0, true, false,
                      "ORLEN Paczka public tracker base URL (JSONP /parcel/api-status; used without partner credentials)"},
    [K_PARTNER_ID] = {"partner_id", PP_CFG_STR, "", 0, 0, true, false,
                      "ORLEN Paczka PartnerID (empty = public JSONP tracker, 1 number per request)"},
    [K_PARTNER_KEY] = {"partner_key", PP_CFG_STR, "", 0, 0, true, true,
                       "ORLEN Paczka PartnerKey (secret)"},
    [K_SOAP_NS] = {"soap_ns", PP_CFG_STR, "https://91.242.220.103/WebServicePwR", 0, 0, true, false,
                   "ORLEN Paczka SOAP namespace (also the SOAPAction prefix; value seen in partner clients)"},
};

/*
 * Facts: research/carriers.md §7 ([observed]: partner clients and a public tracker client;
 * the official PDF was not read).
 *
 * Transport. One adapter, two transports chosen by config (the interface has no config in
 * max_batch, and two registry rows would make two carrier names for one number format):
 *  - partner credentials set (orlen_partner_id and orlen_partner_key): SOAP 1.1 POST
 *    {orlen_base_url}/WebServicePwRProd/WebServicePwR.asmx, GiveMePackStatusFullHistoryList,
 *    up to 1000 numbers (max_batch);
 *  - otherwise the public tracker GET {orlen_public_url}/parcel/api-status?id=N&jsonp=callback,
 *    ONE number per request: build_request refuses n > 1 with PP_EINVAL, so a poller without
 *    partner credentials send ORLEN numbers one at a time (batch_limit() says so).
 * parse() tells the two answers apart by their first byte ('<' = SOAP).
 *
 * Times. SOAP `Data` ends in 'Z' but is Europe/Warsaw local time (§7.1/§10: 09:45:23Z means
 * 09:45 in Warsaw), so the 'Z' is ignored on purpose and the wall time converted with
 * pp_time_warsaw_to_utc; an explicit numeric offset, should one ever appear, is honoured.
 * JSONP `date` is "DD-MM-YYYY, HH:MM", Warsaw local time as well.
 *
 * Not found. SOAP: a number without rows is simply absent from the answer (the poller then
 * counts it as not found); [inferred: the research shows no not-found answer]. JSONP:
 * status "" with an empty history (or err set, e.g. 1003 for Allegro Delivery AD... codes).
 */

#define ORLEN_MAX_BATCH 1000
#define ORLEN_SOAP_PATH "/WebServicePwRProd/WebServicePwR.asmx"

extern const pp_carrier_t pp_carrier_orlen;

/* Append s to *buf (realloc'd) with XML escaping. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_xml(sbuf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_str(b, "&lt;"); break;
        case '>': sb_str(b, "&gt;"); break;
        case '&': sb_str(b, "&amp;"); break;
        case '"': sb_str(b, "&quot;"); break;
        case '\'': sb_str(b, "&apos;"); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                break; /* not allowed in XML 1.0 */
            sb_put(b, s, 1);
        }
    }
}

static int build_soap(const pp_config_t *cfg, const char *const *numbers, size_t n,
                      pp_http_request_t *req)
{
    sbuf_t b = {0};
    int rc;
    const char *ns = CFG(K_SOAP_NS)[0] ? CFG(K_SOAP_NS) : "https://91.242.220.103/WebServicePwR";
    req->method = "POST";
    if (asprintf(&req->url, "%.*s" ORLEN_SOAP_PATH, (int)pp_carrier_base_len(CFG(K_BASE_URL)),
                 CFG(K_BASE_URL)) < 0) {
        req->url = NULL;
        return PP_ENOMEM;
    }
    sb_str(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
               "<soap:Body><" ORLEN_OP " xmlns=\"");
    sb_xml(&b, ns);
    sb_str(&b, "\"><PartnerID>");
    sb_xml(&b, CFG(K_PARTNER_ID));
    sb_str(&b, "</PartnerID><PartnerKey>");
    sb_xml(&b, CFG(K_PARTNER_KEY));
    sb_str(&b, "</PartnerKey><PackCodes>");
    for (size_t i = 0; i < n; i++) {
        sb_str(&b, "<string>");
        sb_xml(&b, numbers[i]);
        sb_str(&b, "</string>");
    }
    sb_str(&b, "</PackCodes></" ORLEN_OP "></soap:Body></soap:Envelope>\n");
    if (b.oom) {
        free(b.p);
        return PP_ENOMEM;
    }
    req->body = b.p;
    req->body_len = b.len;
    size_t nl = strlen(ns);
    while (nl > 0 && ns[nl - 1] == '/')
        nl--;
    if ((rc = pp_http_request_add_header(req, "Content-Type: text/xml; charset=utf-8")) ||
        (rc = pp_http_request_add_header(req, "SOAPAction: \"%.*s/" ORLEN_OP "\"", (int)nl, ns)))
        return rc;
    return PP_OK;
}

static int build_public(const pp_config_t *cfg, const char *number, pp_http_request_t *req)
{
    char esc[3 * 64 + 1];
    if (pp_carrier_url_escape(number, esc, sizeof esc))
        return PP_EINVAL;
    req->method = "GET";
    if (asprintf(&req->url, "%.*s/parcel/api-status?id=%s&jsonp=callback",
                 (int)pp_carrier_base_len(CFG(K_PUBLIC_URL)), CFG(K_PUBLIC_URL), esc) < 0) {
        req->url = NULL;
        return PP_ENOMEM;
    }
    return pp_http_request_add_header(req, "Accept: application/javascript, application/json");
}

static bool has_partner(const pp_config_t *cfg)
{
    return CFG(K_PARTNER_ID)[0] && CFG(K_PARTNER_KEY)[0];
}

/* The partner SOAP list takes up to 1000 numbers; the public tracker one. */
static int orlen_batch_limit(const pp_config_t *cfg)
{
    return has_partner(cfg) ? ORLEN_MAX_BATCH : 1;
}

static int orlen_build_request(const pp_config_t *cfg, const char *token,
                               const char *const *numbers, size_t n, pp_http_request_t *req)
{
    int rc;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n < 1 || n > ORLEN_MAX_BATCH)
        return PP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!numbers[i] || !numbers[i][0] || strlen(numbers[i]) > 63)
            return PP_EINVAL;
    if (has_partner(cfg)) {
        if (!pp_carrier_base_len(CFG(K_BASE_URL)))
            return PP_EINVAL;
        rc = build_soap(cfg, numbers, n, req);
    } else {
        if (n != 1 || !pp_carrier_base_len(CFG(K_PUBLIC_URL)))
            return PP_EINVAL; /* the public tracker takes one number */
        rc = build_public(cfg, numbers[0], req);
    }
    if (rc)
        pp_http_request_free(req);
    return rc;
}

/* JSONP date: "DD-MM-YYYY, HH:MM" (also without the comma, or with ":SS"), Warsaw local time. */
static int public_time(const char *s, time_t *out)
{
    int Y, M, D, h, m, sec = 0;
    const char *p = s;
    if (pp_time_digits(&p, 2, &D) || *p++ != '-' || pp_time_digits(&p, 2, &M) || *p++ != '-' ||
        pp_time_digits(&p, 4, &Y))
        return PP_EPARSE;
    if (*p == ',')
        p++;
    if (*p != ' ')
        return PP_EPARSE;
    while (*p == ' ')
        p++;
    if (pp_time_digits(&p, 2, &h) || *p++ != ':' || pp_time_digits(&p, 2, &m))
        return PP_EPARSE;
    if (*p == ':' && (p++, pp_time_digits(&p, 2, &sec)))
        return PP_EPARSE;
    if (*p != '\0')
        return PP_EPARSE;
    return pp_time_warsaw_to_utc(Y, M, D, h, m, sec, out);
}

/* ---- public JSONP ------------------------------------------------------------------------ */

/* A string or a number member as text; absent/null -> "" ; other types -> PP_EPARSE. */
static int str_or_num(const cJSON *o, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    out[0] = '\0';
    if (!v || cJSON_IsNull(v))
        return PP_OK;
    if (cJSON_IsString(v)) {
        snprintf(out, cap, "%s", v->valuestring);
        return PP_OK;
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9) {
        snprintf(out, cap, "%ld", (long)v->valuedouble);
        return PP_OK;
    }
    return PP_EPARSE;
}

/* callback( ... ); -> [*a, *b) of the JSON inside (plain JSON is accepted too); PP_EPARSE if neither. */
static int unwrap_jsonp(const char *body, size_t len, size_t *ap, size_t *bp)
{
    size_t a = 0, b = len;
    while (a < b && isspace((unsigned char)body[a]))
        a++;
    while (b > a && (isspace((unsigned char)body[b - 1]) || body[b - 1] == ';'))
        b--;
    if (a < b && body[a] != '{') {
        size_t i = a;
        while (i < b && (isalnum((unsigned char)body[i]) || body[i] == '_' || body[i] == '$' ||
                         body[i] == '.'))
            i++;
        if (i == a || i >= b || body[i] != '(' || body[b - 1] != ')')
            return PP_EPARSE;
        a = i + 1;
        b--;
    }
    *ap = a;
    *bp = b;
    return PP_OK;
}

/* The history array as r's events (archiving entries dropped; r->events has room for all). */
static int public_events(const cJSON *hist, pp_track_result_t *r, char *err, size_t errlen)
{
    size_t i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, hist)
    {
        char code[16], date[40], label[200], shortl[100];
        long c;
        if (!cJSON_IsObject(h) || str_or_num(h, "code", code, sizeof code) ||
            str_or_num(h, "date", date, sizeof date) || str_or_num(h, "label", label, sizeof label) ||
            str_or_num(h, "labelShort", shortl, sizeof shortl)) {
            pp_carrier_err(err, errlen, "history[%zu] is not an object of strings", i);
            return PP_EPARSE;
        }
        if (pp_orlen_parse_int(code, &c) != 0) {
            pp_carrier_err(err, errlen, "history[%zu].code '%.15s' is not a number", i, code);
            return PP_EPARSE;
        }
        i++;
        if (c == ORLEN_ARCHIVED)
            continue;
        pp_track_event_t *ev = &r->events[r->n_events];
        if (public_time(date, &ev->occurred_at) != 0) {
            pp_carrier_err(err, errlen, "history[%zu].date '%.40s' is not DD-MM-YYYY, HH:MM", i - 1,
                           date);
            return PP_EPARSE;
        }
        ev->status = pp_orlen_map_code((int)c, NULL, label);
        snprintf(ev->carrier_code, sizeof ev->carrier_code, "%ld", c);
        snprintf(ev->description, sizeof ev->description, "%s", label[0] ? label : shortl);
        r->n_events++;
    }
    return PP_OK;
}

static int parse_public(int http_status, const char *body, size_t len, pp_track_result_t **results,
                        size_t *n_results, char *err, size_t errlen)
{
    cJSON *root = NULL;
    pp_track_result_t *r = NULL;
    int rc;
    if (http_status != 200) {
        pp_carrier_err(err, errlen, "HTTP %d from the public tracker", http_status);
        return PP_EHTTP;
    }
    size_t a, b;
    if (unwrap_jsonp(body, len, &a, &b)) {
        pp_carrier_err(err, errlen, "body is neither JSONP callback(...) nor JSON (%zu bytes)", len);
        return PP_EPARSE;
    }
    if (a >= b || !(root = cJSON_ParseWithLength(body + a, b - a)) || !cJSON_IsObject(root)) {
        pp_carrier_err(err, errlen, "JSONP payload is not a JSON object (truncated?)");
        rc = PP_EPARSE;
        goto fail;
    }
    char status[32], number[64], errc[32];
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(root, "history");
    if (str_or_num(root, "status", status, sizeof status) ||
        str_or_num(root, "number", number, sizeof number) ||
        str_or_num(root, "err", errc, sizeof errc)) {
        pp_carrier_err(err, errlen, "status/number/err has the wrong type");
        rc = PP_EPARSE;
        goto fail;
    }
    if (hist && !cJSON_IsNull(hist) && !cJSON_IsArray(hist)) {
        pp_carrier_err(err, errlen, "history is not an array");
        rc = PP_EPARSE;
        goto fail;
    }
    if (!(r = calloc(1, sizeof *r))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    snprintf(r->tracking_number, sizeof r->tracking_number, "%s", number);
    size_t n = cJSON_IsArray(hist) ? (size_t)cJSON_GetArraySize(hist) : 0;
    if (!status[0] || n == 0) {
        /* "" with an empty history = no data (err 1003 = Allegro Delivery code) */
        if (strcmp(status, "OK") == 0 && n == 0 && !errc[0]) {
            r->found = true; /* known, no scans yet */
        } else if (status[0] && strcmp(status, "OK") != 0) {
            pp_carrier_err(err, errlen, "unexpected status '%.20s'", status);
            rc = PP_EPARSE;
            goto fail;
        }
        goto done;
    }
    if (strcmp(status, "OK") != 0) {
        pp_carrier_err(err, errlen, "unexpected status '%.20s'", status);
        rc = PP_EPARSE;
        goto fail;
    }
    r->found = true;
    if (!(r->events = calloc(n, sizeof *r->events))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = public_events(hist, r, err, errlen)))
        goto fail;
    pp_track_events_sort(r->events, r->n_events); /* wire: oldest first already (§7.3); stable */
done:
    cJSON_Delete(root);
    *results = r;
    *n_results = 1;
    return PP_OK;
fail:
    pp_track_results_free(r, r ? 1 : 0);
    cJSON_Delete(root);
    return rc;
}

static int orlen_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
                       size_t *n_results, char *err, size_t errlen)
{
    *results = NULL;
    *n_results = 0;
    if (err && errlen)
        err[0] = '\0';
    size_t a = 0;
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
        a = 3;
    while (body && a < len && isspace((unsigned char)body[a]))
        a++;
    if (!body || a >= len) {
        if (http_status != 200) {
            pp_carrier_err(err, errlen, "HTTP %d with an empty body", http_status);
            return PP_EHTTP;
        }
        pp_carrier_err(err, errlen, "empty body");
        return PP_EPARSE;
    }
    if (body[a] == '<')
        return pp_orlen_parse_soap(http_status, body, len, results, n_results, err, errlen);
    return parse_public(http_status, body, len, results, n_results, err, errlen);
}

const pp_carrier_t pp_carrier_orlen = {
    .name = "orlen",
    .display = "ORLEN Paczka",
    .aliases = (const char *const[]){"orlen paczka", "ruch", NULL},
    .help_names = "ORLEN / RUCH",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"2############", NULL}, /* 13 digits starting 2 */
    .auth = PP_CARRIER_AUTH_BODY,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = ORLEN_MAX_BATCH,
    .batch_limit = orlen_batch_limit,
    .build_request = orlen_build_request,
    .parse_raw = orlen_parse,
};
