/* event.c - shipment-status.v1 and im-link-code.v1 codecs on cJSON; the decoders are the poison-event gate. */
#include "event.h"
#include "err.h"
#include "text.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

const char *pp_event_kind_name(pp_event_kind_t k)
{
    return k == PP_EV_NUMBER_ENTERED ? "number_entered"
           : k == PP_EV_IM_LINK_CODE ? "im_link_code"
                                     : "status_changed";
}

void pp_event_new_id(pp_event_t *ev)
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, ev->event_id);
}

static cJSON *str_or_null(const char *s)
{
    return (s && *s) ? cJSON_CreateString(s) : cJSON_CreateNull();
}

int pp_event_encode(const pp_event_t *ev, char **out)
{
    char occurred[PP_TIME_ISO_LEN], detected[PP_TIME_ISO_LEN];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return PP_ENOMEM;
    pp_time_format(ev->occurred_at, occurred);
    pp_time_format(ev->detected_at, detected);
    cJSON_AddStringToObject(o, "event_id", ev->event_id);
    cJSON_AddNumberToObject(o, "schema_version", PP_EVENT_SCHEMA_VERSION);
    cJSON_AddStringToObject(o, "kind", pp_event_kind_name(ev->kind));
    cJSON_AddNumberToObject(o, "shipment_id", (double)ev->shipment_id);
    cJSON_AddNumberToObject(o, "transaction_id", (double)ev->transaction_id);
    cJSON_AddStringToObject(o, "carrier", ev->carrier);
    cJSON_AddStringToObject(o, "tracking_number", ev->tracking_number);
    cJSON_AddItemToObject(o, "previous_status",
                          ev->previous_status == PP_ST_UNKNOWN
                              ? cJSON_CreateNull()
                              : cJSON_CreateString(pp_status_name(ev->previous_status)));
    cJSON_AddStringToObject(o, "status", pp_status_name(ev->status));
    cJSON_AddItemToObject(o, "carrier_status", str_or_null(ev->carrier_status));
    cJSON_AddItemToObject(o, "carrier_status_text", str_or_null(ev->carrier_status_text));
    cJSON_AddItemToObject(o, "location", str_or_null(ev->location));
    cJSON_AddStringToObject(o, "occurred_at", occurred);
    cJSON_AddStringToObject(o, "detected_at", detected);
    cJSON_AddNumberToObject(o, "sequence", (double)ev->sequence);
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? PP_OK : PP_ENOMEM;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return PP_EPARSE;
}

static int get_int(const cJSON *o, const char *k, long long min, long long *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        return fail(err, errlen, "field '%s' missing or not a number", k);
    double d = v->valuedouble;
    if (d != floor(d) || d < (double)min || d > 9007199254740991.0)
        return fail(err, errlen, "field '%s' is not an integer >= %lld", k, min);
    *out = (long long)d;
    return PP_OK;
}

/* Required string when `required`, else string or null (-> ""). Copied with bound check and
 * cleaned (pp_text_clean: valid UTF-8, no control characters), as every decoded text is. */
static int get_str(const cJSON *o, const char *k, int required, char *dst, size_t cap, char *err,
                   size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    dst[0] = '\0';
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return fail(err, errlen, "required field '%s' is missing", k);
        return PP_OK;
    }
    if (!cJSON_IsString(v))
        return fail(err, errlen, "field '%s' is not a string", k);
    size_t n = strlen(v->valuestring);
    if (required && n == 0)
        return fail(err, errlen, "field '%s' is empty", k);
    if (n >= cap)
        return fail(err, errlen, "field '%s' is longer than %zu bytes", k, cap - 1);
    /* A required field that cleaning empties ("\u0001") is as empty as "" (found by tests/fuzz:
     * it decoded, and its own re-encoding did not). */
    if (pp_text_clean(dst, cap, v->valuestring, n) == 0 && required)
        return fail(err, errlen, "field '%s' is empty once cleaned of control characters", k);
    return PP_OK;
}

