/* config_keys.c - the configuration table's rows: config.h's keys around every carrier's own (from the registry). */
#include "config_keys.h"
#include "carriers/carrier.h"
#include "log.h"

#include <pthread.h>
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
            rows[n_rows++] = (pp_config_key_t){
                carrier_key_names[k], ck->type, ck->def, ck->min, ck->max, ck->reloadable, ck->secret, ck->doc,
                offsetof(pp_config_t, carrier) + (ci * PP_CARRIER_KEYS_MAX + ki) * sizeof(pp_config_value_t),
            };
        }
    }
}

static void build(void)
{
#define X(t, n, d, lo, hi, r, doc) rows[n_rows++] = (pp_config_key_t){#n, PP_CFG_##t, d, lo, hi, r, listed_secret(#n), doc, offsetof(pp_config_t, n)};
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

void pp_config_keys_name_carriers(pp_config_t *c)
{
    pthread_once(&once, build);
    memcpy(c->carrier_name, carrier_names, sizeof c->carrier_name);
}
