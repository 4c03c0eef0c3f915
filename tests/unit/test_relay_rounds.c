/* test_relay_rounds.c - the relay's rounds in flight: only delivered rows marked, rounds leave
 * (and raise the advance) oldest first even when marked out of order, a refused row holds the
 * rest of its round, the ids a fetch must skip. */
#include "check.h"
#include "relay_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fetch's result: ids first..first+n-1, keys id % 3. */
static PGresult *fetched(int first, int n)
{
    static char *names[] = {"id", "event_id", "topic", "msg_key", "payload"};
    PGresAttDesc a[5];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 5; i++) {
        a[i].name = names[i];
        a[i].typid = 25; /* text */
        a[i].typlen = -1;
        a[i].atttypmod = -1;
    }
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (!r || !PQsetResultAttrs(r, 5, a))
        return NULL;
    for (int i = 0; i < n; i++) {
        char id[32], ev[40], key[8];
        snprintf(id, sizeof id, "%d", first + i);
        snprintf(ev, sizeof ev, "00000000-0000-4000-8000-%012d", first + i);
        snprintf(key, sizeof key, "%d", (first + i) % 3);
        if (!PQsetvalue(r, i, 0, id, (int)strlen(id)) ||
            !PQsetvalue(r, i, 1, ev, (int)strlen(ev)) || !PQsetvalue(r, i, 2, "t", 1) ||
            !PQsetvalue(r, i, 3, key, (int)strlen(key)) || !PQsetvalue(r, i, 4, "{}", 2))
            return NULL;
    }
    return r;
}

static bool report(relay_row_t *w, rd_kafka_resp_err_t err, int partition, long long offset)
{
    rd_kafka_message_t m;
    memset(&m, 0, sizeof m);
    m.err = err;
    m.partition = partition;
    m.offset = offset;
    m._private = w;
    return pp_relay_row_report(w, &m);
}

/* A producer with no broker: produce only queues (at most max_queued messages). */
static rd_kafka_t *producer(const char *max_queued)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", max_queued, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
}

