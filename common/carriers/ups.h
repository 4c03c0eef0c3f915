/* ups.h - what the UPS adapter's files share: ups.c (tracking) on top of ups_oauth.c (token, error body). */
#ifndef PP_CARRIERS_UPS_H
#define PP_CARRIERS_UPS_H

#include "carrier.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* cfg->ups_base_url, and in *len its length without trailing slashes. */
const char *pp_ups_base_url(const pp_config_t *cfg, int *len);
/* "code message; code message" of a UPS error body {"response":{"errors":[{code,message}]}}
 * into out ("" when there is none). */
void pp_ups_error_reason(const cJSON *root, char *out, size_t outlen);
/* carrier.h's build_auth_request and parse_auth for UPS (OAuth client credentials). */
int pp_ups_build_auth_request(const pp_config_t *cfg, pp_http_request_t *req)
    __attribute__((warn_unused_result));
int pp_ups_parse_auth(int http_status, const char *body, size_t len, char *token, size_t cap,
                      long *expires_in_s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Configuration keys: ups_<name> (PP_UPS_<NAME>); the table is in ups.c. */
enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_CLIENT_ID, K_CLIENT_SECRET, K_MERCHANT_ID };

#endif
