/*
 * notifier.c - the notifier worker: Kafka consumer group -> ledger decision -> IM channel
 * batch (send, ping barrier, mark) -> offset store; poison events go to the dead-letter topic.
 *
 * Threads. main.c runs a libuv loop for /metrics, /healthz and signals only. Everything that
 * blocks - librdkafka's consumer poll, synchronous libpq, libstrophe's xmpp_run_once - runs
 * on this one worker thread, which alternates between them with short timeouts. So the
 * metrics endpoint never waits on Kafka, Postgres or XMPP, and the consumer, the database
 * connection and the channel each have exactly one user: no locks. Counters cross threads
 * as atomics; main copies them into the registry on a timer.
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
 * one per crash of the server; channels/unconfirmed.h); step 2 sends it again, same id.
 * Limits: the archive must keep a message longer than the outage that left its row in
 * 'sending' (archive_expires_after, 1w on the local stack), and the server must not refuse
 * to archive (quota); a re-send after either is a duplicate with the same id. A crash of
 * the notifier and of the server together loses the markers' answers: the archive stands.
 */
#include "notifier.h"
#include "channels/channel.h"
#include "db.h"
#include "err.h"
#include "event.h"
#include "kafka.h"
#include "ledger.h"
#include "log.h"
#include "poison.h"
#include "template.h"
#include "text.h"
#include "timeutil.h"
#include "worker.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLUSH_TIMEOUT_MS 15000
#define DLQ_TIMEOUT_MS 10000
#define RETRY_MIN_MS 100

typedef enum { IT_PENDING = 0, IT_SENDING, IT_ACKED, IT_DONE } item_state_t;

typedef enum {
    OUT_NONE = 0, OUT_SENT, OUT_FAILED, OUT_DLQ, OUT_DUPLICATE, OUT_NO_RECIPIENT,
    OUT_OPTED_OUT, OUT_NO_IM, OUT_STALE, OUT_RECOVERED
} outcome_t;

typedef struct item {
    rd_kafka_message_t *msg; /* owned until the batch ends */
    item_state_t st, next_st; /* next_st: decided inside the open transaction */
    outcome_t next_out;
    bool valid, revoked, bounced;
    bool link; /* from the IM-link topic: lev is the event; ev carries its id (kind IM_LINK_CODE) */
    int dlq; /* 0 not produced, 1 in flight, 2 delivered, -1 failed */
    pp_event_t ev;
    pp_link_event_t lev;
    char reason[256]; /* decode error, bounce or poison reason */
    int solo_losses;  /* times the connection was lost with only this message in flight */
    bool poison;      /* failed for good (poison.h): ledger 'failed', then the dead-letter topic */
    /* What the archive said about this event's row left in 'sending', kept across retries
     * of the batch (a failed database transaction must not cost the lookup again); cleared
     * when the item is sent again. 0 = not looked up, else 1 + pp_channel_fate_t. */
    int recov;
    long long recov_when;
    char recov_reason[256];
    long long user_id;
    char id[64]; /* stanza id <event_id>:<user_id> */
    char to[256];
    char body[512];
} item_t;

struct pp_notifier {
    const pp_config_t *cfg;
    const char *worker_id, *metrics_addr;
    pthread_t thread;
    atomic_bool stop;
    void (*on_exit)(void *);
    void *exit_arg;
    int result;
    pp_notifier_stats_t stats;
    rd_kafka_t *consumer, *dlq;
    PGconn *db;
    const pp_channel_ops_t *chops;
    pp_channel_t *ch;
    item_t *items;
    size_t n_items;
    rd_kafka_message_t **carry; /* polled while paused/rebalancing: heads the next batch */
    size_t n_carry;
    bool paused;
    int64_t next_heartbeat_ms;
    bool archive;        /* recovery asks the channel's record (was_sent) */
    bool archive_absent; /* the last was_sent said "no record": logged once per streak */
    long flushed;        /* batches acknowledged (notifier_crash_after_send) */
    pp_poison_t poison;  /* isolation of a message the IM server will not take */
};

/* ------------------------------------------------------------------ helpers */

