/* relay_rounds.c - the relay's rounds in flight: rows of a fetch, produce, reports, marks. */
#include "relay_internal.h"
#include "pgarray.h"
#include "err.h"
#include "kafka.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void round_free(relay_round_t *rd)
{
    PQclear(rd->res);
    free(rd->rows);
    free(rd);
}

int pp_relay_rounds_add(relay_rounds_t *rs, PGresult *res, relay_round_t **out)
{
    int n = PQntuples(res);
    relay_round_t *rd = calloc(1, sizeof *rd);
    if (!rd || !(rd->rows = calloc((size_t)(n ? n : 1), sizeof *rd->rows))) {
        free(rd);
        PQclear(res);
        return PP_ENOMEM;
    }
    rd->res = res;
    rd->n = (size_t)n;
    for (int i = 0; i < n; i++) {
        relay_row_t *w = &rd->rows[i];
        w->round = rd;
        w->id = PQgetvalue(res, i, 0);
        w->event_id = PQgetvalue(res, i, 1);
        w->topic = PQgetvalue(res, i, 2);
        w->key = PQgetvalue(res, i, 3);
        w->payload = PQgetvalue(res, i, 4);
        w->len = (size_t)PQgetlength(res, i, 4);
    }
    if (rs->tail)
        rs->tail->next = rd;
    else
        rs->head = rd;
    rs->tail = rd;
    rs->n_rounds++;
    rs->n_rows += rd->n;
    *out = rd;
    return PP_OK;
}

size_t pp_relay_round_produce(relay_round_t *rd, rd_kafka_t *rk, rd_kafka_resp_err_t *err,
                              const char **event_id)
{
    for (size_t i = 0; i < rd->n; i++) {
        relay_row_t *w = &rd->rows[i];
        if (pp_kafka_produce(rk, w->topic, w->key, w->payload, w->len, w->event_id, w, err) == PP_OK) {
            w->state = ROW_PRODUCED;
            rd->outstanding++;
            continue;
        }
        /* Not handed over, so not sent. The rows after it are held too: a shipment's later
         * event must not reach its partition before this one. */
        *event_id = w->event_id;
        for (size_t k = i; k < rd->n; k++)
            rd->rows[k].state = ROW_HELD;
        return rd->n - i;
    }
    return 0;
}

bool pp_relay_row_report(relay_row_t *w, const rd_kafka_message_t *m)
{
    w->round->outstanding--;
    if (m->err) {
        w->state = ROW_FAILED;
        return false;
    }
    w->state = ROW_DELIVERED;
    w->partition = m->partition;
    w->offset = m->offset;
    return true;
}

void pp_relay_row_log(const relay_row_t *w, const rd_kafka_message_t *m, const char *who,
                      const char *status_topic)
{
    if (!m->err && !pp_log_enabled(PP_LOG_DEBUG))
        return; /* every acknowledged row comes here: no fields built for a line not written */
    bool shipment = strcmp(w->topic, status_topic) == 0;
    /* partition and offset only when acknowledged: a NULL key ends the list there */
    const char *part = m->err ? NULL : "partition";
    const pp_log_field_t *lf =
        PP_LOG_FIELDS(PP_LF_EVENT(w->event_id),
                      PP_LF_ID(shipment ? "shipment_id" : "user_id", strtoll(w->key, NULL, 10)),
                      PP_LF_NUM(part, m->partition), PP_LF_OFFSET(m->offset));
    if (m->err)
        pp_warnk(lf, "worker %s: relay: event %s (key %s) not acknowledged: %s; will reconcile",
                 who, w->event_id, w->key, rd_kafka_err2str(m->err));
    else
        pp_debugk(lf, "worker %s: relay: event %s (key %s) in %s [%d] at offset %lld", who,
                  w->event_id, w->key, w->topic, (int)m->partition, (long long)m->offset);
}

/* The first round neither marked nor being marked. */
static relay_round_t *first_unmarked(const relay_rounds_t *rs)
{
    relay_round_t *rd = rs->head;
    while (rd && (rd->marking || rd->marked))
        rd = rd->next;
    return rd;
}

static size_t ready(const relay_rounds_t *rs, size_t max_rows, size_t *rows_out)
{
    size_t n = 0, rows = 0;
    for (const relay_round_t *rd = first_unmarked(rs);
         rd && !rd->marking && !rd->marked && rd->outstanding == 0; rd = rd->next) {
        if (n > 0 && rows + rd->n > max_rows)
            break;
        rows += rd->n;
        n++;
    }
    *rows_out = rows;
    return n;
}

