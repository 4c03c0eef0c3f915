/* launch.h - the launcher every daemon's main.c shares: options, configuration, logging. */
#ifndef PP_LAUNCH_H
#define PP_LAUNCH_H

#include "config.h"

/*
 * Parse `--config FILE`, `--check-config` (load and validate, print "ok" or why not, exit 0
 * or 1), `--print-config`, `--version` and `--help`; load the configuration (file, then PP_*
 * environment); refuse the development defaults outside env = dev (pp_production_check with
 * `uses`, PP_USES_* bits; --check-config reports it too); set the log level; size libuv's
 * threadpool to the database pool; then return run(&cfg) as the exit code. Start-up errors
 * exit with a message naming the key.
 */
int pp_launch(int argc, char **argv, const char *prog, const char *summary, unsigned uses,
              int (*run)(pp_config_t *cfg));

/*
 * SIGHUP, on the loop thread: pp_config_reload, then the new log level. Logs what happened
 * ("who: SIGHUP: ..."): the keys changed, or why the new configuration was refused (the old
 * one stays). Returns the number of keys changed (0 also when refused); the caller then
 * applies what it keeps outside cfg (timers, the carrier client, ...).
 */
int pp_launch_reload(pp_config_t *cfg, const char *who);

/* "PROG VERSION (commit C)" on stdout: every binary's --version (ppctl's too). */
void pp_launch_print_version(const char *prog);

#endif
