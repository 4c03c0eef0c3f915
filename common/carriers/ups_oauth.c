/* ups_oauth.c - UPS OAuth client-credentials token (request and answer) and the error body both UPS answers share. */
#include "ups.h"
#include "../err.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "ups", (k))

/* ups_base_url and its length without trailing slashes. */
const char *pp_ups_base_url(const pp_config_t *cfg, int *len)
{
    *len = (int)pp_carrier_base_len(CFG(K_BASE_URL));
    return CFG(K_BASE_URL);
}

/*
 * POST {ups_base_url}/security/v1/oauth/token, client_secret_basic (research §2.1):
 * Authorization: Basic base64(client_id:client_secret), body grant_type=client_credentials,
 * x-merchant-id when configured (karrio sends it optionally).
 */
int pp_ups_build_auth_request(const pp_config_t *cfg, pp_http_request_t *req)
{
    char *cred = NULL, *enc = NULL;
    int rc, bl;
    memset(req, 0, sizeof(*req));
    if (!cfg || !CFG(K_BASE_URL)[0])
        return PP_EINVAL;
    if (!CFG(K_CLIENT_ID)[0] || !CFG(K_CLIENT_SECRET))
        return PP_ECONFIG;
    int cl = asprintf(&cred, "%s:%s", CFG(K_CLIENT_ID), CFG(K_CLIENT_SECRET));
    if (cl < 0) {
        cred = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_carrier_base64(cred, (size_t)cl, &enc)) != 0)
        goto fail;
    const char *base = pp_ups_base_url(cfg, &bl);
    req->method = "POST";
    if (asprintf(&req->url, "%.*s/security/v1/oauth/token", bl, base) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if (!(req->body = strdup("grant_type=client_credentials"))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    req->body_len = strlen(req->body);
    if ((rc = pp_http_request_add_header(req, "Authorization: Basic %s", enc)) ||
        (rc = pp_http_request_add_header(req, "Content-Type: application/x-www-form-urlencoded")) ||
        (rc = pp_http_request_add_header(req, "Accept: application/json")))
        goto fail;
    if (CFG(K_MERCHANT_ID)[0] &&
        (rc = pp_http_request_add_header(req, "x-merchant-id: %s", CFG(K_MERCHANT_ID))))
        goto fail;
    free(cred);
    free(enc);
    return PP_OK;
fail:
    free(cred);
    free(enc);
    pp_http_request_free(req);
    return rc;
}

/* "code message; code message" of a UPS error body {"response":{"errors":[{code,message}]}}. */
void pp_ups_error_reason(const cJSON *root, char *out, size_t outlen)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
    const cJSON *errs = cJSON_IsObject(resp) ? cJSON_GetObjectItemCaseSensitive(resp, "errors") : NULL;
    const cJSON *e;
    size_t k = 0;
    out[0] = '\0';
    if (!cJSON_IsArray(errs))
        return;
    cJSON_ArrayForEach(e, errs)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        int w = snprintf(out + k, outlen - k, "%s%s%s%s", k ? "; " : "",
                         cJSON_IsString(c) ? c->valuestring : "",
                         cJSON_IsString(c) && cJSON_IsString(m) ? " " : "",
                         cJSON_IsString(m) ? m->valuestring : "");
        if (w < 0 || (size_t)w >= outlen - k)
            return;
        k += (size_t)w;
    }
}

/*
 * Token response: {"token_type":"Bearer","issued_at":"<ms>","access_token":"...",
 * "expires_in":"14399","status":"approved",...}; UPS sends expires_in as a string, the
 * OAuth RFC as a number: both are accepted.
 */
int pp_ups_parse_auth(int http_status, const char *body, size_t len, char *token, size_t cap,
                      long *expires_in_s, char *err, size_t errlen)
{
    cJSON *root = NULL;
    char reason[256] = "";
    int rc;
    if (err && errlen)
        err[0] = '\0';
    if (token && cap)
        token[0] = '\0';
    if (body && len > 0)
        root = cJSON_ParseWithLength(body, len);
    if (http_status != 200) {
        if (cJSON_IsObject(root))
            pp_ups_error_reason(root, reason, sizeof reason);
        pp_carrier_err(err, errlen, "token request: HTTP %d%s%s%s", http_status,
                       http_status == 401 || http_status == 403 ? " (check ups_client_id/ups_client_secret)"
                                                                : "",
                       reason[0] ? ": " : "", reason);
        rc = PP_EHTTP;
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        pp_carrier_err(err, errlen, "token response is not a JSON object (%zu bytes)", len);
        rc = PP_EPARSE;
        goto fail;
    }
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    if (!cJSON_IsString(at) || !at->valuestring[0]) {
        pp_carrier_err(err, errlen, "token response: access_token missing or not a string");
        rc = PP_EPARSE;
        goto fail;
    }
    size_t tl = strlen(at->valuestring);
    if (!token || tl >= cap) {
        pp_carrier_err(err, errlen, "token response: access_token is %zu bytes, buffer holds %zu",
                       tl, cap ? cap - 1 : 0);
        rc = PP_EPARSE;
        goto fail;
    }
    long secs;
    if (cJSON_IsString(ex)) {
        char *end;
        errno = 0;
        secs = strtol(ex->valuestring, &end, 10);
        if (errno || end == ex->valuestring || *end || !isdigit((unsigned char)ex->valuestring[0]))
            secs = -1;
    } else if (cJSON_IsNumber(ex) && ex->valuedouble >= 0 && ex->valuedouble <= 1e9 &&
               floor(ex->valuedouble) == ex->valuedouble) {
        secs = (long)ex->valuedouble;
    } else {
        secs = -1;
    }
    if (secs <= 0 || secs > 100L * 86400) {
        pp_carrier_err(err, errlen,
                       "token response: expires_in missing or not a positive number of seconds");
        rc = PP_EPARSE;
        goto fail;
    }
    memcpy(token, at->valuestring, tl + 1);
    if (expires_in_s)
        *expires_in_s = secs;
    cJSON_Delete(root);
    return PP_OK;
fail:
    if (token && cap)
        token[0] = '\0';
    cJSON_Delete(root);
    return rc;
}
