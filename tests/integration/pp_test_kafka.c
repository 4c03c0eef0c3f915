/* pp_test_kafka.c - test helper: create a topic (admin API), print every message's pp-event-id
 * (ids), or its pp-event-id, a tab and its value (records). */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", brokers, err, sizeof err) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(c, "group.id", "pp-test-kafka", err, sizeof err) ||
          rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err) ||
          rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof err)))) {
        fprintf(stderr, "config: %s\n", err);
        exit(2);
    }
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        exit(2);
    }
    return rk;
}

static int create(const char *brokers, const char *topic, int parts)
{
    char err[512];
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, brokers);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = 1;
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (rd_kafka_event_error(ev))
            fprintf(stderr, "create %s: %s\n", topic, rd_kafka_event_error_string(ev));
        else if (n == 1 && rd_kafka_topic_result_error(tr[0]) &&
                 rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            fprintf(stderr, "create %s: %s\n", topic, rd_kafka_topic_result_error_string(tr[0]));
        else
            rc = 0;
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int ids(const char *brokers, const char *topic, int with_value)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, brokers);
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "metadata %s failed\n", topic);
        return 1;
    }
    int np = md->topics[0].partition_cnt, pending = 0;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t *hi = calloc((size_t)np, sizeof *hi);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], 10000)) {
            fprintf(stderr, "watermarks failed\n");
            return 1;
        }
        if (hi[p] > lo) {
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = lo;
            pending++;
        }
    }
    if (pending)
        rd_kafka_assign(rk, l);
    char *done = calloc((size_t)np, 1);
    while (pending > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 5000);
        if (!m) {
            fprintf(stderr, "timeout reading %s\n", topic);
            return 1;
        }
        if (!m->err) {
            rd_kafka_headers_t *h;
            const void *v;
            size_t sz;
            if (rd_kafka_message_headers(m, &h) == 0 &&
                rd_kafka_header_get_last(h, "pp-event-id", &v, &sz) == 0)
                printf("%.*s", (int)sz, (const char *)v);
            else
                printf("NO-HEADER %d:%lld", m->partition, (long long)m->offset);
            if (with_value)
                printf("\t%.*s", (int)m->len, m->payload ? (const char *)m->payload : "");
            printf("\n");
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        }
        if (m->partition >= 0 && m->partition < np && !done[m->partition] &&
            (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
             (!m->err && m->offset >= hi[m->partition] - 1))) {
            done[m->partition] = 1;
            pending--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(hi);
    free(done);
    return 0;
}

int main(int argc, char **argv)
{
    const char *brokers = getenv("PP_KAFKA_BROKERS");
    if (!brokers)
        brokers = "127.0.0.1:55092";
    if (argc == 4 && strcmp(argv[1], "create") == 0) {
        long n = strtol(argv[3], NULL, 10);
        return create(brokers, argv[2], n > 0 && n < 1000 ? (int)n : 1);
    }
    if (argc == 3 && strcmp(argv[1], "ids") == 0)
        return ids(brokers, argv[2], 0);
    if (argc == 3 && strcmp(argv[1], "records") == 0)
        return ids(brokers, argv[2], 1);
    fprintf(stderr, "usage: pp-test-kafka create TOPIC PARTITIONS | ids TOPIC | records TOPIC\n");
    return 2;
}
