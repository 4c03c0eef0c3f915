/* auth.c - pp-api key handling: SHA-256 of keys, constant-time compare, per-key rate limit, failed-authentication limits (address, network, all clients). */
#include "api.h"
#include "text.h"
#include "budget.h"
#include "err.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pp_api_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return PP_EIO;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return PP_OK;
}

bool pp_api_consttime_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

/*
 * Token buckets in a 4-way set-associative table: a key maps to one set; a new key takes
 * the least recently used slot of its set. Memory stays bounded however many keys are seen.
 * Three tables: verified keys (a bucket only once a key is known valid, so junk keys cannot
 * evict a real key's bucket), failed authentications per client address (IPv6: its /64) and
 * per network (IPv4 /24, IPv6 /48); and one bucket for the failed authentications of all
 * clients together (api->auth_fail_all), which an attacker with many networks cannot evict:
 * whatever the number of addresses, unknown keys cost at most api_auth_fail_global_per_min
 * Postgres lookups a minute (after a burst of api_auth_fail_global_burst) per pp-api process.
 */
#define RL_SETS 1024
#define RL_WAYS 4
#define RL_KEY 80

typedef struct rl_slot {
    char key[RL_KEY];
    pp_bucket_t bucket; /* common/budget.h; bucket.last_ms doubles as the slot's LRU stamp */
} rl_slot_t;

struct pp_api_ratelimit {
    rl_slot_t slots[RL_SETS][RL_WAYS];
};

/* key's bucket in *tp (allocated on first use), or NULL: out of memory, or no bucket yet and
 * !create. A new bucket starts full (per_min refill, burst size); an existing one takes a
 * per_min or burst changed by a reload. */
static pp_bucket_t *rl_bucket(pp_api_ratelimit_t **tp, const char *key, bool create, long per_min,
                              long burst, int64_t now)
{
    if (!*tp && !(*tp = calloc(1, sizeof **tp)))
        return NULL;
    rl_slot_t *set = (*tp)->slots[pp_text_hash(key) % RL_SETS];
    rl_slot_t *lru = &set[0];
    for (int i = 0; i < RL_WAYS; i++) {
        if (set[i].key[0] && strncmp(set[i].key, key, RL_KEY - 1) == 0) {
            if (create)
                pp_bucket_retune(&set[i].bucket, (double)per_min / 60.0, (double)burst, now);
            return &set[i].bucket;
        }
        if (set[i].bucket.last_ms < lru->bucket.last_ms)
            lru = &set[i];
    }
    if (!create)
        return NULL;
    snprintf(lru->key, sizeof lru->key, "%s", key);
    pp_bucket_init(&lru->bucket, (double)per_min / 60.0, (double)burst, now);
    return &lru->bucket;
}

int64_t pp_api_rate_take(pp_api_t *a, const char *key)
{
    int64_t now = (int64_t)uv_now(a->loop);
    pp_bucket_t *b =
        rl_bucket(&a->rl, key, true, a->cfg->api_rate_per_min, a->cfg->api_rate_burst, now);
    if (!b)
        return 0; /* fail open on OOM: the limit protects capacity, not secrets */
    int64_t wait_ms = pp_bucket_take(b, now);
    if (wait_ms > 0)
        pp_metrics_add(a->metrics, "pp_api_rate_limited_total", 1);
    return wait_ms;
}

void pp_api_peer_network(const char *peer, char *out, size_t cap)
{
    char a[64];
    unsigned char b[16];
    snprintf(a, sizeof a, "%s", peer);
    char *slash = strchr(a, '/');
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, a, b) == 1) {
        snprintf(out, cap, "%u.%u.%u.0/24", b[0], b[1], b[2]);
        return;
    }
    char n[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, a, b) == 1) {
        memset(b + 6, 0, 10);
        if (inet_ntop(AF_INET6, b, n, sizeof n)) {
            snprintf(out, cap, "%s/48", n);
            return;
        }
    }
    snprintf(out, cap, "%s", peer);
}

int64_t pp_api_authfail_take(pp_api_t *a, const char *peer, const char **what_out)
{
    const pp_config_t *cfg = a->cfg;
    int64_t now = (int64_t)uv_now(a->loop);
    char net[80];
    pp_api_peer_network(peer, net, sizeof net);
    if (!a->auth_fail_all_set) {
        pp_bucket_init(&a->auth_fail_all, (double)cfg->api_auth_fail_global_per_min / 60.0,
                       (double)cfg->api_auth_fail_global_burst, now);
        a->auth_fail_all_set = true;
    }
    pp_bucket_retune(&a->auth_fail_all, (double)cfg->api_auth_fail_global_per_min / 60.0,
                     (double)cfg->api_auth_fail_global_burst, now);
    pp_bucket_t *addr =
        rl_bucket(&a->rl_fail, peer, true, cfg->api_auth_fail_per_min, cfg->api_auth_fail_burst, now);
    pp_bucket_t *nb = rl_bucket(&a->rl_fail_net, net, true, cfg->api_auth_fail_net_per_min,
                                cfg->api_auth_fail_net_burst, now);
    /* Nothing is taken unless every level has a token (no OOM bucket: that level fails open). */
    int64_t wait_ms = addr ? pp_bucket_wait_ms(addr, now) : 0;
    const char *what = "failed authentications from this address", *scope = NULL;
    int64_t w;
    if (!wait_ms && nb && (w = pp_bucket_wait_ms(nb, now)) > 0) {
        wait_ms = w;
        what = "failed authentications from this network";
        scope = "pp_api_auth_throttled_network_total";
    }
    if (!wait_ms && (w = pp_bucket_wait_ms(&a->auth_fail_all, now)) > 0) {
        wait_ms = w;
        what = "failed authentications from all clients";
        scope = "pp_api_auth_throttled_all_total";
    }
    if (wait_ms == 0) {
        if (addr)
            (void)pp_bucket_take(addr, now);
        if (nb)
            (void)pp_bucket_take(nb, now);
        (void)pp_bucket_take(&a->auth_fail_all, now);
        return 0;
    }
    pp_metrics_add(a->metrics, "pp_api_auth_throttled_total", 1);
    if (scope)
        pp_metrics_add(a->metrics, scope, 1);
    *what_out = what;
    return wait_ms;
}

static void refund(pp_bucket_t *b)
{
    if (b && b->tokens + 1.0 <= b->capacity)
        b->tokens += 1.0;
}

void pp_api_authfail_refund(pp_api_t *a, const char *peer)
{
    int64_t now = (int64_t)uv_now(a->loop);
    char net[80];
    pp_api_peer_network(peer, net, sizeof net);
    refund(rl_bucket(&a->rl_fail, peer, false, 0, 0, now));
    refund(rl_bucket(&a->rl_fail_net, net, false, 0, 0, now));
    if (a->auth_fail_all_set)
        refund(&a->auth_fail_all);
}