static void count(pp_notifier_t *n, outcome_t o)
{
    pp_notifier_stats_t *s = &n->stats;
    switch (o) {
    case OUT_SENT: atomic_fetch_add(&s->sent, 1); break;
    case OUT_FAILED: atomic_fetch_add(&s->failed, 1); break;
    case OUT_DLQ: atomic_fetch_add(&s->dlq, 1); break;
    case OUT_DUPLICATE: atomic_fetch_add(&s->duplicate, 1); break;
    case OUT_NO_RECIPIENT: atomic_fetch_add(&s->no_recipient, 1); break;
    case OUT_OPTED_OUT: atomic_fetch_add(&s->skipped_opted_out, 1); break;
    case OUT_NO_IM: atomic_fetch_add(&s->skipped_no_im, 1); break;
    case OUT_STALE: atomic_fetch_add(&s->skipped_stale, 1); break;
    case OUT_RECOVERED: atomic_fetch_add(&s->recovered, 1); break;
    case OUT_NONE: break;
    }
}

static void finish(pp_notifier_t *n, item_t *it, outcome_t o)
{
    it->st = IT_DONE;
    count(n, o);
}

static long jittered(long ms) { return ms / 2 + (ms > 1 ? random() % (ms / 2 + 1) : 0); }

static void bounce_cb(void *arg, const char *id, const char *reason)
{
    pp_notifier_t *n = arg;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->st == IT_SENDING && strcmp(it->id, id) == 0) {
            it->bounced = true;
            snprintf(it->reason, sizeof it->reason, "%s", reason);
            return;
        }
    }
    pp_warn("xmpp: bounce for message '%s' that is not in the current batch: %s", id, reason);
}

/* ------------------------------------------------------------------ Kafka */

/* The topic a consumed message came from (the notifier reads two: shipment events, IM-link codes). */
static const char *topic_of(const rd_kafka_message_t *m) { return rd_kafka_topic_name(m->rkt); }

static bool same_partition(const rd_kafka_message_t *m, const rd_kafka_topic_partition_t *tp)
{
    return m->partition == tp->partition && strcmp(topic_of(m), tp->topic) == 0;
}

static void forget_revoked(pp_notifier_t *n, const rd_kafka_topic_partition_list_t *parts)
{
    for (int p = 0; p < parts->cnt; p++) {
        for (size_t i = 0; i < n->n_items; i++)
            if (same_partition(n->items[i].msg, &parts->elems[p]))
                n->items[i].revoked = true;
        size_t keep = 0;
        for (size_t i = 0; i < n->n_carry; i++) {
            if (same_partition(n->carry[i], &parts->elems[p]))
                rd_kafka_message_destroy(n->carry[i]);
            else
                n->carry[keep++] = n->carry[i];
        }
        n->n_carry = keep;
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pp_notifier_t *n = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        pp_info("kafka: assigned %d partition(s) of %s and %s", parts->cnt, n->cfg->topic,
                n->cfg->im_link_topic);
        rd_kafka_assign(rk, parts);
        /* Both ways, explicitly: librdkafka keeps a partition's pause across unassign and
         * assign, so a partition paused during a retry, revoked (a broker restart) and
         * assigned again after the batch ended would stay paused for good. The long chaos
         * run found three notifiers idle with 18,000 events of lag after a Kafka kill. */
        if (n->paused)
            rd_kafka_pause_partitions(rk, parts);
        else
            rd_kafka_resume_partitions(rk, parts);
        return;
    }
    /* Revoke: the unfinished events of these partitions go to their next owner, which
     * starts from the committed offset; commit what is stored (all finished) first. */
    pp_info("kafka: revoking %d partition(s) (%s)", parts->cnt, rd_kafka_err2str(err));
    forget_revoked(n, parts);
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        pp_warn("kafka: commit before revoke failed: %s", rd_kafka_err2str(e));
    rd_kafka_assign(rk, NULL);
}

static void dlq_report_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    item_t *it = m->_private;
    if (!it)
        return;
    if (m->err) {
        pp_warn("kafka: dead-letter produce to %s failed: %s", rd_kafka_topic_name(m->rkt),
                rd_kafka_err2str(m->err));
        it->dlq = -1;
    } else {
        it->dlq = 2;
    }
}

