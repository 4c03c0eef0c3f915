/*
 * recover.c - rows of a batch's events left in 'sending' (by a predecessor that died, or a
 * failed barrier) may or may not have reached the IM server: its record decides (the bot's
 * archive, and for a message a server crash may have cut, the buyer's store), so that none
 * is sent twice and none is lost. See notifier.c for the whole guarantee.
 */
#include "batch.h"
#include "db.h"
#include "err.h"
#include "ledger.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key for was_sent: q[i].id points at key, the first member, so the row is found back. */
typedef struct recov_key {
    char key[64]; /* <event_id>:<user_id>, the stanza id the message was sent with */
    size_t row;
} recov_key_t;

/* The pending item of event_id in this batch, or NULL. */
static item_t *pending_item(pp_notifier_t *n, const char *event_id)
{
    for (size_t j = 0; j < n->n_items; j++) {
        item_t *it = &n->items[j];
        if (it->valid && !it->revoked && it->st == IT_PENDING && strcmp(it->ev.event_id, event_id) == 0)
            return it;
    }
    return NULL;
}

/* Is the database there? Asked before a long step, so that the step is not spent only to
 * fail on a connection that died while the batch waited (a database restart). */
static bool db_alive(pp_notifier_t *n)
{
    return pp_db_exec(n->db, "notifier connection check", "SELECT 1", 0, NULL, NULL) == PP_OK;
}

/*
 * The poison items of the batch that recovery did not find routed or bounced: failed for
 * good. They become invalid, so dlq_phase (next in this attempt) produces them to the
 * dead-letter topic and then records their ledger row 'failed'.
 */
static void poison_confirm(pp_notifier_t *n)
{
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (!it->poison || !it->valid || it->revoked || it->st != IT_PENDING)
            continue;
        pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)),
                 "notifier: event %s to user %lld: not in the IM server's archive after %d lost "
                 "connections with only this message in flight: failed for good, to %s",
                 it->ev.event_id, it->user_id, it->solo_losses, n->cfg->dlq_topic);
        it->valid = false;
        it->dlq = 0;
    }
}

/*
 * A message the IM server may have died with between archiving it for the bot and storing
 * it for the buyer (channel.h in_doubt): the server's record of the buyer decides; when it
 * cannot tell, notifier_resend_in_doubt does (a re-send of a message the server did store is
 * a duplicate for a client that does not drop repeats by id; no re-send of one it did not
 * store is a loss). q->fate ends ROUTED (taken as delivered) or UNSEEN (sent again).
 */
static void decide_in_doubt(pp_notifier_t *n, const pp_inflight_t *r, pp_channel_lookup_t *q)
{
    item_t *it = pending_item(n, r->event_id);
    if (it && it->recov_doubt != PP_CHANNEL_DOUBT_NONE)
        return; /* decided (and counted) by an earlier try of this batch; fate kept */
    if (it)
        it->recov_doubt = q->doubt;
    atomic_fetch_add(&n->stats.in_doubt, 1);
    if (q->doubt == PP_CHANNEL_DOUBT_STORED) {
        pp_infok(PP_LOG_FIELDS(PP_LF_EVENT(r->event_id), PP_LF_USER(r->user_id)),
                 "notifier: event %s to user %lld (%s): the IM server restarted before confirming "
                 "it; its store for the buyer has it: delivered",
                 r->event_id, r->user_id, r->address);
        return;
    }
    bool again = q->doubt == PP_CHANNEL_DOUBT_MISSING || n->cfg->notifier_resend_in_doubt;
    if (q->doubt == PP_CHANNEL_DOUBT_MISSING) {
        pp_warnk(PP_LOG_FIELDS(PP_LF_EVENT(r->event_id), PP_LF_USER(r->user_id)),
                 "notifier: event %s to user %lld (%s): the IM server restarted after archiving "
                 "it and before storing it for the buyer; sending it again with the same id",
                 r->event_id, r->user_id, r->address);
    } else {
        bool absent = strncmp(q->reason, "service-unavailable", 19) == 0 ||
                      strncmp(q->reason, "feature-not-implemented", 23) == 0;
        atomic_fetch_add(&n->stats.in_doubt_undecided, 1);
        pp_warnk(PP_LOG_FIELDS(PP_LF_EVENT(r->event_id), PP_LF_USER(r->user_id)),
                 "notifier: event %s to user %lld (%s): the IM server restarted after archiving "
                 "it and before confirming it, and cannot tell whether the buyer's store has it "
                 "(%s%s); %s",
                 r->event_id, r->user_id, r->address, q->reason,
                 absent ? "; load deploy/prosody/mod_pp_delivery.lua on the buyer's server" : "",
                 again ? "sending it again with the same id (notifier_resend_in_doubt = true)"
                       : "taken as delivered (notifier_resend_in_doubt = false)");
    }
    q->fate = again ? PP_CHANNEL_UNSEEN : PP_CHANNEL_ROUTED;
    if (again && it) { /* kept as "send it": a retry (failed transaction below) decides the same */
        atomic_fetch_add(&n->stats.resent_in_doubt, 1);
        it->recov = 1 + (int)PP_CHANNEL_UNSEEN;
    }
}

