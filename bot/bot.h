/* bot.h - the bot engine: asks -> Postgres (fresh status, stop/start) or a gated, coalesced live carrier call (live.c). */
#ifndef PP_BOT_BOT_H
#define PP_BOT_BOT_H

#include "config.h"
#include "metrics.h"

#include <stdbool.h>
#include <uv.h>

typedef struct pp_bot pp_bot_t;

/*
 * The bot's hooks for the daemon frame (common/daemon.h), run by main.c. Start connects to
 * XMPP and starts the carrier client on the frame's pool; the drain answers the asks in flight
 * (live calls cut after a grace period) and gives the unused day share back; close sends the
 * last replies and disconnects.
 */
extern const struct pp_daemon_hooks pp_bot_hooks;

#endif
