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

/* Carriers in the registry at most, and config keys of one carrier at most (rps, per_day and
 * its own: base URL, credentials, ...). */
#define PP_CARRIERS_MAX 16
#define PP_CARRIER_KEYS_MAX 8

/* A key's type, and a value of any type (a carrier key's storage). */
typedef enum { PP_CFG_STR, PP_CFG_INT, PP_CFG_BOOL } pp_config_type_t;
typedef union pp_config_value {
    char *s;
    long i;
    bool b;
} pp_config_value_t;

/*
 * X(type, name, default, min, max, reloadable, doc). The table runs HEAD, then every
 * carrier's own keys (<carrier>_rps, <carrier>_base_url, ...: the `keys` of its row in
 * carriers/registry.c, one block per carrier in registry order), then TAIL.
 */
/* clang-format off */
#define PP_CONFIG_KEYS_HEAD(X)                                                                      \
    X(STR, db_url, "postgresql://postgres@127.0.0.1:55432/parcelpush", 0, 0, 0,                 \
      "libpq connection string of the parcelpush database (connect_timeout 10 s, keepalives after 30 s idle, tcp_user_timeout 30 s, unless it says otherwise)")                                    \
    X(INT, db_pool_size, "4", 1, 64, 0, "database connections per process (each used by one worker thread)") \
    X(STR, kafka_brokers, "127.0.0.1:55092", 0, 0, 0, "Kafka bootstrap servers (host:port,...)") \
    X(STR, kafka_compression, "zstd", 0, 0, 0,                                                 \
      "compression.type of the producers (relay, dead-letter): none, gzip, snappy, lz4 or zstd; an rdkafka.compression.type pass-through wins") \
    X(INT, kafka_compression_level, "1", -1, 12, 0,                                            \
      "compression.level of the producers for gzip, lz4 and zstd: 1 the fastest, -1 the codec's own default (zstd's 3 cost a poller ~7 % more CPU on the all-change mix); an rdkafka.compression.level pass-through wins") \
    X(STR, topic, "shipment-status.v1", 0, 0, 0, "Kafka topic of shipment status events")     \
    X(STR, dlq_topic, "shipment-status.v1.dlq", 0, 0, 0,                                      \
      "dead-letter topic for events the notifier cannot handle")                               \
    X(STR, im_link_topic, "im-link-code.v1", 0, 0, 0,                                         \
      "Kafka topic of IM-link verification codes (pp-api writes them to the outbox, the notifier sends them)") \
    X(STR, worker_id, "", 0, 0, 0, "worker name in the workers table; empty = kind-host-pid")  \
    X(STR, env, "production", 0, 0, 0,                                                         \
      "dev allows the development defaults; anything else is production: a daemon refuses to start on " \
      "one (db_url not set; kafka_brokers not set for pp-poller and pp-notifier; for pp-notifier and " \
      "pp-bot xmpp_password still the demo botpass or xmpp_tls off). deploy/local/stack env and the " \
      "tests set PP_ENV=dev") \
    X(STR, ops_addr, "", 0, 0, 0,                                                              \
      "the ops listener: /livez, /readyz (= /healthz), /metrics. host:port, or a host alone for the " \
      "process kind's port (pp-poller 9470, pp-notifier 9471, pp-api 9472, pp-bot 9473; 0.0.0.0 = " \
      "every kind on its port on all interfaces); empty = 127.0.0.1 on the kind's port; port 0 = any " \
      "free port, logged at start. Formerly metrics_addr") \
    X(STR, log_level, "info", 0, 0, 1, "debug, info, warn or error")                           \
    X(STR, log_format, "text", 0, 0, 1,                                                        \
      "text (a line: time process[pid] level: message) or json (an object a line: time, level, process, pid, worker, the line's fields such as shipment_id, carrier, event_id, user_id, partition, offset, then msg; librdkafka's lines too; docs/operations.md Logs)") \
    X(INT, heartbeat_interval_ms, "2000", 100, 60000, 1, "workers-table heartbeat period")     \
    X(INT, poll_batch, "200", 1, 10000, 1, "poller: shipments claimed per claim round trip")   \
    X(INT, poll_concurrency, "128", 1, 10000, 1, "poller: carrier requests in flight at most") \
    X(INT, lease_s, "60", 5, 3600, 1, "poller: how long a claim is held before others may take it") \
    X(INT, claim_interval_ms, "200", 10, 60000, 1, "poller: idle wait between claim rounds")   \
    X(INT, http_timeout_ms, "15000", 100, 300000, 1, "poller: whole-request timeout for carrier calls") \
    X(BOOL, carrier_http2, "true", 0, 0, 0,                                                  \
      "poller, bot: HTTP/2 to carriers over HTTPS where the carrier offers it (ALPN): many requests as streams of a few connections; false = HTTP/1.1, one connection per request in flight (docs/operations.md)") \
    X(INT, carrier_max_connections, "64", 1, 10000, 0,                                      \
      "poller, bot: HTTPS connections to one carrier host at most (per process); over HTTP/2 each carries up to 100 requests (fewer if the carrier says so), over HTTP/1.1 one, so it is then also the most requests in flight to that carrier; plain http has no cap") \
    X(STR, carrier_ca_file, "", 0, 0, 0,                                                       \
      "poller, bot: PEM file of the CAs trusted for carriers' HTTPS instead of the system's bundle (the system's CA directory stays trusted): a carrier behind a private CA, or the test simulator's; empty = the system's") \
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
    X(INT, relay_interval_ms, "1000", 5, 60000, 1,                                            \
      "poller: an idle relay looks at the outbox this often even without a notification (an outbox insert's NOTIFY wakes it at once)") \
    X(INT, relay_linger_ms, "10", 0, 1000, 1,                                                 \
      "poller: a relay fetch that does not follow a full one waits until Kafka acknowledged the rounds in flight and this long after the last fetch, so that commits arriving together leave in one round (0 = only the acknowledgements)") \
    X(INT, relay_lock_retry_ms, "2000", 50, 600000, 1,                                        \
      "poller: how often a poller without the relay lock tries to take it")                    \
    X(INT, relay_crash_after_produce, "0", 0, 1000000, 0,                                      \
      "test only: SIGKILL the poller at the N-th delivery report, before marking (0 = off)")   \
    X(INT, not_found_grace_s, "259200", 60, 31536000, 1,                                      \
      "poller: a number unknown to the carrier for this long since entry is polled every "      \
      "interval_not_found_late_s instead (logged once; it still expires after expire_after_s)") \
    X(INT, interval_not_found_late_s, "21600", 1, 604800, 1,                                   \
      "poller: poll interval of a number still unknown after not_found_grace_s")               \
    X(INT, stale_after_s, "259200", 60, 31536000, 1,                                          \
      "poller: no key change for this long -> status intervals x stale_factor (a stuck parcel costs less budget)") \
    X(INT, stale_factor, "2", 1, 100, 1, "poller: interval multiplier for stale shipments (1 = off)") \
    X(INT, budget_sync_ms, "1000", 50, 600000, 1,                                              \
      "poller: how often the live-poller count and the per-day carrier usage are synced with Postgres") \
    X(INT, breaker_window, "20", 1, 256, 1, "poller and bot: circuit breaker: last N requests per carrier judged") \
    X(INT, breaker_min_requests, "10", 1, 256, 1,                                              \
      "poller and bot: circuit breaker: requests in the window before it may open")                    \
    X(INT, breaker_failure_pct, "50", 1, 100, 1,                                               \
      "poller and bot: circuit breaker: opens when this % of the window failed (transport, timeout, 5xx, unparseable)") \
    X(INT, breaker_cooldown_ms, "30000", 10, 3600000, 1,                                       \
      "poller and bot: circuit breaker: open this long before one probe request (doubles per failed probe)") \
    X(INT, breaker_cooldown_max_ms, "600000", 10, 86400000, 1,                                 \
      "poller and bot: circuit breaker: cap of the doubled cool-down")

