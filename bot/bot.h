/* bot.h - the bot engine: asks -> Postgres (fresh status, stop/start) or a gated, coalesced live carrier call (live.c). */
#ifndef PP_BOT_BOT_H
#define PP_BOT_BOT_H

#include "config.h"
#include "metrics.h"

#include <stdbool.h>
#include <uv.h>

typedef struct pp_bot pp_bot_t;

/* Connects to Postgres and XMPP, starts the HTTP client, registers the workers-table row
 * (kind 'bot'; metrics_addr = the bound host:port of /metrics). Start-up errors return PP_E*. */
/* After a configuration reload (SIGHUP): the heartbeat's period, the carrier client. */
void pp_bot_reconfigure(pp_bot_t *b);
int pp_bot_start(pp_bot_t **out, const pp_config_t *cfg, uv_loop_t *loop, pp_metrics_t *m,
                 const char *metrics_addr) __attribute__((warn_unused_result));
/* Graceful stop: no new asks, finish those in flight (live calls cut after a grace period),
 * give the unused day share back, mark the workers row stopped, send the replies,
 * disconnect; done(arg) runs on the loop when everything is closed. */
void pp_bot_stop(pp_bot_t *b, void (*done)(void *), void *arg);
bool pp_bot_is_up(pp_bot_t *b);
/* After the loop has ended. */
void pp_bot_free(pp_bot_t *b);

#endif
