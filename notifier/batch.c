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
#include "template.h"
#include "text.h"
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
                pp_warn("kafka: cannot queue dead-letter message (partition %s offset %s): %s",
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
            pp_warn("notifier: poison event at %s[%d]@%lld sent to %s: %s",
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

/* Another item earlier in this batch already decided about this (event, user) or a newer
 * status of the same shipment for this user: OUT_DUPLICATE / OUT_STALE, else OUT_NONE. */
static outcome_t in_batch_conflict(pp_notifier_t *n, size_t upto, const item_t *it)
{
    outcome_t o = OUT_NONE;
    for (size_t j = 0; j < upto; j++) {
        const item_t *p = &n->items[j];
        bool decided = p->next_st != IT_PENDING || p->st == IT_SENDING || p->st == IT_ACKED;
        if (!p->valid || p->revoked || !decided || p->user_id != it->user_id)
            continue;
        if (strcmp(p->ev.event_id, it->ev.event_id) == 0)
            return OUT_DUPLICATE;
        bool sending = p->next_st == IT_SENDING || p->st == IT_SENDING || p->st == IT_ACKED;
        if (sending && p->ev.shipment_id == it->ev.shipment_id && p->ev.sequence >= it->ev.sequence)
            o = OUT_STALE;
    }
    return o;
}

/* Decided with nothing to send: outcome out. */
static int done(item_t *it, outcome_t out)
{
    it->next_st = IT_DONE;
    it->next_out = out;
    return PP_OK;
}

/* Ledger row 'sending' for it (r decided to get body), or nothing to do when another decision won. */
static int claim(pp_notifier_t *n, item_t *it, const pp_recipient_t *r, const char *ledger_body)
{
    bool claimed;
    int rc = pp_ledger_sending(n->db, &it->ev, r, ledger_body, &claimed);
    if (rc)
        return rc;
    if (!claimed)
        return done(it, OUT_DUPLICATE);
    snprintf(it->id, sizeof it->id, "%s:%lld", it->ev.event_id, r->user_id);
    pp_text_clean_str(it->to, sizeof it->to, r->address);
    it->next_st = IT_SENDING;
    it->next_out = OUT_NONE;
    return PP_OK;
}

/* The decision's ledger row: the skip (it->next_out set by the caller) when skip is set, else
 * 'sending' with ledger_body. */
static int settle(pp_notifier_t *n, item_t *it, const pp_recipient_t *r, const char *skip,
                  const char *why, const char *ledger_body)
{
    if (!skip)
        return claim(n, it, r, ledger_body);
    int rc = pp_ledger_skip(n->db, &it->ev, r, skip, why);
    if (rc)
        return rc;
    it->next_st = IT_DONE;
    return PP_OK;
}

/*
 * An IM-link code goes to the address being linked (not the buyer's current one), whatever
 * the toggle says, if it is still the buyer's pending link. The ledger keeps a placeholder,
 * never the code.
 */
static int decide_link(pp_notifier_t *n, item_t *it)
{
    pp_recipient_t r;
    bool current = false;
    const char *skip = NULL, *why = NULL;
    int rc = pp_ledger_link_recipient(n->db, &it->lev, &r, &current);
    if (rc == PP_ENOTFOUND) {
        pp_warn("notifier: IM-link event %s: user %lld not found; nobody to send the code to",
                it->ev.event_id, it->lev.user_id);
        return done(it, OUT_NO_RECIPIENT);
    }
    if (rc)
        return rc;
    it->user_id = r.user_id;
    if (r.prev_state[0] && strcmp(r.prev_state, "sending") != 0)
        return done(it, OUT_DUPLICATE);
    long minutes = (long)((it->lev.expires_at - time(NULL) + 59) / 60);
    if (!current) {
        skip = "skipped_stale", why = "the code was replaced, used or has expired",
        it->next_out = OUT_STALE;
    } else if (strcmp(r.channel, n->chops->name) != 0) {
        skip = "skipped_no_im", why = "no channel for this IM-link code", it->next_out = OUT_NO_IM;
    } else if (pp_template_link_code(&it->lev, minutes > 0 ? minutes : 1, it->body, sizeof it->body)) {
        skip = "failed", why = "cannot render the message", it->next_out = OUT_FAILED;
    }
    pp_text_clean_field(it->body);
    return settle(n, it, &r, skip, why, "(IM-link verification code; the code is not stored)");
}

static int decide_one(pp_notifier_t *n, size_t idx)
{
    item_t *it = &n->items[idx];
    pp_recipient_t r;
    const char *skip = NULL, *why = NULL;
    if (it->link)
        return decide_link(n, it);
    int rc = pp_ledger_recipient(n->db, &it->ev, &r);
    if (rc == PP_ENOTFOUND) {
        pp_warn("notifier: event %s: transaction %lld not found; nobody to notify", it->ev.event_id,
                it->ev.transaction_id);
        return done(it, OUT_NO_RECIPIENT);
    }
    if (rc)
        return rc;
    it->user_id = r.user_id;
    outcome_t conflict = in_batch_conflict(n, idx, it);
    if ((r.prev_state[0] && strcmp(r.prev_state, "sending") != 0) || conflict == OUT_DUPLICATE)
        return done(it, OUT_DUPLICATE); /* decided before: replay or redelivery, nothing to do */
    if (!r.opted_in) {
        skip = "skipped_opted_out", why = "notifications are off", it->next_out = OUT_OPTED_OUT;
    } else if (!r.address[0] || !r.verified || strcmp(r.channel, n->chops->name) != 0) {
        skip = "skipped_no_im", why = "no verified IM address", it->next_out = OUT_NO_IM;
    } else if (r.newer_sent || conflict == OUT_STALE) {
        skip = "skipped_stale", why = "a newer status was already sent", it->next_out = OUT_STALE;
    } else if (pp_template_render(&it->ev, r.locale, it->body, sizeof it->body)) {
        skip = "failed", why = "cannot render the message", it->next_out = OUT_FAILED;
    }
    /* the ledger row and the stanza get the same clean text (a cut never halves a character) */
    pp_text_clean_field(it->body);
    return settle(n, it, &r, skip, why, it->body);
}

static int decide_phase(pp_notifier_t *n)
{
    bool need = false;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        it->next_st = IT_PENDING;
        it->next_out = OUT_NONE;
        need |= it->valid && !it->revoked && it->st == IT_PENDING;
    }
    if (!need)
        return PP_OK;
    if (!n->chops->is_up(n->ch))
        return PP_EAGAIN; /* never mark 'sending' while we cannot send */
    if (pp_db_begin(n->db))
        return PP_EAGAIN;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (!it->valid || it->revoked || it->st != IT_PENDING)
            continue;
        if (decide_one(n, i))
            goto fail;
    }
    if (pp_db_commit(n->db))
        goto fail;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->next_st == IT_DONE)
            pp_batch_finish(n, it, it->next_out);
        else if (it->next_st == IT_SENDING) {
            it->st = IT_SENDING;
            it->bounced = false;
            it->recov = 0;
            it->recov_doubt = PP_CHANNEL_DOUBT_NONE;
        }
        it->next_st = IT_PENDING;
    }
    return PP_OK;
