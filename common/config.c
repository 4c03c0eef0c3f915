/* config.c - parse, validate and document the configuration table in config.h. */
#include "config.h"
#include "config_keys.h"
#include "err.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef pp_config_key_t key_t_;
#define T_STR PP_CFG_STR
#define T_INT PP_CFG_INT
#define T_BOOL PP_CFG_BOOL

/* The rows (config_keys.c: config.h's keys and every carrier's). */
static const key_t_ *table(void)
{
    size_t n;
    return pp_config_keys(&n);
}

static size_t nkeys(void)
{
    size_t n;
    pp_config_keys(&n);
    return n;
}
#define find_key pp_config_key_find

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
    /* A control character (other than tab) is never meant: it would reach a log line, a
     * header or `ppctl config --dump` raw (and a dump must load back as it was). */
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            snprintf(err, errlen, "key '%s': control character 0x%02x in the value (at byte %zu)",
                     key, *p, (size_t)(p - (const unsigned char *)value));
            return PP_ECONFIG;
        }
    if (strncmp(key, "rdkafka.", 8) == 0 && key[8])
        return add_rdkafka(c, key + 8, value);
    const key_t_ *k = find_key(key);
    if (!k && pp_config_key_renamed(key)) {
        snprintf(err, errlen, "key '%s' was renamed to '%s': use '%s' instead (docs/config.md)",
                 key, pp_config_key_renamed(key), pp_config_key_renamed(key));
        return PP_ECONFIG;
    }
    if (!k) {
        const char *near = pp_config_key_nearest(key);
        snprintf(err, errlen, "unknown key '%s'%s%s%s (docs/config.md lists every key)", key,
                 near ? ": did you mean '" : "", near ? near : "", near ? "'?" : "");
        return PP_ECONFIG;
    }
    return set_key(c, k, value, err, errlen);
}