size_t pp_relay_rounds_ready(const relay_rounds_t *rs, size_t max_rows)
{
    size_t rows;
    return ready(rs, max_rows, &rows);
}

size_t pp_relay_rounds_ready_rows(const relay_rounds_t *rs, size_t max_rows)
{
    size_t rows;
    ready(rs, max_rows, &rows);
    return rows;
}

bool pp_relay_rounds_awaiting(const relay_rounds_t *rs)
{
    for (const relay_round_t *rd = rs->head; rd; rd = rd->next)
        if (rd->outstanding)
            return true;
    return false;
}

void pp_relay_mark_free(relay_mark_t *m)
{
    free(m->event_ids);
    free(m->partitions);
    free(m->offsets);
    memset(m, 0, sizeof *m);
}

int pp_relay_mark_build(relay_rounds_t *rs, size_t n, relay_mark_t *m)
{
    size_t cap = 1;
    relay_round_t *rd = first_unmarked(rs);
    memset(m, 0, sizeof *m);
    m->first = rd;
    for (size_t k = 0; k < n && rd; k++, rd = rd->next)
        cap += rd->n;
    m->event_ids = calloc(cap, sizeof *m->event_ids);
    m->partitions = calloc(cap, sizeof *m->partitions);
    m->offsets = calloc(cap, sizeof *m->offsets);
    if (!m->event_ids || !m->partitions || !m->offsets) {
        pp_relay_mark_free(m);
        return PP_ENOMEM;
    }
    for (rd = m->first; m->n_rounds < n && rd; m->n_rounds++, rd = rd->next) {
        rd->marking = true;
        for (size_t i = 0; i < rd->n; i++) {
            const relay_row_t *w = &rd->rows[i];
            if (w->state != ROW_DELIVERED)
                continue;
            m->event_ids[m->n] = w->event_id;
            m->partitions[m->n] = w->partition;
            m->offsets[m->n] = w->offset;
            m->n++;
        }
    }
    return PP_OK;
}

void pp_relay_advance_clear(relay_advance_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->topics[i]);
    free(a->topics);
    free(a->partitions);
    free(a->offsets);
    memset(a, 0, sizeof *a);
}

/* Raises a's offset for the row's topic and partition to the row's (a new entry if need be;
 * without memory the entry is left out: relay_offsets then only lags). */
static void advance_fold(relay_advance_t *a, const relay_row_t *w)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->partitions[i] == w->partition && strcmp(a->topics[i], w->topic) == 0) {
            if (w->offset > a->offsets[i])
                a->offsets[i] = w->offset;
            return;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        char **t = realloc(a->topics, cap * sizeof *t);
        if (t)
            a->topics = t;
        int *p = t ? realloc(a->partitions, cap * sizeof *p) : NULL;
        if (p)
            a->partitions = p;
        long long *o = p ? realloc(a->offsets, cap * sizeof *o) : NULL;
        if (!o)
            return;
        a->offsets = o;
        a->cap = cap;
    }
    if (!(a->topics[a->n] = strdup(w->topic)))
        return;
    a->partitions[a->n] = w->partition;
    a->offsets[a->n] = w->offset;
    a->n++;
}

void pp_relay_mark_finish(relay_rounds_t *rs, const relay_mark_t *m, bool done, relay_advance_t *adv)
{
    relay_round_t *rd = m->first;
    for (size_t k = 0; k < m->n_rounds && rd; k++, rd = rd->next) {
        rd->marking = false;
        rd->marked = done;
    }
    while ((rd = rs->head) && rd->marked) {
        for (size_t i = 0; adv && i < rd->n; i++)
            if (rd->rows[i].state == ROW_DELIVERED)
                advance_fold(adv, &rd->rows[i]);
        rs->head = rd->next;
        if (!rs->head)
            rs->tail = NULL;
        rs->n_rounds--;
        rs->n_rows -= rd->n;
        round_free(rd);
    }
}

char *pp_relay_rounds_ids(const relay_rounds_t *rs)
{
    pp_pgarray_t a = {0};
    for (const relay_round_t *rd = rs->head; rd; rd = rd->next)
        for (size_t i = 0; i < rd->n; i++)
            pp_pgarray_ll(&a, strtoll(rd->rows[i].id, NULL, 10)); /* outbox ids: bigint */
    return pp_pgarray_take(&a);
}

void pp_relay_rounds_free(relay_rounds_t *rs)
{
    while (rs->head) {
        relay_round_t *rd = rs->head;
        rs->head = rd->next;
        round_free(rd);
    }
    memset(rs, 0, sizeof *rs);
}
