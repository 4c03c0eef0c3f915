/*
 * xmpp_internal.h - the XMPP channel's state, shared by its two files: xmpp.c (connection,
 * send, markers, barrier) and xmpp_archive.c (what the server's record says: the bot's
 * XEP-0313 archive, and for a message in doubt the recipient's store). Not for other users:
 * the channel's interface is channel.h.
 */
#ifndef PP_NOTIFIER_XMPP_INTERNAL_H
#define PP_NOTIFIER_XMPP_INTERNAL_H

#include "channel.h"
#include "unconfirmed.h"

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

#define XMPP_BACKOFF_MIN_MS 200
#define MAM_PAGE 250         /* results asked per page; the server may cap it (Prosody: 50) */
#define UNCONFIRMED_MAX 4096 /* sent messages remembered until the server confirms them */
#define MARK_PREFIX "pp-mk-"
#define MARK_EVERY 64 /* messages per marker (xmpp.c sent_one) */

#define NS_MAM "urn:xmpp:mam:2"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_DELAY "urn:xmpp:delay"
#define NS_SID "urn:xmpp:sid:0"
#define NS_DATA "jabber:x:data"
#define NS_LAST "jabber:iq:last"
#define NS_DELIVERY "urn:parcelpush:delivery:0" /* deploy/prosody/mod_pp_delivery.lua */

typedef enum { X_DOWN = 0, X_CONNECTING, X_UP } xstate_t;

struct pp_channel {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    xmpp_log_t logger;
    char *host, *jid, *pass;
    char *domain; /* the part of jid after '@', without a resource */
    unsigned short port;
    bool tls;
    long retry_max_ms;
    xstate_t state;
    int64_t next_connect_ms; /* monotonic */
    long backoff_ms;
    int failures; /* consecutive failed connects, for logging once per streak */
    int dropped;  /* we gave up on this connection ourselves; ignore its close event */
    unsigned long flush_seq;
    char flush_id[32];
    int flush_done; /* 1 when the barrier for flush_id came back */
    pp_channel_bounce_cb bounce;
    void *bounce_arg;
    bool archive;       /* notifier_archive_check: set prefs at login, answer was_sent */
    int archive_state;  /* -1 the server refused the archive prefs, 0 unknown, 1 accepted */
    int archive_logged; /* archive_state last logged (log on change only) */
    unsigned long mam_seq;
    unsigned long conn_seq;   /* connections made so far: the current one's number */
    unsigned long mark_seq;   /* markers sent (MARK_PREFIX<n>), rising across connections */
    unsigned since_mark;      /* messages sent since the last marker (their mark: mark_seq + 1) */
    long long server_start;   /* the server's start (monotonic s) on this connection, 0 unknown */
    int64_t uptime_sent_ms;   /* monotonic time the uptime query of this connection left */
    int uptime_state;         /* this connection: 0 no answer yet, 1 start known, -1 cannot tell */
    int uptime_logged;        /* -1 "cannot tell its start time" logged, 1 known; log on change */
    pp_unconfirmed_t *unconf; /* sent, not yet confirmed by a marker or a barrier */
    struct {                  /* the archive query in progress (was_sent) */
        char qid[32];
        int done;        /* 0 waiting, 1 <fin> came, -1 error reply */
        bool complete;   /* <fin complete='true'>: no later page */
        char first[128]; /* RSM <first> of this page (the oldest): the next page ends there */
        char err[256];
        const char *to;
        pp_channel_lookup_t *q; /* sorted by id */
        size_t n, results, found;
    } mam;
    struct { /* the question about a recipient's store in progress (in_doubt) */
        char qid[32];
        char domain[256];          /* asked: the recipient's domain */
        pp_channel_doubt_t answer; /* NONE while waiting */
        bool retry;                /* an error of type 'wait': ask again later */
        char reason[256];          /* why the server cannot tell (answer UNKNOWN) */
    } stored;
};
/* xmpp_archive.c */

/* An XEP-0313 <result/> for the archive query in progress (message handler of xmpp.c). */
void pp_xmpp_archive_result(pp_channel_t *ch, xmpp_stanza_t *result);
/* channel.h was_sent(); PP_ETIMEOUT: no answer in time (the caller drops the connection). */
int pp_xmpp_was_sent(pp_channel_t *ch, const char *to, long long since, pp_channel_lookup_t *q,
                     size_t n, int timeout_ms);
/* channel.h in_doubt(); PP_ETIMEOUT as above. */
int pp_xmpp_in_doubt(pp_channel_t *ch, pp_channel_lookup_t *q, size_t n, int timeout_ms);

#endif
