/* events.c - `ppctl events`: print every message of a topic up to its end (like kcat -C -e). */
#include "ppctl.h"
#include "kafka.h"

#include "err.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A consumer of ctl's brokers that commits nothing and reports each partition's end; NULL on error. */
static rd_kafka_t *new_consumer(const ppctl_t *ctl)
{
    char err[512];
    /* pp_kafka_conf_new: the brokers, the rdkafka.* properties (SASL, TLS: a cluster that
     * wants them answers nothing without) and librdkafka's lines through the logger */
    rd_kafka_conf_t *conf = pp_kafka_conf_new(&ctl->cfg, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "ppctl events: %s\n", err);
        return NULL;
    }
    if (rd_kafka_conf_set(conf, "group.id", "ppctl-events", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err)) {
        fprintf(stderr, "ppctl events: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "ppctl events: %s\n", err);
    return rk;
}

/* Prints one message: its value on a line, or with meta a JSON object with its place and headers. */
static void print_message(const rd_kafka_message_t *m, int meta)
{
    if (!meta) {
        printf("%.*s\n", (int)m->len, (const char *)m->payload);
        return;
    }
    printf("{\"partition\":%d,\"offset\":%lld,\"key\":\"%.*s\"", (int)m->partition,
           (long long)m->offset, (int)m->key_len, m->key ? (const char *)m->key : "");
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == 0) {
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &sz) == 0; i++)
            printf(",\"header.%s\":\"%.*s\"", name, (int)sz, val ? (const char *)val : "");
    }
    printf(",\"value\":%.*s}\n", (int)m->len, (const char *)m->payload);
}

int ppctl_events(ppctl_t *ctl, int argc, char **argv)
{
    const char *topic = ctl->cfg.topic;
    int meta = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--topic")) {
            if (!(topic = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (!strcmp(argv[i], "--meta")) {
            meta = 1;
        } else {
            fprintf(stderr, "usage: ppctl events [--topic T] [--meta]\n"
                            "  prints each message value on a line; --meta prints JSON with\n"
                            "  partition, offset, key, headers and value\n");
            return 2;
        }
    }
    rd_kafka_t *rk = new_consumer(ctl);
    if (!rk)
        return 1;
    int status = 1;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "ppctl events: topic %s: %s\n", topic,
                rd_kafka_err2str(e ? e : md->topics[0].err));
        goto out;
    }
    int np = md->topics[0].partition_cnt, eofs = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000) == 0 && hi == lo)
            eofs++; /* empty partition: nothing to wait for */
        else
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (l->cnt > 0 && rd_kafka_assign(rk, l)) {
        fprintf(stderr, "ppctl events: cannot assign partitions of %s\n", topic);
        rd_kafka_topic_partition_list_destroy(l);
        goto out;
    }
    rd_kafka_topic_partition_list_destroy(l);
    int idle = 0;
    while (eofs < np && idle < 30) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "ppctl events: %s\n", rd_kafka_message_errstr(m));
        } else {
            print_message(m, meta);
        }
        rd_kafka_message_destroy(m);
    }
    status = eofs < np ? 1 : 0;
    if (status)
        fprintf(stderr, "ppctl events: gave up waiting for the end of %s\n", topic);
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return status;
}
