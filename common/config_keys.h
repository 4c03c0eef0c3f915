/*
 * config_keys.h - the configuration table as rows (inside common/ only): config.h's HEAD keys,
 * every registered carrier's keys (<carrier>_<key>, from its descriptor), then the TAIL keys.
 * Built once; config.c reads, sets, reloads, dumps and documents through it.
 */
#ifndef PP_CONFIG_KEYS_H
#define PP_CONFIG_KEYS_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct pp_config_key {
    const char *name;
    pp_config_type_t type;
    const char *def;
    long min, max;
    bool reloadable;
    bool secret; /* masked in dumps and reload lines */
    const char *doc;
    size_t off; /* of its value in pp_config_t */
} pp_config_key_t;

/* Every row, in reference order (static; *n rows). */
const pp_config_key_t *pp_config_keys(size_t *n);
/* The row of a key name, NULL if none. */
const pp_config_key_t *pp_config_key_find(const char *name);
/* The key a misspelt name most likely meant (a few edits away), or NULL. */
const char *pp_config_key_nearest(const char *name);
/* The new name of a renamed key (metrics_addr -> ops_addr), or NULL. */
const char *pp_config_key_renamed(const char *name);
/* PP_ECONFIG (err names it and the key meant) when a PP_* environment variable is one edit
 * (a letter missing, extra, wrong, or two swapped) from a key's variable but is none: a typo
 * that would otherwise leave the default in force, or the variable of a renamed key. Others
 * are left alone: tools and tests use PP_ names of their own. */
int pp_config_env_misspelt(char *err, size_t errlen);
/* "PP_" and the key in upper case: the key's environment variable. */
void pp_config_env_name(const char *key, char *out, size_t cap);
/*
 * The next PP_* variable of the environment, from index *at on, that names no key (PP_RDKAFKA_*
 * pass through to librdkafka and are skipped): returns it ("NAME=value"; *len = the name's
 * length) with key = its name without PP_ in lower case, or NULL at the end.
 */
const char *pp_config_env_next_unknown(size_t *at, char *key, size_t cap, size_t *len);
/* Name the carriers whose keys c->carrier[] holds (pp_config_init). */
void pp_config_keys_name_carriers(pp_config_t *c);

#endif
