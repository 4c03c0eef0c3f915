/* reconcile.c - after taking the relay lock: find outbox events already in Kafka and mark them. */
#include "poller.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "pgarray.h"
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

/* Every round's mark: prepared once per connection (common/db.h). */
static const pp_db_stmt_t mark_stmt = {"relay_mark", mark_sql, 4};

static int mark(PGconn *conn, const char *const *ids, const int *parts, const long long *offs,
                size_t n, bool advance)
{
    if (n == 0)
        return PP_OK;
    pp_pgarray_t a[3] = {{0}};
    for (size_t k = 0; k < n; k++) {
        pp_pgarray_text(&a[0], ids[k]);
        pp_pgarray_ll(&a[1], parts[k]);
        pp_pgarray_ll(&a[2], offs[k]);
    }
    const char *p[] = {pp_pgarray_str(&a[0]), pp_pgarray_str(&a[1]), pp_pgarray_str(&a[2]),
                       advance ? "true" : "false"};
    int rc = p[0] && p[1] && p[2]
                 ? pp_db_exec_stmt(conn, "mark outbox published", &mark_stmt, p, NULL)
                 : PP_ENOMEM;
    for (int k = 0; k < 3; k++)
        pp_pgarray_free(&a[k]);
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

/* One topic being reconciled: its reader and, per partition, where to read from and to. */
typedef struct rtopic {
    PGconn *conn;
    const char *topic;
    rd_kafka_t *rk;
    int nparts, pending;   /* partitions, and those not read to the end yet */
    long long *hi, *start; /* high watermark; first offset to read */
    char *done;
} rtopic_t;

/* Starts each partition after the last offset relay_offsets records for it (-1: none). */
static int read_starts(rtopic_t *t)
{
    PGresult *r = NULL;
    for (int i = 0; i < t->nparts; i++)
        t->start[i] = -1;
    const char *tp[] = {t->topic};
    int rc = pp_db_exec(t->conn, "read relay offsets",
                        "SELECT kafka_partition, last_offset FROM relay_offsets WHERE topic = $1",
                        1, tp, &r);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        long p = strtol(PQgetvalue(r, i, 0), NULL, 10);
        long long o = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        if (p >= 0 && p < t->nparts)
            t->start[p] = o + 1;
    }
    PQclear(r);
    return PP_OK;
}

/* Reads each partition's watermarks and assigns the reader those with offsets left to read. */
static int assign_partitions(rtopic_t *t, rd_kafka_topic_partition_list_t *assign)
{
    for (int i = 0; i < t->nparts; i++) {
        int64_t lo = 0, h = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(t->rk, t->topic, i, &lo, &h, 10000);
        if (e) {
            pp_warnk(PP_LOG_FIELDS(PP_LF_PARTITION(i)), "relay: reconcile %s [%d]: watermarks: %s",
                     t->topic, i, rd_kafka_err2str(e));
            return PP_EKAFKA;
        }
        t->hi[i] = h;
        if (t->start[i] < lo)
            t->start[i] = lo;
        if (t->start[i] >= h) {
            t->done[i] = 1;
            continue;
        }
        rd_kafka_topic_partition_list_add(assign, t->topic, i)->offset = t->start[i];
        t->pending++;
        pp_infok(PP_LOG_FIELDS(PP_LF_PARTITION(i), PP_LF_OFFSET(t->start[i])),
                 "relay: reconcile %s [%d]: reading offsets %lld..%lld", t->topic, i, t->start[i],
                 (long long)h - 1);
    }
    if (t->pending) {
        rd_kafka_resp_err_t e = rd_kafka_assign(t->rk, assign);
        if (e) {
            pp_warn("relay: reconcile %s: assign: %s", t->topic, rd_kafka_err2str(e));
            return PP_EKAFKA;
        }
    }
    return PP_OK;
}

/* Notes the event id of one message read (marking a full chunk) and whether its partition is done. */
static int take_message(rtopic_t *t, found_t *f, const rd_kafka_message_t *m)
{
    int p = m->partition, rc = PP_OK;
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
            if (++f->n == MARK_CHUNK && (rc = flush_found(t->conn, f)))
                return rc;
        }
    }
    if (p >= 0 && p < t->nparts && !t->done[p] &&
        (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || m->offset >= t->hi[p] - 1)) {
        t->done[p] = 1;
        t->pending--;
    }
    return PP_OK;
}

