/* gls.c - GLS Group Track And Trace V1 adapter: OAuth2 client credentials, batch GET of up to 10 parcels, status mapping. */
#include "carrier.h"
#include "../err.h"
#include "../timeutil.h"
#include "numbers.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "gls", (k))

/*
 * Tracking-number formats (numbers.c detects over every carrier's; sources: research/
 * carriers.md §8, jkeen/tracking_number_data). Confidence: how surely a number of this shape,
 * check digit right, is this carrier's; a shape other carriers share gets less.
 * No check-digit rule was found (research §8 "[not found]"): shape only, any digits. One
 * third-party client appends a check digit to 11-digit numbers, algorithm unknown. 8-character
 * numbers ("some countries") are accepted at low confidence.
 */
static const pp_number_format_t formats[] = {
    {"gls", "gls_12", "^[0-9]{12}$", "none (not found)", NULL, 60, "confirmed"},
    {"gls", "gls_11", "^[0-9]{11}$", "none (not found)", NULL, 50, "confirmed"},
    {"gls", "gls_8", "^[0-9A-Z]{8}$", "none; at least one digit", pp_carrier_has_digit, 15, "confirmed"},
};

/* Configuration keys: gls_<name> (PP_GLS_<NAME>), docs/config.md. */
enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_TOKEN_PATH, K_CLIENT_ID, K_CLIENT_SECRET };
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] = {"rps", PP_CFG_INT, "5", 0, 100000, true, false,
                            "fleet-wide GLS Track And Trace requests/s (0 = unlimited; none published)"},
    [PP_CARRIER_KEY_PER_DAY] =
        {"per_day", PP_CFG_INT, "20000", 0, 100000000, true, false,
         "fleet-wide GLS requests (10 numbers each) per UTC day (0 = unlimited); GLS's default quota is 500/day, raised on request"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://api.gls-group.net", 0, 0, true, false,
                    "GLS Group API base URL (tracking under /track-and-trace-v1, OAuth token under gls_token_path)"},
    [K_TOKEN_PATH] = {"token_path", PP_CFG_STR, "/oauth2/v1/token", 0, 0, true, false,
                      "GLS OAuth2 token endpoint path under gls_base_url (spec: /oauth2/v1/token; karrio uses /oauth2/v2/token)"},
    [K_CLIENT_ID] = {"client_id", PP_CFG_STR, "", 0, 0, true, false,
                     "GLS OAuth2 client id (developer portal app)"},
    [K_CLIENT_SECRET] = {"client_secret", PP_CFG_STR, "", 0, 0, true, true,
                         "GLS OAuth2 client secret (empty = no token request)"},
};

/*
 * Facts: research/carriers.md §4 (vendor spec "Track And Trace V1" 1.0.7, vendored in
 * karrio). GET {gls_base_url}/track-and-trace-v1/tracking/simple/trackids/{n1,n2,...}, at most
 * 10 numbers; 200 {"parcels":[...]} with one entry per requested number, a number GLS does not
 * know being {"requested":..,"errorCode":"E_404_01",..} inside the 200. Times are ISO 8601
 * with an offset ("2024-10-07T10:46:14+0200"). Token: POST {gls_base_url}{gls_token_path}
 * (spec tokenUrl /oauth2/v1/token; karrio uses /oauth2/v2/token, hence configurable) with
 * HTTP Basic client_id:client_secret and grant_type=client_credentials (karrio's way; the
 * spec names no client authentication method).
 */

#define GLS_MAX_BATCH 10

extern const pp_carrier_t pp_carrier_gls;

typedef struct gls_status {
    const char *name;
    pp_status_t status;
    const char *text; /* Polish text for the payment card (GLS gives English/German only) */
} gls_status_t;

