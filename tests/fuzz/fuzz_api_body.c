/*
 * fuzz_api_body.c - pp-api's JSON request bodies through the real route handlers (feed,
 * seller WebAPI, buyer settings, IM linking): pp_api_body_json (api/body.c: media type, strict
 * JSON, clean text) and each handler's field checks; pp_api_json_strict on its own as well. Linked with -Wl,--wrap for the few calls that leave the process: the HTTP layer
 * (pp_httpd_send/header/req_header: the answer is captured here), the DB pool (pp_api_db:
 * recorded, not run) and the rate limit (pp_api_rate_allow: always allowed).
 * Input: byte 0 picks the route, byte 1 the Content-Type (below 0x80: from a list; else the
 * next (byte 1 & 31) bytes are the header's value), the rest is the body.
 * Beyond "no crash": each request gets exactly one outcome (one answer or one DB job), an
 * answer is 4xx/5xx with a JSON object body that is valid UTF-8 without control characters;
 * a body pp_api_json_strict accepts is RFC 8259 JSON (checked by a recogniser of its own).
 */
#include "api.h"
#include "err.h"
#include "fuzz.h"
#include "routes.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 32
typedef struct fuzz_route {
    const char *method, *pattern;
    int auth;
    pp_api_handler_fn fn;
} fuzz_route_t;
static fuzz_route_t routes[MAX_ROUTES];
static int n_routes, body_routes[MAX_ROUTES], n_body_routes;

static pp_api_t api;
static pp_config_t cfg;
static h2o_iovec_t content_type;
static int answers, db_jobs, last_status;

int __real_pp_api_route(pp_api_t *a, const char *method, const char *pattern, int auth,
                        pp_api_handler_fn fn);
int __wrap_pp_api_route(pp_api_t *a, const char *method, const char *pattern, int auth,
                        pp_api_handler_fn fn);
int __wrap_pp_api_route(pp_api_t *a, const char *method, const char *pattern, int auth,
                        pp_api_handler_fn fn)
{
    if (n_routes < MAX_ROUTES)
        routes[n_routes++] = (fuzz_route_t){method, pattern, auth, fn};
    return __real_pp_api_route(a, method, pattern, auth, fn);
}

h2o_iovec_t __wrap_pp_httpd_req_header(const h2o_req_t *req, const char *name);
h2o_iovec_t __wrap_pp_httpd_req_header(const h2o_req_t *req, const char *name)
{
    if (strcasecmp(name, "content-type") == 0)
        return content_type;
    return h2o_iovec_init(NULL, 0);
}

void __wrap_pp_httpd_header(h2o_req_t *req, const char *name, const char *value);
void __wrap_pp_httpd_header(h2o_req_t *req, const char *name, const char *value) {}

void __wrap_pp_httpd_send(h2o_req_t *req, int status, const char *ct, const char *body, size_t len);
void __wrap_pp_httpd_send(h2o_req_t *req, int status, const char *ct, const char *body, size_t len)
{
    answers++;
    last_status = status;
    if (status < 400 || status > 599)
        fuzz_fail("answered %d without touching the database", status);
    if (strcmp(ct, "application/json") != 0)
        fuzz_fail("answer of type %s", ct);
    char *copy = fuzz_strdup((const uint8_t *)body, len);
    if (strlen(copy) != len)
        fuzz_fail("answer body holds a NUL byte");
    fuzz_check_string("answer body", copy, len + 1);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "error")))
        fuzz_fail("answer %d is not a JSON error object: %s", status, copy);
    cJSON_Delete(j);
    free(copy);
}

int __wrap_pp_api_db(pp_api_req_t *r, pp_api_work_fn work, pp_api_done_fn done);
int __wrap_pp_api_db(pp_api_req_t *r, pp_api_work_fn work, pp_api_done_fn done)
{
    db_jobs++;
    if (!work || !done || !r->data)
        fuzz_fail("DB job without work, done or job data");
    return PP_OK;
}

bool __wrap_pp_api_rate_allow(pp_api_req_t *r, const char *key);
bool __wrap_pp_api_rate_allow(pp_api_req_t *r, const char *key) { return true; }

