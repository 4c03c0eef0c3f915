/*
 * decide.c - one transaction decides every pending event of the batch: the recipients of
 * all shipment events in one statement (users rows locked FOR SHARE until the commit, so a
 * toggle waits for the decision or is seen by it), each decision made here in batch order
 * (in-batch duplicates and stale statuses included), then the ledger rows written in one
 * statement per kind: skipped_* / failed, or 'sending' (committed before anything is sent).
 * An IM-link code is decided on its own (ledger.c's one-event statements): there are few.
 */
#include "batch.h"
#include "db.h"
#include "err.h"
#include "ledger.h"
#include "log.h"
#include "template.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Another item earlier in this batch already decided about this (event, user) or a newer
 * status of the same shipment for this user: OUT_DUPLICATE / OUT_STALE, else OUT_NONE. */
static outcome_t in_batch_conflict(pp_notifier_t *n, size_t upto, const item_t *it)
{
    outcome_t o = OUT_NONE;
    for (size_t j = 0; j < upto; j++) {
        const item_t *p = &n->items[j];
        bool decided = p->next_st != IT_PENDING || p->st == IT_SENDING || p->st == IT_ACKED;
        if (!p->valid || p->revoked || !decided || p->user_id != it->user_id)
            continue;
        if (strcmp(p->ev.event_id, it->ev.event_id) == 0)
            return OUT_DUPLICATE;
        bool sending = p->next_st == IT_SENDING || p->st == IT_SENDING || p->st == IT_ACKED;
        if (sending && p->ev.shipment_id == it->ev.shipment_id && p->ev.sequence >= it->ev.sequence)
            o = OUT_STALE;
    }
    return o;
}

/* Decided with nothing to send: outcome out. */
static int done(item_t *it, outcome_t out)
{
    it->next_st = IT_DONE;
    it->next_out = out;
    return PP_OK;
}

/* Ledger row 'sending' for it (r decided to get body), or nothing to do when another decision won. */
static int claim(pp_notifier_t *n, item_t *it, const pp_recipient_t *r, const char *ledger_body)
{
    bool claimed;
    int rc = pp_ledger_sending(n->db, &it->ev, r, ledger_body, &claimed);
    if (rc)
        return rc;
    if (!claimed)
        return done(it, OUT_DUPLICATE);
    snprintf(it->id, sizeof it->id, "%s:%lld", it->ev.event_id, r->user_id);
    pp_text_clean_str(it->to, sizeof it->to, r->address);
    it->next_st = IT_SENDING;
    it->next_out = OUT_NONE;
    return PP_OK;
}

/*
 * An IM-link code goes to the address being linked (not the buyer's current one), whatever
 * the toggle says, if it is still the buyer's pending link. The ledger keeps a placeholder,
 * never the code.
 */
static int decide_link(pp_notifier_t *n, item_t *it)
{
    pp_recipient_t r;
    bool current = false;
    const char *skip = NULL, *why = NULL;
    int rc = pp_ledger_link_recipient(n->db, &it->lev, &r, &current);
    if (rc == PP_ENOTFOUND) {
        pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)),
                 "notifier: IM-link event %s: user %lld not found; nobody to send the code to",
                 it->ev.event_id, it->lev.user_id);
        return done(it, OUT_NO_RECIPIENT);
    }
    if (rc)
        return rc;
    it->user_id = r.user_id;
    if (r.prev_state[0] && strcmp(r.prev_state, "sending") != 0)
        return done(it, OUT_DUPLICATE);
    long minutes = (long)((it->lev.expires_at - time(NULL) + 59) / 60);
    if (!current) {
        skip = "skipped_stale", why = "the code was replaced, used or has expired",
        it->next_out = OUT_STALE;
    } else if (strcmp(r.channel, n->chops->im_channel) != 0) {
        skip = "skipped_no_im", why = "no channel for this IM-link code", it->next_out = OUT_NO_IM;
    } else if (pp_template_link_code(&it->lev, minutes > 0 ? minutes : 1, it->body, sizeof it->body)) {
        skip = "failed", why = "cannot render the message", it->next_out = OUT_FAILED;
    }
    pp_text_clean_field(it->body);
    if (!skip)
        return claim(n, it, &r, "(IM-link verification code; the code is not stored)");
    if ((rc = pp_ledger_skip(n->db, &it->ev, &r, skip, why)))
        return rc;
    it->next_st = IT_DONE;
    return PP_OK;
}

/* A shipment event with its recipient r (found: its transaction exists): nothing to write
 * (done), or the ledger row to write into w (returns true). */