/* Our default for a property, unless the operator passed it through (rdkafka.*). */
static int conf_default(rd_kafka_conf_t *conf, const pp_config_t *cfg, const char *name,
                        const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->n_rdkafka_props; i++)
        if (strcmp(cfg->rdkafka_props[2 * i], name) == 0)
            return PP_OK;
    return pp_kafka_conf_set(conf, name, value, err, errlen);
}

static int consumer_new(pp_notifier_t *n)
{
    char err[512];
    const pp_config_t *cfg = n->cfg;
    rd_kafka_conf_t *conf = pp_kafka_conf_new(cfg, err, sizeof err);
    rd_kafka_topic_partition_list_t *topics = NULL;
    if (!conf)
        goto fail;
    if (pp_kafka_conf_set(conf, "group.id", cfg->group_id, err, sizeof err) ||
        pp_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err) ||
        pp_kafka_conf_set(conf, "enable.auto.commit", "true", err, sizeof err) ||
        conf_default(conf, cfg, "auto.commit.interval.ms", "1000", err, sizeof err) ||
        /* A crashed notifier's partitions move to the others after 6 s (the brokers'
         * group.min.session.timeout.ms), not 45 s; heartbeats every 2 s. */
        conf_default(conf, cfg, "session.timeout.ms", "6000", err, sizeof err) ||
        conf_default(conf, cfg, "heartbeat.interval.ms", "2000", err, sizeof err) ||
        /* No static membership (group.instance.id) by default: a static member whose session
         * timed out (a slow coordinator) was fenced on rejoin with a fatal error and consumed
         * nothing more (api_im_link, idle machine). rdkafka.group.instance.id turns it on. */
        pp_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, n);
    n->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!n->consumer)
        goto fail;
    conf = NULL; /* owned by the handle now */
    rd_kafka_poll_set_consumer(n->consumer);
    topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, cfg->topic, RD_KAFKA_PARTITION_UA);
    if (cfg->im_link_topic[0]) /* IM-link codes: same group, same pipeline, own topic */
        rd_kafka_topic_partition_list_add(topics, cfg->im_link_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(n->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(err, sizeof err, "subscribe to %s, %s: %s", cfg->topic, cfg->im_link_topic, rd_kafka_err2str(e));
        goto fail;
    }
    return PP_OK;
fail:
    pp_error("notifier: cannot create the Kafka consumer (group %s): %s", cfg->group_id, err);
    if (conf)
        rd_kafka_conf_destroy(conf);
    return PP_EKAFKA;
}

/* Pause (during back-off) or resume the current assignment. */
static void set_paused(pp_notifier_t *n, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (n->paused == pause)
        return;
    n->paused = pause;
    if (rd_kafka_assignment(n->consumer, &parts) || !parts)
        return;
    if (pause)
        rd_kafka_pause_partitions(n->consumer, parts);
    else
        rd_kafka_resume_partitions(n->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* A fatal consumer error (fenced by another member with the same group.instance.id, ...)
 * leaves a consumer that delivers nothing more: stop (the batch in hand is not stored, so it
 * is redelivered) and exit non-zero, for the supervisor to start a fresh one. */
static void consumer_error(pp_notifier_t *n, rd_kafka_message_t *m)
{
    static int64_t last_ms;
    int64_t now = pp_mono_ms();
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512] = "";
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(n->consumer, why, sizeof why);
        pp_error("kafka: fatal consumer error %s: %s; this consumer can take nothing more: stopping, exit "
                 "status 1 for the supervisor to restart it (fenced: give each notifier its own "
                 "rdkafka.group.instance.id, or none)", rd_kafka_err2name(e), why[0] ? why : rd_kafka_message_errstr(m));
        n->result = PP_EKAFKA;
        atomic_store(&n->stop, true);
        return;
    }
    if (now - last_ms < 10000)
        return; /* one line per 10 s is enough for a broker outage */
    last_ms = now;
    pp_warn("kafka: consumer: %s", rd_kafka_message_errstr(m));
}

