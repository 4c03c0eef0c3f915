/* status_kafka.c - what `ppctl status` and `ppctl wait` ask Kafka: the notifiers' lag per partition, the dead-letter topic's size. */
#include "status.h"
#include "kafka.h"

#include <stdio.h>

/* Short: a Kafka that does not answer must not hold `ppctl status --watch` for long. */
#define KAFKA_TIMEOUT_MS 3000

rd_kafka_t *ppctl_kafka_client(const ppctl_t *ctl)
{
    char err[512];
    /* pp_kafka_conf_new: the brokers, the rdkafka.* properties (SASL, TLS: a cluster that
     * wants them answers nothing without) and librdkafka's lines through the logger */
    rd_kafka_conf_t *conf = pp_kafka_conf_new(&ctl->cfg, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "ppctl: Kafka config: %s\n", err);
        return NULL;
    }
    if (rd_kafka_conf_set(conf, "group.id", ctl->cfg.group_id, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err)) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "ppctl: Kafka config: %s\n", err);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "ppctl: Kafka client: %s\n", err);
    return rk;
}

/* The topic's partition count, or -1 (no such topic, no answer). */
static int partition_count(rd_kafka_t *rk, const char *topic)
{
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e)
        return -1;
    int np = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : -1;
    rd_kafka_metadata_destroy(md);
    return np;
}

/*
 * Each partition of the topic as {"topic","partition","committed","high","lag"} appended to
 * arr (committed null when the group has none: lag from the low watermark, as the group would
 * start there). Returns the topic's total lag, or -1 when Kafka did not tell.
 */
static long long partitions_lag(rd_kafka_t *rk, const char *topic, cJSON *arr)
{
    int np = partition_count(rk, topic);
    if (np <= 0)
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    long long lag = -1;
    if (rd_kafka_committed(rk, l, KAFKA_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        lag = 0;
        for (int p = 0; p < np; p++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, KAFKA_TIMEOUT_MS)) {
                lag = -1;
                break;
            }
            int64_t off = l->elems[p].offset;
            lag += hi - (off >= 0 ? off : lo);
            if (!arr)
                continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "topic", topic);
            cJSON_AddNumberToObject(o, "partition", p);
            if (off >= 0)
                cJSON_AddNumberToObject(o, "committed", (double)off);
            else
                cJSON_AddNullToObject(o, "committed");
            cJSON_AddNumberToObject(o, "high", (double)hi);
            cJSON_AddNumberToObject(o, "lag", (double)(hi - (off >= 0 ? off : lo)));
            cJSON_AddItemToArray(arr, o);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

long long ppctl_consumer_lag(rd_kafka_t *rk, const char *topic)
{
    return partitions_lag(rk, topic, NULL);
}

/* Messages on the topic now: sum over partitions of high - low watermark; -1 unknown. */
static long long topic_size(rd_kafka_t *rk, const char *topic)
{
    int np = partition_count(rk, topic);
    if (np <= 0)
        return -1;
    long long n = 0;
    for (int p = 0; p < np; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, KAFKA_TIMEOUT_MS))
            return -1;
        n += hi - lo;
    }
    return n;
}

static void add_count(cJSON *o, const char *name, long long v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, (double)v);
}

void ppctl_status_kafka(rd_kafka_t *rk, const ppctl_t *ctl, cJSON *st)
{
    cJSON *nl = cJSON_AddObjectToObject(st, "notifier_lag");
    cJSON_AddStringToObject(nl, "group", ctl->cfg.group_id);
    cJSON *parts = cJSON_AddArrayToObject(nl, "partitions");
    long long ev = rk ? partitions_lag(rk, ctl->cfg.topic, parts) : -1;
    long long im = rk ? partitions_lag(rk, ctl->cfg.im_link_topic, parts) : -1;
    add_count(nl, "events", ev);
    add_count(nl, "im_link", im);
    cJSON *dlq = cJSON_AddObjectToObject(st, "dlq");
    cJSON_AddStringToObject(dlq, "topic", ctl->cfg.dlq_topic);
    add_count(dlq, "messages", rk ? topic_size(rk, ctl->cfg.dlq_topic) : -1);
}