/* The parcel-level status enum, §4.3 [confirmed], all twelve values. */
static const gls_status_t statuses[] = {
    {"PLANNEDPICKUP", PP_ST_INFO_RECEIVED, "Zaplanowano odbiór od nadawcy"},
    {"INPICKUP", PP_ST_INFO_RECEIVED, "Kierowca odbierze paczkę od nadawcy"},
    {"PREADVICE", PP_ST_INFO_RECEIVED, "GLS otrzymał dane paczki"},
    /* the pickup from the sender failed: a delay for the buyer, not a failed delivery */
    {"NOTPICKEDUP", PP_ST_EXCEPTION, "Paczka nie została odebrana od nadawcy"},
    {"INTRANSIT", PP_ST_IN_TRANSIT, "W drodze do oddziału docelowego"},
    {"INWAREHOUSE", PP_ST_IN_TRANSIT, "W magazynie GLS"},
    {"INDELIVERY", PP_ST_OUT_FOR_DELIVERY, "Wydana do doręczenia"},
    /* "delivered to a parcel shop" = waiting there for the recipient (§4.3 note) */
    {"DELIVEREDPS", PP_ST_AVAILABLE_FOR_PICKUP, "Czeka na odbiór w GLS ParcelShop"},
    {"DELIVERED", PP_ST_DELIVERED, "Doręczona"},
    {"NOTDELIVERED", PP_ST_DELIVERY_FAILED, "Nieudana próba doręczenia"},
    {"CANCELED", PP_ST_EXCEPTION, "Przesyłka anulowana"},
    /* FINAL ("parcel history closed"): resolved in resolve_final() */
    {"FINAL", PP_ST_UNKNOWN, "Historia przesyłki zamknięta"},
};

/*
 * Event codes. The full dictionary is only available at runtime (GET /tracking/events/codes);
 * these are the codes the spec shows with their meaning. Every other code is kept raw with
 * PP_ST_UNKNOWN (never a key change): the parcel-level status above carries the signal.
 */
static const gls_status_t event_codes[] = {
    {"INTIAL.PREADVICE", PP_ST_INFO_RECEIVED, NULL},
    {"INTIAL.E48_DATA", PP_ST_INFO_RECEIVED, NULL},
    {"INTIAL.NORMAL", PP_ST_IN_TRANSIT, NULL},
    {"DELIVD.PARCELSHOP", PP_ST_AVAILABLE_FOR_PICKUP, NULL},
    {"CANCEL.NORMAL", PP_ST_EXCEPTION, NULL},
};

static const gls_status_t *table_find(const gls_status_t *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static int gls_build_auth_request(const pp_config_t *cfg, pp_http_request_t *req)
{
    char *cred = NULL, *b64 = NULL;
    int rc;
    memset(req, 0, sizeof(*req));
    if (!cfg || !pp_carrier_base_len(CFG(K_BASE_URL)) || !CFG(K_CLIENT_ID)[0] ||
        !CFG(K_CLIENT_SECRET)[0] || !CFG(K_TOKEN_PATH))
        return PP_EINVAL;
    const char *path = CFG(K_TOKEN_PATH);
    req->method = "POST";
    if (asprintf(&req->url, "%.*s%s%s", (int)pp_carrier_base_len(CFG(K_BASE_URL)), CFG(K_BASE_URL),
                 path[0] == '/' ? "" : "/", path) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if (asprintf(&cred, "%s:%s", CFG(K_CLIENT_ID), CFG(K_CLIENT_SECRET)) < 0) {
        cred = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_carrier_base64(cred, strlen(cred), &b64)) != 0)
        goto fail;
    if ((rc = pp_http_request_add_header(req, "Content-Type: application/x-www-form-urlencoded")) ||
        (rc = pp_http_request_add_header(req, "Accept: application/json")) ||
        (rc = pp_http_request_add_header(req, "Authorization: Basic %s", b64)))
        goto fail;
    if (!(req->body = strdup("grant_type=client_credentials"))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    req->body_len = strlen(req->body);
    free(cred);
    free(b64);
    return PP_OK;
fail:
    free(cred);
    free(b64);
    pp_http_request_free(req);
    return rc;
}

/*
 * Reason text of a GLS/Apigee error document: Apigee {"fault":{"faultstring","detail":
 * {"errorcode"}}}, problem+json {"title","detail"}, OAuth {"error","error_description"}.
 */
static void error_reason(const cJSON *root, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!cJSON_IsObject(root))
        return;
    const cJSON *fault = cJSON_GetObjectItemCaseSensitive(root, "fault");
    if (cJSON_IsObject(fault)) {
        const cJSON *fs = cJSON_GetObjectItemCaseSensitive(fault, "faultstring");
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(fault, "detail");
        const cJSON *code =
            cJSON_IsObject(det) ? cJSON_GetObjectItemCaseSensitive(det, "errorcode") : NULL;
        snprintf(out, outlen, "%s%s%s", cJSON_IsString(code) ? code->valuestring : "",
                 cJSON_IsString(code) && cJSON_IsString(fs) ? ": " : "",
                 cJSON_IsString(fs) ? fs->valuestring : "");
        return;
    }
    const char *a = "title", *b = "detail";
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "error")))
        a = "error", b = "error_description";
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, a);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, b);
    snprintf(out, outlen, "%s%s%s", cJSON_IsString(t) ? t->valuestring : "",
             cJSON_IsString(t) && cJSON_IsString(d) ? ": " : "",
             cJSON_IsString(d) ? d->valuestring : "");
}

