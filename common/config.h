/*
 * config.h - the one declarative table of configuration keys for every process.
 * Sources, later wins: built-in default, config file (`key = value` lines), environment
 * (PP_<KEY upper-cased>). librdkafka properties pass through as `rdkafka.<prop> = v` in the
 * file or PP_RDKAFKA_<PROP with '_' for '.'> in the environment.
 */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* X(type, name, default, min, max, reloadable, doc) */
#define PP_CONFIG_KEYS(X)                                                                      \
    X(STR, db_url, "postgresql://postgres@127.0.0.1:55432/parcelpush", 0, 0, 0,                 \
      "libpq connection string of the parcelpush database")                                    \
    X(INT, db_pool_size, "4", 1, 64, 0, "database connections per process (each used by one worker thread)") \
    X(STR, kafka_brokers, "127.0.0.1:55092", 0, 0, 0, "Kafka bootstrap servers (host:port,...)") \
    X(STR, topic, "shipment-status.v1", 0, 0, 0, "Kafka topic of shipment status events")     \
    X(STR, dlq_topic, "shipment-status.v1.dlq", 0, 0, 0,                                      \
      "dead-letter topic for events the notifier cannot handle")                               \
    X(STR, worker_id, "", 0, 0, 0, "worker name in the workers table; empty = kind-host-pid")  \
    X(STR, metrics_addr, "127.0.0.1:0", 0, 0, 0,                                              \
      "listen address of /metrics and /healthz (port 0 = any free port, logged at start)")     \
    X(STR, log_level, "info", 0, 0, 1, "debug, info, warn or error")                           \
    X(INT, heartbeat_interval_ms, "2000", 100, 60000, 1, "workers-table heartbeat period")     \
    X(INT, poll_batch, "200", 1, 10000, 1, "poller: shipments claimed per claim round trip")   \
    X(INT, poll_concurrency, "128", 1, 10000, 1, "poller: carrier requests in flight at most") \
    X(INT, lease_s, "60", 5, 3600, 1, "poller: how long a claim is held before others may take it") \
    X(INT, claim_interval_ms, "200", 10, 60000, 1, "poller: idle wait between claim rounds")   \
    X(INT, http_timeout_ms, "15000", 100, 300000, 1, "poller: whole-request timeout for carrier calls") \
    X(INT, speed, "1", 1, 100000, 0,                                                          \
      "divide every schedule interval by this (demo/test clock acceleration; 1 in production)") \
    X(INT, interval_info_received_s, "14400", 1, 604800, 1, "poll interval while info_received") \
    X(INT, interval_in_transit_s, "7200", 1, 604800, 1, "poll interval while in_transit")      \
    X(INT, interval_last_mile_s, "1200", 1, 604800, 1,                                         \
      "poll interval while out_for_delivery or available_for_pickup")                          \
    X(INT, interval_exception_s, "7200", 1, 604800, 1, "poll interval while delivery_failed or exception") \
    X(INT, interval_not_found_s, "1800", 1, 604800, 1, "poll interval while the carrier does not know the number") \
    X(INT, interval_error_s, "300", 1, 86400, 1, "first retry after a failed carrier call (doubles, with jitter)") \
    X(INT, error_backoff_max_s, "3600", 1, 604800, 1, "poller: cap of the error back-off (before / speed)") \
    X(INT, expire_after_s, "2592000", 60, 31536000, 1, "no change for this long -> expired (terminal)") \
    X(INT, relay_batch, "500", 1, 100000, 1, "poller: outbox rows read per relay round")       \
    X(INT, relay_interval_ms, "100", 5, 60000, 1, "poller: idle wait between outbox relay rounds") \
    X(INT, relay_lock_retry_ms, "2000", 50, 600000, 1,                                        \
      "poller: how often a poller without the relay lock tries to take it")                    \
    X(INT, relay_crash_after_produce, "0", 0, 1000000, 0,                                      \
      "test only: SIGKILL the poller at the N-th delivery report, before marking (0 = off)")   \
    X(STR, inpost_base_url, "https://api-shipx-pl.easypack24.net", 0, 0, 1, "InPost ShipX API base URL") \
    X(STR, inpost_token, "", 0, 0, 1, "InPost ShipX bearer token (empty = none)")              \
    X(STR, group_id, "pp-notifier", 0, 0, 0, "notifier: Kafka consumer group")                 \
    X(STR, xmpp_host, "127.0.0.1", 0, 0, 0, "notifier: XMPP server host")                      \
    X(INT, xmpp_port, "55222", 1, 65535, 0, "notifier: XMPP client port")                      \
    X(STR, xmpp_jid, "bot@parcelpush.test", 0, 0, 0, "notifier: bot account JID")             \
    X(STR, xmpp_password, "botpass", 0, 0, 0, "notifier: bot account password")               \
    X(BOOL, xmpp_tls, "false", 0, 0, 0, "notifier: require STARTTLS (verify with the system CAs)") \
    X(INT, send_retry_max_ms, "30000", 100, 3600000, 1, "notifier: cap of the send retry back-off") \
    X(INT, send_batch, "200", 1, 10000, 1, "notifier: events handled per batch before a flush")

typedef struct pp_config {
#define PP_CFG_FIELD_STR(n) char *n;
#define PP_CFG_FIELD_INT(n) long n;
#define PP_CFG_FIELD_BOOL(n) bool n;
#define X(t, n, d, lo, hi, r, doc) PP_CFG_FIELD_##t(n)
    PP_CONFIG_KEYS(X)
#undef X
    /* librdkafka pass-through properties: name/value pairs, owned. */
    char **rdkafka_props;
    size_t n_rdkafka_props;
} pp_config_t;

/* Defaults only. */
int pp_config_init(pp_config_t *c) __attribute__((warn_unused_result));
/* Set one key from text, with type and range checks; err names key and reason. */
int pp_config_set(pp_config_t *c, const char *key, const char *value, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int pp_config_load_file(pp_config_t *c, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int pp_config_load_env(pp_config_t *c, char *err, size_t errlen) __attribute__((warn_unused_result));
/* init + file (if path) + env. */
int pp_config_load(pp_config_t *c, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void pp_config_free(pp_config_t *c);
/* Markdown table of every key (name, env var, type, default, reloadable, doc). */
void pp_config_print_reference(FILE *out);
/* Current value of every key as `key = value` lines (passwords masked). */
void pp_config_dump(const pp_config_t *c, FILE *out);

#endif
