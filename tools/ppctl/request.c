/* request.c - `ppctl request`: print the HTTP request a carrier adapter builds for some numbers. */
#include "ppctl.h"

#include "carriers/carrier.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * ppctl request --carrier NAME [--token T] [--body-only] NUMBER...
 * Prints "METHOD URL", the header lines, a blank line and the body (or, with --body-only,
 * just the body, ready for `curl --data-binary @-`). Uses the configured base URLs and
 * credentials, so it shows exactly what the poller would send (mind the secrets).
 */
int ppctl_request(ppctl_t *ctl, int argc, char **argv)
{
    const char *name = NULL, *token = NULL;
    const char **numbers = calloc((size_t)argc, sizeof *numbers);
    size_t n = 0;
    int body_only = 0, rc = 2;
    if (!numbers)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--carrier")) {
            if (!(name = ppctl_optarg(argc, argv, &i)))
                goto out;
        } else if (!strcmp(argv[i], "--token")) {
            if (!(token = ppctl_optarg(argc, argv, &i)))
                goto out;
        } else if (!strcmp(argv[i], "--body-only")) {
            body_only = 1;
        } else if (argv[i][0] != '-') {
            numbers[n++] = argv[i];
        } else {
            fprintf(stderr, "ppctl request: unexpected argument %s\n", argv[i]);
            goto out;
        }
    }
    if (!name || n == 0) {
        fprintf(stderr, "usage: ppctl request --carrier NAME [--token T] [--body-only] NUMBER...\n");
        goto out;
    }
    const pp_carrier_t *c = pp_carrier_find(name);
    if (!c) {
        fprintf(stderr, "ppctl request: unknown carrier '%s'\n", name);
        goto out;
    }
    if (n > (size_t)c->max_batch) {
        fprintf(stderr, "ppctl request: %s takes at most %d numbers per request\n", c->display,
                c->max_batch);
        goto out;
    }
    pp_http_request_t req;
    int err = c->build_request(&ctl->cfg, token, numbers, n, &req);
    if (err) {
        fprintf(stderr, "ppctl request: %s: %s\n", c->display, pp_strerror(err));
        rc = 1;
        goto out;
    }
    if (!body_only) {
        printf("%s %s\n", req.method, req.url);
        for (int i = 0; i < req.n_headers; i++)
            printf("%s\n", req.headers[i]);
        printf("\n");
    }
    if (req.body)
        fwrite(req.body, 1, req.body_len, stdout);
    pp_http_request_free(&req);
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    free(numbers);
    return rc;
}
