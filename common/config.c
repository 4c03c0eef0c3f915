/* config.c - parse, validate and document the configuration table in config.h. */
#include "config.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { T_STR, T_INT, T_BOOL } key_type_t;

typedef struct {
    const char *name;
    key_type_t type;
    const char *def;
    long min, max;
    int reloadable;
    const char *doc;
    size_t off;
} key_t_;

static const key_t_ keys[] = {
#define X(t, n, d, lo, hi, r, doc) {#n, T_##t, d, lo, hi, r, doc, offsetof(pp_config_t, n)},
    PP_CONFIG_KEYS(X)
#undef X
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const key_t_ *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int set_key(pp_config_t *c, const key_t_ *k, const char *value, char *err, size_t errlen)
{
    char *field = (char *)c + k->off;
    switch (k->type) {
    case T_STR: {
        char *dup = strdup(value);
        if (!dup)
            return PP_ENOMEM;
        free(*(char **)field);
        *(char **)field = dup;
        return PP_OK;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0') {
            snprintf(err, errlen, "key '%s': '%s' is not an integer", k->name, value);
            return PP_ECONFIG;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errlen, "key '%s': %ld is out of range [%ld, %ld]", k->name, v, k->min,
                     k->max);
            return PP_ECONFIG;
        }
        *(long *)field = v;
        return PP_OK;
    }
    case T_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes") ||
            !strcasecmp(value, "on"))
            *(bool *)field = true;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no") ||
                 !strcasecmp(value, "off"))
            *(bool *)field = false;
        else {
            snprintf(err, errlen, "key '%s': '%s' is not a boolean (true/false)", k->name, value);
            return PP_ECONFIG;
        }
        return PP_OK;
    }
    return PP_EINVAL;
}

static int add_rdkafka(pp_config_t *c, const char *prop, const char *value)
{
    for (size_t i = 0; i < c->n_rdkafka_props; i++) {
        if (strcmp(c->rdkafka_props[2 * i], prop) == 0) {
            char *v = strdup(value);
            if (!v)
                return PP_ENOMEM;
            free(c->rdkafka_props[2 * i + 1]);
            c->rdkafka_props[2 * i + 1] = v;
            return PP_OK;
        }
    }
    char **p = realloc(c->rdkafka_props, (c->n_rdkafka_props + 1) * 2 * sizeof *p);
    if (!p)
        return PP_ENOMEM;
    c->rdkafka_props = p;
    p[2 * c->n_rdkafka_props] = strdup(prop);
    p[2 * c->n_rdkafka_props + 1] = strdup(value);
    if (!p[2 * c->n_rdkafka_props] || !p[2 * c->n_rdkafka_props + 1])
        return PP_ENOMEM;
    c->n_rdkafka_props++;
    return PP_OK;
}

int pp_config_set(pp_config_t *c, const char *key, const char *value, char *err, size_t errlen)
{
    if (strncmp(key, "rdkafka.", 8) == 0 && key[8])
        return add_rdkafka(c, key + 8, value);
    const key_t_ *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown key '%s' (the README's configuration reference lists every key)", key);
        return PP_ECONFIG;
    }
    return set_key(c, k, value, err, errlen);
}

int pp_config_init(pp_config_t *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++) {
        int rc = set_key(c, &keys[i], keys[i].def, err, sizeof err);
        if (rc)
            return rc;
    }
    return PP_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int pp_config_load_file(pp_config_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
        return PP_ECONFIG;
    }
    char line[4096], sub[512];
    int lineno = 0, rc = PP_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "config file %s:%d: expected 'key = value'", path, lineno);
            rc = PP_ECONFIG;
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = '\0';
            v++;
        }
        rc = pp_config_set(c, k, v, sub, sizeof sub);
        if (rc) {
            snprintf(err, errlen, "config file %s:%d: %s", path, lineno, sub);
            break;
        }
    }
    fclose(f);
    return rc;
}