static int http_error(int http_status, const cJSON *root, const char *what, char *err, size_t errlen)
{
    char reason[256];
    error_reason(root, reason, sizeof reason);
    const char *kind = http_status == 401 || http_status == 403 ? ": not authorized"
                       : http_status == 429                     ? ": rate limited"
                                                                : "";
    pp_carrier_err(err, errlen, "%s HTTP %d%s%s%s", what, http_status, kind, reason[0] ? ": " : "",
                   reason);
    return PP_EHTTP;
}

static int gls_parse_auth(int http_status, const char *body, size_t len, char *token, size_t cap,
                          long *expires_in_s, char *err, size_t errlen)
{
    cJSON *root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    int rc = PP_EPARSE;
    if (err && errlen)
        err[0] = '\0';
    if (http_status != 200) {
        rc = http_error(http_status, root, "token request:", err, errlen);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        pp_carrier_err(err, errlen, "token response is not a JSON object (%zu bytes)", len);
        goto out;
    }
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    if (!cJSON_IsString(at) || !at->valuestring[0]) {
        pp_carrier_err(err, errlen, "token response: access_token missing or not a string");
        goto out;
    }
    if (strlen(at->valuestring) >= cap) {
        pp_carrier_err(err, errlen, "token response: access_token longer than %zu bytes",
                       cap ? cap - 1 : 0);
        goto out;
    }
    /* Apigee writes expires_in as a string ("3599"), RFC 6749 as a number: take both. */
    long secs = -1;
    if (cJSON_IsNumber(ex) && ex->valuedouble >= 1 && ex->valuedouble <= 86400.0 * 366) {
        secs = (long)ex->valuedouble;
    } else if (cJSON_IsString(ex)) {
        char *end;
        errno = 0;
        long v = strtol(ex->valuestring, &end, 10);
        if (!errno && end != ex->valuestring && *end == '\0' && v >= 1 && v <= 86400L * 366)
            secs = v;
    }
    if (secs < 0) {
        pp_carrier_err(err, errlen,
                       "token response: expires_in missing or not a positive number of seconds");
        goto out;
    }
    snprintf(token, cap, "%s", at->valuestring);
    *expires_in_s = secs;
    rc = PP_OK;
out:
    cJSON_Delete(root);
    return rc;
}

static int put_escaped(char *dst, size_t *k, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*k + 4 > cap)
            return PP_EINVAL;
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            dst[(*k)++] = (char)*p;
        } else { /* ',' too: it separates the numbers */
            dst[(*k)++] = '%';
            dst[(*k)++] = hex[*p >> 4];
            dst[(*k)++] = hex[*p & 15];
        }
    }
    return PP_OK;
}

