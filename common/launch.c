/* launch.c - shared daemon start-up: options, configuration, log level, threadpool size. */
#include "launch.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "production.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PP_VERSION
#define PP_VERSION "unknown"
#endif

static void usage(FILE *out, const char *prog, const char *summary)
{
    fprintf(out,
            "usage: %s [--config FILE] [--check-config | --print-config | --version]\n%s\n"
            "Every key may also be set in the environment as PP_<KEY>; SIGHUP reloads the\n"
            "keys marked reloadable (ppctl config --reference), SIGTERM stops gracefully.\n",
            prog, summary);
}

/* The rdkafka.* properties as librdkafka takes them (a name it does not know, a bad value), so
 * that --check-config says so too, not the first Kafka client at start. */
static int rdkafka_check(const pp_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->n_rdkafka_props == 0)
        return PP_OK;
    char e[512];
    rd_kafka_conf_t *conf = pp_kafka_conf_new(cfg, e, sizeof e);
    if (!conf) {
        snprintf(err, errlen, "key rdkafka.%s (librdkafka's property)", e);
        return PP_ECONFIG;
    }
    rd_kafka_conf_destroy(conf);
    return PP_OK;
}

void pp_launch_print_version(const char *prog)
{
    printf("%s %s (commit %s)\n", prog, PP_VERSION, PP_COMMIT);
}

int pp_launch(int argc, char **argv, const char *prog, const char *summary, unsigned uses,
              int (*run)(pp_config_t *cfg))
{
    const char *config_path = NULL;
    int print = 0, check = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "--print-config") == 0)
            print = 1;
        else if (strcmp(argv[i], "--check-config") == 0)
            check = 1;
        else if (strcmp(argv[i], "--version") == 0) {
            pp_launch_print_version(prog);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, prog, summary);
            return 0;
        } else {
            usage(stderr, prog, summary);
            return 2;
        }
    }
    pp_log_init(prog, PP_LOG_INFO);
    pp_config_t cfg;
    char err[1536];
    if (pp_config_load(&cfg, config_path, err, sizeof err) != 0 ||
        (!print && pp_production_check(&cfg, uses, err, sizeof err) != 0) ||
        (!print && rdkafka_check(&cfg, err, sizeof err) != 0)) {
        if (check) {
            printf("%s: configuration%s%s: %s\n", prog, config_path ? " " : "",
                   config_path ? config_path : "", err);
            pp_config_free(&cfg);
            return 1;
        }
        pp_die("configuration: %s", err);
    }
    pp_log_level_t lvl = PP_LOG_INFO;
    (void)pp_log_level_parse(cfg.log_level, &lvl); /* pp_config_load checked it */
    if (check) {
        printf("%s: configuration ok\n", prog);
        pp_config_free(&cfg);
        return 0;
    }
    pp_log_set_level(lvl);
    bool json = false;
    (void)pp_log_format_parse(cfg.log_format, &json); /* pp_config_load checked it */
    pp_log_set_json(json);
    if (print) {
        pp_config_dump(&cfg, stdout);
        pp_config_free(&cfg);
        return 0;
    }
    /* The DB pool runs on libuv's threadpool: make it at least as large as the pool. */
    if (!getenv("UV_THREADPOOL_SIZE")) {
        char n[32];
        snprintf(n, sizeof n, "%ld", cfg.db_pool_size + 2);
        setenv("UV_THREADPOOL_SIZE", n, 1);
    }
    int rc = run(&cfg);
    pp_config_free(&cfg);
    return rc;
}

int pp_launch_reload(pp_config_t *cfg, const char *who)
{
    char err[512];
    int applied = 0;
    pp_info("%s: SIGHUP: reading the configuration again (%s and the environment)", who,
            cfg->source_path ? cfg->source_path : "no file");
    if (pp_config_reload(cfg, &applied, err, sizeof err) != 0) {
        pp_warn("%s: SIGHUP: new configuration refused, the old one stays: %s", who, err);
        return 0;
    }
    pp_log_level_t lvl;
    if (pp_log_level_parse(cfg->log_level, &lvl) == 0)
        pp_log_set_level(lvl);
    bool json;
    if (pp_log_format_parse(cfg->log_format, &json) == 0)
        pp_log_set_json(json);
    pp_info("%s: SIGHUP: %d reloadable keys changed", who, applied);
    pp_debug("%s: SIGHUP: log level %s in force", who, cfg->log_level);
    return applied;
}
