/* registry.c - the table of carrier adapters and the helpers shared by every adapter. */
#include "carrier.h"
#include "../err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One row per carrier; each adapter file defines its pp_carrier_t. */
extern const pp_carrier_t pp_carrier_inpost;
extern const pp_carrier_t pp_carrier_gls;
extern const pp_carrier_t pp_carrier_orlen;
extern const pp_carrier_t pp_carrier_dhl;
extern const pp_carrier_t pp_carrier_ups;
extern const pp_carrier_t pp_carrier_dpd;
extern const pp_carrier_t pp_carrier_pocztapolska;

static const pp_carrier_t *const carriers[] = {
    &pp_carrier_inpost,
    &pp_carrier_gls,
    &pp_carrier_orlen,
    &pp_carrier_dhl,
    &pp_carrier_ups,
    &pp_carrier_dpd,
    &pp_carrier_pocztapolska,
};

const pp_carrier_t *pp_carrier_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(carriers) / sizeof(carriers[0]); i++)
        if (strcasecmp(carriers[i]->name, name) == 0)
            return carriers[i];
    return NULL;
}

const pp_carrier_t *const *pp_carrier_all(size_t *n)
{
    if (n)
        *n = sizeof(carriers) / sizeof(carriers[0]);
    return carriers;
}

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
