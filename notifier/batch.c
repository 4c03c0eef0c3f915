/*
 * batch.c - one batch of events to completion: dead letters, then (after recovery) one
 * transaction that decides each event, the messages and the barrier that acknowledges
 * them, one transaction that marks them sent; a transient failure retries with back-off
 * while the partitions are paused. The steps are listed in notifier.c.
 */
#include "batch.h"
#include "db.h"
#include "err.h"
#include "ledger.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long jittered(long ms) { return ms / 2 + (ms > 1 ? random() % (ms / 2 + 1) : 0); }

static int dlq_phase(pp_notifier_t *n)
{
    size_t waiting = 0;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->valid || it->revoked || it->st == IT_DONE)
            continue;
        if (it->dlq == 0 || it->dlq == -1) {
            char part[16], off[24];
            rd_kafka_message_t *m = it->msg;
            snprintf(part, sizeof part, "%d", (int)m->partition);
            snprintf(off, sizeof off, "%lld", (long long)m->offset);
            rd_kafka_resp_err_t e =
                rd_kafka_producev(n->dlq, RD_KAFKA_V_TOPIC(n->cfg->dlq_topic),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(m->key, m->key_len),
                                  RD_KAFKA_V_VALUE(m->payload, m->len),
                                  RD_KAFKA_V_HEADER("pp-dlq-reason", it->reason, -1),
                                  RD_KAFKA_V_HEADER("pp-source-topic", pp_batch_topic(m), -1),
                                  RD_KAFKA_V_HEADER("pp-source-partition", part, -1),
                                  RD_KAFKA_V_HEADER("pp-source-offset", off, -1),
                                  RD_KAFKA_V_OPAQUE(it), RD_KAFKA_V_END);
            if (e) {
                pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)),
                         "kafka: cannot queue dead-letter message (partition %s offset %s): %s",
                         part, off, rd_kafka_err2str(e));
                return PP_EAGAIN;
            }
            it->dlq = 1;
        }
        waiting++;
    }
    if (!waiting)
        return PP_OK;
    int64_t deadline = pp_mono_ms() + DLQ_TIMEOUT_MS;
    for (;;) {
        bool inflight = false;
        for (size_t i = 0; i < n->n_items; i++)
            inflight |= n->items[i].dlq == 1;
        if (!inflight)
            break;
        if (pp_mono_ms() > deadline) {
            /* Give up on these reports: purged messages report back, then retry. */
            rd_kafka_purge(n->dlq, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            deadline = pp_mono_ms() + DLQ_TIMEOUT_MS;
        }
        rd_kafka_poll(n->dlq, 20);
        n->chops->poll(n->ch, 0);
    }
    int rc = PP_OK;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->valid || it->revoked || it->st == IT_DONE)
            continue;
        if (it->dlq == 2) {
            /* A message the IM server will not take: its ledger row 'failed' only now that the
             * dead-letter entry is delivered (a stop in between re-sends it, then re-poisons). */
            if (it->poison && pp_ledger_failed(n->db, it->ev.event_id, it->user_id, it->reason)) {
                rc = PP_EAGAIN;
                continue;
            }
            pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)),
                     "notifier: poison event at %s[%d]@%lld sent to %s: %s",
                     rd_kafka_topic_name(it->msg->rkt), (int)it->msg->partition,
                     (long long)it->msg->offset, n->cfg->dlq_topic, it->reason);
            if (it->poison)
                pp_batch_count(n, OUT_FAILED);
            pp_batch_finish(n, it, OUT_DLQ);
        } else {
            rc = PP_EAGAIN;
        }
    }
    return rc;
}

/*
 * One barrier over the k messages sent since the last one (solo: the message when k == 1).
 * On failure the poison policy counts it; a solo message found poison is left 'sending' for
 * the next attempt's recovery: routed after all (in the archive) it is sent, else failed for
 * good (poison_confirm: dead-letter topic, then ledger 'failed').
 */