#define PP_CONFIG_KEYS_TAIL(X)                                                                 \
    X(STR, group_id, "pp-notifier", 0, 0, 0, "notifier: Kafka consumer group")                 \
    X(STR, notifier_channel, "xmpp", 0, 0, 0,                                                  \
      "notifier: the IM channel it sends over, by name (notifier/channels/channel.c lists them: xmpp; sink, benchmark only, see notifier_sink_benchmark); buyers linked to another channel are skipped (no_im)") \
    X(BOOL, notifier_sink_benchmark, "false", 0, 0, 0,                                        \
      "benchmark only (tools/bench/fleet-bench): lets notifier_channel = sink start, a channel that takes every message to an XMPP buyer as delivered at once and sends it nowhere (ledger rows 'sent' that no buyer got); without it the notifier refuses the sink at start-up. Never in production") \
    X(STR, xmpp_host, "127.0.0.1", 0, 0, 0, "notifier: XMPP server host")                      \
    X(INT, xmpp_port, "55222", 1, 65535, 0, "notifier: XMPP client port")                      \
    X(STR, xmpp_jid, "bot@parcelpush.test", 0, 0, 0, "notifier: bot account JID")             \
    X(STR, xmpp_password, "botpass", 0, 0, 0, "notifier: bot account password")               \
    X(BOOL, xmpp_tls, "false", 0, 0, 0, "notifier: require STARTTLS (verify with the system CAs)") \
    X(INT, send_retry_max_ms, "30000", 100, 3600000, 0, "notifier: cap of the send retry back-off") \
    X(INT, send_batch, "1000", 1, 10000, 0, "notifier: events handled per batch before a flush") \
    X(BOOL, notifier_archive_check, "true", 0, 0, 0,                                          \
      "notifier: before re-sending a message left in flight (crash, lost connection), ask the IM " \
      "server's archive (XMPP: XEP-0313 MAM) whether it was already routed; false = at least once") \
    X(INT, notifier_archive_margin_s, "30", 0, 86400, 1,                                       \
      "notifier: search the IM archive from this long before the oldest in-flight ledger row was created (clock skew between the database and the IM server)") \
    X(BOOL, notifier_resend_in_doubt, "false", 0, 0, 0,                                      \
      "notifier: a message the IM server archived but never confirmed before it crashed (the newest " \
      "of its connection) may never have been stored for the buyer; the server's delivery module " \
      "(deploy/prosody/mod_pp_delivery.lua) decides it. Only when the server cannot tell: true = " \
      "send it again with the same id (a buyer whose client does not drop a repeat by id may see " \
      "it twice), false = take it as delivered (it may be lost); either way logged and counted") \
    X(INT, notifier_poison_after, "3", 1, 1000, 0,                                           \
      "notifier: a message that alone in flight loses the IM connection this many times is failed " \
      "for good (ledger 'failed', dead-letter entry); after a failed barrier of several messages the " \
      "rest of the batch goes one per barrier") \
    X(INT, notifier_crash_after_send, "0", 0, 1000000, 0,                                      \
      "test only: _exit(137) once the N-th batch's barrier came back, before marking it sent (0 = off)") \
    X(INT, bot_fresh_s, "300", 0, 604800, 1,                                                   \
      "bot: a shipment polled within this many seconds is answered from Postgres, else one live carrier call") \
    X(STR, bot_resource, "pp-bot", 0, 0, 0, "bot: XMPP resource of the bot's session (same account as xmpp_jid)") \
    X(INT, bot_priority, "10", 1, 127, 0,                                                      \
      "bot: presence priority; above the notifier's 0 so chats to the bare JID reach the bot") \
    X(INT, bot_carrier_timeout_ms, "5000", 100, 300000, 1, "bot: whole-request timeout of a live carrier call") \
    X(INT, bot_max_wait_ms, "2000", 0, 600000, 1,                                              \
      "bot: longest wait for the carrier's budget, token or Retry-After pause before answering: try again later") \
    X(INT, bot_day_share_pct, "5", 0, 100, 1,                                                  \
      "bot: percent of each carrier's <carrier>_per_day quota the bot's live calls may use; reserved in carrier_usage while a bot runs (the pollers keep the rest); 0 = no live calls to carriers with a day quota") \
    X(INT, bot_senders_max, "10000", 16, 1000000, 0,                                          \
      "bot: writers whose per-sender limits are remembered (the least recently seen is forgotten first, and starts again with full buckets; its live lookups of the day are counted apart and survive)") \
    X(INT, bot_sender_msgs_per_min, "20", 1, 6000000, 1, "bot: messages per minute answered per writer (token bucket refill)") \
    X(INT, bot_sender_msgs_burst, "10", 1, 100000, 1,                                          \
      "bot: messages a writer may send in a burst; beyond, one polite refusal per minute at most and the rest unanswered") \
    X(INT, bot_sender_live_per_min, "6", 1, 6000000, 1, "bot: live carrier lookups per minute per writer (token bucket refill)") \
    X(INT, bot_sender_live_burst, "3", 1, 100000, 1,                                           \
      "bot: live carrier lookups a writer may cause in a burst; beyond, a known parcel is answered from Postgres, an unknown one with one refusal per minute") \
    X(INT, bot_sender_live_per_day, "200", 0, 100000000, 1,                                    \
      "bot: live carrier lookups per writer per UTC day (0 = no cap), so one writer cannot use up the bot's day share for everyone") \
    X(STR, api_addr, "127.0.0.1:8080", 0, 0, 0, "api: listen address of the HTTP API (port 0 = any free port, logged at start)") \
    X(BOOL, api_access_log, "true", 0, 0, 1,                                                   \
      "api: one log line per request at info (method, path without secrets, status, bytes, duration, client address, X-Request-Id, the buyer or seller; JSON fields with log_format = json); false = none") \
    X(STR, api_service_key, "", 0, 0, 1,                                                      \
      "api: the marketplace's service key (Bearer) for /v1/users and /v1/transactions (empty = feed refused)") \
    X(INT, api_max_body, "65536", 64, 16777216, 0,                                            \
      "api: largest accepted request body in bytes; a larger one is answered 413 while reading, before authentication, and the connection closed") \
    X(INT, api_key_cache_ms, "5000", 0, 600000, 1,                                              \
      "api: a seller key found valid is trusted this long without asking Postgres (0 = ask every time; a replaced key works this long more)") \
    X(INT, api_rate_per_min, "1200", 1, 60000000, 1, "api: requests per minute allowed per API key (token bucket refill)") \
    X(INT, api_rate_burst, "40", 1, 1000000, 1, "api: token bucket size per API key (burst; 429 + Retry-After when empty)") \
    X(INT, api_auth_fail_per_min, "30", 1, 60000000, 1,                                       \
      "api: failed authentications per minute allowed per client address (IPv6: per /64); beyond, keys that are not valid at once are answered 429 + Retry-After without a database lookup") \
    X(INT, api_auth_fail_burst, "20", 1, 1000000, 1, "api: failed authentications a client address may make in a burst before api_auth_fail_per_min applies") \
    X(INT, api_auth_fail_net_per_min, "120", 1, 60000000, 1,                                   \
      "api: failed authentications per minute allowed per client network (IPv4 /24, IPv6 /48), so many addresses of one network cannot multiply api_auth_fail_per_min") \
    X(INT, api_auth_fail_net_burst, "60", 1, 1000000, 1, "api: failed authentications a client network may make in a burst before api_auth_fail_net_per_min applies") \
    X(INT, api_auth_fail_global_per_min, "6000", 1, 60000000, 1,                               \
      "api: failed authentications per minute of all clients together, per pp-api process: the most Postgres lookups unknown keys can cost, however many addresses send them (a deployment's real failures stay far below; beyond, a key not valid at once waits: 429 + Retry-After)") \
    X(INT, api_auth_fail_global_burst, "600", 1, 1000000, 1, "api: failed authentications of all clients together in a burst before api_auth_fail_global_per_min applies") \
    X(STR, api_buyer_secret, "", 0, 0, 1,                                                     \
      "api: HMAC-SHA256 secret shared with the marketplace for buyer tokens (empty = buyer routes answer 401)") \
    X(INT, api_buyer_token_max_ttl_s, "2592000", 60, 31536000, 1,                               \
      "api: longest accepted buyer-token lifetime: a token whose exp is further than this from now is refused (401), however it was signed") \
    X(INT, im_link_code_ttl_s, "600", 30, 86400, 1, "api: an IM-link verification code expires after this many seconds") \
    X(INT, im_link_max_attempts, "5", 1, 100, 1, "api: wrong codes accepted per link before a new code must be requested") \
    X(INT, im_link_resend_s, "30", 0, 3600, 1, "api: shortest interval between two codes sent to one buyer (429 + Retry-After)") \
    X(INT, web_card_refresh_s, "5", 1, 3600, 0, "api: how often the payment-card page asks for the card again")
