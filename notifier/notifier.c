/*
 * notifier.c - the notifier worker: Kafka consumer group -> ledger decision -> IM channel
 * batch (send, ping barrier, mark) -> offset store; poison events go to the dead-letter topic.
 *
 * Threads. The daemon frame (hooks.c) runs a libuv loop for /metrics, /healthz, signals and
 * the workers row only. Everything that blocks - librdkafka's consumer poll, synchronous
 * libpq, libstrophe's xmpp_run_once - runs on this one worker thread, which alternates between them with short timeouts. So the
 * metrics endpoint never waits on Kafka, Postgres or XMPP, and the consumer, the database
 * connection and the channel each have exactly one user: no locks. Counters cross threads
 * as atomics; hooks.c copies them into the registry on a timer.
 *
 * One batch (up to send_batch events, in partition order):
 *   1. invalid events (pp_event_decode fails) -> produced to dlq_topic with the reason and
 *      source partition/offset as headers, delivery report awaited;
 *   2. recovery: rows of the batch's events still in 'sending' (left by a predecessor that
 *      died, or by a failed flush) are looked up in the channel's record of what the server
 *      routed (XMPP: the bot's own MAM archive, one time-window query for the whole batch,
 *      newest first; the answers are kept across retries of the batch); those found
 *      become 'sent' (sent_at = the server's time) or 'failed' (bounced) without a re-send;
 *   3. one DB transaction decides each remaining valid event: recipient read now, ledger row
 *      skipped_* / duplicate / stale, or 'sending' (committed before anything is sent);
 *   4. the messages are queued on the channel, then one flush (iq ping barrier) proves the
 *      server handled all of them; bounces arriving before it mark their rows failed;
 *   5. one DB transaction flips the acknowledged rows to 'sent';
 *   6. offsets (+1 per partition) are stored; librdkafka commits them (auto-commit every
 *      second, synchronously on revoke and at shutdown).
 * A barrier that fails with several messages in flight sends the rest of the batch one
 * message per barrier; a message that alone loses the connection notifier_poison_after times
 * and is not in the server's archive (recovery asks first) is failed for good: the
 * dead-letter topic, then ledger 'failed' with the reason (poison.c).
 * So one message the server will not take never holds up the other buyers' messages.
 * A transient failure (DB, channel down, no barrier reply, DLQ produce) retries the not yet
 * finished items with exponential back-off + jitter capped at send_retry_max_ms; meanwhile
 * the assigned partitions are paused (the consumer keeps polling, so the group membership
 * and rebalances stay alive) and nothing is stored.
 *
 * Delivery guarantee: no duplicate a buyer can see, and no lost notification. A row is
 * 'sent' only after the server's ack; a crash (or lost connection) between sending and
 * marking leaves rows in 'sending', and step 2 re-sends only those the server's archive
 * does not list (it lists what the server routed, in stream order, so "absent" means "never
 * got it"). Rows in any other state are never sent again. Every message carries the stable
 * id <event_id>:<user_id> (attribute and XEP-0359 origin-id), which is what the archive is
 * searched for. Where the channel has no such record (no was_sent, notifier_archive_check =
 * false, or a server without MAM) the guarantee is at least once, said in the log at start.
 * The archive lists what the server routed, not what it stored for the buyer: a server
 * killed between the two would have a message "routed" that nobody got. The channel's
 * in_doubt() picks such a message (XMPP: the newest one the archive lists of those never
 * confirmed on a connection that ended abruptly, when the server restarted since: at most
 * one per crash of the server; channels/unconfirmed.h), and the server's record of the
 * buyer (deploy/prosody/mod_pp_delivery.lua) says whether step 2 sends it again, same id.
 * Limits: the archive must keep a message longer than the outage that left its row in
 * 'sending' (archive_expires_after, 1w on the local stack), and the server must not refuse
 * to archive (quota); a re-send after either is a duplicate with the same id. A crash of
 * the notifier and of the server together loses the markers' answers: the archive stands.
 *
 * Files: batch.h lists them and who calls whom.
 */