/* Consumer lag from cached watermarks (no round trip). */
static long long consumer_lag(pp_notifier_t *n)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    long long lag = 0;
    if (rd_kafka_assignment(n->consumer, &parts) || !parts)
        return -1;
    if (rd_kafka_position(n->consumer, parts) == 0) {
        for (int i = 0; i < parts->cnt; i++) {
            int64_t lo, hi;
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            if (rd_kafka_get_watermark_offsets(n->consumer, p->topic, p->partition, &lo, &hi))
                continue;
            if (p->offset >= 0 && hi > p->offset)
                lag += hi - p->offset;
            else if (p->offset < 0 && hi > lo)
                lag += hi - lo;
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return lag;
}

/* ------------------------------------------------------------------ heartbeat */

static void heartbeat(pp_notifier_t *n, bool force)
{
    int64_t now = pp_mono_ms();
    if (!force && now < n->next_heartbeat_ms)
        return;
    n->next_heartbeat_ms = now + n->cfg->heartbeat_interval_ms;
    pp_notifier_stats_t *s = &n->stats;
    atomic_store(&s->lag, consumer_lag(n));
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
static void idle(pp_notifier_t *n, int ms)
{
    n->chops->poll(n->ch, ms);
    atomic_store(&n->stats.xmpp_up, n->chops->is_up(n->ch));
    rd_kafka_poll(n->dlq, 0);
    heartbeat(n, false);
}

/* ------------------------------------------------------------------ batch phases */

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
            rd_kafka_resp_err_t e = rd_kafka_producev(
                n->dlq, RD_KAFKA_V_TOPIC(n->cfg->dlq_topic),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m->key, m->key_len),
                RD_KAFKA_V_VALUE(m->payload, m->len),
                RD_KAFKA_V_HEADER("pp-dlq-reason", it->reason, -1),
                RD_KAFKA_V_HEADER("pp-source-topic", topic_of(m), -1),
                RD_KAFKA_V_HEADER("pp-source-partition", part, -1),
                RD_KAFKA_V_HEADER("pp-source-offset", off, -1), RD_KAFKA_V_OPAQUE(it),
                RD_KAFKA_V_END);
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
            pp_warn("notifier: poison event at %s[%d]@%lld sent to %s: %s", rd_kafka_topic_name(it->msg->rkt),
                    (int)it->msg->partition, (long long)it->msg->offset, n->cfg->dlq_topic,
                    it->reason);
            if (it->poison)
                count(n, OUT_FAILED);
            finish(n, it, OUT_DLQ);
        } else {
            rc = PP_EAGAIN;
        }
    }
    return rc;
}

/* A key for was_sent: q[i].id points at key, the first member, so the row is found back. */
typedef struct recov_key {
    char key[64]; /* <event_id>:<user_id>, the stanza id the message was sent with */
    size_t row;
} recov_key_t;

/* The pending item of event_id in this batch, or NULL. */
static item_t *pending_item(pp_notifier_t *n, const char *event_id)
{
    for (size_t j = 0; j < n->n_items; j++) {
        item_t *it = &n->items[j];
        if (it->valid && !it->revoked && it->st == IT_PENDING && strcmp(it->ev.event_id, event_id) == 0)
            return it;
    }
    return NULL;
}

/* Is the database there? Asked before a long step, so that the step is not spent only to
 * fail on a connection that died while the batch waited (a database restart). */
static bool db_alive(pp_notifier_t *n)
{
    return pp_db_exec(n->db, "notifier connection check", "SELECT 1", 0, NULL, NULL) == PP_OK;
}

/*
 * The poison items of the batch that recovery did not find routed or bounced: failed for
 * good. They become invalid, so dlq_phase (next in this attempt) produces them to the
 * dead-letter topic and then records their ledger row 'failed'.
 */
