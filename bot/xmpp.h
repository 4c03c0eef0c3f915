/* xmpp.h - the bot's XMPP connection on its own thread: inbound chat lines to the loop, replies out. */
#ifndef PP_BOT_XMPP_H
#define PP_BOT_XMPP_H

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct pp_bot_xmpp pp_bot_xmpp_t;

/* Called on the loop thread for each chat line; from and body are valid during the call. */
typedef void (*pp_bot_line_cb)(void *arg, const char *from, const char *body, int64_t recv_ms);

/*
 * Connect as cfg->xmpp_jid with resource cfg->bot_resource and presence priority
 * cfg->bot_priority (reconnecting with back-off), on a thread of its own. cb runs on `loop`.
 * Returns 0, PP_ENOMEM or PP_EXMPP (the thread could not start).
 */
int pp_bot_xmpp_start(pp_bot_xmpp_t **out, const pp_config_t *cfg, uv_loop_t *loop,
                      pp_bot_line_cb cb, void *arg) __attribute__((warn_unused_result));
/* Queue a chat message (thread-safe; text copied). Sent within ~5 ms while connected. */
void pp_bot_xmpp_send(pp_bot_xmpp_t *x, const char *to, const char *body);
bool pp_bot_xmpp_is_up(pp_bot_xmpp_t *x);
/* Send what is queued (up to 2 s), disconnect, join the thread, close the async handle
 * (let the loop run afterwards), then free on its close callback. */
void pp_bot_xmpp_stop(pp_bot_xmpp_t *x);

#endif