static int gls_build_request(const pp_config_t *cfg, const char *token, const char *const *numbers,
                             size_t n, pp_http_request_t *req)
{
    char list[GLS_MAX_BATCH * (3 * 63 + 1) + 1];
    size_t k = 0;
    int rc;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n < 1 || n > GLS_MAX_BATCH || !pp_carrier_base_len(CFG(K_BASE_URL)))
        return PP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!numbers[i] || !numbers[i][0] || strlen(numbers[i]) > 63)
            return PP_EINVAL;
        if (i)
            list[k++] = ',';
        if (put_escaped(list, &k, sizeof list, numbers[i]))
            return PP_EINVAL;
    }
    list[k] = '\0';
    req->method = "GET";
    if (asprintf(&req->url, "%.*s/track-and-trace-v1/tracking/simple/trackids/%s",
                 (int)pp_carrier_base_len(CFG(K_BASE_URL)), CFG(K_BASE_URL), list) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_http_request_add_header(req, "Accept: application/json")) ||
        (rc = pp_http_request_add_header(req, "Accept-Language: EN")))
        goto fail;
    if (token && token[0] && (rc = pp_http_request_add_header(req, "Authorization: Bearer %s", token)))
        goto fail;
    return PP_OK;
fail:
    pp_http_request_free(req);
    return rc;
}

static int parse_time(const char *s, time_t *out)
{
    int had_zone = 0;
    return pp_time_parse_iso(s, out, &had_zone) == 0 && had_zone ? PP_OK : PP_EPARSE;
}

static int parse_event(const cJSON *e, size_t pi, size_t idx, pp_track_event_t *ev, char *err,
                       size_t errlen)
{
    const char *code, *city, *postal, *country, *desc, *when;
    if (!cJSON_IsObject(e)) {
        pp_carrier_err(err, errlen, "parcels[%zu].events[%zu] is not an object", pi, idx);
        return PP_EPARSE;
    }
    if (pp_carrier_json_opt_string(e, "code", &code) || pp_carrier_json_opt_string(e, "city", &city) ||
        pp_carrier_json_opt_string(e, "postalCode", &postal) ||
        pp_carrier_json_opt_string(e, "country", &country) ||
        pp_carrier_json_opt_string(e, "description", &desc) ||
        pp_carrier_json_opt_string(e, "eventDateTime", &when)) {
        pp_carrier_err(err, errlen, "parcels[%zu].events[%zu]: a field is not a string", pi, idx);
        return PP_EPARSE;
    }
    if (!code[0]) {
        pp_carrier_err(err, errlen, "parcels[%zu].events[%zu].code missing", pi, idx);
        return PP_EPARSE;
    }
    if (parse_time(when, &ev->occurred_at)) {
        pp_carrier_err(err, errlen,
                       "parcels[%zu].events[%zu].eventDateTime '%.40s' is not ISO 8601 with an offset",
                       pi, idx, when);
        return PP_EPARSE;
    }
    const gls_status_t *s = table_find(event_codes, sizeof event_codes / sizeof event_codes[0], code);
    ev->status = s ? s->status : PP_ST_UNKNOWN;
    snprintf(ev->carrier_code, sizeof ev->carrier_code, "%s", code);
    snprintf(ev->description, sizeof ev->description, "%s", desc[0] ? desc : code);
    if (city[0])
        snprintf(ev->location, sizeof ev->location, "%s%s%s%s%s", postal, postal[0] ? " " : "",
                 city, country[0] ? ", " : "", country);
    else
        snprintf(ev->location, sizeof ev->location, "%s", country);
    return PP_OK;
}

/*
 * FINAL closes the history without saying how it ended. Delivered when the history shows a
 * delivery (a DELIVD.* event, or DELIVERED/DELIVEREDPS reached), else expired: terminal, so
 * polling stops, without claiming a delivery for a cancelled or returned parcel. [inferred;
 * karrio maps FINAL to delivered unconditionally]
 */