static void poison_confirm(pp_notifier_t *n)
{
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (!it->poison || !it->valid || it->revoked || it->st != IT_PENDING)
            continue;
        pp_warn("notifier: event %s to user %lld: not in the IM server's archive after %d lost "
                "connections with only this message in flight: failed for good, to %s",
                it->ev.event_id, it->user_id, it->solo_losses, n->cfg->dlq_topic);
        it->valid = false;
        it->dlq = 0;
    }
}

/*
 * A message the IM server may have died with between archiving it for the bot and storing
 * it for the buyer (channel.h in_doubt): the server's record of the buyer decides; when it
 * cannot tell, notifier_resend_in_doubt does (a re-send of a message the server did store is
 * a duplicate for a client that does not drop repeats by id; no re-send of one it did not
 * store is a loss). q->fate ends ROUTED (taken as delivered) or UNSEEN (sent again).
 */
static void decide_in_doubt(pp_notifier_t *n, const pp_inflight_t *r, pp_channel_lookup_t *q)
{
    atomic_fetch_add(&n->stats.in_doubt, 1);
    if (q->doubt == PP_CHANNEL_DOUBT_STORED) {
        pp_info("notifier: event %s to user %lld (%s): the IM server restarted before confirming "
                "it; its store for the buyer has it: delivered", r->event_id, r->user_id,
                r->address);
        return;
    }
    bool again = q->doubt == PP_CHANNEL_DOUBT_MISSING || n->cfg->notifier_resend_in_doubt;
    if (q->doubt == PP_CHANNEL_DOUBT_MISSING) {
        pp_warn("notifier: event %s to user %lld (%s): the IM server restarted after archiving "
                "it and before storing it for the buyer; sending it again with the same id",
                r->event_id, r->user_id, r->address);
    } else {
        atomic_fetch_add(&n->stats.in_doubt_undecided, 1);
        pp_warn("notifier: event %s to user %lld (%s): the IM server restarted after archiving "
                "it and before confirming it, and cannot tell whether the buyer's store has it "
                "(%s; load deploy/prosody/mod_pp_delivery.lua); %s",
                r->event_id, r->user_id, r->address, q->reason,
                again ? "sending it again with the same id (notifier_resend_in_doubt = true)"
                      : "taken as delivered (notifier_resend_in_doubt = false)");
    }
    q->fate = again ? PP_CHANNEL_UNSEEN : PP_CHANNEL_ROUTED;
    item_t *it = again ? pending_item(n, r->event_id) : NULL;
    if (it) { /* kept as "send it": a retry (failed transaction below) decides the same */
        atomic_fetch_add(&n->stats.resent_in_doubt, 1);
        it->recov = 1 + (int)PP_CHANNEL_UNSEEN;
    }
}

/*
 * Rows of this batch's events still in 'sending' may or may not have reached the server.
 * Ask the channel's record once for the whole batch (was_sent with no address: what the
 * bot sent since the oldest row's created_at minus notifier_archive_margin_s, newest first,
 * which stops as soon as every id is found) and close those it lists: 'sent' at the
 * server's time, or 'failed' with the bounce reason. Their items are finished here; the
 * rest go on to decide_phase and are sent again. The answers are kept on the items, so a
 * retry after a failed database transaction does not ask again. PP_EAGAIN: retry.
 */
