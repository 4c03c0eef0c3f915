/* route.h - pp-api's route table (internal to api/): the routes, matching a path, and the path
 * as a log may show it. */
#ifndef PP_API_ROUTE_H
#define PP_API_ROUTE_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>

#define PP_API_SEG_MAX 8

typedef struct pp_api_route {
    const char *method;
    const char *pattern;
    int auth;
    pp_api_handler_fn fn;
    int nseg;
    const char *seg[PP_API_SEG_MAX]; /* into the pattern */
    size_t seglen[PP_API_SEG_MAX];
    bool param[PP_API_SEG_MAX];
    char label[160]; /* "PUT /v1/transactions/{id}" for metrics */
} pp_api_route_t;

/* Match path[0..len) against rt; on success fill r's params (r may be NULL: match only). */
bool pp_api_route_match(const pp_api_route_t *rt, const char *path, size_t len, pp_api_req_t *r);

/*
 * The path and query of a request as the access log shows them, into out (cap bytes), built
 * only from what cannot carry a secret: a route's literal segments; in a path that matches a
 * route (any method), a parameter that is a canonical id (digits, no leading zero) as it is,
 * any other as {name}; in a path that matches none, each segment that is no literal of any
 * route as "*"; of the query, the parameters lang=en and lang=pl, any other as one "*". So a
 * token, a key or an IM-link code a client put in the path or the query never gets there.
 * query may be NULL (qlen 0).
 */
void pp_api_route_log_path(const pp_api_t *a, const char *path, size_t len, const char *query,
                           size_t qlen, char *out, size_t cap);

#endif
