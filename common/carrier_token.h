/* carrier_token.h - one carrier's access token (OAuth2 client credentials): fetched one at a time, cached, refreshed at 90 % of its life, backed off after a failure. */
#ifndef PP_CARRIER_TOKEN_H
#define PP_CARRIER_TOKEN_H

#include "carriers/carrier.h"
#include "httpc.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The one refresh policy: a fetch when there is no valid token, another in the background
 * once 90 % of the lifetime has passed (the current token is used meanwhile), never two at
 * once; after a failed fetch none before 1 s, 2 s, 4 s ... 60 s (doubling per failure in a
 * row); a 401 on a tracking call drops the token it was sent with (pp_ctoken_drop).
 */
typedef struct pp_ctoken pp_ctoken_t;

/* After each fetch that completed (not one aborted by closing the HTTP client): ok, or the
 * reason it failed (for the log) and the wait before the next try. */
typedef void (*pp_ctoken_cb)(void *arg, bool ok, const char *why, long ttl_s, int64_t retry_in_ms);

typedef struct pp_ctoken_opts {
    const pp_carrier_t *carrier; /* with build_auth_request */
    const pp_config_t *cfg;
    long timeout_ms;
    int64_t (*now_ms)(void); /* monotonic */
    pp_ctoken_cb cb;
    void *arg;
} pp_ctoken_opts_t;

pp_ctoken_t *pp_ctoken_new(const pp_ctoken_opts_t *o); /* NULL: out of memory */
/*
 * The token to send now, or NULL with *wait_ms the known wait (back-off) or -1 while a fetch
 * is out. Starts a fetch on h when one is due (h NULL: none is started). *gen identifies the
 * token for pp_ctoken_drop.
 */
const char *pp_ctoken_get(pp_ctoken_t *t, pp_httpc_t *h, int64_t now, int64_t *wait_ms, unsigned *gen);
/* A tracking call sent with token `gen` got 401: drop it if it is still the current one. */
bool pp_ctoken_drop(pp_ctoken_t *t, unsigned gen);
bool pp_ctoken_busy(const pp_ctoken_t *t);
void pp_ctoken_set_timeout(pp_ctoken_t *t, long timeout_ms); /* for the next fetch */
/* Credentials or the carrier's address may have changed (a reload): no cached token, no
 * back-off; the next call fetches one. */
void pp_ctoken_reset(pp_ctoken_t *t);
/* Safe while a fetch is out only after the HTTP client is closed (its callback is ignored). */
void pp_ctoken_free(pp_ctoken_t *t);

#endif