static pp_status_t resolve_final(const pp_track_result_t *r)
{
    for (size_t i = 0; i < r->n_events; i++)
        if (strncmp(r->events[i].carrier_code, "DELIVD.", 7) == 0 ||
            r->events[i].status == PP_ST_DELIVERED || r->events[i].status == PP_ST_AVAILABLE_FOR_PICKUP)
            return PP_ST_DELIVERED;
    return PP_ST_EXPIRED;
}

/* The parcel's events (null or an array, newest first in the spec's examples) into r->events,
 * oldest first and sorted by time, with room for one more entry. */
static int parse_events(const cJSON *events, size_t pi, pp_track_result_t *r, char *err, size_t errlen)
{
    if (events && !cJSON_IsNull(events) && !cJSON_IsArray(events)) {
        pp_carrier_err(err, errlen, "parcels[%zu].events is not an array", pi);
        return PP_EPARSE;
    }
    size_t n = cJSON_IsArray(events) ? (size_t)cJSON_GetArraySize(events) : 0;
    /* +1: room for the parcel-level status as its own entry (add_status_entry) */
    r->events = calloc(n + 1, sizeof *r->events);
    if (!r->events)
        return PP_ENOMEM;
    /* The spec's examples are newest first: fill from the back so the array is oldest first. */
    size_t i = 0;
    const cJSON *e;
    if (n) {
        cJSON_ArrayForEach(e, events)
        {
            int rc = parse_event(e, pi, i, &r->events[n - 1 - i], err, errlen);
            if (rc)
                return rc;
            i++;
        }
    }
    r->n_events = n;
    /* §10: GLS order is not documented, sort by time yourself (stable insertion sort). */
    pp_track_events_sort(r->events, r->n_events);
    return PP_OK;
}

/*
 * The parcel status is GLS's own normalization ([confirmed] enum) while most event codes
 * are not in the research: when the newest event does not already say the same, the
 * status becomes an entry of its own at statusDateTime (never before the newest event).
 * PP_EPARSE when that entry would have no time (no events, no statusDateTime).
 */
static int add_status_entry(pp_track_result_t *r, const gls_status_t *st, const char *status,
                            const time_t *status_at)
{
    pp_status_t norm = st ? st->status : PP_ST_UNKNOWN;
    if (st && strcmp(st->name, "FINAL") == 0)
        norm = resolve_final(r);
    const pp_track_event_t *last = r->n_events ? &r->events[r->n_events - 1] : NULL;
    if (last && last->status == norm)
        return PP_OK;
    pp_track_event_t *ev = &r->events[r->n_events];
    ev->status = norm;
    snprintf(ev->carrier_code, sizeof ev->carrier_code, "%s", status);
    snprintf(ev->description, sizeof ev->description, "%s", st ? st->text : status);
    ev->occurred_at = status_at ? *status_at : (last ? last->occurred_at : 0);
    if (last && ev->occurred_at < last->occurred_at)
        ev->occurred_at = last->occurred_at;
    if (last)
        snprintf(ev->location, sizeof ev->location, "%s", last->location);
    if (!last && !status_at)
        return PP_EPARSE;
    r->n_events++;
    return PP_OK;
}