static int barrier(pp_notifier_t *n, size_t k, item_t *solo)
{
    int rc = n->chops->flush(n->ch, FLUSH_TIMEOUT_MS);
    atomic_store(&n->stats.xmpp_up, n->chops->is_up(n->ch));
    if (rc == PP_OK)
        return PP_OK;
    if (pp_poison_barrier_failed(&n->poison, k, solo ? &solo->solo_losses : NULL)) {
        /* Not failed yet: the next attempt's recovery asks the archive first (the connection
         * may have died of something else after the server took it), then poison_confirm(). */
        pp_poison_reason(&n->poison, solo->solo_losses, solo->reason, sizeof solo->reason);
        solo->poison = true;
    } else if (solo) {
        pp_infok(PP_LOG_FIELDS(PP_LF_ITEM(solo)),
                 "notifier: event %s to user %lld: connection lost with only this message in "
                 "flight (%d of %ld)",
                 solo->ev.event_id, solo->user_id, solo->solo_losses, n->poison.after);
    }
    return PP_EAGAIN;
}

/* Queue one decided message on the channel (stamped, for the barrier and the latency). */
static int queue_one(pp_notifier_t *n, item_t *it)
{
    if (n->chops->send(n->ch, it->id, it->to, it->body))
        return PP_EAGAIN;
    it->queued = true;
    it->queued_ms = pp_mono_ms();
    return PP_OK;
}

/* Queue every decided message; PP_EAGAIN at the first the channel did not take. */
static int queue_all(pp_notifier_t *n)
{
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st == IT_SENDING && !it->revoked && !it->queued && queue_one(n, it))
            return PP_EAGAIN;
    }
    return PP_OK;
}

int pp_batch_launch(pp_notifier_t *n)
{
    if (queue_all(n))
        return PP_EAGAIN;
    return n->chops->push ? n->chops->push(n->ch, PUSH_TIMEOUT_MS) : PP_OK;
}

int pp_batch_land(pp_notifier_t *n)
{
    size_t count = 0;
    item_t *last = NULL;
    int64_t t0 = 0;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st == IT_SENDING && it->queued) {
            if (!count++)
                t0 = it->queued_ms;
            last = it;
        }
    }
    if (!count)
        return PP_OK;
    if (barrier(n, count, count == 1 ? last : NULL))
        return PP_EAGAIN;
    if (n->cfg->notifier_crash_after_send > 0 && ++n->flushed == n->cfg->notifier_crash_after_send) {
        pp_warn("notifier %s: notifier_crash_after_send=%ld reached: exiting with %zu message(s) "
                "acknowledged but not marked sent",
                n->worker_id, n->cfg->notifier_crash_after_send, count);
        _exit(137);
    }
    double secs = (double)(pp_mono_ms() - t0) / 1000.0;
    pthread_mutex_lock(&n->stats.lat_lock);
    if (n->stats.n_lat < PP_NOTIFIER_LAT_SAMPLES)
        n->stats.lat[n->stats.n_lat++] = secs;
    pthread_mutex_unlock(&n->stats.lat_lock);
    /* queued and proved, revoked since or not: marked sent, never sent again */
    for (size_t i = 0; i < n->n_items; i++)
        if (n->items[i].st == IT_SENDING && n->items[i].queued)
            n->items[i].st = IT_ACKED;
    return PP_OK;
}

/* Send the decided messages and prove them: one barrier for all, or (isolating a message
 * the server will not take) one barrier per message. */
static int send_phase(pp_notifier_t *n)
{
    if (!pp_poison_isolating(&n->poison))
        return queue_all(n) ? PP_EAGAIN : pp_batch_land(n);
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st != IT_SENDING || it->revoked)
            continue;
        if (queue_one(n, it) || barrier(n, 1, it))
            return PP_EAGAIN;
        it->st = IT_ACKED;
    }
    return PP_OK;
}

static int mark_phase(pp_notifier_t *n)
{
    size_t k = 0;
    const char **ids = calloc(n->n_items ? n->n_items : 1, sizeof *ids);
    long long *users = calloc(n->n_items ? n->n_items : 1, sizeof *users);
    int rc = PP_EAGAIN;
    if (!ids || !users)
        goto out;
    bool any = false;
    for (size_t i = 0; i < n->n_items; i++)
        any |= n->items[i].st == IT_ACKED;
    if (!any) {
        rc = PP_OK;
        goto out;
    }
    if (pp_db_begin(n->db))
        goto out;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st != IT_ACKED)
            continue;
        if (!it->bounced) {
            ids[k] = it->ev.event_id;
            users[k++] = it->user_id;
        } else if (pp_ledger_failed(n->db, it->ev.event_id, it->user_id, it->reason)) {
            goto rollback;
        }
    }
    if (pp_ledger_sent(n->db, k, ids, users) || pp_db_commit(n->db))
        goto rollback;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st != IT_ACKED)
            continue;
        if (it->bounced)
            pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)),
                     "notifier: event %s: the IM server refused the message to user %lld (%s): %s",
                     it->ev.event_id, it->user_id, it->to, it->reason);
        pp_batch_finish(n, it, it->bounced ? OUT_FAILED : OUT_SENT);
    }
    rc = PP_OK;
    goto out;
