/* ppctl.h - subcommand entry points of the ops CLI (each in its own file). */
#ifndef PPCTL_H
#define PPCTL_H

#include "config.h"

#include <libpq-fe.h>

typedef struct ppctl {
    pp_config_t cfg;
    const char *prog;
} ppctl_t;

/* Each returns the process exit status (0 ok, 1 failure, 2 usage). */
int ppctl_migrate(ppctl_t *ctl, int argc, char **argv);
int ppctl_ship(ppctl_t *ctl, int argc, char **argv);
int ppctl_seed(ppctl_t *ctl, int argc, char **argv);
int ppctl_user(ppctl_t *ctl, int argc, char **argv);
int ppctl_status(ppctl_t *ctl, int argc, char **argv);
int ppctl_wait(ppctl_t *ctl, int argc, char **argv);
int ppctl_check(ppctl_t *ctl, int argc, char **argv);
int ppctl_parse(ppctl_t *ctl, int argc, char **argv);
int ppctl_request(ppctl_t *ctl, int argc, char **argv);
int ppctl_topics(ppctl_t *ctl, int argc, char **argv);
int ppctl_events(ppctl_t *ctl, int argc, char **argv);
int ppctl_detect(ppctl_t *ctl, int argc, char **argv);
int ppctl_seller(ppctl_t *ctl, int argc, char **argv);
int ppctl_buyer_token(ppctl_t *ctl, int argc, char **argv);
int ppctl_archive(ppctl_t *ctl, int argc, char **argv);
int ppctl_dlq(ppctl_t *ctl, int argc, char **argv);

/* args.c: below every subcommand. */
/* Connect with ctl->cfg.db_url or print why not (and what to do) and return NULL. */
PGconn *ppctl_connect(ppctl_t *ctl);
/* Value of "--name VALUE" style option at argv[*i]; advances *i. NULL if missing. */
const char *ppctl_optarg(int argc, char **argv, int *i);
/* strtoll with range check; prints an error naming opt on failure. */
int ppctl_parse_ll(const char *opt, const char *s, long long min, long long max, long long *out);

#endif