static int parse_parcel(const cJSON *p, size_t pi, pp_track_result_t *r, char *err, size_t errlen)
{
    const char *requested, *unitno, *ecode, *emsg, *status, *sdt;
    if (!cJSON_IsObject(p)) {
        pp_carrier_err(err, errlen, "parcels[%zu] is not an object", pi);
        return PP_EPARSE;
    }
    if (pp_carrier_json_opt_string(p, "requested", &requested) ||
        pp_carrier_json_opt_string(p, "unitno", &unitno) ||
        pp_carrier_json_opt_string(p, "errorCode", &ecode) ||
        pp_carrier_json_opt_string(p, "errorMessage", &emsg) ||
        pp_carrier_json_opt_string(p, "status", &status) ||
        pp_carrier_json_opt_string(p, "statusDateTime", &sdt)) {
        pp_carrier_err(err, errlen,
                       "parcels[%zu]: requested/unitno/errorCode/status/statusDateTime not a string",
                       pi);
        return PP_EPARSE;
    }
    const char *number = requested[0] ? requested : unitno;
    if (!number[0]) {
        pp_carrier_err(err, errlen, "parcels[%zu]: neither requested nor unitno", pi);
        return PP_EPARSE;
    }
    snprintf(r->tracking_number, sizeof r->tracking_number, "%s", number);
    if (ecode[0]) {
        /* E_404_01 Resource Not Found (E_404_02 No Delivery Info): GLS does not know it (yet). */
        if (strncmp(ecode, "E_404_", 6) == 0) {
            r->found = false;
            return PP_OK;
        }
        /* E_400_* / E_500_01 for one parcel: the whole answer is retried, with the reason. */
        pp_carrier_err(err, errlen, "parcel %s: %s%s%s", number, ecode, emsg[0] ? " " : "", emsg);
        return PP_EHTTP;
    }
    /* an unknown status value is kept raw (PP_ST_UNKNOWN), never an error */
    const gls_status_t *st = table_find(statuses, sizeof statuses / sizeof statuses[0], status);
    if (!status[0]) {
        pp_carrier_err(err, errlen, "parcels[%zu] (%s): status missing", pi, number);
        return PP_EPARSE;
    }
    time_t status_at = 0;
    bool has_status_at = sdt[0] != '\0';
    if (has_status_at && parse_time(sdt, &status_at)) {
        pp_carrier_err(err, errlen,
                       "parcels[%zu].statusDateTime '%.40s' is not ISO 8601 with an offset", pi, sdt);
        return PP_EPARSE;
    }
    r->found = true;
    int rc = parse_events(cJSON_GetObjectItemCaseSensitive(p, "events"), pi, r, err, errlen);
    if (rc)
        return rc;
    if (add_status_entry(r, st, status, has_status_at ? &status_at : NULL)) {
        pp_carrier_err(err, errlen, "parcels[%zu] (%s): neither events nor statusDateTime", pi, number);
        return PP_EPARSE;
    }
    return PP_OK;
}

static int gls_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
                     size_t *n_results, char *err, size_t errlen)
{
    cJSON *root = NULL;
    pp_track_result_t *r = NULL;
    size_t n = 0;
    int rc;
    *results = NULL;
    *n_results = 0;
    if (err && errlen)
        err[0] = '\0';
    if (body && len > 0)
        root = cJSON_ParseWithLength(body, len);
    if (http_status != 200) {
        /* A top-level 404 is a wrong call ("No static resource"), not an unknown parcel. */
        rc = http_error(http_status, root, "tracking:", err, errlen);
        goto fail;
    }
    if (!root) {
        pp_carrier_err(err, errlen, "body is not valid JSON (%zu bytes, truncated?)", len);
        rc = PP_EPARSE;
        goto fail;
    }
    const cJSON *parcels = cJSON_GetObjectItemCaseSensitive(root, "parcels");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(parcels)) {
        pp_carrier_err(err, errlen, "body is not an object with a parcels array");
        rc = PP_EPARSE;
        goto fail;
    }
    n = (size_t)cJSON_GetArraySize(parcels);
    if (n == 0) {
        pp_carrier_err(err, errlen, "parcels array is empty");
        rc = PP_EPARSE;
        goto fail;
    }
    if (!(r = calloc(n, sizeof *r))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    size_t i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, parcels)
    {
        if ((rc = parse_parcel(p, i, &r[i], err, errlen)) != 0)
            goto fail;
        i++;
    }
    cJSON_Delete(root);
    *results = r;
    *n_results = n;
    return PP_OK;
fail:
    pp_track_results_free(r, n);
    cJSON_Delete(root);
    return rc;
}

const pp_carrier_t pp_carrier_gls = {
    .name = "gls",
    .display = "GLS",
    .help_names = "GLS",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"9###########", NULL}, /* 12 digits */
    .auth = PP_CARRIER_AUTH_OAUTH,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = GLS_MAX_BATCH,
    .build_auth_request = gls_build_auth_request,
    .parse_auth = gls_parse_auth,
    .build_request = gls_build_request,
    .parse_raw = gls_parse,
};
