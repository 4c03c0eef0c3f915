/* kafka.c - librdkafka configuration from pp_config, idempotent producer and reader helpers. */
#include "kafka.h"
#include "err.h"
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int pp_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                      size_t errlen)
{
    char e[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, name, value, e, sizeof e);
    if (res != RD_KAFKA_CONF_OK) {
        /* The value only when it cannot be a secret: this ends in a log line, and a misspelt
         * rdkafka.sasl.pasword is unknown to librdkafka and to pp_config_rdkafka_is_secret. */
        bool shown = res != RD_KAFKA_CONF_UNKNOWN && !pp_config_rdkafka_is_secret(name);
        snprintf(err, errlen, "%s=%s: %s", name, shown ? value : "***", e);
        return PP_ECONFIG;
    }
    return PP_OK;
}

/* librdkafka's own lines (syslog levels, from its threads) through the one logger. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    pp_log_level_t l = level <= 3   ? PP_LOG_ERROR
                       : level == 4 ? PP_LOG_WARN
                       : level <= 6 ? PP_LOG_INFO
                                    : PP_LOG_DEBUG;
    pp_log(l, "kafka %s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}

rd_kafka_conf_t *pp_kafka_conf_new(const pp_config_t *cfg, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (pp_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < cfg->n_rdkafka_props; i++) {
        if (pp_kafka_conf_set(conf, cfg->rdkafka_props[2 * i], cfg->rdkafka_props[2 * i + 1], err,
                              errlen) != 0)
            goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* True if the operator set librdkafka property name through rdkafka.* (it then wins). */
static int passed_through(const pp_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_rdkafka_props; i++)
        if (strcmp(cfg->rdkafka_props[2 * i], name) == 0)
            return 1;
    return 0;
}

/* kafka_compression_level for the codecs that take one (docs/benchmarks.md: zstd's default
 * level 3 built and cleared larger tables for every batch than level 1). */
static int set_level(const pp_config_t *cfg, rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    const char *c = cfg->kafka_compression;
    char level[24];
    if (passed_through(cfg, "compression.level") || cfg->kafka_compression_level < 0 ||
        (strcmp(c, "gzip") != 0 && strcmp(c, "lz4") != 0 && strcmp(c, "zstd") != 0))
        return PP_OK;
    snprintf(level, sizeof level, "%ld", cfg->kafka_compression_level);
    return pp_kafka_conf_set(conf, "compression.level", level, err, errlen);
}

int pp_kafka_producer_new(const pp_config_t *cfg,
                          void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                          void *opaque, rd_kafka_t **out)
{
    char err[512];
    rd_kafka_conf_t *conf = pp_kafka_conf_new(cfg, err, sizeof err);
    if (!conf)
        goto fail;
    if (pp_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) != 0 ||
        pp_kafka_conf_set(conf, "acks", "all", err, sizeof err) != 0)
        goto fail;
    if (!passed_through(cfg, "compression.type") && !passed_through(cfg, "compression.codec") &&
        (pp_kafka_conf_set(conf, "compression.type", cfg->kafka_compression, err, sizeof err) != 0 ||
         set_level(cfg, conf, err, sizeof err) != 0))
        goto fail;
    /* The relay hands rows over a round at a time, so batches fill without waiting: librdkafka's
     * 5 ms would only add to each message's latency (an idle relay's commit -> acknowledged
     * p50 went from ~10 to ~6 ms; its throughput did not change). */
    if (!passed_through(cfg, "linger.ms") && !passed_through(cfg, "queue.buffering.max.ms") &&
        pp_kafka_conf_set(conf, "linger.ms", "1", err, sizeof err) != 0)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        goto fail; /* conf is still ours on failure */
    pp_info("kafka: producer for %s: librdkafka %s, compression.type %s (level %ld)",
            cfg->kafka_brokers, rd_kafka_version_str(),
            passed_through(cfg, "compression.type") || passed_through(cfg, "compression.codec")
                ? "(rdkafka.* pass-through)"
                : cfg->kafka_compression,
            cfg->kafka_compression_level);
    *out = rk;
    return PP_OK;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    pp_error("kafka: cannot create producer for %s: %s", cfg->kafka_brokers, err);
    return PP_EKAFKA;
}

int pp_kafka_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *payload,
                     size_t len, const char *event_id, void *msg_opaque, rd_kafka_resp_err_t *kerr)
{
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)payload, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_HEADER(PP_KAFKA_EVENT_ID_HEADER, event_id,
                                            (ssize_t)strlen(event_id)),
                          RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    if (kerr)
        *kerr = e;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return PP_OK;
    return e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? PP_EAGAIN : PP_EKAFKA;
}

int pp_kafka_wakeup_pipe(rd_kafka_t *rk, int fds[2])
{
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        fds[0] = fds[1] = -1;
        return PP_EIO;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_get_main(rk);
    rd_kafka_queue_io_event_enable(q, fds[1], "1", 1);
    rd_kafka_queue_destroy(q);
    return PP_OK;
}

int pp_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *out)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return PP_EKAFKA;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    int rc = PP_EKAFKA;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pp_warn("kafka: metadata of topic %s: %s", topic, rd_kafka_err2str(e));
        goto done;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        pp_warn("kafka: metadata of topic %s: %s", topic,
                md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "topic missing");
        goto done;
    }
    *out = md->topics[0].partition_cnt;
    rc = PP_OK;
done:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

int pp_kafka_reader_new(const pp_config_t *cfg, rd_kafka_t **out, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = pp_kafka_conf_new(cfg, err, errlen);
    if (!conf)
        return PP_ECONFIG;
    /* A group id is needed by librdkafka's consumer API but never joined: assign() only. */
    if (pp_kafka_conf_set(conf, "group.id", "pp-relay-reconcile", err, errlen) != 0 ||
        pp_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) != 0 ||
        pp_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) != 0 ||
        pp_kafka_conf_set(conf, "enable.partition.eof", "true", err, errlen) != 0 ||
        pp_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return PP_ECONFIG;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return PP_EKAFKA;
    }
    *out = rk;
    return PP_OK;
}