#include "batch.h"
#include "db.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool bounce_in(item_t *items, size_t n_items, const char *id, const char *reason)
{
    for (size_t i = 0; i < n_items; i++) {
        item_t *it = &items[i];
        if (it->st == IT_SENDING && strcmp(it->id, id) == 0) {
            it->bounced = true;
            snprintf(it->reason, sizeof it->reason, "%s", reason);
            return true;
        }
    }
    return false;
}

/* A bounce belongs to the batch at hand or to the one launched before it. */
static void bounce_cb(void *arg, const char *id, const char *reason)
{
    pp_notifier_t *n = arg;
    if (bounce_in(n->items, n->n_items, id, reason) || bounce_in(n->flight, n->n_flight, id, reason))
        return;
    pp_warn("%s: bounce for message '%s' that is not in the current batch: %s", n->chops->name, id,
            reason);
}

static void add_item(pp_notifier_t *n, rd_kafka_message_t *m)
{
    item_t *it = &n->items[n->n_items++];
    memset(it, 0, sizeof *it);
    it->msg = m;
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    if (n->cfg->im_link_topic[0] && strcmp(topic, n->cfg->im_link_topic) == 0) {
        it->link = true;
        it->valid =
            pp_link_event_decode(m->payload, m->len, &it->lev, it->reason, sizeof it->reason) == 0;
        /* the ledger and the archive lookup know an event by its id */
        snprintf(it->ev.event_id, sizeof it->ev.event_id, "%s", it->lev.event_id);
        it->ev.kind = PP_EV_IM_LINK_CODE;
    } else {
        it->valid = pp_event_decode(m->payload, m->len, &it->ev, it->reason, sizeof it->reason) == 0;
    }
    atomic_fetch_add(&n->stats.consumed, 1);
}

