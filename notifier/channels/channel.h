/*
 * channel.h - the IM channel interface: one file per channel (xmpp.c first) behind this
 * small vtable, so adding a channel = one new file + one row in pp_channel_find().
 *
 * Contract: a channel is driven by one thread. send() only queues; flush() is the
 * delivery barrier: it returns 0 once the server has acknowledged every message queued
 * before it, and by then every bounce for those messages has been reported through the
 * bounce callback. Any other return (PP_EAGAIN: connection down or lost, PP_ETIMEOUT)
 * means the outcome of the queued messages is unknown: the caller retries them.
 *
 * Recovery: was_sent() (optional) asks the server's own record of what the bot sent (XMPP:
 * the bot's XEP-0313 message archive) about messages whose outcome is unknown, so that a
 * restarted notifier re-sends only what the server never got. A channel without it (NULL)
 * leaves the notifier at least once: in-flight messages are sent again after a crash.
 */
#ifndef PP_CHANNEL_H
#define PP_CHANNEL_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct pp_channel pp_channel_t;

/* A message with stanza/message id `id` was refused by the server (reason: error text). */
typedef void (*pp_channel_bounce_cb)(void *arg, const char *id, const char *reason);

/* What the server's record says about one message (was_sent). */
typedef enum {
    PP_CHANNEL_UNSEEN = 0, /* the server never routed it: send it */
    PP_CHANNEL_ROUTED,     /* routed (delivered or stored offline) at `when` */
    PP_CHANNEL_BOUNCED,    /* routed and refused (e.g. no such account) at `when`: reason */
    PP_CHANNEL_IN_DOUBT    /* routed, perhaps never stored for the recipient, and the server
                              cannot tell (in_doubt) */
} pp_channel_fate_t;

/* A message a crash of the server may have cut: what its record of the recipient says. */
typedef enum {
    PP_CHANNEL_DOUBT_NONE = 0, /* not in doubt */
    PP_CHANNEL_DOUBT_STORED,   /* the recipient's store has it: fate stays ROUTED */
    PP_CHANNEL_DOUBT_MISSING,  /* it does not: fate UNSEEN (send it again, same id) */
    PP_CHANNEL_DOUBT_UNKNOWN   /* the server cannot tell (reason): fate IN_DOUBT */
} pp_channel_doubt_t;

typedef struct pp_channel_lookup {
    const char *id;           /* in: the id given to send(); not copied, caller keeps it */
    const char *to;           /* in: the address it was sent to (was_sent with to = NULL) */
    pp_channel_fate_t fate;   /* out */
    long long when;           /* out: server time of the record, Unix seconds */
    char reason[256];         /* out: the bounce's "condition: text"; why a doubt is UNKNOWN */
    pp_channel_doubt_t doubt; /* in/out (in_doubt): not NONE on input = decided, not asked again */
} pp_channel_lookup_t;

typedef struct pp_channel_ops {
    const char *name;       /* the notifier_channel value, e.g. "xmpp" */
    const char *im_channel; /* the users.im_channel whose buyers it serves ("xmpp") */
    /* Takes messages as delivered without delivering them (sink.c): the notifier refuses it
     * unless notifier_sink_benchmark = true. */
    bool benchmark_only;
    /* Create (not yet connected; poll() connects and reconnects with back-off). */
    int (*open)(pp_channel_t **out, const pp_config_t *cfg, pp_channel_bounce_cb bounce, void *arg);
    /* Drive I/O for at most timeout_ms (connect, reconnect, read). */
    void (*poll)(pp_channel_t *ch, int timeout_ms);
    bool (*is_up)(pp_channel_t *ch);
    /* Queue one message; PP_EAGAIN when the connection is down. */
    int (*send)(pp_channel_t *ch, const char *id, const char *to, const char *body);
    /* Barrier: see above. */
    int (*flush)(pp_channel_t *ch, int timeout_ms);
    /*
     * Optional (NULL: send() delivers at once). Write what send() queued to the server now,
     * for at most timeout_ms, without waiting for any answer, so the server works on it while
     * the caller does something else (the notifier decides its next batch); flush() still
     * proves it. PP_EAGAIN: the connection is down.
     */
    int (*push)(pp_channel_t *ch, int timeout_ms);
    /*
     * Optional (NULL: the channel cannot tell). Look up the n messages in q (ids sent to
     * `to`, none earlier than `since`, Unix seconds) in the server's record; q is reordered
     * (sorted by id). to = NULL: one look at everything the bot sent since `since`, newest
     * first, for messages to any address (each q[i].to), instead of one query per address.
     * 0: every id was found, or the record was read back to `since`, so
     * UNSEEN means the server never got the message. PP_EXMPP: the server keeps no such
     * record (fall back to re-sending).
     * PP_EAGAIN / PP_ETIMEOUT: connection trouble, nothing decided; retry later.
     */
    int (*was_sent)(pp_channel_t *ch, const char *to, long long since, pp_channel_lookup_t *q,
                    size_t n, int timeout_ms);
    /*
     * Optional (NULL: never). Of the n lookups was_sent() answered, which ROUTED ones may
     * the server have died with between recording them and storing them for the recipient?
     * For each, doubt says what the server's record of the recipient answers, and fate
     * follows it (see pp_channel_doubt_t). Returns how many were in doubt, or PP_EAGAIN /
     * PP_ETIMEOUT when it cannot tell yet (connection down, the server's start time not
     * known yet, no answer in time): retry. XMPP: the newest unconfirmed message of a
     * connection that ended abruptly, when the server has restarted since (unconfirmed.h),
     * then asked of the server's delivery module (deploy/prosody/mod_pp_delivery.lua).
     */
    int (*in_doubt)(pp_channel_t *ch, pp_channel_lookup_t *q, size_t n, int timeout_ms);
    /* Disconnect politely (waits up to timeout_ms) and free. NULL is fine. */
    void (*close)(pp_channel_t *ch, int timeout_ms);
} pp_channel_ops_t;

/* The XMPP channel (channels/xmpp.c); the notifier takes its channel through pp_channel_find. */
extern const pp_channel_ops_t pp_channel_xmpp;
/* The benchmark sink (channels/sink.c): stands in for XMPP, delivers nothing. */
extern const pp_channel_ops_t pp_channel_sink;

/* Channel by name (users.im_channel, the notifier_channel key), or NULL. */
const pp_channel_ops_t *pp_channel_find(const char *name);
/* The names pp_channel_find knows, comma-separated, a benchmark-only one marked so
 * ("xmpp, sink (benchmark only)"), into out (always NUL-terminated). */
void pp_channel_names(char *out, size_t cap);

#endif
