/*
 * relay_internal.h - the outbox relay's parts below relay.c, for relay.c only: its statements
 * on the lock connection (relay_db.c) and its rounds in flight (relay_rounds.c). A round
 * is one fetch's rows: produced in outbox id order as soon as it is fetched, marked once
 * every row has its delivery report (marks may run side by side). Rounds are kept oldest
 * first and leave only from the head, once marked: their offsets, folded into an advance,
 * may then raise relay_offsets, since every earlier row is marked.
 */
#ifndef PP_RELAY_INTERNAL_H
#define PP_RELAY_INTERNAL_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- relay_db.c: blocking, on a threadpool thread (the lock connection's statements) ---- */

/* Connects *conn if NULL; tries the lock, and with it LISTENs; *lock_pid = its backend, if got. */
int pp_relay_db_lock(PGconn **conn, const char *db_url, bool *got, int *lock_pid)
    __attribute__((warn_unused_result));
/* The next batch unpublished rows not among exclude ("{id,...}"), in id order; with lag,
 * also the number of unpublished rows. */
int pp_relay_db_fetch(PGconn *conn, long batch, const char *exclude, PGresult **rows, long long *lag)
    __attribute__((warn_unused_result));
/* True if conn no longer is the session (lock_pid) that took the lock. */
bool pp_relay_db_lost(PGconn *conn, int lock_pid);
/* Releases the lock if the session still holds it, and closes *conn. */
void pp_relay_db_unlock(PGconn **conn, int lock_pid);
/* On the loop, while no job uses conn: true if a notification came (reads, never blocks). */
bool pp_relay_db_notified(PGconn *conn);

/* Per topic and partition, the highest offset below which every relayed row is marked. */
typedef struct relay_advance {
    char **topics; /* owned */
    int *partitions;
    long long *offsets;
    size_t n, cap;
} relay_advance_t;

/* Raises relay_offsets to a's offsets (never lowers them). Any connection. */
int pp_relay_db_advance(PGconn *conn, const relay_advance_t *a) __attribute__((warn_unused_result));

/* ---- relay_rounds.c: on the loop ------------------------------------------------------ */

typedef enum {
    ROW_FETCHED,   /* not handed to librdkafka yet */
    ROW_PRODUCED,  /* handed over, no delivery report yet */
    ROW_DELIVERED, /* acknowledged at partition/offset */
    ROW_FAILED,    /* not acknowledged: it may or may not be in the topic (reconcile first) */
    ROW_HELD       /* not handed over (librdkafka refused it or an earlier row): not sent */
} relay_row_state_t;

typedef struct relay_round relay_round_t;

typedef struct relay_row {
    relay_round_t *round;
    const char *id, *event_id, *topic, *key, *payload; /* into the round's result */
    size_t len;
    int partition;
    long long offset;
    relay_row_state_t state;
} relay_row_t;

struct relay_round {
    relay_round_t *next;
    PGresult *res; /* the fetch's result: owned, the rows point into it */
    relay_row_t *rows;
    size_t n;
    size_t outstanding; /* handed to librdkafka, no delivery report yet */
    bool marking;       /* in a mark job */
    bool marked;        /* its mark committed; it leaves once the rounds before it have */
};

/* The rounds fetched and not yet marked, oldest first. Zero-initialised = empty. */
typedef struct relay_rounds {
    relay_round_t *head, *tail;
    size_t n_rounds, n_rows;
} relay_rounds_t;

/* A mark's input: parallel arrays over the delivered rows of n_rounds rounds from first. */
typedef struct relay_mark {
    relay_round_t *first;
    const char **event_ids; /* point into the rounds' results: valid until they are popped */
    int *partitions;
    long long *offsets;
    size_t n, n_rounds;
} relay_mark_t;

/*
 * A new round from a fetch's result (id, event_id, topic, msg_key, payload in id order),
 * appended to rs. Takes res, also on failure (PP_ENOMEM).
 */
int pp_relay_rounds_add(relay_rounds_t *rs, PGresult *res, relay_round_t **out)
    __attribute__((warn_unused_result));
/*
 * Hands the round's rows to librdkafka in order (opaque of each message = its relay_row_t).
 * A row librdkafka refuses and every row after it are held (not sent); returns the number
 * held (0: all handed over), with the refusal's error and event id in *err and *event_id.
 */
size_t pp_relay_round_produce(relay_round_t *rd, rd_kafka_t *rk, rd_kafka_resp_err_t *err,
                              const char **event_id);
/* Records a delivery report for its row; false if the message was not acknowledged. */
bool pp_relay_row_report(relay_row_t *w, const rd_kafka_message_t *m);
/* Logs a delivery report with the row's fields: event, shipment (rows of status_topic) or user
 * (the IM-link topic), partition, offset; debug when acknowledged, warn when not. */
void pp_relay_row_log(const relay_row_t *w, const rd_kafka_message_t *m, const char *who,
                      const char *status_topic);
/* From the first round neither marked nor being marked: how many in a row have every report
 * (at most about max_rows rows, but at least one such round if there is one). */
size_t pp_relay_rounds_ready(const relay_rounds_t *rs, size_t max_rows);
/* The rows of the rounds pp_relay_rounds_ready(rs, max_rows) counts. */
size_t pp_relay_rounds_ready_rows(const relay_rounds_t *rs, size_t max_rows);
/* Does a round still wait for a delivery report? */
bool pp_relay_rounds_awaiting(const relay_rounds_t *rs);
/* The mark of those n rounds (flagged as marking); PP_ENOMEM. Free with pp_relay_mark_free. */
int pp_relay_mark_build(relay_rounds_t *rs, size_t n, relay_mark_t *m)
    __attribute__((warn_unused_result));
void pp_relay_mark_free(relay_mark_t *m);
/*
 * After the mark: done, its rounds are marked, and every marked round at the head is popped
 * and freed, the highest offset of its delivered rows per topic and partition folded into
 * adv (if not NULL); !done, they may be marked again.
 */
void pp_relay_mark_finish(relay_rounds_t *rs, const relay_mark_t *m, bool done, relay_advance_t *adv);
/* Empties an advance (frees what it holds). */
void pp_relay_advance_clear(relay_advance_t *a);
/* "{id,id,...}": the outbox ids in flight, which a fetch must not take again (NULL: no memory). */
char *pp_relay_rounds_ids(const relay_rounds_t *rs);
/* Frees every round (at close, after the producer is gone). */
void pp_relay_rounds_free(relay_rounds_t *rs);

#endif
