/* dlq_read.c - the dead-letter topic read for `ppctl dlq`: a consumer that commits nothing, every message up to the end as it was, one message by its place, a message as JSON. */
#include "dlq.h"
#include "kafka.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 10000

/* Consumer of ctl's brokers that commits nothing (no group offsets are ever stored). */
static rd_kafka_t *consumer_new(const ppctl_t *ctl)
{
    char err[512];
    /* pp_kafka_conf_new: the brokers, the rdkafka.* properties (SASL, TLS: a cluster that
     * wants them answers nothing without) and librdkafka's lines through the logger */
    rd_kafka_conf_t *conf = pp_kafka_conf_new(&ctl->cfg, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "ppctl dlq: %s\n", err);
        return NULL;
    }
    if (rd_kafka_conf_set(conf, "group.id", "ppctl-dlq", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err)) {
        fprintf(stderr, "ppctl dlq: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "ppctl dlq: %s\n", err);
    return rk;
}

int ppctl_dlq_open(ppctl_dlq_t *d, ppctl_t *ctl)
{
    d->ctl = ctl;
    if (!(d->consumer = consumer_new(ctl)))
        return PP_EKAFKA;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(d->consumer, ctl->cfg.dlq_topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(d->consumer, 0, rkt, &md, TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (!e && (md->topic_cnt != 1 || md->topics[0].err))
        e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    d->np = e ? 0 : md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (e) {
        fprintf(stderr, "ppctl dlq: topic %s: %s\n", ctl->cfg.dlq_topic, rd_kafka_err2str(e));
        return PP_EKAFKA;
    }
    return PP_OK;
}

void ppctl_dlq_close(ppctl_dlq_t *d)
{
    if (!d->consumer)
        return;
    rd_kafka_consumer_close(d->consumer);
    rd_kafka_destroy(d->consumer);
}

/* The header's value as a string (cut at 1000 bytes), "" when absent. */
const char *ppctl_dlq_header(const rd_kafka_message_t *m, const char *name, char *buf, size_t cap)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t sz;
    buf[0] = '\0';
    if (rd_kafka_message_headers(m, &h) == 0 && rd_kafka_header_get_last(h, name, &v, &sz) == 0 && v)
        snprintf(buf, cap, "%.*s", (int)(sz < 1000 ? sz : 1000), (const char *)v);
    return buf;
}

/* The message's fields as JSON; with `whole` every header and the value too. */
cJSON *ppctl_dlq_message_json(const rd_kafka_message_t *m, bool whole)
{
    char buf[1024], when[32] = "";
    cJSON *o = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "%d:%lld", (int)m->partition, (long long)m->offset);
    cJSON_AddStringToObject(o, "id", buf);
    cJSON_AddNumberToObject(o, "partition", m->partition);
    cJSON_AddNumberToObject(o, "offset", (double)m->offset);
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    if (ts >= 0) {
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    }
    cJSON_AddStringToObject(o, "time", when);
    snprintf(buf, sizeof buf, "%.*s", (int)(m->key_len < 200 ? m->key_len : 200),
             m->key ? (const char *)m->key : "");
    cJSON_AddStringToObject(o, "key", buf);
    cJSON_AddStringToObject(o, "reason", ppctl_dlq_header(m, "pp-dlq-reason", buf, sizeof buf));
    char src[3][256];
    snprintf(buf, sizeof buf, "%s:%s:%s",
             ppctl_dlq_header(m, "pp-source-topic", src[0], sizeof src[0]),
             ppctl_dlq_header(m, "pp-source-partition", src[1], sizeof src[1]),
             ppctl_dlq_header(m, "pp-source-offset", src[2], sizeof src[2]));
    cJSON_AddStringToObject(o, "source", src[0][0] ? buf : "");
    cJSON_AddNumberToObject(o, "size", (double)m->len);
    if (!whole)
        return o;
    cJSON *hs = cJSON_AddArrayToObject(o, "headers");
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *v;
    size_t sz;
    for (size_t i = 0;
         rd_kafka_message_headers(m, &h) == 0 && rd_kafka_header_get_all(h, i, &name, &v, &sz) == 0;
         i++) {
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "name", name);
        char *val = strndup(v ? (const char *)v : "", v ? sz : 0);
        cJSON_AddStringToObject(one, "value", val ? val : "");
        free(val);
        cJSON_AddItemToArray(hs, one);
    }
    char *val = strndup(m->payload ? (const char *)m->payload : "", m->payload ? m->len : 0);
    cJSON_AddStringToObject(o, "value", val ? val : "");
    free(val);
    return o;
}