/* One recovery: the batch's rows in 'sending' and what the channel's record says of each. */
typedef struct {
    pp_inflight_t *rows;
    size_t nrows;
    pp_channel_lookup_t *q; /* one per row, in the order recover_order puts them */
    recov_key_t *keys;
    const char **sent_ids; /* the routed rows, for pp_ledger_sent_at */
    long long *sent_users, *sent_when;
    size_t cached, ask; /* answers kept from an earlier try, then those to ask */
    long long since;    /* the oldest created_at among those to ask */
    size_t queries, routed, bounced, in_doubt;
} recover_t;

/* Puts the rows whose answer an earlier try got first (with that answer), the ones to ask after. */
static void recover_order(pp_notifier_t *n, recover_t *v)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < v->nrows; i++) {
            const pp_inflight_t *row = &v->rows[i];
            const item_t *it = pending_item(n, row->event_id);
            bool known = it && it->recov > 0;
            if (known != (pass == 0))
                continue;
            size_t j = pass == 0 ? v->cached++ : v->cached + v->ask++;
            pp_channel_lookup_t *q = &v->q[j];
            snprintf(v->keys[j].key, sizeof v->keys[j].key, "%s:%lld", row->event_id, row->user_id);
            v->keys[j].row = i;
            q->id = v->keys[j].key;
            q->to = row->address;
            if (known) {
                q->fate = (pp_channel_fate_t)(it->recov - 1);
                q->doubt = it->recov_doubt; /* in_doubt() does not ask again */
                q->when = it->recov_when;
                snprintf(q->reason, sizeof q->reason, "%s", it->recov_reason);
            } else if (v->ask == 1 || row->created < v->since) {
                v->since = row->created;
            }
        }
    }
}

/* was_sent answered that the server keeps no record: every row is sent again. */
#define RECOVER_NO_ARCHIVE 1

/* Asks the channel's record about the rows not known yet and keeps the answers on their
 * items. PP_OK, RECOVER_NO_ARCHIVE, or PP_EAGAIN (the whole batch is retried). */
static int recover_ask(pp_notifier_t *n, recover_t *v)
{
    if (!n->chops->is_up(n->ch) || !db_alive(n))
        return PP_EAGAIN;
    int lrc = n->chops->was_sent(n->ch, NULL, v->since - n->cfg->notifier_archive_margin_s,
                                 v->q + v->cached, v->ask, FLUSH_TIMEOUT_MS);
    v->queries++;
    if (lrc == PP_EXMPP) {
        if (!n->archive_absent)
            pp_warn("notifier: the %s server keeps no record of what it routed; %zu message(s) "
                    "in flight from an earlier attempt are sent again (at least once)",
                    n->chops->name, v->nrows);
        n->archive_absent = true;
        return RECOVER_NO_ARCHIVE;
    }
    if (lrc)
        return PP_EAGAIN; /* the channel logged why */
    for (size_t j = v->cached; j < v->nrows; j++) {
        const recov_key_t *rk = (const recov_key_t *)(const void *)v->q[j].id;
        item_t *it = pending_item(n, v->rows[rk->row].event_id);
        if (!it)
            continue;
        it->recov = 1 + (int)v->q[j].fate;
        it->recov_doubt = PP_CHANNEL_DOUBT_NONE;
        it->recov_when = v->q[j].when;
        snprintf(it->recov_reason, sizeof it->recov_reason, "%s", v->q[j].reason);
    }
    return PP_OK;
}

/* Decides the rows in doubt and lists the routed ones (for the ledger) and counts the bounced. */
static void recover_tally(pp_notifier_t *n, recover_t *v)
{
    for (size_t i = 0; i < v->nrows; i++) {
        const recov_key_t *rk = (const recov_key_t *)(const void *)v->q[i].id;
        const pp_inflight_t *r = &v->rows[rk->row];
        if (v->q[i].doubt != PP_CHANNEL_DOUBT_NONE)
            decide_in_doubt(n, r, &v->q[i]);
        if (v->q[i].fate == PP_CHANNEL_ROUTED) {
            v->sent_ids[v->routed] = r->event_id;
            v->sent_users[v->routed] = r->user_id;
            v->sent_when[v->routed++] = v->q[i].when;
        } else if (v->q[i].fate == PP_CHANNEL_BOUNCED) {
            v->bounced++;
        }
    }
}

/* Closes the routed rows 'sent' and the bounced 'failed' in one transaction; -1 (rolled back) on error. */
static int recover_record(pp_notifier_t *n, const recover_t *v)
{
    if (v->routed + v->bounced == 0)
        return 0;
    if (pp_db_begin(n->db))
        return -1;
    for (size_t i = 0; i < v->nrows; i++) {
        const recov_key_t *rk = (const recov_key_t *)(const void *)v->q[i].id;
        if (v->q[i].fate == PP_CHANNEL_BOUNCED &&
            pp_ledger_failed(n->db, v->rows[rk->row].event_id, v->rows[rk->row].user_id, v->q[i].reason))
            goto rollback;
    }
    if (pp_ledger_sent_at(n->db, v->routed, v->sent_ids, v->sent_users, v->sent_when) ||
        pp_db_commit(n->db))
        goto rollback;
    return 0;
rollback:
    pp_db_rollback(n->db);
    return -1;
}