int pp_config_init(pp_config_t *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    pp_config_keys_name_carriers(c);
    for (size_t i = 0; i < nkeys(); i++) {
        int rc = set_key(c, &table()[i], table()[i].def, err, sizeof err);
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
    if (pp_config_env_misspelt(err, errlen) != PP_OK)
        return PP_ECONFIG;
    for (size_t i = 0; i < nkeys(); i++) {
        pp_config_env_name(table()[i].name, env, sizeof env);
        const char *v = getenv(env);
        if (!v)
            continue;
        int rc = pp_config_set(c, table()[i].name, v, sub, sizeof sub); /* the file's checks */
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
        char key[sizeof prop + 8];
        snprintf(key, sizeof key, "rdkafka.%s", prop);
        int rc = pp_config_set(c, key, eq + 1, sub, sizeof sub);
        if (rc) {
            snprintf(err, errlen, "environment %.*s: %s", (int)(eq - *e), *e, sub);
            return rc;
        }
    }
    return PP_OK;
}

/* What one key's type and range cannot say, checked once all sources are read. */
static int validate(const pp_config_t *c, char *err, size_t errlen)
{
    pp_log_level_t lvl;
    if (pp_log_level_parse(c->log_level, &lvl) != 0) {
        snprintf(err, errlen, "key 'log_level': unknown level \"%s\" (debug, info, warn or error)",
                 c->log_level);
        return PP_ECONFIG;
    }
    bool json;
    if (pp_log_format_parse(c->log_format, &json) != 0) {
        snprintf(err, errlen, "key 'log_format': unknown format \"%s\" (text or json)", c->log_format);
        return PP_ECONFIG;
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
    if (path && !(c->source_path = strdup(path)))
        return PP_ENOMEM;
    if ((rc = pp_config_load_env(c, err, errlen)))
        return rc;
    return validate(c, err, errlen);
}

void pp_config_free(pp_config_t *c)
{
    for (size_t i = 0; i < nkeys(); i++)
        if (table()[i].type == T_STR) {
            char **f = (char **)((char *)c + table()[i].off);
            free(*f);
            *f = NULL;
        }
    for (size_t i = 0; i < 2 * c->n_rdkafka_props; i++)
        free(c->rdkafka_props[i]);
    free(c->rdkafka_props);
    c->rdkafka_props = NULL;
    c->n_rdkafka_props = 0;
    for (size_t i = 0; i < c->n_retired; i++)
        free(c->retired[i]);
    free(c->retired);
    c->retired = NULL;
    c->n_retired = 0;
    free(c->source_path);
    c->source_path = NULL;
}

bool pp_config_key_reloadable(const char *name)
{
    const key_t_ *k = find_key(name);
    return k && k->reloadable;
}

/* A key's value as text for a log line (secrets masked). */
static void shown(const key_t_ *k, const pp_config_t *c, char *out, size_t cap)
{
    const char *field = (const char *)c + k->off;
    switch (k->type) {
    case T_STR: {
        const char *v = *(char *const *)field;
        if (pp_config_key_is_secret(k->name) && v && *v)
            snprintf(out, cap, "***");
        else if (strcmp(k->name, "db_url") == 0)
            pp_config_mask_db_url(v ? v : "", out, cap);
        else
            snprintf(out, cap, "\"%s\"", v ? v : "");
        return;
    }
    case T_INT: snprintf(out, cap, "%ld", *(const long *)field); return;
    case T_BOOL: snprintf(out, cap, "%s", *(const bool *)field ? "true" : "false"); return;
    }
}

static bool same(const key_t_ *k, const pp_config_t *a, const pp_config_t *b)
{
    const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
    switch (k->type) {
    case T_STR: {
        const char *x = *(char *const *)fa, *y = *(char *const *)fb;
        return strcmp(x ? x : "", y ? y : "") == 0;
    }
    case T_INT: return *(const long *)fa == *(const long *)fb;
    case T_BOOL: return *(const bool *)fa == *(const bool *)fb;
    }
    return true;
}

static bool same_rdkafka(const pp_config_t *a, const pp_config_t *b)
{
    if (a->n_rdkafka_props != b->n_rdkafka_props)
        return false;
    for (size_t i = 0; i < 2 * a->n_rdkafka_props; i++)
        if (strcmp(a->rdkafka_props[i], b->rdkafka_props[i]) != 0)
            return false;
    return true;
}

/* Move a reloadable key's new value into c (the old string retired, not freed). */
static int take(pp_config_t *c, pp_config_t *n, const key_t_ *k)
{
    char *fc = (char *)c + k->off, *fn = (char *)n + k->off;
    if (k->type != T_STR) {
        memcpy(fc, fn, k->type == T_INT ? sizeof(long) : sizeof(bool));
        return PP_OK;
    }
    c->retired[c->n_retired++] = *(char **)fc; /* room reserved by pp_config_reload */
    *(char **)fc = *(char **)fn;
    *(char **)fn = NULL;
    return PP_OK;
}

int pp_config_reload(pp_config_t *c, int *applied, char *err, size_t errlen)
{
    pp_config_t n;
    *applied = 0;
    int rc = pp_config_load(&n, c->source_path, err, errlen);
    if (rc) {
        pp_config_free(&n);
        return rc;
    }
    /* Room for every string it may replace first: past this point nothing can fail half-way. */
    size_t strs = 0;
    for (size_t i = 0; i < nkeys(); i++)
        strs += table()[i].reloadable && table()[i].type == T_STR && !same(&table()[i], c, &n);
    if (strs) {
        char **r = realloc(c->retired, (c->n_retired + strs) * sizeof *r);
        if (!r) {
            snprintf(err, errlen, "out of memory");
            pp_config_free(&n);
            return PP_ENOMEM;
        }
        c->retired = r;
    }
    for (size_t i = 0; i < nkeys() && rc == PP_OK; i++) {
        const key_t_ *k = &table()[i];
        if (same(k, c, &n))
            continue;
        char was[256], now[256];
        shown(k, c, was, sizeof was);
        shown(k, &n, now, sizeof now);
        if (!k->reloadable) {
            pp_warn("reload: %s changed (%s -> %s) but takes effect only at a restart: ignored",
                    k->name, was, now);
            continue;
        }
        if ((rc = take(c, &n, k)) == PP_OK) {
            pp_info("reload: %s: %s -> %s", k->name, was, now);
            (*applied)++;
        }
    }
    if (rc == PP_OK && !same_rdkafka(c, &n))
        pp_warn("reload: rdkafka.* properties changed but take effect only at a restart: ignored");
    pp_config_free(&n);
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc;
}

static const char *type_name(pp_config_type_t t)
{
    return t == T_STR ? "string" : t == T_INT ? "integer" : "boolean";
}

void pp_config_print_reference(FILE *out)
{
    fprintf(out, "| key | environment | type | default | reload | meaning |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nkeys(); i++) {
        char env[128];
        pp_config_env_name(table()[i].name, env, sizeof env);
        char range[64] = "";
        if (table()[i].type == T_INT)
            snprintf(range, sizeof range, " (%ld–%ld)", table()[i].min, table()[i].max);
        fprintf(out, "| `%s` | `%s` | %s%s | `%s` | %s | %s |\n", table()[i].name, env,
                type_name(table()[i].type), range, table()[i].def,
                table()[i].reloadable ? "SIGHUP" : "restart", table()[i].doc);
    }
}

bool pp_config_key_is_secret(const char *name)
{
    const key_t_ *k = find_key(name);
    return k && k->secret;
}

bool pp_config_rdkafka_is_secret(const char *prop)
{
    /* sasl.password, ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret,
     * *passphrase, *key.pem (private keys), sasl.oauthbearer.config (may carry a client secret) */
    size_t n = strlen(prop);
    return strstr(prop, "password") || strstr(prop, "secret") || strstr(prop, "passphrase") ||
           (n >= 7 && strcmp(prop + n - 7, "key.pem") == 0) ||
           strcmp(prop, "sasl.oauthbearer.config") == 0;
}

/* libpq's password parameters: password, sslpassword. */
static bool is_password_key(const char *k, size_t n)
{
    return n >= 8 && strncmp(k + n - 8, "password", 8) == 0;
}

#define MASK "***"

/* Append n bytes of s to out (cap bytes incl. NUL), truncating. */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < cap; i++)
        out[(*o)++] = s[i];
    out[*o] = '\0';
}