rollback:
    pp_db_rollback(n->db);
out:
    free(ids);
    free(users);
    return rc;
}

static bool batch_finished(pp_notifier_t *n)
{
    for (size_t i = 0; i < n->n_items; i++)
        if (!n->items[i].revoked && n->items[i].st != IT_DONE)
            return false;
    return true;
}

int pp_batch_prepare(pp_notifier_t *n)
{
    /* Anything sent but not acknowledged in a failed attempt is decided again. */
    for (size_t i = 0; i < n->n_items; i++) {
        if (n->items[i].st == IT_SENDING)
            n->items[i].st = IT_PENDING;
        n->items[i].queued = false;
    }
    int rc = pp_batch_recover(n); /* may turn a poison message into a dead letter */
    if (rc == PP_OK)
        rc = dlq_phase(n);
    if (rc == PP_OK)
        rc = pp_batch_decide(n);
    return rc;
}

static int attempt(pp_notifier_t *n)
{
    int rc = pp_batch_prepare(n);
    if (rc == PP_OK)
        rc = send_phase(n);
    /* Mark even after a failure above: acknowledged messages must never be sent again. */
    int mrc = mark_phase(n);
    return rc ? rc : mrc;
}

/* Back-off before the next attempt (tries so far), the partitions paused, what Kafka still
 * hands out kept for the next batch; returns early once the batch is finished. */
static void back_off(pp_notifier_t *n, int tries, int rc)
{
    long delay = RETRY_MIN_MS << (tries < 16 ? tries : 16);
    if (delay > n->cfg->send_retry_max_ms || delay <= 0)
        delay = n->cfg->send_retry_max_ms;
    delay = jittered(delay);
    if (tries == 0 || delay >= 1000)
        pp_info("notifier: batch of %zu event(s) not finished (%s); retry in %ld ms", n->n_items,
                pp_strerror(rc), delay);
    pp_consumer_pause(n, true);
    int64_t until = pp_mono_ms() + delay;
    while (pp_mono_ms() < until && !batch_finished(n)) {
        pp_notifier_idle(n, 20);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(n->consumer, 0);
        if (m && m->err) {
            pp_consumer_error(n, m);
            rd_kafka_message_destroy(m);
        } else if (m) {
            rd_kafka_message_t **c = realloc(n->carry, (n->n_carry + 1) * sizeof *c);
            if (!c) {
                rd_kafka_message_destroy(m); /* not stored: redelivered after restart */
            } else {
                n->carry = c;
                n->carry[n->n_carry++] = m;
            }
        }
    }
}

/* After an attempt that returned rc: attempts with back-off until the batch is finished (or
 * stop during a retry). PP_OK when finished. */
static int retry(pp_notifier_t *n, int rc)
{
    for (int tries = 0; rc != PP_OK && !batch_finished(n); tries++) {
        atomic_fetch_add(&n->stats.retries, 1);
        if (atomic_load(&n->stop)) {
            pp_warn("notifier: stopping with %zu event(s) unfinished; they will be redelivered",
                    n->n_items);
            break;
        }
        back_off(n, tries, rc);
        if (batch_finished(n))
            break;
        rc = attempt(n);
    }
    pp_consumer_pause(n, false);
    return batch_finished(n) ? PP_OK : rc;
}

int pp_batch_complete(pp_notifier_t *n, int rc)
{
    int mrc = mark_phase(n);
    return retry(n, rc ? rc : mrc);
}

int pp_batch_run_prepared(pp_notifier_t *n, int rc)
{
    if (rc == PP_OK)
        rc = send_phase(n);
    return pp_batch_complete(n, rc);
}

int pp_batch_run(pp_notifier_t *n) { return pp_batch_run_prepared(n, pp_batch_prepare(n)); }