/* Finishes the items of the rows the record decided (routed: recovered; bounced: failed). */
static void recover_finish_items(pp_notifier_t *n, const recover_t *v)
{
    for (size_t i = 0; i < v->nrows; i++) {
        const recov_key_t *rk = (const recov_key_t *)(const void *)v->q[i].id;
        const pp_inflight_t *r = &v->rows[rk->row];
        if (v->q[i].fate == PP_CHANNEL_UNSEEN)
            continue;
        item_t *it = pending_item(n, r->event_id);
        if (!it)
            continue;
        it->user_id = r->user_id;
        if (v->q[i].fate == PP_CHANNEL_BOUNCED)
            pp_warnk(PP_LOG_FIELDS(PP_LF_EVENT(r->event_id), PP_LF_USER(r->user_id)),
                     "notifier: event %s: the IM server refused the message to user %lld (%s), "
                     "found in its archive: %s",
                     r->event_id, r->user_id, r->address, v->q[i].reason);
        /* a repeat of the event in this batch is decided as a duplicate */
        pp_batch_finish(n, it, v->q[i].fate == PP_CHANNEL_ROUTED ? OUT_RECOVERED : OUT_FAILED);
    }
}

/* Recovers the rows found (v->rows): PP_OK, or PP_EAGAIN to retry the whole batch. */
static int recover_rows(pp_notifier_t *n, recover_t *v, int64_t t0)
{
    size_t nrows = v->nrows;
    v->q = calloc(nrows, sizeof *v->q);
    v->keys = calloc(nrows, sizeof *v->keys);
    v->sent_ids = calloc(nrows, sizeof *v->sent_ids);
    v->sent_users = calloc(nrows, sizeof *v->sent_users);
    v->sent_when = calloc(nrows, sizeof *v->sent_when);
    if (!v->q || !v->keys || !v->sent_ids || !v->sent_users || !v->sent_when)
        return PP_EAGAIN;
    recover_order(n, v);
    if (v->ask > 0) {
        int arc = recover_ask(n, v);
        if (arc == RECOVER_NO_ARCHIVE)
            return PP_OK;
        if (arc)
            return PP_EAGAIN;
    }
    n->archive_absent = false;
    if (n->chops->in_doubt) {
        int drc = n->chops->in_doubt(n->ch, v->q, nrows, FLUSH_TIMEOUT_MS);
        if (drc < 0)
            return PP_EAGAIN; /* cannot tell yet: the whole batch is retried */
        v->in_doubt = (size_t)drc;
    }
    recover_tally(n, v);
    if (recover_record(n, v))
        return PP_EAGAIN;
    recover_finish_items(n, v);
    pp_info("notifier: %zu message(s) in flight from an earlier attempt: %zu already routed, "
            "%zu bounced, %zu to send again (%zu in doubt after a restart of the IM server; "
            "%zu archive quer%s, %zu answer(s) kept from an earlier try, %lld ms)",
            nrows, v->routed, v->bounced, nrows - v->routed - v->bounced, v->in_doubt, v->queries,
            v->queries == 1 ? "y" : "ies", v->cached, (long long)(pp_mono_ms() - t0));
    return PP_OK;
}

/*
 * Rows of this batch's events still in 'sending' may or may not have reached the server.
 * Ask the channel's record once for the whole batch (was_sent with no address: what the
 * bot sent since the oldest row's created_at minus notifier_archive_margin_s, newest first,
 * which stops as soon as every id is found) and close those it lists: 'sent' at the
 * server's time, or 'failed' with the bounce reason. Their items are finished here; the
 * rest go on to decide_phase and are sent again. The answers are kept on the items, so a
 * retry after a failed database transaction does not ask again. PP_EAGAIN: retry.
 */
int pp_batch_recover(pp_notifier_t *n)
{
    const char **ids = calloc(n->n_items ? n->n_items : 1, sizeof *ids);
    recover_t v = {.rows = NULL};
    size_t k = 0;
    int64_t t0 = pp_mono_ms();
    int rc = PP_EAGAIN;
    if (!ids)
        goto out;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->valid && !it->revoked && it->st == IT_PENDING)
            ids[k++] = it->ev.event_id;
    }
    rc = PP_OK;
    if (!n->archive || k == 0)
        goto out;
    if (pp_ledger_inflight(n->db, k, ids, n->chops->im_channel, &v.rows, &v.nrows)) {
        rc = PP_EAGAIN;
        goto out;
    }
    if (v.nrows > 0)
        rc = recover_rows(n, &v, t0);
out:
    if (rc == PP_OK)
        poison_confirm(n);
    free(ids);
    free(v.rows);
    free(v.q);
    free(v.keys);
    free(v.sent_ids);
    free(v.sent_users);
    free(v.sent_when);
    return rc;
}
