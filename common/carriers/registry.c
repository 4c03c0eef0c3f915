/* registry.c - the table of carrier descriptors (one row each), and the one way in to them: pp_carrier_parse, pp_carrier_read_token (the adapters' helpers are in adapter.c, below both). */
#include "carrier.h"
#include "../err.h"
#include "../log.h"
#include "../text.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One row per carrier; each adapter file defines its pp_carrier_t. The order is the order of
 * detection's ties, of the config reference's carrier blocks and of pp_carrier_names. */
extern const pp_carrier_t pp_carrier_dhl;
extern const pp_carrier_t pp_carrier_ups;
extern const pp_carrier_t pp_carrier_inpost;
extern const pp_carrier_t pp_carrier_gls;
extern const pp_carrier_t pp_carrier_dpd;
extern const pp_carrier_t pp_carrier_pocztapolska;
extern const pp_carrier_t pp_carrier_orlen;

static const pp_carrier_t *const rows[] = {
    &pp_carrier_dhl, &pp_carrier_ups,          &pp_carrier_inpost, &pp_carrier_gls,
    &pp_carrier_dpd, &pp_carrier_pocztapolska, &pp_carrier_orlen,
};
_Static_assert(PP_N(rows) <= PP_CARRIERS_MAX, "raise PP_CARRIERS_MAX (config.h)");

/* rows, then a test build's pp_carrier_extra, gathered once. */
static const pp_carrier_t *carriers[PP_CARRIERS_MAX];
static size_t n_carriers;
static char names[PP_CARRIERS_MAX * 24];
static pthread_once_t gather_once = PTHREAD_ONCE_INIT;

static void add(const pp_carrier_t *c)
{
    if (n_carriers == PP_CARRIERS_MAX || c->n_keys > PP_CARRIER_KEYS_MAX) {
        pp_error("carrier %s: left out: more than PP_CARRIERS_MAX carriers or PP_CARRIER_KEYS_MAX keys",
                 c->name);
        return;
    }
    size_t o = strlen(names);
    snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "", c->name);
    carriers[n_carriers++] = c;
}

static void gather(void)
{
    for (size_t i = 0; i < PP_N(rows); i++)
        add(rows[i]);
    for (size_t i = 0; pp_carrier_extra && pp_carrier_extra[i]; i++)
        add(pp_carrier_extra[i]);
}

const pp_carrier_t *pp_carrier_find(const char *name)
{
    pthread_once(&gather_once, gather);
    if (!name)
        return NULL;
    for (size_t i = 0; i < n_carriers; i++)
        if (strcasecmp(carriers[i]->name, name) == 0)
            return carriers[i];
    return NULL;
}

const pp_carrier_t *const *pp_carrier_all(size_t *n)
{
    pthread_once(&gather_once, gather);
    if (n)
        *n = n_carriers;
    return carriers;
}

const char *pp_carrier_names(void)
{
    pthread_once(&gather_once, gather);
    return names;
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
            pp_carrier_err(err, errlen,
                           "token response: access_token holds byte 0x%02x, not allowed in an HTTP header",
                           *p);
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
        if (pp_text_is_clean(r->tracking_number,
                             strnlen(r->tracking_number, sizeof r->tracking_number))) {
            (*results)[kept++] = *r;
            continue;
        }
        pp_text_clean_field(r->tracking_number);
        pp_carrier_err(err, errlen,
                       "%s: tracking number '%s' (as cleaned) holds a control character or invalid UTF-8",
                       c->name, r->tracking_number);
        if (!dropped++ || dropped == *n_results) /* once per answer */
            pp_warn("carrier %s: a result dropped: tracking number '%s' (as cleaned) holds a control "
                    "character or invalid UTF-8",
                    c->name, r->tracking_number);
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
