/* production.c - production mode: refuse the development defaults outside env = dev. */
#include "production.h"
#include "config_keys.h"
#include "err.h"

#include <ctype.h>
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
    extern char **environ;
    int shown = 0;
    for (char **e = environ; *e && shown < 3; e++) {
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
        char name[96], what[256];
        if (strncmp(*e, "PP_", 3) != 0 || strncmp(*e, "PP_RDKAFKA_", 11) == 0 || n <= 3 ||
            n - 3 >= sizeof name)
            continue;
        for (size_t i = 0; i < n - 3; i++)
            name[i] = (char)tolower((unsigned char)(*e)[3 + i]);
        name[n - 3] = '\0';
        if (pp_config_key_find(name))
            continue;
        const char *near = pp_config_key_nearest(name);
        char up[96] = "";
        for (size_t i = 0; near && near[i] && i + 1 < sizeof up; i++)
            up[i] = (char)toupper((unsigned char)near[i]), up[i + 1] = '\0';
        snprintf(what, sizeof what, "%.*s is not a configuration key%s%s%s (docs/config.md)",
                 (int)n, *e, near ? ": did you mean PP_" : "", near ? up : "", near ? "?" : "");
        add(msg, cap, at, what);
        shown++;
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
