/* event.c - shipment-status.v1 and im-link-code.v1 codecs (written directly, read with cJSON); the decoders are the poison-event gate. */
#include "event.h"
#include "err.h"
#include "growbuf.h"
#include "text.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

const char *pp_event_kind_name(pp_event_kind_t k)
{
    return k == PP_EV_NUMBER_ENTERED ? "number_entered"
           : k == PP_EV_IM_LINK_CODE ? "im_link_code"
                                     : "status_changed";
}

/*
 * Random bytes for event ids, 16 ids' worth per getrandom() call and per thread. libuuid's
 * uuid_generate_random made a getrandom() call and reseeded random() for every id: 3.6 % of
 * a poller's CPU on the all-change mix (one id per status change). A forked child starts
 * with an empty pool (the parent's bytes are never used twice).
 */
static _Thread_local unsigned char id_pool[256];
static _Thread_local size_t id_used = sizeof id_pool;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_pool_forget(void) { id_used = sizeof id_pool; }
static void id_pool_atfork(void) { pthread_atfork(NULL, NULL, id_pool_forget); }

void pp_event_new_id(pp_event_t *ev)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char u[16];
    pthread_once(&id_once, id_pool_atfork);
    if (id_used + sizeof u > sizeof id_pool) {
        if (getrandom(id_pool, sizeof id_pool, 0) != (ssize_t)sizeof id_pool) {
            uuid_t g; /* not expected (the kernel's pool is up once the system runs) */
            uuid_generate_random(g);
            uuid_unparse_lower(g, ev->event_id);
            return;
        }
        id_used = 0;
    }
    memcpy(u, id_pool + id_used, sizeof u);
    memset(id_pool + id_used, 0, sizeof u);
    id_used += sizeof u;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4: random */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* variant RFC 4122 */
    char *o = ev->event_id;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[u[i] >> 4];
        *o++ = hex[u[i] & 15];
    }
    *o = '\0';
}

/*
 * The encoders write the JSON text straight into one growing buffer, with cJSON's escaping:
 * '"', '\\', \b \f \n \r \t and the other control characters as \u00XX, every other byte as
 * it is. (Building a cJSON tree and printing it cost ~40 allocations an event.)
 */
typedef struct jw {
    char *p;
    size_t len, cap;
    bool oom;
} jw_t;

/* Room for n more bytes and the closing "}\0". */
static bool jw_room(jw_t *w, size_t n)
{
    if (w->oom)
        return false;
    /* an event is ~450 bytes */
    if (!pp_grow(&w->p, &w->cap, w->len + n + 2, 1024))
        w->oom = true;
    return !w->oom;
}

/* ,"key": ('{' instead of the comma before the first member) */
static bool jw_key(jw_t *w, const char *key, size_t value_max)
{
    size_t k = strlen(key);
    if (!jw_room(w, k + 4 + value_max))
        return false;
    char open = w->len ? ',' : '{';
    w->p[w->len++] = open;
    w->p[w->len++] = '"';
    memcpy(w->p + w->len, key, k);
    w->len += k;
    w->p[w->len++] = '"';
    w->p[w->len++] = ':';
    return true;
}

/* A string member; s NULL: null. */
static void jw_str(jw_t *w, const char *key, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = s ? strlen(s) : 0;
    if (!jw_key(w, key, 6 * n + 4)) /* worst case: every byte as \u00XX, plus the quotes */
        return;
    if (!s) {
        memcpy(w->p + w->len, "null", 4);
        w->len += 4;
        return;
    }
    char *o = w->p + w->len;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc = *c == '"'    ? '"'
                   : *c == '\\' ? '\\'
                   : *c == '\b' ? 'b'
                   : *c == '\f' ? 'f'
                   : *c == '\n' ? 'n'
                   : *c == '\r' ? 'r'
                   : *c == '\t' ? 't'
                                : 0;
        if (esc) {
            *o++ = '\\';
            *o++ = esc;
        } else if (*c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[*c >> 4];
            o[5] = hex[*c & 15];
            o += 6;
        } else {
            *o++ = (char)*c;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->p);
}

static void jw_int(jw_t *w, const char *key, long long v)
{
    if (jw_key(w, key, 24))
        w->len += (size_t)snprintf(w->p + w->len, 24, "%lld", v);
}

/* The text, closed ("}"), for the caller to free; NULL (nothing to free) if memory ran out. */
static char *jw_close(jw_t *w)
{
    if (w->oom || !jw_room(w, 0)) {
        free(w->p);
        return NULL;
    }
    w->p[w->len++] = '}';
    w->p[w->len] = '\0';
    return w->p;
}

static const char *or_null(const char *s) { return s && *s ? s : NULL; }

int pp_event_encode(const pp_event_t *ev, char **out)
{
    char occurred[PP_TIME_ISO_LEN], detected[PP_TIME_ISO_LEN];
    jw_t w = {0};
    pp_time_format(ev->occurred_at, occurred);
    pp_time_format(ev->detected_at, detected);
    jw_str(&w, "event_id", ev->event_id);
    jw_int(&w, "schema_version", PP_EVENT_SCHEMA_VERSION);
    jw_str(&w, "kind", pp_event_kind_name(ev->kind));
    jw_int(&w, "shipment_id", ev->shipment_id);
    jw_int(&w, "transaction_id", ev->transaction_id);
    jw_str(&w, "carrier", ev->carrier);
    jw_str(&w, "tracking_number", ev->tracking_number);
    jw_str(&w, "previous_status",
           ev->previous_status == PP_ST_UNKNOWN ? NULL : pp_status_name(ev->previous_status));
    jw_str(&w, "status", pp_status_name(ev->status));
    jw_str(&w, "carrier_status", or_null(ev->carrier_status));
    jw_str(&w, "carrier_status_text", or_null(ev->carrier_status_text));
    jw_str(&w, "location", or_null(ev->location));
    jw_str(&w, "occurred_at", occurred);
    jw_str(&w, "detected_at", detected);
    jw_int(&w, "sequence", ev->sequence);
    *out = jw_close(&w);
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
    long long n = 0;
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
    jw_t w = {0};
    pp_time_format(ev->expires_at, expires);
    jw_str(&w, "event_id", ev->event_id);
    jw_int(&w, "schema_version", PP_EVENT_SCHEMA_VERSION);
    jw_str(&w, "kind", "im_link_code");
    jw_int(&w, "user_id", ev->user_id);
    jw_str(&w, "channel", ev->channel);
    jw_str(&w, "address", ev->address);
    jw_str(&w, "code", ev->code);
    jw_str(&w, "locale", ev->locale);
    jw_str(&w, "expires_at", expires);
    *out = jw_close(&w);
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