/* clang-format on */

typedef struct pp_config {
#define PP_CFG_FIELD_STR(n) char *n;
#define PP_CFG_FIELD_INT(n) long n;
#define PP_CFG_FIELD_BOOL(n) bool n;
#define X(t, n, d, lo, hi, r, doc) PP_CFG_FIELD_##t(n)
    PP_CONFIG_KEYS_HEAD(X)
    PP_CONFIG_KEYS_TAIL(X)
#undef X
    /* Each carrier's keys (its descriptor's keys[], carriers/carrier.h), by its place in the
     * registry, then the key's index in keys[]; carrier_name[i] says whose (static string,
     * NULL past the last). Read them with pp_carrier_cfg_str/_int. */
    pp_config_value_t carrier[PP_CARRIERS_MAX][PP_CARRIER_KEYS_MAX];
    const char *carrier_name[PP_CARRIERS_MAX];
    /* librdkafka pass-through properties: name/value pairs, owned. */
    char **rdkafka_props;
    size_t n_rdkafka_props;
    char *source_path; /* the file it was loaded from (NULL: none): what a reload reads again */
    char **retired;    /* strings a reload replaced: kept until pp_config_free (a thread may */
    size_t n_retired;  /* still be reading one) */
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
/*
 * SIGHUP: load source_path and the environment again into a new configuration. Invalid: c is
 * unchanged and err says why (PP_ECONFIG / PP_ENOMEM). Valid: every key marked reloadable
 * whose value changed is copied into c and logged ("key: old -> new", secrets masked); a
 * changed key that is not reloadable is logged as ignored until a restart. *applied = keys
 * copied. Only the loop thread may call it. Other threads (the notifier's worker, the
 * poller's database jobs) may read c meanwhile: a number is one aligned store of a long (not a
 * C11 atomic: formally a race, whole on the 64-bit targets built for), and a replaced string
 * stays allocated until pp_config_free.
 */
int pp_config_reload(pp_config_t *c, int *applied, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Whether a key may change on SIGHUP (the table's reloadable column); false for unknown keys. */
bool pp_config_key_reloadable(const char *name);
/* Markdown table of every key (name, env var, type, default, reloadable, doc). */
void pp_config_print_reference(FILE *out);
/* Current value of every key as `key = value` lines; secrets shown as "***": the keys of
 * pp_config_key_is_secret, the password inside db_url, rdkafka secrets. */
void pp_config_dump(const pp_config_t *c, FILE *out);
/* A key whose whole value is a secret (api_service_key, xmpp_password, ...). */
bool pp_config_key_is_secret(const char *name);
/* A librdkafka property that carries a secret (sasl.password, ssl.key.password, ...). */
bool pp_config_rdkafka_is_secret(const char *prop);
/* db_url with its password masked (URI user:***@host and ?password=***, or key=value
 * password=***) into out (cap bytes, always NUL-terminated; truncated if too long). */
void pp_config_mask_db_url(const char *url, char *out, size_t cap);
/* The same into a per-thread buffer, for one log or error line. */
const char *pp_config_db_url_shown(const char *url);

#endif
