/*
 * writeback.h - the fenced write-back of many shipments' poll outcomes in one statement:
 * each outcome applied (apply.c) to the row as its claim returned it, then one UPDATE of
 * every shipment still leased to this worker and not written since its claim, with the
 * shipment_events and outbox rows of those shipments only, each part taking the whole batch
 * as arrays (common/pgarray.h). A shipment whose lease is gone is left untouched (fencing)
 * and reported as lost; if the statement fails, each shipment is retried in a statement of
 * its own, so one bad row costs only itself.
 */
#ifndef PP_POLLER_WRITEBACK_H
#define PP_POLLER_WRITEBACK_H

#include "poller.h"
#include "status.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pp_wb_item {
    pp_claimed_t c;
    /* the poll's outcome */
    pp_poll_outcome_t outcome;
    pp_track_result_t *mine; /* owned; NULL unless the carrier knew the number */
    long retry_after_s;
    char result[32];     /* metrics / log label */
    double u;            /* the schedule's random draw */
    int64_t answered_ms; /* wall clock: the carrier's answer was in (the events' detected_at) */
    /* set by pp_writeback */
    int rc;          /* PP_OK, PP_ECONFLICT (lease lost: nothing written) or the failure */
    size_t n_events; /* key changes written */
    pp_status_t status_after;
    bool not_found_late_now; /* crossed not_found_grace_s with this poll */
    struct pp_wb_item *next; /* poll.c's queue */
    /* stored as last_error for PP_POLL_ERROR: at most PP_WB_ERROR_MAX - 1 bytes, allocated with
     * the item to its length (most outcomes have none; thousands of items can wait for their
     * write-back when the answers of 5,000 requests in flight come at once) */
    char error[];
} pp_wb_item_t;

#define PP_WB_ERROR_MAX 512

/* Runs on a database thread. Sets every item's rc; returns PP_OK once each item has one. */
int pp_writeback(PGconn *conn, const pp_config_t *cfg, const char *me, const char *topic,
                 pp_wb_item_t **items, size_t n);

#endif
