/*
 * pp-produce.c - test helper: create a topic, produce "key<TAB>value" lines from stdin, or
 * dump a whole topic (with headers) as JSON lines. Talks to Kafka with librdkafka only.
 *
 *   pp-produce -b BROKERS -t TOPIC -C PARTITIONS      create the topic (ok if it exists)
 *   pp-produce -b BROKERS -t TOPIC < lines             produce, wait for every ack, exit 0
 *   pp-produce -b BROKERS -t TOPIC -D                  print every message, then exit
 */
#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        fprintf(stderr, "pp-produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
        failed++;
    }
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        (type == RD_KAFKA_PRODUCER &&
         (rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
          rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err))) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) ||
          rd_kafka_conf_set(conf, "group.id", "pp-produce-dump", err, sizeof err) ||
          rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err)))) {
        fprintf(stderr, "pp-produce: %s\n", err);
        exit(2);
    }
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "pp-produce: %s\n", err);
        exit(2);
    }
    return rk;
}

static int create_topic(const char *brokers, const char *topic, int partitions)
{
    char err[512];
    int rc = 1;
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, brokers);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
    if (!nt) {
        fprintf(stderr, "pp-produce: %s\n", err);
        goto out;
    }
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    if (!ev) {
        fprintf(stderr, "pp-produce: create topic %s: timed out\n", topic);
        goto out;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
    if (!e && tr && n == 1)
        e = rd_kafka_topic_result_error(tr[0]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        fprintf(stderr, "pp-produce: create topic %s: %s\n", topic, rd_kafka_err2str(e));
    else
        rc = 0;
    rd_kafka_event_destroy(ev);
out:
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int produce(const char *brokers, const char *topic)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, brokers);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long count = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *tab = (char *)memchr(line, '\t', (size_t)len);
        if (!tab) {
            fprintf(stderr, "pp-produce: line %ld has no TAB between key and value\n", count + 1);
            return 2;
        }
        size_t klen = (size_t)(tab - line);
        char *value = tab + 1; /* the V_ macros do not parenthesize their arguments */
        for (;;) {
            rd_kafka_resp_err_t e =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(line, klen),
                                  RD_KAFKA_V_VALUE(value, (size_t)len - klen - 1), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (e) {
                fprintf(stderr, "pp-produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        count++;
        rd_kafka_poll(rk, 0);
    }
    free(line);
    if (rd_kafka_flush(rk, 30000)) {
        fprintf(stderr, "pp-produce: not all messages delivered\n");
        failed++;
    }
    rd_kafka_destroy(rk);
    if (failed)
        return 1;
    fprintf(stderr, "pp-produce: %ld message(s) to %s\n", count, topic);
    return 0;
}

/* Read every partition from the beginning to its end; one JSON object per message. */
static int dump(const char *brokers, const char *topic)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, brokers);
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "pp-produce: no metadata for %s\n", topic);
        return 1;
    }
    int np = md->topics[0].partition_cnt, eof = 0;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_poll_set_consumer(rk);
    while (eof < np) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        if (!m) {
            fprintf(stderr, "pp-produce: timed out reading %s\n", topic);
            return 1;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof++;
        } else if (m->err) {
            fprintf(stderr, "pp-produce: %s\n", rd_kafka_message_errstr(m));
        } else {
            cJSON *o = cJSON_CreateObject(), *h = cJSON_CreateObject();
            char *k = strndup(m->key ? m->key : "", m->key_len);
            char *v = strndup(m->payload ? m->payload : "", m->len);
            cJSON_AddNumberToObject(o, "partition", m->partition);
            cJSON_AddNumberToObject(o, "offset", (double)m->offset);
            cJSON_AddStringToObject(o, "key", k);
            cJSON_AddStringToObject(o, "value", v);
            rd_kafka_headers_t *hdrs;
            if (rd_kafka_message_headers(m, &hdrs) == 0) {
                const char *name;
                const void *val;
                size_t vlen;
                for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen); i++) {
                    char *hv = strndup(val ? val : "", vlen);
                    cJSON_AddStringToObject(h, name, hv);
                    free(hv);
                }
            }
            cJSON_AddItemToObject(o, "headers", h);
            char *s = cJSON_PrintUnformatted(o);
            printf("%s\n", s);
            free(s);
            free(k);
            free(v);
            cJSON_Delete(o);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv)
{
    const char *brokers = "127.0.0.1:55092", *topic = NULL;
    int opt, partitions = 0, dump_mode = 0;
    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt(argc, argv, "b:t:C:D")) != -1) {
        switch (opt) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'C': partitions = (int)strtol(optarg, NULL, 10); break;
        case 'D': dump_mode = 1; break;
        default:
            topic = NULL;
            optind = argc;
            break;
        }
    }
    if (!topic || partitions < 0) {
        fprintf(stderr,
                "usage: pp-produce [-b BROKERS] -t TOPIC [-C PARTITIONS | -D] < key<TAB>value lines\n");
        return 2;
    }
    if (partitions > 0)
        return create_topic(brokers, topic, partitions);
    return dump_mode ? dump(brokers, topic) : produce(brokers, topic);
}
