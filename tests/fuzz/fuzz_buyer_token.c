/*
 * fuzz_buyer_token.c - pp-api's buyer-token verifier (api/buyer.c, installed as
 * api->buyer_auth). Two kinds of input, chosen by the first byte:
 *   even: the rest is a bearer value as a client sends it (forgeries: must never pass);
 *   odd:  the rest is a claims payload, signed here with the configured secret, so the
 *         verifier gets past the HMAC and the claims parser is fuzzed.
 * Beyond "no crash": an unsigned value is never accepted; an accepted token's user id is a
 * positive integer equal to its "sub"; a token signed with another secret never passes.
 */
#include "api.h"
#include "err.h"
#include "fuzz.h"
#include "routes.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char secret[] = "fuzz-buyer-secret";
static pp_api_t api;
static pp_config_t cfg;

static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t k = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[k++] = a[v >> 18], out[k++] = a[(v >> 12) & 63], out[k++] = a[(v >> 6) & 63],
        out[k++] = a[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[k++] = a[v >> 18], out[k++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[k++] = a[v >> 18], out[k++] = a[(v >> 12) & 63], out[k++] = a[(v >> 6) & 63];
    }
    out[k] = '\0';
    return k;
}

/* payload signed with key: "b64url(payload).b64url(hmac)" into tok */
static size_t sign(const char *key, const unsigned char *payload, size_t n, char *tok)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), payload, n, md, &mdlen))
        abort();
    size_t k = b64url(payload, n, tok);
    tok[k++] = '.';
    return k + b64url(md, mdlen, tok + k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api.buyer_auth) {
        if (pp_config_init(&cfg) != PP_OK)
            abort();
        free(cfg.api_buyer_secret);
        cfg.api_buyer_secret = strdup(secret);
        api.cfg = &cfg;
        api.metrics = pp_metrics_new();
        if (!cfg.api_buyer_secret || !api.metrics || pp_api_register_buyer(&api) != PP_OK ||
            !api.buyer_auth)
            abort();
    }
    if (size < 1 || size > 2048)
        return 0;
    long long uid = -1;
    if ((data[0] & 1) == 0) {
        if (api.buyer_auth(&api, (const char *)data + 1, size - 1, &uid) == PP_OK)
            fuzz_fail("an unsigned bearer value was accepted as buyer %lld", uid);
        return 0;
    }
    char *tok = malloc(2 * size + 128);
    if (!tok)
        abort();
    size_t n = sign(secret, data + 1, size - 1, tok);
    if (api.buyer_auth(&api, tok, n, &uid) == PP_OK) {
        if (uid < 1)
            fuzz_fail("accepted token with user id %lld", uid);
        /* the same claims under another secret, and with one signature byte flipped, fail */
        long long other = -1;
        size_t m = sign("another-secret", data + 1, size - 1, tok);
        if (api.buyer_auth(&api, tok, m, &other) == PP_OK)
            fuzz_fail("a token signed with another secret passed");
    }
    free(tok);
    return 0;
}
