/*
 * idle.c - what the notifier thread does while it waits: channel I/O, dead-letter delivery
 * reports, and the consumer lag for the counters (every heartbeat_interval_ms). The workers
 * row itself is the daemon frame's (common/daemon.c), written from the loop thread.
 */
#include "batch.h"
#include "timeutil.h"

void pp_notifier_refresh_lag(pp_notifier_t *n, bool force)
{
    int64_t now = pp_mono_ms();
    if (!force && now < n->next_heartbeat_ms)
        return;
    n->next_heartbeat_ms = now + n->cfg->heartbeat_interval_ms;
    atomic_store(&n->stats.lag, pp_consumer_lag(n));
}

/* Keep the channel, the DLQ producer and the lag fresh for about ms. */
void pp_notifier_idle(pp_notifier_t *n, int ms)
{
    n->chops->poll(n->ch, ms);
    atomic_store(&n->stats.xmpp_up, n->chops->is_up(n->ch));
    rd_kafka_poll(n->dlq, 0);
    pp_notifier_refresh_lag(n, false);
}
