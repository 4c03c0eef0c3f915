/* production.c - production mode: refuse the development defaults outside env = dev. */
#include "production.h"
#include "config_keys.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

bool pp_production_is_dev(const pp_config_t *c) { return c->env && strcmp(c->env, "dev") == 0; }

/* A string key still on its built-in default (what a forgotten variable leaves). */
static bool on_default(const char *key, const char *value)
{
    const pp_config_key_t *k = pp_config_key_find(key);
    return k && value && strcmp(value, k->def) == 0;
}

/* Append "; what" to err (at *at), cut at errlen. */
static void add(char *err, size_t errlen, size_t *at, const char *what)
{
    if (*at >= errlen)
        return;
    int n = snprintf(err + *at, errlen - *at, "%s%s", *at ? "; " : "", what);
    *at += n > 0 ? (size_t)n : 0;
}

/*
 * Every PP_* variable of the environment that names no key: a production process reads only
 * keys, so such a variable is a typo or a setting that does nothing (PP_POLL_BATCHSIZE=5).
 * PP_RDKAFKA_* pass through to librdkafka (checked by the launcher).
 */
static void unknown_env(char *msg, size_t cap, size_t *at)
{
    char name[96], up[100], what[256];
    size_t from = 0, n;
    const char *e;
    for (int shown = 0; shown < 3 && (e = pp_config_env_next_unknown(&from, name, sizeof name, &n));
         shown++) {
        const char *near = pp_config_key_nearest(name);
        if (near)
            pp_config_env_name(near, up, sizeof up);
        snprintf(what, sizeof what, "%.*s is not a configuration key%s%s%s (docs/config.md)",
                 (int)n, e, near ? ": did you mean " : "", near ? up : "", near ? "?" : "");
        add(msg, cap, at, what);
    }
}

int pp_production_check(const pp_config_t *c, unsigned uses, char *err, size_t errlen)
{
    if (pp_production_is_dev(c))
        return PP_OK;
    char msg[1024] = "";
    size_t at = 0;
    if (on_default("db_url", c->db_url))
        add(msg, sizeof msg, &at,
            "db_url is not set (the default is the local stack's loopback database): set PP_DB_URL "
            "or db_url to the production database");
    if ((uses & PP_USES_KAFKA) && on_default("kafka_brokers", c->kafka_brokers))
        add(msg, sizeof msg, &at,
            "kafka_brokers is not set (the default is the local stack's loopback broker): set "
            "PP_KAFKA_BROKERS or kafka_brokers");
    if ((uses & PP_USES_XMPP) && on_default("xmpp_password", c->xmpp_password))
        add(msg, sizeof msg, &at,
            "xmpp_password is the demo password: set PP_XMPP_PASSWORD to the bot account's password "
            "(a secret: the environment file or Secret, not the config file)");
    if ((uses & PP_USES_XMPP) && !c->xmpp_tls)
        add(msg, sizeof msg, &at,
            "xmpp_tls is off (the password and every message would cross the network in clear): set "
            "PP_XMPP_TLS=true or xmpp_tls = true");
    unknown_env(msg, sizeof msg, &at);
    if (!at)
        return PP_OK;
    snprintf(err, errlen,
             "production mode (env = \"%s\"; PP_ENV=dev allows the development defaults) refuses to "
             "start: %s",
             c->env ? c->env : "", msg);
    return PP_ECONFIG;
}
