/* test_api_route.c - the path and query as pp-api's access log shows them (api/route.c): route
 * literals and canonical ids kept; anything else a client put in the path or the query (a
 * token, a key, an IM-link code) never shown. */
#include "check.h"
#include "err.h"
#include "route.h"

#include <stdlib.h>

static int handler(pp_api_req_t *r)
{
    (void)r;
    return 0;
}

static const char *shown(const pp_api_t *a, const char *path_and_query)
{
    static char out[256];
    const char *q = strchr(path_and_query, '?');
    size_t len = q ? (size_t)(q - path_and_query) : strlen(path_and_query);
    pp_api_route_log_path(a, path_and_query, len, q ? q + 1 : NULL, q ? strlen(q + 1) : 0, out,
                          sizeof out);
    return out;
}

int main(void)
{
    static pp_api_t api;
    pp_api_t *a = &api;
    const char *routes[][2] = {
        {"GET", "/"},
        {"GET", "/v1/me/notifications"},
        {"POST", "/v1/me/im-link/verify"},
        {"PUT", "/v1/transactions/{id}/shipment"},
        {"GET", "/transakcje/{id}"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        CHECK_INT(pp_api_route(a, routes[i][0], routes[i][1], 0, handler), PP_OK);

    static const char *const cases[][2] = {
        {"/", "/"},
        {"/?lang=en", "/?lang=en"},
        {"/?token=s3cret-tok", "/?*"},
        {"/?lang=pl&token=s3cret&api_key=k", "/?lang=pl&*"},
        {"/?s3cretalone", "/?*"},
        {"/?lang=s3cret", "/?*"},
        {"/v1/me/notifications?token=abc.def", "/v1/me/notifications?*"},
        {"/v1/transactions/42/shipment", "/v1/transactions/42/shipment"},
        {"/v1/transactions/s3cret/shipment", "/v1/transactions/{id}/shipment"},
        {"/v1/transactions/0042/shipment", "/v1/transactions/{id}/shipment"},
        {"/transakcje/1234567890123456789", "/transakcje/{id}"},
        {"/v1/me/im-link/verify/123456", "/v1/me/im-link/verify/*"},
        {"/v1/me/im-link/123456", "/v1/me/im-link/*"},
        {"/link/123456", "/*/*"},
        {"/s3cret", "/*"},
        {"/v1/", "/v1/"},
        {"/a/b/c/d/e/f/g/h/i/j", "/*"},
        {"relative", "/*"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(shown(a, cases[i][0]), cases[i][1]);
    free(a->routes);
    return CHECK_DONE();
}