static int recover_phase(pp_notifier_t *n)
{
    const char **ids = calloc(n->n_items ? n->n_items : 1, sizeof *ids);
    pp_inflight_t *rows = NULL;
    pp_channel_lookup_t *q = NULL;
    recov_key_t *keys = NULL;
    const char **sent_ids = NULL;
    long long *sent_users = NULL, *sent_when = NULL;
    size_t k = 0, nrows = 0, queries = 0, routed = 0, bounced = 0, cached = 0, in_doubt = 0;
    int64_t t0 = pp_mono_ms();
    int rc = PP_EAGAIN;
    if (!ids)
        goto out;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->valid && !it->revoked && it->st == IT_PENDING)
            ids[k++] = it->ev.event_id;
    }
    rc = PP_OK;
    if (!n->archive || k == 0)
        goto out;
    if (pp_ledger_inflight(n->db, k, ids, n->chops->name, &rows, &nrows)) {
        rc = PP_EAGAIN;
        goto out;
    }
    if (nrows == 0)
        goto out;
    rc = PP_EAGAIN;
    q = calloc(nrows, sizeof *q);
    keys = calloc(nrows, sizeof *keys);
    sent_ids = calloc(nrows, sizeof *sent_ids);
    sent_users = calloc(nrows, sizeof *sent_users);
    sent_when = calloc(nrows, sizeof *sent_when);
    if (!q || !keys || !sent_ids || !sent_users || !sent_when)
        goto out;
    /* Rows whose answer a previous attempt got come first, the ones to ask after them. */
    size_t ask = 0;
    long long since = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nrows; i++) {
            const item_t *it = pending_item(n, rows[i].event_id);
            bool known = it && it->recov > 0;
            if (known != (pass == 0))
                continue;
            size_t j = pass == 0 ? cached++ : cached + ask++;
            snprintf(keys[j].key, sizeof keys[j].key, "%s:%lld", rows[i].event_id, rows[i].user_id);
            keys[j].row = i;
            q[j].id = keys[j].key;
            q[j].to = rows[i].address;
            if (known) {
                q[j].fate = (pp_channel_fate_t)(it->recov - 1);
                q[j].when = it->recov_when;
                snprintf(q[j].reason, sizeof q[j].reason, "%s", it->recov_reason);
            } else if (ask == 1 || rows[i].created < since) {
                since = rows[i].created;
            }
        }
    }
    if (ask > 0) {
        if (!n->chops->is_up(n->ch) || !db_alive(n))
            goto out;
        int lrc = n->chops->was_sent(n->ch, NULL, since - n->cfg->notifier_archive_margin_s,
                                     q + cached, ask, FLUSH_TIMEOUT_MS);
        queries++;
        if (lrc == PP_EXMPP) {
            if (!n->archive_absent)
                pp_warn("notifier: the %s server keeps no record of what it routed; %zu message(s) "
                        "in flight from an earlier attempt are sent again (at least once)",
                        n->chops->name, nrows);
            n->archive_absent = true;
            rc = PP_OK;
            goto out;
        }
        if (lrc)
            goto out; /* the channel logged why; the whole batch is retried */
        for (size_t j = cached; j < nrows; j++) {
            const recov_key_t *rk = (const recov_key_t *)(const void *)q[j].id;
            item_t *it = pending_item(n, rows[rk->row].event_id);
            if (!it)
                continue;
            it->recov = 1 + (int)q[j].fate;
            it->recov_when = q[j].when;
            snprintf(it->recov_reason, sizeof it->recov_reason, "%s", q[j].reason);
        }
    }
    n->archive_absent = false;
    if (n->chops->in_doubt) {
        int drc = n->chops->in_doubt(n->ch, q, nrows, FLUSH_TIMEOUT_MS);
        if (drc < 0)
            goto out; /* cannot tell yet: the whole batch is retried */
        in_doubt = (size_t)drc;
    }
    for (size_t i = 0; i < nrows; i++) {
        const recov_key_t *rk = (const recov_key_t *)(const void *)q[i].id;
        const pp_inflight_t *r = &rows[rk->row];
        if (q[i].doubt != PP_CHANNEL_DOUBT_NONE)
            decide_in_doubt(n, r, &q[i]);
        if (q[i].fate == PP_CHANNEL_ROUTED) {
            sent_ids[routed] = r->event_id;
            sent_users[routed] = r->user_id;
            sent_when[routed++] = q[i].when;
        } else if (q[i].fate == PP_CHANNEL_BOUNCED) {
            bounced++;
        }
    }
    if (routed + bounced > 0) {
        if (pp_db_begin(n->db))
            goto out;
        for (size_t i = 0; i < nrows; i++) {
            const recov_key_t *rk = (const recov_key_t *)(const void *)q[i].id;
            if (q[i].fate == PP_CHANNEL_BOUNCED &&
                pp_ledger_failed(n->db, rows[rk->row].event_id, rows[rk->row].user_id,
                                 q[i].reason))
                goto rollback;
        }
        if (pp_ledger_sent_at(n->db, routed, sent_ids, sent_users, sent_when) ||
            pp_db_commit(n->db))
            goto rollback;
    }
    for (size_t i = 0; i < nrows; i++) {
        const recov_key_t *rk = (const recov_key_t *)(const void *)q[i].id;
        const pp_inflight_t *r = &rows[rk->row];
        if (q[i].fate == PP_CHANNEL_UNSEEN)
            continue;
        item_t *it = pending_item(n, r->event_id);
        if (!it)
            continue;
        it->user_id = r->user_id;
        if (q[i].fate == PP_CHANNEL_BOUNCED)
            pp_warn("notifier: event %s: the IM server refused the message to user %lld (%s), "
                    "found in its archive: %s",
                    r->event_id, r->user_id, r->address, q[i].reason);
        /* a repeat of the event in this batch is decided as a duplicate */
        finish(n, it, q[i].fate == PP_CHANNEL_ROUTED ? OUT_RECOVERED : OUT_FAILED);
    }
    pp_info("notifier: %zu message(s) in flight from an earlier attempt: %zu already routed, "
            "%zu bounced, %zu to send again (%zu of them cut by a restart of the IM server; "
            "%zu archive quer%s, %zu answer(s) kept from an earlier try, %lld ms)",
            nrows, routed, bounced, nrows - routed - bounced, in_doubt, queries,
            queries == 1 ? "y" : "ies", cached, (long long)(pp_mono_ms() - t0));
    rc = PP_OK;
    goto out;