/* What pp_api_json_strict accepts: RFC 8259 JSON (rfc_value below), every key and string
 * clean (check.c), no key twice in one object, objects and arrays only as documented. */
static void check_tree(const cJSON *j, int depth)
{
    if (depth > 10000)
        fuzz_fail("JSON nested deeper than 10000");
    for (const cJSON *c = j->child; c; c = c->next) {
        if (cJSON_IsObject(j)) {
            if (!c->string)
                fuzz_fail("object member without a name");
            fuzz_check_string("JSON key", c->string, strlen(c->string) + 1);
            for (const cJSON *d = c->next; d; d = d->next)
                if (d->string && strcmp(c->string, d->string) == 0)
                    fuzz_fail("strict JSON accepted the key \"%s\" twice", c->string);
        }
        if (cJSON_IsString(c))
            fuzz_check_string("JSON string", c->valuestring, strlen(c->valuestring) + 1);
        check_tree(c, depth + 1);
    }
}

/* An RFC 8259 recogniser of its own (not body.c's code): whitespace is space, tab, LF and CR
 * only; numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; strings without raw bytes
 * below 0x20 and with only the standard escapes. Returns the end of the value at p, or NULL. */
static const char *rfc_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}
static bool rfc_digit(const char *p, const char *e) { return p < e && *p >= '0' && *p <= '9'; }
static const char *rfc_value(const char *p, const char *e, int depth);
static const char *rfc_string(const char *p, const char *e)
{
    if (p >= e || *p++ != '"')
        return NULL;
    while (p < e && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            if (++p >= e)
                return NULL;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (p + i >= e || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p < e ? p + 1 : NULL;
}
static const char *rfc_number(const char *p, const char *e)
{
    if (p < e && *p == '-')
        p++;
    if (!rfc_digit(p, e))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (rfc_digit(p, e))
            p++;
    if (p < e && *p == '.') {
        if (!rfc_digit(++p, e))
            return NULL;
        while (rfc_digit(p, e))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (!rfc_digit(p, e))
            return NULL;
        while (rfc_digit(p, e))
            p++;
    }
    return p;
}
static const char *rfc_members(const char *p, const char *e, int depth, char close)
{
    p = rfc_ws(p, e);
    if (p < e && *p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            if (!(p = rfc_string(p, e)) || (p = rfc_ws(p, e)) >= e || *p++ != ':')
                return NULL;
        }
        if (!(p = rfc_value(p, e, depth + 1)))
            return NULL;
        if (p >= e)
            return NULL;
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = rfc_ws(p, e);
    }
}
static const char *rfc_value(const char *p, const char *e, int depth)
{
    if (depth > 2000) /* cJSON nests at most 1000 deep */
        return NULL;
    p = rfc_ws(p, e);
    if (p >= e)
        return NULL;
    const char *q = NULL;
    if (*p == '{' || *p == '[')
        q = rfc_members(p + 1, e, depth, *p == '{' ? '}' : ']');
    else if (*p == '"')
        q = rfc_string(p, e);
    else if (*p == '-' || (*p >= '0' && *p <= '9'))
        q = rfc_number(p, e);
    else
        for (int i = 0; i < 3 && !q; i++) {
            static const char *const lit[] = {"true", "false", "null"};
            size_t l = strlen(lit[i]);
            if ((size_t)(e - p) >= l && memcmp(p, lit[i], l) == 0)
                q = p + l;
        }
    return q ? rfc_ws(q, e) : NULL;
}

static void check_strict(const char *body, size_t len)
{
    cJSON *j = NULL;
    pp_api_json_err_t err;
    memset(&err, 0, sizeof err);
    if (pp_api_json_strict(body, len, &j, &err) == PP_OK) {
        if (!cJSON_IsObject(j))
            fuzz_fail("strict JSON accepted something that is not an object");
        if (rfc_value(body, body + len, 0) != body + len)
            fuzz_fail("strict JSON accepted a body that is not RFC 8259 JSON (a control byte between "
                      "tokens, a number such as +1, 01, .5, 5.)");
        check_tree(j, 0);
        cJSON_Delete(j);
    } else {
        if (j)
            fuzz_fail("strict JSON refused but returned a tree");
        if (!err.code || strnlen(err.field, sizeof err.field) == sizeof err.field ||
            strnlen(err.message, sizeof err.message) == sizeof err.message)
            fuzz_fail("strict JSON refused without a terminated reason");
        fuzz_check_string("error field", err.field, sizeof err.field);
        fuzz_check_string("error message", err.message, sizeof err.message);
    }
}

static const char *const content_types[] = {
    NULL,
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/jsonx",
    "APPLICATION/JSON",
    "",
    "application/x-www-form-urlencoded",
};

static void init(void)
{
    if (pp_config_init(&cfg) != PP_OK)
        abort();
    free(cfg.api_buyer_secret);
    cfg.api_buyer_secret = strdup("fuzz");
    api.cfg = &cfg;
    api.metrics = pp_metrics_new();
    if (!api.metrics || pp_api_register_feed(&api) || pp_api_register_seller(&api) ||
        pp_api_register_buyer(&api) || pp_api_register_imlink(&api))
        abort();
    for (int i = 0; i < n_routes; i++)
        if (strcmp(routes[i].method, "PUT") == 0 || strcmp(routes[i].method, "POST") == 0)
            body_routes[n_body_routes++] = i;
    if (n_body_routes < 6)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static h2o_req_t req;
    if (!api.metrics)
        init();
    if (size < 2)
        return 0;
    int ri = body_routes[data[0] % n_body_routes];
    /* byte 1 < 0x80: one of content_types; else the next (byte 1 & 31) input bytes are it */
    char ctbuf[32];
    size_t skip = 2;
    if (data[1] & 0x80) {
        size_t l = data[1] & 31;
        if (l > size - 2)
            l = size - 2;
        memcpy(ctbuf, data + 2, l);
        content_type = h2o_iovec_init(ctbuf, l);
        skip += l;
    } else {
        const char *ct = content_types[data[1] % (sizeof content_types / sizeof content_types[0])];
        content_type = ct ? h2o_iovec_init(ct, strlen(ct)) : h2o_iovec_init(NULL, 0);
    }
    /* h2o hands the entity over as bytes with a length, not NUL-terminated */
    size_t blen = size - skip;
    char *body = malloc(blen ? blen : 1);
    if (!body)
        abort();
    memcpy(body, data + skip, blen);
    req.entity = h2o_iovec_init(blen ? body : NULL, blen);

    pp_api_req_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->api = &api;
    r->req = &req;
    r->pattern = routes[ri].pattern;
    r->method = routes[ri].method;
    /* path parameters: every {name} of the pattern is "1" */
    for (const char *p = r->pattern; (p = strchr(p, '{')) && r->nparams < PP_API_MAX_PARAMS; p++) {
        const char *e = strchr(p, '}');
        snprintf(r->param_names[r->nparams], sizeof r->param_names[0], "%.*s", (int)(e - p - 1), p + 1);
        snprintf(r->params[r->nparams], sizeof r->params[0], "1");
        r->nparams++;
    }
    int auth = routes[ri].auth;
    r->auth.kind = auth & PP_API_AUTH_SERVICE  ? PP_API_AUTH_SERVICE
                   : auth & PP_API_AUTH_SELLER ? PP_API_AUTH_SELLER
                                               : PP_API_AUTH_BUYER;
    r->auth.seller_id = 1;
    r->auth.user_id = 1;
    check_strict(body, blen);
    answers = db_jobs = 0;
    int rc = routes[ri].fn(r);
    if (rc != 0)
        fuzz_fail("%s %s returned %d (a 500)", r->method, r->pattern, rc);
    if (answers + db_jobs != 1)
        fuzz_fail("%s %s: %d answers and %d DB jobs for one request", r->method, r->pattern,
                  answers, db_jobs);
    if (r->data_free && r->data)
        r->data_free(r->data);
    free(r);
    free(body);
    return 0;
}
