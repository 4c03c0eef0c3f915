/*
 * channel.h - the IM channel interface: one file per channel (xmpp.c first) behind this
 * small vtable, so adding a channel = one new file + one row in pp_channel_find().
 *
 * Contract: a channel is driven by one thread. send() only queues; flush() is the
 * delivery barrier: it returns 0 once the server has acknowledged every message queued
 * before it, and by then every bounce for those messages has been reported through the
 * bounce callback. Any other return (PP_EAGAIN: connection down or lost, PP_ETIMEOUT)
 * means the outcome of the queued messages is unknown: the caller retries them.
 */
#ifndef PP_CHANNEL_H
#define PP_CHANNEL_H

#include "config.h"

#include <stdbool.h>

typedef struct pp_channel pp_channel_t;

/* A message with stanza/message id `id` was refused by the server (reason: error text). */
typedef void (*pp_channel_bounce_cb)(void *arg, const char *id, const char *reason);

typedef struct pp_channel_ops {
    const char *name; /* users.im_channel value, e.g. "xmpp" */
    /* Create (not yet connected; poll() connects and reconnects with back-off). */
    int (*open)(pp_channel_t **out, const pp_config_t *cfg, pp_channel_bounce_cb bounce,
                void *arg);
    /* Drive I/O for at most timeout_ms (connect, reconnect, read). */
    void (*poll)(pp_channel_t *ch, int timeout_ms);
    bool (*is_up)(pp_channel_t *ch);
    /* Queue one message; PP_EAGAIN when the connection is down. */
    int (*send)(pp_channel_t *ch, const char *id, const char *to, const char *body);
    /* Barrier: see above. */
    int (*flush)(pp_channel_t *ch, int timeout_ms);
    /* Disconnect politely (waits up to timeout_ms) and free. NULL is fine. */
    void (*close)(pp_channel_t *ch, int timeout_ms);
} pp_channel_ops_t;

/* The XMPP channel (channels/xmpp.c). */
extern const pp_channel_ops_t pp_channel_xmpp;

/* Channel by users.im_channel name, or NULL. */
const pp_channel_ops_t *pp_channel_find(const char *name);

#endif
