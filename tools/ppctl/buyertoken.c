/* buyertoken.c - ppctl buyer-token: print a buyer token signed with api_buyer_secret, as the
 * marketplace makes them: base64url(payload) "." base64url(HMAC-SHA256(secret, payload)),
 * payload {"sub":<user id>,"exp":<unix seconds>}. For tests and ops; the token is a credential. */
#include "ppctl.h"

#include "err.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            *out++ = tab[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        *out++ = tab[(acc << (6 - bits)) & 63];
    *out = '\0';
}

int ppctl_buyer_token(ppctl_t *ctl, int argc, char **argv)
{
    long long user = 0, ttl = 3600;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--user") == 0) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--user", v, 1, 9007199254740991LL, &user))
                return 2;
        } else if (strcmp(argv[i], "--ttl") == 0) {
            /* negative: an already expired token (tests) */
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--ttl", v, -315360000, 315360000, &ttl))
                return 2;
        } else {
            fprintf(stderr, "ppctl buyer-token: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!user) {
        fprintf(stderr, "usage: ppctl buyer-token --user ID [--ttl SECONDS]\n");
        return 2;
    }
    if (ttl > ctl->cfg.api_buyer_token_max_ttl_s) {
        fprintf(stderr,
                "ppctl buyer-token: --ttl %lld is longer than api_buyer_token_max_ttl_s (%ld): pp-api would refuse it\n",
                ttl, ctl->cfg.api_buyer_token_max_ttl_s);
        return 2;
    }
    const char *secret = ctl->cfg.api_buyer_secret;
    if (!secret || !secret[0]) {
        fprintf(stderr,
                "ppctl buyer-token: api_buyer_secret is not configured (PP_API_BUYER_SECRET)\n");
        return 1;
    }
    char payload[96], p64[160], s64[64], token[256];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int n = snprintf(payload, sizeof payload, "{\"sub\":%lld,\"exp\":%lld}", user,
                     (long long)time(NULL) + ttl);
    if (n < 0 || (size_t)n >= sizeof payload ||
        !HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)payload, (size_t)n,
              md, &mdlen) ||
        mdlen != 32) {
        fprintf(stderr, "ppctl buyer-token: HMAC-SHA256 failed\n");
        return 1;
    }
    b64url((const unsigned char *)payload, (size_t)n, p64);
    b64url(md, mdlen, s64);
    snprintf(token, sizeof token, "%s.%s", p64, s64);
    printf("%s\n", token);
    return 0;
}
