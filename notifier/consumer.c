/*
 * consumer.c - the notifier's Kafka side: the consumer group (subscribe, rebalance, pause
 * during a retry, fatal errors, lag, offsets of a finished batch) and the dead-letter
 * producer's delivery reports.
 */
#include "batch.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>

static bool same_partition(const rd_kafka_message_t *m, const rd_kafka_topic_partition_t *tp)
{
    return m->partition == tp->partition && strcmp(pp_batch_topic(m), tp->topic) == 0;
}

static void forget_revoked(pp_notifier_t *n, const rd_kafka_topic_partition_list_t *parts)
{
    for (int p = 0; p < parts->cnt; p++) {
        for (size_t i = 0; i < n->n_items; i++)
            if (same_partition(n->items[i].msg, &parts->elems[p]))
                n->items[i].revoked = true;
        for (size_t i = 0; i < n->n_flight; i++)
            if (same_partition(n->flight[i].msg, &parts->elems[p]))
                n->flight[i].revoked = true;
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
    if (n->on_revoke)
        n->on_revoke(n);
    forget_revoked(n, parts);
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        pp_warn("kafka: commit before revoke failed: %s", rd_kafka_err2str(e));
    rd_kafka_assign(rk, NULL);
}

void pp_consumer_dlq_report_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    item_t *it = m->_private;
    if (!it)
        return;
    if (m->err) {
        pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)), "kafka: dead-letter produce to %s failed: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
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

int pp_consumer_new(pp_notifier_t *n)
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
        snprintf(err, sizeof err, "subscribe to %s, %s: %s", cfg->topic, cfg->im_link_topic,
                 rd_kafka_err2str(e));
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
void pp_consumer_pause(pp_notifier_t *n, bool pause)
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
void pp_consumer_error(pp_notifier_t *n, rd_kafka_message_t *m)
{
    static int64_t last_ms;
    int64_t now = pp_mono_ms();
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512] = "";
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(n->consumer, why, sizeof why);
        pp_error("kafka: fatal consumer error %s: %s; this consumer can take nothing more: stopping, exit "
                 "status 1 for the supervisor to restart it (fenced: give each notifier its own "
                 "rdkafka.group.instance.id, or none)",
                 rd_kafka_err2name(e), why[0] ? why : rd_kafka_message_errstr(m));
        n->result = PP_EKAFKA;
        atomic_store(&n->stop, true);
        return;
    }
    if (now - last_ms < 10000)
        return; /* one line per 10 s is enough for a broker outage */
    last_ms = now;
    pp_warn("kafka: consumer: %s", rd_kafka_message_errstr(m));
}

/* Consumer lag from cached watermarks (no round trip); per partition into the stats. */
long long pp_consumer_lag(pp_notifier_t *n)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    pp_partition_lag_t each[PP_NOTIFIER_MAX_PARTS];
    int n_each = 0;
    long long lag = 0;
    if (rd_kafka_assignment(n->consumer, &parts) || !parts)
        return -1;
    if (rd_kafka_position(n->consumer, parts) == 0) {
        for (int i = 0; i < parts->cnt; i++) {
            int64_t lo, hi, l = 0;
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            if (rd_kafka_get_watermark_offsets(n->consumer, p->topic, p->partition, &lo, &hi))
                continue;
            if (p->offset >= 0 && hi > p->offset)
                l = hi - p->offset;
            else if (p->offset < 0 && hi > lo)
                l = hi - lo;
            lag += l;
            if (n_each < PP_NOTIFIER_MAX_PARTS) {
                snprintf(each[n_each].topic, sizeof each[n_each].topic, "%s", p->topic);
                each[n_each].partition = (int)p->partition;
                each[n_each++].lag = l;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    pthread_mutex_lock(&n->stats.lat_lock);
    memcpy(n->stats.parts, each, (size_t)n_each * sizeof each[0]);
    n->stats.n_parts = n_each;
    pthread_mutex_unlock(&n->stats.lat_lock);
    return lag;
}

void pp_consumer_store_offsets(pp_notifier_t *n)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->revoked)
            continue;
        /* per (topic, partition): the IM-link topic's offsets are its own */
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(parts, pp_batch_topic(it->msg), it->msg->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(parts, pp_batch_topic(it->msg), it->msg->partition);
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
