/* registry.c - the table of carrier adapters, and the one way in to them: pp_carrier_parse, pp_carrier_read_token (the adapters' helpers are in adapter.c, below both). */
#include "carrier.h"
#include "../err.h"
#include "../log.h"
#include "../text.h"

#include <cjson/cJSON.h>
#include <ctype.h>

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

int pp_carrier_read_token(const pp_carrier_t *c, int status, const char *body, size_t len,
                          char **token, long *ttl_s, char *err, size_t errlen)
{
    enum { TOKEN_CAP = 8192 };
    char *tok = malloc(TOKEN_CAP);
    *token = NULL;
    *ttl_s = 0;
    if (!tok)
        return PP_ENOMEM;
    int rc = c->parse_auth(status, body, len, tok, TOKEN_CAP, ttl_s, err, errlen);
    if (rc || !tok[0]) {
        free(tok);
        return rc ? rc : PP_EPARSE;
    }
    /* The token goes into "Authorization: Bearer <token>": a CR/LF would add headers of the
     * carrier's choosing, a space or non-ASCII byte breaks the line (found by tests/fuzz). */
    for (const unsigned char *p = (const unsigned char *)tok; *p; p++)
        if (*p < 0x21 || *p > 0x7E) {
            pp_carrier_err(err, errlen, "token response: access_token holds byte 0x%02x, not allowed in an HTTP header", *p);
            free(tok);
            return PP_EPARSE;
        }
    if (*ttl_s <= 0)
        *ttl_s = 3600;
    *token = tok;
    return PP_OK;
}

void pp_track_results_clean(pp_track_result_t *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        pp_text_clean_field(r[i].tracking_number);
        pp_text_clean_field(r[i].pickup_point);
        pp_text_clean_field(r[i].pickup_address);
        for (size_t k = 0; k < r[i].n_events; k++) {
            pp_track_event_t *ev = &r[i].events[k];
            pp_text_clean_field(ev->carrier_code);
            pp_text_clean_field(ev->description);
            pp_text_clean_field(ev->location);
        }
    }
}

int pp_carrier_parse(const pp_carrier_t *c, int http_status, const char *body, size_t len,
                     pp_track_result_t **results, size_t *n_results, char *err, size_t errlen)
{
    int rc = c->parse_raw(http_status, body, len, results, n_results, err, errlen);
    /* The tracking number is the key a result is matched by: a result whose number cleaning
     * would change is about some other number (or garbage), so it is dropped, never matched
     * under a number the carrier never wrote. The other results of a batch answer stand (the
     * numbers asked and not answered are handled as missing by the caller); an answer left
     * with none is a parse error. */
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; rc == PP_OK && i < *n_results; i++) {
        pp_track_result_t *r = &(*results)[i];
        if (pp_text_is_clean(r->tracking_number, strnlen(r->tracking_number, sizeof r->tracking_number))) {
            (*results)[kept++] = *r;
            continue;
        }
        pp_text_clean_field(r->tracking_number);
        pp_carrier_err(err, errlen, "%s: tracking number '%s' (as cleaned) holds a control character or invalid UTF-8",
                       c->name, r->tracking_number);
        if (!dropped++ || dropped == *n_results) /* once per answer */
            pp_warn("carrier %s: a result dropped: tracking number '%s' (as cleaned) holds a control "
                    "character or invalid UTF-8", c->name, r->tracking_number);
        free(r->events);
    }
    if (rc == PP_OK && dropped) {
        *n_results = kept;
        if (kept == 0) {
            free(*results);
            *results = NULL;
            rc = PP_EPARSE;
        }
    }
    if (rc == PP_OK)
        pp_track_results_clean(*results, *n_results);
    else if (err && errlen) /* the reason quotes the carrier's text and goes to logs and rows */
        pp_text_clean(err, errlen, err, strnlen(err, errlen));
    return rc;
}
