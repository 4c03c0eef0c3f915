/* config_keys.c - the configuration table's rows: config.h's keys around every carrier's own (from the registry). */
#include "config_keys.h"
#include "carriers/carrier.h"
#include "err.h"
#include "log.h"

#include <pthread.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define ONE(t, n, d, lo, hi, r, doc) +1
enum { N_FIXED = 0 PP_CONFIG_KEYS_HEAD(ONE) PP_CONFIG_KEYS_TAIL(ONE) };
#undef ONE
#define N_MAX (N_FIXED + PP_CARRIERS_MAX * PP_CARRIER_KEYS_MAX)

static pp_config_key_t rows[N_MAX];
static size_t n_rows;
static char carrier_key_names[PP_CARRIERS_MAX * PP_CARRIER_KEYS_MAX][64];
static const char *carrier_names[PP_CARRIERS_MAX];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Keys of config.h whose whole value is a secret; a carrier's say so in its descriptor. Names
 * are listed, not guessed from words like "token" (gls_token_path is a path, not a secret). */
static const char *const secret_keys[] = {"api_service_key", "api_buyer_secret", "xmpp_password"};

static bool listed_secret(const char *name)
{
    for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++)
        if (strcmp(secret_keys[i], name) == 0)
            return true;
    return false;
}

static void add_carriers(void)
{
    size_t n, k = 0;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    for (size_t ci = 0; ci < n && ci < PP_CARRIERS_MAX; ci++) {
        const pp_carrier_t *c = all[ci];
        carrier_names[ci] = c->name;
        for (size_t ki = 0; ki < c->n_keys && ki < PP_CARRIER_KEYS_MAX; ki++, k++) {
            const pp_carrier_key_t *ck = &c->keys[ki];
            snprintf(carrier_key_names[k], sizeof carrier_key_names[k], "%s_%s", c->name, ck->name);
            size_t off = offsetof(pp_config_t, carrier) +
                         (ci * PP_CARRIER_KEYS_MAX + ki) * sizeof(pp_config_value_t);
            rows[n_rows++] = (pp_config_key_t){.name = carrier_key_names[k],
                                               .type = ck->type,
                                               .def = ck->def,
                                               .min = ck->min,
                                               .max = ck->max,
                                               .reloadable = ck->reloadable,
                                               .secret = ck->secret,
                                               .doc = ck->doc,
                                               .off = off};
        }
    }
}

static void build(void)
{
#define X(t, n, d, lo, hi, r, txt)                                                                 \
    rows[n_rows++] = (pp_config_key_t){.name = #n,                                                 \
                                       .type = PP_CFG_##t,                                         \
                                       .def = d,                                                   \
                                       .min = lo,                                                  \
                                       .max = hi,                                                  \
                                       .reloadable = r,                                            \
                                       .secret = listed_secret(#n),                                \
                                       .doc = txt,                                                 \
                                       .off = offsetof(pp_config_t, n)};
    PP_CONFIG_KEYS_HEAD(X)
    add_carriers();
    PP_CONFIG_KEYS_TAIL(X)
#undef X
}

const pp_config_key_t *pp_config_keys(size_t *n)
{
    pthread_once(&once, build);
    *n = n_rows;
    return rows;
}

const pp_config_key_t *pp_config_key_find(const char *name)
{
    size_t n;
    const pp_config_key_t *k = pp_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].name, name) == 0)
            return &k[i];
    return NULL;
}

/* Edit distance of a and b: insert, delete, substitute, or swap two neighbours (optimal string
 * alignment); anything above cap is reported as cap + 1. */
static size_t distance(const char *a, const char *b, size_t cap)
{
    enum { MAX = 128 };
    size_t la = strlen(a), lb = strlen(b), r0[MAX], r1[MAX], r2[MAX];
    size_t *prev2 = r0, *prev = r1, *cur = r2;
    if (la >= MAX || lb >= MAX)
        return cap + 1;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t best = cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t v = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > cap)
            return cap + 1;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/* Keys that were renamed: an old name is refused with its new one, never silently ignored
 * (a file or environment written for an older release would otherwise run on the default). */
static const struct {
    const char *old, *now;
} renamed[] = {{"metrics_addr", "ops_addr"}};

const char *pp_config_key_renamed(const char *name)
{
    for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
        if (strcmp(renamed[i].old, name) == 0)
            return renamed[i].now;
    return NULL;
}

const char *pp_config_key_nearest(const char *name)
{
    size_t n, best = 3 + strlen(name) / 8; /* under 3 + len/8 edits: 2 for a short name */
    const char *found = NULL;
    const pp_config_key_t *k = pp_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(name, k[i].name, best);
        if (d < best) {
            best = d;
            found = k[i].name;
        }
    }
    return found;
}

void pp_config_env_name(const char *key, char *out, size_t cap)
{
    size_t j = (size_t)snprintf(out, cap, "PP_");
    for (const char *p = key; *p && j + 1 < cap; p++)
        out[j++] = (char)toupper((unsigned char)*p);
    if (cap)
        out[j < cap ? j : cap - 1] = '\0';
}

const char *pp_config_env_next_unknown(size_t *at, char *key, size_t cap, size_t *len)
{
    extern char **environ;
    for (; environ[*at]; (*at)++) {
        const char *e = environ[*at];
        const char *eq = strchr(e, '=');
        size_t n = eq ? (size_t)(eq - e) : strlen(e);
        if (strncmp(e, "PP_", 3) != 0 || strncmp(e, "PP_RDKAFKA_", 11) == 0 || n <= 3 || n - 3 >= cap)
            continue;
        for (size_t i = 0; i < n - 3; i++)
            key[i] = (char)tolower((unsigned char)e[3 + i]);
        key[n - 3] = '\0';
        if (pp_config_key_find(key))
            continue;
        (*at)++;
        *len = n;
        return e;
    }
    return NULL;
}

int pp_config_env_misspelt(char *err, size_t errlen)
{
    char name[128], env[128];
    size_t at = 0, n;
    for (const char *e; (e = pp_config_env_next_unknown(&at, name, sizeof name, &n));) {
        const char *now = pp_config_key_renamed(name);
        if (now) {
            pp_config_env_name(now, env, sizeof env);
            snprintf(err, errlen,
                     "environment %.*s is no longer read: the key %s was renamed to %s: set %s "
                     "instead (docs/config.md)",
                     (int)n, e, name, now, env);
            return PP_ECONFIG;
        }
        size_t nk;
        const pp_config_key_t *k = pp_config_keys(&nk);
        for (size_t i = 0; i < nk; i++)
            if (distance(name, k[i].name, 1) <= 1) {
                pp_config_env_name(k[i].name, env, sizeof env);
                snprintf(err, errlen,
                         "environment %.*s is not a configuration key: did you mean %s? "
                         "(docs/config.md lists every key)",
                         (int)n, e, env);
                return PP_ECONFIG;
            }
    }
    return PP_OK;
}

void pp_config_keys_name_carriers(pp_config_t *c)
{
    pthread_once(&once, build);
    memcpy(c->carrier_name, carrier_names, sizeof c->carrier_name);
}
