/*
 * retention.c - the outbox and the notification ledger kept for a bounded time, the second
 * half of `ppctl archive` (archive.c moves finished parcels; this drops rows nobody needs).
 *
 * The outbox. A row is needed until the relay has published it: the relay fetches and
 * reconciles unpublished rows only (relay_db.c, reconcile.c). A published row is history,
 * and an IM-link code's row holds the code in clear. Rows published more than --outbox-days
 * ago go, in id order, a page at a time; a row not published yet always stays.
 *
 * The ledger (notifications). A row is what makes a second delivery of the same event a
 * no-op, so it must outlive every copy of its event that Kafka may deliver again: on the
 * event topics (a consumer group rewound) and on the dead-letter topic (`ppctl dlq
 * replay`). Rows older than --ledger-days go only when that is longer than the retention of
 * each of those topics, read from Kafka itself (retention.ms; a topic that does not exist
 * delivers nothing); a topic kept forever, or a Kafka that does not answer, keeps the ledger
 * whole and fails the run. A row still
 * 'sending' (a notifier decided it and has not settled it) always stays.
 */
#include "retention.h"
#include "db.h"
#include "err.h"
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KAFKA_TIMEOUT_MS 10000

/* A page of the outbox after the cursor, in id order; of it, the rows published before the
 * cutoff deleted. Returns the page's last id, the page's size, how many rows of the page were
 * written after the cutoff (the end: no later row can have been published before it) and how
 * many were deleted. */
static const char outbox_sql[] =
    "WITH page AS (SELECT id, created_at, published_at FROM outbox WHERE id > $1::bigint "
    "              ORDER BY id LIMIT $2::int), "
    "del AS (DELETE FROM outbox o USING page WHERE o.id = page.id "
    "        AND page.published_at < now() - make_interval(days => $3::int) RETURNING 1) "
    "SELECT coalesce(max(id), 0), count(*), "
    "       count(*) FILTER (WHERE created_at >= now() - make_interval(days => $3::int)), "
    "       (SELECT count(*) FROM del) FROM page";

/* A batch of settled ledger rows created before the cutoff (the notifications_created index,
 * schema 0010); 'sending' rows stay. */
static const char ledger_sql[] =
    "WITH del AS (DELETE FROM notifications WHERE ctid = ANY (ARRAY("
    "  SELECT ctid FROM notifications WHERE created_at < now() - make_interval(days => $1::int) "
    "  AND state <> 'sending' LIMIT $2::int)) RETURNING 1) SELECT count(*) FROM del";

int ppctl_prune_outbox(PGconn *c, long long days, long long batch, long long *deleted)
{
    char cur[24] = "0", d[24], b[24];
    snprintf(d, sizeof d, "%lld", days);
    snprintf(b, sizeof b, "%lld", batch);
    *deleted = 0;
    for (;;) {
        PGresult *r = NULL;
        const char *p[] = {cur, b, d};
        int rc = pp_db_exec(c, "retention: outbox page", outbox_sql, 3, p, &r);
        if (rc)
            return rc;
        long long page = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        long long recent = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        *deleted += strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        snprintf(cur, sizeof cur, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        if (page < batch || recent > 0)
            return PP_OK;
    }
}

int ppctl_prune_ledger(PGconn *c, long long days, long long batch, long long *deleted)
{
    char d[24], b[24];
    snprintf(d, sizeof d, "%lld", days);
    snprintf(b, sizeof b, "%lld", batch);
    *deleted = 0;
    for (;;) {
        PGresult *r = NULL;
        const char *p[] = {d, b};
        int rc = pp_db_exec(c, "retention: ledger batch", ledger_sql, 2, p, &r);
        if (rc)
            return rc;
        long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        *deleted += n;
        if (n < batch)
            return PP_OK;
    }
}

/* retention.ms of each topic from the DescribeConfigs result; -2 where it is missing. */
static int read_retention(rd_kafka_event_t *ev, const char *const *topics, size_t n, long long *ms,
                          char *err, size_t errlen)
{
    size_t cnt;
    const rd_kafka_ConfigResource_t **res =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &cnt);
    for (size_t i = 0; i < n; i++)
        ms[i] = -2;
    for (size_t k = 0; k < cnt; k++) {
        const char *name = rd_kafka_ConfigResource_name(res[k]);
        if (rd_kafka_ConfigResource_error(res[k]) == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            for (size_t i = 0; i < n; i++) /* no such topic: it delivers nothing again */
                if (strcmp(topics[i], name) == 0)
                    ms[i] = 0;
            continue;
        }
        if (rd_kafka_ConfigResource_error(res[k])) {
            snprintf(err, errlen, "topic %s: %s", name, rd_kafka_ConfigResource_error_string(res[k]));
            return -1;
        }
        size_t ne;
        const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(res[k], &ne);
        for (size_t j = 0; j < ne; j++) {
            if (strcmp(rd_kafka_ConfigEntry_name(e[j]), "retention.ms") != 0)
                continue;
            const char *v = rd_kafka_ConfigEntry_value(e[j]);
            for (size_t i = 0; i < n; i++)
                if (strcmp(topics[i], name) == 0 && v)
                    ms[i] = strtoll(v, NULL, 10);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (ms[i] == -2) {
            snprintf(err, errlen, "topic %s: Kafka told no retention.ms", topics[i]);
            return -1;
        }
    return 0;
}

int ppctl_topics_retention(const pp_config_t *cfg, long long *max_ms, char *err, size_t errlen)
{
    const char *topics[3] = {cfg->topic, cfg->dlq_topic, cfg->im_link_topic};
    rd_kafka_conf_t *conf = pp_kafka_conf_new(cfg, err, errlen);
    if (!conf)
        return -1;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk)
        return -1;
    rd_kafka_ConfigResource_t *cr[3];
    for (int i = 0; i < 3; i++)
        cr[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics[i]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, cr, 3, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KAFKA_TIMEOUT_MS);
    int rc = -1;
    long long ms[3];
    if (!ev)
        snprintf(err, errlen, "no answer from Kafka at %s within %d s", cfg->kafka_brokers,
                 KAFKA_TIMEOUT_MS / 1000);
    else if (rd_kafka_event_error(ev))
        snprintf(err, errlen, "%s", rd_kafka_event_error_string(ev));
    else if (read_retention(ev, topics, 3, ms, err, errlen) == 0) {
        *max_ms = 0;
        rc = 0;
        for (int i = 0; i < 3; i++) {
            if (ms[i] < 0) { /* -1: kept forever */
                snprintf(err, errlen, "topic %s keeps its messages forever (retention.ms %lld)",
                         topics[i], ms[i]);
                rc = -1;
                break;
            }
            if (ms[i] > *max_ms)
                *max_ms = ms[i];
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < 3; i++)
        rd_kafka_ConfigResource_destroy(cr[i]);
    rd_kafka_destroy(rk);
    return rc;
}