/*
 * Every message of the dead-letter topic that was there when this started (up to each
 * partition's high watermark then: a replay's messages a notifier dead-letters again are not
 * read back, which would loop), oldest first per partition, to cb; 0 or PP_E*.
 */
int ppctl_dlq_each(ppctl_dlq_t *d, ppctl_dlq_each_cb cb, void *arg)
{
    const char *topic = d->ctl->cfg.dlq_topic;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(d->np);
    int64_t *end = calloc((size_t)d->np, sizeof *end);
    int left = 0, rc = end ? PP_OK : PP_ENOMEM;
    for (int p = 0; rc == PP_OK && p < d->np; p++) {
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(d->consumer, topic, p, &lo, &end[p], TIMEOUT_MS)) {
            fprintf(stderr, "ppctl dlq: no watermarks for %s partition %d\n", topic, p);
            rc = PP_EKAFKA;
        } else if (end[p] > lo) { /* else empty: nothing to wait for */
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = lo;
            left++;
        }
    }
    if (rc == PP_OK && l->cnt > 0 && rd_kafka_assign(d->consumer, l))
        rc = PP_EKAFKA;
    rd_kafka_topic_partition_list_destroy(l);
    for (int idle = 0; rc == PP_OK && left > 0 && idle < TIMEOUT_MS / 1000;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(d->consumer, 1000);
        idle = m ? 0 : idle + 1;
        if (!m)
            continue;
        int p = m->partition;
        bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (m->err && !eof)
            fprintf(stderr, "ppctl dlq: %s\n", rd_kafka_message_errstr(m));
        else if (p >= 0 && p < d->np && end[p] >= 0) {
            if (!eof && m->offset < end[p] && cb(m, arg))
                rc = PP_EAGAIN;
            /* past the partition's last message then (an end of partition counts: the last
             * offsets of a transactional producer's topic are its commit markers) */
            if (m->offset + (eof ? 0 : 1) >= end[p]) {
                end[p] = -1;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (rc == PP_OK && left > 0) {
        fprintf(stderr, "ppctl dlq: gave up waiting for the end of %s\n", topic);
        rc = PP_ETIMEOUT;
    }
    rd_kafka_assign(d->consumer, NULL);
    free(end);
    return rc == PP_EAGAIN ? PP_OK : rc;
}

/* "P:O", or "O" when exactly one partition holds offset O; 0 or PP_EINVAL (printed). */
int ppctl_dlq_parse_id(ppctl_dlq_t *d, const char *s, int *part, int64_t *off)
{
    char *end;
    long long a = strtoll(s, &end, 10), b;
    if (end != s && *end == ':') {
        const char *t = end + 1;
        b = strtoll(t, &end, 10);
        if (end != t && !*end && a >= 0 && a < d->np && b >= 0) {
            *part = (int)a;
            *off = b;
            return PP_OK;
        }
    } else if (end != s && !*end && a >= 0) {
        int found = 0;
        for (int p = 0; p < d->np; p++) {
            int64_t lo, hi;
            if (!rd_kafka_query_watermark_offsets(d->consumer, d->ctl->cfg.dlq_topic, p, &lo, &hi,
                                                  TIMEOUT_MS) &&
                a >= lo && a < hi) {
                *part = p;
                found++;
            }
        }
        *off = a;
        if (found == 1)
            return PP_OK;
        fprintf(stderr, "ppctl dlq: offset %s is in %d partitions of %s: give PARTITION:OFFSET\n",
                s, found, d->ctl->cfg.dlq_topic);
        return PP_EINVAL;
    }
    fprintf(stderr, "ppctl dlq: '%s' is not PARTITION:OFFSET (partitions 0-%d) or OFFSET\n", s,
            d->np - 1);
    return PP_EINVAL;
}

/* The message at part:off (the caller destroys it), or NULL (printed why). */
rd_kafka_message_t *ppctl_dlq_fetch(ppctl_dlq_t *d, int part, int64_t off)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, d->ctl->cfg.dlq_topic, part)->offset = off;
    rd_kafka_resp_err_t e = rd_kafka_assign(d->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_t *m = NULL;
    for (int idle = 0; !e && idle < TIMEOUT_MS / 1000;) {
        m = rd_kafka_consumer_poll(d->consumer, 1000);
        idle = m ? 0 : idle + 1;
        if (!m)
            continue;
        if (!m->err && m->offset == off)
            break;
        bool past = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || !m->err;
        rd_kafka_message_destroy(m);
        m = NULL;
        if (past) /* the offset is gone (retention) or not written yet */
            break;
    }
    rd_kafka_assign(d->consumer, NULL);
    if (!m)
        fprintf(stderr, "ppctl dlq: no message at %d:%lld of %s\n", part, (long long)off,
                d->ctl->cfg.dlq_topic);
    return m;
}