/* Fill the batch at hand from Kafka; wait up to 25 ms for a first event when idle. */
static void fill_batch(pp_notifier_t *n)
{
    size_t max = (size_t)n->cfg->send_batch;
    size_t c = 0;
    while (n->n_items < max && c < n->n_carry)
        add_item(n, n->carry[c++]);
    if (c) /* carry may be NULL: memmove's arguments must not be, even for 0 bytes */
        memmove(n->carry, n->carry + c, (n->n_carry - c) * sizeof *n->carry);
    n->n_carry -= c;
    int timeout = n->n_items || n->n_flight ? 0 : 25;
    while (n->n_items < max && !atomic_load(&n->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(n->consumer, timeout);
        if (!m)
            break;
        timeout = 0;
        if (m->err) {
            pp_consumer_error(n, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        add_item(n, m);
    }
}

static void free_batch(pp_notifier_t *n)
{
    for (size_t i = 0; i < n->n_items; i++)
        rd_kafka_message_destroy(n->items[i].msg);
    n->n_items = 0;
}

static void swap_flight(pp_notifier_t *n)
{
    item_t *items = n->items;
    size_t k = n->n_items;
    n->items = n->flight;
    n->n_items = n->n_flight;
    n->flight = items;
    n->n_flight = k;
}

/* The launched batch's barrier, once: a revocation may have waited for it already. */
static int flight_land(pp_notifier_t *n)
{
    if (!n->flight_landed) {
        swap_flight(n);
        n->flight_rc = pp_batch_land(n);
        swap_flight(n);
        n->flight_landed = true;
    }
    return n->flight_rc;
}

/* Partitions are being revoked (consumer.c, inside a Kafka poll): what was launched must
 * have been handled by the IM server before their next owner can look at it. */
static void revoke_cb(pp_notifier_t *n)
{
    if (n->n_flight)
        flight_land(n);
}

/* The batch at hand is finished (or given up at a stop): offsets stored when finished. */
static void close_batch(pp_notifier_t *n, int rc)
{
    if (rc == PP_OK) {
        pp_consumer_store_offsets(n);
        atomic_fetch_add(&n->stats.batches, 1);
    }
    free_batch(n);
}

/* The launched batch to completion: its barrier (rc), marks, retries, offsets. The batch at
 * hand waits in the flight slot meanwhile. */
static void complete_flight(pp_notifier_t *n, int rc)
{
    swap_flight(n);
    close_batch(n, pp_batch_complete(n, rc));
    swap_flight(n);
    n->flight_landed = false;
}

/* Does the batch at hand repeat an event, or carry a shipment, of the launched one? Then it
 * is decided only once that one is marked (its duplicate and stale checks read the ledger). */
static bool overlaps_flight(const pp_notifier_t *n)
{
    for (size_t i = 0; i < n->n_items; i++) {
        const item_t *a = &n->items[i];
        for (size_t j = 0; a->valid && j < n->n_flight; j++) {
            const item_t *b = &n->flight[j];
            if (!b->valid)
                continue;
            /* a shipment event's repeat has its shipment: the ids are compared only for codes */
            if (!a->link && !b->link ? a->ev.shipment_id == b->ev.shipment_id
                                     : strcmp(a->ev.event_id, b->ev.event_id) == 0)
                return true;
        }
    }
    return false;
}

/*
 * One step of the pipeline with a batch at hand: it is decided while the launched one (if
 * any) is still with the IM server; once that one's barrier is back, the batch at hand is
 * launched and only then is the launched one marked sent. So the server always has work
 * while Postgres decides and marks, and per-buyer order holds: a batch goes out only after
 * the server acknowledged the one before it. On any failure the batch goes the sequential
 * way (pp_batch_run's retries), after the launched one is complete.
 */
static void pipeline_step(pp_notifier_t *n)
{
    if (n->n_flight && overlaps_flight(n))
        complete_flight(n, flight_land(n));
    pp_poison_batch_start(&n->poison);
    int rc = pp_batch_prepare(n);
    if (n->n_flight) {
        int frc = flight_land(n);
        bool launched = frc == PP_OK && rc == PP_OK && (rc = pp_batch_launch(n)) == PP_OK;
        complete_flight(n, frc);
        if (launched) {
            swap_flight(n); /* the batch at hand is in flight now */
            return;
        }
        pp_poison_batch_start(&n->poison); /* the launched one's retries may have isolated */
    } else if (rc == PP_OK && (rc = pp_batch_launch(n)) == PP_OK) {
        swap_flight(n);
        n->flight_landed = false;
        return;
    }
    /* Decided and not launched (the launched one failed): sent now, after its retries. Not
     * decided, or a launch cut short: the retries decide again (recovery asks the archive). */
    close_batch(n, pp_batch_run_prepared(n, rc));
}

static void *worker_main(void *arg)
{
    pp_notifier_t *n = arg;
    pp_info("notifier %s: consuming %s as group %s, batches of %ld", n->worker_id, n->cfg->topic,
            n->cfg->group_id, n->cfg->send_batch);
    while (!atomic_load(&n->stop)) {
        pp_notifier_idle(n, 0);
        fill_batch(n);
        if (n->n_items)
            pipeline_step(n);
        else if (n->n_flight)
            complete_flight(n, flight_land(n));
    }
    if (n->n_flight) /* the last launched batch: acknowledged and marked before the commit */
        complete_flight(n, flight_land(n));
    /* Shutdown: commit what is stored, leave the group, flush the DLQ, disconnect. */
    pp_info("notifier %s: stopping", n->worker_id);
    rd_kafka_resp_err_t e = rd_kafka_commit(n->consumer, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        pp_warn("kafka: final commit failed: %s", rd_kafka_err2str(e));
    for (size_t i = 0; i < n->n_carry; i++)
        rd_kafka_message_destroy(n->carry[i]);
    n->n_carry = 0;
    e = rd_kafka_consumer_close(n->consumer);
    if (e)
        pp_warn("kafka: consumer close: %s", rd_kafka_err2str(e));
    if (rd_kafka_flush(n->dlq, 5000))
        pp_warn("kafka: dead-letter producer: %d message(s) not delivered at exit",
                rd_kafka_outq_len(n->dlq));
    n->chops->close(n->ch, 2000);
    n->ch = NULL;
    atomic_store(&n->stats.xmpp_up, false);
    pp_notifier_refresh_lag(n, true);
    pp_info("notifier %s: stopped (consumed %lld, sent %lld, failed %lld, dlq %lld)", n->worker_id,
            atomic_load(&n->stats.consumed), atomic_load(&n->stats.sent),
            atomic_load(&n->stats.failed), atomic_load(&n->stats.dlq));
    atomic_store(&n->stats.finished, true);
    if (n->on_exit)
        n->on_exit(n->exit_arg);
    return NULL;
}

static void destroy(pp_notifier_t *n)
{
    if (!n)
        return;
    if (n->ch)
        n->chops->close(n->ch, 0);
    if (n->consumer)
        rd_kafka_destroy(n->consumer);
    if (n->dlq)
        rd_kafka_destroy(n->dlq);
    if (n->db)
        PQfinish(n->db);
    free(n->items);
    free(n->flight);
    free(n->carry);
    pthread_mutex_destroy(&n->stats.lat_lock);
    free(n);
}

int pp_notifier_start(pp_notifier_t **out, const pp_config_t *cfg, const char *worker_id,
                      void (*on_exit)(void *), void *arg)
{
    char err[512];
    int rc = PP_ENOMEM;
    const pp_channel_ops_t *chops = pp_channel_find(cfg->notifier_channel);
    if (!chops) {
        char names[128];
        pp_channel_names(names, sizeof names);
        pp_error("notifier: notifier_channel = \"%s\" is not an IM channel; valid: %s",
                 cfg->notifier_channel, names);
        return PP_ECONFIG;
    }
    if (chops->benchmark_only && !cfg->notifier_sink_benchmark) {
        pp_error("notifier: notifier_channel = \"%s\" is a benchmark channel: it takes every "
                 "message as delivered and sends it nowhere; it starts only with "
                 "notifier_sink_benchmark = true (tools/bench/fleet-bench), never in production",
                 cfg->notifier_channel);
        return PP_ECONFIG;
    }
    if (chops->benchmark_only)
        pp_warn("notifier: BENCHMARK: the %s channel takes every message to a %s buyer as "
                "delivered and sends it nowhere (notifier_sink_benchmark = true)",
                chops->name, chops->im_channel);
    pp_notifier_t *n = calloc(1, sizeof *n);
    if (!n)
        return PP_ENOMEM;
    n->chops = chops;
    pthread_mutex_init(&n->stats.lat_lock, NULL);
    n->cfg = cfg;
    pp_poison_init(&n->poison, cfg->notifier_poison_after);
    n->worker_id = worker_id;
    n->on_exit = on_exit;
    n->exit_arg = arg;
    atomic_store(&n->stats.lag, -1);
    n->items = calloc((size_t)cfg->send_batch, sizeof *n->items);
    n->flight = calloc((size_t)cfg->send_batch, sizeof *n->flight);
    if (!n->items || !n->flight)
        goto fail;
    n->db = pp_db_connect(cfg->db_url, err, sizeof err);
    if (!n->db) {
        pp_error("notifier: %s", err);
        rc = PP_EDB;
        goto fail;
    }
    n->on_revoke = revoke_cb;
    if ((rc = pp_consumer_new(n)))
        goto fail;
    if ((rc = pp_kafka_producer_new(cfg, pp_consumer_dlq_report_cb, n, &n->dlq))) {
        pp_error("notifier: cannot create the dead-letter producer: %s", pp_strerror(rc));
        goto fail;
    }
    if ((rc = n->chops->open(&n->ch, cfg, bounce_cb, n))) {
        pp_error("notifier: cannot set up the %s channel: %s", n->chops->name, pp_strerror(rc));
        goto fail;
    }
    n->archive = cfg->notifier_archive_check && n->chops->was_sent;
    if (!n->chops->was_sent)
        pp_warn("notifier: the %s channel cannot tell which messages the server already got; "
                "messages in flight at a crash are sent again (at least once)",
                n->chops->name);
    else if (!cfg->notifier_archive_check)
        pp_warn("notifier: notifier_archive_check = false: messages in flight at a crash are "
                "sent again (at least once)");
    if (pthread_create(&n->thread, NULL, worker_main, n) != 0) {
        pp_error("notifier: cannot start the worker thread");
        rc = PP_EIO;
        goto fail;
    }
    *out = n;
    return PP_OK;
fail:
    destroy(n);
    return rc;
}

void pp_notifier_stop(pp_notifier_t *n) { atomic_store(&n->stop, true); }

pp_notifier_stats_t *pp_notifier_stats(pp_notifier_t *n) { return &n->stats; }

int pp_notifier_join(pp_notifier_t *n)
{
    pthread_join(n->thread, NULL);
    int rc = n->result;
    destroy(n);
    return rc;
}
