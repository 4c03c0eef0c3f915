/* adapter.c - helpers every carrier adapter uses (requests, errors, URLs, JSON, result lists): below the adapters and the registry. */
#include "carrier.h"
#include "../err.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pp_http_request_free(pp_http_request_t *req)
{
    if (!req)
        return;
    free(req->url);
    for (int i = 0; i < req->n_headers; i++)
        free(req->headers[i]);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

int pp_http_request_add_header(pp_http_request_t *req, const char *fmt, ...)
{
    char *line;
    va_list ap;
    if (!req || req->n_headers >= PP_HTTP_MAX_HEADERS)
        return PP_EINVAL;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PP_ENOMEM;
    req->headers[req->n_headers++] = line;
    return PP_OK;
}

void pp_track_results_free(pp_track_result_t *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        free(r[i].events);
    free(r);
}

void pp_carrier_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

size_t pp_carrier_base_len(const char *url)
{
    size_t n = url ? strlen(url) : 0;
    while (n > 0 && url[n - 1] == '/')
        n--;
    return n;
}

int pp_carrier_url_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (k + 4 > cap)
            return PP_EINVAL;
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = '\0';
    return PP_OK;
}

int pp_carrier_json_opt_string(const struct cJSON *obj, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = "";
    if (!v || cJSON_IsNull(v))
        return PP_OK;
    if (!cJSON_IsString(v))
        return PP_EPARSE;
    *out = v->valuestring;
    return PP_OK;
}

void pp_track_events_sort(pp_track_event_t *ev, size_t n)
{
    for (size_t a = 1; a < n; a++) {
        pp_track_event_t tmp = ev[a];
        size_t b = a;
        while (b > 0 && ev[b - 1].occurred_at > tmp.occurred_at) {
            ev[b] = ev[b - 1];
            b--;
        }
        ev[b] = tmp;
    }
}

int pp_carrier_base64(const char *in, size_t len, char **out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((len + 2) / 3) + 1), *p = o;
    if (!o)
        return PP_ENOMEM;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        *p++ = tab[(v >> 18) & 63];
        *p++ = tab[(v >> 12) & 63];
        *p++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        *p++ = i + 2 < len ? tab[v & 63] : '=';
    }
    *p = '\0';
    *out = o;
    return PP_OK;
}

bool pp_carrier_has_digit(const char *number)
{
    return number && strpbrk(number, "0123456789") != NULL;
}

bool pp_carrier_tail_has_digit(const char *number)
{
    return number && strlen(number) > 2 && pp_carrier_has_digit(number + 2);
}

static const pp_config_value_t *cfg_value(const pp_config_t *cfg, const char *carrier, int k)
{
    if (!cfg || !carrier || k < 0 || k >= PP_CARRIER_KEYS_MAX)
        return NULL;
    for (size_t i = 0; i < PP_CARRIERS_MAX && cfg->carrier_name[i]; i++)
        if (strcmp(cfg->carrier_name[i], carrier) == 0)
            return &cfg->carrier[i][k];
    return NULL;
}

const char *pp_carrier_cfg_str(const pp_config_t *cfg, const char *carrier, int k)
{
    const pp_config_value_t *v = cfg_value(cfg, carrier, k);
    return v && v->s ? v->s : "";
}

long pp_carrier_cfg_int(const pp_config_t *cfg, const char *carrier, int k)
{
    const pp_config_value_t *v = cfg_value(cfg, carrier, k);
    return v ? v->i : 0;
}
