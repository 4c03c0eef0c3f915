/* route.c - pp-api's route table: registering routes, matching a path, path parameters, and
 * the path as the access log shows it (route.h). */
#include "route.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pp_api_route(pp_api_t *a, const char *method, const char *pattern, int auth, pp_api_handler_fn fn)
{
    if (!a || !method || !pattern || pattern[0] != '/' || !fn)
        return PP_EINVAL;
    if (!a->routes) {
        a->routes = calloc(PP_API_MAX_ROUTES, sizeof *a->routes);
        if (!a->routes)
            return PP_ENOMEM;
    }
    if (a->n_routes >= PP_API_MAX_ROUTES)
        return PP_ENOMEM;
    pp_api_route_t *rt = &a->routes[a->n_routes];
    memset(rt, 0, sizeof *rt);
    rt->method = method;
    rt->pattern = pattern;
    rt->auth = auth;
    rt->fn = fn;
    const char *p = pattern + 1;
    while (*p) {
        if (rt->nseg >= PP_API_SEG_MAX)
            return PP_EINVAL;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        rt->seg[rt->nseg] = p;
        rt->seglen[rt->nseg] = n;
        rt->param[rt->nseg] = n >= 2 && p[0] == '{' && p[n - 1] == '}';
        rt->nseg++;
        p += n;
        if (*p == '/')
            p++;
    }
    snprintf(rt->label, sizeof rt->label, "%s %s", method, pattern);
    a->n_routes++;
    return PP_OK;
}

/* Match path against rt; on success fill r's params. */
bool pp_api_route_match(const pp_api_route_t *rt, const char *path, size_t len, pp_api_req_t *r)
{
    if (len == 0 || path[0] != '/')
        return false;
    size_t i = 1;
    int s = 0, np = 0;
    if (len == 1)
        return rt->nseg == 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (s >= rt->nseg)
            return false;
        size_t n = j - i;
        if (rt->param[s]) {
            if (n == 0 || n >= PP_API_PARAM_MAX || np >= PP_API_MAX_PARAMS)
                return false;
            if (r) {
                size_t nl = rt->seglen[s] - 2;
                if (nl >= sizeof r->param_names[0])
                    nl = sizeof r->param_names[0] - 1;
                memcpy(r->param_names[np], rt->seg[s] + 1, nl);
                r->param_names[np][nl] = '\0';
                memcpy(r->params[np], path + i, n);
                r->params[np][n] = '\0';
            }
            np++;
        } else if (n != rt->seglen[s] || memcmp(path + i, rt->seg[s], n) != 0) {
            return false;
        }
        s++;
        i = j + 1;
    }
    if (s != rt->nseg)
        return false;
    if (r)
        r->nparams = np;
    return true;
}

const char *pp_api_param(const pp_api_req_t *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->params[i];
    return NULL;
}

int pp_api_param_id(const pp_api_req_t *r, const char *name, long long *out)
{
    const char *s = pp_api_param(r, name);
    if (!s || !isdigit((unsigned char)s[0]) || s[0] == '0') /* 0100 is not the id 100 */
        return PP_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return PP_EINVAL;
    *out = v;
    return PP_OK;
}

/* ---- the path as a log shows it ---- */

typedef struct seg {
    const char *p;
    size_t n;
} seg_t;

/* The segments of path ("/" has none); -1 when it has more than max or is not absolute. */
static int split(const char *path, size_t len, seg_t *seg, int max)
{
    if (len == 0 || path[0] != '/')
        return -1;
    if (len == 1)
        return 0;
    int n = 0;
    for (size_t i = 1;;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (n >= max)
            return -1;
        seg[n++] = (seg_t){path + i, j - i};
        if (j >= len)
            return n;
        i = j + 1;
    }
}

/* The route whose literal segments all match (its parameters take anything), or NULL. */
static const pp_api_route_t *shape(const pp_api_t *a, const seg_t *seg, int n)
{
    for (int i = 0; i < a->n_routes; i++) {
        const pp_api_route_t *rt = &a->routes[i];
        bool ok = rt->nseg == n;
        for (int k = 0; ok && k < n; k++)
            ok = rt->param[k]
                     ? seg[k].n > 0
                     : seg[k].n == rt->seglen[k] && memcmp(seg[k].p, rt->seg[k], seg[k].n) == 0;
        if (ok)
            return rt;
    }
    return NULL;
}

/* s is a literal segment of some route. */
static bool known_word(const pp_api_t *a, const seg_t *s)
{
    for (int i = 0; i < a->n_routes; i++)
        for (int k = 0; k < a->routes[i].nseg; k++)
            if (!a->routes[i].param[k] && s->n == a->routes[i].seglen[k] &&
                memcmp(s->p, a->routes[i].seg[k], s->n) == 0)
                return true;
    return false;
}

/* A canonical id: 1 to 18 digits, no leading zero. */
static bool canonical_id(const seg_t *s)
{
    if (s->n == 0 || s->n > 18 || s->p[0] == '0')
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (!isdigit((unsigned char)s->p[i]))
            return false;
    return true;
}

static size_t put(char *out, size_t at, size_t cap, const char *s, size_t n)
{
    if (at + n + 1 > cap)
        n = at + 1 < cap ? cap - at - 1 : 0;
    memcpy(out + at, s, n);
    out[at + n] = '\0';
    return at + n;
}

/* "?lang=en", "?lang=en&*", "?*" or nothing. */
static size_t put_query(char *out, size_t at, size_t cap, const char *q, size_t len)
{
    bool other = false, first = true;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t n = amp ? (size_t)(amp - (q + i)) : len - i;
        if (n == 7 && (memcmp(q + i, "lang=en", 7) == 0 || memcmp(q + i, "lang=pl", 7) == 0)) {
            at = put(out, at, cap, first ? "?" : "&", 1);
            at = put(out, at, cap, q + i, n);
            first = false;
        } else if (n > 0) {
            other = true;
        }
        i += n + 1;
    }
    if (other)
        at = put(out, at, cap, first ? "?*" : "&*", 2);
    return at;
}

void pp_api_route_log_path(const pp_api_t *a, const char *path, size_t len, const char *query,
                           size_t qlen, char *out, size_t cap)
{
    if (cap == 0)
        return;
    seg_t seg[PP_API_SEG_MAX];
    int n = split(path, len, seg, PP_API_SEG_MAX);
    const pp_api_route_t *rt = n >= 0 ? shape(a, seg, n) : NULL;
    size_t at = put(out, 0, cap, n > 0 ? "" : n == 0 ? "/" : "/*", n > 0 ? 0 : n == 0 ? 1 : 2);
    for (int k = 0; k < n; k++) {
        at = put(out, at, cap, "/", 1);
        if (rt && rt->param[k] && !canonical_id(&seg[k]))
            at = put(out, at, cap, rt->seg[k], rt->seglen[k]); /* "{name}" */
        else if (rt || known_word(a, &seg[k]) || seg[k].n == 0)
            at = put(out, at, cap, seg[k].p, seg[k].n);
        else
            at = put(out, at, cap, "*", 1);
    }
    if (query && qlen)
        put_query(out, at, cap, query, qlen);
}