static bool decide_one(pp_notifier_t *n, size_t idx, const pp_recipient_t *r, bool found,
                       pp_ledger_row_t *w)
{
    item_t *it = &n->items[idx];
    const char *skip = NULL, *why = NULL;
    if (!found) {
        pp_warnk(PP_LOG_FIELDS(PP_LF_ITEM(it)),
                 "notifier: event %s: transaction %lld not found; nobody to notify",
                 it->ev.event_id, it->ev.transaction_id);
        done(it, OUT_NO_RECIPIENT);
        return false;
    }
    it->user_id = r->user_id;
    outcome_t conflict = in_batch_conflict(n, idx, it);
    if ((r->prev_state[0] && strcmp(r->prev_state, "sending") != 0) || conflict == OUT_DUPLICATE) {
        done(it, OUT_DUPLICATE); /* decided before: replay or redelivery, nothing to do */
        return false;
    }
    if (!r->opted_in) {
        skip = "skipped_opted_out", why = "notifications are off", it->next_out = OUT_OPTED_OUT;
    } else if (!r->address[0] || !r->verified || strcmp(r->channel, n->chops->im_channel) != 0) {
        skip = "skipped_no_im", why = "no verified IM address", it->next_out = OUT_NO_IM;
    } else if (r->newer_sent || conflict == OUT_STALE) {
        skip = "skipped_stale", why = "a newer status was already sent", it->next_out = OUT_STALE;
    } else if (pp_template_render(&it->ev, r->locale, it->body, sizeof it->body)) {
        skip = "failed", why = "cannot render the message", it->next_out = OUT_FAILED;
    }
    /* the ledger row and the stanza get the same clean text (a cut never halves a character) */
    pp_text_clean_field(it->body);
    *w = (pp_ledger_row_t){.ev = &it->ev,
                           .r = r,
                           .state = skip ? skip : "sending",
                           .text = skip ? why : it->body};
    /* 'sending' until the insert says another decision won (in_batch_conflict reads it) */
    it->next_st = skip ? IT_DONE : IT_SENDING;
    return true;
}

/* The decision's items and rows (one allocation's worth of arrays). */
typedef struct decision {
    size_t *idx; /* the shipment items to decide, in batch order */
    const pp_event_t **evs;
    pp_recipient_t *r;
    bool *found;
    pp_ledger_row_t *rows;
    size_t *row_item; /* rows[k] belongs to items[row_item[k]] */
    size_t k, nrows;
} decision_t;

static void decision_free(decision_t *d)
{
    free(d->idx);
    free(d->evs);
    free(d->r);
    free(d->found);
    free(d->rows);
    free(d->row_item);
}

static bool pending(const item_t *it) { return it->valid && !it->revoked && it->st == IT_PENDING; }

/* Inside the open transaction: every pending item decided, the rows written. */
static int decide_all(pp_notifier_t *n, decision_t *d)
{
    size_t cap = n->n_items;
    d->idx = calloc(cap, sizeof *d->idx);
    d->evs = calloc(cap, sizeof *d->evs);
    d->r = calloc(cap, sizeof *d->r);
    d->found = calloc(cap, sizeof *d->found);
    d->rows = calloc(cap, sizeof *d->rows);
    d->row_item = calloc(cap, sizeof *d->row_item);
    if (!d->idx || !d->evs || !d->r || !d->found || !d->rows || !d->row_item)
        return PP_ENOMEM;
    for (size_t i = 0; i < n->n_items; i++)
        if (pending(&n->items[i]) && !n->items[i].link) {
            d->idx[d->k] = i;
            d->evs[d->k++] = &n->items[i].ev;
        }
    int rc = d->k ? pp_ledger_recipients(n->db, d->k, d->evs, d->r, d->found) : PP_OK;
    for (size_t i = 0, j = 0; i < n->n_items && rc == PP_OK; i++) {
        item_t *it = &n->items[i];
        if (!pending(it))
            continue;
        if (it->link) {
            rc = decide_link(n, it);
        } else if (decide_one(n, i, &d->r[j], d->found[j], &d->rows[d->nrows])) {
            d->row_item[d->nrows++] = i;
            j++;
        } else {
            j++;
        }
    }
    if (rc == PP_OK && d->nrows)
        rc = pp_ledger_decide_many(n->db, d->nrows, d->rows);
    for (size_t k = 0; rc == PP_OK && k < d->nrows; k++) {
        item_t *it = &n->items[d->row_item[k]];
        const pp_ledger_row_t *w = &d->rows[k];
        if (strcmp(w->state, "sending") != 0)
            continue;
        if (!w->claimed) {
            done(it, OUT_DUPLICATE); /* another decision won meanwhile: nothing to send */
            continue;
        }
        snprintf(it->id, sizeof it->id, "%s:%lld", it->ev.event_id, w->r->user_id);
        pp_text_clean_str(it->to, sizeof it->to, w->r->address);
        it->next_out = OUT_NONE;
    }
    return rc;
}

int pp_batch_decide(pp_notifier_t *n)
{
    bool need = false;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        it->next_st = IT_PENDING;
        it->next_out = OUT_NONE;
        need |= pending(it);
    }
    if (!need)
        return PP_OK;
    if (!n->chops->is_up(n->ch))
        return PP_EAGAIN; /* never mark 'sending' while we cannot send */
    if (pp_db_begin(n->db))
        return PP_EAGAIN;
    decision_t d = {0};
    int rc = decide_all(n, &d);
    decision_free(&d);
    if (rc || pp_db_commit(n->db))
        goto fail;
    for (size_t i = 0; i < n->n_items; i++) {
        item_t *it = &n->items[i];
        if (it->next_st == IT_DONE)
            pp_batch_finish(n, it, it->next_out);
        else if (it->next_st == IT_SENDING) {
            it->st = IT_SENDING;
            it->bounced = false;
            it->recov = 0;
            it->recov_doubt = PP_CHANNEL_DOUBT_NONE;
        }
        it->next_st = IT_PENDING;
    }
    return PP_OK;
fail:
    pp_db_rollback(n->db);
    for (size_t i = 0; i < n->n_items; i++)
        n->items[i].next_st = IT_PENDING;
    return PP_EAGAIN;
}
