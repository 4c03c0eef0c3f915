/* kafka.h - librdkafka wrappers: configuration from pp_config, idempotent producer, helpers. */
#ifndef PP_KAFKA_H
#define PP_KAFKA_H

#include "config.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Header carrying the event's UUID on every message the relay produces. */
#define PP_KAFKA_EVENT_ID_HEADER "pp-event-id"

/*
 * New rd_kafka_conf_t with bootstrap.servers = cfg->kafka_brokers, then every
 * cfg->rdkafka_props pass-through (they win). NULL on error with a reason in err.
 */
rd_kafka_conf_t *pp_kafka_conf_new(const pp_config_t *cfg, char *err, size_t errlen);
/* Set one property; PP_ECONFIG with "name=value: reason" in err. */
int pp_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/*
 * Idempotent producer (enable.idempotence=true, acks=all, pass-through props applied after
 * the defaults but idempotence/acks forced; compression.type = cfg->kafka_compression and
 * linger.ms = 1 unless passed through). dr is the delivery-report callback, run by
 * rd_kafka_poll() on the caller's thread; opaque is rd_kafka_opaque(). Caller destroys
 * the handle with rd_kafka_destroy() after flushing.
 */
int pp_kafka_producer_new(const pp_config_t *cfg,
                          void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                          void *opaque, rd_kafka_t **out) __attribute__((warn_unused_result));

/*
 * Produce one message (payload and key are copied) with the pp-event-id header.
 * msg_opaque comes back in the delivery report. PP_EAGAIN when the local queue is full,
 * PP_EKAFKA otherwise (reason logged by the caller with rd_kafka_err2str(*kerr)).
 */
int pp_kafka_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *payload,
                     size_t len, const char *event_id, void *msg_opaque, rd_kafka_resp_err_t *kerr)
    __attribute__((warn_unused_result));

/* A pipe whose read end (fds[0], non-blocking) gets a byte whenever rk's main queue (delivery
 * reports, errors) has an event: an event loop watches it instead of polling. PP_EIO (errno). */
int pp_kafka_wakeup_pipe(rd_kafka_t *rk, int fds[2]) __attribute__((warn_unused_result));

/* Number of partitions of topic (blocking metadata request up to timeout_ms). */
int pp_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int *out)
    __attribute__((warn_unused_result));

/*
 * Consumer with no group (for assign() and reading ranges): no offset commits,
 * partition EOF events on. Blocking use only (a worker thread).
 */
int pp_kafka_reader_new(const pp_config_t *cfg, rd_kafka_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
