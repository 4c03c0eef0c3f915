/* reconcile.c - after taking the relay lock: find outbox events already in Kafka and mark them. */
#include "poller.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_CHUNK 500
#define RECONCILE_TIMEOUT_MS 60000

static const char mark_sql[] =
    "WITH v AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::bigint[]) AS v(e, p, o)), "
    "u AS (UPDATE outbox SET published_at = now(), kafka_partition = v.p, kafka_offset = v.o "
    "      FROM v WHERE outbox.event_id = v.e AND outbox.published_at IS NULL "
    "      RETURNING outbox.topic, v.p, v.o) "
    "INSERT INTO relay_offsets (topic, kafka_partition, last_offset) "
    "SELECT topic, p, max(o) FROM u WHERE $4::boolean GROUP BY topic, p "
    "ON CONFLICT (topic, kafka_partition) DO UPDATE "
    "SET last_offset = GREATEST(relay_offsets.last_offset, EXCLUDED.last_offset), updated_at = now()";

static int array_literal(char **out, size_t n, const char *const *s, const int *i, const long long *ll)
{
    size_t cap = 16 + n * 40, len = 0;
    char *b = malloc(cap);
    if (!b)
        return PP_ENOMEM;
    b[len++] = '{';
    for (size_t k = 0; k < n; k++) {
        if (k)
            b[len++] = ',';
        int w = s ? snprintf(b + len, cap - len, "%.36s", s[k])
                  : i ? snprintf(b + len, cap - len, "%d", i[k])
                      : snprintf(b + len, cap - len, "%lld", ll[k]);
        len += (size_t)w;
    }
    b[len++] = '}';
    b[len] = '\0';
    *out = b;
    return PP_OK;
}

static int mark(PGconn *conn, const char *const *ids, const int *parts, const long long *offs,
                size_t n, bool advance)
{
    char *a = NULL, *b = NULL, *c = NULL;
    int rc = PP_OK;
    if (n == 0)
        return PP_OK;
    if ((rc = array_literal(&a, n, ids, NULL, NULL)) || (rc = array_literal(&b, n, NULL, parts, NULL)) ||
        (rc = array_literal(&c, n, NULL, NULL, offs)))
        goto done;
    const char *p[] = {a, b, c, advance ? "true" : "false"};
    rc = pp_db_exec(conn, "mark outbox published", mark_sql, 4, p, NULL);
done:
    free(a);
    free(b);
    free(c);
    return rc;
}

int pp_relay_mark(PGconn *conn, const char *const *event_ids, const int *partitions,
                  const long long *offsets, size_t n, bool advance)
{
    return mark(conn, event_ids, partitions, offsets, n, advance);
}

typedef struct found {
    char ids[MARK_CHUNK][37];
    const char *idp[MARK_CHUNK];
    int parts[MARK_CHUNK];
    long long offs[MARK_CHUNK];
    size_t n;
    long long total;
} found_t;

static int flush_found(PGconn *conn, found_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        f->idp[i] = f->ids[i];
    int rc = mark(conn, f->idp, f->parts, f->offs, f->n, false);
    if (rc == PP_OK)
        f->total += (long long)f->n;
    f->n = 0;
    return rc;
}

