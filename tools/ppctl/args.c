/* args.c - what every ppctl subcommand uses: option values, integer arguments, the database connection. */
#include "ppctl.h"

#include "db.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *ppctl_optarg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "ppctl: option %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int ppctl_parse_ll(const char *opt, const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "ppctl: %s: '%s' is not an integer in [%lld, %lld]\n", opt, s, min, max);
        return PP_EINVAL;
    }
    *out = v;
    return PP_OK;
}

PGconn *ppctl_connect(ppctl_t *ctl)
{
    char err[1024];
    PGconn *c = pp_db_connect(ctl->cfg.db_url, err, sizeof err);
    if (!c)
        fprintf(stderr,
                "ppctl: %s\n(is the stack running? `deploy/local/stack start`, then set PP_DB_URL)\n",
                err);
    return c;
}
