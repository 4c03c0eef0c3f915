/* topics.c - `ppctl topics`: create the event, dead-letter and IM-link topics (Kafka admin). */
#include "ppctl.h"
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

int ppctl_topics(ppctl_t *ctl, int argc, char **argv)
{
    long long partitions = 12, dlq_partitions = 3;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--partitions")) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--partitions", v, 1, 1000, &partitions))
                return 2;
        } else {
            fprintf(stderr, "usage: ppctl topics [--partitions N]\n");
            return 2;
        }
    }
    char err[512];
    /* pp_kafka_conf_new: the brokers, the rdkafka.* properties (SASL, TLS: a cluster that
     * wants them answers nothing without) and librdkafka's lines through the logger */
    rd_kafka_conf_t *conf = pp_kafka_conf_new(&ctl->cfg, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "ppctl topics: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "ppctl topics: %s\n", err);
        return 1;
    }
    /* Shipment events, their dead letters, IM-link codes (few: 3 partitions). */
    const char *names[3] = {ctl->cfg.topic, ctl->cfg.dlq_topic, ctl->cfg.im_link_topic};
    int parts[3] = {(int)partitions, (int)dlq_partitions, 3};
    rd_kafka_NewTopic_t *nt[3];
    for (int i = 0; i < 3; i++)
        nt[i] = rd_kafka_NewTopic_new(names[i], parts[i], 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, 3, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int status = 1;
    if (!ev) {
        fprintf(stderr, "ppctl topics: no answer from Kafka at %s within 30 s\n",
                ctl->cfg.kafka_brokers);
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "ppctl topics: %s\n", rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        status = 0;
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                printf("topic %s exists\n", rd_kafka_topic_result_name(res[i]));
            else if (e) {
                fprintf(stderr, "ppctl topics: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_topic_result_error_string(res[i]));
                status = 1;
            } else
                printf("topic %s created\n", rd_kafka_topic_result_name(res[i]));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < 3; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_destroy(rk);
    return status;
}