static int get_time(const cJSON *o, const char *k, time_t *out, char *err, size_t errlen)
{
    char buf[64];
    int zone = 0;
    if (get_str(o, k, 1, buf, sizeof buf, err, errlen))
        return PP_EPARSE;
    if (pp_time_parse_iso(buf, out, &zone) || !zone)
        return fail(err, errlen, "field '%s' is not an ISO 8601 time with a zone: '%s'", k, buf);
    return PP_OK;
}

/* event_id (a UUID, lower-cased into id[37]) and schema_version (must be 1). */
static int get_head(const cJSON *o, char *id, char *err, size_t errlen)
{
    long long n;
    if (get_str(o, "event_id", 1, id, 37, err, errlen))
        return PP_EPARSE;
    uuid_t u;
    if (strlen(id) != 36 || uuid_parse(id, u) != 0)
        return fail(err, errlen, "event_id '%s' is not a UUID", id);
    for (char *c = id; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (get_int(o, "schema_version", 1, &n, err, errlen))
        return PP_EPARSE;
    if (n != PP_EVENT_SCHEMA_VERSION)
        return fail(err, errlen, "unsupported schema_version %lld", n);
    return PP_OK;
}

/* Both decoders' start: the payload parsed as a JSON object (*o, for the caller to delete) with
 * a valid head; on failure nothing is left to delete. */
static int parse_head(const char *json, size_t len, cJSON **o, char *id, char *err, size_t errlen)
{
    if (!json || len == 0)
        return fail(err, errlen, "empty payload");
    *o = cJSON_ParseWithLength(json, len);
    if (!*o)
        return fail(err, errlen, "not valid JSON");
    int rc =
        cJSON_IsObject(*o) ? get_head(*o, id, err, errlen) : fail(err, errlen, "not a JSON object");
    if (rc) {
        cJSON_Delete(*o);
        *o = NULL;
    }
    return rc;
}

int pp_event_decode(const char *json, size_t len, pp_event_t *ev, char *err, size_t errlen)
{
    char buf[64];
    int rc = PP_EPARSE;
    memset(ev, 0, sizeof *ev);
    cJSON *o;
    if (parse_head(json, len, &o, ev->event_id, err, errlen)) {
        if (err && errlen)
            pp_text_clean(err, errlen, err, strnlen(err, errlen));
        return PP_EPARSE;
    }
    ev->schema_version = PP_EVENT_SCHEMA_VERSION;
    if (get_str(o, "kind", 1, buf, sizeof buf, err, errlen))
        goto out;
    if (strcmp(buf, "number_entered") == 0)
        ev->kind = PP_EV_NUMBER_ENTERED;
    else if (strcmp(buf, "status_changed") == 0)
        ev->kind = PP_EV_STATUS_CHANGED;
    else {
        fail(err, errlen, "unknown kind '%s'", buf);
        goto out;
    }
    if (get_int(o, "shipment_id", 1, &ev->shipment_id, err, errlen) ||
        get_int(o, "transaction_id", 1, &ev->transaction_id, err, errlen) ||
        get_int(o, "sequence", 1, &ev->sequence, err, errlen))
        goto out;
    if (get_str(o, "carrier", 1, ev->carrier, sizeof ev->carrier, err, errlen) ||
        get_str(o, "tracking_number", 1, ev->tracking_number, sizeof ev->tracking_number, err, errlen))
        goto out;
    if (get_str(o, "status", 1, buf, sizeof buf, err, errlen))
        goto out;
    if (pp_status_parse(buf, &ev->status) || ev->status == PP_ST_UNKNOWN ||
        ev->status == PP_ST_NOT_FOUND_YET) {
        fail(err, errlen, "status '%s' is not a notifiable status", buf);
        goto out;
    }
    if (get_str(o, "previous_status", 0, buf, sizeof buf, err, errlen))
        goto out;
    ev->previous_status = PP_ST_UNKNOWN;
    if (buf[0] && pp_status_parse(buf, &ev->previous_status)) {
        fail(err, errlen, "previous_status '%s' is not a status", buf);
        goto out;
    }
    if (get_str(o, "carrier_status", 0, ev->carrier_status, sizeof ev->carrier_status, err, errlen) ||
        get_str(o, "carrier_status_text", 0, ev->carrier_status_text,
                sizeof ev->carrier_status_text, err, errlen) ||
        get_str(o, "location", 0, ev->location, sizeof ev->location, err, errlen))
        goto out;
    if (get_time(o, "occurred_at", &ev->occurred_at, err, errlen) ||
        get_time(o, "detected_at", &ev->detected_at, err, errlen))
        goto out;
    rc = PP_OK;
out:
    cJSON_Delete(o);
    if (rc && err && errlen) /* the reason quotes the payload; it goes to headers and logs */
        pp_text_clean(err, errlen, err, strnlen(err, errlen));
    return rc;
}

/* ---- im-link-code.v1 ---- */

int pp_link_event_encode(const pp_link_event_t *ev, char **out)
{
    char expires[PP_TIME_ISO_LEN];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return PP_ENOMEM;
    pp_time_format(ev->expires_at, expires);
    cJSON_AddStringToObject(o, "event_id", ev->event_id);
    cJSON_AddNumberToObject(o, "schema_version", PP_EVENT_SCHEMA_VERSION);
    cJSON_AddStringToObject(o, "kind", "im_link_code");
    cJSON_AddNumberToObject(o, "user_id", (double)ev->user_id);
    cJSON_AddStringToObject(o, "channel", ev->channel);
    cJSON_AddStringToObject(o, "address", ev->address);
    cJSON_AddStringToObject(o, "code", ev->code);
    cJSON_AddStringToObject(o, "locale", ev->locale);
    cJSON_AddStringToObject(o, "expires_at", expires);
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? PP_OK : PP_ENOMEM;
}

int pp_link_event_decode(const char *json, size_t len, pp_link_event_t *ev, char *err, size_t errlen)
{
    char kind[32];
    int rc = PP_EPARSE;
    memset(ev, 0, sizeof *ev);
    cJSON *o;
    if (parse_head(json, len, &o, ev->event_id, err, errlen)) {
        if (err && errlen)
            pp_text_clean(err, errlen, err, strnlen(err, errlen));
        return PP_EPARSE;
    }
    if (get_str(o, "kind", 1, kind, sizeof kind, err, errlen))
        goto out;
    if (strcmp(kind, "im_link_code") != 0) {
        fail(err, errlen, "kind '%s' on the IM-link topic (want im_link_code)", kind);
        goto out;
    }
    if (get_int(o, "user_id", 1, &ev->user_id, err, errlen) ||
        get_str(o, "channel", 1, ev->channel, sizeof ev->channel, err, errlen) ||
        get_str(o, "address", 1, ev->address, sizeof ev->address, err, errlen) ||
        get_str(o, "code", 1, ev->code, sizeof ev->code, err, errlen) ||
        get_str(o, "locale", 1, ev->locale, sizeof ev->locale, err, errlen) ||
        get_time(o, "expires_at", &ev->expires_at, err, errlen))
        goto out;
    for (const char *c = ev->code; *c; c++)
        if (*c < '0' || *c > '9') {
            fail(err, errlen, "code is not digits");
            goto out;
        }
    if (!strchr(ev->address, '@')) {
        fail(err, errlen, "address '%s' is not an IM address", ev->address);
        goto out;
    }
    rc = PP_OK;
out:
    cJSON_Delete(o);
    if (rc && err && errlen) /* the reason quotes the payload; it goes to headers and logs */
        pp_text_clean(err, errlen, err, strnlen(err, errlen));
    return rc;
}
