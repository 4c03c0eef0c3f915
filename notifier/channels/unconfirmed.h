/*
 * unconfirmed.h - the messages this process sent that the IM server has not yet confirmed
 * handling, and which of them a server crash may have cut in half.
 *
 * Why. The bot's archive (XEP-0313) proves the server *routed* a message: Prosody archives
 * the sender's copy before it stores the recipient's (mod_mam at pre-message, the buyer's
 * archive and offline store at message/bare). A server killed between the two leaves a
 * message in the bot's archive that the buyer never gets; the archive alone would call it
 * delivered (one such loss in the 100,000-change chaos run).
 *
 * How. The channel follows every 64th message with a marker (an iq the server answers in
 * stream order) and each batch with its barrier, so the server's answer to either confirms
 * that every message before it was handled completely. A server that closes the stream on
 * purpose (Prosody's SIGTERM: a system-shutdown stream error) has handled all it read, which
 * confirms that connection's messages too. What is left here after a connection ended abruptly
 * is unknown: the server may have handled them, or some, and its answers may have died in its
 * write buffer (Prosody writes replies after handling what it read). It handles a stream's
 * stanzas one after another, so of the unconfirmed messages the archive lists, all but the
 * newest were handled completely; only the newest may have been cut (how many markers came
 * back does not change which one that is: they only make the records fewer). So after a
 * reconnect, if the server's start time has moved on since that connection (it restarted),
 * that one message per connection is "in doubt". A server that was not restarted finished
 * every message it read, so the archive's answer stands for all.
 *
 * The one message in doubt may also have been complete (the server died after the buyer's
 * store, before the next message). The server's delivery module (deploy/prosody/
 * mod_pp_delivery.lua) tells which: the notifier sends it again with the same id (XEP-0359
 * origin-id) only if the buyer's archive lacks it. A server that cannot tell leaves the
 * choice to notifier_resend_in_doubt (default: taken as delivered).
 *
 * A plain FIFO in send order (marks rise), bounded: when full the oldest record is dropped
 * (the archive's answer then stands for it, as before this table existed).
 */
#ifndef PP_NOTIFIER_UNCONFIRMED_H
#define PP_NOTIFIER_UNCONFIRMED_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pp_unconfirmed pp_unconfirmed_t;

/* An empty table holding at most cap records; NULL without memory. */
pp_unconfirmed_t *pp_unconfirmed_new(size_t cap);
void pp_unconfirmed_free(pp_unconfirmed_t *u);

/*
 * Message `id` went out on connection `conn`, followed by marker `mark` (rising per
 * process). server_start: the server's start time (Unix seconds) as known on that
 * connection, 0 when not known yet. A record of the same id is replaced.
 */
void pp_unconfirmed_sent(pp_unconfirmed_t *u, const char *id, unsigned long mark,
                         unsigned long conn, long long server_start);
/* The server answered marker `mark`: it and every earlier message are confirmed. */
void pp_unconfirmed_confirm(pp_unconfirmed_t *u, unsigned long mark);
/* The server ended connection conn on purpose (a stream error such as system-shutdown): it
 * handled everything it had read, so that connection's records are confirmed. */
void pp_unconfirmed_confirm_conn(pp_unconfirmed_t *u, unsigned long conn);
/* A barrier came back: everything sent so far is confirmed. */
void pp_unconfirmed_clear(pp_unconfirmed_t *u);
/* The server's start time became known on connection conn: records of conn without one get it. */
void pp_unconfirmed_server_start(pp_unconfirmed_t *u, unsigned long conn, long long start);

/*
 * Which messages the archive lists (routed(arg, id) is true) may the server have died with
 * halfway? Per connection other than conn_now that ended with records left: when the server's
 * start time now (start_now, 0 = unknown) is later than the one known on it, the newest of
 * its records that routed() accepts. Their ids go to out (at most cap); returns how many.
 */
size_t pp_unconfirmed_in_doubt(const pp_unconfirmed_t *u, unsigned long conn_now,
                               long long start_now, bool (*routed)(void *arg, const char *id),
                               void *arg, const char **out, size_t cap);
/* Records held (for tests and the log). */
size_t pp_unconfirmed_count(const pp_unconfirmed_t *u);

#endif
