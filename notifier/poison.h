/*
 * poison.h - a message the IM server will not take (it drops the connection whenever the
 * message passes) is isolated and then failed for good, so it never holds up other buyers.
 *
 * After a barrier of several messages fails, the rest of the batch goes one message per
 * barrier (isolation); a message that alone in flight loses the connection `after` times is
 * poison, unless the server's archive lists it (then it was delivered after all: the
 * connection died of something else): the notifier produces the event to the dead-letter
 * topic and then records its ledger row 'failed' with pp_poison_reason (a stop in between
 * sends it again rather than losing the dead letter). Counts live with the batch (a restart
 * starts them again).
 */
#ifndef PP_NOTIFIER_POISON_H
#define PP_NOTIFIER_POISON_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pp_poison {
    long after;                      /* notifier_poison_after */
    bool isolate;                    /* this batch goes one message per barrier */
    long isolated_batches, poisoned; /* totals, for the log */
} pp_poison_t;

void pp_poison_init(pp_poison_t *p, long after);
/* A new batch: back to sending all its messages before one barrier. */
void pp_poison_batch_start(pp_poison_t *p);
/* Send one message per barrier now? */
bool pp_poison_isolating(const pp_poison_t *p);
/*
 * A barrier failed (connection lost or no reply) with n_in_flight messages sent before it.
 * Several: isolation starts. One: *solo_losses (that message's counter) goes up; true when
 * it reached `after`, i.e. the message is poison.
 */
bool pp_poison_barrier_failed(pp_poison_t *p, size_t n_in_flight, int *solo_losses);
/* The ledger's and the dead-letter header's reason for a poison message. */
void pp_poison_reason(const pp_poison_t *p, int solo_losses, char *out, size_t cap);

#endif
