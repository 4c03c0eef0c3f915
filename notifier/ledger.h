/*
 * ledger.h - the notifier's Postgres side: the recipient of an event (read at send time)
 * and the notifications dedup ledger (one row per event x user; states in 0001_init.sql;
 * kind and decided_at in 0007_im_link.sql: decided_at = clock_timestamp() of every decision,
 * taken while the users row is locked FOR SHARE, so it orders exactly against notify_changes).
 * All functions run synchronously on the caller's connection, inside the caller's
 * transaction when there is one; they log failures once (via pp_db_exec) and return PP_EDB.
 */
#ifndef PP_LEDGER_H
#define PP_LEDGER_H

#include "event.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pp_recipient {
    long long user_id;
    char locale[8];
    bool opted_in; /* users.notify_shipment_status, now */
    char channel[16];
    char address[256];
    bool verified;
    char prev_state[24]; /* this (event, user) row's state, "" if none */
    bool newer_sent;     /* a 'sent' row with sequence >= ev's for this shipment and user */
} pp_recipient_t;

/* The buyer of ev->transaction_id; PP_ENOTFOUND if the transaction does not exist. */
int pp_ledger_recipient(PGconn *c, const pp_event_t *ev, pp_recipient_t *r)
    __attribute__((warn_unused_result));
/*
 * The buyer of an IM-link code event (users row locked FOR SHARE): channel and address are
 * the event's, *current = the code is still the buyer's pending link (not replaced, used or
 * expired). PP_ENOTFOUND if the user does not exist.
 */
int pp_ledger_link_recipient(PGconn *c, const pp_link_event_t *lev, pp_recipient_t *r, bool *current)
    __attribute__((warn_unused_result));
/*
 * Record a final skip decision (state = skipped_*): inserts the row, or flips a 'sending'
 * row left by an earlier attempt. A row already decided otherwise is left alone.
 */
int pp_ledger_skip(PGconn *c, const pp_event_t *ev, const pp_recipient_t *r, const char *state,
                   const char *why) __attribute__((warn_unused_result));
/*
 * Insert the row as 'sending' (or flip an earlier 'sending' row, attempts + 1).
 * *claimed = false when another decision won meanwhile (nothing to send).
 */
int pp_ledger_sending(PGconn *c, const pp_event_t *ev, const pp_recipient_t *r, const char *body,
                      bool *claimed) __attribute__((warn_unused_result));
/*
 * The recipients of n shipment events in one statement (users rows locked FOR SHARE, as
 * pp_ledger_recipient): r[i] for evs[i]; found[i] = false when its transaction does not exist.
 */
int pp_ledger_recipients(PGconn *c, size_t n, const pp_event_t *const *evs, pp_recipient_t *r,
                         bool *found) __attribute__((warn_unused_result));

/* One decision for pp_ledger_decide_many. */
typedef struct pp_ledger_row {
    const pp_event_t *ev;
    const pp_recipient_t *r;
    const char *state; /* "sending", or the final skip state (skipped_*, failed) */
    const char *text;  /* 'sending': the body; a skip: the reason (last_error) */
    bool claimed;      /* out, 'sending' rows: ours to send (false: another decision won) */
} pp_ledger_row_t;
/*
 * pp_ledger_skip and pp_ledger_sending for n rows in two statements (the skips, then the
 * 'sending' rows, which say which were claimed). No (event, user) twice among the rows.
 */
int pp_ledger_decide_many(PGconn *c, size_t n, pp_ledger_row_t *rows)
    __attribute__((warn_unused_result));

/* 'sending' -> 'sent' (sent_at = now()) for n (event id, user id) pairs in one statement. */
int pp_ledger_sent(PGconn *c, size_t n, const char *const *event_ids, const long long *user_ids)
    __attribute__((warn_unused_result));
/* The same with sent_at = when[i] (Unix seconds, the IM server's record of routing it). */
int pp_ledger_sent_at(PGconn *c, size_t n, const char *const *event_ids, const long long *user_ids,
                      const long long *when) __attribute__((warn_unused_result));

/* A row left in 'sending' by an earlier attempt or a dead predecessor. */
typedef struct pp_inflight {
    char event_id[40];
    long long user_id;
    char address[256]; /* where that attempt sent it */
    long long created; /* created_at (first attempt), Unix seconds */
} pp_inflight_t;

/*
 * The 'sending' rows of these n events on `channel`, ordered by address. *out is malloc'd
 * (the caller frees it; NULL when *n_out = 0).
 */
int pp_ledger_inflight(PGconn *c, size_t n, const char *const *event_ids, const char *channel,
                       pp_inflight_t **out, size_t *n_out) __attribute__((warn_unused_result));
/* 'sending' -> 'failed' with the reason (e.g. the IM server's bounce). */
int pp_ledger_failed(PGconn *c, const char *event_id, long long user_id, const char *reason)
    __attribute__((warn_unused_result));

#endif