rollback:
    pp_db_rollback(n->db);
out:
    if (rc == PP_OK)
        poison_confirm(n);
    free(ids);
    free(rows);
    free(q);
    free(keys);
    free(sent_ids);
    free(sent_users);
    free(sent_when);
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
        if (sending && p->ev.shipment_id == it->ev.shipment_id &&
            p->ev.sequence >= it->ev.sequence)
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
static int settle(pp_notifier_t *n, item_t *it, const pp_recipient_t *r, const char *skip, const char *why,
                  const char *ledger_body)
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
        skip = "skipped_stale", why = "the code was replaced, used or has expired", it->next_out = OUT_STALE;
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
        pp_warn("notifier: event %s: transaction %lld not found; nobody to notify",
                it->ev.event_id, it->ev.transaction_id);
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
            finish(n, it, it->next_out);
        else if (it->next_st == IT_SENDING)
            it->st = IT_SENDING, it->bounced = false, it->recov = 0;
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
                "flight (%d of %ld)", solo->ev.event_id, solo->user_id, solo->solo_losses,
                n->poison.after);
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
        finish(n, it, it->bounced ? OUT_FAILED : OUT_SENT);
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
    int rc = recover_phase(n); /* may turn a poison message into a dead letter */
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

static void store_offsets(pp_notifier_t *n)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->revoked)
            continue;
        /* per (topic, partition): the IM-link topic's offsets are its own */
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(parts, topic_of(it->msg), it->msg->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(parts, topic_of(it->msg), it->msg->partition);
        if (it->msg->offset + 1 > p->offset)
            p->offset = it->msg->offset + 1;
    }
    if (parts->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(n->consumer, parts);
        if (e)
            pp_warn("kafka: storing offsets failed: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Run the batch to completion (or until stop during a retry). 0 when finished. */
static int run_batch(pp_notifier_t *n)
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
        set_paused(n, true);
        int64_t until = pp_mono_ms() + delay;
        while (pp_mono_ms() < until && !batch_finished(n)) {
            idle(n, 20);
            rd_kafka_message_t *m = rd_kafka_consumer_poll(n->consumer, 0);
            if (m && m->err) {
                consumer_error(n, m);
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
    set_paused(n, false);
    return batch_finished(n) ? PP_OK : rc;
}

/* ------------------------------------------------------------------ batch fill and loop */

static void add_item(pp_notifier_t *n, rd_kafka_message_t *m)
{
    item_t *it = &n->items[n->n_items++];
    memset(it, 0, sizeof *it);
    it->msg = m;
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    if (n->cfg->im_link_topic[0] && strcmp(topic, n->cfg->im_link_topic) == 0) {
        it->link = true;
        it->valid = pp_link_event_decode(m->payload, m->len, &it->lev, it->reason, sizeof it->reason) == 0;
        /* the ledger and the archive lookup know an event by its id */
        snprintf(it->ev.event_id, sizeof it->ev.event_id, "%s", it->lev.event_id);
        it->ev.kind = PP_EV_IM_LINK_CODE;
    } else {
        it->valid = pp_event_decode(m->payload, m->len, &it->ev, it->reason, sizeof it->reason) == 0;
    }
    atomic_fetch_add(&n->stats.consumed, 1);
}

static void fill_batch(pp_notifier_t *n)
{
    size_t max = (size_t)n->cfg->send_batch;
    size_t c = 0;
    while (n->n_items < max && c < n->n_carry)
        add_item(n, n->carry[c++]);
    if (c) /* carry may be NULL: memmove's arguments must not be, even for 0 bytes */
        memmove(n->carry, n->carry + c, (n->n_carry - c) * sizeof *n->carry);
    n->n_carry -= c;
    int timeout = n->n_items ? 0 : 25;
    while (n->n_items < max && !atomic_load(&n->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(n->consumer, timeout);
        if (!m)
            break;
        timeout = 0;
        if (m->err) {
            consumer_error(n, m);
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

static void *worker_main(void *arg)
{
    pp_notifier_t *n = arg;
    pp_info("notifier %s: consuming %s as group %s, batches of %ld", n->worker_id,
            n->cfg->topic, n->cfg->group_id, n->cfg->send_batch);
    while (!atomic_load(&n->stop)) {
        idle(n, 5);
        fill_batch(n);
        if (n->n_items == 0)
            continue;
        pp_poison_batch_start(&n->poison);
        if (run_batch(n) == PP_OK) {
            store_offsets(n);
            atomic_fetch_add(&n->stats.batches, 1);
        }
        free_batch(n);
    }
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
    heartbeat(n, true);
    if (pp_worker_stop(n->db, n->worker_id))
        n->result = PP_EDB;
    pp_info("notifier %s: stopped (consumed %lld, sent %lld, failed %lld, dlq %lld)",
            n->worker_id, atomic_load(&n->stats.consumed), atomic_load(&n->stats.sent),
            atomic_load(&n->stats.failed), atomic_load(&n->stats.dlq));
    atomic_store(&n->stats.finished, true);
    if (n->on_exit)
        n->on_exit(n->exit_arg);
    return NULL;
}

/* ------------------------------------------------------------------ public */

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
    free(n->carry);
    pthread_mutex_destroy(&n->stats.lat_lock);
    free(n);
}

int pp_notifier_start(pp_notifier_t **out, const pp_config_t *cfg, const char *worker_id,
                      const char *metrics_addr, void (*on_exit)(void *), void *arg)
{
    char err[512];
    int rc = PP_ENOMEM;
    pp_notifier_t *n = calloc(1, sizeof *n);
    if (!n)
        return PP_ENOMEM;
    pthread_mutex_init(&n->stats.lat_lock, NULL);
    n->cfg = cfg;
    pp_poison_init(&n->poison, cfg->notifier_poison_after);
    n->worker_id = worker_id;
    n->metrics_addr = metrics_addr;
    n->on_exit = on_exit;
    n->exit_arg = arg;
    atomic_store(&n->stats.lag, -1);
    n->items = calloc((size_t)cfg->send_batch, sizeof *n->items);
    if (!n->items)
        goto fail;
    n->chops = &pp_channel_xmpp;
    n->db = pp_db_connect(cfg->db_url, err, sizeof err);
    if (!n->db) {
        pp_error("notifier: %s", err);
        rc = PP_EDB;
        goto fail;
    }
    if ((rc = pp_worker_register(n->db, worker_id, "notifier", metrics_addr)))
        goto fail;
    if ((rc = consumer_new(n)))
        goto fail;
    if ((rc = pp_kafka_producer_new(cfg, dlq_report_cb, n, &n->dlq))) {
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
                "messages in flight at a crash are sent again (at least once)", n->chops->name);
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
