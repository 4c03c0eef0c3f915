/* httpd_req.c - what a route handler does with its request: the peer's address, the path, a request header, response headers and the answer. */
#include "httpd.h"
#include "err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int pp_httpd_peer(const h2o_req_t *req, bool v6_prefix64, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    if (!req || !req->conn || !req->conn->callbacks->get_peername || cap < 1)
        return PP_EINVAL;
    memset(&ss, 0, sizeof ss);
    socklen_t n = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (n == 0)
        return PP_EIO;
    if (ss.ss_family == AF_INET)
        return uv_ip4_name((const struct sockaddr_in *)&ss, out, cap) == 0 ? PP_OK : PP_EINVAL;
    if (ss.ss_family != AF_INET6)
        return PP_EINVAL;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    const uint8_t *b = s6->sin6_addr.s6_addr;
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, v4mapped, 12) == 0) { /* ::ffff:a.b.c.d is an IPv4 client */
        int w = snprintf(out, cap, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
        return w > 0 && (size_t)w < cap ? PP_OK : PP_EINVAL;
    }
    if (v6_prefix64) {
        memset(s6->sin6_addr.s6_addr + 8, 0, 8);
        char a[64];
        if (uv_ip6_name(s6, a, sizeof a) != 0)
            return PP_EINVAL;
        int w = snprintf(out, cap, "%s/64", a);
        return w > 0 && (size_t)w < cap ? PP_OK : PP_EINVAL;
    }
    return uv_ip6_name(s6, out, cap) == 0 ? PP_OK : PP_EINVAL;
}

void pp_httpd_header(h2o_req_t *req, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    h2o_iovec_t n = h2o_strdup(&req->pool, name, nl);
    h2o_iovec_t v = h2o_strdup(&req->pool, value, vl);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

void pp_httpd_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    if (content_type) {
        h2o_iovec_t v = h2o_strdup(&req->pool, content_type, strlen(content_type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, v.base, v.len);
    }
    req->res.content_length = body ? len : 0; /* h2o_send_inline leaves it unset */
    h2o_send_inline(req, body ? body : "", body ? len : 0);
}

h2o_iovec_t pp_httpd_path(const h2o_req_t *req)
{
    h2o_iovec_t p = req->path_normalized;
    if (p.base == NULL) {
        p = req->path;
        if (req->query_at != SIZE_MAX)
            p.len = req->query_at;
    }
    return p;
}

h2o_iovec_t pp_httpd_req_header(const h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        return h2o_iovec_init(NULL, 0);
    return req->headers.entries[i].value;
}