int main(void)
{
    relay_rounds_t rs = {0};
    relay_round_t *a, *b, *c;
    rd_kafka_resp_err_t ke = RD_KAFKA_RESP_ERR_NO_ERROR;
    const char *ev = NULL;
    relay_mark_t m;
    relay_advance_t adv = {0};
    rd_kafka_t *rk = producer("100");
    CHECK(rk != NULL);

    char *ids = pp_relay_rounds_ids(&rs);
    CHECK_STR(ids, "{}");
    free(ids);

    /* Two rounds in flight, produced in order. */
    CHECK_INT(pp_relay_rounds_add(&rs, fetched(1, 3), &a), 0);
    CHECK_INT(pp_relay_round_produce(a, rk, &ke, &ev), 0);
    CHECK_INT(pp_relay_rounds_add(&rs, fetched(4, 2), &b), 0);
    CHECK_INT(pp_relay_round_produce(b, rk, &ke, &ev), 0);
    CHECK_INT(rs.n_rounds, 2);
    CHECK_INT(rs.n_rows, 5);
    CHECK_INT(a->outstanding, 3);
    ids = pp_relay_rounds_ids(&rs);
    CHECK_STR(ids, "{1,2,3,4,5}");
    free(ids);

    /* The later round has all its reports, the earlier not: it may be marked, but must not
     * leave (nor raise the advance) before the earlier one is marked. */
    CHECK(report(&b->rows[0], RD_KAFKA_RESP_ERR_NO_ERROR, 0, 11));
    CHECK(report(&b->rows[1], RD_KAFKA_RESP_ERR_NO_ERROR, 1, 8));
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 0); /* the first unmarked one has not */
    CHECK_INT(pp_relay_rounds_ready_rows(&rs, 100), 0);
    CHECK(pp_relay_rounds_awaiting(&rs)); /* the relay's next notified fetch waits */

    /* The earlier one settles (one row failed): both ready, as one mark or within a row cap. */
    CHECK(report(&a->rows[0], RD_KAFKA_RESP_ERR_NO_ERROR, 0, 10));
    CHECK(!report(&a->rows[1], RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, -1, -1));
    CHECK(report(&a->rows[2], RD_KAFKA_RESP_ERR_NO_ERROR, 1, 7));
    CHECK_INT(a->rows[1].state, ROW_FAILED);
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 2);
    CHECK_INT(pp_relay_rounds_ready(&rs, 3), 1);
    CHECK_INT(pp_relay_rounds_ready(&rs, 1), 1); /* at least one round */
    CHECK_INT(pp_relay_rounds_ready_rows(&rs, 100), 5);
    CHECK_INT(pp_relay_rounds_ready_rows(&rs, 3), 3);
    CHECK(!pp_relay_rounds_awaiting(&rs));

    /* One mark takes the delivered rows only, oldest first; while marking, nothing else is. */
    CHECK_INT(pp_relay_mark_build(&rs, 2, &m), 0);
    CHECK_INT(m.n, 4);
    CHECK_INT(m.n_rounds, 2);
    CHECK_STR(m.event_ids[0], "00000000-0000-4000-8000-000000000001");
    CHECK_STR(m.event_ids[1], "00000000-0000-4000-8000-000000000003");
    CHECK_INT(m.partitions[1], 1);
    CHECK_INT(m.offsets[1], 7);
    CHECK_STR(m.event_ids[3], "00000000-0000-4000-8000-000000000005");
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 0);
    /* A failed mark keeps the rounds for the next. */
    pp_relay_mark_finish(&rs, &m, false, &adv);
    pp_relay_mark_free(&m);
    CHECK_INT(rs.n_rounds, 2);
    CHECK_INT(adv.n, 0);
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 2);

    /* Two marks side by side, the later done first: nothing leaves, no advance yet. */
    relay_mark_t m2;
    CHECK_INT(pp_relay_mark_build(&rs, 1, &m), 0);
    CHECK_INT(m.n, 2);
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 1);
    CHECK_INT(pp_relay_mark_build(&rs, 1, &m2), 0);
    CHECK(m2.first == b);
    CHECK_INT(m2.n, 2);
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 0);
    pp_relay_mark_finish(&rs, &m2, true, &adv);
    pp_relay_mark_free(&m2);
    CHECK_INT(rs.n_rounds, 2);
    CHECK(rs.head == a);
    CHECK_INT(adv.n, 0);
    /* The earlier one done: both leave, the advance holds the highest offsets of both. */
    pp_relay_mark_finish(&rs, &m, true, &adv);
    pp_relay_mark_free(&m);
    CHECK(rs.head == NULL && rs.tail == NULL);
    CHECK_INT(rs.n_rows, 0);
    CHECK_INT(adv.n, 2);
    CHECK_STR(adv.topics[0], "t");
    CHECK_INT(adv.partitions[0], 0);
    CHECK_INT(adv.offsets[0], 11);
    CHECK_INT(adv.partitions[1], 1);
    CHECK_INT(adv.offsets[1], 8);
    pp_relay_advance_clear(&adv);
    CHECK_INT(adv.n, 0);
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
    rd_kafka_destroy(rk);

    /* librdkafka refuses the third row (its queue is full): it and the rest are held. */
    rk = producer("2");
    CHECK_INT(pp_relay_rounds_add(&rs, fetched(7, 4), &c), 0);
    CHECK_INT(pp_relay_round_produce(c, rk, &ke, &ev), 2);
    CHECK_INT(ke, RD_KAFKA_RESP_ERR__QUEUE_FULL);
    CHECK_STR(ev, "00000000-0000-4000-8000-000000000009");
    CHECK_INT(c->outstanding, 2);
    CHECK_INT(c->rows[1].state, ROW_PRODUCED);
    CHECK_INT(c->rows[2].state, ROW_HELD);
    CHECK_INT(c->rows[3].state, ROW_HELD);
    CHECK(report(&c->rows[0], RD_KAFKA_RESP_ERR_NO_ERROR, 2, 1));
    CHECK(report(&c->rows[1], RD_KAFKA_RESP_ERR_NO_ERROR, 0, 12));
    CHECK_INT(pp_relay_rounds_ready(&rs, 100), 1);
    CHECK_INT(pp_relay_mark_build(&rs, 1, &m), 0);
    CHECK_INT(m.n, 2); /* the held rows stay unpublished, fetched again later */
    pp_relay_mark_free(&m);
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
    rd_kafka_destroy(rk);
    pp_relay_rounds_free(&rs);
    return CHECK_DONE();
}
