/* access.c - pp-api's access log: one line per request (access.h), built from what cannot
 * carry a secret: no header but a well-formed X-Request-Id, the path through
 * pp_api_route_log_path (route.h), never the body. */
#include "access.h"
#include "log.h"
#include "route.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/* The method as logged: one of those the API knows, or OTHER (a client may send anything). */
static const char *method_name(h2o_iovec_t m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (h2o_memis(m.base, m.len, known[i], strlen(known[i])))
            return known[i];
    return "OTHER";
}

/* X-Request-Id when it is 1-64 characters of [A-Za-z0-9._:-]; else "". */
static void request_id(const h2o_req_t *req, char out[65])
{
    h2o_iovec_t v = pp_httpd_req_header(req, "x-request-id");
    out[0] = '\0';
    if (!v.base || v.len == 0 || v.len > 64)
        return;
    for (size_t i = 0; i < v.len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-", v.base[i]) ||
            v.base[i] == '\0')
            return;
    memcpy(out, v.base, v.len);
    out[v.len] = '\0';
}

void pp_api_access_begin(const pp_api_t *a, const h2o_req_t *req, pp_api_access_t *acc)
{
    memset(acc, 0, sizeof *acc);
    acc->on = a->cfg->api_access_log && pp_log_enabled(PP_LOG_INFO);
    if (!acc->on || !req)
        return;
    acc->method = method_name(req->method);
    h2o_iovec_t path = pp_httpd_path(req);
    const char *query = NULL;
    size_t qlen = 0;
    if (req->query_at != SIZE_MAX) {
        query = req->path.base + req->query_at + 1;
        qlen = req->path.len - req->query_at - 1;
    }
    pp_api_route_log_path(a, path.base, path.len, query, qlen, acc->path, sizeof acc->path);
    if (pp_httpd_peer(req, false, acc->client, sizeof acc->client) != 0)
        acc->client[0] = '\0';
    request_id(req, acc->request_id);
    acc->begin = req->timestamps.request_begin_at;
    if (acc->begin.tv_sec == 0)
        gettimeofday(&acc->begin, NULL);
}

void pp_api_access_end(const pp_api_access_t *acc, const pp_api_auth_t *auth, int status, size_t bytes)
{
    if (!acc->on)
        return;
    struct timeval now;
    gettimeofday(&now, NULL);
    long long us =
        (long long)(now.tv_sec - acc->begin.tv_sec) * 1000000 + (now.tv_usec - acc->begin.tv_usec);
    if (us < 0)
        us = 0;
    long long user = auth && auth->kind == PP_API_AUTH_BUYER ? auth->user_id : 0;
    long long seller = auth && auth->kind == PP_API_AUTH_SELLER ? auth->seller_id : 0;
    char who[48] = "";
    if (user)
        snprintf(who, sizeof who, " user %lld", user);
    else if (seller)
        snprintf(who, sizeof who, " seller %lld", seller);
    pp_infok(PP_LOG_FIELDS(PP_LF_STR("log", "access"), PP_LF_STR("method", acc->method),
                           PP_LF_STR("path", acc->path), PP_LF_NUM("status", status),
                           PP_LF_NUM("bytes", bytes), PP_LF_NUM("duration_us", us),
                           PP_LF_STR("client", acc->client), PP_LF_STR("request_id", acc->request_id),
                           PP_LF_USER(user), PP_LF_ID("seller_id", seller)),
             "access: %s %s %d %zu B %.1f ms client %s%s%s%s", acc->method, acc->path, status,
             bytes, (double)us / 1000.0, acc->client[0] ? acc->client : "-", who,
             acc->request_id[0] ? " request-id " : "", acc->request_id);
}
