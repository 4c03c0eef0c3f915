/* main.c - ppctl: the ops CLI launcher (config, then one subcommand). */
#include "ppctl.h"

#include "err.h"
#include "log.h"
#include "db.h"
#include "launch.h"
#include "carriers/carrier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(ppctl_t *, int, char **);
    const char *help;
} commands[] = {
    {"migrate", ppctl_migrate, "apply schema/sql migrations not yet applied [--dir DIR]"},
    {"ship", ppctl_ship, "--transaction ID --carrier NAME --number N: enter a tracking number"},
    {"seed", ppctl_seed,
     "--transactions N [--buyers B] [--sellers S] [--optin PCT] [--plan FILE] ...: demo data"},
    {"user", ppctl_user, "--id ID --notify on|off: toggle a buyer's status notifications"},
    {"status", ppctl_status,
     "[--json|--line] [--exact] [--watch [S]]: workers, carriers, relay and outbox, lag per partition, DLQ, "
     "rates, totals"},
    {"wait", ppctl_wait,
     "[--timeout S]: live progress until every shipment is terminal and every event handled"},
    {"check", ppctl_check,
     "--inbox FILE: verify buyers' inboxes against the ledger and the toggle history"},
    {"parse", ppctl_parse, "--carrier NAME [--http-status N] FILE: parse a captured carrier response"},
    {"request", ppctl_request,
     "--carrier NAME [--body-only] NUMBER...: print the request an adapter builds"},
    {"topics", ppctl_topics,
     "[--partitions N]: create the event, dead-letter and IM-link topics if missing"},
    {"dlq", ppctl_dlq,
     "list | show ID | replay ID...|--all [--value FILE]: the dead-letter topic; replay produces "
     "back to the event topic (the ledger sends nothing twice)"},
    {"events", ppctl_events, "[--topic T] [--meta]: print every message of the event topic"},
    {"detect", ppctl_detect, "NUMBER: carriers a tracking number can belong to (JSON; exit 1 if none)"},
    {"archive", ppctl_archive,
     "[--after-days D] [--outbox-days D|off] [--ledger-days D|off] [--batch N]: move transactions "
     "finished D (7) days ago to the archive; drop outbox rows published D (7) days ago and "
     "settled notifications D (30) days old (longer than Kafka keeps events)"},
    {"seller", ppctl_seller,
     "--id N [--name X] [--new-key]: create a seller; --new-key prints a new WebAPI key once"},
    {"buyer-token", ppctl_buyer_token,
     "--user ID [--ttl S]: print a buyer token signed with api_buyer_secret"},
    {"config", NULL,
     "--reference | --dump | --check | --carriers: the configuration keys; the registered carriers"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ppctl [--config FILE] COMMAND [options] | --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nConfiguration comes from --config FILE and PP_* environment variables;\n"
                 "`ppctl config --reference` lists every key.\n");
}

static int config_cmd(ppctl_t *ctl, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--reference") == 0) {
        pp_config_print_reference(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--dump") == 0) {
        pp_config_dump(&ctl->cfg, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--carriers") == 0) { /* one a line: what scripts iterate */
        size_t n;
        const pp_carrier_t *const *all = pp_carrier_all(&n);
        for (size_t i = 0; i < n; i++)
            printf("%s\n", all[i]->name);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--check") == 0) {
        printf("configuration ok\n"); /* loading it already validated every key */
        return 0;
    }
    fprintf(stderr, "usage: ppctl config --reference | --dump | --check | --carriers\n");
    return 2;
}

int main(int argc, char **argv)
{
    ppctl_t ctl = {.prog = "ppctl"};
    const char *cfgfile = NULL;
    char err[1024];
    int i = 1;
    pp_log_init("ppctl", PP_LOG_WARN);
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--config") == 0) {
            if (!(cfgfile = ppctl_optarg(argc, argv, &i)))
                return 2;
            i++;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            pp_launch_print_version("ppctl");
            return 0;
        } else {
            fprintf(stderr, "ppctl: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (pp_config_load(&ctl.cfg, cfgfile, err, sizeof err)) {
        fprintf(stderr, "ppctl: %s\n", err);
        return 2;
    }
    pp_log_level_t lvl;
    if (pp_log_level_parse(ctl.cfg.log_level, &lvl) == 0 && lvl > PP_LOG_WARN)
        pp_log_set_level(lvl);
    int rc = 2;
    const char *cmd = argv[i];
    size_t n = sizeof commands / sizeof commands[0];
    size_t k;
    for (k = 0; k < n; k++)
        if (strcmp(commands[k].name, cmd) == 0)
            break;
    if (k == n) {
        fprintf(stderr, "ppctl: unknown command '%s'\n", cmd);
        usage(stderr);
    } else if (!commands[k].fn) {
        rc = config_cmd(&ctl, argc - i, argv + i);
    } else {
        rc = commands[k].fn(&ctl, argc - i, argv + i);
    }
    pp_config_free(&ctl.cfg);
    return rc;
}
