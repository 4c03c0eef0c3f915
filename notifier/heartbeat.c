/*
 * heartbeat.c - what the notifier does while it waits: channel I/O, dead-letter delivery
 * reports, and its row in the workers table (counters as JSON, every heartbeat_interval_ms).
 */
#include "batch.h"
#include "err.h"
#include "timeutil.h"
#include "worker.h"

#include <stdio.h>

void pp_notifier_heartbeat(pp_notifier_t *n, bool force)
{
    int64_t now = pp_mono_ms();
    if (!force && now < n->next_heartbeat_ms)
        return;
    n->next_heartbeat_ms = now + n->cfg->heartbeat_interval_ms;
    pp_notifier_stats_t *s = &n->stats;
    atomic_store(&s->lag, pp_consumer_lag(n));
    char json[512];
    snprintf(json, sizeof json,
             "{\"consumed\":%lld,\"sent\":%lld,\"failed\":%lld,\"dlq\":%lld,"
             "\"skipped_opted_out\":%lld,\"skipped_no_im\":%lld,\"skipped_stale\":%lld,"
             "\"duplicate\":%lld,\"recovered\":%lld,\"retries\":%lld,\"lag\":%lld,"
             "\"xmpp_up\":%s}",
             atomic_load(&s->consumed), atomic_load(&s->sent), atomic_load(&s->failed),
             atomic_load(&s->dlq), atomic_load(&s->skipped_opted_out),
             atomic_load(&s->skipped_no_im), atomic_load(&s->skipped_stale),
             atomic_load(&s->duplicate), atomic_load(&s->recovered), atomic_load(&s->retries),
             atomic_load(&s->lag),
             atomic_load(&s->xmpp_up) ? "true" : "false");
    int rc = pp_worker_heartbeat(n->db, n->worker_id, json);
    if (rc == PP_ENOTFOUND &&
        pp_worker_register(n->db, n->worker_id, "notifier", n->metrics_addr) == 0)
        rc = pp_worker_heartbeat(n->db, n->worker_id, json);
    (void)rc; /* failures are logged by pp_db_exec; the next beat retries */
}

/* Keep the channel, the DLQ producer and the heartbeat alive for about ms. */
void pp_notifier_idle(pp_notifier_t *n, int ms)
{
    n->chops->poll(n->ch, ms);
    atomic_store(&n->stats.xmpp_up, n->chops->is_up(n->ch));
    rd_kafka_poll(n->dlq, 0);
    pp_notifier_heartbeat(n, false);
}