fail:
    pp_db_rollback(n->db);
    for (size_t i = 0; i < n->n_items; i++)
        n->items[i].next_st = IT_PENDING;
    return PP_EAGAIN;
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
        pp_info("notifier: event %s to user %lld: connection lost with only this message in "
                "flight (%d of %ld)",
                solo->ev.event_id, solo->user_id, solo->solo_losses, n->poison.after);
    }
    return PP_EAGAIN;
}

static int send_phase(pp_notifier_t *n)
{
    size_t count_sending = 0;
    item_t *last = NULL;
    int64_t t0 = pp_mono_ms();
    bool one_by_one = pp_poison_isolating(&n->poison);
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st != IT_SENDING || it->revoked)
            continue;
        if (n->chops->send(n->ch, it->id, it->to, it->body))
            return PP_EAGAIN;
        count_sending++;
        last = it;
        if (one_by_one) {
            if (barrier(n, 1, it))
                return PP_EAGAIN;
            it->st = IT_ACKED;
        }
    }
    if (!count_sending)
        return PP_OK;
    if (!one_by_one && barrier(n, count_sending, count_sending == 1 ? last : NULL))
        return PP_EAGAIN;
    if (n->cfg->notifier_crash_after_send > 0 && ++n->flushed == n->cfg->notifier_crash_after_send) {
        pp_warn("notifier %s: notifier_crash_after_send=%ld reached: exiting with %zu message(s) "
                "acknowledged but not marked sent",
                n->worker_id, n->cfg->notifier_crash_after_send, count_sending);
        _exit(137);
    }
    double secs = (double)(pp_mono_ms() - t0) / 1000.0;
    pthread_mutex_lock(&n->stats.lat_lock);
    if (n->stats.n_lat < PP_NOTIFIER_LAT_SAMPLES)
        n->stats.lat[n->stats.n_lat++] = secs;
    pthread_mutex_unlock(&n->stats.lat_lock);
    for (size_t i = 0; i < n->n_items; i++)
        if (n->items[i].st == IT_SENDING && !n->items[i].revoked)
            n->items[i].st = IT_ACKED;
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
            pp_warn("notifier: event %s: the IM server refused the message to user %lld (%s): %s",
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

static int attempt(pp_notifier_t *n)
{
    /* Anything sent but not acknowledged in a failed attempt is decided again. */
    for (size_t i = 0; i < n->n_items; i++)
        if (n->items[i].st == IT_SENDING)
            n->items[i].st = IT_PENDING;
    int rc = pp_batch_recover(n); /* may turn a poison message into a dead letter */
    if (rc == PP_OK)
        rc = dlq_phase(n);
    if (rc == PP_OK)
        rc = decide_phase(n);
    if (rc == PP_OK)
        rc = send_phase(n);
    /* Mark even after a failure above: acknowledged messages must never be sent again. */
    int mrc = mark_phase(n);
    return rc ? rc : mrc;
}

/* Run the batch to completion (or until stop during a retry). 0 when finished. */
int pp_batch_run(pp_notifier_t *n)
{
    int rc;
    for (int tries = 0;; tries++) {
        rc = attempt(n);
        if (rc == PP_OK || batch_finished(n))
            break;
        atomic_fetch_add(&n->stats.retries, 1);
        if (atomic_load(&n->stop)) {
            pp_warn("notifier: stopping with %zu event(s) unfinished; they will be redelivered",
                    n->n_items);
            break;
        }
        long delay = RETRY_MIN_MS << (tries < 16 ? tries : 16);
        if (delay > n->cfg->send_retry_max_ms || delay <= 0)
            delay = n->cfg->send_retry_max_ms;
        delay = jittered(delay);
        if (tries == 0 || delay >= 1000)
            pp_info("notifier: batch of %zu event(s) not finished (%s); retry in %ld ms",
                    n->n_items, pp_strerror(rc), delay);
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
        if (batch_finished(n)) {
            rc = PP_OK;
            break;
        }
    }
    pp_consumer_pause(n, false);
    return batch_finished(n) ? PP_OK : rc;
}
