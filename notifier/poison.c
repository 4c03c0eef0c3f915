/* poison.c - isolate a message the IM server refuses by dropping the connection, then fail it for good. */
#include "poison.h"
#include "log.h"

#include <stdio.h>

void pp_poison_init(pp_poison_t *p, long after)
{
    p->after = after > 0 ? after : 1;
    p->isolate = false;
    p->isolated_batches = p->poisoned = 0;
}

void pp_poison_batch_start(pp_poison_t *p) { p->isolate = false; }

bool pp_poison_isolating(const pp_poison_t *p) { return p->isolate; }

bool pp_poison_barrier_failed(pp_poison_t *p, size_t n_in_flight, int *solo_losses)
{
    if (n_in_flight > 1) {
        if (!p->isolate) {
            p->isolated_batches++;
            pp_info("notifier: a barrier of %zu messages failed; the rest of this batch goes one "
                    "message per barrier",
                    n_in_flight);
        }
        p->isolate = true;
        return false;
    }
    if (n_in_flight == 0 || !solo_losses)
        return false;
    if (++*solo_losses < p->after)
        return false;
    p->poisoned++;
    return true;
}

void pp_poison_reason(const pp_poison_t *p, int solo_losses, char *out, size_t cap)
{
    (void)p;
    snprintf(out, cap,
             "the IM server dropped the connection each time this message was sent alone (%d times); "
             "not sent",
             solo_losses);
}
