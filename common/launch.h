/* launch.h - the launcher every daemon's main.c shares: options, configuration, logging. */
#ifndef PP_LAUNCH_H
#define PP_LAUNCH_H

#include "config.h"

/*
 * Parse `--config FILE`, `--print-config` and `--help`; load the configuration (file, then
 * PP_* environment); set the log level; size libuv's threadpool to the database pool; then
 * return run(&cfg) as the exit code. Start-up errors exit with a message naming the key.
 */
int pp_launch(int argc, char **argv, const char *prog, const char *summary,
              int (*run)(pp_config_t *cfg));

#endif