int pp_config_load_env(pp_config_t *c, char *err, size_t errlen)
{
    char env[128], sub[512];
    for (size_t i = 0; i < NKEYS; i++) {
        size_t j = 0;
        j += (size_t)snprintf(env, sizeof env, "PP_");
        for (const char *p = keys[i].name; *p && j < sizeof env - 1; p++)
            env[j++] = (char)toupper((unsigned char)*p);
        env[j] = '\0';
        const char *v = getenv(env);
        if (!v)
            continue;
        int rc = set_key(c, &keys[i], v, sub, sizeof sub);
        if (rc) {
            snprintf(err, errlen, "environment %s: %s", env, sub);
            return rc;
        }
    }
    extern char **environ;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "PP_RDKAFKA_", 11) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e + 11)
            continue;
        char prop[256];
        size_t n = (size_t)(eq - (*e + 11));
        if (n >= sizeof prop)
            continue;
        for (size_t k = 0; k < n; k++) {
            char ch = (*e)[11 + k];
            prop[k] = ch == '_' ? '.' : (char)tolower((unsigned char)ch);
        }
        prop[n] = '\0';
        if (add_rdkafka(c, prop, eq + 1))
            return PP_ENOMEM;
    }
    return PP_OK;
}

int pp_config_load(pp_config_t *c, const char *path, char *err, size_t errlen)
{
    int rc = pp_config_init(c);
    if (rc)
        return rc;
    if (path && (rc = pp_config_load_file(c, path, err, errlen)))
        return rc;
    return pp_config_load_env(c, err, errlen);
}

void pp_config_free(pp_config_t *c)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == T_STR) {
            char **f = (char **)((char *)c + keys[i].off);
            free(*f);
            *f = NULL;
        }
    for (size_t i = 0; i < 2 * c->n_rdkafka_props; i++)
        free(c->rdkafka_props[i]);
    free(c->rdkafka_props);
    c->rdkafka_props = NULL;
    c->n_rdkafka_props = 0;
}

static const char *type_name(key_type_t t)
{
    return t == T_STR ? "string" : t == T_INT ? "integer" : "boolean";
}

void pp_config_print_reference(FILE *out)
{
    fprintf(out, "| key | environment | type | default | reload | meaning |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < NKEYS; i++) {
        char env[128];
        size_t j = (size_t)snprintf(env, sizeof env, "PP_");
        for (const char *p = keys[i].name; *p && j < sizeof env - 1; p++)
            env[j++] = (char)toupper((unsigned char)*p);
        env[j] = '\0';
        char range[64] = "";
        if (keys[i].type == T_INT)
            snprintf(range, sizeof range, " (%ld–%ld)", keys[i].min, keys[i].max);
        fprintf(out, "| `%s` | `%s` | %s%s | `%s` | %s | %s |\n", keys[i].name, env,
                type_name(keys[i].type), range, keys[i].def, keys[i].reloadable ? "SIGHUP" : "restart",
                keys[i].doc);
    }
}

void pp_config_dump(const pp_config_t *c, FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const char *field = (const char *)c + keys[i].off;
        switch (keys[i].type) {
        case T_STR: {
            const char *v = *(char *const *)field;
            int secret = strstr(keys[i].name, "password") || strstr(keys[i].name, "token") ||
                         strstr(keys[i].name, "secret") || strstr(keys[i].name, "_key");
            fprintf(out, "%s = %s\n", keys[i].name, secret && v && *v ? "********" : (v ? v : ""));
            break;
        }
        case T_INT: fprintf(out, "%s = %ld\n", keys[i].name, *(const long *)field); break;
        case T_BOOL: fprintf(out, "%s = %s\n", keys[i].name, *(const bool *)field ? "true" : "false"); break;
        }
    }
    for (size_t i = 0; i < c->n_rdkafka_props; i++)
        fprintf(out, "rdkafka.%s = %s\n", c->rdkafka_props[2 * i], c->rdkafka_props[2 * i + 1]);
}