void pp_config_mask_db_url(const char *url, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    out[0] = '\0';
    const char *scheme = strstr(url, "://");
    if (scheme && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)) {
        /* URI: scheme://user:password@host/...?password=... */
        const char *auth = scheme + 3;
        size_t authlen = strcspn(auth, "/"); /* libpq: the user info ends only at '@' or '/' */
        const char *at = memrchr(auth, '@', authlen);
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        const char *p = url;
        if (colon) {
            put(out, cap, &o, p, (size_t)(colon + 1 - p));
            put(out, cap, &o, MASK, strlen(MASK));
            p = at;
        }
        /* password=... among the query parameters */
        const char *q = strchr(p, '?');
        if (!q) {
            put(out, cap, &o, p, strlen(p));
            return;
        }
        put(out, cap, &o, p, (size_t)(q + 1 - p));
        for (p = q + 1; *p;) {
            size_t n = strcspn(p, "&");
            size_t k = strcspn(p, "&=");
            if (k < n && is_password_key(p, k)) {
                put(out, cap, &o, p, k + 1);
                put(out, cap, &o, MASK, strlen(MASK));
            } else {
                put(out, cap, &o, p, n);
            }
            p += n;
            if (*p == '&')
                put(out, cap, &o, p++, 1);
        }
        return;
    }
    /* key=value form: host=... password=secret (value bare or 'quoted') */
    const char *p = url;
    while (*p) {
        const char *w = p;
        while (*p && !isspace((unsigned char)*p) && *p != '=')
            p++;
        bool is_pw = is_password_key(w, (size_t)(p - w));
        put(out, cap, &o, w, (size_t)(p - w));
        while (*p && isspace((unsigned char)*p))
            put(out, cap, &o, p++, 1);
        if (*p != '=')
            continue;
        put(out, cap, &o, p++, 1);
        while (*p && isspace((unsigned char)*p))
            put(out, cap, &o, p++, 1);
        /* The value runs to the next blank outside quotes; a backslash escapes the next
         * character, also a blank (libpq). A quoted part followed by more (an error for
         * libpq) is masked with it, so that a masked value masks to itself. */
        const char *v = p;
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    if (*p == '\\' && p[1])
                        p++;
                if (*p)
                    p++;
            } else {
                p += *p == '\\' && p[1] ? 2 : 1;
            }
        }
        if (is_pw)
            put(out, cap, &o, MASK, strlen(MASK));
        else
            put(out, cap, &o, v, (size_t)(p - v));
        while (*p && isspace((unsigned char)*p))
            put(out, cap, &o, p++, 1);
    }
}

/* "key = value", the value in quotes when the file reader would otherwise change it (it trims
 * blanks around a value and strips one pair of quotes), so a dump loads back as it was. */
static void dump_line(FILE *out, const char *prefix, const char *key, const char *v)
{
    size_t n = strlen(v);
    bool quote = n > 0 && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
                           (n >= 2 && v[0] == '"' && v[n - 1] == '"'));
    fprintf(out, quote ? "%s%s = \"%s\"\n" : "%s%s = %s\n", prefix, key, v);
}

void pp_config_dump(const pp_config_t *c, FILE *out)
{
    for (size_t i = 0; i < nkeys(); i++) {
        const char *field = (const char *)c + table()[i].off;
        switch (table()[i].type) {
        case T_STR: {
            const char *v = *(char *const *)field;
            if (!v)
                v = "";
            if (strcmp(table()[i].name, "db_url") == 0) {
                char masked[4096];
                pp_config_mask_db_url(v, masked, sizeof masked);
                dump_line(out, "", table()[i].name, masked);
            } else {
                dump_line(out, "", table()[i].name,
                          pp_config_key_is_secret(table()[i].name) && *v ? MASK : v);
            }
            break;
        }
        case T_INT: fprintf(out, "%s = %ld\n", table()[i].name, *(const long *)field); break;
        case T_BOOL:
            fprintf(out, "%s = %s\n", table()[i].name, *(const bool *)field ? "true" : "false");
            break;
        }
    }
    for (size_t i = 0; i < c->n_rdkafka_props; i++) {
        const char *prop = c->rdkafka_props[2 * i], *v = c->rdkafka_props[2 * i + 1];
        dump_line(out, "rdkafka.", prop, pp_config_rdkafka_is_secret(prop) && *v ? MASK : v);
    }
}

const char *pp_config_db_url_shown(const char *url)
{
    static _Thread_local char shown[512];
    pp_config_mask_db_url(url, shown, sizeof shown);
    return shown;
}
