/* pp-carrier-request.c - test helper: an adapter's build_request / build_auth_request as a curl config (curl -K). */
#include "carriers/carrier.h"
#include "config.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * usage: pp-carrier-request --carrier NAME [--auth] [--token T] [--body FILE] [NUMBER...]
 * Config from the environment (PP_GLS_BASE_URL, PP_ORLEN_PARTNER_ID, ...). Prints the
 * request as curl config lines; a body goes to FILE and is referenced as data-binary @FILE.
 * Integration tests send exactly what the production adapter builds, with curl.
 */

static void quoted(const char *key, const char *v)
{
    printf("%s = \"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            putchar('\\');
        putchar(*v);
    }
    printf("\"\n");
}

int main(int argc, char **argv)
{
    const char *name = NULL, *token = NULL, *body_file = NULL;
    const char *numbers[1000];
    size_t n = 0;
    int auth = 0, rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--carrier") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "--token") && i + 1 < argc)
            token = argv[++i];
        else if (!strcmp(argv[i], "--body") && i + 1 < argc)
            body_file = argv[++i];
        else if (!strcmp(argv[i], "--auth"))
            auth = 1;
        else if (argv[i][0] != '-' && n < sizeof numbers / sizeof numbers[0])
            numbers[n++] = argv[i];
        else {
            fprintf(stderr, "pp-carrier-request: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    const pp_carrier_t *c = pp_carrier_find(name);
    if (!c) {
        fprintf(stderr,
                "usage: pp-carrier-request --carrier NAME [--auth] [--token T] [--body FILE] NUMBER...\n");
        return 2;
    }
    pp_config_t cfg;
    char err[256];
    if (pp_config_load(&cfg, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "pp-carrier-request: config: %s\n", err);
        return 2;
    }
    pp_http_request_t req;
    if (auth)
        rc = c->build_auth_request ? c->build_auth_request(&cfg, &req) : PP_EINVAL;
    else
        rc = c->build_request(&cfg, token, numbers, n, &req);
    if (rc) {
        fprintf(stderr, "pp-carrier-request: %s: %s\n",
                auth ? "build_auth_request" : "build_request", pp_strerror(rc));
        pp_config_free(&cfg);
        return 1;
    }
    quoted("url", req.url);
    quoted("request", req.method);
    for (int i = 0; i < req.n_headers; i++)
        quoted("header", req.headers[i]);
    if (req.body) {
        FILE *f = body_file ? fopen(body_file, "wb") : NULL;
        int bad = !f;
        if (f) {
            bad = fwrite(req.body, 1, req.body_len, f) != req.body_len;
            bad = fclose(f) != 0 || bad;
        }
        if (bad) {
            fprintf(stderr,
                    "pp-carrier-request: the request has a body: give a writable --body FILE\n");
            pp_http_request_free(&req);
            pp_config_free(&cfg);
            return 1;
        }
        char ref[1100];
        snprintf(ref, sizeof ref, "@%s", body_file);
        quoted("data-binary", ref);
    }
    pp_http_request_free(&req);
    pp_config_free(&cfg);
    return 0;
}