/* Reads every assigned partition to its high watermark, within RECONCILE_TIMEOUT_MS. */
static int read_to_end(rtopic_t *t, found_t *f)
{
    int64_t deadline = pp_mono_ms() + RECONCILE_TIMEOUT_MS;
    while (t->pending > 0) {
        if (pp_mono_ms() > deadline) {
            pp_warn("relay: reconcile %s: %d partitions not read to the end in %d ms", t->topic,
                    t->pending, RECONCILE_TIMEOUT_MS);
            return PP_ETIMEOUT;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, 200);
        if (!m)
            continue;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            pp_warnk(PP_LOG_FIELDS(PP_LF_PARTITION(m->partition)), "relay: reconcile %s [%d]: %s",
                     t->topic, m->partition, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int rc = take_message(t, f, m);
        rd_kafka_message_destroy(m);
        if (rc)
            return rc;
    }
    return PP_OK;
}

/* Records that everything below each partition's high watermark is accounted for. */
static int advance_offsets(const rtopic_t *t)
{
    for (int i = 0; i < t->nparts; i++) {
        if (t->hi[i] <= 0)
            continue;
        char ps[16], os[32];
        snprintf(ps, sizeof ps, "%d", i);
        snprintf(os, sizeof os, "%lld", t->hi[i] - 1);
        const char *up[] = {t->topic, ps, os};
        int rc = pp_db_exec(t->conn, "advance relay offset",
                            "INSERT INTO relay_offsets (topic, kafka_partition, last_offset) "
                            "VALUES ($1, $2::int, $3::bigint) ON CONFLICT (topic, kafka_partition) "
                            "DO UPDATE SET last_offset = GREATEST(relay_offsets.last_offset, "
                            "EXCLUDED.last_offset), updated_at = now()",
                            3, up, NULL);
        if (rc)
            return rc;
    }
    return PP_OK;
}

static int reconcile_topic(PGconn *conn, const pp_config_t *cfg, const char *topic, found_t *f)
{
    rtopic_t t = {.conn = conn, .topic = topic};
    rd_kafka_topic_partition_list_t *assign = NULL;
    char err[512];
    int rc;
    if ((rc = pp_kafka_reader_new(cfg, &t.rk, err, sizeof err))) {
        pp_warn("relay: reconcile %s: cannot create reader: %s", topic, err);
        goto fail;
    }
    if ((rc = pp_kafka_partition_count(t.rk, topic, 10000, &t.nparts)))
        goto fail;
    t.hi = calloc((size_t)t.nparts, sizeof *t.hi);
    t.start = calloc((size_t)t.nparts, sizeof *t.start);
    t.done = calloc((size_t)t.nparts, 1);
    assign = rd_kafka_topic_partition_list_new(t.nparts);
    if (!t.hi || !t.start || !t.done || !assign) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = read_starts(&t)) || (rc = assign_partitions(&t, assign)) ||
        (rc = read_to_end(&t, f)) || (rc = flush_found(conn, f)) || (rc = advance_offsets(&t)))
        goto fail;
    rc = PP_OK;
fail:
    if (assign)
        rd_kafka_topic_partition_list_destroy(assign);
    if (t.rk) {
        rd_kafka_consumer_close(t.rk);
        rd_kafka_destroy(t.rk);
    }
    free(t.hi);
    free(t.start);
    free(t.done);
    return rc;
}

int pp_reconcile_run(PGconn *conn, const pp_config_t *cfg, long long *marked)
{
    PGresult *r = NULL;
    found_t *f = calloc(1, sizeof *f);
    int rc = PP_ENOMEM;
    if (!f)
        goto done;
    /* Topics with rows a relay may have sent but not marked: any unpublished one (a fetch
     * writes nothing, so which were fetched is not known; a topic with nothing new past
     * relay_offsets costs one watermark query per partition). */
    rc = pp_db_exec(conn, "outbox topics to reconcile",
                    "SELECT DISTINCT topic FROM outbox WHERE published_at IS NULL", 0, NULL, &r);
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