static int reconcile_topic(PGconn *conn, const pp_config_t *cfg, const char *topic, found_t *f)
{
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *assign = NULL;
    PGresult *r = NULL;
    long long *hi = NULL, *start = NULL;
    char *done = NULL;
    char err[512];
    int nparts = 0, rc;
    if ((rc = pp_kafka_reader_new(cfg, &rk, err, sizeof err))) {
        pp_warn("relay: reconcile %s: cannot create reader: %s", topic, err);
        goto fail;
    }
    if ((rc = pp_kafka_partition_count(rk, topic, 10000, &nparts)))
        goto fail;
    hi = calloc((size_t)nparts, sizeof *hi);
    start = calloc((size_t)nparts, sizeof *start);
    done = calloc((size_t)nparts, 1);
    assign = rd_kafka_topic_partition_list_new(nparts);
    if (!hi || !start || !done || !assign) {
        rc = PP_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < nparts; i++)
        start[i] = -1;
    const char *tp[] = {topic};
    if ((rc = pp_db_exec(conn, "read relay offsets",
                         "SELECT kafka_partition, last_offset FROM relay_offsets WHERE topic = $1", 1,
                         tp, &r)))
        goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        long p = strtol(PQgetvalue(r, i, 0), NULL, 10);
        long long o = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        if (p >= 0 && p < nparts)
            start[p] = o + 1;
    }
    PQclear(r);
    r = NULL;
    int pending = 0;
    for (int i = 0; i < nparts; i++) {
        int64_t lo = 0, h = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &h, 10000);
        if (e) {
            pp_warn("relay: reconcile %s [%d]: watermarks: %s", topic, i, rd_kafka_err2str(e));
            rc = PP_EKAFKA;
            goto fail;
        }
        hi[i] = h;
        if (start[i] < lo)
            start[i] = lo;
        if (start[i] >= h) {
            done[i] = 1;
            continue;
        }
        rd_kafka_topic_partition_list_add(assign, topic, i)->offset = start[i];
        pending++;
        pp_info("relay: reconcile %s [%d]: reading offsets %lld..%lld", topic, i, start[i], (long long)h - 1);
    }
    if (pending) {
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, assign);
        if (e) {
            pp_warn("relay: reconcile %s: assign: %s", topic, rd_kafka_err2str(e));
            rc = PP_EKAFKA;
            goto fail;
        }
    }
    int64_t deadline = pp_mono_ms() + RECONCILE_TIMEOUT_MS;
    while (pending > 0) {
        if (pp_mono_ms() > deadline) {
            pp_warn("relay: reconcile %s: %d partitions not read to the end in %d ms", topic, pending,
                    RECONCILE_TIMEOUT_MS);
            rc = PP_ETIMEOUT;
            goto fail;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        int p = m->partition;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            pp_warn("relay: reconcile %s [%d]: %s", topic, p, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!m->err) {
            rd_kafka_headers_t *hdrs = NULL;
            const void *val = NULL;
            size_t sz = 0;
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                rd_kafka_header_get_last(hdrs, PP_KAFKA_EVENT_ID_HEADER, &val, &sz) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR &&
                sz == 36) {
                memcpy(f->ids[f->n], val, 36);
                f->ids[f->n][36] = '\0';
                f->parts[f->n] = p;
                f->offs[f->n] = m->offset;
                if (++f->n == MARK_CHUNK && (rc = flush_found(conn, f))) {
                    rd_kafka_message_destroy(m);
                    goto fail;
                }
            }
        }
        if (p >= 0 && p < nparts && !done[p] &&
            (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || m->offset >= hi[p] - 1)) {
            done[p] = 1;
            pending--;
        }
        rd_kafka_message_destroy(m);
    }
    if ((rc = flush_found(conn, f)))
        goto fail;
    /* Everything below each high watermark is now accounted for. */
    for (int i = 0; i < nparts; i++) {
        if (hi[i] <= 0)
            continue;
        char ps[16], os[32];
        snprintf(ps, sizeof ps, "%d", i);
        snprintf(os, sizeof os, "%lld", hi[i] - 1);
        const char *up[] = {topic, ps, os};
        if ((rc = pp_db_exec(conn, "advance relay offset",
                             "INSERT INTO relay_offsets (topic, kafka_partition, last_offset) "
                             "VALUES ($1, $2::int, $3::bigint) ON CONFLICT (topic, kafka_partition) "
                             "DO UPDATE SET last_offset = GREATEST(relay_offsets.last_offset, "
                             "EXCLUDED.last_offset), updated_at = now()",
                             3, up, NULL)))
            goto fail;
    }
    rc = PP_OK;
fail:
    PQclear(r);
    if (assign)
        rd_kafka_topic_partition_list_destroy(assign);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    free(hi);
    free(start);
    free(done);
    return rc;
}

int pp_reconcile_run(PGconn *conn, const pp_config_t *cfg, long long *marked)
{
    PGresult *r = NULL;
    found_t *f = calloc(1, sizeof *f);
    int rc = PP_ENOMEM;
    if (!f)
        goto done;
    /* Only topics with rows that a relay may have sent (attempts > 0) but not marked. */
    rc = pp_db_exec(conn, "outbox topics to reconcile",
                    "SELECT DISTINCT topic FROM outbox WHERE published_at IS NULL AND attempts > 0",
                    0, NULL, &r);
    if (rc)
        goto done;
    for (int i = 0; i < PQntuples(r) && rc == PP_OK; i++)
        rc = reconcile_topic(conn, cfg, PQgetvalue(r, i, 0), f);
    if (marked)
        *marked = f->total;
done:
    PQclear(r);
    free(f);
    return rc;
}
